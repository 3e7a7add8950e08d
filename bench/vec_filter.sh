#!/bin/bash
# FILTER for bench/build_split.sh: interchange_generics.py, then
# mark_for_vectorize.py, writing the transform script to $DQ_TRANSFORM
# (the REST pipeline must preload it and run transform-interpreter).
d=$(dirname "$0")
$d/interchange_generics.py "$1" > "$1.ic.mlir"
$d/mark_for_vectorize.py ${DQ_MARK_FLAGS:-} "$1.ic.mlir" "${DQ_TRANSFORM:?set DQ_TRANSFORM}"
rm -f "$1.ic.mlir"

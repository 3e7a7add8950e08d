#!/usr/bin/env python3
"""Marks linalg.generic ops (with reductions; run after
bench/interchange_generics.py so the innermost loop is a contiguous parallel
dim) with a unit attribute dq_vec<rank> for the transform script written
next to the output (OUT.transform.mlir), which tiles every loop but the
innermost to 1, folds unit dims, vectorizes the tile and hoists the
accumulator out of the reduction loops.

    bench/mark_for_vectorize.py in.mlir TRANSFORM_OUT.mlir > out.mlir
Ops whose body reads other tensors (tensor.extract), uses linalg.index or
has nested loops are left alone.
"""
import re
import sys

text = open(sys.argv[1]).read()
lines = text.split('\n')
ranks = set()
out = []
i = 0
while i < len(lines):
    line = lines[i]
    m = re.search(r'linalg\.generic \{indexing_maps = \[[^\]]*\], iterator_types = \[([^\]]*)\]', line)
    if m and '"reduction"' in m.group(1):
        indent = len(line) - len(line.lstrip())
        j = i + 1
        body = []
        while j < len(lines):
            body.append(lines[j])
            if lines[j].startswith(' ' * indent + '}') and len(lines[j]) - len(lines[j].lstrip()) == indent:
                break
            j += 1
        its = m.group(1).split(',')
        ok = not any(re.search(r'tensor\.extract|linalg\.index|scf\.', b) for b in body)
        ok = ok and 'parallel' in its[-1]
        if ok:
            r = len(its)
            ranks.add(r)
            line = line[:m.end()] + ', dq_vec%d' % r + line[m.end():]
    out.append(line)
    i += 1
sys.stdout.write('\n'.join(out))

seq = []
for r in sorted(ranks):
    sizes = ', '.join(['1'] * (r - 1) + ['0'])
    loops = ', '.join(['!transform.any_op'] * (r - 1))
    seq.append(f"""
    %m{r} = transform.structured.match ops{{["linalg.generic"]}} attributes {{dq_vec{r}}} in %root : (!transform.any_op) -> !transform.any_op
    %t{r} = transform.foreach %m{r} : !transform.any_op -> !transform.any_op {{
    ^bb0(%op: !transform.any_op):
      %tt{r}, %l{r}:{r - 1} = transform.structured.tile_using_for %op tile_sizes [{sizes}] : (!transform.any_op) -> (!transform.any_op, {loops})
      transform.yield %tt{r} : !transform.any_op
    }}""")
vec = ''.join(f"""
    transform.structured.vectorize %t{r} : !transform.any_op""" for r in sorted(ranks))
script = """module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {""" + ''.join(seq) + """
    %funcs = transform.structured.match ops{["func.func"]} in %root : (!transform.any_op) -> !transform.any_op
    transform.apply_patterns to %funcs {
      transform.apply_patterns.linalg.fold_unit_extent_dims_via_slices
      transform.apply_patterns.canonicalization
    } : !transform.any_op""" + vec + """
    transform.apply_patterns to %funcs {
      transform.apply_patterns.vector.transfer_permutation_patterns
      transform.apply_patterns.vector.lower_multi_reduction lowering_strategy = "innerparallel"
      transform.apply_patterns.vector.lower_contraction lowering_strategy = "outerproduct"
      transform.apply_patterns.vector.lower_outerproduct
      transform.apply_patterns.vector.lower_broadcast
      transform.apply_patterns.vector.cast_away_vector_leading_one_dim
      transform.apply_patterns.canonicalization
    } : !transform.any_op
    transform.yield
  }
}
"""
open(sys.argv[2], 'w').write(script)
sys.stderr.write('mark_for_vectorize: ranks %s\n' % sorted(ranks))

#!/usr/bin/env python3
"""Emit a seeded TOSA inference case, or the outputs the quantized model
should produce.

  make_inference_case.py --seed N --w-bits K --a-bits KA --mlir
      MLIR module: @model (TOSA 1.0) and @main printing its output with
      printMemrefF32.
  make_inference_case.py --seed N --w-bits K --a-bits KA --expected
      The 5 outputs, one per line, of that model after
      dq-opt --dq-quantize="w-bits=K a-bits=KA keep-first-last=false",
      computed independently in PyTorch (python/dq_reference).
  make_inference_case.py --seed N --expected-fp32
      The 5 outputs of the unquantized model (checks the MLIR itself).
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
from dq_reference import cases  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--w-bits", type=int, default=2)
    parser.add_argument("--a-bits", type=int, default=2)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--mlir", action="store_true")
    mode.add_argument("--expected", action="store_true")
    mode.add_argument("--expected-fp32", action="store_true")
    args = parser.parse_args()
    for name, bits in (("--w-bits", args.w_bits), ("--a-bits", args.a_bits)):
        if not 1 <= bits <= 8:
            parser.error(f"{name} must be in [1, 8], got {bits}")

    case = cases.make_case(args.seed)
    if args.mlir:
        sys.stdout.write(cases.emit_mlir(case))
        return 0
    if args.expected:
        out = cases.expected_outputs(case, args.w_bits, args.a_bits)
    else:
        out = cases.expected_outputs(case)
    for value in out.reshape(-1).tolist():
        print("%.9e" % value)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Compare mlir-runner's printMemrefF32 output with expected values.

  compare_outputs.py ACTUAL EXPECTED [--rtol R] [--atol A]

ACTUAL: mlir-runner output, a header line
  "Unranked Memref base@ = 0x... rank = 3 offset = 0 sizes = [1, 1, 5] ..."
followed by the nested "[[[v, v, ...]]]" values (other output before the
header is ignored). EXPECTED: one value per line (blank lines and '#'
comments ignored). Fails when the counts differ or any
|actual - expected| > atol + rtol * |expected| (NaN only matches NaN, an
infinity only the same infinity). printMemrefF32 prints about 6
significant digits, so an rtol much below 1e-5 only measures the printing.
"""

import argparse
import math
import re
import sys

_NUMBER = re.compile(
    r"[-+]?(?:nan|inf(?:inity)?|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)",
    re.IGNORECASE)
_HEADER = re.compile(r"Unranked Memref base@\s*=.*?sizes\s*=\s*\[([^\]]*)\]"
                     r".*?data\s*=", re.DOTALL)


def parse_runner_output(text):
    """Values printed by printMemrefF32 (the first memref in `text`)."""
    header = _HEADER.search(text)
    if not header:
        raise ValueError("no 'Unranked Memref base@ = ... sizes = [...] ... "
                         "data =' header found")
    sizes = [int(s) for s in header.group(1).replace(",", " ").split()]
    body = text[header.end():]
    # The values are the bracketed block right after the header.
    start = body.find("[")
    if start < 0:
        raise ValueError("no '[' after the memref header")
    depth, end = 0, None
    for i in range(start, len(body)):
        if body[i] == "[":
            depth += 1
        elif body[i] == "]":
            depth -= 1
            if depth == 0:
                end = i + 1
                break
    if end is None:
        raise ValueError("unbalanced brackets in the memref values")
    values = [float(tok) for tok in _NUMBER.findall(body[start:end])]
    expected_count = math.prod(sizes) if sizes else 1
    if len(values) != expected_count:
        raise ValueError(f"header says sizes {sizes} ({expected_count} "
                         f"values) but {len(values)} values were printed")
    return values


def parse_expected(text):
    values = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            values.append(float(line))
        except ValueError:
            raise ValueError(f"line {number}: not a number: {line!r}")
    return values


def close(a, e, rtol, atol):
    if math.isnan(a) or math.isnan(e):
        return math.isnan(a) and math.isnan(e)
    if math.isinf(a) or math.isinf(e):
        return a == e
    return abs(a - e) <= atol + rtol * abs(e)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("actual", help="mlir-runner output file")
    parser.add_argument("expected", help="expected values, one per line")
    parser.add_argument("--rtol", type=float, default=1e-5)
    parser.add_argument("--atol", type=float, default=1e-6)
    args = parser.parse_args()

    try:
        with open(args.actual) as f:
            actual = parse_runner_output(f.read())
        with open(args.expected) as f:
            expected = parse_expected(f.read())
    except (OSError, ValueError) as err:
        print(f"compare_outputs: {err}", file=sys.stderr)
        return 2

    if len(actual) != len(expected):
        print(f"compare_outputs: {len(actual)} actual values but "
              f"{len(expected)} expected", file=sys.stderr)
        return 1
    bad = [(i, a, e) for i, (a, e) in enumerate(zip(actual, expected))
           if not close(a, e, args.rtol, args.atol)]
    finite = [abs(a - e) for a, e in zip(actual, expected)
              if math.isfinite(a) and math.isfinite(e)]
    max_diff = max(finite, default=0.0)
    if bad:
        print(f"compare_outputs: {len(bad)} of {len(actual)} values differ "
              f"(rtol {args.rtol:g}, atol {args.atol:g}):", file=sys.stderr)
        print(f"  {'index':>5}  {'actual':>16}  {'expected':>16}  "
              f"{'diff':>12}", file=sys.stderr)
        for i, a, e in bad:
            print(f"  {i:>5}  {a:>16.9g}  {e:>16.9g}  {a - e:>12.4g}",
                  file=sys.stderr)
        return 1
    print(f"compare_outputs: OK, {len(actual)} values match (max |diff| "
          f"{max_diff:.3g}, rtol {args.rtol:g}, atol {args.atol:g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

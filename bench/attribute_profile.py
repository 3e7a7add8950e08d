#!/usr/bin/env python3
"""Attributes `perf` samples of a compiled dq model to the linalg-level ops.

Build the model with `dq-compile --profile-locations=SNAP.mlir` (CPU): the
linalg-on-tensors IR is written to SNAP.mlir and the library gets line
tables into it. Every sampled source line of the snapshot is charged to the
top-level op of the function it lies in (the op whose text contains that
line: region bodies of linalg.generic belong to the generic).

    perf record -o perf.data bench/step_timer ... PREFIX
    perf report -i perf.data --sort srcline --stdio -F overhead,srcline \
        | bench/attribute_profile.py SNAP.mlir [--top N] [--by-kind]

--by-kind: shares summed by op kind (op name and iterator types), the
rows then give their op count.
"""
import re
import signal
import sys
from collections import defaultdict

# Piped into head: stop quietly.
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
snap = sys.argv[1]
top = 30
by_kind = '--by-kind' in sys.argv
if '--top' in sys.argv:
    top = int(sys.argv[sys.argv.index('--top') + 1])
lines = open(snap).read().split('\n')

owner = {}        # line number (1-based) -> op start line
func_of = {}      # op start line -> function name
cur_op, cur_func = None, None
for i, text in enumerate(lines, 1):
    m = re.match(r'  func\.func (?:private )?@([\w.]+)', text)
    if m:
        cur_func, cur_op = m.group(1), i
    elif re.match(r'    [%\w]', text):   # top-level op of a function body
        cur_op = i
    func_of.setdefault(cur_op, cur_func)
    owner[i] = cur_op


def describe(start):
    """One-line description: op name, indexing maps/iterators, operand types."""
    text = lines[start - 1].strip()
    # Gather the op text up to its region or end.
    block = text
    j = start
    while not re.search(r'(outs\(.*\)|\) -> |: \()', block) and j < len(lines) and j - start < 6:
        block += ' ' + lines[j].strip()
        j += 1
    m = re.search(r'(linalg\.\w+|tensor\.\w+|arith\.\w+|bufferization\.\w+|func\.\w+|memref\.\w+|\bscf\.\w+)', block)
    name = m.group(1) if m else block[:40]
    its = re.search(r'iterator_types = \[([^\]]*)\]', block)
    it = ''
    if its:
        kinds = [k.strip().strip('"') for k in its.group(1).split(',')]
        it = ' [' + ''.join('p' if k == 'parallel' else 'r' for k in kinds) + ']'
    maps = re.search(r'indexing_maps = \[([^\]]*)\]', block)
    types = re.findall(r'tensor<[^>]*>', block)
    return f'{name}{it} maps={maps.group(1) if maps else "-"} {" ".join(types[:4])}'

total = 0.0
per_op = defaultdict(float)
other = defaultdict(float)
for row in sys.stdin:
    m = re.match(r'\s*([\d.]+)%\s+(\S+)', row)
    if not m:
        continue
    pct, src = float(m.group(1)), m.group(2)
    total += pct
    if src.startswith(snap.split('/')[-1]) or snap in src:
        ln = int(src.rsplit(':', 1)[1])
        per_op[owner.get(ln, 0)] += pct
    else:
        other[re.sub(r'\+\d+$', '', src)] += pct

if by_kind:
    kinds = defaultdict(lambda: [0.0, 0])
    for start, pct in per_op.items():
        desc = describe(start) if start else '(no line)'
        kind = desc.split(' maps=')[0]
        kinds[kind][0] += pct
        kinds[kind][1] += 1
    print(f'{"%":>6}  {"ops":>5}  kind')
    for kind, (pct, count) in sorted(kinds.items(), key=lambda kv: -kv[1][0])[:top]:
        print(f'{pct:6.2f}  {count:5d}  {kind}')
    print(f'{sum(other.values()):6.2f}  outside the model (kernel page faults, memcpy, ...)')
    sys.exit(0)

print(f'{"%":>6}  {"line":>5}  {"func":<11} op')
for start, pct in sorted(per_op.items(), key=lambda kv: -kv[1])[:top]:
    desc = describe(start) if start else '(no line: loop control / prologue)'
    print(f'{pct:6.2f}  {start:5d}  {str(func_of.get(start)):<11} {desc[:260]}')
print(f'{sum(other.values()):6.2f}  outside the model (kernel page faults, memcpy, ...)')

#!/usr/bin/env python3
"""Reorders the loops of linalg.generic ops in textual MLIR (linalg on
tensors) for locality and vectorization, without changing any float result:
only parallel dims move, so every output element still sums its reduction
terms in the original order (bit-identical results).

Rule per generic with at least one reduction dim:
  * the parallel dim that is the last (contiguous) dim of the first output
    becomes the innermost loop (so the innermost loop walks contiguous
    output/weight memory and LLVM's loop/SLP vectorizers can use it);
  * if the reduction space is larger than the parallel space (weight
    gradients: tiny output, reduction over batch and image), all reduction
    dims go outermost, in their original order, so the small output stays
    in L1 and the big inputs are streamed once instead of once per output
    element.
Elementwise generics are left alone.

    bench/interchange_generics.py in.mlir > out.mlir [--mode both|inner|none]

This is a measurement device for the recommendation to emit these loop
orders directly in TosaGradients.cpp / DQToLinalg.cpp (or to run
linalg::interchangeGenericOp in a small pass); it is not meant for production.
"""
import re
import sys

mode = 'both'
if '--mode' in sys.argv:
    mode = sys.argv[sys.argv.index('--mode') + 1]
text = open(sys.argv[1]).read()

maps = {}
for m in re.finditer(r'^(#map\d*) = affine_map<(.*)>$', text, re.M):
    maps[m.group(1)] = m.group(2)


def parse_map(s):
    dom, res = s.split('->')
    dims = [d.strip() for d in dom.strip()[1:-1].split(',') if d.strip()]
    res = res.strip()[1:-1]
    results = [r.strip() for r in res.split(',')] if res.strip() else []
    return dims, results


def shape_of(t):
    m = re.match(r'tensor<(.*)>', t)
    parts = m.group(1).split('x')[:-1]
    return [int(p) for p in parts]

changed = 0
out_lines = []
lines = text.split('\n')
i = 0
while i < len(lines):
    line = lines[i]
    m = re.search(r'linalg\.generic \{indexing_maps = \[([^\]]*)\], iterator_types = \[([^\]]*)\]\}', line)
    if not m or '"reduction"' not in m.group(2) or mode == 'none':
        out_lines.append(line)
        i += 1
        continue
    map_refs = [s.strip() for s in m.group(1).split(',')]
    its = [s.strip().strip('"') for s in m.group(2).split(',')]
    n = len(its)
    amaps = [parse_map(maps[r] if r.startswith('#') else r[len('affine_map<'):-1]) for r in map_refs]
    # operand types in order ins..., outs...
    ins_t = re.search(r'ins\([^:]*: ([^)]*)\)', line)
    outs_t = re.search(r'outs\([^:]*: ([^)]*)\)', line)
    types = []
    if ins_t:
        types += [t.strip() for t in re.findall(r'tensor<[^>]*>', ins_t.group(1))]
    n_out = 0
    if outs_t:
        o = re.findall(r'tensor<[^>]*>', outs_t.group(1))
        n_out = len(o)
        types += o
    if len(types) != len(amaps):
        out_lines.append(line)
        i += 1
        continue
    extent = [None] * n
    for (dims, res), t in zip(amaps, types):
        for r, s in zip(res, shape_of(t)):
            if re.fullmatch(r'd\d+', r) and extent[int(r[1:])] is None:
                extent[int(r[1:])] = s
    if None in extent:
        out_lines.append(line)
        i += 1
        continue
    par = [d for d in range(n) if its[d] == 'parallel']
    red = [d for d in range(n) if its[d] == 'reduction']
    out_res = amaps[len(types) - n_out][1]
    last = None
    if out_res and re.fullmatch(r'd\d+', out_res[-1]) and its[int(out_res[-1][1:])] == 'parallel':
        last = int(out_res[-1][1:])
    psize = 1
    for d in par:
        psize *= extent[d]
    rsize = 1
    for d in red:
        rsize *= extent[d]
    order = list(range(n))
    if mode in ('both', 'inner') and last is not None:
        order = [d for d in order if d != last] + [last]
    if mode == 'both' and rsize > psize:
        rest = [d for d in order if its[d] == 'parallel']
        order = red + rest
    if order == list(range(n)):
        out_lines.append(line)
        i += 1
        continue
    newpos = {old: new for new, old in enumerate(order)}

    def remap(expr):
        return re.sub(r'd(\d+)', lambda mm: 'D%d' % newpos[int(mm.group(1))], expr).replace('D', 'd')
    dom = '(' + ', '.join('d%d' % k for k in range(n)) + ')'
    new_maps = ['affine_map<%s -> (%s)>' % (dom, ', '.join(remap(r) for r in res)) for _, res in amaps]
    new_its = ', '.join('"%s"' % its[old] for old in order)
    line = line[:m.start()] + 'linalg.generic {indexing_maps = [%s], iterator_types = [%s]}' % (', '.join(new_maps), new_its) + line[m.end():]
    out_lines.append(line)
    changed += 1
    # Remap linalg.index in the body (up to the closing "} -> ").
    i += 1
    depth_indent = len(line) - len(line.lstrip())
    while i < len(lines):
        body = lines[i]
        body = re.sub(r'linalg\.index (\d+)', lambda mm: 'linalg.index %d' % newpos[int(mm.group(1))], body)
        out_lines.append(body)
        i += 1
        if body.startswith(' ' * depth_indent + '}') and (len(body) - len(body.lstrip())) == depth_indent:
            break
sys.stdout.write('\n'.join(out_lines))
sys.stderr.write('interchange_generics: reordered %d generics\n' % changed)

#!/usr/bin/env python3
"""Marks linalg.generic ops (with reductions; run after
bench/interchange_generics.py so the innermost loop is a contiguous parallel
dim) with a unit attribute dq_vec<rank> for the transform script written
next to the output (OUT.transform.mlir), which tiles every loop but the
innermost to 1, folds unit dims, vectorizes the tile and hoists the
accumulator out of the reduction loops.

    bench/mark_for_vectorize.py in.mlir TRANSFORM_OUT.mlir > out.mlir
Ops whose body reads other tensors (tensor.extract), uses linalg.index or
has nested loops are left alone (with --all only nested loops are). --elementwise: also tile and
vectorize all-parallel generics of rank >= 2 along their innermost dim.
"""
import re
import sys

# --all: also ops whose body extracts from tensors / uses linalg.index
# (the dq fit_levels histograms); nested loops are always excluded.
EXCLUDE = r'scf\.' if '--all' in sys.argv else r'tensor\.extract|linalg\.index|scf\.'
ELEMENTWISE = '--elementwise' in sys.argv
sys.argv = [a for a in sys.argv if a not in ('--all', '--elementwise')]
text = open(sys.argv[1]).read()
lines = text.split('\n')
ranks = set()
out = []
i = 0
while i < len(lines):
    line = lines[i]
    m = re.search(r'linalg\.generic \{indexing_maps = \[[^\]]*\], iterator_types = \[([^\]]*)\]', line)
    if m and ('"reduction"' in m.group(1) or
              (ELEMENTWISE and m.group(1).count('"parallel"') >= 2)):
        indent = len(line) - len(line.lstrip())
        j = i + 1
        body = []
        while j < len(lines):
            body.append(lines[j])
            if lines[j].startswith(' ' * indent + '}') and len(lines[j]) - len(lines[j].lstrip()) == indent:
                break
            j += 1
        its = m.group(1).split(',')
        ok = not any(re.search(EXCLUDE, b) for b in body)
        if '"reduction"' not in m.group(1):  # elementwise: no index-dependent bodies
            ok = ok and not any('linalg.index' in b for b in body)
            # only the act-quant style ops that read level tables
            ok = ok and any('tensor.extract ' in b for b in body)
            # only identity/broadcast maps (no transposes)
            mrefs = re.search(r'indexing_maps = \[([^\]]*)\]', line).group(1)
            for ref in [x.strip() for x in mrefs.split(',')]:
                mm = re.search(r'^' + re.escape(ref) + r' = affine_map<(.*)>$', text, re.M)
                if not mm:
                    ok = False
                    break
                dims = [int(d) for d in re.findall(r'd(\d+)', mm.group(1).split('->')[1])]
                ok = ok and dims == sorted(dims)
        ok = ok and 'parallel' in its[-1]
        if ok:
            r = len(its)
            # Conv-like maps (d1 + d4) need unit-dim folding before the
            # vectorizer accepts them; others are vectorized as tiled.
            conv = '+' in m.group(0) or '*' in m.group(0)
            key = ('c' if conv else 'p', r)
            ranks.add(key)
            line = line[:m.end()] + ', dq_vec%s%d' % key + line[m.end():]
    out.append(line)
    i += 1
sys.stdout.write('\n'.join(out))

seq = []
for kind, r in sorted(ranks):
    sizes = ', '.join(['1'] * (r - 1) + ['0'])
    loops = ', '.join(['!transform.any_op'] * (r - 1))
    seq.append(f"""
    %m{kind}{r} = transform.structured.match ops{{["linalg.generic"]}} attributes {{dq_vec{kind}{r}}} in %root : (!transform.any_op) -> !transform.any_op
    %t{kind}{r} = transform.foreach %m{kind}{r} : !transform.any_op -> !transform.any_op {{
    ^bb0(%op: !transform.any_op):
      %tt, %l:{r - 1} = transform.structured.tile_using_for %op tile_sizes [{sizes}] : (!transform.any_op) -> (!transform.any_op, {loops})
      transform.yield %tt : !transform.any_op
    }}""")
vec_p = ''.join(f"""
    transform.structured.vectorize %t{k}{r} : !transform.any_op""" for k, r in sorted(ranks) if k == 'p')
vec_c = ''.join(f"""
    transform.structured.vectorize %t{k}{r} : !transform.any_op""" for k, r in sorted(ranks) if k == 'c')
script = """module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {""" + ''.join(seq) + vec_p + """
    %funcs = transform.structured.match ops{["func.func"]} in %root : (!transform.any_op) -> !transform.any_op
    transform.apply_patterns to %funcs {
      transform.apply_patterns.linalg.fold_unit_extent_dims_via_slices
      transform.apply_patterns.canonicalization
    } : !transform.any_op""" + vec_c + """
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
sys.stderr.write('mark_for_vectorize: %s\n' % sorted(ranks))

#!/usr/bin/env python3
"""Prints an LLVM .ll file with every @__constant_* global renamed after a
hash of its definition, so two compilations that differ only in the
(thread-order dependent) numbering of MLIR's constant globals compare equal:

    cmp <(bench/normalize_ll.py a.ll) <(bench/normalize_ll.py b.ll)
"""
import hashlib
import re
import sys

text = open(sys.argv[1]).read()
defs = re.findall(r'^(@__constant_[\w.]+) = (.*)$', text, re.M)
mapping = {}
for name, body in defs:
    mapping[name] = '@__c_' + hashlib.sha1(body.encode()).hexdigest()[:16]
text = re.sub(r'@__constant_[\w.]+', lambda m: mapping.get(m.group(0), m.group(0)), text)
lines = text.split('\n')
glob = sorted(l for l in lines if l.startswith('@__c_'))
rest = [l for l in lines if not l.startswith('@__c_')]
sys.stdout.write('\n'.join(glob + rest))

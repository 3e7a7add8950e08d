#!/usr/bin/env python3
"""Prints the PTX that `gpu-module-to-binary` (format=isa) embedded in an
MLIR module's gpu.binary ops, to check it with FileCheck.

    dq-opt m.mlir --dq-lower-to-nvvm | gpu_ptx.py            # the PTX
    dq-opt m.mlir --dq-lower-to-nvvm | gpu_ptx.py --ptxas ptxas --arch sm_90

With --ptxas, the PTX is also assembled (ptxas -v) and one line per kernel
is printed after it:
    KERNEL <name> registers <n> stack <bytes> spill-stores <bytes> spill-loads <bytes> shared <bytes>
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

OBJECT = re.compile(r'assembly\s*=\s*"((?:[^"\\]|\\.)*)"')


def unescape(text):
    """MLIR string escapes: \\XX (hex byte), \\\\ and \\"."""
    out = bytearray()
    i = 0
    raw = text.encode("utf-8")
    while i < len(raw):
        c = raw[i]
        if c == 0x5C and i + 1 < len(raw):
            nxt = raw[i + 1:i + 3]
            if re.fullmatch(rb"[0-9A-Fa-f]{2}", nxt):
                out.append(int(nxt, 16))
                i += 3
                continue
            out.append(raw[i + 1])
            i += 2
            continue
        out.append(c)
        i += 1
    return out.decode("utf-8")


def ptxas_stats(ptxas, arch, ptx):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "kernels.ptx")
        with open(path, "w", encoding="utf-8") as f:
            f.write(ptx)
        proc = subprocess.run(
            [ptxas, "-arch=" + arch, "-v", path, "-o",
             os.path.join(tmp, "kernels.cubin")],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            universal_newlines=True)
    if proc.returncode != 0:
        sys.exit("gpu_ptx.py: ptxas failed:\n" + proc.stdout)
    kernels = []
    current = None
    for line in proc.stdout.splitlines():
        m = re.search(r"Compiling entry function '([^']+)'", line)
        if m:
            current = {"name": m.group(1), "registers": 0, "stack": 0,
                       "spill-stores": 0, "spill-loads": 0, "shared": 0}
            kernels.append(current)
            continue
        if current is None:
            continue
        m = re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores, "
                      r"(\d+) bytes spill loads", line)
        if m:
            current["stack"], current["spill-stores"], current[
                "spill-loads"] = (int(g) for g in m.groups())
        m = re.search(r"Used (\d+) registers", line)
        if m:
            current["registers"] = int(m.group(1))
        m = re.search(r"(\d+) bytes smem", line)
        if m:
            current["shared"] = int(m.group(1))
    return kernels


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("input", nargs="?", default="-")
    parser.add_argument("--ptxas", help="also assemble with this ptxas")
    parser.add_argument("--arch", default="sm_90")
    args = parser.parse_args()
    text = (sys.stdin.read() if args.input == "-" else
            open(args.input, encoding="utf-8").read())
    objects = [unescape(m.group(1)) for m in OBJECT.finditer(text)]
    if not objects:
        sys.exit("gpu_ptx.py: no gpu.object with PTX assembly in the input "
                 "(lower with format=isa)")
    ptx = "\n".join(objects)
    sys.stdout.write(ptx)
    if args.ptxas:
        for k in ptxas_stats(args.ptxas, args.arch, ptx):
            print("KERNEL {name} registers {registers} stack {stack} "
                  "spill-stores {spill-stores} spill-loads {spill-loads} "
                  "shared {shared}".format(**k))
    return 0


if __name__ == "__main__":
    sys.exit(main())

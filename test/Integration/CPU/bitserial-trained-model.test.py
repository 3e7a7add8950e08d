"""Compares dq-run's '<index> <class>' lines and accuracy lines of two models."""
import os
import re
import sys


def read(path):
    classes, accuracy = {}, None
    for line in open(path):
        m = re.match(r"^(\d+) (\d+)$", line.strip())
        if m:
            classes[int(m.group(1))] = int(m.group(2))
        m = re.search(r"accuracy ([0-9.]+)%", line)
        if m:
            accuracy = float(m.group(1))
    return classes, accuracy


decoded, decoded_acc = read(sys.argv[1])
bits, bits_acc = read(sys.argv[2])
assert len(decoded) == 10000 and len(bits) == 10000, (len(decoded), len(bits))
agree = sum(decoded[i] == bits[i] for i in decoded) / len(decoded)
print("agreement {:.4%}, accuracy decoded {}% bit-serial {}%".format(agree, decoded_acc, bits_acc))
assert decoded_acc is not None and bits_acc is not None
assert decoded_acc > 30, "the model did not train: {}%".format(decoded_acc)
assert agree >= 0.999, agree
assert abs(decoded_acc - bits_acc) <= 0.05, (decoded_acc, bits_acc)
assert os.path.getsize(sys.argv[4]) < os.path.getsize(sys.argv[3])

"""Compares python/dq_reference's ROLES with Roles.h's kRoleNames."""
import re
import sys

sys.path.insert(0, sys.argv[2])
from dq_reference import training  # noqa: E402

header = open(sys.argv[1]).read()
table = re.search(r"kRoleNames = \{(.*?)\};", header, re.S).group(1)
names = tuple(re.findall(r'"([a-z_]+)"', table))
if names != training.ROLES:
    print("Roles.h:", names)
    print("dq_reference:", training.ROLES)
print("roles:", "PASS" if names == training.ROLES else "FAIL")

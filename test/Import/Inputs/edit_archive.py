"""Rewrites a TorchScript archive (zip) with one record edited, the zip
itself consistent (sizes, CRCs, offsets), so that only the edit is wrong.

  edit_archive.py IN OUT --truncate data/0 3      # keep the first 3 bytes
  edit_archive.py IN OUT --extend data/0 4        # append 4 zero bytes
  edit_archive.py IN OUT --drop data/0
  edit_archive.py IN OUT --replace data.pkl 4b064b01 4b074b01

A record is named as LibTorch names it, without the archive's top folder
("data/0" matches "lenet5/data/0"). --replace needs exactly one occurrence.
"""

import argparse
import sys
import zipfile


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("input")
    parser.add_argument("output")
    edit = parser.add_mutually_exclusive_group(required=True)
    edit.add_argument("--truncate", nargs=2, metavar=("RECORD", "BYTES"))
    edit.add_argument("--extend", nargs=2, metavar=("RECORD", "BYTES"))
    edit.add_argument("--drop", metavar="RECORD")
    edit.add_argument("--replace", nargs=3, metavar=("RECORD", "OLD_HEX", "NEW_HEX"))
    args = parser.parse_args()
    record = (args.truncate or args.extend or args.replace or [args.drop])[0]

    edited = 0
    with zipfile.ZipFile(args.input) as src, zipfile.ZipFile(args.output, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            # "<top folder>/<record>"; the top folder is the export's name.
            if info.filename.split("/", 1)[-1] == record:
                edited += 1
                if args.drop:
                    continue
                if args.truncate:
                    data = data[: int(args.truncate[1])]
                elif args.extend:
                    data += bytes(int(args.extend[1]))
                else:
                    old, new = bytes.fromhex(args.replace[1]), bytes.fromhex(args.replace[2])
                    if data.count(old) != 1:
                        sys.exit(f"edit_archive: {old.hex()} occurs {data.count(old)} times in {record}")
                    data = data.replace(old, new)
            dst.writestr(info, data)
    if edited != 1:
        sys.exit(f"edit_archive: {edited} records named {record}")


if __name__ == "__main__":
    main()

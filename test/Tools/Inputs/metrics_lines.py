"""Summaries of dq-train's metrics.jsonl for the tests.

  metrics_lines.py kinds FILE        one line: the count of each kind, the runs,
                                     the step lines' steps and window lengths
  metrics_lines.py same FILE FILE    'same N' when the step and epoch lines of
                                     both files agree but for times and run ids
  metrics_lines.py append FILE KIND STEP [torn]
                                     appends a line of the file's run (and half
                                     a line: what a crash mid-write leaves)
"""
import collections
import json
import sys


def lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    mode, paths = sys.argv[1], sys.argv[2:]
    if mode == "kinds":
        rows = lines(paths[0])
        kinds = collections.Counter(r.get("kind") for r in rows)
        print(" ".join(f"{k}={kinds[k]}" for k in ("run", "resume", "step", "epoch")),
              f"runs={len({r['run'] for r in rows})}",
              "steps=" + ",".join(str(r["step"]) for r in rows if r.get("kind") == "step"),
              "windows=" + ",".join(str(r["steps"]) for r in rows if r.get("kind") == "step"))
    elif mode == "same":
        def key(path):
            return [{k: v for k, v in r.items() if k not in ("time", "seconds", "run")}
                    for r in lines(path) if r.get("kind") in ("step", "epoch")]
        a, b = key(paths[0]), key(paths[1])
        print(f"same {len(a)}" if a == b else f"differ:\n{a}\n{b}")
    elif mode == "append":
        run = lines(paths[0])[0]["run"]
        with open(paths[0], "a") as f:
            f.write(json.dumps({"kind": paths[1], "run": run, "step": int(paths[2]),
                                "loss": 9.0}) + "\n")
            if paths[3:] == ["torn"]:
                f.write('{"kind": "st')
    else:
        sys.exit("unknown mode " + mode)


main()

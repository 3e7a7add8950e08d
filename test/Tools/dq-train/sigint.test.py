"""Runs dq-train, interrupts it with SIGINT after a moment, then resumes."""
import os
import signal
import subprocess
import sys
import time

dq_train, model, out = sys.argv[1:4]
args = [dq_train, model, "--epochs", "2", "--limit-train", "1600",
        "--limit-test", "32", "--no-progress", "--out", out]
proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        universal_newlines=True)
time.sleep(1.0)
proc.send_signal(signal.SIGINT)
stdout, stderr = proc.communicate(timeout=300)
if proc.returncode == 130:
    assert "interrupted at step" in stderr, stderr
    resumed = subprocess.run(args + ["--resume", os.path.join(out, "checkpoint.state")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             universal_newlines=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    print("interrupted and resumed")
else:
    assert proc.returncode == 0, (proc.returncode, stderr)
    print("finished before the signal")

#!/usr/bin/env python3
"""query-drive.py - feed task lines to one long-lived worker, as spoold does.

    query-drive.py [--cancel-after SEC] [--times FILE] [--before K CMD]...
                   TASKS -- WORKER ARGS...

Starts the worker once, sends the task lines of TASKS one at a time (the
next only after the final answer of the one before, as spoold does), and
prints each final answer line on stdout.  --cancel-after sends
{"cancel": TASK} that many seconds after each task.  --times writes the
time from sending a task to reading its answer, in milliseconds, one line
per task.  --before runs the shell command CMD before task K (1-based)
is sent, e.g. to change a source between two tasks.  Exits non-zero if
the worker dies or stops answering.
"""
import json
import os
import select
import subprocess
import sys
import time


def main():
    args = sys.argv[1:]
    cancel_after = None
    times = None
    before = {}
    while args and args[0].startswith("--"):
        if args[0] == "--cancel-after":
            cancel_after = float(args[1])
            args = args[2:]
        elif args[0] == "--times":
            times = open(args[1], "w")
            args = args[2:]
        elif args[0] == "--before":
            before[int(args[1])] = args[2]
            args = args[3:]
        else:
            break
    if len(args) < 3 or args[1] != "--":
        sys.exit(__doc__)
    tasks = [l for l in open(args[0]).read().splitlines() if l.strip()]
    w = subprocess.Popen(args[2:], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE)
    out = w.stdout.fileno()
    buf = b""
    for k, line in enumerate(tasks, 1):
        if k in before:
            subprocess.run(before[k], shell=True, check=True)
        tid = json.loads(line)["task"]
        t0 = time.monotonic()
        w.stdin.write(line.encode() + b"\n")
        w.stdin.flush()
        cancelled = False
        answer = None
        while answer is None:
            wait = 60.0
            if cancel_after is not None and not cancelled:
                wait = max(0.0, t0 + cancel_after - time.monotonic())
            r, _, _ = select.select([out], [], [], wait)
            if not r:
                if cancel_after is not None and not cancelled:
                    w.stdin.write(json.dumps({"cancel": tid}).encode() +
                                  b"\n")
                    w.stdin.flush()
                    cancelled = True
                    continue
                sys.exit("query-drive: no answer to %s" % tid)
            chunk = os.read(out, 1 << 20)
            if not chunk:
                sys.exit("query-drive: the worker died (task %s)" % tid)
            buf += chunk
            while b"\n" in buf:
                l, buf = buf.split(b"\n", 1)
                o = json.loads(l)
                if "status" in o:
                    answer = l.decode()
        ms = (time.monotonic() - t0) * 1000
        print(answer, flush=True)
        if times:
            times.write("%.3f\n" % ms)
    w.stdin.close()
    rc = w.wait()
    if times:
        times.close()
    sys.exit(rc)


if __name__ == "__main__":
    main()

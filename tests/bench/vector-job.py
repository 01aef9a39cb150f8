#!/usr/bin/python3
"""Run one vector job through the vector worker as spoold would, and time it.

Usage: vector-job.py WORKER DIR SOURCE CONFIG_JSON PARAMS_JSON LOADERS

convert, create and finish are one `WORKER --task` each; the loads go to
LOADERS long-lived workers, each fed one task line after the answer to the
one before (as spoold does), in parallel.  Prints one JSON line: the wall
seconds of each stage and their sum, the chunk count and the rows loaded.
Exits 1 when a task fails.
"""
import json
import os
import shutil
import subprocess
import sys
import threading
import time

worker, top, source, config, params, loaders = sys.argv[1:7]
config = json.loads(config)
params = json.loads(params)
loaders = int(loaders)
REQ = "00000000-0000-4000-8000-0000000000b1"
seq = [0]


def task_dir(d, files):
    for sub in ("in", "out", "tmp"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    inputs = []
    for f in files:
        n = os.path.basename(f)
        dst = os.path.join(d, "in", n)
        if not os.path.exists(dst):
            try:
                os.link(f, dst)
            except OSError:
                shutil.copy(f, dst)
        inputs.append({"name": n, "path": "in/" + n})
    return inputs


def task(d, stage, inputs, plan):
    seq[0] += 1
    return {"v": 1, "task": "bench-%d" % seq[0], "job": REQ, "request": REQ,
            "kind": "vector", "stage": stage, "stage_index": 0, "index": 0,
            "count": 1, "attempt": 1, "dir": d, "inputs": inputs,
            "params": params, "config": config, "plan": plan,
            "limits": {"timeout_ms": 3600000, "threads": 1}}


def fail(what, ans):
    print("bench: %s failed: %s" % (what, ans.get("error")), file=sys.stderr)
    sys.exit(1)


def oneshot(stage, files, plan):
    d = os.path.join(top, stage)
    t = task(d, stage, task_dir(d, files), plan)
    with open(os.path.join(d, "task.json"), "w") as f:
        f.write(json.dumps(t) + "\n")
    t0 = time.monotonic()
    out = subprocess.run([worker, "--task", os.path.join(d, "task.json")],
                         capture_output=True, text=True)
    el = time.monotonic() - t0
    ans = json.loads(out.stdout.strip().splitlines()[-1])
    if ans.get("status") != "succeeded":
        fail(stage, ans)
    return ans, el


def loader(k, lines, results):
    area = os.path.join(top, "loader-%d" % k)
    p = subprocess.Popen([worker, "--area", area], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True, bufsize=1)
    for line in lines:
        p.stdin.write(line + "\n")
        p.stdin.flush()
        while True:
            a = json.loads(p.stdout.readline())
            if "status" in a:
                results.append(a)
                break
    p.stdin.close()
    p.wait()


conv, t_conv = oneshot("convert", [source], None)
gpkg = os.path.join(top, "convert", "out", conv["next"][0]["gpkg"])
create, t_create = oneshot("create", [source, gpkg], conv["next"][0])
plans = create["next"]
# the task lines are written before the clock starts, as spoold has them
lines = [[] for _ in range(loaders)]
for i, plan in enumerate(plans):
    area = os.path.join(top, "loader-%d" % (i % loaders))
    lines[i % loaders].append(json.dumps(task(area, "load",
                                              task_dir(area, [gpkg]), plan)))
results = []
t0 = time.monotonic()
th = [threading.Thread(target=loader, args=(k, lines[k], results))
      for k in range(loaders)]
for t in th:
    t.start()
for t in th:
    t.join()
t_load = time.monotonic() - t0
bad = [a for a in results if a.get("status") != "succeeded"]
if bad or len(results) != len(plans):
    fail("load", bad[0] if bad else {"error": "answers missing"})
fin, t_fin = oneshot("finish", [source, gpkg,
                                os.path.join(top, "create", "out", "postgis.json")], None)
print(json.dumps({"convert": round(t_conv, 3), "create": round(t_create, 3),
                  "load": round(t_load, 3), "finish": round(t_fin, 3),
                  "total": round(t_conv + t_create + t_load + t_fin, 3),
                  "chunks": len(plans),
                  "rows": sum(t["rows"] for t in fin["summary"]["postgis"]["tables"])}))

#!/usr/bin/python3
"""Run one raster through the tiled path as spoold's pool would, and time it.

Usage: raster-tiled.py WORKER DIR SOURCE CONFIG_JSON POOL THREADS CACHEMAX
                       MEMORY

Stage raster (the plan) is one `WORKER --task`; the planned tiles go to
POOL workers at a time (spoold's `[workers.raster] count`), each one
`WORKER --task` with THREADS threads, CACHEMAX bytes of GDAL cache and an
address-space limit of MEMORY bytes (spoold's memory_limit, RLIMIT_AS);
then the mosaic stage, with the source and every tile's outputs as its
inputs.  The inputs' hashes (which spoold has from its blob store) are
computed beforehand and not timed.  Prints one JSON line: the wall seconds
of each stage and their sum, the tile count, and each task's peak RSS
(from wait4).  Exits 1 when a task fails.
"""
import hashlib
import json
import os
import resource
import subprocess
import sys
import time

worker, top, source, config, pool, threads, cachemax, memory = sys.argv[1:9]
config = json.loads(config)
pool, threads = int(pool), int(threads)
cachemax, memory = int(cachemax), int(memory)
REQ = "00000000-0000-4000-8000-0000000000c1"
seq = [0]


def b2(path):
    h = hashlib.blake2b(digest_size=32)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


hashes = {}


def task_file(d, stage, files, plan):
    for sub in ("in", "out", "tmp"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    inputs = []
    for f in files:
        n = os.path.basename(f)
        dst = os.path.join(d, "in", n)
        if not os.path.exists(dst):
            os.link(f, dst)
        if f not in hashes:
            hashes[f] = b2(f)
        inputs.append({"name": n, "path": "in/" + n,
                       "size": os.path.getsize(f), "hash": hashes[f]})
    seq[0] += 1
    t = {"v": 1, "task": "bench-%d" % seq[0], "job": REQ, "request": REQ,
         "kind": "raster", "stage": stage, "stage_index": 0, "index": 0,
         "count": 1, "attempt": 1, "dir": d, "inputs": inputs,
         "params": {}, "config": config, "plan": plan,
         "limits": {"timeout_ms": 3600000, "memory": memory,
                    "threads": threads, "cachemax": cachemax}}
    p = os.path.join(d, "task.json")
    with open(p, "w") as f:
        f.write(json.dumps(t) + "\n")
    return p


def limit():
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))


def start(d, task):
    out = open(os.path.join(d, "lines"), "w")
    p = subprocess.Popen([worker, "--task", task], stdout=out,
                         stderr=open(os.path.join(d, "log"), "w"),
                         preexec_fn=limit)
    out.close()
    return p


def answer(d, what):
    with open(os.path.join(d, "lines")) as f:
        lines = [l for l in f.read().splitlines() if l.strip()]
    a = json.loads(lines[-1]) if lines else {}
    if a.get("status") != "succeeded":
        print("bench: %s failed: %s" % (what, a.get("error")),
              file=sys.stderr)
        sys.exit(1)
    return a


rss = {}


def run(jobs):
    """jobs: [(name, dir, task)], POOL at a time; returns wall seconds."""
    t0 = time.monotonic()
    running = {}
    todo = list(jobs)
    while todo or running:
        while todo and len(running) < pool:
            name, d, task = todo.pop(0)
            running[start(d, task).pid] = (name, d)
        pid, status, ru = os.wait4(-1, 0)
        if pid not in running:
            continue
        name, d = running.pop(pid)
        rss[name] = ru.ru_maxrss * 1024
        answer(d, name)
    return time.monotonic() - t0


d = os.path.join(top, "plan")
t_plan = run([("plan", d, task_file(d, "raster", [source], None))])
plans = answer(d, "plan").get("next") or []
if not plans:
    print("bench: the raster was not tiled", file=sys.stderr)
    sys.exit(1)
jobs = []
for i, p in enumerate(plans):
    d = os.path.join(top, "tile%d" % i)
    jobs.append(("tile%d" % i, d, task_file(d, "tile", [source], p)))
t_tiles = run(jobs)
outs = []
for i in range(len(plans)):
    od = os.path.join(top, "tile%d" % i, "out")
    outs += [os.path.join(od, n) for n in sorted(os.listdir(od))]
d = os.path.join(top, "mosaic")
t_mosaic = run([("mosaic", d, task_file(d, "mosaic", [source] + outs, None))])
print(json.dumps({"plan": round(t_plan, 3), "tiles": round(t_tiles, 3),
                  "mosaic": round(t_mosaic, 3),
                  "total": round(t_plan + t_tiles + t_mosaic, 3),
                  "ntiles": len(plans), "max_rss": max(rss.values()),
                  "rss": rss}))

"""Runs a workload in-process and prints how long its running part took, as JSON on stdout.

usage: timed_run.py plain|viztracer WORKLOAD [VIZTRACER_OUTPUT]
       TIMED_ARGV='["MODULE", "ARG", ...]' timed_run.py plain module   (a real program: pytest,
       sphinx; exits with its status. Its argv travels in the environment: VizTracer's CLI would
       take options that follow the script for its own)
"plain" is also used under tracer's shim: the shim's recording is on, its final write is not timed.
"""

import json
import os
import runpy
import sys
import time

mode, workload = sys.argv[1], sys.argv[2]
tracer = None
if mode == "viztracer":
    from viztracer import VizTracer

    tracer = VizTracer(output_file=sys.argv[3], verbose=0)
    tracer.start()
status = 0
start = time.perf_counter()
if workload == "module":
    sys.argv = json.loads(os.environ["TIMED_ARGV"])
    try:
        runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
    except SystemExit as exit:
        status = exit.code if isinstance(exit.code, int) else 1
else:
    runpy.run_path(workload, run_name="__main__")
run = time.perf_counter() - start
save = 0.0
if tracer is not None:
    tracer.stop()
    start = time.perf_counter()
    tracer.save()
    save = time.perf_counter() - start
print(json.dumps({"run": run, "save": save}))
sys.stdout.flush()
sys.exit(status)

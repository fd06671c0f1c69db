"""Runs a workload in-process and prints how long its running part took, as JSON on stdout.

usage: timed_run.py plain|viztracer WORKLOAD [VIZTRACER_OUTPUT]
"plain" is also used under tracer's shim: the shim's recording is on, its final write is not timed.
"""

import json
import runpy
import sys
import time

mode, workload = sys.argv[1], sys.argv[2]
tracer = None
if mode == "viztracer":
    from viztracer import VizTracer

    tracer = VizTracer(output_file=sys.argv[3], verbose=0)
    tracer.start()
start = time.perf_counter()
runpy.run_path(workload, run_name="__main__")
run = time.perf_counter() - start
save = 0.0
if tracer is not None:
    tracer.stop()
    start = time.perf_counter()
    tracer.save()
    save = time.perf_counter() - start
print(json.dumps({"run": run, "save": save}))

"""A small multi-process program to show what tracer records.

Threads, a multiprocessing pool, a subprocess and a bare fork, each doing a little real work.
Run it with: scripts/deno task demo   (writes result.html)
"""
import json
import multiprocessing
import os
import re
import subprocess
import sys
import threading
import time


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def parse_records(count):
    text = json.dumps([{"id": i, "name": "item-%d" % i, "tags": ["a", "b"]} for i in range(count)])
    records = json.loads(text)
    pattern = re.compile(r"item-(\d+)")
    return sum(int(pattern.match(r["name"]).group(1)) for r in records)


def io_worker(delay):
    time.sleep(delay)
    return parse_records(2000)


def cpu_task(n):
    return fib(n)


def child_process():
    code = "import json; print(len(json.dumps(list(range(50000)))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout)


def forked_child():
    pid = os.fork()
    if pid == 0:
        parse_records(3000)
        os._exit(0)
    os.waitpid(pid, 0)


def main():
    threads = [
        threading.Thread(target=io_worker, args=(0.02 * i,), name="io-%d" % i) for i in range(3)
    ]
    for thread in threads:
        thread.start()
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        results = pool.map(cpu_task, [18, 19, 20, 21])
    for thread in threads:
        thread.join()
    size = child_process()
    forked_child()
    print("fib results:", results, "subprocess output length:", size)


if __name__ == "__main__":
    main()

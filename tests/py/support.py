"""What the shim's unit tests share: a config, a writer in a temp dir, the file's Trace."""

import os
import shutil
import tempfile
import unittest

from _tracer.config import parse_config
from _tracer.names import NameTable
from _tracer.writer import TraceWriter
from rawread import Trace


def config(folder, **values):
    """A Config for `folder` with `values` over the defaults."""
    import json

    values.setdefault("version", 1)
    values["output_dir"] = folder
    return parse_config(json.dumps(values))


class WriterCase(unittest.TestCase):
    """A TraceWriter of pid 4242 in a fresh temp dir (self.writer), and the trace it wrote."""

    config_values = {}

    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="tracer-py-test-")
        self.addCleanup(shutil.rmtree, self.folder)
        self.config = config(self.folder, **self.config_values)
        self.names = NameTable(lambda code: not code.co_name.startswith("excluded"))
        self.writer = TraceWriter(self.config, os.getpid(), self.names)
        self.writer.write_header({"pid": os.getpid()})

    def path(self):
        return os.path.join(self.folder, self.writer.file_name)

    def trace(self):
        """What the file holds now, read as a reader would at this instant."""
        with open(self.path(), "rb") as file:
            return Trace(file.read())


def record_in_thread(core, function):
    """Runs `function` in a new thread with `core` recording it (started there, stopped after):
    (the thread's native id, what `function` returned, or None when it raised)."""
    import threading

    out = {}

    def body():
        out["tid"] = threading.get_native_id()
        core.start()
        try:
            out["result"] = function()
        finally:
            core.stop()

    worker = threading.Thread(target=body)
    worker.start()
    worker.join()
    return out["tid"], out.get("result")


def fork():
    """os.fork(), without 3.12+'s warning about a process with threads (the tests' own threads and
    the repr thread are no concern of theirs)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return os.fork()

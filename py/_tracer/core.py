"""The recording core interface, and the choice of core for this process.

A core owns the hot path: it gets the interpreter's call events, pairs calls with returns and
stores each thread's open calls and finished calls straight into its blocks of the raw file,
which the session's TraceWriter hands out (through the ThreadRegistry, whose `writer` changes in a
fork child). Three cores implement Core:

- MonitoringCore (core_monitoring.py, 3.12+) and ProfileCore (core_profile.py, 3.8-3.11): pure
  Python, pairing with pairing.py (the reference implementation);
- NativeCore (core_native.py): the same hot path in C (_native.c), loaded from
  `_tracer/native/cp<XY>.so` when the CLI put a library for this CPython there.
"""

import os
import sys

from .config import event_cap
from .pairing import Counts, make_pairing

_NATIVE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "native")


class Core:
    """What the session calls on its core. Every method runs with the GIL held."""

    kind = ""  # "python" or "native": written into the file header (otherData.core)

    def start(self):
        """Starts recording in every thread it can reach, and in threads started from now on."""
        raise NotImplementedError

    def stop(self):
        """Stops recording; no I/O (a fork child that only execs calls it and writes nothing)."""
        raise NotImplementedError

    def counts(self):
        """(events written whole dropped past their cap, the most recorded calls open at once in
        one thread)."""
        raise NotImplementedError

    def before_fork(self):
        """The calling thread forks now: it records into private memory until after_fork (the
        child) or after_fork_in_parent, as the parent's mapping is shared with the child."""
        raise NotImplementedError

    def after_fork_in_parent(self):
        """Back to the file, with what the forking thread recorded meanwhile."""
        raise NotImplementedError

    def after_fork(self, fork_ns):
        """In a fork child whose new writer is installed: the other threads are gone, and the
        surviving thread's open calls restart at fork_ns and move to the new file with what it
        recorded since the fork."""
        raise NotImplementedError

    def resume(self):
        """The same process records on into a new file (an exec that failed, its writer
        installed): every thread's open calls move there, as they are."""
        raise NotImplementedError

    def lost_reason(self):
        """Why recording stopped before the end (a sentence for tracerEnd.lost), else None."""
        raise NotImplementedError

    def admit(self):
        """One event recorded outside the calls (an instant, a counter, a span): True when the
        cap on events written whole (config.event_cap) lets it in (it is counted), False when it
        is past the cap (counted as dropped)."""
        raise NotImplementedError

    def monitoring_tool(self):
        """The sys.monitoring tool id this core records with (3.12+), else None."""
        return None

    def watch_running(self, codes):
        """Code objects whose frames were running when recording started (tracer attach): their
        calls into C and their own returns are seen from now on (3.12+: their local events go
        on; a start would have switched them on). The profile-hook cores see them anyway."""

    def redeliver_signal(self, signum):
        """Makes a guarded signal (hooks.py) that CPython tripped reach the main thread again and
        again until the hooks' handler runs (signal_seen), so that a main thread blocked in C
        when it arrived still ends as the default action would; True when this core can. Called
        in the main thread, just after that handler was installed for signum. The Python cores
        cannot: such a signal waits until the blocking call returns."""
        return False

    def signal_seen(self, signum):
        """The hooks' handler for signum runs: the signal needs no more re-sending."""


class PythonCore(Core):
    """A pure-Python core: pairing.py's push and pop on each thread's ThreadState."""

    kind = "python"

    def __init__(self, registry, config, names, values=None):
        self._registry = registry
        self._names = names
        self._ignore_c = config.ignore_c_function
        self._counts = Counts()
        self._cap = event_cap(config)
        self._values = values is not None
        self._push, self._pop = make_pairing(registry, config, self._counts, values=values)

    def admit(self):
        """See Core.admit."""
        counts = self._counts
        if counts.admitted < self._cap:
            counts.admitted += 1
            return True
        counts.dropped += 1
        return False

    def counts(self):
        """See Core.counts."""
        return self._counts.dropped, self._counts.deepest

    def _forking_state(self):
        return getattr(self._registry.local, "state", None)

    def before_fork(self):
        """See Core.before_fork."""
        state = self._forking_state()
        if state is not None:
            state.go_private()

    def after_fork_in_parent(self):
        """See Core.after_fork_in_parent."""
        state = self._forking_state()
        if state is not None:
            state.back_to_file(self._registry.writer)

    def after_fork(self, fork_ns):
        """See Core.after_fork."""
        survivor = self._registry.after_fork()
        counts = self._counts
        counts.admitted = counts.dropped = counts.deepest = 0
        if survivor is not None:
            survivor.to_new_file(self._registry.writer, fork_ns)
            counts.deepest = survivor.depth

    def resume(self):
        """See Core.resume."""
        writer = self._registry.writer
        for state in self._registry.all_threads():
            state.to_new_file(writer, None)


def monitoring_loss(tools):
    """Why the sys.monitoring tools tracer claimed (`tools`) no longer record, else None: the
    program freed one (its name is gone), or cleared one (3.14's clear_tool_id(): the name stays,
    every event and callback is gone; a claimed tool always has global events on)."""
    monitoring = sys.monitoring
    noun = "tool id" if len(tools) == 1 else "tool ids"
    if any(monitoring.get_tool(tool) != "tracer" for tool in tools):
        return "the program freed the sys.monitoring %s tracer recorded with" % noun
    if any(monitoring.get_events(tool) == 0 for tool in tools):
        return "the program cleared the sys.monitoring %s tracer recorded with" % noun
    return None


def release_tool(tool, codes):
    """Switches a claimed sys.monitoring tool off and frees it, unless the program freed it (then
    it is no longer ours to touch); `codes` are the code objects with its local events on.

    Their local events are switched off one by one even on 3.14+, where free_tool_id() clears
    them too: doing it re-instruments each code object, which also re-arms the PY_START events a
    callback DISABLEd there (DISABLE outlives free_tool_id() on every version), so that a process
    that records again (after an exec that failed) sees those code objects start."""
    monitoring = sys.monitoring
    if monitoring.get_tool(tool) != "tracer":
        return
    monitoring.set_events(tool, 0)
    for code in codes:
        monitoring.set_local_events(tool, code, 0)
    monitoring.free_tool_id(tool)


def select_core(config, registry, names, values=None):
    """The core for this process, and why it is not the native one (None when it is, or when the
    config asks for the Python core). `values`: see call_values.py."""
    note = None
    if config.core != "python":
        native, note = load_native()
        if native is not None:
            from .core_native import NativeCore

            return NativeCore(registry, config, native, names, values), None
    if sys.version_info >= (3, 12):
        from .core_monitoring import MonitoringCore as CoreClass
    else:
        from .core_profile import ProfileCore as CoreClass
    return CoreClass(registry, config, names, values), note


def load_native():
    """Loads `_tracer._native` built for this CPython: (module, None), or (None, why not)."""
    version = "%d.%d" % sys.version_info[:2]
    if sys.implementation.name != "cpython":
        return None, "the native core needs CPython, not %s" % sys.implementation.name
    if "t" in getattr(sys, "abiflags", ""):
        return None, "no native core for free-threaded CPython %s" % version
    path = os.path.join(_NATIVE_DIR, "cp%d%d.so" % sys.version_info[:2])
    if not os.path.exists(path):
        return None, "no native core for CPython %s on this platform" % version
    try:
        from importlib.machinery import ExtensionFileLoader, ModuleSpec

        loader = ExtensionFileLoader("_tracer._native", path)
        module = loader.create_module(ModuleSpec("_tracer._native", loader, origin=path))
        loader.exec_module(module)
    except Exception as error:  # noqa: BLE001 - any failure means: use the Python core
        return None, "the native core for CPython %s did not load (%s)" % (version, error)
    return module, None

"""Task arrows: links between the call that submitted a task to a process pool, the worker call
that ran it, and the parent call that received its result, written as Trace Event flow events.

`multiprocessing.pool` (Pool: apply_async, map, imap, ...; a ThreadPool's C queue cannot be
wrapped, it has no task arrows) and
`concurrent.futures.process` (ProcessPoolExecutor: submit, map) are patched when the program
imports them. Nothing travels with the tasks: both sides derive a flow's id from what each already
knows, the submitting process's pid and the pool's own task key ((job, index) for a Pool, the work
id for an executor). A task arrow runs from the submit to the worker call (cat `tracer.task`), a
result arrow from the worker call to the receiving call (cat `tracer.result`).
"""

import os
from _thread import get_native_id
from time import perf_counter_ns as _clock

from . import debug

_TASK = 0
_RESULT = 1
_CATEGORIES = ("tracer.task", "tracer.result")
_NAMES = ("task", "result")

_session = None
# job -> (tid, ns) of the Pool call that created it, until its last result arrives
_pool_submits = {}


def install(session):
    """Queues the flow events of process pools on `session`; patches the modules on import."""
    global _session
    _session = session


def flow_id(submitter_pid, key, kind):
    """The flow id both ends compute: from the submitting pid, the pool's task key and the kind
    (in a range of its own, above the launch arrows' pid-based ids)."""
    value = submitter_pid
    for part in key:
        value = (value * 1000003 + part) % (1 << 46)
    return (1 << 50) + value * 2 + kind


def _flow(phase, kind, flow_id_value, tid, ns, bind):
    event = {"ph": phase, "id": flow_id_value, "pid": os.getpid(), "tid": tid, "ts": ns / 1000,
             "cat": _CATEGORIES[kind], "name": _NAMES[kind]}
    if bind:
        event["args"] = {"bind": bind}
    return event


def _add(event):
    if _session is not None:
        _session.add_event(event)


def _submitter_pid():
    """In a pool worker process: the pid of the process that owns the pool."""
    import multiprocessing

    parent = multiprocessing.parent_process()
    return parent.pid if parent is not None else os.getppid()


def _worker_got(submitter, key):
    """A worker took task `key` of process `submitter`: the task arrow ends and the result arrow
    starts at the next call it makes (the task's function). The clock is read last: the calls
    made here before it must not be that next call."""
    task_id = flow_id(submitter, key, _TASK)
    result_id = flow_id(submitter, key, _RESULT)
    tid = get_native_id()
    ns = _clock()
    _add(_flow("f", _TASK, task_id, tid, ns, "next"))
    _add(_flow("s", _RESULT, result_id, tid, ns, "next"))


def _result_arrived(key, submit, ns, submit_bind=None):
    """The parent received the result of task `key` at `ns` (its next call is the receiving one);
    `submit` is (tid, ns) of the submitting call, whose end of the task arrow is written now
    (bound to the call enclosing it, or with `submit_bind` "next" to the next call)."""
    pid = os.getpid()
    tid, submit_ns = submit
    _add(_flow("s", _TASK, flow_id(pid, key, _TASK), tid, submit_ns, submit_bind))
    _add(_flow("f", _RESULT, flow_id(pid, key, _RESULT), get_native_id(), ns, "next"))


# --- multiprocessing.pool ------------------------------------------------------------------------


def patch_pool(module):
    """Patches multiprocessing.pool: results record their submit, workers their tasks."""
    for name in ("ApplyResult", "MapResult", "IMapIterator"):
        cls = getattr(module, name, None)
        if cls is not None and "__init__" in cls.__dict__:
            cls.__init__ = _recording_submit(cls.__dict__["__init__"])
    for name in ("ApplyResult", "MapResult", "IMapIterator", "IMapUnorderedIterator"):
        cls = getattr(module, name, None)
        if cls is not None and "_set" in cls.__dict__:
            cls._set = _recording_result(cls.__dict__["_set"])
    module.worker = _pool_worker(module.worker)


def _recording_submit(original):
    def __init__(self, *args, **kwargs):
        if type(self).__init__ is not __init__:  # a subclass's __init__ calling its base's
            return original(self, *args, **kwargs)
        # Before the original: the call open now is the pool method that submits (apply_async,
        # _map_async, imap), the arrow's start (bound to the enclosing call).
        submit = (get_native_id(), _clock())
        original(self, *args, **kwargs)
        try:
            _pool_submits[self._job] = submit
        except Exception as error:  # noqa: BLE001
            debug.swallowed("a pool's task arrows", error)

    _copy_identity(__init__, original)
    return __init__


def _recording_result(original):
    def _set(self, i, obj):
        ns = _clock()
        try:
            job = self._job
            submit = _pool_submits.get(job)
            if submit is not None:
                _result_arrived((job, i), submit, ns)
        except Exception as error:  # noqa: BLE001
            debug.swallowed("a task's result arrow", error)
        result = original(self, i, obj)
        try:
            if getattr(self, "_cache", None) is not None and self._job not in self._cache:
                _pool_submits.pop(self._job, None)  # its last result: the job is done
        except Exception as error:  # noqa: BLE001
            debug.swallowed("a task's result arrow", error)
        return result

    _copy_identity(_set, original)
    return _set


def _pool_worker(original):
    def worker(inqueue, *args, **kwargs):
        _session.sigterm_is_normal_end()  # Pool.terminate() ends its workers so
        try:
            get = inqueue.get
            submitter = _submitter_pid()

            def traced_get(*get_args, **get_kwargs):
                task = get(*get_args, **get_kwargs)
                try:
                    if type(task) is tuple and len(task) == 5:
                        _worker_got(submitter, (task[0], task[1]))
                except Exception as error:  # noqa: BLE001
                    debug.swallowed("a task's arrow in a worker", error)
                return task

            inqueue.get = traced_get  # worker() reads it once, before its loop
        except Exception as error:  # noqa: BLE001
            debug.swallowed("a pool worker's task arrows", error)
        return original(inqueue, *args, **kwargs)

    _copy_identity(worker, original)
    return worker


# --- concurrent.futures.process ------------------------------------------------------------------


def patch_process_pool(module):
    """Patches concurrent.futures.process: submit, the worker loop and the result item (3.9+:
    3.8 handles results inline in a function, its executors have no task arrows)."""
    manager = getattr(module, "_ExecutorManagerThread", None)
    if manager is None or not hasattr(manager, "process_result_item"):
        return
    executor = module.ProcessPoolExecutor
    executor.submit = _executor_submit(executor.submit)
    module._process_worker = _executor_worker(module._process_worker)
    manager.process_result_item = _executor_result(manager.process_result_item)


# work id -> (tid, ns) of the submit, until its result arrives (work ids are per executor: two
# executors running at once in one process can mix their arrows up)
_executor_submits = {}


def _executor_submit(original):
    def submit(self, *args, **kwargs):
        work_id = getattr(self, "_queue_count", None)
        # Before the original: the arrow starts at the next call, the original submit.
        started = (get_native_id(), _clock())
        future = original(self, *args, **kwargs)
        try:
            if isinstance(work_id, int):
                _executor_submits[work_id] = started
        except Exception as error:  # noqa: BLE001
            debug.swallowed("a submitted task's arrow", error)
        return future

    _copy_identity(submit, original)
    return submit


def _executor_worker(original):
    def _process_worker(call_queue, *args, **kwargs):
        _session.sigterm_is_normal_end()  # a shut down executor's workers may end so
        try:
            get = call_queue.get
            submitter = _submitter_pid()

            def traced_get(*get_args, **get_kwargs):
                item = get(*get_args, **get_kwargs)
                try:
                    work_id = getattr(item, "work_id", None)
                    if isinstance(work_id, int):
                        _worker_got(submitter, (work_id,))
                except Exception as error:  # noqa: BLE001
                    debug.swallowed("a task's arrow in a worker", error)
                return item

            call_queue.get = traced_get  # the worker loop looks it up on the instance
        except Exception as error:  # noqa: BLE001
            debug.swallowed("a process pool worker's task arrows", error)
        return original(call_queue, *args, **kwargs)

    _copy_identity(_process_worker, original)
    return _process_worker


def _executor_result(original):
    def process_result_item(self, result_item):
        try:
            work_id = getattr(result_item, "work_id", None)
            submit = _executor_submits.pop(work_id, None) if isinstance(work_id, int) else None
            if submit is not None:
                _result_arrived((work_id,), submit, _clock(), "next")
        except Exception as error:  # noqa: BLE001
            debug.swallowed("a process pool result's arrow", error)
        return original(self, result_item)

    _copy_identity(process_result_item, original)
    return process_result_item


def _copy_identity(wrapper, wrapped):
    for attribute in ("__module__", "__name__", "__qualname__", "__doc__"):
        setattr(wrapper, attribute, getattr(wrapped, attribute, None))
    wrapper.__wrapped__ = wrapped


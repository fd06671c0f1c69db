"""The Python cores' hot path: a call's start goes into its thread's open-calls record, its end
pairs with it and, past the filters, stores the finished call in the thread's events block.

The filter decided when a call starts (the depth limit) is the native core's too (_native.c,
admit). Calls have no cap here: --tracer_entries is applied by the writer (cap_ring.py) and the
reader (docs/internals.md 2a, "Event cap").
"""

from time import perf_counter_ns

from .writer import EVENT_SLOT, EVENTS_HEAD, STACK_HEAD, STACK_SLOT


class Counts:
    """What the cores count across threads (for tracerEnd)."""

    __slots__ = ("admitted", "dropped", "deepest")

    def __init__(self):
        self.admitted = 0  # events written whole (PythonCore.admit), under config.event_cap
        self.dropped = 0
        self.deepest = 0  # the most recorded calls open at once in one thread


def store(state, writer, start, duration, name_id):
    """Stores one finished call in the thread's events block (the count after the numbers)."""
    count = state.count
    if count == state.slots:
        state.new_events(writer)
        count = state.count
    events = state.events
    i = EVENTS_HEAD + EVENT_SLOT * count
    events[i] = start
    events[i + 1] = duration
    events[i + 2] = name_id
    state.count = count = count + 1
    events[1] = count


def make_pairing(registry, config, counts, clock=perf_counter_ns, values=None):
    """(push, pop) for the config's filters: push(state, name_id) records a call's start at
    clock(); pop(state, now) ends the innermost open call at `now`. With `values` (a
    call_values.CallValues), push(state, name_id, frame) and pop(state, now, retval) also hand a
    Python call's frame and its end to it (frame None: a C call)."""
    max_depth = config.max_stack_depth if config.max_stack_depth > 0 else 1 << 30
    min_ns = int(config.min_duration_us * 1000)

    def admit(depth, name_id):
        """The name id a call starting at `depth` is recorded with: -1 too deep."""
        if name_id > 0:
            if depth >= max_depth:
                return -1
            if depth >= counts.deepest:
                counts.deepest = depth + 1
        return name_id

    def open_call(state, depth, name_id):
        if depth == state.stack_slots:
            state.new_stack(registry.writer)
        stack = state.stack
        i = STACK_HEAD + STACK_SLOT * depth
        stack[i + 1] = name_id
        stack[i] = clock()  # the clock last on entry: our own time stays outside the call
        state.depth = depth = depth + 1
        stack[1] = depth

    def push(state, name_id, frame=None):  # frame: see push_values
        depth = state.depth
        open_call(state, depth, admit(depth, name_id))

    def pop(state, now, retval=None):  # retval: see pop_values
        depth = state.depth - 1
        if depth < 0:
            return  # a return from a call that started before recording did
        stack = state.stack
        i = STACK_HEAD + STACK_SLOT * depth
        name_id = stack[i + 1]
        if name_id > 0:
            start = stack[i]
            duration = now - start
            if duration >= min_ns:
                store(state, registry.writer, start, duration, name_id)
        # After the store: killed in between, the call is both finished and open (the reader
        # keeps the finished one), never neither.
        state.depth = depth
        stack[1] = depth

    if values is None:
        return push, pop
    return _with_values(admit, open_call, pop, min_ns, values)


def _with_values(admit, open_call, pop, min_ns, values):
    """push and pop that hand recorded Python calls to `values` (make_pairing); each thread keeps
    the token of each open call in `state.tokens`, by depth."""
    start_values = values.start
    finish_values = values.finish
    no_value = values.NO_VALUE

    def push_values(state, name_id, frame=None):
        depth = state.depth
        name_id = admit(depth, name_id)
        token = None
        if frame is not None and name_id > 0:  # before the clock is read (open_call)
            token = start_values(frame, state.tid, depth, name_id)
        tokens = state.tokens
        while len(tokens) <= depth:
            tokens.append(None)
        tokens[depth] = token
        open_call(state, depth, name_id)

    def pop_values(state, now, retval=no_value):
        depth = state.depth - 1
        tokens = state.tokens
        token = tokens[depth] if 0 <= depth < len(tokens) else None
        if token is None:
            pop(state, now)
            return
        tokens[depth] = None
        stack = state.stack
        i = STACK_HEAD + STACK_SLOT * depth
        start = stack[i]
        duration = now - start
        if duration < min_ns or not finish_values(state.tid, start, duration, stack[i + 1],
                                                  token, retval):
            pop(state, now)
            return
        # Written whole, before the depth goes down (as pop stores before it).
        state.depth = depth
        stack[1] = depth

    return push_values, pop_values

"""The Python cores' hot path: a call's start goes into its thread's open-calls record, its end
pairs with it and, past the filters, stores the finished call in the thread's events block.

The filters decided when a call starts (the depth limit, the cap) are the native core's too
(_native.c, admit): a call past the cap is counted as dropped, and so are its callees.
"""

from time import perf_counter_ns

from .writer import EVENT_SLOT, EVENTS_HEAD, STACK_HEAD, STACK_SLOT


class Counts:
    """What the cores count across threads (for tracerEnd)."""

    __slots__ = ("admitted", "dropped", "deepest")

    def __init__(self):
        self.admitted = 0
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


def make_pairing(registry, config, counts, clock=perf_counter_ns):
    """(push, pop) for the config's filters: push(state, name_id) records a call's start at
    clock(); pop(state, now) ends the innermost open call at `now`."""
    max_depth = config.max_stack_depth if config.max_stack_depth > 0 else 1 << 30
    cap = config.tracer_entries
    min_ns = int(config.min_duration_us * 1000)

    def push(state, name_id):
        depth = state.depth
        if name_id > 0:
            if depth >= max_depth:
                name_id = -1
            elif counts.admitted < cap:
                counts.admitted += 1
                if depth >= counts.deepest:
                    counts.deepest = depth + 1
            else:
                counts.dropped += 1
                name_id = 0
        if depth == state.stack_slots:
            state.new_stack(registry.writer)
        stack = state.stack
        i = STACK_HEAD + STACK_SLOT * depth
        stack[i + 1] = name_id
        stack[i] = clock()  # the clock last on entry: our own time stays outside the call
        state.depth = depth = depth + 1
        stack[1] = depth

    def pop(state, now):
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

    return push, pop

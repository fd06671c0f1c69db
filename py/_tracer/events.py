"""What the recorders of events outside the calls share (gc_passes.py, raised.py, async_tasks.py,
api.py): times as Trace Event microseconds, and argument values as JSON."""

from .values import VALUE_LIMIT, text_of


def ns_to_us(ns):
    """Nanoseconds as a Trace Event time (microseconds)."""
    return ns / 1000


def json_args(args):
    """Event args from the program: numbers, booleans, None and short strings as they are, any
    other value as its text (values.text_of); keys as strings."""
    out = {}
    for key, value in args.items():
        cls = type(value)
        if cls is bool or cls is int or cls is float or value is None:
            out[str(key)] = value
        elif cls is str and len(value) <= VALUE_LIMIT:
            out[str(key)] = value
        else:
            out[str(key)] = text_of(value)
    return out

"""The run configuration TRACER_CONFIG names (a file's path, or the JSON itself).

Mirrors lib/run/shim_config.ts; the keys are documented in docs/internals.md, section 1. The
recording options, their types and defaults come from the option table the CLI parses them by
(options.json, beside this file).
"""

import os

from .constants import CONFIG_ENV

SUPPORTED_VERSION = 1
_TABLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "options.json")

# The Python types of each option type of the table.
_TYPES = {
    "flag": (bool,),
    "flag_off": (bool,),
    "depth": (int,),
    "paths": (list,),
    "duration": (int, float),
    "seconds": (int, float),
    "count": (int,),
    "choice": (str,),
}


def _load_fields():
    """key -> (accepted types, default, choices or None): the run's own keys, then the table's."""
    with open(_TABLE, "rb") as file:
        table = _loads(file.read().decode("utf-8"))
    fields = {
        "version": ((int,), SUPPORTED_VERSION, None),
        "output_dir": ((str,), None, None),
        "shim_dir": ((str,), "", None),
        "tracer_pid": ((int,), 0, None),
    }
    for option in table["options"]:
        fields[option["key"]] = (_TYPES[option["type"]], option["default"], option.get("choices"))
    return fields


class ConfigError(ValueError):
    """TRACER_CONFIG is not a configuration this shim understands."""


class Config:
    """Parsed TRACER_CONFIG; attributes are named as the JSON keys."""

    def __init__(self, values):
        for key, value in values.items():
            setattr(self, key, value)

    def __repr__(self):
        return "Config(%s)" % ", ".join("%s=%r" % item for item in vars(self).items())


def load_config(value):
    """The Config TRACER_CONFIG names: the path of a JSON file (what the CLI sets: the config
    can be any size, an environment variable cannot) or, when it starts with "{", the JSON itself."""
    if value.startswith("{"):
        return parse_config(value)
    try:
        with open(value, "rb") as file:
            text = file.read().decode("utf-8")
    except (OSError, UnicodeError) as error:
        raise ConfigError("%s: cannot read %s (%s)" % (CONFIG_ENV, value, error)) from error
    return parse_config(text)


def parse_config(text):
    """Parses the JSON text of TRACER_CONFIG into a Config; raises ConfigError naming the problem."""
    try:
        raw = _loads(text)
    except ValueError as error:
        raise ConfigError("%s is not valid JSON (%s)" % (CONFIG_ENV, error)) from error
    if not isinstance(raw, dict):
        raise ConfigError("%s must be a JSON object" % CONFIG_ENV)
    values = {}
    for key, (types, default, choices) in _load_fields().items():
        value = raw.get(key, default)
        if value is None or not isinstance(value, types) or (
            isinstance(value, bool) and bool not in types
        ):
            raise ConfigError("%s: %r must be %s" % (CONFIG_ENV, key, " or ".join(t.__name__ for t in types)))
        if choices is not None and value not in choices:
            raise ConfigError("%s: %r must be one of %s" % (CONFIG_ENV, key, ", ".join(choices)))
        values[key] = value
    if values["version"] != SUPPORTED_VERSION:
        raise ConfigError(
            "%s version %r is not supported by this shim (expected %d)"
            % (CONFIG_ENV, values["version"], SUPPORTED_VERSION)
        )
    for key in ("include_files", "exclude_files"):
        if not all(isinstance(item, str) for item in values[key]):
            raise ConfigError("%s: %r must be a list of path strings" % (CONFIG_ENV, key))
    if not values["output_dir"].startswith("/"):
        raise ConfigError("%s: output_dir must be an absolute path" % CONFIG_ENV)
    return Config(values)


# --flight: the cores admit every event written whole (the reader keeps those of the window).
NO_CAP = 1 << 62


def event_cap(config):
    """The cores' cap on the events written whole (instants, counters, spans, gc passes,
    exceptions, task steps; Core.admit): --tracer_entries, or none with --flight. Calls have no
    cap in the cores: the writer's ring (cap_ring.py, ring.py) and the reader apply it."""
    return NO_CAP if config.flight_s > 0 else config.tracer_entries


class _ScanContext:
    """What _json.make_scanner reads from a json.JSONDecoder (3.15 added array_hook)."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    array_hook = None
    parse_float = float
    parse_int = int
    parse_constant = float
    memo = {}


def _c_scanner():
    """_json's C scanner alone: importing json costs ~20 ms of start-up (re, enum) in every
    process. It is a private interface that reads a decoder's attributes: whatever it does not
    accept (a CPython that wants another attribute) leaves the public json module to parse."""
    try:
        from _json import make_scanner

        return make_scanner(_ScanContext())
    except Exception:  # noqa: BLE001 - any failure of the private path: use json
        return None


def _loads(text):
    scan = _c_scanner()
    if scan is None:
        import json

        return json.loads(text)
    start = len(text) - len(text.lstrip())
    try:
        value, end = scan(text, start)
    except StopIteration as stop:
        raise ValueError("expecting a value at character %d" % stop.value) from None
    if text[end:].strip():
        raise ValueError("extra data at character %d" % end)
    return value

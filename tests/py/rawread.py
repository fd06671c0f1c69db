"""A reader of raw files (docs/internals.md, 2a) for the shim's unit tests: every record, as the
TypeScript reader would take it (lib/raw/records.ts)."""

import json
import struct

MAGIC = b"TRACER-RAW 2\n\0\0\0"


def records(data):
    """[(kind, payload)] of every whole record, then ("end", offset) where the data stops."""
    assert data[:16] == MAGIC, data[:16]
    offset = 16
    out = []
    while offset + 8 <= len(data) and data[offset] != 0:
        kind = chr(data[offset])
        size = int.from_bytes(data[offset + 4:offset + 8], "little")
        # recycled E and V blocks carry their recycle number there (ring.py, cap_ring.py)
        assert kind in "EV" or data[offset + 1:offset + 4] == b"\0\0\0"
        if offset + 8 + size > len(data):
            break
        out.append((kind, data[offset + 8:offset + 8 + size]))
        offset = (offset + 8 + size + 7) & ~7
    out.append(("end", offset))
    return out


class Trace:
    """What a raw file says: names, events per tid, open calls per tid, M events, the end."""

    def __init__(self, data):
        self.names = {}
        self.events = {}  # tid -> [(start, dur, name)]
        self.open = {}  # tid -> [(start, name id)] of the last S record, recorded ones only
        self.meta = []
        self.end = None
        self.header = None
        self.kinds = []
        for kind, payload in records(data):
            self.kinds.append(kind)
            if kind in "HNMT":
                value = json.loads(payload.decode())
                if kind == "H":
                    self.header = value
                elif kind == "N":
                    for name_id, name, cat in value:
                        self.names[name_id] = (name, cat)
                elif kind == "M":
                    self.meta.extend(value)
                else:
                    self.end = value
            elif kind == "E":
                numbers = struct.unpack("<%dd" % (len(payload) // 8), payload)
                count = int(numbers[1])
                assert count <= (len(numbers) - 2) // 3
                calls = self.events.setdefault(int(numbers[0]), [])
                for i in range(2, 2 + 3 * count, 3):
                    calls.append((int(numbers[i]), int(numbers[i + 1]), int(numbers[i + 2])))
            elif kind == "S":
                numbers = struct.unpack("<%dq" % (len(payload) // 8), payload)
                depth = numbers[1]
                assert depth <= (len(numbers) - 2) // 2
                self.open[numbers[0]] = [(numbers[i], numbers[i + 1])
                                         for i in range(2, 2 + 2 * depth, 2)]

    def named(self, tid):
        """[(name, start, dur)] of a thread's finished calls."""
        return [(self.names[i][0], s, d) for s, d, i in self.events.get(tid, [])]

    def open_names(self, tid):
        """Names of a thread's recorded open calls, outermost first."""
        return [self.names[i][0] for _, i in self.open.get(tid, []) if i > 0]

    def thread_names(self):
        """tid -> the last thread_name."""
        return {e["tid"]: e["args"]["name"] for e in self.meta if e.get("name") == "thread_name"}

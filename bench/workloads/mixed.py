"""Realistic mixed workload: json, re, dataclasses and sorting; a few hundred thousand calls."""

import json
import re
from dataclasses import asdict, dataclass, field

WORD = re.compile(r"[a-z]+")


@dataclass(order=True)
class Record:
    key: str
    value: int
    tags: list = field(default_factory=list)


def make_records(count):
    records = []
    for i in range(count):
        text = "item%d alpha beta gamma %d" % (i, i * 7)
        records.append(Record(key=text[:8], value=(i * 7919) % 1000, tags=WORD.findall(text)))
    return records


def round_trip(records):
    data = json.dumps([asdict(record) for record in records])
    return [Record(**item) for item in json.loads(data)]


def summarize(records):
    by_tag = {}
    for record in sorted(records):
        for tag in record.tags:
            by_tag.setdefault(tag, []).append(record.value)
    return {tag: sum(values) / len(values) for tag, values in by_tag.items()}


for _ in range(4):
    summarize(round_trip(make_records(2000)))

"""The flat-records workload of the anchors' speed table: 100,000 records (about 43 MB
of JSON), a policy that hashes one field, replaces one and drops one, and the same three
transformations written by hand with the same JSON library, to compare against."""

from __future__ import annotations

import random
from pathlib import Path

import orjson

POLICY = """\
policy: bench-records
version: 1.0.0
description: Hash one field, replace one, drop one; leave the rest (the anchors' workload).
unmatched: keep
hash:
  length: 16
rules:
  - id: hash-email
    select: "[*].email"
    action: hash
  - id: replace-name
    select: "[*].name"
    action: replace
    value: "<name>"
  - id: drop-ssn
    select: "[*].ssn"
    action: drop
"""

BASELINE = '''\
"""Hand-written: the same three transformations, orjson in and out, keyed HMAC."""
import hashlib, hmac, sys
import orjson

source, target, key_file = sys.argv[1:4]
key = open(key_file, "rb").read().strip()
records = orjson.loads(open(source, "rb").read())
for record in records:
    if "email" in record:
        record["email"] = hmac.new(key, record["email"].encode(), hashlib.sha256).hexdigest()[:16]
    if "name" in record:
        record["name"] = "<name>"
    record.pop("ssn", None)
with open(target, "wb") as out:
    out.write(orjson.dumps(records, option=orjson.OPT_INDENT_2) + b"\\n")
'''

_WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
          "juliet", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo",
          "sierra", "tango", "uniform", "victor", "whiskey"]


_COMPANIES = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark")


def make_records(path: Path, count: int = 100_000, seed: int = 1) -> int:
    """Write ``count`` flat records (a JSON array); returns the file size in bytes."""
    rng = random.Random(seed)
    records = []
    for i in range(count):
        first, last = rng.choice(_WORDS), rng.choice(_WORDS)
        records.append({
            "id": i,
            "name": f"{first.title()} {last.title()}",
            "email": f"{first}.{last}{i}@example.com",
            "ssn": f"{rng.randrange(100, 999)}-{rng.randrange(10, 99)}-{rng.randrange(1000, 9999)}",
            "address": f"{rng.randrange(1, 9999)} {rng.choice(_WORDS).title()} Street, Springfield",
            "phone": f"+1-555-{rng.randrange(100, 999)}-{rng.randrange(1000, 9999)}",
            "company": f"{rng.choice(_COMPANIES)} {rng.randrange(1, 500)} Ltd",
            "job": rng.choice(_WORDS) + " engineer",
            "score": round(rng.random(), 4),
            "active": rng.random() < 0.8,
            "created": f"2026-0{rng.randrange(1, 9)}-1{rng.randrange(0, 9)}",
            "notes": " ".join(rng.choice(_WORDS) for _ in range(12)),
        })
    data = orjson.dumps(records)
    path.write_bytes(data)
    return len(data)

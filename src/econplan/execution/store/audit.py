"""The audit log as a hash chain: every entry carries the hash of the one before it, and its
own hash covers all of its fields, so an entry edited or deleted in the database is found by
walking the chain (``verify_chain``).

The chain cannot tell a deletion of its *last* entries from a shorter history: the head hash
that ``econplan store audit`` prints can be written down elsewhere (a signed minute, a second
system) and given back to ``--verify --head`` to close that gap.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64
"""The ``previous`` of the first entry."""

FIELDS = ("id", "at", "user", "action", "object", "before", "after", "detail", "previous")
"""What an entry's hash covers (all but the hash itself)."""


def canonical_json(value: Any) -> str:
    """One text for one value, on every machine and database: sorted keys, no spaces, ASCII."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def object_hash(value: Mapping[str, Any]) -> str:
    """SHA-256 of an object's canonical JSON: the before and after of an audit entry."""
    return hashlib.sha256(canonical_json(dict(value)).encode()).hexdigest()


def entry_hash(entry: Mapping[str, Any]) -> str:
    body = {name: entry[name] for name in FIELDS}
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


@dataclass(frozen=True)
class ChainCheck:
    """What walking the chain found: ``problems`` empty when every entry is as written."""

    entries: int
    head: str
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_chain(entries: Iterable[Mapping[str, Any]], head: str | None = None) -> ChainCheck:
    """Walk the entries in id order: ids must run 1, 2, 3, ... (a gap is a deletion), each
    ``previous`` must be the hash of the entry before, and each ``hash`` its own fields' hash
    (a difference is an edit). With ``head``, the last entry's hash must be it."""
    problems: list[str] = []
    previous = GENESIS
    expected_id = 1
    count = 0
    for entry in entries:
        count += 1
        number = entry["id"]
        if number != expected_id:
            missing = (
                f"entry {expected_id}"
                if number == expected_id + 1
                else f"entries {expected_id}-{number - 1}"
            )
            problems.append(f"audit {missing} deleted (entry {number} follows {expected_id - 1})")
        elif entry["previous"] != previous:
            problems.append(
                f"audit entry {number} does not follow entry {number - 1}: the chain was "
                "edited or an entry replaced"
            )
        if entry_hash(entry) != entry["hash"]:
            problems.append(
                f"audit entry {number} ({entry['action']} {entry['object']} by "
                f"{entry['user']}) was changed after it was written: its hash differs"
            )
        previous = entry["hash"]
        expected_id = number + 1
    if head is not None and previous != head:
        problems.append(
            f"the chain ends at {previous[:12]}, not at the head {head[:12]} you gave: entries "
            "after it were deleted, or the head is of another store"
        )
    return ChainCheck(count, previous, problems)

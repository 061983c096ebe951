"""Parsing one inbound text frame without letting its shape hurt the process.

`json.loads` recurses once per nesting level: `'[' * 60000` fits in a 64 KiB frame and
raises RecursionError (not ValueError) deep inside the parser. Protocol frames nest two
levels (`{"since": {...}}`), so anything nested deeper than MAX_DEPTH is refused before
it is parsed, and RecursionError is caught as well in case the interpreter's limit is
lower than expected.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from stockgate.realtime.frames import ErrorCode

# Deepest nesting of arrays/objects accepted in a client frame.
MAX_DEPTH = 8

# A JSON string (escapes included), so brackets inside strings are not counted.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_BRACKET = re.compile(r"[\[\]{}]")


@dataclass(frozen=True)
class Refusal:
    code: ErrorCode
    message: str


def too_deep(text: str, limit: int = MAX_DEPTH) -> bool:
    """True when `text` opens more than `limit` arrays/objects inside one another."""
    if text.count("[") + text.count("{") <= limit:
        return False  # cannot nest deeper than it opens: the common case costs two scans
    depth = 0
    for match in _BRACKET.finditer(_STRING.sub("", text)):
        if match.group() in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1  # unbalanced input is json.loads' to refuse
    return False


def parse_frame(text: str) -> dict[str, Any] | Refusal:
    """The frame as a JSON object, or why it is refused (an `error` frame's code and message)."""
    if too_deep(text):
        return Refusal("bad_json", f"frame nests arrays/objects deeper than {MAX_DEPTH} levels")
    try:
        frame = json.loads(text)
    except RecursionError:
        return Refusal("bad_json", f"frame nests arrays/objects deeper than {MAX_DEPTH} levels")
    except ValueError:
        return Refusal("bad_json", "frame is not valid JSON")
    if not isinstance(frame, dict):
        return Refusal("bad_frame", "frame must be a JSON object")
    return frame

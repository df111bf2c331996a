"""Sizes and durations as compose files write them: "512m", "0.5GB", 1073741824; "1m30s", "10s", 30.

Memory converts to MiB and durations to whole seconds, the units of ECS's container definitions.
"""

from __future__ import annotations

import re

from emulator.compose.files import ComposeError

_MIB = 1024 * 1024
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?\s*$", re.IGNORECASE)
_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def size_in_bytes(value, what: str) -> int:
    """docker's RAMInBytes: bytes, or a number with a k/m/g/t/p unit (powers of 1024)."""
    if isinstance(value, bool):
        raise ComposeError(f"{what}: {value!r} is not a size")
    if isinstance(value, (int, float)):
        return int(value)
    match = _SIZE.match(str(value))
    if match is None:
        raise ComposeError(f"{what}: {value!r} is not a size such as 512m or 1g")
    number, unit = float(match.group(1)), match.group(2).lower()
    return int(number * 1024 ** _POWERS[unit])


def size_in_mib(value, what: str) -> int:
    return size_in_bytes(value, what) // _MIB


def seconds(value, what: str) -> int:
    """A Go duration ("1m30s") or a plain integer of seconds, as whole seconds."""
    if isinstance(value, bool):
        raise ComposeError(f"{what}: {value!r} is not a duration")
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ComposeError(f"Could not parse {what} {text!r} either as an integer or a "
                           "duration (ex: 1m30s)")
    return int(sum(float(number) * _SECONDS[unit] for number, unit in parts))

"""A request checked against its shape by one function made per shape, for the common case: a
request that fits. Validator (validate.py) walks the shape's dicts at every value, building each
member's path for an error that a fitting request never has; here that walk is done once per
shape, into closures that only test. Whatever they cannot vouch for (a value that does not fit,
a timestamp, a blob or a map to convert) raises Unsure, and the request goes through Validator,
which then finds and words the error exactly as before: this never answers an error itself.
"""

from __future__ import annotations

import math
import threading

from api_shapes import validate


class Unsure(Exception):
    """This value is left to the full check (validate.Validator)."""


class FastChecks:
    """Per shape name, a function value -> the checked request, as Validator.validate returns
    it for a request that fits (unknown members left out, nulls dropped, numbers of a double
    shape as floats); raises Unsure otherwise."""

    def __init__(self, shapes: dict, *, check_patterns: bool):
        self._shapes = shapes
        self._check_patterns = check_patterns
        self._made: dict[str, object] = {}  # whole functions only: read without the lock
        # Functions being made, the shapes that contain themselves as stand-ins: seen only by
        # the thread that makes them (under the lock), and moved to _made once all are whole.
        # Another thread that saw a stand-in would call it before its function was there.
        self._making: dict[str, object] = {}
        self._lock = threading.RLock()  # reentrant: making a shape makes its members' shapes

    def of(self, shape_name: str):
        made = self._made.get(shape_name)
        if made is not None:
            return made
        with self._lock:
            made = self._made.get(shape_name) or self._making.get(shape_name)
            if made is not None:
                return made
            first = not self._making
            whole = self._made
            # A shape that contains itself (through a member or a list) finds its own function
            # through this, once it is made and moved to _made.
            self._making[shape_name] = lambda value: whole[shape_name](value)
            try:
                made = self._making[shape_name] = self._make(shape_name)
            except BaseException:
                if first:  # no stand-in stays: the next request tries again, and fails the same
                    self._making.clear()
                raise
            if first:
                self._made.update(self._making)
                self._making.clear()
            return made

    def _make(self, shape_name: str):
        shape = self._shapes[shape_name]
        maker = getattr(self, f"_{shape['type']}", None)
        return _unsure if maker is None else maker(shape)

    def _structure(self, shape: dict):
        members = {name: self.of(member["shape"])
                   for name, member in shape.get("members", {}).items()}
        required = tuple(shape.get("required", ()))
        union = bool(shape.get("union"))

        def check(value):
            if not isinstance(value, dict):
                raise Unsure
            for name in required:
                if value.get(name) is None:
                    raise Unsure
            result = {}
            for key, item in value.items():
                member = members.get(key)
                if member is not None and item is not None:
                    result[key] = member(item)
            if union and len(result) > 1:
                raise Unsure
            return result

        return check

    def _list(self, shape: dict):
        member = self.of(shape["member"]["shape"])
        least, most = _bounds(shape)

        def check(value):
            if not isinstance(value, list) or not least <= len(value) <= most:
                raise Unsure
            return [member(item) for item in value]

        return check

    def _string(self, shape: dict):
        least, most = _bounds(shape)
        enum = shape.get("enum")
        enum = frozenset(enum) if enum is not None else None
        pattern = None
        if "pattern" in shape and self._check_patterns:
            pattern = validate._compiled(shape["pattern"])

        def check(value):
            if (not isinstance(value, str) or not least <= len(value) <= most
                    or (enum is not None and value not in enum)
                    or (pattern is not None and pattern.fullmatch(value) is None)):
                raise Unsure
            return value

        return check

    def _boolean(self, shape: dict):
        def check(value):
            if not isinstance(value, bool):
                raise Unsure
            return value

        return check

    def _integer(self, shape: dict):
        least = max(shape.get("min", -(2**63)), -(2**63))
        most = min(shape.get("max", 2**63 - 1), 2**63 - 1)

        def check(value):
            if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= most:
                raise Unsure
            return value

        return check

    _long = _integer

    def _double(self, shape: dict):
        def check(value):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise Unsure
            if isinstance(value, float) and not math.isfinite(value):
                raise Unsure
            return float(value)

        return check

    _float = _double


def _bounds(shape: dict) -> tuple[float, float]:
    return shape.get("min", 0), shape.get("max", math.inf)


def _unsure(value):
    raise Unsure

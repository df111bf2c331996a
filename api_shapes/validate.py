"""Validation of decoded JSON against a botocore shape.

Two uses: requests (unknown members ignored, timestamps and blobs converted to Python values) and,
in tests and strict mode, responses (unknown members are an error, values stay as on the wire).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import math
import re
import threading


class ShapeError(ValueError):
    """A value that does not fit its shape.

    kind is "type" (the JSON has the wrong type: AWS answers SerializationException), "missing"
    (a required member is absent), "constraint" (length, range, enum or pattern) or "unknown" (a
    member the shape does not have; only raised when checking responses).
    """

    def __init__(self, kind: str, path: str, message: str):
        super().__init__(f"{path or 'request'}: {message}" if path else message)
        self.kind = kind
        self.path = path
        self.detail = message


def _join(path: str, member: str) -> str:
    return f"{path}.{member}" if path else member


class Validator:
    def __init__(self, shapes: dict, *, reject_unknown: bool, check_patterns: bool = False):
        self._shapes = shapes
        self._reject_unknown = reject_unknown
        # Requests' strings are held to their shape's `pattern` (AWS refuses a mismatch as it
        # refuses a length); responses are not: the output check is about shapes, not values.
        self._check_patterns = check_patterns
        # The first constraint a request breaks, per thread (requests are parsed in parallel):
        # raised once the whole request is read, so that a wrong type anywhere wins, as on AWS,
        # which deserializes a request (SerializationException) before it validates its values.
        self._broken = threading.local()
        # The check of each shape type, looked up by name once rather than at every value.
        self._checkers = {name[len("_check_"):]: getattr(self, name) for name in dir(self)
                          if name.startswith("_check_")}

    def validate(self, shape_name: str, value: object, path: str = "", wire_output: bool = False):
        self._wire_output = wire_output
        self._broken.first = None
        result = self._check(shape_name, value, path)
        if self._broken.first is not None:
            raise self._broken.first
        return result

    def _checked(self, shape_name: str, value: object, path: str):
        """A member's value checked; a constraint it breaks is noted, not raised (see
        _broken), and the value kept as it is."""
        try:
            return self._check(shape_name, value, path)
        except ShapeError as error:
            self._note(error)
            return value

    def _note(self, error: ShapeError) -> None:
        """Note a broken constraint; raise any other error at once."""
        if error.kind != "constraint":
            raise error
        if self._broken.first is None:
            self._broken.first = error

    def _check(self, shape_name: str, value: object, path: str):
        shape = self._shapes[shape_name]
        return self._checkers[shape["type"]](shape, value, path)

    # -- containers -----------------------------------------------------------------------------

    def _check_structure(self, shape: dict, value: object, path: str):
        if not isinstance(value, dict):
            raise ShapeError("type", path, f"expected an object, got {_json_type(value)}")
        members = shape.get("members", {})
        for required in shape.get("required", ()):
            if value.get(required) is None:
                raise ShapeError("missing", _join(path, required), "a required member is missing")
        result = {}
        for key, item in value.items():
            member = members.get(key)
            if member is None:
                if self._reject_unknown:
                    raise ShapeError("unknown", _join(path, key), "the shape has no such member")
                continue
            if item is None:
                continue
            try:  # inline, not _checked: a call per member is a tenth of a request's check
                result[key] = self._check(member["shape"], item, _join(path, key))
            except ShapeError as error:
                self._note(error)
                result[key] = item
        if shape.get("union") and len(result) > 1:
            raise ShapeError("constraint", path, "only one member of a union may be set")
        return result

    def _check_list(self, shape: dict, value: object, path: str):
        if not isinstance(value, list):
            raise ShapeError("type", path, f"expected a list, got {_json_type(value)}")
        if not (self._wire_output and not value):
            # An empty list in a response is fine whatever the shape's min: AWS answers
            # ListImages on an empty repository with "imageIds": [] (ImageIdentifierList, min 1).
            self._length(shape, len(value), path, "items")
        member_shape = shape["member"]["shape"]
        result = []
        for i, item in enumerate(value):
            try:
                result.append(self._check(member_shape, item, f"{path}[{i}]"))
            except ShapeError as error:
                self._note(error)
                result.append(item)
        return result

    def _check_map(self, shape: dict, value: object, path: str):
        if not isinstance(value, dict):
            raise ShapeError("type", path, f"expected an object, got {_json_type(value)}")
        self._length(shape, len(value), path, "entries")
        key_shape, value_shape = shape["key"]["shape"], shape["value"]["shape"]
        result = {}
        for key, item in value.items():
            self._checked(key_shape, key, _join(path, key))
            result[key] = self._checked(value_shape, item, _join(path, key))
        return result

    def _length(self, shape: dict, length: int, path: str, unit: str) -> None:
        try:
            _check_length(shape, length, path, unit)
        except ShapeError as error:
            self._note(error)

    # -- scalars --------------------------------------------------------------------------------

    def _check_string(self, shape: dict, value: object, path: str):
        if not isinstance(value, str):
            raise ShapeError("type", path, f"expected a string, got {_json_type(value)}")
        _check_length(shape, len(value), path, "characters")
        enum = shape.get("enum")
        if enum is not None and value not in enum:
            raise ShapeError(
                "constraint", path, f"'{value}' is not one of {', '.join(enum)}"
            )
        if "pattern" in shape and self._check_patterns:  # most strings have none: one look
            pattern = shape["pattern"]
            compiled = _compiled(pattern)
            if compiled is not None and not _matches(compiled, value):
                raise ShapeError("constraint", path,
                                 f"must satisfy regular expression pattern: {pattern}")
        return value

    def _check_boolean(self, shape: dict, value: object, path: str):
        if not isinstance(value, bool):
            raise ShapeError("type", path, f"expected a boolean, got {_json_type(value)}")
        return value

    def _check_integer(self, shape: dict, value: object, path: str):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ShapeError("type", path, f"expected an integer, got {_json_type(value)}")
        if "min" in shape and value < shape["min"]:
            raise ShapeError("constraint", path, f"{value} is below the minimum {shape['min']}")
        if "max" in shape and value > shape["max"]:
            raise ShapeError("constraint", path, f"{value} is above the maximum {shape['max']}")
        if not -(2**63) <= value < 2**63:
            raise ShapeError("constraint", path, f"{value} is out of range")
        return value

    _check_long = _check_integer

    def _check_double(self, shape: dict, value: object, path: str):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ShapeError("type", path, f"expected a number, got {_json_type(value)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ShapeError("constraint", path, "the number is not finite")
        try:
            return float(value)
        except OverflowError:  # an integer of more than 308 digits: past any double
            raise ShapeError("constraint", path, "the number is out of range") from None

    _check_float = _check_double

    def _check_timestamp(self, shape: dict, value: object, path: str):
        if self._wire_output:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ShapeError("type", path, "expected epoch seconds")
            return value
        if isinstance(value, bool):
            raise ShapeError("type", path, "expected a timestamp")
        if isinstance(value, (int, float)):
            try:
                return dt.datetime.fromtimestamp(value, tz=dt.timezone.utc)
            except (OverflowError, OSError, ValueError):
                raise ShapeError("constraint", path, "the timestamp is out of range") from None
        if isinstance(value, str):
            try:
                parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise ShapeError("type", path, "expected a timestamp") from None
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)
        raise ShapeError("type", path, "expected a timestamp")

    def _check_blob(self, shape: dict, value: object, path: str):
        if not isinstance(value, str):
            raise ShapeError("type", path, "expected base64 text")
        if self._wire_output:
            return value
        try:
            data = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ShapeError("type", path, "expected base64 text") from None
        _check_length(shape, len(data), path, "bytes")
        return data


_PATTERNS: dict[str, object] = {}


def _compiled(pattern: str):
    """A model's pattern, compiled once, by RE2: matched in time linear in the value, where
    Python's re would backtrack (ECR's ScanningRepositoryFilterValue, a nested repeat, held
    this process and the GIL for minutes on a 33-character value that fails near its end).
    The models' patterns are Java's: matched against the whole value (Java's matches()), with
    ASCII classes (RE2's \\w, \\d, \\s are ASCII, as Java's). Not enforced here: a
    pattern RE2 cannot read (Java's nested or intersected classes would read differently too),
    and Java's \\p{L} classes (ECS's TagKey and TagValue), which the operations check
    themselves (ecs/tags.py)."""
    try:
        return _PATTERNS[pattern]
    except KeyError:
        pass
    compiled = None
    if "\\p{" not in pattern and "&&" not in pattern and not re.search(r"\[[^\]]*\[", pattern):
        import re2  # noqa: PLC0415 - only once a request carries a patterned string

        quiet = re2.Options()
        quiet.log_errors = False
        try:
            compiled = re2.compile(pattern, quiet)
        except re2.error:
            pass
    _PATTERNS[pattern] = compiled
    return compiled


def _matches(compiled, value: str) -> bool:
    """Whether `value` fits the pattern. A lone surrogate (a JSON escape such as \\ud800, or
    its raw bytes, which json.loads lets through) is a character to Java's regex, which `.` or
    a negated class matches and no named class does; RE2 reads UTF-8, which cannot hold one, so
    it is matched as U+FFFD, which stands where Java's would."""
    try:
        return compiled.fullmatch(value) is not None
    except UnicodeEncodeError:
        return compiled.fullmatch(lone_surrogates_replaced(value)) is not None


def lone_surrogates_replaced(text: str) -> str:
    """`text` with each lone surrogate (which UTF-8, and so RE2, cannot hold) as U+FFFD, as
    Go's encoding/json decodes one; a pair stays the character it makes."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _check_length(shape: dict, length: int, path: str, unit: str) -> None:
    if "min" in shape and length < shape["min"]:
        raise ShapeError("constraint", path, f"needs at least {shape['min']} {unit}")
    if "max" in shape and length > shape["max"]:
        raise ShapeError("constraint", path, f"allows at most {shape['max']} {unit}")


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__

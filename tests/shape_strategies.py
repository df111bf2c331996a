"""Hypothesis strategies for AWS JSON request bodies, derived from a botocore service model.

`valid_body(shapes, shape_name, words)` draws a decoded JSON value that fits the input shape
(required members always, a few optional ones, lengths and ranges and enums respected; patterns
are not, as the model's patterns are advisory). Strings are arbitrary text or one of `words`:
names of resources that exist, so that some requests get past "not found" into the handlers.

`broken_body(shapes, shape_name, words)` draws a valid body and then breaks it once, at one place,
in one named way, so a test can say what the answer must be.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass

from hypothesis import strategies as st

from api_shapes import ServiceShapes

# Past this depth a structure gets only its required members and a list only its minimum items:
# enough to reach every shape an operation names, without bodies of megabytes.
MAX_DEPTH = 4
MAX_OPTIONAL_MEMBERS = 3
MAX_ITEMS = 3
MAX_TEXT = 16

# Stands in for the deeply nested JSON that json.dumps cannot write; replaced in the text.
DEEP_MARKER = "\x00deep-nesting\x00"
VERY_DEEP = 100_000
SOMEWHAT_DEEP = 200
LONG_TEXT = 100_000

# Mutations after which the protocol layer must refuse the request, with this error code.
MUST_REFUSE = {
    "missing-required": "InvalidParameterException",
    "wrong-type": "SerializationException",
    "out-of-range": "InvalidParameterException",
    "unknown-enum": "InvalidParameterException",
    "very-deep": "SerializationException",
}


def valid_body(shapes: ServiceShapes, shape_name: str | None,
               words: tuple[str, ...] = ()) -> st.SearchStrategy:
    if shape_name is None:
        return st.just({})
    return _Drawer(shapes, words).value(shape_name, 0)


class _Drawer:
    def __init__(self, shapes: ServiceShapes, words: tuple[str, ...]):
        self.shapes = shapes
        self.words = words

    def value(self, shape_name: str, depth: int) -> st.SearchStrategy:
        return _value(self, shape_name, depth)

    def text(self, low: int, high: int) -> st.SearchStrategy:
        text = st.text(min_size=low, max_size=max(low, min(high, MAX_TEXT)))
        fitting = [word for word in self.words if low <= len(word) <= high]
        return st.one_of(st.sampled_from(fitting), text) if fitting else text


def _value(drawer: _Drawer, shape_name: str, depth: int) -> st.SearchStrategy:
    shapes = drawer.shapes
    shape = shapes.shapes[shape_name]
    kind = shape["type"]
    if kind == "structure":
        return _structure(drawer, shape, depth)
    if kind == "list":
        low = shape.get("min", 0)
        high = low if depth >= MAX_DEPTH else max(low, min(shape.get("max", MAX_ITEMS), MAX_ITEMS))
        return st.lists(drawer.value(shape["member"]["shape"], depth + 1),
                        min_size=low, max_size=high)
    if kind == "map":
        low = shape.get("min", 0)
        high = low if depth >= MAX_DEPTH else max(low, min(shape.get("max", MAX_ITEMS), MAX_ITEMS))
        return st.dictionaries(drawer.value(shape["key"]["shape"], depth + 1),
                               drawer.value(shape["value"]["shape"], depth + 1),
                               min_size=low, max_size=high)
    if kind == "string":
        if "enum" in shape:
            return st.sampled_from(shape["enum"])
        return drawer.text(shape.get("min", 0), shape.get("max", MAX_TEXT))
    if kind in ("integer", "long"):
        bits = 31 if kind == "integer" else 63
        return st.integers(shape.get("min", -(2**bits)), shape.get("max", 2**bits - 1))
    if kind in ("double", "float"):
        return st.floats(shape.get("min"), shape.get("max"), allow_nan=False,
                         allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "timestamp":
        return st.one_of(st.integers(0, 4_102_444_800),
                         st.floats(0, 4_102_444_800, allow_nan=False))
    if kind == "blob":
        return st.binary(max_size=MAX_TEXT).map(lambda data: base64.b64encode(data).decode())
    raise ValueError(f"no strategy for a {kind} shape ({shape_name})")


def _structure(drawer: _Drawer, shape: dict, depth: int) -> st.SearchStrategy:
    members = shape.get("members", {})
    required = list(shape.get("required", ()))
    optional = [name for name in members if name not in required]

    def member(name: str) -> st.SearchStrategy:
        return drawer.value(members[name]["shape"], depth + 1)

    if shape.get("union") and members:
        return st.one_of([st.fixed_dictionaries({name: member(name)}) for name in members])
    fixed = st.fixed_dictionaries({name: member(name) for name in required})
    if depth >= MAX_DEPTH or not optional:
        return fixed

    @st.composite
    def with_optional(draw_from):
        chosen = draw_from(st.lists(st.sampled_from(optional), unique=True,
                                    max_size=MAX_OPTIONAL_MEMBERS))
        return {**draw_from(fixed), **{name: draw_from(member(name)) for name in chosen}}

    return with_optional()


# -- breaking a valid body ------------------------------------------------------------------


@dataclass
class Place:
    """One value inside a body: how to reach it, and the shape it must fit."""

    path: tuple  # keys and indexes from the root
    shape_name: str


@dataclass
class Broken:
    body: object
    kind: str
    where: str

    @property
    def must_refuse_with(self) -> str | None:
        return MUST_REFUSE.get(self.kind)

    def to_json(self) -> bytes:
        text = json.dumps(self.body)
        if self.kind in ("very-deep", "somewhat-deep"):
            depth = VERY_DEEP if self.kind == "very-deep" else SOMEWHAT_DEEP
            text = text.replace(json.dumps(DEEP_MARKER), "[" * depth + "]" * depth)
        return text.encode()


def places(shapes: ServiceShapes, shape_name: str, value, path: tuple = ()) -> list[Place]:
    """Every value in `value` (the root first), with the shape it is to fit."""
    found = [Place(path, shape_name)]
    shape = shapes.shapes[shape_name]
    kind = shape["type"]
    if kind == "structure" and isinstance(value, dict):
        members = shape.get("members", {})
        for key, item in value.items():
            if key in members:
                found += places(shapes, members[key]["shape"], item, path + (key,))
    elif kind == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            found += places(shapes, shape["member"]["shape"], item, path + (index,))
    elif kind == "map" and isinstance(value, dict):
        for key, item in value.items():
            found += places(shapes, shape["value"]["shape"], item, path + (key,))
    return found


def broken_body(shapes: ServiceShapes, shape_name: str | None,
                words: tuple[str, ...] = ()) -> st.SearchStrategy:
    @st.composite
    def draw(draw_from):
        if shape_name is None:
            return Broken(draw_from(st.sampled_from([[], "text", 1, {"unexpected": DEEP_MARKER}])),
                          "no-input-shape", "")
        body = draw_from(valid_body(shapes, shape_name, words))
        place = draw_from(st.sampled_from(places(shapes, shape_name, body)))
        shape = shapes.shapes[place.shape_name]
        kinds = _mutations_for(shape, _get(body, place.path), is_root=not place.path)
        kind = draw_from(st.sampled_from(kinds))
        broken = _mutate(draw_from, shapes, shape, body, place.path, kind)
        return Broken(broken, kind, ".".join(map(str, place.path)))

    return draw()


def _mutations_for(shape: dict, value, *, is_root: bool) -> list[str]:
    kind = shape["type"]
    kinds = ["wrong-type", "very-deep"]
    if not is_root:
        kinds += ["null", "somewhat-deep"]
    if kind == "structure":
        if any(name in value for name in shape.get("required", ())):
            kinds.append("missing-required")
        kinds.append("unknown-member")
    if kind in ("integer", "long", "double", "float"):
        kinds.append("out-of-range")
    if kind == "string":
        kinds.append("unknown-enum" if "enum" in shape else "very-long-string")
        if ("max" in shape or shape.get("min", 0) > 0) and "enum" not in shape:
            kinds.append("out-of-range")
    if kind == "list" and "max" in shape and value:
        kinds.append("out-of-range")
    return kinds


def _mutate(draw_from, shapes, shape: dict, body, path: tuple, kind: str):
    value = _get(body, path)
    if kind == "missing-required":
        present = [name for name in shape["required"] if name in value]
        gone = draw_from(st.sampled_from(present))
        return _put(body, path, {k: v for k, v in value.items() if k != gone})
    if kind == "unknown-member":
        return _put(body, path, {**value, "memberNoModelHas": {"x": [1, "y"]}})
    if kind == "wrong-type":
        return _put(body, path, draw_from(st.sampled_from(_wrong_types(shape["type"]))))
    if kind == "null":
        return _put(body, path, None)
    if kind in ("very-deep", "somewhat-deep"):
        return _put(body, path, DEEP_MARKER)
    if kind == "unknown-enum":
        return _put(body, path, "NOT_A_" + shape["enum"][0] + "_VALUE")
    if kind == "very-long-string":
        return _put(body, path, "x" * LONG_TEXT)
    if kind == "out-of-range":
        return _put(body, path, _out_of_range(draw_from, shape, value))
    raise ValueError(kind)


def _wrong_types(kind: str) -> list:
    every = {"string": "text", "number": 7, "float": 1.5, "boolean": True, "list": [1],
             "object": {"a": 1}}
    fitting = {
        "structure": {"object"},
        "map": {"object"},
        "list": {"list"},
        "string": {"string"},
        "boolean": {"boolean"},
        "integer": {"number"},
        "long": {"number"},
        "double": {"number", "float"},
        "float": {"number", "float"},
        # Timestamps are epoch seconds or ISO 8601 text; text that is no date is a wrong type.
        "timestamp": {"number", "float"},
        "blob": {"string"},  # base64 text ("text" is base64 of three bytes)
    }[kind]
    return [value for name, value in every.items() if name not in fitting]


def _out_of_range(draw_from, shape: dict, value):
    kind = shape["type"]
    if kind == "string":
        choices = ["x" * (shape["max"] + 1)] if "max" in shape else []
        choices += [""] if shape.get("min", 0) > 0 else []
        return draw_from(st.sampled_from(choices))
    if kind == "list":
        return value + [value[0]] * (shape["max"] + 1 - len(value))
    choices = []
    if "min" in shape:
        choices.append(shape["min"] - 1)
    if "max" in shape:
        choices.append(shape["max"] + 1)
    if kind in ("integer", "long"):
        choices += [2**63, -(2**63) - 1, 2**100]
    else:
        choices += [math.inf] if not choices else []
    return draw_from(st.sampled_from(choices))


def _get(value, path: tuple):
    for key in path:
        value = value[key]
    return value


def _put(value, path: tuple, new):
    """A copy of `value` with the value at `path` replaced (the body itself stays untouched)."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, list):
        copy = list(value)
    else:
        copy = dict(value)
    copy[head] = _put(value[head], rest, new)
    return copy

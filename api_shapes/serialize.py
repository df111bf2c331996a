"""Turn a handler's result into the JSON an AWS SDK expects, guided by the output shape.

Timestamps become epoch seconds, blobs base64 and absent (None) members are dropped. Subtrees
without a timestamp or blob anywhere below them are copied without a walk: most of a response.

Each shape's conversion is built once, on first use, as a function that knows which members
need converting; a response then costs one call per structure, list or map that needs a walk.

A structure's value may come serialized and encoded already (Encoded: its JSON text, which the
JSON layer splices into the body as it is; emulator/aws/json_members.py): it is passed on.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Callable

Convert = Callable[[object], object]


class Encoded:
    """A structure member's value serialized by its shape and encoded as JSON text already:
    passed through the serializer as it is, for the encoder to splice."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text


class OutputSerializer:
    def __init__(self, shapes: dict):
        self._shapes = shapes
        self._needs_walk: dict[str, bool] = {}
        self._converters: dict[str, Convert] = {}

    def serialize(self, shape_name: str, value):
        if value is None:
            return None
        return self._converter(shape_name)(value)

    def _converter(self, shape_name: str) -> Convert:
        converter = self._converters.get(shape_name)
        if converter is None:
            # Shapes can be cyclic: while this one is built, its own name forwards to it.
            built: list[Convert] = []
            self._converters[shape_name] = lambda value: built[0](value)
            built.append(self._build(shape_name))
            converter = self._converters[shape_name] = built[0]
        return converter

    def _member(self, shape_name: str) -> Convert | None:
        """The conversion of a member's value, or None where it is copied as it is."""
        return self._converter(shape_name) if self._walk(shape_name) else None

    def _build(self, shape_name: str) -> Convert:
        shape = self._shapes[shape_name]
        kind = shape["type"]
        if kind == "structure":
            return _structure({
                key: self._member(member["shape"])
                for key, member in shape.get("members", {}).items()
            })
        if kind == "list":
            return _list(self._member(shape["member"]["shape"]))
        if kind == "map":
            return _map(self._member(shape["value"]["shape"]))
        if kind == "timestamp":
            return _timestamp
        if kind == "blob":
            return _blob
        return _same

    def _walk(self, shape_name: str) -> bool:
        """Whether values of this shape may hold something that needs converting (or None)."""
        cached = self._needs_walk.get(shape_name)
        if cached is not None:
            return cached
        self._needs_walk[shape_name] = True  # assume yes while recursing (shapes can be cyclic)
        shape = self._shapes[shape_name]
        kind = shape["type"]
        if kind == "structure":
            # Structures are always walked: they may carry None members to drop.
            result = True
        elif kind == "list":
            result = self._walk(shape["member"]["shape"])
        elif kind == "map":
            result = self._walk(shape["value"]["shape"])
        else:
            result = kind in ("timestamp", "blob")
        self._needs_walk[shape_name] = result
        return result


def _structure(members: dict[str, Convert | None]) -> Convert:
    get = members.get

    def convert(value):
        if value.__class__ is Encoded:
            return value
        out = {}
        for key, item in value.items():
            if item is None:
                continue
            member = get(key)  # None too for a key the shape lacks: copied as it is
            out[key] = item if member is None else member(item)
        return out

    return convert


def _list(member: Convert | None) -> Convert:
    if member is None:
        return _same
    return lambda value: [None if item is None else member(item) for item in value]


def _map(member: Convert | None) -> Convert:
    if member is None:
        return _same
    return lambda value: {
        key: None if item is None else member(item) for key, item in value.items()
    }


def _timestamp(value):
    return value.timestamp() if isinstance(value, dt.datetime) else value


def _blob(value):
    return base64.b64encode(value).decode() if isinstance(value, bytes) else value


def _same(value):
    return value

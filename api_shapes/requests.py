"""Each operation's request as named values: a frozen dataclass made from botocore's input shape.

Its fields are the input shape's top-level members, named in snake_case (`snake_case` is the one
place that converts), None where the request leaves a member out (the validator drops JSON nulls,
so None never means "given"). Nested structures and lists stay as the validated wire values: a
handler picks what the domain needs out of them. The classes are made on first use of an
operation, so loading a model costs nothing more.
"""

from __future__ import annotations

import dataclasses
import datetime
import keyword
import re
import threading

_WORD_START = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_TYPES = {"string": str, "boolean": bool, "integer": int, "long": int, "double": float,
          "float": float, "list": list, "map": dict, "structure": dict, "blob": bytes,
          "timestamp": datetime.datetime}


def snake_case(member: str) -> str:
    """registryId -> registry_id, enableECSManagedTags -> enable_ecs_managed_tags."""
    name = _WORD_START.sub("_", member).lower()
    return name + "_" if keyword.iskeyword(name) else name


def given(request) -> dict:
    """The members `request` gives, by wire name: for messages that name them, and for settings
    kept as they came because a response echoes them."""
    return {member: getattr(request, field) for member, field in request.wire_names.items()
            if getattr(request, field) is not None}


class RequestTypes:
    def __init__(self, shapes: dict, input_shapes: dict[str, str | None]):
        self._shapes = shapes
        self._input_shapes = input_shapes  # operation -> its input shape's name
        self._types: dict[str, type] = {}
        self._lock = threading.Lock()

    def of(self, operation: str) -> type:
        """The request class of `operation` (made once)."""
        made = self._types.get(operation)
        if made is None:
            with self._lock:
                made = self._types.get(operation) or self._make(operation)
                self._types[operation] = made
        return made

    def build(self, operation: str, params: dict):
        """The request of a validated wire dict."""
        kind = self.of(operation)
        return kind(**{field: params.get(member) for member, field in kind.wire_names.items()})

    def _make(self, operation: str) -> type:
        shape_name = self._input_shapes[operation]
        members = self._shapes[shape_name]["members"] if shape_name else {}
        fields, wire_names = [], {}
        for member, ref in members.items():
            field = snake_case(member)
            if field in wire_names.values():
                raise ValueError(f"{operation}: two members are named {field}")
            wire_names[member] = field
            kind = _TYPES.get(self._shapes[ref["shape"]]["type"], object)
            fields.append((field, kind | None, dataclasses.field(default=None)))
        made = dataclasses.make_dataclass(f"{operation}Request", fields, frozen=True)
        made.wire_names = wire_names  # member -> field, for building and for messages
        made.__doc__ = f"{operation}'s input ({shape_name}), as named values."
        return made

"""Turn a handler's result into the JSON an AWS SDK expects, guided by the output shape.

Timestamps become epoch seconds, blobs base64 and absent (None) members are dropped. Subtrees
without a timestamp or blob anywhere below them are copied without a walk: most of a response.
"""

from __future__ import annotations

import base64
import datetime as dt


class OutputSerializer:
    def __init__(self, shapes: dict):
        self._shapes = shapes
        self._needs_walk: dict[str, bool] = {}

    def serialize(self, shape_name: str, value):
        if value is None:
            return None
        shape = self._shapes[shape_name]
        kind = shape["type"]
        if kind == "structure":
            members = shape.get("members", {})
            out = {}
            for key, item in value.items():
                if item is None:
                    continue
                member = members.get(key)
                if member is None or not self._walk(member["shape"]):
                    out[key] = item
                else:
                    out[key] = self.serialize(member["shape"], item)
            return out
        if kind == "list":
            member = shape["member"]["shape"]
            if not self._walk(member):
                return value
            return [self.serialize(member, item) for item in value]
        if kind == "map":
            member = shape["value"]["shape"]
            if not self._walk(member):
                return value
            return {key: self.serialize(member, item) for key, item in value.items()}
        if kind == "timestamp":
            return value.timestamp() if isinstance(value, dt.datetime) else value
        if kind == "blob":
            return base64.b64encode(value).decode() if isinstance(value, bytes) else value
        return value

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

"""JSON text of our services' answers, and the members a handler has had encoded before.

A poller asks for the same objects again and again (DescribeTasks of a burst's 20 tasks every
few milliseconds) while few of them change between two calls. Serializing a task by its shape
and encoding it as JSON cost about three quarters of such a call's server CPU, and an
unchanged wire dict serializes to the same text: MemberCache keeps each member's text with a
copy of the wire dict it came from, and gives the text again while a new wire dict equals that
copy. Equality, not a version the model bumps: every field a render reads is compared, so a
change made anywhere (an engine thread setting a container's status, a list grown in place)
shows at once and no writer has to remember a counter. What a hit costs is the render and the
comparison. Python's equality is a little looser than the text's (True == 1 == 1.0, a map's
members in another order): no render of ours puts one of those where the other stood.

An Encoded member may stand as a top-level member of a body or as an item of a top-level list
(DescribeTasks' `tasks`); encode() splices its text there. Anywhere deeper the standard encoder
meets it and fails, a fault of ours that a test in strict mode shows (a 500).
"""

from __future__ import annotations

import json
from json.encoder import c_make_encoder, encode_basestring_ascii

from api_shapes.serialize import Encoded

# One encoder for every answer: json.dumps() builds a new one per call when given separators,
# and JSONEncoder.encode() still makes its C encoder anew on each call (through two Python
# calls): that C encoder is made once here instead, without the check for circular references
# (its table of objects being encoded would be shared by every thread; a cycle, which no answer
# of ours has, fails with RecursionError instead of ValueError).
_PLAIN = json.JSONEncoder(separators=(",", ":"))
if c_make_encoder is not None:
    _chunks = c_make_encoder(None, _PLAIN.default, encode_basestring_ascii, None, ":", ",",
                             False, False, True)

    def encode_plain(value) -> str:
        """`value` as json.dumps(value, separators=(",", ":")) gives it."""
        return "".join(_chunks(value, 0))
else:  # an interpreter without json's C speedups
    encode_plain = _PLAIN.encode

# Members kept per service: a poll of 100 tasks ten times over fits, and memory stays bounded
# (a few KB an entry, the text and the copy; tens of KB for a task with many containers, tags
# and overrides) whatever the callers ask for: handlers' keys hold nothing a caller sizes.
LIMIT = 1024


def encode(body: dict, spliced: bool = False) -> str:
    """`body` as JSON text, as encode_plain gives it; with `spliced`, Encoded members' texts
    where they stand (see the module's docstring)."""
    if not spliced:
        return encode_plain(body)
    parts = []
    for key, value in body.items():
        if value.__class__ is Encoded:
            text = value.text
        elif value.__class__ is list:
            text = "[" + ",".join(item.text if item.__class__ is Encoded else encode_plain(item)
                                  for item in value) + "]"
        else:
            text = encode_plain(value)
        parts.append(encode_plain(key) + ":" + text)
    return "{" + ",".join(parts) + "}"


class MemberCache:
    """Each member's last JSON text, by a key its handler chooses, while its wire dict is the
    same. Used under the service state's lock (the handler's), like the state it mirrors."""

    def __init__(self, shapes, limit: int = LIMIT):
        self._shapes = shapes  # api_shapes.ServiceShapes: serialize_shape
        self._limit = limit
        self._entries: dict[object, tuple[object, Encoded]] = {}

    def encoded(self, shape: str, key, wire: dict) -> Encoded:
        """`wire` (a member of shape `shape`, as a render made it) as Encoded text: the text
        kept under `key` if it came from an equal wire dict, else made and kept."""
        entry = self._entries.get(key)
        if entry is not None and entry[0] == wire:
            return entry[1]  # (not moved to the end: a hit costs no dict writes)
        made = Encoded(encode_plain(self._shapes.serialize_shape(shape, wire)))
        entries = self._entries
        entries.pop(key, None)  # to the end: what goes first is what was least lately made
        if len(entries) >= self._limit:
            del entries[next(iter(entries))]
        entries[key] = (_copy(wire), made)
        return made


def _copy(value):
    """A copy of a wire value that no later change to live state reaches: a render shares
    lists and maps with the model (a task's attachments, a container's bindings). What else
    it holds (strings, numbers, datetimes, enums' names) does not change in place."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_copy(item) for item in value)
    return value

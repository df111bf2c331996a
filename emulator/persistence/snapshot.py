"""Snapshot files: state pickled whole, machinery left out, written atomically and fsynced.

State is pickled as it is (dataclasses, dicts, moto's models), so a field another engineer adds
to a model is persisted with no code here. What is machinery, not state, never goes into a file:
objects the caller names (the live EcsState, the registry, moto's backends of other services)
are written as references and given back as the live objects of the new process; locks,
conditions and events become fresh ones; a thread is refused loudly.

A file is `MAGIC`, a format version line, then the pickle. It is written to a temporary file in
the same directory, fsynced, renamed over the old one and the directory fsynced: a reader sees
the old snapshot or the new one, never half of one, whenever the process is killed.
"""

from __future__ import annotations

import collections
import dataclasses
import io
import os
import pickle
import threading
from pathlib import Path
from typing import Callable

MAGIC = b"ecs-emulator-state\n"
FORMAT_VERSION = 1

_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))
# Most of what a snapshot holds; persistent_id is called for every object, so these skip it fast.
_PLAIN = frozenset({str, int, float, bool, type(None), bytes, dict, list, tuple, set})


class SnapshotError(Exception):
    """A snapshot cannot be read (another format, a class that no longer exists)."""


class LostFactory(dict):
    """A defaultdict whose default factory was a lambda (which pickle cannot name): its items.
    The restorer puts them back into the live object's own defaultdict (see moto_parts)."""


def _rebuild_lost_factory(items: dict) -> LostFactory:
    return LostFactory(items)


def _new_defaultdict(cls, factory):
    """A defaultdict subclass made without its __init__ (whose arguments pickle cannot know);
    its attributes and items follow as pickle's state and items."""
    made = cls.__new__(cls)
    collections.defaultdict.__init__(made, factory)
    return made


class _Pickler(pickle.Pickler):
    def __init__(self, file, references: Callable[[object], object | None]):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._references = references

    def persistent_id(self, obj):
        if type(obj) in _PLAIN:
            return None
        if isinstance(obj, _LOCK_TYPES):
            return ("lock", isinstance(obj, type(threading.RLock())))
        if isinstance(obj, threading.Condition):
            return ("condition",)
        if isinstance(obj, threading.Event):
            return ("event",)
        if isinstance(obj, threading.Thread):
            raise pickle.PicklingError(f"a thread is machinery, not state: {obj!r}")
        return self._references(obj)

    def reducer_override(self, obj):
        if not isinstance(obj, collections.defaultdict):
            return NotImplemented
        if _unnamed(obj.default_factory):
            return _rebuild_lost_factory, (dict(obj),)
        if type(obj) is not collections.defaultdict:
            return (_new_defaultdict, (type(obj), obj.default_factory), vars(obj) or None, None,
                    iter(obj.items()))
        return NotImplemented


def _unnamed(factory) -> bool:
    qualname = getattr(factory, "__qualname__", "")
    return "<lambda>" in qualname or "<locals>" in qualname


def _with_new_fields(self, state) -> None:
    """Pickle's state of a dataclass written before a field was added: the new fields get their
    defaults, so a snapshot of an older build reads as it would have been made by this one. A
    class's `restored_defaults` names a field whose value for such a snapshot is not its default
    (what the API showed for it, where the default stands for "not given")."""
    values = state[1] if isinstance(state, tuple) else state
    if isinstance(state, tuple) and state[0]:
        values = {**state[0], **(values or {})}
    for name, value in (values or {}).items():
        object.__setattr__(self, name, value)
    restored = getattr(type(self), "restored_defaults", {})
    for spec in dataclasses.fields(self):
        if spec.name in restored and spec.name not in vars(self):  # not the class's default
            object.__setattr__(self, spec.name, restored[spec.name])
        if hasattr(self, spec.name):
            continue
        if spec.default is not dataclasses.MISSING:
            object.__setattr__(self, spec.name, spec.default)
        elif spec.default_factory is not dataclasses.MISSING:
            object.__setattr__(self, spec.name, spec.default_factory())


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, resolve: Callable[[object], object]):
        super().__init__(file)
        self._resolve = resolve

    def find_class(self, module, name):
        found = super().find_class(module, name)
        # Our own dataclasses only: moto's classes and the standard library keep pickle's way.
        if (module.startswith("emulator.") and dataclasses.is_dataclass(found)
                and isinstance(found, type) and "__setstate__" not in vars(found)):
            found.__setstate__ = _with_new_fields
        return found

    def persistent_load(self, pid):
        kind = pid[0]
        if kind == "lock":
            return threading.RLock() if pid[1] else threading.Lock()
        if kind == "condition":
            return threading.Condition(threading.RLock())
        if kind == "event":
            return threading.Event()
        return self._resolve(pid)


def dumps(value, references: Callable[[object], object | None] = lambda _: None) -> bytes:
    """`value` pickled; `references(obj)` names live objects to leave out (None: pickle it)."""
    buffer = io.BytesIO()
    buffer.write(MAGIC + f"{FORMAT_VERSION}\n".encode())
    _Pickler(buffer, references).dump(value)
    return buffer.getvalue()


def loads(data: bytes, resolve: Callable[[object], object] = lambda pid: None):
    """The value `dumps` wrote; `resolve(reference)` gives the live object a reference names."""
    if not data.startswith(MAGIC):
        raise SnapshotError("not a snapshot of this emulator")
    version, _, body = data[len(MAGIC):].partition(b"\n")
    if version != str(FORMAT_VERSION).encode():
        raise SnapshotError(f"snapshot format {version.decode(errors='replace')}, "
                            f"this emulator reads {FORMAT_VERSION}")
    try:
        return _Unpickler(io.BytesIO(body), resolve).load()
    except (AttributeError, ImportError, pickle.UnpicklingError, EOFError, TypeError) as error:
        raise SnapshotError(f"cannot read the snapshot: {error}") from None


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data`: temp file, fsync, rename, fsync of the directory."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(temporary, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)

"""Imports cheroot without importlib.metadata, which it loads only to read its own version.

cheroot's __init__ is `__version__ = importlib.metadata.version("cheroot")`. importlib.metadata
brings email, zipfile, csv and some fifty other modules with it: about a tenth of the emulator's
start-up, for a string the server never sends (we name ourselves in the Server header). While
cheroot's __init__ runs, and only when nothing has imported importlib.metadata yet, it finds a
stand-in that reads the version from the name of cheroot's dist-info directory, as the real one
would; the stand-in is gone again before anything else can see it.

Every module of ours that imports cheroot imports this module first.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import types


def _dist_info_version(name: str) -> str:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise LookupError(name)
    site = os.path.dirname(list(spec.submodule_search_locations)[0])
    prefix = f"{name}-"
    for entry in os.listdir(site):
        if entry.startswith(prefix) and entry.endswith(".dist-info"):
            return entry[len(prefix):-len(".dist-info")]
    raise LookupError(name)  # cheroot then says "unknown", as it does for any failure


def _import() -> None:
    if "cheroot" in sys.modules or "importlib.metadata" in sys.modules:
        return
    stand_in = types.ModuleType("importlib.metadata")
    stand_in.version = _dist_info_version
    sys.modules["importlib.metadata"] = stand_in
    try:
        import cheroot  # noqa: F401
    finally:
        if sys.modules.get("importlib.metadata") is stand_in:
            del sys.modules["importlib.metadata"]
        if getattr(importlib, "metadata", None) is stand_in:
            del importlib.metadata


_import()

"""Imports cheroot without three modules it loads for little: importlib.metadata, only to read
its own version; ssl, only to read OpenSSL's; jaraco.functools, for one small decorator.

cheroot's __init__ is `__version__ = importlib.metadata.version("cheroot")`. importlib.metadata
brings email, zipfile, csv and some fifty other modules with it: about a tenth of the emulator's
start-up, for a string the server never sends (we name ourselves in the Server header). While
cheroot's __init__ runs, and only when nothing has imported importlib.metadata yet, it finds a
stand-in that reads the version from the name of cheroot's dist-info directory, as the real one
would; the stand-in is gone again before anything else can see it.

cheroot._compat imports ssl (OpenSSL's libraries and a dozen enums: about 2 ms of the start-up)
only to set IS_ABOVE_OPENSSL10 and IS_ABOVE_OPENSSL31, which only cheroot's own tests read; an
ImportError leaves them None. Our servers use no TLS (no ssl_adapter). So while _compat runs, and
only when nothing has imported ssl yet, `import ssl` fails; the next import of ssl (the Docker
SDK's, after the first answer) loads it as usual.

Every module of ours that imports cheroot imports this module first.
"""

from __future__ import annotations

import functools
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


def _pass_none(func):
    """jaraco.functools.pass_none (jaraco.functools 4): `func`, not called when its first
    argument is None (it then returns None)."""

    @functools.wraps(func)
    def wrapper(param, /, *args, **kwargs):
        if param is not None:
            return func(param, *args, **kwargs)
        return None

    return wrapper


def _import() -> None:
    if "cheroot" in sys.modules:
        return
    stand_ins = {}
    if "importlib.metadata" not in sys.modules:
        stand_in = types.ModuleType("importlib.metadata")
        stand_in.version = _dist_info_version
        stand_ins["importlib.metadata"] = stand_in
    if "ssl" not in sys.modules:
        stand_ins["ssl"] = None  # (None in sys.modules: the import raises ImportError)
    if "jaraco.functools" not in sys.modules:
        stand_in = types.ModuleType("jaraco.functools")
        stand_in.pass_none = _pass_none
        stand_ins["jaraco.functools"] = stand_in
    sys.modules.update(stand_ins)
    try:
        import cheroot  # noqa: F401
        import cheroot._compat  # noqa: F401
        import cheroot.workers.threadpool  # noqa: F401
    finally:
        for name, stand_in in stand_ins.items():
            if name in sys.modules and sys.modules[name] is stand_in:
                del sys.modules[name]
        if "importlib.metadata" in stand_ins and getattr(importlib, "metadata", None) is \
                stand_ins["importlib.metadata"]:
            del importlib.metadata


_import()

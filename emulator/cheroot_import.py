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

These stand-ins fit the cheroot we know (pyproject asks for cheroot>=10.0, with no upper
bound). A later one that asks them for more must still start: a name a stand-in lacks is taken
from the real module, loaded then in its place (a module's __getattr__); and if cheroot's import
fails all the same (ImportError: ssl, say, needed after all), the stand-ins and what was loaded
of cheroot are dropped and cheroot is imported as usual, at the usual cost.

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


def _real_attribute(module_name: str, attribute: str):
    """A stand-in's `attribute` it does not have, from the real module, which takes the stand-in's
    place in sys.modules for good (the clean-up in _import() leaves what is not a stand-in)."""
    if attribute.startswith("__"):  # the import system's questions (__path__...): a module's own
        raise AttributeError(attribute)
    sys.modules.pop(module_name, None)
    return getattr(importlib.import_module(module_name), attribute)


def _stand_in(name: str, **attributes) -> types.ModuleType:
    module = types.ModuleType(name)
    vars(module).update(attributes, __getattr__=functools.partial(_real_attribute, name))
    return module


def _import_cheroot() -> None:
    import cheroot  # noqa: F401
    import cheroot._compat  # noqa: F401
    import cheroot.workers.threadpool  # noqa: F401


def _import() -> None:
    if "cheroot" in sys.modules:
        return
    stand_ins = {}
    if "importlib.metadata" not in sys.modules:
        stand_ins["importlib.metadata"] = _stand_in("importlib.metadata",
                                                    version=_dist_info_version)
    if "ssl" not in sys.modules:
        stand_ins["ssl"] = None  # (None in sys.modules: the import raises ImportError)
    if "jaraco.functools" not in sys.modules:
        stand_ins["jaraco.functools"] = _stand_in("jaraco.functools", pass_none=_pass_none)
    sys.modules.update(stand_ins)
    try:
        _import_cheroot()
    except ImportError:
        if not stand_ins:
            raise
        failed = True  # (a cheroot these stand-ins do not fit: imported as usual below)
    else:
        failed = False
    finally:
        for name, stand_in in stand_ins.items():
            if name in sys.modules and sys.modules[name] is stand_in:
                del sys.modules[name]
        if "importlib.metadata" in stand_ins and getattr(importlib, "metadata", None) is \
                stand_ins["importlib.metadata"]:
            del importlib.metadata
    if failed:
        for name in [name for name in sys.modules
                     if name == "cheroot" or name.startswith("cheroot.")]:
            del sys.modules[name]
        _import_cheroot()


_import()

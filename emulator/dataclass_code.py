"""The methods @dataclass writes, compiled once and kept between starts of the server.

@dataclass writes each class's __init__, __repr__, __eq__ (and __setattr__, __hash__... when
frozen) as source text and compiles it: some 330 small functions for the 70 dataclasses the
server builds at start-up, the same text every time, and 30% of the instructions the process ran
until its server was built (valgrind's callgrind: 744 million, 520 with the copy). While
`cached()` is in effect, dataclasses' `exec` takes the compiled code of a text it has seen from a
copy kept as the API models' are, by api_shapes/model_cache.py (which reads and writes it,
and removes copies no start has written for a month), and compiles only what is new.

The same text compiled by the same interpreter is the same code, so the copy needs no other
check of its content than the interpreter's version (marshal's format and the bytecode are the
interpreter's) and that it holds only code. Code taken from a file is code we run, so
model_cache reads the copy only if the user we run as alone could have written it (not when
`sudo -E` keeps another user's HOME, see there).

The copy is written again after a start that compiled something, with only what that start
used: texts of an older emulator do not pile up. Only a start that got as far as its server
says so (`codes.complete`): one that failed early (a port taken, a setting in error) used a few
texts and would leave the next start to compile all the others again. A copy that cannot be
read or written is passed over (the text is compiled, as without it).

Only `ecs-emulator serve` uses it (cli.py), for its own start-up: an emulator started inside a
user's process (the pytest plugin) leaves that process's dataclasses as they are. The stand-in
is dataclasses' module-level name `exec` (which the module looks up as a global in Python
3.10 to 3.14, before the builtin); it is removed again when the start-up is done.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import types

from api_shapes import model_cache

# Bumped whenever what is stored changes shape.
_FORMAT = 1
_NAME = "dataclass-code"  # its copies' names in model_cache's directory


class _Codes:
    """Text -> code for one start: what the copy held, and what this start used; `complete`
    once the start is far enough for what it used to be worth keeping."""

    def __init__(self, known: dict):
        self.known = known
        self.used: dict = {}
        self.compiled = 0
        self.complete = False

    def exec(self, text, *args, **kwargs):
        if not isinstance(text, str) or len(args) > 2 or kwargs:
            # Not the call dataclasses makes today (exec(text, globals, namespace)): the
            # builtin's, as without us.
            return exec(text, *args, **kwargs)
        code = self.used.get(text) or self.known.get(text)
        if code is None:
            # As exec(text) in dataclasses compiles it: no __future__ flags of ours inherited.
            code = compile(text, "<string>", "exec", dont_inherit=True)
            self.compiled += 1
        self.used[text] = code
        return exec(code, *args)


@contextlib.contextmanager
def cached():
    """Within it, dataclasses compile each method's text once across starts (module docstring).

    It gives the start's _Codes: the copy is written only if the start sets `complete`."""
    if "exec" in vars(dataclasses):  # another stand-in is there (a nested or foreign one)
        yield _Codes({})
        return
    key = _key()
    codes = _Codes(_only_code(model_cache.read(_NAME, key)))
    dataclasses.exec = codes.exec
    try:
        yield codes
    finally:
        if vars(dataclasses).get("exec") == codes.exec:
            del dataclasses.exec
    used = dict(codes.used)  # (taken whole: a thread still in our exec may yet add to it)
    if codes.complete and (codes.compiled or len(used) != len(codes.known)):
        model_cache.write(_NAME, key, used)


def _only_code(stored) -> dict:
    """The copy if it maps texts to code, as we write it; else nothing (marshal can hold other
    values, which exec would not take for code of ours)."""
    if isinstance(stored, dict) and all(
            isinstance(text, str) and type(code) is types.CodeType
            for text, code in stored.items()):
        return stored
    return {}


def _key() -> tuple:
    """What the copy must have been made with: this interpreter (its exact version: marshal's
    format and the bytecode are its own; and -O, which compile() follows) for this installation
    of the emulator. model_cache names the copy after both (one copy per interpreter and
    virtualenv: two interpreters of one checkout, 3.12.1 and 3.12.3, keep one each)."""
    return (_FORMAT, (sys.version, sys.flags.optimize),
            os.path.dirname(os.path.abspath(__file__)))


def write_copy() -> None:
    """Write the copy for the modules `serve` imports at start-up, in a fresh interpreter (the
    container image does this at build time, so that a container's first start reads it too;
    what it lacks, that start compiles and adds)."""
    with cached() as codes:
        import emulator.app  # noqa: F401
        import emulator.cli_commands.serve_logging  # noqa: F401
        import emulator.config  # noqa: F401
        import emulator.runtime.docker_runtime  # noqa: F401  (create_app makes the runtime)
        import emulator.server  # noqa: F401
        codes.complete = True

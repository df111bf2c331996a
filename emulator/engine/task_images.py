"""Whether a task's own ECS call may run an image that is not in the emulator's ECR.

Tasks run on the operator's Docker Engines, which hold the operator's local builds (the
emulator's own image among them) and pull with the operator's registry logins (docker-py reads
~/.docker/config.json and its credential helpers). A task that registered or launched a
definition naming such an image would copy out what only the operator may read. So a container's
call may name only images that a registry serves to anyone (access/host_access.py asks here);
the operator's calls from this host are not asked.

The check asks registries, which may never answer (dockerd waits ~30 s on one that drops
packets), on a thread of the listener that also serves every task's credentials. So a request
waits at most DEADLINE for it, at most AT_ONCE checks run at a time, one caller (a task) has at
most one check in flight, and each engine's answer about an image is kept KEEP seconds. A call
that would start a check past those limits is refused at once with Throttled (ECS's
ThrottlingException, which SDKs retry after a pause): a task that names silent registries again
and again holds one check, and leaves the other to other tasks. The resolution of a registry's
name (host_access.py: is it this host?) runs under the same limits (within_limits), for a
domain's name servers may never answer either; its answer is kept KEEP seconds too (kept), so
calls naming a well-known registry take no slot once it is known. The listeners containers reach keep AT_ONCE
threads more than they serve with (access/gate.py), so the requests waiting for checks never
take a thread that other tasks' metadata and credentials requests need.
"""

from __future__ import annotations

import threading
import time

DEADLINE = 5.0  # seconds a request waits for the whole check
KEEP = 60.0  # seconds an engine's answer about an image is reused
AT_ONCE = 2  # checks asking engines at the same time (access/gate.py keeps threads for them)


class Late(Exception):
    """Work under the checks' limits that was not done within the deadline."""


class Throttled(Exception):
    """A check that may not start now (too many in flight, or the caller's own): the call is
    refused at once, to be made again (the message says why)."""


class ImageChecks:
    """The check, with its deadline, its limit and its kept answers (app.py makes one)."""

    def __init__(self, engines, deadline: float = DEADLINE, keep: float = KEEP,
                 at_once: int = AT_ONCE, clock=time.monotonic):
        self.engines, self.deadline, self.keep, self.clock = engines, deadline, keep, clock
        self._slots = threading.BoundedSemaphore(at_once)
        self._kept: dict[tuple[str, str], tuple[float, str | None]] = {}
        self._guard = threading.Lock()
        self._asking: set = set()  # the callers with a check in flight
        self._names: dict[str, tuple[float, object]] = {}  # kept(): key -> (until, answer)

    def unserved_image(self, image, caller=None) -> str | None:
        """Why `image` is not one anyone may pull, else None: an engine (engines.py) holds a
        copy no registry served, or its registry does not serve it without credentials, or an
        engine could not say in time or is not answering (fails closed: the call may be made
        again). Raises Throttled when the check may not start now; `caller` (a task's ARN, or
        a container's address) may have one in flight."""
        if not isinstance(image, str) or not image or image != image.strip():
            return None  # left to RegisterTaskDefinition's validation
        asking = []
        for engine in list(self.engines.engines.values()):
            if not engine.health.answering():
                # Its copy (the operator's build, perhaps) would run once it is back.
                return (f"which the Docker Engine {engine.name!r} cannot be asked about while "
                        "it is not answering; try again")
            kept = self._kept_answer(engine.name, image)
            if kept is None:
                asking.append(engine)
            elif kept[0]:
                return kept[0]
        if not asking:
            return None
        try:
            return self.within_limits(lambda: self._ask(asking, image), caller, image)
        except Late:  # the thread goes on and keeps its answer, for the call made again
            return f"which its registry did not answer about within {self.deadline:g} s; try again"

    def kept(self, key: str, work, caller=None):
        """work()'s result as within_limits gives it, kept KEEP seconds under `key` (a registry
        name's resolution: asked once a minute, not on every call that names it)."""
        with self._guard:
            until, answer = self._names.get(key, (0.0, None))
            if until > self.clock():
                return answer
        answer = self.within_limits(work, caller, key)
        with self._guard:
            self._names[key] = (self.clock() + self.keep, answer)
        return answer

    def within_limits(self, work, caller=None, what: str = "this"):
        """work()'s result, worked out on a thread of its own under the checks' limits (what a
        call names may make it wait on the network: a registry, a name's resolution). Raises
        Throttled when it may not start now, and Late when it is not done within the deadline
        (it goes on, and holds its caller's place until it is)."""
        with self._guard:
            if caller is not None and caller in self._asking:
                raise Throttled(f"Rate exceeded: an image this caller named before is still "
                                f"being checked ({what!r} waits for it); try again")
            if not self._slots.acquire(blocking=False):
                raise Throttled(f"Rate exceeded: {what!r} cannot be checked now (other images "
                                "are being checked); try again")
            if caller is not None:
                self._asking.add(caller)
        outcome: list = []
        done = threading.Event()

        def run():
            try:
                outcome.append((True, work()))
            except BaseException as error:  # noqa: BLE001 - the waiter raises it
                outcome.append((False, error))
            finally:
                with self._guard:
                    self._asking.discard(caller)
                    self._slots.release()
                done.set()

        try:
            threading.Thread(target=run, daemon=True, name="image-check").start()
        except BaseException:  # the slot was the thread's to give back: it never ran
            with self._guard:
                self._asking.discard(caller)
                self._slots.release()
            raise
        if not done.wait(self.deadline):
            raise Late(what)
        worked, result = outcome[0]
        if not worked:
            raise result
        return result

    def _ask(self, engines, image: str) -> str | None:
        for engine in engines:
            try:
                why = engine.runtime.unserved_image(image)
            except Exception as error:  # noqa: BLE001 - a flapping engine's timeout, a refused read
                # Not kept: the engine may answer the call made again.
                return (f"which the Docker Engine {engine.name!r} could not be asked about "
                        f"({type(error).__name__}: {error}); try again")
            with self._guard:
                self._kept[(engine.name, image)] = (self.clock() + self.keep, why)
            if why:
                return why
        return None

    def _kept_answer(self, engine: str, image: str) -> tuple[str | None] | None:
        with self._guard:
            now = self.clock()
            for key in [k for k, (until, _) in self._kept.items() if until <= now]:
                del self._kept[key]
            kept = self._kept.get((engine, image))
        return None if kept is None else (kept[1],)

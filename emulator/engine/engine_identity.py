"""Which Docker daemon each engine is, from its `docker info`: its ID and its data root
(`DockerRootDir`). The ID alone is not enough: before Docker 23 it is made from the machine's
/etc/docker/key.json, which every dockerd of one machine shares (scripts/extra-dockerd.sh's
do); two daemons never share a data root, and daemons of two machines have two IDs.

Two engine names for one daemon (`b=unix:///var/run/docker.sock` beside the default engine, or
`engines add` of an address already known under another name, or the same daemon reached by two
addresses) are refused: this emulator's resources there carry the same labels under both names,
so removing one name would sweep the other's tasks and sandboxes. At start that is a settings
error naming both; at run time `engines add` answers 409 saying so. An engine that does not
answer at start is known when it first answers: a duplicate found then is logged, and its
removal leaves the daemon's resources alone (`shares_daemon`).

Each `docker info` is also shown to the control token (access/control_token.py), which turns on
for an engine whose containers reach this host's loopback (Docker Desktop and its kind).

Asked with a bounded wait on a thread of its own: a hung engine must not hold the start, an
`engines add` or a removal for the Docker client's minute.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger("emulator.engine")

INFO_TIMEOUT_S = 2.0


class DuplicateEngine(ValueError):
    """The engine's daemon is another engine's already."""


def ask_info(runtime, timeout: float = INFO_TIMEOUT_S) -> dict | None:
    """`docker info` of `runtime`'s engine, or None when it fails or does not come in time."""
    found: list = []

    def ask() -> None:
        try:
            found.append(runtime.daemon_info())
        except Exception:
            log.debug("docker info failed", exc_info=True)

    thread = threading.Thread(target=ask, name="engine-info", daemon=True)
    thread.start()
    thread.join(timeout)
    return found[0] if found else None


def daemon_of(info: dict) -> str:
    """What tells a daemon from any other ("" when its info says nothing of it)."""
    daemon_id = str(info.get("ID") or "")
    return f"{daemon_id} {info.get('DockerRootDir') or ''}".strip() if daemon_id else ""


def duplicate_message(name: str, other: str, address: str, info: dict) -> str:
    return (f"the Docker Engine {name!r} at {address} is the same daemon as the engine "
            f"{other!r} (docker info ID {info.get('ID')}, data root "
            f"{info.get('DockerRootDir')}): one daemon can be one engine only (removing either "
            f"would remove the other's tasks and sandboxes)")


class Identities:
    def __init__(self, seen=None):
        """`seen(docker_host, info)`: told of every engine's info (the control token's)."""
        self._ids: dict[str, str] = {}  # engine name -> daemon ID
        self._lock = threading.Lock()
        self._seen = seen or (lambda docker_host, info: None)

    def learn(self, name: str, info: dict, docker_host: str) -> str | None:
        """Record engine `name`'s daemon; the other engine's name already on it, if any (the
        caller refuses, or logs, and `forget`s)."""
        daemon_id = daemon_of(info)
        self._seen(docker_host, info)
        if not daemon_id:
            return None
        with self._lock:
            self._ids[name] = daemon_id
            return next((other for other, known in self._ids.items()
                         if known == daemon_id and other != name), None)

    def learn_engines(self, engines: list) -> None:
        """Ask the engines (engines.Engine) whose daemon is not known yet and that answer, all
        at once, each waited for INFO_TIMEOUT_S at most: a duplicate among them is refused
        (DuplicateEngine); one that does not answer in time is known when it first does."""
        unknown = [e for e in engines if not self.known(e.name) and e.health.answering()]
        for engine in unknown:  # made here (the SDK's import): the wait is for Docker's answer
            getattr(engine.runtime, "api", None)
        found: dict[str, dict | None] = {}
        threads = [threading.Thread(target=lambda e=e: found.__setitem__(
            e.name, ask_info(e.runtime)), daemon=True) for e in unknown]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(INFO_TIMEOUT_S + 0.5)
        for engine in unknown:
            info = found.get(engine.name)
            if info is None:
                continue
            other = self.learn(engine.name, info, engine.health.address)
            if other is not None:
                self.forget(engine.name)
                raise DuplicateEngine(duplicate_message(engine.name, other,
                                                        engine.health.address, info))

    def learn_late(self, engine) -> None:
        """An engine that did not answer at start answers now: which daemon it is. A duplicate
        cannot be refused any more (it is configured): said loudly, and its removal leaves the
        daemon's resources to the other engine (engine_removal.py)."""
        if self.known(engine.name):
            return
        info = ask_info(engine.runtime)
        if info is None:
            return
        other = self.learn(engine.name, info, engine.health.address)
        if other is not None:
            log.error("%s; remove the engine %s (`ecs-emulator engines remove %s`)",
                      duplicate_message(engine.name, other, engine.health.address, info),
                      engine.name, engine.name)

    def daemon_of_engine(self, name: str) -> str | None:
        with self._lock:
            return self._ids.get(name)

    def known(self, name: str) -> bool:
        with self._lock:
            return name in self._ids

    def forget(self, name: str) -> None:
        with self._lock:
            self._ids.pop(name, None)

    def shares_daemon(self, name: str) -> str | None:
        """Another engine's name on the daemon of `name`, if any."""
        with self._lock:
            daemon_id = self._ids.get(name)
            return next((other for other, known in self._ids.items()
                         if daemon_id and known == daemon_id and other != name), None)

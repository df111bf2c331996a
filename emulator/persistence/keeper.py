"""The Keeper: which parts of the state exist, when each is written, and reading them back.

Parts are files under `<data dir>/state/`: `ecs`, `ecr`, `hooks`, and one per moto service in
use (`moto-<module>:<attribute>`), plus `instance` (the Docker labels' instance id, so the next
run finds this run's containers and network) and `port` (the port served on, so the next run
can say that adopted tasks still call the old one). A mutating request writes the parts it may have
changed before its response goes out (requests.py); changes the emulator makes by itself (task
states, service events, logs shipped into moto) are written by a background thread: ECS's within
`ECS_DELAY_S` of the change, every part whose bytes changed every `SWEEP_S`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from pathlib import Path

from emulator.persistence import moto_parts, snapshot

log = logging.getLogger("emulator.persistence")

ECS_DELAY_S = 0.2  # gathers a burst of task state changes into one write
SWEEP_S = 5.0
PORT_FILE = "port"  # the port the emulator served on: not a part of the state


class Keeper:
    def __init__(self, directory: Path):
        self.directory = directory
        self._parts: dict[str, object] = {}
        self._load_moto = lambda: None
        self._digests: dict[str, bytes] = {}
        self._write_locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()
        self._ecs_dirty = threading.Event()
        # Changes of ECS state counted, and the count the last written snapshot had seen: the
        # background writer skips what a request's own write already covered.
        self._ecs_changes = 0
        self._ecs_written = 0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        directory.mkdir(parents=True, exist_ok=True)
        os.chmod(directory, 0o700)  # pickles: only their owner may write what we will load

    def add_parts(self, parts: list, load_moto) -> None:
        self._parts.update((part.name, part) for part in parts)
        self._load_moto = load_moto  # imports moto, as its first request would

    # -- the instance id -----------------------------------------------------------------------

    def instance_id(self, make_new) -> str:
        path = self.directory / "instance"
        if path.exists():
            return path.read_text().strip()
        instance = make_new()
        snapshot.write_atomically(path, instance.encode())
        return instance

    # -- the port ---------------------------------------------------------------------------------

    def port_change(self, port: int) -> int | None:
        """The port the last run served on, if it was another (None: the same, or not known:
        state from before the port was kept); `port` is kept for the next run. What a task
        started by a version that kept no port per task (start_ports.py) is taken to use."""
        path = self.directory / PORT_FILE
        try:
            previous = int(path.read_text().strip())
        except (OSError, ValueError):  # a first start, or state kept by an older version
            previous = None
        if previous != port:
            snapshot.write_atomically(path, str(port).encode())
        return previous if previous not in (None, port) else None

    # -- reading back ----------------------------------------------------------------------------

    def restore(self) -> bool:
        """Read every part back; False if there was no state (a first start)."""
        for partial in self.directory.glob(".*.tmp"):  # a write a kill cut short
            partial.unlink(missing_ok=True)
        files = sorted(p for p in self.directory.iterdir()
                       if p.is_file() and not p.name.startswith(".")
                       and p.name not in ("instance", PORT_FILE))
        if not files:
            return False
        if any(p.name.startswith(moto_parts.PREFIX) for p in files):
            self._load_moto()
        for path in files:
            data = path.read_bytes()
            self._digests[path.name] = hashlib.sha256(data).digest()
            if path.name.startswith(moto_parts.PREFIX):
                moto_parts.restore(data)
            elif path.name in self._parts:
                self._parts[path.name].restore(data)
        return True

    # -- writing ---------------------------------------------------------------------------------

    def all_names(self) -> list[str]:
        return list(self._parts) + moto_parts.part_names()

    def moto_names(self, service: str | None) -> list[str]:
        """The moto parts a call to `service` may change (all of them when it cannot tell), and
        any service moto loaded since the last write."""
        names = moto_parts.part_names()
        new = [name for name in names if name not in self._digests]
        if service is None or service == "cloudformation":
            return names
        return moto_parts.parts_for(service) + new

    def write(self, names) -> None:
        """Write the named parts whose content changed, durably, before returning. Each part on
        its own: one that cannot be captured (logged, and raised once the rest are written)
        must not cost the others their write, which a later request's answer may rely on."""
        failed = []
        for name in dict.fromkeys(names):
            try:
                self._write_part(name)
            except Exception as error:
                log.exception("could not write the state's part %s to %s", name, self.directory)
                failed.append((name, error))
        if failed:
            raise PartsNotWritten(failed)

    def _write_part(self, name: str) -> None:
        with self._write_lock(name):
            seen = self._ecs_changes
            data = self._capture(name)
            path = self.directory / name
            if data is None:  # moto dropped the service (a reset)
                path.unlink(missing_ok=True)
                self._digests.pop(name, None)
                return
            digest = hashlib.sha256(data).digest()
            if self._digests.get(name) != digest:
                snapshot.write_atomically(path, data)
                self._digests[name] = digest
            if name == "ecs":
                self._ecs_written = max(self._ecs_written, seen)

    def forget_moto(self) -> None:
        """After a reset: moto's parts that no longer exist go (write() keeps what does)."""
        existing = set(moto_parts.part_names())
        for path in self.directory.glob(moto_parts.PREFIX + "*"):
            if path.name not in existing:
                path.unlink(missing_ok=True)
                self._digests.pop(path.name, None)

    def _capture(self, name: str) -> bytes | None:
        part = self._parts.get(name)
        return part.capture() if part is not None else moto_parts.capture(name)

    def _write_lock(self, name: str) -> threading.Lock:
        # One writer per part: a later capture is never overtaken by an earlier one's rename.
        with self._locks_lock:
            return self._write_locks.setdefault(name, threading.Lock())

    # -- the background writer -------------------------------------------------------------------

    def ecs_changed(self) -> None:
        self._ecs_changes += 1  # called under the ECS lock: one writer
        self._ecs_dirty.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="state-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._ecs_dirty.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._write_quietly(self.all_names())  # what the shutdown itself changed

    def _run(self) -> None:
        next_sweep = time.monotonic() + SWEEP_S
        while not self._stopping.is_set():
            if self._ecs_dirty.wait(timeout=max(0.0, next_sweep - time.monotonic())):
                time.sleep(ECS_DELAY_S)
                self._ecs_dirty.clear()
                if self._ecs_changes != self._ecs_written:
                    self._write_quietly(["ecs", "hooks"])
            if time.monotonic() >= next_sweep:
                self._write_quietly(self.all_names())
                next_sweep = time.monotonic() + SWEEP_S

    def _write_quietly(self, names) -> None:
        try:
            self.write(names)
        except PartsNotWritten:
            pass  # each logged as it failed; the next change or sweep tries again
        except Exception:  # keep writing later changes; say so loudly
            log.exception("could not write the emulator's state to %s", self.directory)


class PartsNotWritten(Exception):
    """The parts write() could not write (each logged), after it wrote the others."""

    def __init__(self, failed: list[tuple[str, BaseException]]):
        super().__init__(", ".join(f"{name}: {error!r}" for name, error in failed))
        self.failed = failed

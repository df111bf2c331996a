"""Whether a Docker Engine answers, watched: the emulator's view of its "agent" being connected.

One EngineHealth per engine. A thread asks the engine's `/_ping` every second (at once when told
the engine looks gone, as the task engine does when the event stream breaks); when the answer
changes, the listeners hear of it: `on_down()` when the engine stops answering, `on_up(outage)`
when it answers again, with when it went. ECS shows the same thing as
a container instance whose agent is not connected; the scheduler holds launches meanwhile
rather than sending work to an engine that cannot take it.

The probe has its own client with a short timeout: the runtime's client waits a minute for an
answer, which would leave a hung engine looking alive for that long.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable

log = logging.getLogger("emulator.engine")

PROBE_INTERVAL_S = 1.0
PROBE_TIMEOUT_S = 2.0
OUTAGE_SLACK_S = 5.0
DEFAULT_ADDRESS = "unix:///var/run/docker.sock"  # the SDK's, with no DOCKER_HOST
API_VERSION = "1.24"  # the ping needs no newer one; any engine the SDK supports answers it


@dataclass(frozen=True)
class Outage:
    """When the engine stopped answering (wall clock, as Docker's FinishedAt is) and for how
    long."""

    since: float
    seconds: float


class EngineHealth:
    def __init__(self, name: str, environment: dict[str, str],
                 pinger: Callable[[], None] | None = None):
        """`environment`: DOCKER_HOST and its TLS variables (empty: the default socket);
        `pinger` raises when the engine does not answer (default: Docker's `/_ping` there)."""
        self.name = name
        self.address = environment.get("DOCKER_HOST") or DEFAULT_ADDRESS  # what messages name
        self._pinger = pinger or _DockerPinger(environment)
        self.up: bool | None = None  # None until first asked
        self.down_since: float | None = None  # wall clock
        # From the moment the engine answers again until its on_up listeners have finished:
        # what died in the outage is theirs to record (the exit reconciler waits meanwhile).
        self.recovering = False
        self.last_outage: Outage | None = None
        self._changed = threading.Condition()
        self._poke = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.on_down: list[Callable[[], None]] = []
        self.on_up: list[Callable[[Outage], None]] = []

    def start(self, after: threading.Event | None = None) -> None:
        """Watch from now on; the first probe once `after` is set (unknown counts as answering
        meanwhile)."""
        self._thread = threading.Thread(target=self._loop, args=(after,),
                                        name=f"engine-health-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._poke.set()
        if self._thread is not None:
            self._thread.join(timeout=PROBE_TIMEOUT_S + 1)

    def looks_gone(self) -> None:
        """Someone saw a call fail: probe now instead of at the next tick."""
        self._poke.set()

    def answering(self) -> bool:
        """True unless the engine is known not to answer (unknown counts as answering: the
        first probe has not run, and work must not wait for it)."""
        return self.up is not False

    def in_outage(self, when: float | None) -> bool:
        """Whether something that happened at `when` (wall clock; a container's FinishedAt, a
        die event's time) happened while the engine did not answer: in the outage going on, or
        in the last one. A few seconds of slack before (the engine stops answering a moment
        before it stops containers; the probe sees it up to a second late) and after (the probe
        sees its return up to a second late)."""
        if when is None:
            return False
        since, outage = self.down_since, self.last_outage
        if self.up is False and since is not None:
            return when >= since - OUTAGE_SLACK_S
        return outage is not None and \
            outage.since - OUTAGE_SLACK_S <= when <= outage.since + outage.seconds + OUTAGE_SLACK_S

    def wait_until_answering(self, timeout: float, cancelled: Callable[[], bool] = lambda: False
                             ) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            while self.up is False and not cancelled() and not self._stopping.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(timeout=min(left, 1.0))
        return self.up is not False

    def check(self) -> bool:
        """Probe once, tell the listeners if the answer changed; whether the engine answers."""
        try:
            self._pinger()
        except Exception:
            self._went_down()
            return False
        self._came_up()
        return True

    def _loop(self, after: threading.Event | None = None) -> None:
        while after is not None and not after.wait(0.05) and not self._stopping.is_set():
            pass
        while not self._stopping.is_set():
            try:
                self.check()
            except Exception:  # a listener's fault must not end the watch
                log.exception("engine health listener failed")
            self._poke.wait(PROBE_INTERVAL_S)
            self._poke.clear()

    def _went_down(self) -> None:
        with self._changed:
            if self.up is False:
                return
            was_known = self.up is not None
            self.up, self.down_since = False, time.time()
            self._changed.notify_all()
        if was_known:
            log.warning("the Docker Engine %s does not answer; launches on it are held", self.name)
        for listener in self.on_down:
            listener()

    def _came_up(self) -> None:
        with self._changed:
            was, since = self.up, self.down_since
            if was is True:
                return
            outage = None if was is None else Outage(since=since, seconds=time.time() - since)
            # Recovering first: whoever sees the engine answer (readers take no lock) sees it
            # recovering.
            self.recovering, self.last_outage = outage is not None, outage or self.last_outage
            self.up, self.down_since = True, None
            self._changed.notify_all()
        if outage is None:
            return  # the first answer: nothing was missed
        log.warning("the Docker Engine %s answers again after %.1f s", self.name, outage.seconds)
        try:
            for listener in self.on_up:
                listener(outage)
        finally:
            with self._changed:
                # Only this recovery's end: an outage that began and ended while its listeners
                # ran has its own recovery, which ends the flag when its listeners are done.
                if self.last_outage is outage:
                    self.recovering = False


def why_not_answering(environment: dict[str, str]) -> str | None:
    """None if the engine answers a ping now; else what stopped it, in one line (a TLS refusal,
    a connection refused, a timeout: the probe waits PROBE_TIMEOUT_S at most)."""
    pinger = _DockerPinger(environment)
    try:
        pinger()
        return None
    except Exception as error:  # what the SDK says is what the user needs to read
        return _one_line(error)
    finally:
        pinger.close()


def _one_line(error: Exception) -> str:
    text = str(error) or type(error).__name__
    # requests nests the cause in reprs: "...(Caused by SSLError(SSLError(1, '[SSL: X] ...')))"
    for marker in ("[SSL: ", "Caused by "):
        if marker in text:
            text = text[text.index(marker):]
            break
    return text.splitlines()[0][:300]


class _DockerPinger:
    """Docker's `/_ping`, through a client of its own that is made again after a failure."""

    def __init__(self, environment: dict[str, str]):
        self.environment = environment
        self._client = None

    def __call__(self) -> None:
        client = self._client or self._connect()
        try:
            client.ping()
        except Exception:
            self.close()
            raise
        # A new connection each time: a dockerd going down stops accepting connections at once
        # but serves the ones it holds (a kept-alive one would answer for a dying engine).
        client.close()

    def _connect(self):
        from emulator.runtime import docker_client

        self._client = docker_client.from_env(self.environment, version=API_VERSION,
                                              timeout=PROBE_TIMEOUT_S).api
        return self._client

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            except Exception:  # closing a broken client: nothing to save
                pass
            self._client = None

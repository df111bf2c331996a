"""Image digests, kept: what ECS shows as a container's imageDigest, asked of Docker once per
image reference instead of once per container of every task.

A reference can come to name another image (`docker build -t app:dev .` again, a pull of a newer
`latest`, `docker tag`, `docker rmi`, `docker load`): Docker tells of each such change with an
image event, and any image event forgets every kept digest. Digests are kept only while that
event stream is connected (it is opened on the first look-up and kept open); without it each
look-up asks Docker, as before. A look-up that an image event overtook is answered but not
kept. What remains is the moment between Docker changing a tag and its event reaching us
(milliseconds): a task created inside it shows the image's previous digest.

Look-ups of one image at the same time share one inspect: a burst of 20 tasks after an image
event (any image's, by anyone on the engine) asked Docker five or six times for the same digest,
each in the way of its task's create; the others now wait for the first one's answer.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

log = logging.getLogger("emulator.runtime")

RECONNECT_DELAY_S = 1.0
REPLAY_S = 5


class _Lookup:
    """One inspect in flight, and whoever waits for its answer."""

    def __init__(self, generation: int):
        self.generation = generation
        self.done = threading.Event()
        self.digest: str | None = None
        self.error: BaseException | None = None


class ImageDigests:
    def __init__(self, api: Callable[[], object], lookup: Callable[[object, str], str | None]):
        # () -> the Docker API client; raises once its runtime is closed (never one made again
        # for a watch that saw the close late: a connection pool nobody would close)
        self._api = api
        self._lookup = lookup  # (api, image) -> digest: the inspect this saves
        self._lock = threading.Lock()
        self._known: dict[str, str] = {}
        self._asking: dict[str, _Lookup] = {}  # image -> its look-up in flight
        self._generation = 0  # moves with every image event and every (dis)connection
        self._watching = False  # the event stream is open: kept digests are current
        self._stream = None
        self._thread: threading.Thread | None = None
        self._closed = threading.Event()

    def digest(self, image: str) -> str | None:
        with self._lock:
            if self._watching and image in self._known:
                return self._known[image]
            asking = self._asking.get(image)
            if asking is not None and asking.generation == self._generation:
                joined = True  # begun since the last image event: its answer is as good
            else:
                joined = False
                asking = self._asking[image] = _Lookup(self._generation)
            if self._thread is None and not self._closed.is_set():
                self._thread = threading.Thread(target=self._watch, name="docker-image-events",
                                                daemon=True)
                self._thread.start()
        if joined:
            asking.done.wait()
            if asking.error is not None:
                raise asking.error
            return asking.digest
        try:
            asking.digest = digest = self._lookup(self._api(), image)
        except BaseException as error:
            asking.error = error
            raise
        finally:
            with self._lock:
                if self._asking.get(image) is asking:
                    del self._asking[image]
            asking.done.set()
        with self._lock:
            if digest is not None and self._watching and self._generation == asking.generation:
                self._known[image] = digest
        return digest

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            stream, self._stream = self._stream, None
        if stream is not None:
            _close(stream)

    def _watch(self) -> None:
        while not self._closed.is_set():
            try:
                # Docker answers before it subscribes us: events of the last seconds are
                # replayed, so one in between still empties what was kept meanwhile.
                stream = self._api().events(decode=True, filters={"type": ["image"]},
                                            since=int(time.time() - REPLAY_S))
                with self._lock:
                    if self._closed.is_set():
                        _close(stream)
                        return
                    self._stream = stream
                    self._forget(watching=True)  # what changed while we were not listening
                for _ in stream:
                    with self._lock:
                        self._forget(watching=True)
            except Exception as error:  # the engine went away: ask it each time until back
                if not self._closed.is_set():
                    log.debug("docker image event stream failed: %s", error)
            with self._lock:
                self._stream = None
                self._forget(watching=False)
            self._closed.wait(RECONNECT_DELAY_S)

    def _forget(self, watching: bool) -> None:
        """Under the lock."""
        self._known.clear()
        self._generation += 1
        self._watching = watching


def _close(stream) -> None:
    try:
        stream.close()
    except Exception:  # closing a stream of an engine that went away
        pass

"""The queue between the selector and the worker threads, which lets only a few workers serve
requests at once: one, while its requests keep to the CPU.

CPython runs one thread's Python at a time (the GIL), and a thread lets go of it at every
syscall. With 32 busy keep-alive connections, sixteen workers each held a whole request and all
wanted the GIL: every read(2), write(2) and poll(2) of one became a hand-over to another (a
futex wake, a context switch, a cold cache), and each request cost about a quarter more CPU than
over one connection (scripts/bench/capacity.py). Nor does a semaphore in front of the request
help: each worker leaving it wakes the next, one hand-over per request again.

So the worker that has just served a request takes the next waiting connection itself, without
waking anyone, and the others sleep until a slot is free: under load one worker serves request
after request while the selector thread fills the queue. cheroot's ThreadPool takes this queue
in place of its queue.Queue (put, get, qsize).

A request that waits on something other than the CPU (a layer streamed from a slow client, a
Docker call) must not hold the others back: a slot whose request began more than STALE_AFTER_S
ago no longer counts, and one sleeping worker (the watch) wakes when that time comes while a
connection waits for a slot, so at worst a request waits STALE_AFTER_S once and the server then
serves as many at once as it did without this queue. A worker waiting for its client's next
request on a kept-alive connection (emulator/http_server.py) frees its slot meanwhile (idle()).
Nothing on the wire changes.

What that left at 32 connections (capacity.py, counted with perf stat: about one futex(2) and
0.6 context switches a request more than over one connection, with one worker serving 98% of
the requests) was the watch and the second workers it let in. The watch woke every 2 ms while
connections waited, about one wake per ten requests, each a hand-over of the GIL and back. Now a
watch that wakes to find the slot's worker on a newer request (it keeps to the CPU) looks again
only WATCH_PATIENCE_S later. And a worker let in beside a slow request (or a machine so loaded
that a worker was off the CPU for 2 ms) used to keep serving its own connection beside the first
for a whole slice, the two trading the GIL at every syscall; a worker now holds its connection
for the next request only while no other worker's request counts (crowded()), so they are back
to one within a request.
"""

from __future__ import annotations

import collections
import threading
import time

from emulator import cheroot_import  # noqa: F401  (before cheroot; see there)
from cheroot.workers import threadpool

# Requests served at once while they keep to the CPU: two cores, one GIL, and the other core is
# the client's (or the selector thread's).
SLOTS = 1
# A request that has held its slot this long is taken to be waiting on something else (the
# client, Docker), and no longer keeps another worker out. Most API calls take well under 1 ms;
# the watch that notices wakes at most once per this interval while requests are served.
STALE_AFTER_S = 0.002
# A watch that finds the slot's worker on a newer request than when it went to sleep looks again
# this much later, not STALE_AFTER_S after that request began: a worker that keeps serving would
# otherwise be interrupted every 2 ms. A request that turns slow just after such a look keeps the
# next connection waiting this much longer, once.
WATCH_PATIENCE_S = 0.01
_SHUTDOWN = threadpool._SHUTDOWNREQUEST  # what ThreadPool puts to end a worker


class AdmissionQueue:
    """queue.Queue's put/get/qsize as cheroot's ThreadPool uses them, admitting `slots`."""

    def __init__(self, slots: int = SLOTS, stale_after: float = STALE_AFTER_S,
                 patience: float = WATCH_PATIENCE_S):
        self._slots = slots
        self._stale_after = stale_after
        self._patience = patience
        self._ready: collections.deque = collections.deque()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        # Workers holding a slot: thread ident -> when their current request began (-inf while
        # they wait for their client, when the slot does not count).
        self._since: dict[int, float] = {}
        self._waiting = 0
        self._watching = False  # a sleeping worker will wake when the oldest slot goes stale
        self._watched = 0.0  # when the request the last watch waited for began

    def qsize(self) -> int:
        return len(self._ready)

    def put(self, item, block: bool = True, timeout: float | None = None) -> None:
        with self._lock:
            self._ready.append(item)
            if self._waiting and (item is _SHUTDOWN or not self._watching
                                  or self._busy(time.monotonic()) < self._slots):
                self._wake.notify()

    def get(self, block: bool = True, timeout: float | None = None):
        """The next connection for the calling worker, once it may serve one."""
        me = threading.get_ident()
        watched = False
        with self._lock:
            while True:
                now = time.monotonic()
                self._since.pop(me, None)  # its slot from the last request is given up,
                # unless it takes the next connection here at once (no other thread woken)
                if self._ready and self._busy(now) < self._slots:
                    item = self._take(me, now, self._ready.popleft())
                    if self._ready and self._waiting and not self._watching:
                        # the watch took this one (or none was kept): another sleeper keeps
                        # watch over the connections still waiting, or they would wait for the
                        # next arrival or the end of a slow request
                        self._wake.notify()
                    return item
                if _SHUTDOWN in self._ready:  # the pool is shrinking or stopping: at once
                    self._ready.remove(_SHUTDOWN)
                    return _SHUTDOWN
                watched = self._sleep(now, watched)

    def serving(self) -> None:
        """The calling worker begins another request on its connection."""
        self._mark(time.monotonic())

    def idle(self) -> None:
        """The calling worker waits for its client: its slot does not count meanwhile, and a
        connection waiting for a slot is let in now rather than when the watch wakes."""
        self._mark(float("-inf"))
        if self._ready and self._waiting:  # (read unlocked: a cheap look before the lock)
            with self._lock:
                if self._ready and self._waiting:
                    self._wake.notify()

    def crowded(self) -> bool:
        """Whether other workers' requests fill the slots: then the calling worker should not
        hold its connection for the next request, which would keep two serving at once."""
        me = threading.get_ident()
        if len(self._since) <= self._slots and me in self._since:
            return False  # only this worker and no more than the slots hold one: no lock taken
        now = time.monotonic()
        with self._lock:
            others = sum(1 for ident, since in self._since.items()
                         if ident != me and now - since < self._stale_after)
        return others >= self._slots

    def _mark(self, since: float) -> None:
        # Without the lock: only the holder adds or removes its own entry, so this changes a
        # value, never the dict's size under another thread's loop over it.
        me = threading.get_ident()
        if me in self._since:
            self._since[me] = since

    def _take(self, me: int, now: float, item):
        if item is not _SHUTDOWN:
            self._since[me] = now
        return item

    def _busy(self, now: float) -> int:
        """Slots whose request began within STALE_AFTER_S."""
        return sum(1 for since in self._since.values() if now - since < self._stale_after)

    def _sleep(self, now: float, rewatch: bool) -> bool:
        """Wait for a put() or a freed slot; the watch wakes when the oldest busy slot goes
        stale, so that a request waiting on something else lets the next one in. `rewatch`:
        the calling thread was the watch in its last sleep. Whether it is the watch now."""
        busy = [since for since in self._since.values() if now - since < self._stale_after]
        # Only while a connection waits for a slot: one connection's requests wake nobody.
        watch = bool(busy) and bool(self._ready) and not self._watching
        timeout = None
        if watch:
            oldest = min(busy)
            timeout = oldest + self._stale_after - now
            if rewatch and oldest > self._watched:
                # this thread watched last, and the worker has moved on to another request
                # since: it keeps to the CPU, so look again later (WATCH_PATIENCE_S)
                timeout = max(timeout, self._patience)
            self._watched = oldest
        self._waiting += 1
        self._watching |= watch
        try:
            self._wake.wait(timeout)
        finally:
            self._waiting -= 1
            if watch:
                self._watching = False
        return watch

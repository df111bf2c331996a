"""DockerQueue: a bound on the work one runtime sends to its Docker Engine at once.

Without it every task's runner calls Docker the moment it can: 8 client threads doing RunTask
and StopTask put hundreds of creates, starts and removals in flight, dockerd on two cores fell
minutes behind, calls timed out at the SDK's 60 s (a timed-out create still made its container,
which nobody then removed), and `docker ps` took seconds for everyone on the machine. Docker does
such work no faster in parallel than a few at a time, so the calls beyond `limit` wait here, in
our process, where waiting is free and orderly, instead of in dockerd.

Waiters go in order of kind, then of arrival: teardown (kill, remove) before setup (create, start).
Teardown ends tasks and frees what Docker holds; setup adds to it. Under overload new tasks wait
in PROVISIONING or PENDING (as on ECS when capacity is short) while stopping ones finish.

A setup call may be abandoned instead of made: a runner names what makes its work unwanted
(`unless(task stopped)`) and a setup call whose turn comes after that is true raises `Abandoned`,
so a task stopped while it waited costs Docker nothing. A released slot passes straight to the
next waiter (no thundering herd of hundreds of waiting threads).
"""

from __future__ import annotations

import contextlib
import contextvars
import heapq
import itertools
import threading
from dataclasses import dataclass, field
from typing import Callable, Iterator

TEARDOWN = 0  # waiters are served lowest kind first
SETUP = 1

# What makes the current thread's setup work unwanted (set by a task's runner around its start).
_unwanted: contextvars.ContextVar[Callable[[], bool] | None] = contextvars.ContextVar(
    "docker_queue_unwanted", default=None)


class Abandoned(Exception):
    """A setup call was not made: what it was for was no longer wanted when its turn came."""


@contextlib.contextmanager
def unless(unwanted: Callable[[], bool]) -> Iterator[None]:
    """Within this block, setup calls of this thread are abandoned once `unwanted()` is true."""
    token = _unwanted.set(unwanted)
    try:
        yield
    finally:
        _unwanted.reset(token)


@dataclass(order=True)
class _Ticket:
    kind: int
    seq: int
    turn: threading.Event = field(default_factory=threading.Event, compare=False)


class DockerQueue:
    """At most `limit` calls in flight; the others wait their turn (teardown first, then FIFO)."""

    def __init__(self, limit: int):
        if limit < 1:
            raise ValueError("the limit of Docker calls in flight must be at least 1")
        self.limit = limit
        self._lock = threading.Lock()
        self._in_flight = 0
        self._waiting: list[_Ticket] = []
        self._seq = itertools.count()
        self.peak_in_flight = 0  # the most calls ever in flight at once (tests, benchmarks)
        self.abandoned = 0  # setup calls not made (see `unless`)

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def call(self, kind: int, fn: Callable, *args, **kwargs):
        """Call `fn` when a slot is free; raise Abandoned instead for unwanted setup work."""
        self._acquire(kind)
        try:
            unwanted = _unwanted.get()
            if kind == SETUP and unwanted is not None and unwanted():
                with self._lock:
                    self.abandoned += 1
                raise Abandoned()
            return fn(*args, **kwargs)
        finally:
            self._release()

    def _acquire(self, kind: int) -> None:
        with self._lock:
            if self._in_flight < self.limit and not self._waiting:
                self._take()
                return
            ticket = _Ticket(kind, next(self._seq))
            heapq.heappush(self._waiting, ticket)
        ticket.turn.wait()  # _release handed its slot over: _in_flight already counts us

    def _release(self) -> None:
        with self._lock:
            if self._waiting:
                heapq.heappop(self._waiting).turn.set()
            else:
                self._in_flight -= 1

    def _take(self) -> None:
        self._in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self._in_flight)

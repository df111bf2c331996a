"""DockerQueue: a bound on the work one runtime sends to its Docker Engine at once.

Without it every task's runner calls Docker the moment it can: 8 client threads doing RunTask
and StopTask put hundreds of creates, starts and removals in flight, dockerd on two cores fell
minutes behind, calls timed out at the SDK's 60 s (a timed-out create still made its container,
which nobody then removed), and `docker ps` took seconds for everyone on the machine. Docker does
such work no faster in parallel than a few at a time, so the calls beyond `limit` wait here, in
our process, where waiting is free and orderly, instead of in dockerd.

Waiters go in order of kind: teardown (kill, remove) before setup (create, start). Teardown ends
tasks and frees what Docker holds; setup adds to it. Under overload new tasks wait in
PROVISIONING or PENDING (as on ECS when capacity is short) while stopping ones finish.

A task's setup calls are one piece of work (`setup_work`, around a runner's start): they are
served in the order the pieces began, so a task half set up finishes before a newer one begins;
served call by call instead, every task would take one step and wait behind all the others, and
under a flood none would reach RUNNING. Setup work may be abandoned: a setup call whose turn comes
when its work is no longer wanted (its task was stopped) raises `Abandoned` instead of being
made, so a task stopped while it waited costs Docker nothing. Other calls go in order of arrival.
A released slot passes straight to the next waiter (no thundering herd of waiting threads).
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

_order = itertools.count()  # when each piece of work, or each call outside one, began


@dataclass(frozen=True)
class _Work:
    order: int
    unwanted: Callable[[], bool]


# The setup work the current thread is doing (set by a task's runner around its start).
_work: contextvars.ContextVar[_Work | None] = contextvars.ContextVar("docker_queue_work",
                                                                    default=None)


class Abandoned(Exception):
    """A setup call was not made: its work was no longer wanted when its turn came."""


@contextlib.contextmanager
def setup_work(unwanted: Callable[[], bool]) -> Iterator[None]:
    """Within this block this thread's setup calls are one piece of work, served in the order
    the pieces began, and abandoned once `unwanted()` is true."""
    token = _work.set(_Work(next(_order), unwanted))
    try:
        yield
    finally:
        _work.reset(token)


@dataclass(order=True)
class _Ticket:
    kind: int
    order: int
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
        work = _work.get() if kind == SETUP else None
        self._abandon_if_unwanted(work)
        self._acquire(kind, work.order if work else next(_order))
        try:
            self._abandon_if_unwanted(work)  # it may have become so while it waited
            return fn(*args, **kwargs)
        finally:
            self._release()

    def _abandon_if_unwanted(self, work: _Work | None) -> None:
        if work is not None and work.unwanted():
            with self._lock:
                self.abandoned += 1
            raise Abandoned()

    def _acquire(self, kind: int, order: int) -> None:
        with self._lock:
            if self._in_flight < self.limit and not self._waiting:
                self._take()
                return
            ticket = _Ticket(kind, order)
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

"""Sandboxes kept ready: pause containers made ahead of demand and handed to new tasks.

An awsvpc task's sandbox (a pause container on the emulator's network, holding the task's network
namespace, its IP and its published ports) is about half of what Docker does to start a
one-container task; Docker's network attach is the dear part. Made in the background before a
task asks, RunTask pays only for the task's own containers, which join the namespace cheaply.
A bridge task of one container takes one too (task_runner.py; container_specs.pooled_bridge_ports
says which): it is the namespace ECS's bridge mode gives that container, renamed on the network
for it (runtime name_sandbox; on Docker's default bridge, which has no names, used as it is),
so the container starts without attaching itself.

- Demand decides what is kept: a sandbox's published ports are fixed when it is made, so ready
  sandboxes are kept per port shape (the task's container ports; host ports are always Docker's
  ephemeral choice for awsvpc, so one sandbox fits every task of that shape). A shape is wanted
  once tasks asked for it WANTED_AFTER times since the last drain; the last MAX_SHAPES shapes are
  kept, `size` sandboxes each. So an emulator that runs no awsvpc task starts no pause container,
  and a test that runs one such task between two resets (the pytest plugin's pattern) does not
  pay for a spare that its reset would remove unused.
- Bursts size it: a task that asks while others start counts how many asks of its shape came
  since tasks began starting (its burst; tasks of other shapes, or bridge tasks not asking, are
  no burst of it). A shape whose burst was BURST_MIN or more within BURST_MEMORY_S keeps that many spares
  (beyond one shape's `size`, none while `burst` are kept of all shapes together:
  ECS_EMULATOR_SANDBOX_POOL_BURST, default 20): the next burst like
  it starts every task in a spare. Past BURST_MEMORY_S without an ask it goes back to `size`,
  the spares beyond removed, so an idle emulator holds `size` per shape. The first burst of a
  shape finds one spare at most, so its tasks attach themselves as without a pool.
- Refills wait for a quiet moment: no task starting (the engine's runners say when they begin
  and end their start) and REFILL_QUIET_S without a claim, so tasks being started are never
  slowed by Docker also making spares on the same cores.
- Identity (access/callers.py knows a task by its address): an unclaimed sandbox runs only the
  pause binary, no task code, and no task shares its namespace; on claim the runner writes its
  address into the task under the state lock, as for a sandbox made for it, so the address
  becomes that task's in one step. A sandbox is never given back: its task's teardown removes
  it, so an address belongs to one task for as long as the sandbox lives.
- Labels: the runtime stamps its owner labels, ROLE=pause, and CONTAINER_NAME=POOL_NAME (no task
  ARN: a claimed one is found from its task's containers, see persistence/adoption.py). A reset,
  the engine's stop and its return after an outage (whose die events may be lost) drain the pool
  (remove the unclaimed, wait for one being made); a sandbox that dies or is removed while
  waiting (a runtime event) is dropped.
- Leftovers: a claimed sandbox whose task's teardown could not remove it (its engine was down)
  carries no task label, so the sweep of an engine that answers again (engine_outage.py) asks
  `unowned`: a pool container that is not ready here, not being made, not just handed to a task
  whose runner lives (the last HANDED_KEPT claims are remembered, for the moment before the
  runner writes the sandbox into its task), and no live task's sandbox, is nobody's.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass

from emulator.runtime import labels as runtime_labels
from emulator.runtime.base import ContainerState, PortBinding, TaskSandbox

log = logging.getLogger("emulator.tasks")

POOL_NAME = "~pool"  # the CONTAINER_NAME label of an unclaimed sandbox
MAX_SHAPES = 4  # port shapes kept ready at once (least recently asked for goes first)
REFILL_QUIET_S = 0.3  # no claim for this long before spares are made
WANTED_AFTER = 2  # asks for a shape (since the last drain) before spares of it are kept
HANDED_KEPT = 256  # recent claims remembered (sandbox id -> task ARN) for the sweep
BURST_MEMORY_S = 120.0  # a burst keeps spares for one like it this long after its last ask
BURST_MIN = 4  # tasks starting at once that make a burst (fewer: `size` spares serve them)
IDLE_CHECK_S = 5.0  # how often an idle filler looks whether a burst's spares have gone stale

Shape = tuple  # sorted (container port, protocol, host IP) of a task's sandbox ports


@dataclass(frozen=True)
class Ready:
    sandbox: TaskSandbox
    state: ContainerState | None  # the pause container as made (its published host ports)


def shape_of(ports: list[PortBinding]) -> Shape | None:
    """The pool key for `ports`, or None when a fixed host port makes the sandbox one of a kind
    (two sandboxes cannot hold one host port; a spare would take it from the task)."""
    if any(p.host_port for p in ports):
        return None
    return tuple(sorted((p.container_port, p.protocol or "tcp", p.host_ip or "") for p in ports))


def _ports(shape: Shape) -> list[PortBinding]:
    return [PortBinding(port, protocol, host_ip or None, None) for port, protocol, host_ip in shape]


class SandboxPool:
    def __init__(self, runtime_fn, size: int, burst: int = 0):
        self._runtime = runtime_fn  # () -> the runtime (the engine's; made lazily)
        self.size = max(0, size)
        self.burst = max(self.size, burst)  # spares of all shapes at most, sized by bursts
        self._lock = threading.Condition()
        self._ready: dict[Shape, list[Ready]] = {}
        self._wanted: OrderedDict[Shape, None] = OrderedDict()
        self._asked: dict[Shape, int] = {}  # asks per shape since the last drain
        self._bursts: dict[Shape, tuple[int, float]] = {}  # tasks starting at once, last ask
        self._sized: set[Shape] = set()  # shapes kept for bursts as the current one began
        self._making = 0  # sandboxes being made now (outside the lock)
        self._generation = 0  # a drain bumps it: what was being made for an older one goes
        self._last_claim = 0.0
        self._starting = 0  # tasks between their first Docker call and RUNNING (or failure)
        self._busy_asks: dict[Shape, int] = {}  # asks per shape since `_starting` left 0
        self._thread: threading.Thread | None = None
        self._closed = False
        self._handed: OrderedDict[str, str] = OrderedDict()  # sandbox id -> task ARN

    # -- what runners ask ---------------------------------------------------------------------

    def take(self, ports: list[PortBinding], alone: bool = False,
             owner: str | None = None) -> Ready | None:
        """A ready sandbox publishing `ports`, now the caller's; None when there is none (the
        caller makes its own). Either way the ask counts towards keeping spares of its shape.
        `alone`: only if no other task is starting (a bridge task's spare must join the network
        again under its name, which waits behind every other task's attach: in a burst a task
        attaching itself is sooner; on Docker's default bridge there is no name to take, and
        the runner asks without it). `owner`: the task's ARN (the sweep's `unowned` asks)."""
        shape = shape_of(ports) if self.size else None
        if shape is None:
            return None
        with self._lock:
            if self._closed:
                return None
            now = self._last_claim = time.monotonic()
            self._asked[shape] = self._asked.get(shape, 0) + 1
            if self._asked[shape] >= WANTED_AFTER:
                self._want(shape)
            if self._starting:
                self._busy_asks[shape] = self._busy_asks.get(shape, 0) + 1
            peak, last = self._bursts.get(shape, (0, now))
            self._bursts[shape] = (max(self._busy_asks.get(shape, 1), 1,
                                       peak if now - last < BURST_MEMORY_S else 0), now)
            ready = self._ready.get(shape)
            # In a burst a lone spare's renaming waits behind the others' attaches; spares kept
            # for the burst serve all of it, and nothing attaches in their way.
            in_burst = alone and self._starting > 1 and shape not in self._sized
            claimed = ready.pop(0) if ready and not in_burst else None
            if claimed is not None and owner is not None:
                self._handed[claimed.sandbox.sandbox_id] = owner
                while len(self._handed) > HANDED_KEPT:
                    self._handed.popitem(last=False)
            self._start_thread()
            self._lock.notify_all()
            return claimed

    def task_starting(self, delta: int) -> None:
        """+1 when a runner begins to start its task, -1 when it is done (either way)."""
        with self._lock:
            if self._starting == 0 and delta > 0:  # a burst may begin: which shapes it may take
                now = time.monotonic()
                self._sized = {s for s in self._ready if self._target(s, now) > 1}
            self._starting += delta
            if self._starting == 0:  # the busy period is over: the next counts afresh
                self._busy_asks.clear()
            self._last_claim = max(self._last_claim, time.monotonic())
            self._lock.notify_all()

    def discard(self, container_id: str) -> None:
        """A pool container died or was removed outside us: never hand it out."""
        with self._lock:
            for ready in self._ready.values():
                ready[:] = [r for r in ready if r.sandbox.sandbox_id != container_id]
            self._lock.notify_all()

    def drain(self, forget_claims: bool = True) -> None:
        """Remove every unclaimed sandbox and forget the demand (a reset); returns once nothing
        of the pool's is left on Docker. The pool fills again when tasks ask. `forget_claims`:
        the recent claims too (a reset, whose tasks all stop); an engine's return keeps them for
        its sweep's `unowned`, whose tasks' runners live on."""
        with self._lock:
            self._forget_demand()
            if forget_claims:
                self._handed.clear()
            gone = [r for ready in self._ready.values() for r in ready]
            self._ready.clear()
            self._lock.notify_all()
        for ready in gone:
            self._remove(ready.sandbox)
        with self._lock:  # one being made now is removed by the filler when done
            self._lock.wait_for(lambda: self._making == 0, timeout=10)

    def forget_demand(self) -> None:
        """Make no spare until tasks ask again, and keep none begun now: a reset's first step,
        so that no spare is made while its tasks stop (only for its `drain` to remove it)."""
        with self._lock:
            self._forget_demand()
            self._lock.notify_all()

    def _forget_demand(self) -> None:
        self._generation += 1  # what is being made for the demand forgotten goes when made
        self._wanted.clear()
        self._asked.clear()
        self._bursts.clear()
        self._busy_asks.clear()
        self._sized.clear()

    def close(self) -> None:
        """Drain, and make no more (the engine stops)."""
        with self._lock:
            self._closed = True
            self._lock.notify_all()
            thread = self._thread
        self.drain()
        if thread is not None:
            thread.join(timeout=5)

    def unowned(self, spare_ids: list[str], live_arns: set[str],
                live_sandboxes: set[str]) -> list[str]:
        """Of the pool containers `spare_ids` (listed before this call), those nobody owns (see
        the module's docstring); none while one is being made (it may be among them)."""
        with self._lock:
            if self._making:
                return []
            ready = {r.sandbox.sandbox_id for shape in self._ready.values() for r in shape}
            doomed = [spare for spare in spare_ids
                      if spare not in ready and self._handed.get(spare) not in live_arns
                      and not any(spare.startswith(s) or s.startswith(spare)
                                  for s in live_sandboxes)]
            for spare in doomed:
                self._handed.pop(spare, None)
            return doomed

    def ready_count(self) -> int:
        with self._lock:
            return sum(len(ready) for ready in self._ready.values())

    # -- the filler ---------------------------------------------------------------------------

    def _want(self, shape: Shape) -> None:
        self._wanted[shape] = None
        self._wanted.move_to_end(shape)
        while len(self._wanted) > MAX_SHAPES:
            old, _ = self._wanted.popitem(last=False)
            for ready in self._ready.pop(old, []):
                self._making += 1  # a drain waits for this removal too
                threading.Thread(target=self._remove_counted, args=(ready.sandbox,),
                                 daemon=True).start()

    def _start_thread(self) -> None:
        if self._thread is None:  # the filler clears it, under the lock, as it ends
            self._thread = threading.Thread(target=self._fill, name="sandbox-pool", daemon=True)
            self._thread.start()

    def _target(self, shape: Shape, now: float) -> int:
        """Spares to keep of `shape`: `size`, or its recent burst (capped by `burst`)."""
        peak, last = self._bursts.get(shape, (0, now))
        if peak < BURST_MIN or now - last >= BURST_MEMORY_S:
            return self.size
        return min(self.burst, max(self.size, peak))

    def _next(self) -> tuple[str, object, int] | None:
        """("make", a shape short of spares) or ("trim", a spare beyond its shape's target),
        once claims have gone quiet (under the lock, waiting)."""
        while not self._closed:
            job = self._job(time.monotonic())
            if job is None:
                self._lock.wait(timeout=IDLE_CHECK_S)  # a burst's memory fades meanwhile
                if not self._wanted:
                    return None  # drained and idle: the thread ends, a claim starts another
                continue
            if self._starting > 0:
                self._lock.wait(timeout=1.0)
                continue
            quiet_for = time.monotonic() - self._last_claim
            if quiet_for < REFILL_QUIET_S:
                self._lock.wait(timeout=REFILL_QUIET_S - quiet_for)
                continue
            kind, what = job
            if kind == "trim":  # no longer ready: removed outside the lock (a drain waits for it)
                shape, ready = what
                self._ready[shape].remove(ready)
                return kind, ready, self._generation
            return kind, what, self._generation
        return None

    def _job(self, now: float) -> tuple[str, object] | None:
        for shape in self._wanted:  # beyond its target: the spares a faded burst kept
            if len(self._ready.get(shape, [])) > self._target(shape, now):
                return "trim", (shape, self._ready[shape][-1])
        total = sum(len(ready) for ready in self._ready.values())
        for shape in reversed(self._wanted):  # the most recently asked for first
            held = len(self._ready.get(shape, []))
            if held < self._target(shape, now) and (held < self.size or total < self.burst):
                return "make", shape
        return None

    def _fill(self) -> None:
        while True:
            with self._lock:
                job = self._next()
                if job is None:
                    self._thread = None
                    return
                self._making += 1
            kind, what, generation = job
            if kind == "trim":
                self._remove_counted(what.sandbox)
                continue
            shape, made = what, None
            try:
                made = self._make(shape)
            except Exception:  # Docker busy or down: try again after a pause, tasks still start
                log.debug("could not make a spare sandbox", exc_info=True)
            with self._lock:
                keep = (made is not None and generation == self._generation and not self._closed
                        and shape in self._wanted)
                if keep:
                    self._ready.setdefault(shape, []).append(made)
            if made is not None and not keep:
                self._remove(made.sandbox)
            with self._lock:
                self._making -= 1
                self._lock.notify_all()
                if made is None and not self._closed:
                    self._lock.wait(timeout=1.0)

    def _make(self, shape: Shape) -> Ready:
        runtime = self._runtime()
        sandbox = runtime.create_sandbox(f"ecs-emulator-pool-{uuid.uuid4().hex[:12]}",
                                         {runtime_labels.CONTAINER_NAME: POOL_NAME}, "awsvpc",
                                         _ports(shape))
        state = runtime.inspect_container(sandbox.sandbox_id) if shape else None
        return Ready(sandbox, state)

    def _remove_counted(self, sandbox: TaskSandbox) -> None:
        self._remove(sandbox)
        with self._lock:
            self._making -= 1
            self._lock.notify_all()

    def _remove(self, sandbox: TaskSandbox) -> None:
        try:
            self._runtime().remove_sandbox(sandbox)
        except Exception:  # the engine's stop removes what is labelled; orphans go at start-up
            log.warning("could not remove spare sandbox %s", sandbox.sandbox_id, exc_info=True)

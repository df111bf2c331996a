"""Who is calling: told from the address a connection comes from, as the ECS agent tells tasks
apart on its bridge.

- HOST: loopback, or an address of this host (a process here, or a container sharing the host's
  network namespace: Linux drops packets from outside that claim a local source address; what
  is this host's: access/host_addresses.py)
- TASK: an address on the emulator's Docker network that belongs to a running task: an awsvpc
  task's address, or a bridge task's container's (or its sandbox's, for one from the pool);
  which task it is: access/live_tasks.py
- NETWORK: another address on the emulator's Docker network (a container someone attached to it,
  or one of a task's between its start and the next look at Docker)
- STRANGER: anything else: Docker's default bridge, another network namespace routed to this
  host, another machine

With ECS_EMULATOR_TASK_NETWORK=default-bridge the tasks' network is Docker's default bridge,
shared with every container on the engine (the user's, other emulators' tasks): there is no
NETWORK there. An address on it is a TASK only while Docker's view puts one of a live task's
containers (or its sandbox) there, that container has not stopped, and the bridge's
anti-spoofing guard holds the address for it (runtime/bridge_guard.py: only the holder's own
bridge port may send from it, so a container elsewhere on the bridge cannot take it by ARP);
anything else on it is a STRANGER. A holder is admitted to the guard right after Docker starts
it: a connection that comes first waits up to ADMIT_WAIT_S for that. So an address a stopped task's container left, which Docker gives the next container
started, is not the task's once the view is read again: a die or destroy of a container of ours
makes the next look ask Docker (forget_view), and the stopped container stops matching once the
engine records its exit. Between Docker freeing the address and the event reaching us (the
events are handled one at a time) a container started there in that instant could still pass for
the task. A view Docker could not refresh is dropped on this network, not kept: its tasks are
strangers until Docker answers (failing closed), as a kept view fails open on a shared bridge.

With several Docker Engines (engine/engines.py) each has its own copy of the network. Those of
the engines on this machine (by their Docker address, with a gateway that is this host's) are
read too, once a task runs there and while the engine answers: an address is looked up on the
first network, in engine order, whose subnets hold it, and is a task's only if that task runs on
that engine. The containers of an engine on another machine reach us from its host's address
(NAT), never with their own: that engine's network is not read, and its containers are STRANGERs
to the listeners containers reach.

Docker's network is read at most every REFRESH_S (one inspect call lists every container's
address), and again when an address is not found among the running tasks, so a container that has
just started is known on its first request (on the shared bridge: once Docker's start event or
the engine's record of it has come, and once per holder missing from the view: see
_worth_reading). No lock is held
across those Docker calls, and each engine's read is waited for READ_TIMEOUT_S at most: an
engine that hangs is left out of the view (its tasks are strangers until it answers) instead of
holding every caller's identification. The default engine's read is waited for longer
(FIRST_READ_TIMEOUT_S) while none of its network is known (an emulator's first container call):
with no view to fall back on, a first read slower than READ_TIMEOUT_S (a loaded machine) would
turn every task's connections away unread until the late answer came. A read that then hangs
holds callers that once: an engine is not asked again while its read is in flight.
An address is not a secret on a shared bridge: on the emulator's own network a task whose
definition adds NET_RAW could impersonate a neighbour's (on the default bridge the guard stops
that), so credentials also need their id (see metadata/routes.py), as on ECS.
"""

from __future__ import annotations

import enum
import ipaddress
import threading
import time
from dataclasses import dataclass, field, replace

from emulator.access import live_tasks
from emulator.access.host_addresses import from_this_host, is_local_address
from emulator.ecs.local_instance import DEFAULT_ENGINE

REFRESH_S = 2.0  # how long Docker's view of the network is trusted
READ_TIMEOUT_S = 1.0  # the longest one engine's network read is waited for
FIRST_READ_TIMEOUT_S = 4.0  # ... the default engine's, while none of it is known (_patience)
# How long a live task's holder on the default bridge may wait for its admission to the guard
# (it starts before it is admitted), polled every ADMIT_POLL_S
ADMIT_WAIT_S = 5.0  # a loaded machine admits seconds after Docker's start; strangers are told at once
ADMIT_POLL_S = 0.01
_UNREAD = object()  # an engine's network that could not be read this time (late or failing)


class CallerKind(enum.Enum):
    HOST = "host"
    TASK = "task"
    NETWORK = "network"
    STRANGER = "stranger"


@dataclass(frozen=True)
class Caller:
    """Who a connection comes from (its CallerKind), from which address, and which task."""
    kind: CallerKind
    address: str
    task_arn: str | None = None
    task_id: str | None = None
    # A container on the emulator's network: its calls are a task's, not the operator's. Set
    # once: every request asks, and reading an enum's members costs a call each.
    from_container: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "from_container",
                           self.kind in (CallerKind.TASK, CallerKind.NETWORK))


_LOOPBACK = {a: Caller(CallerKind.HOST, a) for a in ("127.0.0.1", "::1", "::ffff:127.0.0.1")}


@dataclass(frozen=True)
class _Network:
    """An emulator's Docker network on one engine: its subnets and its containers' addresses."""
    engine: str  # the engine's name (DEFAULT_ENGINE for the one DOCKER_HOST names)
    subnets: tuple
    addresses: dict  # address -> container id
    shared: bool = False  # Docker's default bridge: live tasks' containers only, no NETWORK
    # On a shared one: whether the bridge's anti-spoofing guard holds the address for its
    # admitted holder (bridge_guard.py); asked per connection, a set lookup
    guarded: object = None
    # On a shared one: the addresses a live task's holder had when it was read, for the
    # selector to admit without a look at the tasks (identify() checks again per request)
    live: frozenset = frozenset()


class Callers:
    def __init__(self, state, runtime, engine_runtime=None):
        self._state = state  # EcsState: the tasks
        self._runtime = runtime  # () -> the default engine's runtime; asked lazily
        # name -> the runtime of another engine whose network to read (None: not now: it does
        # not answer, is on another machine, or is gone): engine/engines.py's Engines.readable.
        self._engine_runtime = engine_runtime or (lambda name: None)
        self._lock = threading.Lock()
        self._networks: tuple[_Network, ...] = ()
        self._engines_read: frozenset = frozenset()  # the other engines the last read asked
        self._read_at = 0.0
        self._forgotten = 0  # forget_view calls: a read they overlap is not marked fresh
        self._reading: threading.Event | None = None  # set when the read under way ends
        self._in_flight: dict[str, threading.Thread] = {}  # engine -> its last read's thread
        # engine -> the live tasks' holders its shared bridge lacked after the last read asked
        # for one: a holder that stays missing (dead unrecorded, never attached) is read for once
        self._missing: dict[str, frozenset] = {}

    def identify(self, address: str, this_host: bool | None = None) -> Caller:
        """Who calls from `address`; `this_host`: whether the connection was made on this host,
        if that was told when it arrived (None: tell it here)."""
        if address in _LOOPBACK:  # nearly every call of the operator's: no parsing
            return _LOOPBACK[address]
        try:
            ip = ipaddress.ip_address(address.split("%")[0])
        except ValueError:  # a Unix socket, or no peer at all: nothing to tell it by
            return Caller(CallerKind.STRANGER, address)
        if getattr(ip, "ipv4_mapped", None):  # a dual-stack listener's view of an IPv4 peer
            ip = ip.ipv4_mapped
        if _of_this_host(ip, this_host):
            return Caller(CallerKind.HOST, address)
        asked = time.monotonic()
        network = self._network_of(ip, asked)
        if network is None:
            return Caller(CallerKind.STRANGER, address)
        task = self._task_at(str(ip), network.engine, asked)
        if task is None:
            return Caller(CallerKind.STRANGER if network.shared else CallerKind.NETWORK, address)
        if network.shared and not _guarded(network, str(ip), ADMIT_WAIT_S):
            return Caller(CallerKind.STRANGER, address)
        return Caller(CallerKind.TASK, address, task_arn=task.arn, task_id=task.id)

    def admits(self, address: str, wait: bool = True,
               this_host: bool | None = None) -> bool | None:
        """Whether `address` is no stranger's: this host's, or on one of the emulator's networks
        (which task it is, if any, does not matter here; on the default bridge, only a live
        task's is admitted). With wait=False, None where telling needs a look at Docker or at
        the tasks: the caller asks again on a thread that may wait for it (a stranger is told
        there too, so many cost the selector nothing)."""
        if address in _LOOPBACK:
            return True
        try:
            ip = ipaddress.ip_address(address.split("%")[0])
        except ValueError:
            return False
        if getattr(ip, "ipv4_mapped", None):
            ip = ip.ipv4_mapped
        if _of_this_host(ip, this_host):
            return True
        asked = time.monotonic()
        if wait:
            network = self._network_of(ip, asked)
            if network is not None and network.shared:
                return (self._task_at(str(ip), network.engine, asked) is not None
                        and _guarded(network, str(ip), ADMIT_WAIT_S))
            return network is not None
        if self._read_at < asked - REFRESH_S:
            return None
        # Without the lock, which a thread reading Docker may hold: the view is one tuple. On
        # the shared bridge a live task's address as of the read is admitted here, so tasks
        # never queue behind strangers; any other waits for the tasks to decide (a container
        # that has just started is not in the view yet), which costs a stranger no Docker read.
        network = self._find(ip)
        if network is None:
            return None
        if not network.shared:
            return True
        return True if str(ip) in network.live and _guarded(network, str(ip), 0) else None

    def forget_view(self) -> None:
        """Docker told of a container of ours that started, died or went
        (engine/task_events.py), so the next look asks Docker, not a view trusted for
        REFRESH_S: a freed address is Docker's to give again at once, before the exit is
        recorded, and a container just started may call before its start is."""
        with self._lock:  # held briefly by a read: never across Docker's calls
            self._forgotten += 1  # a read under way then does not mark its view fresh
            self._read_at = 0.0  # one float: admits() reads it without the lock

    # -- Docker's view ------------------------------------------------------------------------

    def _network_of(self, ip, asked: float) -> _Network | None:
        self._read(older_than=asked - REFRESH_S)
        network = self._find(ip)
        # Not on any network we know: maybe a task on an engine whose network was not read yet
        # (its first task); strangers cost one look at the tasks, not at Docker.
        if network is None and live_tasks.engines_with_tasks(self._state) - self._engines_read:
            self._read(older_than=asked)
            network = self._find(ip)
        return network

    def _find(self, ip) -> _Network | None:
        return next((n for n in self._networks if any(ip in s for s in n.subnets)), None)

    def _network_on(self, engine: str) -> _Network | None:
        """The view's network on `engine` (one at most). A loop, not next() over a generator:
        every task's request asks."""
        for network in self._networks:
            if network.engine == engine:
                return network
        return None

    def _task_at(self, address: str, engine: str, asked: float):
        task, holders = self._live_task(address, engine)
        # Not found: look at Docker again, unless someone did since this request came (a
        # container that has just started makes its first calls at once; they share one look).
        if task is None and self._worth_reading(engine, holders):
            self._read(older_than=asked)
            task, holders = self._live_task(address, engine)
            network = self._network_on(engine)
            if network is not None and network.shared:
                self._missing[engine] = self._missing_holders(network, holders)
        return task

    def _worth_reading(self, engine: str, holders: frozenset | None) -> bool:
        """Whether Docker's view may have changed for a task since it was read. On the shared
        default bridge, only when a live task's namespace holder (its sandbox, or a bridge
        container that attached itself) that has started is missing from it and was not when
        a read was last asked for: otherwise a stranger's every connection would cost a read
        of Docker (one holder dead unrecorded, or several starting: minutes), and one could
        keep the listener's one deciding thread busy with them. `holders`: those _live_task
        found walking the tasks, if it did."""
        network = self._network_on(engine)
        if network is None or not network.shared:
            return True
        missing = self._missing_holders(network, holders)
        return bool(missing - self._missing.get(engine, frozenset()))

    def _missing_holders(self, network: _Network, holders: frozenset | None) -> frozenset:
        """The live tasks' namespace holders on `network`'s engine that its read lacks.
        `holders`: those the walk of the tasks gathered, None where it did not (it stopped at a
        task, or was not asked to: see live_tasks.live_task), so they are gathered here."""
        if holders is None:
            holders = live_tasks.holders(self._state, network.engine)
        return holders - set(network.addresses.values())

    def _live_task(self, address: str, engine: str) -> tuple:
        """live_tasks.live_task on `engine`'s network as last read."""
        return live_tasks.live_task(self._state, address, engine, self._network_on(engine))

    def _with_live(self, network):
        """A shared network read, with the addresses of live tasks' holders on it (`live`)."""
        if not isinstance(network, _Network) or not network.shared:
            return network
        holders = live_tasks.holders(self._state, network.engine)
        return replace(network, live=frozenset(
            address for address, container in network.addresses.items() if container in holders))

    def _read(self, older_than: float) -> None:
        """Read the networks again if what we have was read before `older_than`. One thread
        reads at a time, outside the lock (others wait for it, then answer from its view); each
        engine is waited for READ_TIMEOUT_S at most, and one whose read hangs is left out of the
        view until it answers (its tasks' calls are strangers' meanwhile, as for an engine that
        does not answer), so a hung engine never holds the gate."""
        with self._lock:
            if self._read_at >= older_than:
                return
            reading, mine = self._reading, self._reading is None
            if mine:
                reading = self._reading = threading.Event()
            # The view is as old as the read's start, and stale if Docker told of a change
            # while it was under way (the read may have seen Docker from before it).
            began, forgotten = time.monotonic(), self._forgotten
        if not mine:  # the reader's waits are bounded: this is a safety net
            reading.wait(READ_TIMEOUT_S * 5)
            return
        try:
            engines = live_tasks.engines_with_tasks(self._state)
            networks = self._read_engines(
                [(DEFAULT_ENGINE, self._runtime, False)]
                + [(name, lambda n=name: self._engine_runtime(n), True)
                   for name in sorted(engines)])
            hanging = {name for name, thread in self._in_flight.items() if thread.is_alive()}
            with self._lock:
                # one still hanging is asked again once it answers, as one not read yet
                self._engines_read = engines - hanging
                kept = {n.engine: n for n in self._networks}
                # An engine that did not answer in time (or failed) keeps what was last read of
                # its own network: its tasks stay tasks, not strangers, while Docker is slow.
                # Not of a shared bridge, where Docker gives a freed address to the next
                # container started (after a dockerd restart, to restart=always ones): a stale
                # view would make that stranger a task, so its tasks are strangers until
                # Docker answers.
                self._networks = tuple(
                    n for n in (_kept(kept.get(name)) if network is _UNREAD else network
                                for name, network in networks)
                    if n is not None)
                if self._forgotten == forgotten:  # last: admits() reads without the lock
                    self._read_at = began
        finally:
            with self._lock:
                self._reading = None
            reading.set()

    def _read_engines(self, engines: list) -> list:
        """(engine, its network) for each, read on a thread of its own: None for one with no
        network of ours to read, _UNREAD for one that failed, or did not answer within
        its patience (or whose read from before still hangs: not asked again). A read that
        answers late puts what it read in the view then (_late)."""
        found: dict[str, _Network | None] = {}
        done = threading.Event()  # set when the round stops waiting
        threads = []
        for name, runtime_of, local_only in engines:
            previous = self._in_flight.get(name)
            if previous is not None and previous.is_alive():
                continue

            def read(name=name, runtime_of=runtime_of, local_only=local_only) -> None:
                network = self._with_live(self._members(name, runtime_of, local_only))
                with self._lock:
                    found[name] = network
                    if done.is_set():  # the round waited no longer for this one
                        self._late(name, network)

            thread = threading.Thread(target=read, name=f"callers-{name}", daemon=True)
            self._in_flight[name] = thread
            thread.start()
            threads.append((self._patience(name), thread))
        began = time.monotonic()
        for patience, thread in threads:
            thread.join(max(0.0, began + patience - time.monotonic()))
        with self._lock:
            done.set()
            return [(name, found.get(name, _UNREAD)) for name, _, _ in engines]

    def _patience(self, engine: str) -> float:
        """How long a round waits for `engine`'s read: longer for the default engine's while
        none of its network is known (no view to fall back on: see the module's docstring)."""
        if engine == DEFAULT_ENGINE and self._network_on(engine) is None:
            return FIRST_READ_TIMEOUT_S
        return READ_TIMEOUT_S

    def _late(self, engine: str, network) -> None:
        """What a read that outlived its round found (under the lock): the engine's part of the
        view, replaced. No newer read of it can have come first: an engine is not asked again
        while its read is in flight."""
        if network is _UNREAD:  # failed: what was last read of it stays (not of a shared one)
            mine = self._network_on(engine)
            if _kept(mine) is mine:
                return
            network = None
        others = tuple(n for n in self._networks if n.engine != engine)
        self._networks = others + ((network,) if network is not None else ())

    @staticmethod
    def _members(engine: str, runtime_of, local_only: bool) -> _Network | None:
        try:
            runtime = runtime_of()
            if runtime is None:
                return None
            # Another machine's engine: its containers never call us with their own addresses.
            if local_only and not is_local_address(runtime.ensure_network()[1]):
                return None
            members = runtime.network_members()
        except Exception:  # Docker failing: what was last read of it stays (not of a shared one)
            return _UNREAD
        return _Network(engine, tuple(ipaddress.ip_network(s, strict=False)
                                      for s in members.subnets), dict(members.addresses),
                        shared=members.shared, guarded=members.guarded)


def _guarded(network: _Network, address: str, patience: float) -> bool:
    """Whether the default bridge's guard holds `address` for its holder, waiting up to
    `patience` s for it: a bridge container is admitted right after Docker starts it, and may
    call at once, before its admission has landed."""
    guarded = network.guarded
    if guarded is None:  # no guard: no address on the shared bridge is a task's
        return False
    deadline = time.monotonic() + patience
    while not guarded(address):
        if time.monotonic() >= deadline:
            return False
        time.sleep(ADMIT_POLL_S)
    return True


def _kept(network: _Network | None) -> _Network | None:
    """What stays of an engine's network while Docker does not answer: none of a shared one."""
    return None if network is None or network.shared else network


def _of_this_host(ip, told: bool | None) -> bool:
    """Whether `ip` is this host's: as told when the connection arrived, or found out from the
    address alone (a bind probe, tens of microseconds: done once per connection where it was
    told)."""
    return told if told is not None else from_this_host(str(ip))

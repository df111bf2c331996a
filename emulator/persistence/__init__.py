"""State that survives a restart (ECS_EMULATOR_PERSIST=1, under ECS_EMULATOR_DATA_DIR/state).

Modules: snapshot (pickling without machinery; atomic, fsynced files), parts (ECS, ECR, hooks),
moto_parts (one part per moto service), keeper (which part is written when; reading back),
requests (a mutating request's parts are written before its response), adoption (a restarted
emulator takes back its tasks' containers). `keeper_for` and `attach` are what app.py calls.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when persistence is on: a plain start-up does without it
    from emulator.persistence.keeper import Keeper

log = logging.getLogger("emulator.persistence")

STATE_DIRECTORY = "state"


def keeper_for(settings) -> Keeper | None:
    """The keeper of the state directory, or None when persistence is off."""
    if not settings.persist:
        return None
    from emulator.config import PERSIST_NEEDS_DATA_DIR
    from emulator.persistence.keeper import Keeper

    if not settings.data_dir:  # (from_env refuses this; Settings made in code may not)
        raise ValueError(PERSIST_NEEDS_DATA_DIR)
    return Keeper(Path(settings.data_dir).resolve() / STATE_DIRECTORY)


def attach(emulator, keeper: Keeper) -> None:
    """Read the state back and keep it written from now on; adopt tasks when the emulator starts."""
    from api_shapes import load_service
    from emulator.persistence.adoption import adopt
    from emulator.persistence.parts import EcrPart, EcsPart, HooksPart
    from emulator.persistence.requests import DurableRequests
    from emulator.persistence.start_ports import StartPorts

    engine, state = emulator.engine, emulator.ecs
    start_ports = StartPorts(lambda: emulator.http_port)
    engine.hooks.append(start_ports)
    holders = list(engine.hooks) + [getattr(listener, "__self__", None)
                                    for listener in engine.task_listeners]
    keeper.add_parts([EcsPart(state), EcrPart(emulator.ecr), HooksPart(state, holders)],
                     load_moto=emulator.moto.load)
    restored = keeper.restore()
    if restored:
        _after_reboot(state, emulator.settings)
        _settle_stacks()
    state.listeners.append(keeper.ecs_changed)
    engine.task_listeners.append(lambda store, task: keeper.ecs_changed())
    ecr = emulator.ecr
    emulator.wsgi = DurableRequests(emulator.wsgi, keeper, load_service("ecs").target_prefix,
                                    load_service("ecr").target_prefix,
                                    lambda: ecr.changes if ecr is not None else 0)

    def start() -> None:
        adopted = 0
        if restored:
            try:
                adopted = adopt(engine, state)
            except Exception as error:  # no Docker: starting anyway would run every task twice
                raise RuntimeError(f"cannot adopt the persisted tasks (is the Docker Engine "
                                   f"up?): {error}") from error
            log.info("state read back from %s; %d tasks adopted", keeper.directory, adopted)
            if adopted:
                _listen_for_adopted(emulator, state)
            if engine.engines is not None:  # and those adopted on an engine added later
                engine.engines.on_added.append(lambda added: _listen_for_adopted(emulator, state))
        if emulator.http_port:
            _warn_of_old_ports(state, start_ports, emulator.http_port,
                               keeper.port_change(emulator.http_port))
        keeper.start()

    emulator.starters.append(start)
    emulator.closers.append(keeper.stop)


def _warn_of_old_ports(state, start_ports, port: int, last_run: int | None) -> None:
    """One line for each port adopted tasks were started on other than `port`, at every start
    while any such task runs."""
    from emulator.runtime.status import TaskStatus

    with state.lock:  # tasks whose containers exist: their environment is fixed
        tasks = [task for store in state.stores() for task in store.tasks.values()
                 if task.known < TaskStatus.STOPPED
                 and any(c.runtime_id for c in task.containers)]
        elsewhere = start_ports.elsewhere(tasks, port, last_run)
    for old, count in sorted(elsewhere.items()):
        log.warning(_PORT_CHANGED, count, old, port, old)


# The containers' environment was set at their start and cannot change: their AWS SDK calls and
# metadata requests go to the old port, where nothing listens now.
_PORT_CHANGED = ("%d adopted tasks were started on port %d, this emulator serves port %d: their "
                 "containers keep AWS_ENDPOINT_URL and the metadata URIs of port %d (calls there "
                 "fail); restart on that port, or stop the tasks (a service replaces them)")


def _listen_for_adopted(emulator, state) -> None:
    """Open what the adopted tasks' containers call (their engine's gateway listener, at the
    address their environment was given at their start), as a new task's start does; and
    where that is the host's loopback (Docker Desktop), the control token goes on now, not at
    the next new task."""
    from emulator.runtime.status import TaskStatus

    engine = emulator.engine
    runtimes = {}  # as app.py's BaseEnvironment gives a task its endpoint
    with state.lock:
        for store in state.stores():
            for task in store.tasks.values():
                if task.known < TaskStatus.STOPPED:
                    runtime = engine.runtime_of(task) if engine.engines.on_this_machine(
                        task) else None
                    runtimes[id(runtime)] = runtime
    for runtime in runtimes.values():
        try:
            emulator.container_endpoint(runtime)
        except Exception:  # Docker gone again: the next task's start opens it
            log.warning("cannot open the listener adopted tasks call", exc_info=True)


def _settle_stacks() -> None:
    """A stack operation runs inside its API call: one the kill cut short is over, and its
    stack must not show it in progress for good (stack_lock.settle_interrupted)."""
    from emulator.cloudformation.stack_lock import settle_interrupted

    settled = settle_interrupted()
    if settled:
        log.info("%d stacks were in an operation when the emulator stopped: marked failed",
                 settled)


def _after_reboot(state, settings) -> None:
    """The scheduler's launch back-off is a time.monotonic() instant, which restarts from zero
    when the machine does: one saved before a reboot must not hold a service back for hours."""
    latest = time.monotonic() + settings.max_launch_backoff_s
    with state.lock:
        for store in state.stores():
            for service in store.services.values():
                service.next_launch_at = min(service.next_launch_at, latest)

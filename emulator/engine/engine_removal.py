"""Removing a Docker Engine while the emulator runs (DELETE /_emulator/engines/NAME,
`ecs-emulator engines remove NAME [--force]`).

As ECS's DeregisterContainerInstance: the engine's container instances go INACTIVE in every
cluster (DescribeContainerInstances shows them so, ListContainerInstances no longer lists them
as ACTIVE); with tasks still running there the removal is refused, unless forced. Forced, those
tasks are stopped (TerminationNotice, as for an instance that goes away: ECS leaves them
orphaned, but here their containers go with the engine), and services start their replacements
on the engines that remain. Then the engine's event stream, health probe and outage handling
end, this emulator's containers, networks and volumes there are removed (unless another engine
is the same daemon, which only an engine that did not answer at start can be:
engine_identity.py), and its Docker client is closed. The default engine (DOCKER_HOST's) is never removed: the emulator's own resources
(the sandbox pool, the task network) live there.
"""

from __future__ import annotations

import logging
import time

from emulator.ecs import container_instances
from emulator.ecs.local_instance import DEFAULT_ENGINE
from emulator.runtime.status import TaskStatus

log = logging.getLogger("emulator.engine")

REMOVED_REASON = "Task stopped: its Docker Engine {} was removed from the emulator"
# How long a forced removal waits for the stopped tasks' runners before it takes the engine away
# under them (their containers are killed, not given their stopTimeout: the engine is going, as
# an instance that is terminated; and the control call must answer within the CLI's 30 s).
RUNNERS_WAIT_S = 20.0


class EngineNotFound(LookupError):
    pass


class EngineInUse(ValueError):
    pass


def remove(engines, name: str, force: bool = False, wait_s: float = RUNNERS_WAIT_S) -> dict:
    """Remove the engine `name` (engines: engines.Engines); what it was, as `describe` shows.
    ValueError for the default engine, EngineNotFound for a name not known, EngineInUse for
    tasks still on it without `force`."""
    from emulator.engine.engines import describe

    if name == DEFAULT_ENGINE:
        raise ValueError("the default engine (the one DOCKER_HOST names) cannot be removed")
    task_engine = engines.task_engine
    state = task_engine.state
    with state.lock:
        engine = engines.engines.get(name)
        if engine is None:
            raise EngineNotFound(f"no engine named {name!r} (`ecs-emulator engines` lists them)")
        on_it = [(store, task) for store in state.stores() for task in store.tasks.values()
                 if task.engine == name and task.known < TaskStatus.STOPPED]
        running = [task for _, task in on_it if not task.stop_requested]
        if running and not force:
            raise EngineInUse(
                f"{len(running)} tasks still run on the engine {name!r}: stop them first, or "
                "remove it with force (its tasks are stopped, services replace them elsewhere)")
        engines.removing.add(name)  # before it leaves `engines`: never both absent meanwhile
        del engines.engines[name]  # no task is placed on it from now on
        engines.removed[name] = engine
        # Before the lock is let go: the scheduler, woken below, may take it first, and an
        # EC2 placement would register the engine again from a list that still had it.
        engines.tell_local_host()
        deregistered = _deregister(state, name)
        for store, task in on_it:
            task.stop_grace_s = 0
            state.door.stop(store, task, "TerminationNotice", REMOVED_REASON.format(name))
        state.changed.notify_all()
    try:
        _retire(engines, engine, name, task_engine, on_it, wait_s)
    finally:
        engines.removing.discard(name)
    log.info("Docker Engine %s removed: %d container instances deregistered, %d tasks stopped",
             name, deregistered, len(on_it))
    return describe(engine)


def _retire(engines, engine, name: str, task_engine, on_it: list, wait_s: float) -> None:
    """After the engine left the list: its tasks waited for, then its threads, pool, our
    resources on it and its client gone."""
    _wait_for(task_engine, [task for _, task in on_it], wait_s)
    engine.unwatched.set()
    engine.health.stop()
    engine.outage.close()
    pool = getattr(engine, "sandboxes", None)  # an engine's own pool of ready sandboxes, if any
    if pool is not None and pool is not task_engine.sandboxes:
        pool.close()  # before the sweep below: a spare made after it would be left
    other = engines.shares_daemon(engine)
    if other is not None:  # the same daemon as `other` (engine_identity.py): its resources stay
        log.warning("the Docker Engine %s is the daemon of the engine %s: its resources there "
                    "are left to that engine", name, other)
    else:
        try:
            engine.runtime.remove_labelled({})
        except Exception:  # the engine is gone: the next emulator there removes our orphans
            log.warning("could not remove this emulator's resources from the Docker Engine %s",
                        name, exc_info=True)
    engines.identities.forget(name)
    # For good: a task of it still asked for (its logs, stats, a runner outliving the wait)
    # answers that the engine was removed, never through a client made again and left open.
    engine.runtime.close(why=f"its engine {name} was removed from the emulator")


def _deregister(state, name: str) -> int:
    """Each cluster's instance of the engine INACTIVE, as DeregisterContainerInstance with
    force leaves it (under the state lock)."""
    count = 0
    for store in state.stores():
        for instance in list(store.container_instances.values()):
            if instance.auto_registered and (instance.engine or DEFAULT_ENGINE) == name \
                    and instance.status != "INACTIVE":
                cluster = store.clusters.get(instance.cluster_name)
                if cluster is not None:
                    container_instances.deregister(store, cluster, instance.arn, force=True)
                count += 1
    return count


def _wait_for(task_engine, tasks: list, wait_s: float) -> None:
    """Until the runners of `tasks` have finished (stopped and removed their containers)."""
    arns = {task.arn for task in tasks}
    deadline = time.monotonic() + wait_s
    while arns & task_engine.tasks_with_runners() and time.monotonic() < deadline:
        time.sleep(0.1)

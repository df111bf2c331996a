"""Which live task an address on a Docker network is, from the tasks the emulator runs: the walks
of the task store that access/callers.py makes once it knows which engine's network an address
is on (Docker's view of the networks, and why it is read when, are callers.py's).

A task is live until DEPROVISIONING: from then on its containers have exited and its sandbox is
being removed, so its address is Docker's to give to the next container started. On Docker's
default bridge the container Docker has at an address, not the address, says whose it is
(holding_task); on the emulator's own network an awsvpc task is known by its address too.
"""

from __future__ import annotations

from emulator.ecs.local_instance import DEFAULT_ENGINE
from emulator.runtime.status import ContainerStatus, TaskStatus


def engines_with_tasks(state) -> frozenset:
    """The engines other than the default that run a task whose address may call."""
    with state.lock:
        return frozenset(task.engine for store in state.stores()
                         for task in store.tasks.values()
                         if task.engine not in (None, DEFAULT_ENGINE)
                         and task.known < TaskStatus.DEPROVISIONING)


def live_task(state, address: str, engine: str, network) -> tuple:
    """(the live task at `address` on `engine`'s network (`network`, as last read: None if
    not), else None; on a shared one, when no task is there and the address held no live task's
    namespace when Docker was read, the live tasks' holders, for callers' _worth_reading, else
    None)."""
    if network is not None and network.shared:
        # An address in `live` is most likely a task's call, whose walk stops at the task:
        # gathering the holders on the way there would cost every such call.
        return holding_task(state, network.addresses.get(address), engine,
                            gather=address not in network.live)
    container_id = network.addresses.get(address) if network is not None else None
    with state.lock:
        for store in state.stores():
            for task in store.tasks.values():
                # From DEPROVISIONING on its containers have exited and its sandbox is being
                # removed: its address is no longer its (Docker may give it to another).
                if task.known >= TaskStatus.DEPROVISIONING:
                    continue
                if (task.engine or DEFAULT_ENGINE) != engine:
                    continue  # the same address on another engine's network is not it
                if task.network_mode == "awsvpc" and task.private_ip == address:
                    return task, None
                if container_id and (container_id == task.sandbox_id or any(
                        c.runtime_id == container_id for c in task.containers)):
                    return task, None
    return None, None


def holding_task(state, container_id: str | None, engine: str, gather: bool = True):
    """On Docker's default bridge the container Docker has at an address, not the address,
    says whose it is: (the live task on `engine` holding `container_id` (_holds), None),
    else (None, with `gather` the live tasks' namespace holders there (_holder_ids)). A
    stranger needs both: one walk of the tasks, not two."""
    holders = set()
    with state.lock:
        for store in state.stores():
            for task in store.tasks.values():
                if (task.known >= TaskStatus.DEPROVISIONING
                        or (task.engine or DEFAULT_ENGINE) != engine):
                    continue
                if container_id and _holds(task, container_id):  # none there: no task's
                    return task, None
                if gather:
                    holders.update(_holder_ids(task))
    return None, frozenset(holders) if gather else None


def holders(state, engine: str) -> frozenset:
    """The container ids holding a live task's namespace on `engine` (_holder_ids)."""
    return holding_task(state, None, engine)[1]


def _holder_ids(task) -> tuple:
    """The container ids holding `task`'s namespace: its sandbox, or its bridge containers
    started and not stopped (one created waits for its dependsOn with no address: nothing to
    read for)."""
    if task.sandbox_id:
        return (task.sandbox_id,)
    if task.network_mode == "bridge":
        return tuple(c.runtime_id for c in task.containers
                     if c.runtime_id and c.started and c.known < ContainerStatus.STOPPED)
    return ()


def _holds(task, container_id: str) -> bool:
    """Whether `container_id` is `task`'s sandbox, or one of its containers that has not
    stopped (a stopped one's address is Docker's to give to the next container started)."""
    return container_id == task.sandbox_id or any(
        c.runtime_id == container_id and c.known < ContainerStatus.STOPPED
        for c in task.containers)

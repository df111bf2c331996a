"""Load balancer targets of service tasks, kept in moto's ELBv2 target groups (a task hook).

When a task of a service with `loadBalancers` reaches RUNNING, each entry registers it in its
target group, as ECS does: a target group of type `ip` (awsvpc tasks) gets the task's private IP
and the container port; one of type `instance` (bridge and host tasks) gets the container
instance's EC2 instance id and the host port the container port is published on. Before the
task's containers stop, it is deregistered again, so DescribeTargetHealth lists the running
tasks. The service shows "registered N targets in (target-group ...)" events as on ECS.

A task whose essential containers have a health check that has not yet passed joins as
`initial` (ELB's "Target registration is in progress"), and turns `healthy` once its service's
scheduler sees it serve: ECS counts a task behind a load balancer as healthy only once its
target is, so the group should not call a target healthy that the service does not count yet
(its app may not even listen). ELB's own health checks are not run (README).

What was registered is remembered per task, so a task is deregistered from exactly the groups
it joined even if the service's loadBalancers changed since.

moto keys a target group's targets by Id alone, but ECS puts several tasks of one instance into
a group on different host ports (and here every EC2 task runs on the one local host): the app
installs target_group_ports.py, which keys them by (Id, Port) as ELB does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from emulator.ecs.service_load_balancers import TargetGroup
from emulator.engine.hooks import TaskHook
from emulator.engine.target_group_balancers import forwarding_to
from emulator.engine.target_group_ports import HEALTHY, INITIAL, REGISTER_STATE, target_key
from emulator.runtime.status import HealthStatus

log = logging.getLogger("emulator.load_balancing")

@dataclass
class Registration:
    """One target registered in a target group for a task."""
    target_group_arn: str
    target: dict  # {"Id", "Port"} as ELBv2 takes it


@dataclass
class _Planned:
    """What one service's loadBalancers mean for one task, worked out under the state lock."""

    service: object
    targets: list[Registration] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (target group, why)


class LoadBalancerTargets(TaskHook):
    persistent_fields = ("_registered", "_initial")  # kept across a restart (persistence/parts.py)

    def __init__(self, state, moto):
        self._state = state
        self._moto = moto
        self._registered: dict[str, list[Registration]] = {}  # task ARN -> what it joined
        self._initial: set[str] = set()  # task ARNs whose targets are `initial`

    # -- the task hook -----------------------------------------------------------------------------

    def on_running(self, store, task) -> None:
        with self._state.lock:
            service = service_of(store, task)
            if service is None or not service.load_balancers:
                return
            balancers = [dict(b) for b in service.load_balancers]
            # Marked before its targets exist: a pass that sees the task serve meanwhile leaves
            # it (nothing recorded yet) to the locked block below, which cannot miss it.
            awaiting = _awaits_health_check(task)
            if awaiting:
                self._initial.add(task.arn)
        planned = _Planned(service)
        for balancer in balancers:
            self._plan(store, task, balancer, planned)
        done = []
        for registration in planned.targets:
            # Registered `initial` in one step, so DescribeTargetHealth never reads it healthy.
            error = self._call("register_targets", registration,
                               INITIAL if awaiting else None)
            if error:
                planned.failures.append((registration.target_group_arn, error))
            else:
                done.append(registration)
        with self._state.lock:
            self._registered.setdefault(task.arn, []).extend(done)
            if task.arn in self._initial and (not done or task.serving):
                self._initial.discard(task.arn)  # nothing joined, or it served meanwhile
                self._set_state(task, HEALTHY)
            for arn in _groups(done):
                service.add_event(f"registered 1 targets in (target-group {arn})")
            for arn, why in planned.failures:
                service.add_event(f"failed to register targets in (target-group {arn}) "
                                  f"with (error {why})")

    def on_service_pass(self, store, service) -> None:
        """After each scheduler pass (under the lock): targets of tasks that now serve turn
        `healthy`. Only the tasks still `initial` are looked at, not every task of the store;
        one whose registration is still under way (none recorded) is left to on_running."""
        for arn in list(self._initial):
            task = store.tasks.get(arn)
            if task is not None and task.serving and arn in self._registered:
                self._initial.discard(arn)
                self._set_state(task, HEALTHY)

    def on_adopted(self, store, task) -> None:
        """A task a restarted emulator took back (persistence/adoption.py). The state may have
        been written between this hook's part and moto's: a target moto kept `initial` that
        this hook no longer awaits is awaited again, and turns healthy now if the task serves."""
        with self._state.lock:
            registrations = list(self._registered.get(task.arn, []))
            if task.arn in self._initial or not any(
                    self._state_of(r) == INITIAL for r in registrations):
                return
            self._initial.add(task.arn)
            if task.serving:
                self._initial.discard(task.arn)
                self._set_state(task, HEALTHY)

    def on_stopping(self, store, task) -> None:
        with self._state.lock:
            registrations = self._registered.pop(task.arn, [])
            self._initial.discard(task.arn)
            service = service_of(store, task)
        if not registrations:
            return
        for registration in registrations:
            error = self._call("deregister_targets", registration)
            if error:
                log.info("deregistering %s: %s", registration.target, error)
        if service is not None:
            with self._state.lock:
                service.add_event("has begun draining connections on 1 tasks.")
                for arn in _groups(registrations):
                    service.add_event(f"deregistered 1 targets in (target-group {arn})")

    # -- what the fault endpoint asks -------------------------------------------------------------

    def set_health(self, task, state: str) -> int:
        """Make the task's targets report `state` (healthy, unhealthy or initial); how many
        there are. The fault's state stays: no later pass turns the targets healthy."""
        with self._state.lock:
            self._initial.discard(task.arn)
        return self._set_state(task, state)

    def _set_state(self, task, state: str) -> int:
        with self._state.lock:
            registrations = list(self._registered.get(task.arn, []))
        count = 0
        for registration in registrations:
            target = self._moto_target(registration)
            if target is not None:
                target["State"] = state
                count += 1
        return count

    def _state_of(self, registration: Registration) -> str | None:
        """What moto's target reports (HEALTHY where no State was set), None if it is gone."""
        target = self._moto_target(registration)
        return None if target is None else target.get("State", HEALTHY)

    def _moto_target(self, registration: Registration) -> dict | None:
        group = self._target_group(registration.target_group_arn)
        key = target_key(registration.target["Id"], registration.target["Port"])
        return group.targets.get(key) if group is not None else None

    # -- what CreateService asks (the store's contributions.target_group) ----------------------

    def target_group(self, arn: str) -> TargetGroup | None:
        """The target group as ECS checks it, or None when ELBv2 has none of that ARN.

        Called under the ECS state lock: before anything loaded moto no target group can exist,
        and importing moto here would stall every ECS call for the import."""
        if not self._moto.loaded:
            return None
        group = self._target_group(arn)
        if group is None:
            return None
        # Asked of the listeners, not of moto's bookkeeping (target_group_balancers.py).
        return TargetGroup(group.target_type, tuple(forwarding_to(self._backend(arn), arn)))

    # -- targets -----------------------------------------------------------------------------------

    def _plan(self, store, task, balancer: dict, planned: _Planned) -> None:
        arn = balancer.get("targetGroupArn")
        if not arn:
            planned.failures.append((balancer.get("loadBalancerName", "?"),
                                     "Classic Load Balancers are not emulated"))
            return
        group = self._target_group(arn)
        if group is None:
            planned.failures.append((arn, "The target group does not exist"))
            return
        with self._state.lock:
            target, why = self._target(store, task, balancer, group.target_type,
                                       _protocol_of(group))
        if target is None:
            planned.failures.append((arn, why))
        else:
            planned.targets.append(Registration(arn, target))

    def _target(self, store, task, balancer: dict, target_type: str, protocol: str):
        container = task.container(balancer.get("containerName", ""))
        port = balancer.get("containerPort")
        if container is None:
            return None, f"The task has no container {balancer.get('containerName')}"
        if target_type == "ip":
            if task.network_mode != "awsvpc" or not task.private_ip:
                return None, (f"The target group has target type ip, which is incompatible with "
                              f"the {task.network_mode} network mode")
            return {"Id": task.private_ip, "Port": port}, None
        if target_type != "instance":
            return None, f"Target type {target_type} is not supported for ECS services"
        if task.network_mode == "awsvpc":
            return None, ("The target group has target type instance, which is incompatible "
                          "with the awsvpc network mode")
        instance = store.container_instances.get(task.container_instance_arn or "")
        if instance is None or not instance.ec2_instance_id:
            return None, "The task has no container instance with an EC2 instance id"
        host_port = port if task.network_mode == "host" else container.host_port(port, protocol)
        if host_port is None:
            return None, f"Container port {port} of {container.name} is not published"
        return {"Id": instance.ec2_instance_id, "Port": host_port}, None

    # -- moto --------------------------------------------------------------------------------------

    def _backend(self, target_group_arn: str):
        region, account = _region_account(target_group_arn)
        return self._moto.backend("elbv2", account, region)

    def _target_group(self, arn: str):
        try:
            return self._backend(arn).target_groups.get(arn)
        except Exception:  # a malformed ARN names no group
            log.debug("no target group %s", arn, exc_info=True)
            return None

    def _call(self, method: str, registration: Registration, state: str | None = None
              ) -> str | None:
        """Call the ELBv2 backend (a target registered with `state` has it from the start);
        the error's message, or None when it worked."""
        target = dict(registration.target)
        if state:
            target[REGISTER_STATE] = state
        try:
            getattr(self._backend(registration.target_group_arn), method)(
                registration.target_group_arn, [target])
        except Exception as error:  # moto's errors are what ELB would answer ECS
            return getattr(error, "message", None) or str(error) or type(error).__name__
        return None


def _awaits_health_check(task) -> bool:
    """An essential container's health check has not passed yet: the service does not count
    the task as serving (task_model.Task.serving)."""
    checked = any(c.essential and c.has_health_check for c in task.containers)
    return checked and task.health != HealthStatus.HEALTHY


def service_of(store, task):
    """The service a task belongs to (its group is "service:<name>"), or None."""
    group = task.group or ""
    if not group.startswith("service:"):
        return None
    return store.services.get((task.cluster_name, group[len("service:"):]))


def _protocol_of(group) -> str:
    """The transport a target group's targets take: UDP for a UDP group, TCP for the rest
    (HTTP, HTTPS, TCP, TLS, and TCP_UDP's TCP side)."""
    return "udp" if (getattr(group, "protocol", None) or "").upper() == "UDP" else "tcp"


def _groups(registrations: list[Registration]) -> list[str]:
    return list(dict.fromkeys(r.target_group_arn for r in registrations))


def _region_account(arn: str) -> tuple[str, str]:
    parts = arn.split(":")
    return parts[3], parts[4]

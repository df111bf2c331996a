"""Placing EC2-launch-type tasks on container instances, as ECS's scheduler does.

For each task, in turn (ECS's order, from the Developer Guide's "Task placement"):
1. the cluster's ACTIVE instances whose agent is connected, that carry the attributes the task
   definition requires, and that have room for what the task reserves (CPU, memory, host ports);
2. of those, the ones that satisfy the placement constraints (the caller's, and the task
   definition's memberOf constraints);
3. of those, the best by the placement strategies, each one breaking the ties of the one before;
   ties that remain are broken at random (RunTask's default, with no strategy, is random).
An instance that cannot take a task is reported with the first reason it failed on (AGENT,
ATTRIBUTE, RESOURCE:CPU, RESOURCE:MEMORY, RESOURCE:PORTS, RESOURCE:PORTS_UDP, then the
constraints), as RunTask's `failures` show them.

What a task reserves: its task-level cpu and memory when given, otherwise the sum over its
containers of cpu and of memoryReservation (or memory); in bridge and host mode, the static host
ports of its port mappings. Tasks hold that until they are STOPPED. instance_usage tells it
(ecs/contributions.py hands it to container_instances.usage), which DescribeContainerInstances
shows.
"""

from __future__ import annotations

import dataclasses
import functools
import random
import re
from dataclasses import dataclass, field

from emulator.ecs import container_instances
from emulator.ecs.cluster_query import InstanceFacts, compile_expression
from emulator.ecs.container_instances import Usage
from emulator.ecs.errors import InvalidParameterException
from emulator.ecs.model import Cluster, ContainerInstance
from emulator.ecs.store import EcsStore
from emulator.ecs.task_model import Task
from emulator.runtime.status import TaskStatus

NO_INSTANCES = "No Container Instances were found in your cluster."
MEMBER_OF_UNSATISFIED = "MemberOf placement constraint unsatisfied."
DISTINCT_INSTANCE_UNSATISFIED = "DistinctInstance placement constraint unsatisfied."
MAX_CONSTRAINTS = 10
MAX_STRATEGIES = 5
BINPACK_FIELDS = ("cpu", "memory")
INSTANCE_FIELDS = ("instanceId", "host")

_random = random.Random()
_AMOUNT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(vcpu|gb)?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class PlacementFailure:
    """Why a task could not go to an instance (arn: the instance, or the cluster if none)."""

    arn: str
    reason: str


@dataclass(frozen=True)
class Reservation:
    """What one task takes from the instance it is placed on."""

    cpu: int = 0
    memory: int = 0
    ports: frozenset[str] = frozenset()
    ports_udp: frozenset[str] = frozenset()


def reservation(task: Task) -> Reservation:
    containers = [c.definition for c in task.containers]
    cpu = _units(task.cpu)
    if cpu is None:
        cpu = sum(int(c.get("cpu") or 0) for c in containers)
    memory = _units(task.memory)
    if memory is None:
        memory = sum(int(c.get("memoryReservation") or c.get("memory") or 0) for c in containers)
    ports: dict[str, set[str]] = {"tcp": set(), "udp": set()}
    if task.network_mode in ("bridge", "host"):  # awsvpc tasks have their own interface
        for container in containers:
            for mapping in container.get("portMappings", []):
                host_port = mapping.get("hostPort")
                if task.network_mode == "host" and not host_port:
                    host_port = mapping.get("containerPort")
                if host_port:  # 0 or absent: Docker picks a free port
                    ports[mapping.get("protocol", "tcp")].add(str(host_port))
    return Reservation(cpu, memory, frozenset(ports["tcp"]), frozenset(ports["udp"]))


def _units(value: str | None) -> int | None:
    """Task cpu or memory: "1024" (units, MiB), or "1 vCPU" / "2 GB" as RunTask's overrides may
    give them; None when absent."""
    match = _AMOUNT.match(str(value or ""))
    if match is None:
        return None
    amount = float(match.group(1))
    return round(amount * 1024) if match.group(2) else int(amount)


def holds_resources(task: Task) -> bool:
    return task.known < TaskStatus.STOPPED


# -- what tasks use of an instance --------------------------------------------------------------


def instance_usage(store: EcsStore, instance: ContainerInstance) -> Usage:
    """What this instance's tasks use of it (a contribution: contributions.py)."""
    used = Usage()
    for task in store.tasks_of(instance.cluster_name):
        if task.container_instance_arn == instance.arn and holds_resources(task):
            _add(used, task)
    return used


def _add(used: Usage, task: Task) -> None:
    need = reservation(task)
    if task.known == TaskStatus.RUNNING:
        used.running += 1
    elif task.pending:
        used.pending += 1
    used.cpu += need.cpu
    used.memory += need.memory
    used.ports |= need.ports
    used.ports_udp |= need.ports_udp
    if task.group and not task.stop_requested:
        used.task_groups.add(task.group)


# -- checking requests -------------------------------------------------------------------------


def validate(constraints: list[dict], strategy: list[dict]) -> None:
    """RunTask's, CreateService's and UpdateService's placementConstraints and placementStrategy."""
    if len(constraints) > MAX_CONSTRAINTS:
        raise InvalidParameterException(
            f"You can specify up to {MAX_CONSTRAINTS} placement constraints."
        )
    if len(strategy) > MAX_STRATEGIES:
        raise InvalidParameterException(
            f"You can specify up to {MAX_STRATEGIES} placement strategies."
        )
    for constraint in constraints:
        kind, expression = constraint.get("type"), constraint.get("expression")
        if kind == "memberOf":
            if not expression:
                raise InvalidParameterException("A memberOf constraint needs an expression.")
            compile_expression(expression)
        elif kind == "distinctInstance":
            if expression:
                raise InvalidParameterException(
                    "A distinctInstance constraint takes no expression."
                )
        else:
            raise InvalidParameterException(
                f"Invalid placement constraint type '{kind}': use memberOf or distinctInstance."
            )
    for item in strategy:
        _check_strategy(item.get("type"), item.get("field"))


def _check_strategy(kind: str | None, field_name: str | None) -> None:
    if kind == "binpack":
        if field_name not in BINPACK_FIELDS:
            raise InvalidParameterException(
                f"Invalid field '{field_name}' for the binpack placement strategy: use cpu or "
                "memory."
            )
    elif kind == "spread":
        if not field_name or not (field_name in INSTANCE_FIELDS
                                  or (field_name.startswith("attribute:")
                                      and len(field_name) > len("attribute:"))):
            raise InvalidParameterException(
                f"Invalid field '{field_name}' for the spread placement strategy: use "
                "instanceId, host or attribute:<name>."
            )
    elif kind != "random":
        raise InvalidParameterException(
            f"Invalid placement strategy type '{kind}': use random, spread or binpack."
        )


# -- placing ------------------------------------------------------------------------------------


def ensure_instances(store: EcsStore, cluster: Cluster) -> list[ContainerInstance]:
    """The cluster's ACTIVE instances, after registering the local host if it has none."""
    if store.local_host is not None:
        store.local_host.ensure(store, cluster)
    return [i for i in store.container_instances_of(cluster.name) if i.status == "ACTIVE"]


def place(store: EcsStore, cluster: Cluster, tasks: list[Task], constraints: list[dict] = (),
          strategy: list[dict] = ()) -> tuple[list[Task], list[PlacementFailure]]:
    """Choose an instance for each task (EC2 launch type, not yet in the store) and set its
    container_instance_arn; (the tasks placed, why the others were not)."""
    validate(list(constraints), list(strategy))
    instances = ensure_instances(store, cluster)
    if not instances:
        return [], [PlacementFailure(cluster.arn, NO_INSTANCES)]
    ledger = _Ledger(store, cluster, instances)
    placed, failures = [], []
    for task in tasks:
        task_constraints = list(constraints) + task.definition.spec.get("placementConstraints", [])
        fitting, refused = [], []
        for instance in instances:
            reason = ledger.refusal(instance, task) or ledger.violation(instance, task,
                                                                         task_constraints)
            if reason:
                refused.append(PlacementFailure(instance.arn, reason))
            else:
                fitting.append(instance)
        if not fitting:
            failures += refused
            continue
        chosen = _best(fitting, list(strategy), task, ledger)
        _assign(task, chosen)
        ledger.add(chosen, task)
        placed.append(task)
    return placed, list(dict.fromkeys(failures))  # one entry per instance and reason


def place_on(store: EcsStore, cluster: Cluster, chosen: list[tuple[Task, ContainerInstance]]
             ) -> tuple[list[Task], list[PlacementFailure]]:
    """StartTask: each task on the instance the caller chose, if it fits there (constraints and
    strategies do not apply)."""
    instances = list({instance.arn: instance for _, instance in chosen}.values())
    ledger = _Ledger(store, cluster, instances)
    placed, failures = [], []
    for task, instance in chosen:
        reason = ledger.refusal(instance, task)
        if reason:
            failures.append(PlacementFailure(instance.arn, reason))
            continue
        _assign(task, instance)
        ledger.add(instance, task)
        placed.append(task)
    return placed, failures


def _assign(task: Task, instance: ContainerInstance) -> None:
    task.container_instance_arn = instance.arn
    zone = _attribute(instance, "ecs.availability-zone")
    if zone:
        task.availability_zone = zone


def _attribute(instance: ContainerInstance, name: str) -> str | None:
    return next((a.get("value") for a in instance.attributes if a["name"] == name), None)


@dataclass
class _Ledger:
    """What each instance has left, counting the tasks placed by this call as they are placed."""

    store: EcsStore
    cluster: Cluster
    instances: list[ContainerInstance]
    used: dict[str, Usage] = field(default_factory=dict)
    # (instance ARN, task group) -> tasks of that group on the instance that are not stopping
    group_counts: dict[tuple[str, str], int] = field(default_factory=dict)

    def __post_init__(self):
        for instance in self.instances:
            self.used[instance.arn] = container_instances.usage(self.store, instance)
        for task in self.store.tasks_of(self.cluster.name):
            if task.container_instance_arn and not task.stop_requested:
                key = (task.container_instance_arn, task.group)
                self.group_counts[key] = self.group_counts.get(key, 0) + 1

    def add(self, instance: ContainerInstance, task: Task) -> None:
        _add(self.used[instance.arn], task)
        key = (instance.arn, task.group)
        self.group_counts[key] = self.group_counts.get(key, 0) + 1

    def remaining(self, instance: ContainerInstance, name: str) -> int:
        registered = _resource(instance, name.upper()).get("integerValue", 0)
        used = self.used[instance.arn]
        return registered - (used.cpu if name.upper() == "CPU" else used.memory)

    def refusal(self, instance: ContainerInstance, task: Task) -> str | None:
        """Why the instance cannot run the task at all (agent, attributes, resources)."""
        if not instance.agent_connected:
            return "AGENT"
        if not _has_attributes(instance, task.definition.requires_attributes):
            return "ATTRIBUTE"
        need = reservation(task)
        if need.cpu > self.remaining(instance, "cpu"):
            return "RESOURCE:CPU"
        if need.memory > self.remaining(instance, "memory"):
            return "RESOURCE:MEMORY"
        used = self.used[instance.arn]
        reserved = set(_resource(instance, "PORTS").get("stringSetValue", []))
        if need.ports & (reserved | used.ports):
            return "RESOURCE:PORTS"
        reserved_udp = set(_resource(instance, "PORTS_UDP").get("stringSetValue", []))
        if need.ports_udp & (reserved_udp | used.ports_udp):
            return "RESOURCE:PORTS_UDP"
        return None

    def violation(self, instance: ContainerInstance, task: Task,
                  constraints: list[dict]) -> str | None:
        """The first placement constraint the instance does not satisfy for the task."""
        for constraint in constraints:
            if constraint["type"] == "distinctInstance":
                if self.group_counts.get((instance.arn, task.group), 0):
                    return DISTINCT_INSTANCE_UNSATISFIED
            elif not _compiled(constraint["expression"])(self.facts(instance)):
                return MEMBER_OF_UNSATISFIED
        return None

    def facts(self, instance: ContainerInstance) -> InstanceFacts:
        used = self.used[instance.arn]
        return dataclasses.replace(
            container_instances.facts_of(self.store, instance),
            running_tasks_count=used.running,
            task_groups=set(used.task_groups),
        )

    def spread_key(self, instance: ContainerInstance, field_name: str, group: str) -> int:
        """How many tasks of `group` share the instance's value of `field_name`."""
        if field_name in INSTANCE_FIELDS:
            return self.group_counts.get((instance.arn, group), 0)
        name = field_name[len("attribute:"):]
        value = _attribute_or_absent(instance, name)
        return sum(self.group_counts.get((other.arn, group), 0) for other in self.instances
                   if _attribute_or_absent(other, name) == value)


@functools.lru_cache(maxsize=256)
def _compiled(expression: str):
    return compile_expression(expression)


def _resource(instance: ContainerInstance, name: str) -> dict:
    return next((r for r in instance.registered_resources if r["name"] == name), {})


def _attribute_or_absent(instance: ContainerInstance, name: str):
    for attribute in instance.attributes:
        if attribute["name"] == name:
            return attribute.get("value")
    return _ABSENT


_ABSENT = object()  # instances without the attribute are spread as one more value


def _has_attributes(instance: ContainerInstance, required: list[dict]) -> bool:
    present = {a["name"]: a.get("value") for a in instance.attributes}
    for attribute in required:
        name = attribute["name"]
        if name not in present:
            return False
        if attribute.get("value") is not None and present[name] != attribute["value"]:
            return False
    return True


def _best(candidates: list[ContainerInstance], strategy: list[dict], task: Task,
          ledger: _Ledger) -> ContainerInstance:
    for item in strategy:
        if len(candidates) == 1:
            break
        kind = item["type"]
        if kind == "random":
            return _random.choice(candidates)
        if kind == "binpack":
            keys = {c.arn: ledger.remaining(c, item["field"]) for c in candidates}
        else:
            keys = {c.arn: ledger.spread_key(c, item["field"], task.group) for c in candidates}
        lowest = min(keys.values())
        candidates = [c for c in candidates if keys[c.arn] == lowest]
    return _random.choice(candidates)

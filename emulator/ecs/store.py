"""ECS state: one EcsStore per account and region, all guarded by one lock.

The lock is the EcsState's: API handlers run under it (the JSON service takes it), and the
background engine takes it before touching a store. Nothing here does I/O.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable

from emulator.ecs import arns
from emulator.ecs.contributions import Contributions, standard
from emulator.ecs.errors import ClusterNotFoundException
from emulator.ecs.front_door_address import FrontDoorAddress
from emulator.ecs.model import (
    Attribute,
    CapacityProvider,
    Cluster,
    ContainerInstance,
    TaskDefinition,
)
from emulator.ecs.service_model import Service
from emulator.runtime.status import TaskStatus
from emulator.ecs.task_model import Task

BUILT_IN_CAPACITY_PROVIDERS = ("FARGATE", "FARGATE_SPOT")


@dataclass
class EcsStore:
    """ECS's resources of one account in one region."""
    account: str
    region: str
    clusters: dict[str, Cluster] = field(default_factory=dict)
    capacity_providers: dict[str, CapacityProvider] = field(default_factory=dict)
    # family -> revision -> definition; revisions are never reused, even after deletion
    task_definitions: dict[str, dict[int, TaskDefinition]] = field(default_factory=dict)
    last_revision: dict[str, int] = field(default_factory=dict)
    container_instances: dict[str, ContainerInstance] = field(default_factory=dict)
    # (cluster name, target id, attribute name) -> attribute of a container instance
    attributes: dict[tuple[str, str, str], Attribute] = field(default_factory=dict)
    # account settings: (principal ARN, setting name) -> value; defaults: name -> value
    account_settings: dict[tuple[str, str], str] = field(default_factory=dict)
    account_setting_defaults: dict[str, str] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)  # by task ARN
    services: dict[tuple[str, str], Service] = field(default_factory=dict)  # (cluster, name)
    # Daemons (emulator/ecs/daemons.py) by (cluster name, daemon name), and daemon task
    # definitions: family -> revision -> definition, revisions never reused
    daemons: dict[tuple[str, str], object] = field(default_factory=dict)
    daemon_task_definitions: dict[str, dict[int, TaskDefinition]] = field(default_factory=dict)
    daemon_last_revision: dict[str, int] = field(default_factory=dict)
    # Express Mode services by (cluster name, service name) (emulator/ecs/express_services.py)
    express_services: dict[tuple[str, str], object] = field(default_factory=dict)
    # Gateways (emulator/ecs/gateways.py) by name; (gateway, cluster) -> association status;
    # (gateway, cluster, service) -> the service's route through the gateway
    gateways: dict[str, object] = field(default_factory=dict)
    gateway_associations: dict[tuple[str, str], str] = field(default_factory=dict)
    gateway_routes: dict[tuple[str, str, str], object] = field(default_factory=dict)
    # RunTask idempotency: (cluster name, clientToken) -> the ARNs that call created
    run_tokens: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    # Called (under the lock) whenever desired state changes, to wake the engine.
    changed: Callable[[], None] = field(default=lambda: None, repr=False)
    # Registers the local Docker host as a container instance (local_instance.LocalHost), or None.
    local_host: object = field(default=None, repr=False)
    # Makes Express services' load balancers (engine/express_infrastructure.py), or None.
    express: object = field(default=None, repr=False)
    # Where the front doors answer (emulator/ecs/front_door_address.py), the state's one.
    front_doors: FrontDoorAddress = field(default_factory=FrontDoorAddress, repr=False)
    # Opens ECS Exec sessions (exec/sessions.ExecSessions), or None where there is no Docker.
    exec_sessions: object = field(default=None, repr=False)
    # The one way tasks enter and are asked to stop (ecs/task_door.TaskDoor): the state's.
    door: object = field(default=None, repr=False)
    # What tasks, services and task sets add to counts, usage and tagging (contributions.py).
    contributions: Contributions = field(default_factory=standard, repr=False)

    def __post_init__(self):
        for name in BUILT_IN_CAPACITY_PROVIDERS:
            self.capacity_providers[name] = CapacityProvider(
                name=name, arn=arns.capacity_provider(self, name)
            )

    # -- lookups that every operation shares ----------------------------------------------------

    def cluster(self, ref: str | None, *, active: bool = True) -> Cluster:
        """The cluster named by `ref` (name or ARN; None means "default")."""
        cluster = self.find_cluster(ref or "default")
        if cluster is None:
            raise ClusterNotFoundException("Cluster not found.")
        if active and cluster.status != "ACTIVE":
            # ECS's words for a deleted cluster it still describes (AWS CLI transcripts of
            # CreateService and UpdateService: "ClusterNotFoundException ... The referenced
            # cluster was inactive.")
            raise ClusterNotFoundException("The referenced cluster was inactive.")
        return cluster

    def find_cluster(self, ref: str) -> Cluster | None:
        """The cluster of this account and region `ref` names (arns.name_in: another
        account's ARN names none; another region's is refused)."""
        return self.clusters.get(arns.name_in(self, ref, "cluster"))

    def task_definition_revisions(self, family: str) -> dict[int, TaskDefinition]:
        return self.task_definitions.get(family, {})

    def container_instances_of(self, cluster_name: str) -> list[ContainerInstance]:
        return [ci for ci in self.container_instances.values() if ci.cluster_name == cluster_name]

    def find_container_instance(self, cluster_name: str, ref: str) -> ContainerInstance | None:
        """The instance of `cluster_name` named by `ref`: its 32-hex id or its full ARN."""
        resource = arns.resource_in(self, ref, "container-instance")
        arns.refuse_extra_parts(ref, resource, slashes=1)  # container-instance/<cluster>/<id>
        if resource is None:
            return None
        # An old-format ARN ("container-instance/<id>") names no cluster: the one asked for.
        key = (arns.build(self, "container-instance", resource) if "/" in resource
               else arns.container_instance(self, cluster_name, resource))
        instance = self.container_instances.get(key)  # keyed by ARN
        return instance if instance is not None and instance.cluster_name == cluster_name else None

    def tasks_of(self, cluster_name: str) -> list[Task]:
        return [t for t in self.tasks.values() if t.cluster_name == cluster_name]

    def forget_cluster(self, name: str) -> None:
        """Drop what a deleted cluster of this name left: its STOPPED tasks (DeleteCluster
        refuses active ones), its deleted services, daemons and Express services, its
        deregistered container instances and their attributes, its RunTask tokens, its
        gateways' associations and routes. A cluster created again under the name is a new
        cluster, as on ECS: its ARN is the old one's, its contents are not."""
        def of_cluster(records: dict, key_cluster) -> None:
            for key in [k for k, v in records.items() if key_cluster(k, v) == name]:
                del records[key]

        # A task still being torn down stays until it is STOPPED (the purge drops it later):
        # its runner and hooks look it up here.
        of_cluster(self.tasks, lambda _, task: task.cluster_name
                   if task.known >= TaskStatus.STOPPED else None)
        of_cluster(self.services, lambda key, _: key[0])
        of_cluster(self.daemons, lambda key, _: key[0])
        of_cluster(self.express_services, lambda key, _: key[0])
        of_cluster(self.container_instances, lambda _, instance: instance.cluster_name)
        of_cluster(self.attributes, lambda key, _: key[0])
        of_cluster(self.run_tokens, lambda key, _: key[0])
        of_cluster(self.gateway_associations, lambda key, _: key[1])
        of_cluster(self.gateway_routes, lambda key, _: key[1])


class EcsState:
    """Every account's and region's ECS state, and the one lock that guards it."""

    def __init__(self, contributions: Contributions | None = None):
        self.lock = threading.RLock()
        # Notified (under the lock) on every change of desired or known state; the engine's
        # runners wait on it for dependsOn conditions and stop requests.
        self.changed = threading.Condition(self.lock)
        self.listeners: list[Callable[[], None]] = []
        self._stores: dict[tuple[str, str], EcsStore] = {}
        self.local_host = None  # given to every store (see EcsStore.local_host)
        self.express = None  # likewise (EcsStore.express)
        self.front_doors = FrontDoorAddress()  # likewise (EcsStore.front_doors); the server's port
        self.exec_sessions = None  # likewise (EcsStore.exec_sessions)
        # Likewise (EcsStore.contributions): the app factory's, or a new standard() set.
        self.contributions = contributions if contributions is not None else standard()
        from emulator.ecs.task_door import TaskDoor  # it needs placement, which needs this module

        self.door = TaskDoor()  # likewise (EcsStore.door); app.py and the engine plug into it

    def store_for(self, account: str, region: str) -> EcsStore:
        key = (account, region)
        store = self._stores.get(key)
        if store is None:
            with self.lock:
                store = self._stores.get(key)
                if store is None:
                    store = EcsStore(account=account, region=region, changed=self.notify,
                                     local_host=self.local_host, express=self.express,
                                     front_doors=self.front_doors,
                                     exec_sessions=self.exec_sessions, door=self.door,
                                     contributions=self.contributions)
                    self._stores[key] = store
        return store

    def notify(self) -> None:
        """Wake whoever waits for a change (call with the lock held)."""
        self.changed.notify_all()
        for listener in self.listeners:
            listener()

    def stores(self) -> list[EcsStore]:
        with self.lock:
            return list(self._stores.values())

    def reset(self) -> None:
        with self.lock:
            self._stores.clear()

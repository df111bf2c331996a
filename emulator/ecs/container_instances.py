"""Container instances: registration, lookup, state changes, deregistration, and usage.

`register` is the one way an instance comes to be: the RegisterContainerInstance handler calls it
(through `register_from_request`), and the engine calls it to make the local Docker host an
instance. What tasks use of an instance (counts, CPU, memory, ports, task groups) is reported by
the layers that own tasks, through the store's contributions (contributions.py); nothing here
knows about tasks.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass, field

from emulator.ecs import agent_updates, arns, attributes as attribute_ops, tags as tag_ops
from emulator.ecs.cluster_query import InstanceFacts, compile_expression
from emulator.ecs.errors import ClientException, InvalidParameterException
from emulator.ecs.model import Cluster, ContainerInstance
from emulator.ecs.store import EcsStore

# What the ECS agent reports when it is not told otherwise: the ports it reserves on every
# instance (SSH, the Docker daemon, the agent's introspection and credentials endpoints).
DEFAULT_RESERVED_PORTS = ["22", "2376", "2375", "51678", "51679"]
DEFAULT_CPU_UNITS = 4096  # a 4-vCPU instance, as moto reports too
DEFAULT_MEMORY_MIB = 7482
RESOURCE_TYPES = {"INTEGER": "integerValue", "DOUBLE": "doubleValue", "LONG": "longValue",
                  "STRINGSET": "stringSetValue"}
SETTABLE_STATES = ("ACTIVE", "DRAINING")
MAX_STATE_UPDATES = 10


@dataclass
class Usage:
    """What the tasks placed on one instance take from it."""

    running: int = 0
    pending: int = 0
    cpu: int = 0
    memory: int = 0
    ports: set[str] = field(default_factory=set)
    ports_udp: set[str] = field(default_factory=set)
    task_groups: set[str] = field(default_factory=set)


# -- registration -------------------------------------------------------------------------------


def register(store: EcsStore, cluster: Cluster, *, ec2_instance_id: str | None,
             resources: list[dict] | None = None, version_info: dict | None = None,
             attributes: list[dict] = (), tags: list[dict] = ()) -> ContainerInstance:
    """A new ACTIVE container instance of `cluster`, offering `resources` (ECS's defaults for any
    of CPU, MEMORY, PORTS and PORTS_UDP left out)."""
    for attribute in attributes:
        attribute_ops.validate(attribute)
    tag_ops.validate_tags(list(tags))
    instance_id = uuid.uuid4().hex  # 32 hex characters, as ECS's ids
    instance = ContainerInstance(
        arn=arns.container_instance(store, cluster.name, instance_id),
        instance_id=instance_id,
        cluster_name=cluster.name,
        ec2_instance_id=ec2_instance_id,
        registered_resources=normalized_resources(resources or []),
        version_info=dict(version_info or {}),
        attributes=attribute_ops.merged([], list(attributes)),
        tags=list(tags),
    )
    store.container_instances[instance.arn] = instance
    store.changed()  # a new place for tasks: wake the engine
    return instance


def register_from_request(store: EcsStore, request) -> ContainerInstance:
    """RegisterContainerInstance, its request as named values: a new instance, or a
    re-registration of `container_instance_arn`."""
    cluster = store.cluster(request.cluster)
    document = _identity_document(request.instance_identity_document)
    attributes = attribute_ops.merged(_document_attributes(document), request.attributes or [])
    if request.container_instance_arn:
        return _reregister(store, cluster, request, document, attributes)
    return register(
        store,
        cluster,
        ec2_instance_id=document.get("instanceId") or _external_instance_id(),
        resources=request.total_resources,
        version_info=request.version_info,
        attributes=attributes,
        tags=request.tags or [],
    )


def _reregister(store: EcsStore, cluster: Cluster, request, document: dict,
                attributes: list[dict]) -> ContainerInstance:
    """The agent re-registers with its saved ARN after a restart: same instance, fresh facts."""
    ref = request.container_instance_arn
    instance = store.find_container_instance(cluster.name, ref)
    if instance is None or instance.status == "INACTIVE":
        raise InvalidParameterException(
            f"Container instance {ref} is not registered with cluster {cluster.name}."
        )
    previous_type = _attribute_value(instance, "ecs.instance-type")
    if document.get("instanceType") and previous_type not in (None, document["instanceType"]):
        raise ClientException("Container instance type changes are not supported.")
    for attribute in attributes:
        attribute_ops.validate(attribute)
    tags = request.tags or []
    tag_ops.validate_tags(tags)
    if request.total_resources is not None:
        instance.registered_resources = normalized_resources(request.total_resources)
    if request.version_info is not None:
        instance.version_info = dict(request.version_info)
    instance.attributes = attribute_ops.merged(instance.attributes, attributes)
    if tags:
        instance.tags = tag_ops.merged(instance.tags, tags)
    instance.agent_connected = True
    instance.version += 1
    store.changed()
    return instance


def _identity_document(text: str | None) -> dict:
    if not text:
        return {}
    try:
        document = json.loads(text)
    except ValueError:
        raise InvalidParameterException("instanceIdentityDocument is not valid JSON.") from None
    if not isinstance(document, dict):
        raise InvalidParameterException("instanceIdentityDocument must be a JSON object.")
    return document


def _document_attributes(document: dict) -> list[dict]:
    """The attributes ECS derives from the EC2 instance's identity document."""
    derived = {
        "ecs.ami-id": document.get("imageId"),
        "ecs.availability-zone": document.get("availabilityZone"),
        "ecs.instance-type": document.get("instanceType"),
    }
    return [{"name": name, "value": value} for name, value in derived.items() if value]


def _external_instance_id() -> str:
    # Without an EC2 identity document the instance is an external one (ECS Anywhere), which
    # ECS names by a Systems Manager managed-instance id.
    return "mi-" + secrets.token_hex(9)[:17]


def _attribute_value(instance: ContainerInstance, name: str) -> str | None:
    return next((a.get("value") for a in instance.attributes if a["name"] == name), None)


def normalized_resources(resources: list[dict]) -> list[dict]:
    """Resources as ECS answers them (every numeric member present), with the defaults added."""
    result: dict[str, dict] = {}
    for resource in resources:
        name, kind = resource.get("name"), resource.get("type")
        if not name:
            raise InvalidParameterException("Every resource in totalResources needs a name.")
        if kind not in RESOURCE_TYPES:
            raise InvalidParameterException(
                f"Resource {name} has type {kind!r}; valid types are "
                f"{', '.join(RESOURCE_TYPES)}."
            )
        if name in result:
            raise InvalidParameterException(f"Resource {name} is given more than once.")
        result[name] = _resource(name, kind, resource.get(RESOURCE_TYPES[kind]))
    defaults = {
        "CPU": _resource("CPU", "INTEGER", DEFAULT_CPU_UNITS),
        "MEMORY": _resource("MEMORY", "INTEGER", DEFAULT_MEMORY_MIB),
        "PORTS": _resource("PORTS", "STRINGSET", DEFAULT_RESERVED_PORTS),
        "PORTS_UDP": _resource("PORTS_UDP", "STRINGSET", []),
    }
    ordered = [result.pop(name, default) for name, default in defaults.items()]
    return ordered + list(result.values())


def _resource(name: str, kind: str, value) -> dict:
    resource = {"name": name, "type": kind, "doubleValue": 0.0, "longValue": 0, "integerValue": 0}
    if kind == "STRINGSET":
        resource["stringSetValue"] = list(value or [])
    elif value is not None:
        resource[RESOURCE_TYPES[kind]] = value
    return resource


# -- reading ------------------------------------------------------------------------------------


def usage(store: EcsStore, instance: ContainerInstance) -> Usage:
    total = Usage()
    for contributor in store.contributions.instance_usage:
        part = contributor(store, instance)
        total.running += part.running
        total.pending += part.pending
        total.cpu += part.cpu
        total.memory += part.memory
        total.ports |= part.ports
        total.ports_udp |= part.ports_udp
        total.task_groups |= part.task_groups
    return total


def remaining_resources(instance: ContainerInstance, used: Usage) -> list[dict]:
    """CPU and memory not yet allocated to tasks; for ports, every port taken (the reserved ones
    and those of task port mappings), as ECS reports them."""
    remaining = []
    for resource in instance.registered_resources:
        resource = dict(resource)
        if resource["name"] == "CPU":
            resource["integerValue"] -= used.cpu
        elif resource["name"] == "MEMORY":
            resource["integerValue"] -= used.memory
        elif resource["name"] == "PORTS":
            resource["stringSetValue"] = _ports(resource["stringSetValue"], used.ports)
        elif resource["name"] == "PORTS_UDP":
            resource["stringSetValue"] = _ports(resource["stringSetValue"], used.ports_udp)
        remaining.append(resource)
    return remaining


def _ports(reserved: list[str], taken: set[str]) -> list[str]:
    return list(reserved) + sorted(taken - set(reserved), key=lambda p: (len(p), p))


def facts_of(store: EcsStore, instance: ContainerInstance) -> InstanceFacts:
    """What the cluster query language sees of an instance."""
    used = usage(store, instance)
    return InstanceFacts(
        attributes={a["name"]: a.get("value") for a in instance.attributes},
        ec2_instance_id=instance.ec2_instance_id,
        agent_connected=instance.agent_connected,
        agent_version=agent_updates.version_info(instance).get("agentVersion"),
        registered_at=instance.registered_at,
        running_tasks_count=used.running,
        task_groups=used.task_groups,
    )


def listed(store: EcsStore, cluster: Cluster, status: str | None,
           expression: str | None) -> list[ContainerInstance]:
    """ListContainerInstances: the cluster's instances in `status` (all but INACTIVE if None)
    that satisfy the cluster query `expression`, sorted by ARN."""
    matches = compile_expression(expression) if expression and expression.strip() else None
    found = []
    for instance in store.container_instances_of(cluster.name):
        wanted = instance.status == status if status else instance.status != "INACTIVE"
        if not wanted:
            continue
        if matches is not None and not matches(facts_of(store, instance)):
            continue
        found.append(instance)
    return sorted(found, key=lambda i: i.arn)


def failure_arn(store: EcsStore, cluster: Cluster, ref: str) -> str:
    return arns.given_or_built(store, ref, "container-instance", cluster.name)


# -- changes ------------------------------------------------------------------------------------


def update_states(store: EcsStore, cluster: Cluster, refs: list[str], status: str):
    """UpdateContainerInstancesState: (changed instances, refs not found)."""
    if status not in SETTABLE_STATES:
        raise InvalidParameterException(
            f"Container instance status must be one of {', '.join(SETTABLE_STATES)}, not {status}."
        )
    if not refs or len(refs) > MAX_STATE_UPDATES:
        raise InvalidParameterException(
            f"containerInstances must name 1 to {MAX_STATE_UPDATES} container instances."
        )
    found, missing = [], []
    for ref in refs:
        instance = store.find_container_instance(cluster.name, ref)
        if instance is None:
            missing.append(ref)
            continue
        if instance.status not in SETTABLE_STATES:
            raise InvalidParameterException(
                f"Container instance {instance.arn} is {instance.status}; only ACTIVE and DRAINING "
                "container instances can change state."
            )
        found.append(instance)
    for instance in found:
        if instance.status != status:
            instance.status = status
            instance.version += 1
            store.changed()  # draining moves service tasks elsewhere
    return found, missing


def deregister(store: EcsStore, cluster: Cluster, ref: str, force: bool) -> ContainerInstance:
    """Make an instance INACTIVE. Tasks still on it stay where they are when `force` is given
    (ECS calls them orphaned); without it, running tasks refuse the deregistration."""
    instance = store.find_container_instance(cluster.name, ref)
    if instance is None:
        raise InvalidParameterException(
            f"Container instance {ref} is not registered with cluster {cluster.name}."
        )
    if instance.status == "INACTIVE":
        return instance
    if not force and usage(store, instance).running:
        raise InvalidParameterException("Found running tasks on the instance.")
    instance.status = "INACTIVE"
    instance.agent_connected = False
    instance.version += 1
    store.changed()
    return instance

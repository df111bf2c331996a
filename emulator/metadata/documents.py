"""Task metadata documents (v3 and v4) as the ECS agent serves them: one container, or the task.

Built from the task model and what Docker reports of each container (a ContainerState, or None
before the container exists). Names and shapes follow the agent's response types: PascalCase keys,
a key left out when the agent's field would be empty. v4 adds what v3 lacks: LaunchType,
ServiceName, ContainerARN, LogDriver/LogOptions, the HostIp of ports and the awsvpc details of a
network. Call with the state lock held: it reads the task as it is at that moment.
"""

from __future__ import annotations

import datetime as dt
import re

from emulator.engine.container_specs import TaskShape, container_name
from emulator.runtime.base import ContainerState
from emulator.runtime.labels import docker_name
from emulator.runtime.status import ContainerStatus, TaskStatus

MIN_CPU_SHARES = 2  # the agent passes null, 0 and 1 CPU units to Docker as 2 shares, and says so
LABEL_PREFIX = "com.amazonaws.ecs."


def container(task, item, state: ContainerState | None, version: int) -> dict:
    """${ECS_CONTAINER_METADATA_URI_V4} (or _URI for v3): one container of the task."""
    definition = item.definition
    document = {
        "DockerId": item.runtime_id or "",
        "Name": item.name,
        "DockerName": _docker_name(task, item.name),
        "Image": definition.get("image", ""),
        "ImageID": (state.image_id if state else None) or "",
        "Ports": _ports(task, item, version),
        "Labels": {**definition.get("dockerLabels", {}), **ecs_labels(task, item.name)},
        "DesiredStatus": task.desired_status,
        "KnownStatus": _container_status(item.known),
        "ExitCode": item.exit_code,
        "Limits": {
            "CPU": max(int(definition.get("cpu") or 0), MIN_CPU_SHARES),
            "Memory": int(definition.get("memory") or 0),
        },
        "StartedAt": state.started_at if state else None,
        "FinishedAt": state.finished_at if state else None,
        "Type": "NORMAL",
        "Health": {"status": item.health.name} if item.has_health_check else None,
    }
    if version >= 4:
        log = definition.get("logConfiguration") or {}
        document["LogDriver"] = log.get("logDriver")
        document["LogOptions"] = _log_options(task, item, log)
        document["ContainerARN"] = item.arn
    document["Networks"] = _networks(task, state, version)
    return _compact(document)


def task(task, states: dict[str, ContainerState | None], version: int,
         with_tags: bool = False) -> dict:
    """.../task (and v4's .../taskWithTags): the task with all its containers."""
    document = {
        "Cluster": task.cluster_arn if task.launch_type == "FARGATE" else task.cluster_name,
        "TaskARN": task.arn,
        "Family": task.definition.family,
        "Revision": str(task.definition.revision),
        "DesiredStatus": task.desired_status,
        "KnownStatus": _task_status(task.known),
        "Containers": [container(task, c, states.get(c.name), version) for c in task.containers],
        "Limits": _task_limits(task),
        "PullStartedAt": timestamp(task.pull_started_at),
        "PullStoppedAt": timestamp(task.pull_stopped_at),
        "ExecutionStoppedAt": timestamp(task.execution_stopped_at),
        "AvailabilityZone": task.availability_zone,
    }
    if with_tags:
        document["TaskTags"] = {tag["key"]: tag["value"] for tag in task.tags}
    if version >= 4:
        document["LaunchType"] = task.launch_type
        group = task.group or ""
        document["ServiceName"] = group[len("service:"):] if group.startswith("service:") else None
        compact = _compact(document)
        compact["FaultInjectionEnabled"] = False  # the agent always sends it
        return compact
    return _compact(document)


def ecs_labels(task, name: str) -> dict[str, str]:
    """The labels the ECS agent puts on every container it runs."""
    return {
        LABEL_PREFIX + "cluster": task.cluster_arn if task.launch_type == "FARGATE"
        else task.cluster_name,
        LABEL_PREFIX + "container-name": name,
        LABEL_PREFIX + "task-arn": task.arn,
        LABEL_PREFIX + "task-definition-family": task.definition.family,
        LABEL_PREFIX + "task-definition-version": str(task.definition.revision),
    }


def timestamp(value: dt.datetime | None) -> str | None:
    """RFC 3339 in UTC with fractional seconds, as the agent (a Go program) writes times."""
    if value is None:
        return None
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- pieces ------------------------------------------------------------------------------------

def _docker_name(task, name: str) -> str:
    # The name the engine gave the container; only the naming fields of the shape matter.
    shape = TaskShape(task_id=task.id, family=task.definition.family,
                      revision=task.definition.revision, network_mode=task.network_mode,
                      task_cpu=None, task_memory=None, publish_ip="", volumes={}, volume_kinds={})
    return docker_name(container_name(shape, name))


def _container_status(status: ContainerStatus) -> str:
    return "NONE" if status == ContainerStatus.PENDING else status.name


def _task_status(status: TaskStatus) -> str:
    # The agent knows fewer steps than DescribeTasks shows: before RUNNING, and while stopping.
    if status < TaskStatus.RUNNING:
        return "PENDING"
    return "STOPPED" if status >= TaskStatus.STOPPED else "RUNNING"


def _ports(task, item, version: int) -> list[dict]:
    if task.network_mode == "bridge":
        ports = [{"ContainerPort": b["containerPort"], "Protocol": b.get("protocol", "tcp"),
                  "HostPort": b["hostPort"], "HostIp": b.get("bindIP") if version >= 4 else None}
                 for b in item.network_bindings]
        return [_compact(p) for p in ports]
    # awsvpc and host: a container port is the host port (the agent says so for an ENI too).
    return [{"ContainerPort": p["containerPort"], "Protocol": p.get("protocol", "tcp"),
             "HostPort": p["containerPort"]}
            for p in item.definition.get("portMappings", []) if "containerPort" in p]


def _networks(task, state: ContainerState | None, version: int) -> list[dict]:
    if task.network_mode == "awsvpc":
        network = {"NetworkMode": "awsvpc",
                   "IPv4Addresses": [task.private_ip] if task.private_ip else None}
        if version >= 4:
            details = _eni_details(task)
            network.update({
                "AttachmentIndex": 0,
                "MACAddress": details.get("macAddress"),
                "PrivateDNSName": details.get("privateDnsName"),
            })
        return [_compact(network)]
    if task.network_mode == "bridge":
        address = state.ip_address if state else None
        addresses = [address] if address else None
        return [_compact({"NetworkMode": "bridge", "IPv4Addresses": addresses})]
    if task.network_mode == "host":
        return [{"NetworkMode": "host"}]
    return []


def _eni_details(task) -> dict[str, str]:
    for attachment in task.attachments:
        if attachment.get("type") == "ElasticNetworkInterface":
            return {d["name"]: d["value"] for d in attachment.get("details", []) if d.get("value")}
    return {}


def _log_options(task, item, log: dict) -> dict[str, str] | None:
    options = dict(log.get("options") or {})
    prefix = options.get("awslogs-stream-prefix")
    if log.get("logDriver") == "awslogs" and prefix:
        # The stream the agent names for the container: prefix/container-name/task-id.
        options["awslogs-stream"] = f"{prefix}/{item.name}/{task.id}"
    return options or None


def _task_limits(task) -> dict | None:
    limits = {"CPU": _vcpus(task.cpu), "Memory": _mib(task.memory)}
    return _compact(limits) or None


_NUMBER = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*$")


def _vcpus(value: str | None) -> float | None:
    """Task CPU as vCPUs: "256" (units) -> 0.25, "1 vCPU" -> 1.0."""
    match = _NUMBER.match(value or "")
    if not match:
        return None
    number = float(match.group(1))
    return number if match.group(2).lower() == "vcpu" else number / 1024


def _mib(value: str | None) -> int | None:
    """Task memory in MiB: "512" -> 512, "2 GB" -> 2048."""
    match = _NUMBER.match(value or "")
    if not match:
        return None
    number = float(match.group(1))
    return int(number * 1024) if match.group(2).lower() == "gb" else int(number)


def _compact(document: dict) -> dict:
    """Drop what the agent would leave out: None, and empty lists, maps and strings."""
    return {key: value for key, value in document.items()
            if value is not None and value != [] and value != {} and value != ""}


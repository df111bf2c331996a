"""A task's shape as its containers are built from it (container_specs.TaskShape), and its ECS
volumes made runtime sources: host paths bound, Docker volumes created (once per task, or once
for all when shared or EFS).

Apart from the task engine because it is the only part of the engine's answers to runners that
makes something on the engine besides the task's containers (its volumes), and it needs nothing
of the engine but the task's runtime and the host address ports are published on.
"""

from __future__ import annotations

from emulator.engine import container_specs
from emulator.runtime import labels as runtime_labels
from emulator.runtime.base import RuntimeError_


def labels_for(task, container_name: str) -> dict[str, str]:
    """What names a resource's task; the runtime adds the labels naming this emulator."""
    return {
        runtime_labels.CLUSTER: task.cluster_name,
        runtime_labels.TASK_ARN: task.arn,
        runtime_labels.CONTAINER_NAME: container_name,
    }


def task_shape(task, created: list[str], publish_ip, runtime) -> container_specs.TaskShape:
    """`created`: the task-scoped volumes made so far (appended to: its runner removes them)."""
    sources, kinds = _volumes(task, created, runtime)
    return container_specs.TaskShape(
        task_id=task.id,
        family=task.definition.family,
        revision=task.definition.revision,
        network_mode=task.network_mode,
        task_cpu=_units(task.cpu),
        task_memory=_units(task.memory),
        publish_ip=publish_ip,
        volumes=sources,
        volume_kinds=kinds,
        pid_mode=task.definition.spec.get("pidMode"),
        ipc_mode=task.definition.spec.get("ipcMode"),
    )


def _volumes(task, created: list[str], runtime):
    """ECS volumes -> runtime sources. Docker volumes are created here, once per task."""
    sources, kinds = {}, {}
    for volume in task.definition.spec.get("volumes", []):
        name = volume["name"]
        host = volume.get("host") or {}
        docker_config = volume.get("dockerVolumeConfiguration")
        if host.get("sourcePath"):
            sources[name], kinds[name] = host["sourcePath"], "bind"
            continue
        volume_name = shared_name(volume)
        shared = volume_name is not None
        if not shared:
            volume_name = f"ecs-{task.id[:12]}-{name}"
        if volume_name not in created:
            runtime.ensure_volume(
                volume_name, labels_for(task, f"~volume-{name}"),
                driver=(docker_config or {}).get("driver"),
                driver_opts=(docker_config or {}).get("driverOpts"),
            )
            if not shared:
                created.append(volume_name)
        sources[name], kinds[name] = volume_name, "volume"
    return sources, kinds


def shared_name(volume: dict) -> str | None:
    """The Docker volume an ECS volume shares with every task that names it (EFS, or a docker
    volume of `shared` scope, which is the volume of its name); None for the others."""
    efs = volume.get("efsVolumeConfiguration")
    if efs:
        return f"ecs-emulator-efs-{efs.get('fileSystemId', '')}"
    docker_config = volume.get("dockerVolumeConfiguration")
    if docker_config and docker_config.get("scope") == "shared":
        return volume.get("name", "")
    return None


def foreign_volume(engines, name: str) -> bool:
    """Whether an answering engine (engines.py) has a Docker volume `name` that no emulator
    made (a user's, another project's): a shared-scope volume of that name would mount it, as
    Docker answers a create of an existing volume with that volume."""
    for engine in list(engines.engines.values()):
        if not engine.health.answering():
            continue
        try:
            found = engine.runtime.volume_labels(name)
        except RuntimeError_:
            continue  # an engine that fails the read is left out, as one that does not answer
        if found is not None and runtime_labels.INSTANCE not in found:
            return True
    return False


def _units(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None

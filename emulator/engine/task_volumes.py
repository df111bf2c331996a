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
        efs = volume.get("efsVolumeConfiguration")
        if host.get("sourcePath"):
            sources[name], kinds[name] = host["sourcePath"], "bind"
            continue
        if efs:
            volume_name = f"ecs-emulator-efs-{efs['fileSystemId']}"
            shared = True
        elif docker_config and docker_config.get("scope") == "shared":
            volume_name, shared = name, True
        else:
            volume_name, shared = f"ecs-{task.id[:12]}-{name}", False
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


def _units(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None

"""A task's shape as its containers are built from it (container_specs.TaskShape), and its ECS
volumes made runtime sources: host paths bound, Docker volumes created (once per task, or once
for all when shared or EFS).

Apart from the task engine because it is the only part of the engine's answers to runners that
makes something on the engine besides the task's containers (its volumes), and it needs nothing
of the engine but the task's runtime and the host address ports are published on.
"""

from __future__ import annotations

import re

from emulator.engine import container_specs
from emulator.runtime import labels as runtime_labels


VOLUME_PREFIX = "~volume-"  # the container-name label of every volume a task has made


def labels_for(task, container_name: str) -> dict[str, str]:
    """What names a resource's task; the runtime adds the labels naming this emulator."""
    return {
        runtime_labels.CLUSTER: task.cluster_name,
        runtime_labels.TASK_ARN: task.arn,
        runtime_labels.CONTAINER_NAME: container_name,
    }


def task_shape(task, created: list[str], publish_ip, runtime,
               home_account: str) -> container_specs.TaskShape:
    """`created`: the task-scoped volumes made so far (appended to: its runner removes them);
    `home_account`: the account whose shared volumes keep their own names (shared_name)."""
    sources, kinds = _volumes(task, created, runtime, home_account)
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
        container_count=len(task.containers),
    )


def _volumes(task, created: list[str], runtime, home_account: str):
    """ECS volumes -> runtime sources. Docker volumes are created here, once per task."""
    sources, kinds = {}, {}
    account = task.arn.split(":")[4]
    for volume in task.definition.spec.get("volumes", []):
        name = volume["name"]
        host = volume.get("host") or {}
        docker_config = volume.get("dockerVolumeConfiguration")
        if host.get("sourcePath"):
            sources[name], kinds[name] = host["sourcePath"], "bind"
            continue
        volume_name = shared_name(volume, account, home_account)
        shared = volume_name is not None
        if not shared:
            volume_name = task_volume_name(task.id, name)
        if volume_name not in created:
            labels = labels_for(task, VOLUME_PREFIX + name)
            if shared:
                labels[runtime_labels.VOLUME_SCOPE] = "shared"
            runtime.ensure_volume(
                volume_name, labels,
                driver=(docker_config or {}).get("driver"),
                driver_opts=(docker_config or {}).get("driverOpts"),
            )
            if not shared:
                created.append(volume_name)
        sources[name], kinds[name] = volume_name, "volume"
    return sources, kinds


def task_volume_name(task_id: str, name: str) -> str:
    """The Docker volume of a task-scoped ECS volume: its task's alone (TASK_VOLUME)."""
    return f"ecs-{task_id[:12]}-{name}"


# Names of task-scoped volumes, reserved: no shared volume of a task's may take one, made yet
# or not (a task id is 32 hex digits).
TASK_VOLUME = re.compile(r"ecs-[0-9a-f]{12}-")


# Shared volumes of an account other than the default one (shared_name): its id in the name.
ACCOUNT_VOLUME = re.compile(r"ecs-emulator-([0-9]{12})-")


def shared_name(volume: dict, account: str, home_account: str) -> str | None:
    """The Docker volume an ECS volume shares with every task of `account` that names it (EFS,
    or a docker volume of `shared` scope); None for the others. On AWS a shared volume is one
    container instance's, and an EFS file system one account's: the default account's
    (`home_account`: the operator's own calls, and tasks' that sign with no key IAM knows) keep
    the names they always had, the Docker volume of its name (so the operator's own volumes
    too) and ecs-emulator-efs-<file system>; another account's carry its id, so no account
    reads another's (a name that looks like another account's is refused to tasks:
    foreign_volume)."""
    efs = volume.get("efsVolumeConfiguration")
    if isinstance(efs, dict) and efs:  # not a dict: a request validation answers
        name = f"efs-{efs.get('fileSystemId', '')}"
        return f"ecs-emulator-{name}" if account == home_account else _scoped(account, name)
    docker_config = volume.get("dockerVolumeConfiguration")
    if isinstance(docker_config, dict) and docker_config.get("scope") == "shared":
        name = volume.get("name", "")
        return name if account == home_account or not isinstance(name, str) else _scoped(
            account, name)
    return None


def _scoped(account: str, name: str) -> str:
    return f"ecs-emulator-{account}-{name}"


# A Docker volume name (Docker's own rule, one character shorter): only such a name is asked
# about; any other is left to RegisterTaskDefinition's validation, and never pasted into the
# Docker API's path (`a/../../containers`).
VOLUME_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def foreign_volume(engines, name, account: str | None = None) -> str | None:
    """Why the shared Docker volume `name` is not a task's of `account` to mount, else None: an
    answering engine (engines.py) has a volume of that name that this emulator did not make as
    a shared one (a user's, another project's, a task's own volume, another emulator's: their
    tasks' data), which a shared-scope volume would mount, as Docker answers a create of an
    existing volume with that volume; the name is a task volume's or another account's
    (reserved, made yet or not); or an engine could not say, or is not answering (fails
    closed: the task may try again)."""
    if not isinstance(name, str) or not VOLUME_NAME.fullmatch(name):
        return None
    if TASK_VOLUME.match(name):
        return "a name kept for tasks' own volumes (ecs-<task id>-<volume>)"
    other = ACCOUNT_VOLUME.match(name)
    if other is not None and account is not None and other.group(1) != account:
        return f"a name kept for the shared volumes of account {other.group(1)}"
    for engine in list(engines.engines.values()):
        if not engine.health.answering():
            # Its volume of that name (a user's) would be mounted once it is back.
            return (f"which the Docker Engine {engine.name!r} cannot be asked about while "
                    "it is not answering; try again")
        try:
            found = engine.runtime.volume_labels(name)
        except Exception as error:  # noqa: BLE001 - a flapping engine's timeout, a refused read
            return (f"which the Docker Engine {engine.name!r} could not be "
                    f"asked about ({type(error).__name__}: {error}); try again")
        if found is not None and not _made_shared(found):
            return ("which the emulator did not make" if runtime_labels.INSTANCE not in found
                    else "a volume the emulator made for one task only")
        if found is not None and found.get(runtime_labels.INSTANCE) != engine.runtime.instance_id:
            return "which another emulator made (its tasks' data)"
    return None


def _made_shared(labels: dict) -> bool:
    """A volume an emulator made as a shared one: labelled so, or made before shared volumes
    were (an emulator that kept its volumes across the upgrade: ECS_EMULATOR_PERSIST,
    keep_resources), which carries the labels of a task's volume; a task's own volume was never
    named but ecs-<task id>-<volume> (TASK_VOLUME, refused before this is asked)."""
    if runtime_labels.VOLUME_SCOPE in labels:
        return labels[runtime_labels.VOLUME_SCOPE] == "shared"
    return (runtime_labels.INSTANCE in labels
            and labels.get(runtime_labels.CONTAINER_NAME, "").startswith(VOLUME_PREFIX))


def _units(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None

"""The rules of one container definition: identity, defaults, resources and settings.

Messages follow ECS's where we know them ("Container.name should not be null or empty.");
elsewhere they say what is wrong and how to fix it. Every refusal is a ClientException, as ECS
answers for a task definition it will not register.
"""

from __future__ import annotations

import re

from emulator.ecs.errors import ClientException
from emulator.runtime.labels import PREFIX as LABEL_PREFIX

NAME = re.compile(r"^[a-zA-Z0-9_-]{1,255}$")
MIN_CONTAINER_MEMORY = 6  # MiB; Docker's floor for a container
HEALTH_CHECK_RANGES = {  # member -> (low, high, default or None)
    "interval": (5, 300, 30),
    "timeout": (2, 60, 5),
    "retries": (1, 10, 3),
    "startPeriod": (0, 300, None),
}
KERNEL_CAPABILITIES = frozenset(
    "ALL AUDIT_CONTROL AUDIT_WRITE BLOCK_SUSPEND CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID "
    "IPC_LOCK IPC_OWNER KILL LEASE LINUX_IMMUTABLE MAC_ADMIN MAC_OVERRIDE MKNOD NET_ADMIN "
    "NET_BIND_SERVICE NET_BROADCAST NET_RAW SETFCAP SETGID SETPCAP SETUID SYS_ADMIN SYS_BOOT "
    "SYS_CHROOT SYS_MODULE SYS_NICE SYS_PACCT SYS_PTRACE SYS_RAWIO SYS_RESOURCE SYS_TIME "
    "SYS_TTY_CONFIG SYSLOG WAKE_ALARM".split()
)
MAX_ENVIRONMENT_FILES = 10
MAX_IGNORED_EXIT_CODES = 50
RESTART_ATTEMPT_PERIOD = (60, 1800)
AWSLOGS_REQUIRED = ("awslogs-region", "awslogs-group")
LOG_GROUP_NAME = re.compile(r"^[.\-_/#A-Za-z0-9]{1,512}$")  # CloudWatch Logs' rule


def check_identity(container: dict) -> None:
    name = container.get("name")
    if not name:
        raise ClientException("Container.name should not be null or empty.")
    if not NAME.match(name):
        raise ClientException(
            "Container.name contains invalid characters. Up to 255 letters (uppercase and "
            "lowercase), numbers, hyphens, and underscores are allowed."
        )
    image = container.get("image")
    if not image or not image.strip():
        raise ClientException("Container.image should not be null or empty.")
    if any(ch.isspace() for ch in image):
        raise ClientException(f"Container.image of container '{name}' contains whitespace.")


def fill_defaults(container: dict) -> None:
    """The members ECS fills in, so that describing gives back what ECS gives."""
    container.setdefault("cpu", 0)
    container.setdefault("essential", True)
    for key in ("portMappings", "environment", "mountPoints", "volumesFrom", "systemControls"):
        container.setdefault(key, [])
    health = container.get("healthCheck")
    if health is not None:
        for key, (_, _, default) in HEALTH_CHECK_RANGES.items():
            if default is not None:
                health.setdefault(key, default)


def check_memory(container: dict, task_memory: int | None) -> int:
    """Check a container's memory settings; return what it reserves (MiB) of the task's memory."""
    name = container["name"]
    memory, reservation = container.get("memory"), container.get("memoryReservation")
    if memory is None and reservation is None and task_memory is None:
        raise ClientException(
            f"Invalid setting for container '{name}'. At least one of 'memory' or "
            "'memoryReservation' must be specified."
        )
    for key, value in (("memory", memory), ("memoryReservation", reservation)):
        if value is not None and value < MIN_CONTAINER_MEMORY:
            raise ClientException(
                f"Invalid '{key}' setting for container '{name}'. The minimum is "
                f"{MIN_CONTAINER_MEMORY} MiB."
            )
    if memory is not None and reservation is not None and reservation > memory:
        raise ClientException(
            f"Invalid 'memoryReservation' setting for container '{name}'. 'memoryReservation' "
            "must be less than or equal to 'memory'."
        )
    if task_memory is not None and memory is not None and memory > task_memory:
        raise ClientException(
            f"The 'memory' setting for container '{name}' is greater than for the task."
        )
    return reservation if reservation is not None else (memory or 0)


def check_cpu(container: dict) -> int:
    cpu = container["cpu"]
    if cpu < 0:
        raise ClientException(f"Invalid 'cpu' setting for container '{container['name']}'.")
    return cpu


def check_settings(container: dict, volume_names: set[str], container_names: set[str]) -> None:
    """Everything of a container that names other parts of the task or has a range."""
    _check_mount_points(container, volume_names)
    _check_volumes_from(container, container_names)
    _check_health_check(container)
    _check_environment(container)
    _check_ulimits(container)
    _check_linux_parameters(container)
    _check_restart_policy(container)
    _check_timeouts(container)
    _check_awslogs(container)
    _check_docker_labels(container)


def _check_docker_labels(container: dict) -> None:
    # The emulator's own labels say which emulator owns a container and whether it is an orphan
    # (runtime/labels.py): a task that set one could have its container swept by another
    # emulator, or never counted as left behind.
    labels = container.get("dockerLabels")
    taken = sorted(key for key in labels if key.startswith(LABEL_PREFIX)) if isinstance(
        labels, dict) else []
    if taken:
        raise ClientException(
            f"Invalid dockerLabels in container '{container['name']}': the label prefix "
            f"'{LABEL_PREFIX}' is the emulator's own ({', '.join(taken)}).")


def _check_mount_points(container: dict, volume_names: set[str]) -> None:
    for mount in container["mountPoints"]:
        source = mount.get("sourceVolume")
        if source not in volume_names:
            raise ClientException(f"Unknown volume '{source if source else 'null'}'.")
        if not mount.get("containerPath"):
            raise ClientException(
                f"A mount point of container '{container['name']}' needs a containerPath."
            )


# A Windows path (C:\data): an EC2 Windows definition need not name its runtimePlatform.
_WINDOWS_PATH = re.compile(r"^[A-Za-z]:\\[^:]*$")


def check_container_paths(container: dict) -> None:
    """A Linux container's mount points, tmpfs mounts and devices are at absolute paths with no
    ':' (a Windows container's C:\\ paths are its own).

    ECS's reference names no rule for a mount point's (a tmpfs's is "the absolute file path"),
    but its agent, as ours, hands Docker "source:containerPath[:ro]" for a volume or host path
    (runtime/docker_specs.py: Binds) and "hostPath:containerPath:rwm" for a device
    (engine/container_specs.py): a ':' in a path would be read as Docker's options
    ("/data:rshared" changes a host volume's propagation, "/dev/x:/dev/y" maps another device),
    and a relative path fails only when the task starts. Refused when the definition is
    registered instead."""
    linux = container.get("linuxParameters") or {}
    paths = [("containerPath", mount.get("containerPath")) for mount in container["mountPoints"]]
    paths += [("containerPath", tmpfs.get("containerPath")) for tmpfs in linux.get("tmpfs", [])]
    for device in linux.get("devices", []):
        paths += [("hostPath", device.get("hostPath")),
                  ("containerPath", device.get("containerPath"))]
    for setting, path in paths:
        if path and (not path.startswith("/") or ":" in path) and not _WINDOWS_PATH.match(path):
            raise ClientException(
                f"Invalid '{setting}' setting for container '{container['name']}': "
                f"'{path}' is not an absolute path without ':'.")


def _check_volumes_from(container: dict, container_names: set[str]) -> None:
    for source in container["volumesFrom"]:
        other = source.get("sourceContainer")
        if other == container["name"] or other not in container_names:
            raise ClientException(
                f"Invalid volumesFrom in container '{container['name']}': sourceContainer "
                f"'{other}' must name another container of the task definition."
            )


def _check_health_check(container: dict) -> None:
    health = container.get("healthCheck")
    if health is None:
        return
    if not health["command"]:
        raise ClientException(
            f"The healthCheck of container '{container['name']}' needs a command."
        )
    for key, (low, high, _) in HEALTH_CHECK_RANGES.items():
        value = health.get(key)
        if value is not None and not low <= value <= high:
            raise ClientException(
                f"Invalid healthCheck setting for container '{container['name']}': '{key}' must "
                f"be between {low} and {high}; got {value}."
            )


def _check_environment(container: dict) -> None:
    name = container["name"]
    for variable in container["environment"]:
        if not variable.get("name"):
            raise ClientException(
                f"An environment variable of container '{name}' has no name."
            )
    for secret in container.get("secrets", []):
        if not secret["name"] or not secret["valueFrom"]:
            raise ClientException(
                f"A secret of container '{name}' needs both a name and a valueFrom."
            )
    if len(container.get("environmentFiles", [])) > MAX_ENVIRONMENT_FILES:
        raise ClientException(
            f"Container '{name}' has more than {MAX_ENVIRONMENT_FILES} environmentFiles."
        )


def _check_ulimits(container: dict) -> None:
    seen = set()
    for ulimit in container.get("ulimits", []):
        if ulimit["name"] in seen:
            raise ClientException(
                f"The ulimit '{ulimit['name']}' is set twice in container '{container['name']}'."
            )
        seen.add(ulimit["name"])
        if ulimit["softLimit"] > ulimit["hardLimit"]:
            raise ClientException(
                f"Invalid ulimit '{ulimit['name']}' in container '{container['name']}': the "
                "softLimit cannot be greater than the hardLimit."
            )


def _check_linux_parameters(container: dict) -> None:
    linux = container.get("linuxParameters")
    if linux is None:
        return
    name = container["name"]
    capabilities = linux.get("capabilities") or {}
    for cap in capabilities.get("add", []) + capabilities.get("drop", []):
        if cap not in KERNEL_CAPABILITIES:
            raise ClientException(
                f"Invalid kernel capability '{cap}' in container '{name}'."
            )
    swappiness = linux.get("swappiness")
    if swappiness is not None and not 0 <= swappiness <= 100:
        raise ClientException(
            f"Invalid 'swappiness' setting for container '{name}'; use 0 to 100."
        )
    if linux.get("maxSwap") is not None and linux["maxSwap"] < 0:
        raise ClientException(f"Invalid 'maxSwap' setting for container '{name}'; use 0 or more.")
    if linux.get("sharedMemorySize") is not None and linux["sharedMemorySize"] <= 0:
        raise ClientException(f"Invalid 'sharedMemorySize' setting for container '{name}'.")
    for tmpfs in linux.get("tmpfs", []):
        if tmpfs["size"] <= 0 or not tmpfs["containerPath"]:
            raise ClientException(
                f"Each tmpfs of container '{name}' needs a containerPath and a size above 0."
            )


def _check_restart_policy(container: dict) -> None:
    policy = container.get("restartPolicy")
    if policy is None:
        return
    name = container["name"]
    if len(policy.get("ignoredExitCodes", [])) > MAX_IGNORED_EXIT_CODES:
        raise ClientException(
            f"The restartPolicy of container '{name}' ignores more than "
            f"{MAX_IGNORED_EXIT_CODES} exit codes."
        )
    period = policy.get("restartAttemptPeriod")
    low, high = RESTART_ATTEMPT_PERIOD
    if period is not None and not low <= period <= high:
        raise ClientException(
            f"Invalid restartAttemptPeriod for container '{name}'; use {low} to {high} seconds."
        )


def _check_timeouts(container: dict) -> None:
    for key in ("startTimeout", "stopTimeout"):
        value = container.get(key)
        if value is not None and value < 0:
            raise ClientException(
                f"Invalid '{key}' setting for container '{container['name']}'."
            )


def _check_awslogs(container: dict) -> None:
    """ECS refuses, at registration, awslogs options the driver could not start with (the
    messages are ECS's own)."""
    log = container.get("logConfiguration") or {}
    if log.get("logDriver") != "awslogs":
        return
    options = log.get("options") or {}
    missing = [key for key in AWSLOGS_REQUIRED if key not in options]
    if missing:
        raise ClientException(f"Log driver awslogs requires options: {', '.join(missing)}")
    for key in AWSLOGS_REQUIRED:
        if not options[key].strip():
            raise ClientException(
                f"Log driver awslogs option '{key}' should not be null or empty.")
    if not LOG_GROUP_NAME.match(options["awslogs-group"]):
        raise ClientException(
            "Log driver awslogs option 'awslogs-group' contains invalid characters.")
    if options.get("awslogs-create-group", "true") != "true":
        raise ClientException(
            "Log driver awslogs option 'awslogs-create-group' should only be set to 'true', "
            "else omit option.")

"""Launch type compatibility of a task definition: what each launch type refuses, and the
`compatibilities` ECS computes.

One list of rules serves two purposes, as on ECS: when the registration requires a launch type
(`requiresCompatibilities`), its first problem is the refusal; otherwise a launch type without
problems is simply added to `compatibilities` (EC2 always is).
"""

from __future__ import annotations

import re

from emulator.ecs.errors import ClientException
from emulator.ecs.task_definition_sizes import EC2_CPU_RANGE, invalid_setting, is_fargate_size
from emulator.registry.ecr_hosts import ECR_REGISTRY

FARGATE_LOG_DRIVERS = ("awslogs", "splunk", "awsfirelens")
FARGATE_CAPABILITIES = ("SYS_PTRACE",)
ECR_IMAGE = re.compile(rf"^{ECR_REGISTRY}/")


def compatibilities(spec: dict) -> list[str]:
    """Refuse what a required launch type cannot run; return the launch types that can run it."""
    required = spec.get("requiresCompatibilities", [])
    # EC2 comes last: a Fargate task's cpu should be refused by Fargate's rules first.
    for launch_type in [t for t in required if t != "EC2"] + ["EC2"]:
        problems = PROBLEMS[launch_type](spec)
        if problems:
            raise ClientException(problems[0])
    # ECS lists EXTERNAL (ECS Anywhere) first wherever the definition could run there, required
    # or not, as AWS answers it: `"compatibilities": ["EXTERNAL", "EC2"]` for a bridge task
    # definition that requires EC2 (DescribeTaskDefinition answers kept in public repositories,
    # e.g. huannv93/ucadity-labs1 aws/server/modules/ecs/templates/task_be.tpl).
    result = ["EXTERNAL"] if "EXTERNAL" in required or not external_problems(spec) else []
    result.append("EC2")
    if "FARGATE" in required or not fargate_problems(spec):
        result.append("FARGATE")
    if "MANAGED_INSTANCES" in required:
        result.append("MANAGED_INSTANCES")
    return result


def is_windows(spec: dict) -> bool:
    family = (spec.get("runtimePlatform") or {}).get("operatingSystemFamily", "LINUX")
    return family.startswith("WINDOWS")


def fargate_problems(spec: dict) -> list[str]:
    problems = _fargate_task_problems(spec)
    for container in spec["containerDefinitions"]:
        problems += _fargate_container_problems(spec, container)
    return problems


def _fargate_task_problems(spec: dict) -> list[str]:
    problems = []
    if spec.get("networkMode") != "awsvpc":
        problems.append("Fargate only supports network mode \u2018awsvpc\u2019.")
    cpu, memory = spec.get("cpu"), spec.get("memory")
    if cpu is None:
        problems.append("Fargate requires that 'cpu' be defined at the task level.")
    elif memory is None:
        problems.append("Fargate requires that 'memory' be defined at the task level.")
    elif not is_fargate_size(int(cpu), int(memory), is_windows(spec)):
        problems.append(
            f"No Fargate configuration exists for given values: {cpu} CPU, {memory} memory. "
            "See the Amazon ECS documentation for the valid values."
        )
    platform = spec.get("runtimePlatform") or {}
    if is_windows(spec) and platform.get("cpuArchitecture") == "ARM64":
        problems.append("Fargate does not support Windows containers on the ARM64 architecture.")
    if spec.get("pidMode") not in (None, "task"):
        problems.append(
            f"Tasks using the Fargate launch type do not support pidMode '{spec['pidMode']}'. "
            "The supported value for pidMode is 'task'."
        )
    if spec.get("ipcMode"):
        problems.append("Tasks using the Fargate launch type do not support ipcMode.")
    if spec.get("placementConstraints"):
        problems.append("Tasks using the Fargate launch type do not support placementConstraints.")
    if spec.get("inferenceAccelerators"):
        problems.append("Tasks using the Fargate launch type do not support inferenceAccelerators.")
    for volume in spec.get("volumes", []):
        if (volume.get("host") or {}).get("sourcePath"):
            problems.append("Fargate compatible task definitions do not support sourcePath")
        if "dockerVolumeConfiguration" in volume:
            problems.append(
                "Fargate compatible task definitions do not support dockerVolumeConfiguration"
            )
    return problems


def _fargate_container_problems(spec: dict, container: dict) -> list[str]:
    name, problems = container["name"], []

    def refuse(what: str) -> None:
        problems.append(f"Fargate compatible task definitions do not support {what} "
                        f"(container '{name}').")

    if container.get("privileged"):
        refuse("privileged containers")
    if container.get("dockerSecurityOptions"):
        refuse("dockerSecurityOptions")
    linux = container.get("linuxParameters") or {}
    for key in ("devices", "sharedMemorySize", "tmpfs", "maxSwap", "swappiness"):
        if linux.get(key) is not None:
            refuse(f"linuxParameters.{key}")
    added = (linux.get("capabilities") or {}).get("add", [])
    if any(cap not in FARGATE_CAPABILITIES for cap in added):
        refuse("adding kernel capabilities other than SYS_PTRACE")
    if any(r["type"] == "GPU" for r in container.get("resourceRequirements", [])):
        refuse("GPU resource requirements")
    driver = (container.get("logConfiguration") or {}).get("logDriver")
    if driver and driver not in FARGATE_LOG_DRIVERS:
        refuse(f"the log driver {driver}; use awslogs, splunk or awsfirelens")
    role = spec.get("executionRoleArn")
    if driver == "awslogs" and not role:
        problems.append(
            "Fargate requires task definition to have execution role ARN to support log "
            "driver awslogs."
        )
    if ECR_IMAGE.match(container.get("image", "")) and not role:
        problems.append(
            "Fargate requires task definition to have execution role ARN to support ECR images."
        )
    return problems


def external_problems(spec: dict) -> list[str]:
    problems = []
    if spec.get("networkMode") == "awsvpc":
        problems.append(
            "Tasks that run on external instances must use the bridge, host, or none network "
            "modes; awsvpc is not supported."
        )
    if any("efsVolumeConfiguration" in v for v in spec.get("volumes", [])):
        problems.append("Tasks that run on external instances do not support EFS volumes.")
    return problems


def managed_instances_problems(spec: dict) -> list[str]:
    if spec.get("networkMode") not in ("awsvpc", "host"):
        return ["Tasks on Amazon ECS Managed Instances must use the awsvpc or host network mode."]
    return []


def ec2_problems(spec: dict) -> list[str]:
    cpu = spec.get("cpu")
    low, high = EC2_CPU_RANGE
    if cpu is not None and not is_windows(spec) and not low <= int(cpu) <= high:
        return [invalid_setting("cpu")]
    return []


PROBLEMS = {
    "EC2": ec2_problems,
    "FARGATE": fargate_problems,
    "EXTERNAL": external_problems,
    "MANAGED_INSTANCES": managed_instances_problems,
}

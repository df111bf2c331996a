"""`requiresAttributes`: the container instance attributes a task definition needs, computed
from the features it uses, as ECS computes them for placement on EC2 instances.

The names are those the ECS agent advertises (com.amazonaws.ecs.capability.* for the old ones,
ecs.capability.* for the newer ones).
"""

from __future__ import annotations

from emulator.ecs.task_definition_compat import ECR_IMAGE

LEGACY = "com.amazonaws.ecs.capability."
CAPABILITY = "ecs.capability."


def required(spec: dict) -> list[dict]:
    names: list[str] = []

    def need(name: str) -> None:
        if name not in names:
            names.append(name)

    _task_level(spec, need)
    for volume in spec.get("volumes", []):
        _volume(volume, need)
    for container in spec["containerDefinitions"]:
        _container(spec, container, need)
    return [{"name": name} for name in names]


def _task_level(spec: dict, need) -> None:
    mode = spec.get("networkMode")
    if mode == "awsvpc":
        need(CAPABILITY + "task-eni")
    if spec.get("taskRoleArn"):
        need(LEGACY + "task-iam-role")
        if mode == "host":
            need(LEGACY + "task-iam-role-network-host")
    if spec.get("pidMode") or spec.get("ipcMode"):
        need(CAPABILITY + "pid-ipc-namespace-sharing")
    if spec.get("proxyConfiguration"):
        need(CAPABILITY + "aws-appmesh")
    if spec.get("inferenceAccelerators"):
        need(CAPABILITY + "task-eia")
    if spec.get("enableFaultInjection"):
        need(CAPABILITY + "fault-injection")


def _volume(volume: dict, need) -> None:
    efs = volume.get("efsVolumeConfiguration")
    if efs is not None:
        need(CAPABILITY + "efs")
        if efs.get("authorizationConfig") or efs.get("transitEncryption") == "ENABLED":
            need(CAPABILITY + "efsAuth")
    if "fsxWindowsFileServerVolumeConfiguration" in volume:
        need(CAPABILITY + "fsxWindowsFileServer")
    docker = volume.get("dockerVolumeConfiguration")
    if docker is not None:
        need(LEGACY + "docker-remote-api.1.25")
        if docker.get("driver"):
            need(CAPABILITY + "docker-plugin." + docker["driver"])


def _container(spec: dict, container: dict, need) -> None:
    if container.get("memoryReservation") is not None:
        need(LEGACY + "docker-remote-api.1.21")
    if container.get("dockerLabels") or container.get("ulimits"):
        need(LEGACY + "docker-remote-api.1.18")
    if container.get("privileged"):
        need(LEGACY + "privileged-container")
    for option in container.get("dockerSecurityOptions", []):
        if option.startswith("label"):
            need(LEGACY + "selinux")
        elif option.startswith("apparmor"):
            need(LEGACY + "apparmor")
    if (container.get("linuxParameters") or {}).get("initProcessEnabled"):
        need(LEGACY + "docker-remote-api.1.25")
    if container.get("healthCheck"):
        need(CAPABILITY + "container-health-check")
    if container.get("dependsOn"):
        need(CAPABILITY + "container-ordering")
    if container.get("environmentFiles"):
        need(CAPABILITY + "env-files.s3")
    if container.get("repositoryCredentials"):
        need(CAPABILITY + "private-registry-authentication.secretsmanager")
    if (container.get("restartPolicy") or {}).get("enabled"):
        need(CAPABILITY + "container-restart-policy")
    if any("containerPortRange" in m for m in container.get("portMappings", [])):
        need(CAPABILITY + "network.container-port-range")
    if ECR_IMAGE.match(container.get("image", "")):
        need(LEGACY + "ecr-auth")
        if spec.get("executionRoleArn"):
            need(CAPABILITY + "execution-role-ecr-pull")
    for secret in container.get("secrets", []):
        need(CAPABILITY + f"secrets.{_secret_store(secret)}.environment-variables")
    _firelens(container, need)
    _logging(spec, container, need)


def _firelens(container: dict, need) -> None:
    firelens = container.get("firelensConfiguration")
    if firelens is None:
        return
    need(CAPABILITY + "firelens." + firelens["type"])
    config_type = (firelens.get("options") or {}).get("config-file-type")
    if config_type in ("file", "s3"):
        need(CAPABILITY + "firelens.options.config." + config_type)


def _logging(spec: dict, container: dict, need) -> None:
    log = container.get("logConfiguration")
    if log is None:
        return
    driver = log["logDriver"]
    need(LEGACY + "docker-remote-api.1.18")
    need(LEGACY + "logging-driver." + driver)
    if log.get("options"):
        need(LEGACY + "docker-remote-api.1.19")
    if driver == "awslogs" and spec.get("executionRoleArn"):
        need(CAPABILITY + "execution-role-awslogs")
    for secret in log.get("secretOptions", []):
        need(CAPABILITY + f"secrets.{_secret_store(secret)}.bootstrap.log-driver")


def _secret_store(secret: dict) -> str:
    """Secrets Manager ("asm") for its ARNs, Systems Manager Parameter Store ("ssm") otherwise."""
    return "asm" if ":secretsmanager:" in secret.get("valueFrom", "") else "ssm"

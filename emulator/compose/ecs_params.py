"""ecs-params.yml: the ECS fields docker-compose has no words for, in the ECS CLI's schema.

    version: 1
    task_definition:
      ecs_network_mode: awsvpc          # networkMode
      task_role_arn: ...                # taskRoleArn
      task_execution_role: ...          # executionRoleArn (a name or an ARN)
      pid_mode / ipc_mode
      task_size: {cpu_limit: 256, mem_limit: 0.5GB}
      services:                         # per container
        web: {essential, cpu_shares, mem_limit, mem_reservation, healthcheck, secrets,
              init_process_enabled, repository_credentials: {credentials_parameter},
              logging: {secret_options}, firelens_configuration: {type, options}, gpu}
      docker_volumes: [{name, scope, autoprovision, driver, driver_opts, labels}]
      efs_volumes: [{name, filesystem_id, root_directory, transit_encryption, ...}]
      placement_constraints: [{type, expression}]
    run_params:
      network_configuration:
        awsvpc_configuration: {subnets, security_groups, assign_public_ip}
      task_placement: {strategy: [{type, field}], constraints: [{type, expression}]}

Environment variables ($VAR, ${VAR}) are expanded before the YAML is read, as the ECS CLI does.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from emulator.compose.containers import health_check
from emulator.compose.files import ComposeError
from emulator.compose.units import size_in_mib

DEFAULT_FILE = "ecs-params.yml"


def read_ecs_params(path: str | None, cwd: Path | None = None) -> dict:
    """The parsed file: the one named, else ecs-params.yml if present, else {}."""
    cwd = cwd or Path.cwd()
    if path is None:
        candidate = cwd / DEFAULT_FILE
        if not candidate.exists():
            return {}
        path = str(candidate)
    file = Path(path) if Path(path).is_absolute() else cwd / path
    try:
        text = expand_env(file.read_text(), os.environ)
    except OSError as error:
        raise ComposeError(f"Error reading file '{path}': {error.strerror}") from None
    return _parse(text, file)


_ENV = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


def expand_env(text: str, environ) -> str:
    """Go's os.ExpandEnv: $VAR and ${VAR}, an unset variable expands to nothing."""
    return _ENV.sub(lambda m: environ.get(m.group(1) or m.group(2), ""), text)


def _parse(text: str, path: Path) -> dict:
    import yaml

    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise ComposeError(f"Error unmarshalling yaml data from ECS params file: {path}: "
                           f"{error}") from None
    if not isinstance(data, dict):
        raise ComposeError(f"{path}: the top level of an ECS params file must be a mapping")
    return data


def task_section(params: dict) -> dict:
    return params.get("task_definition") or {}


def task_fields(params: dict) -> dict:
    """Task-level RegisterTaskDefinition fields."""
    section = task_section(params)
    fields: dict = {}
    if section.get("ecs_network_mode"):
        fields["networkMode"] = section["ecs_network_mode"]
    if section.get("task_role_arn"):
        fields["taskRoleArn"] = str(section["task_role_arn"])
    if section.get("task_execution_role"):
        fields["executionRoleArn"] = str(section["task_execution_role"])
    for key, field in (("pid_mode", "pidMode"), ("ipc_mode", "ipcMode")):
        if section.get(key):
            fields[field] = section[key]
    size = section.get("task_size") or {}
    if size.get("cpu_limit") not in (None, ""):
        fields["cpu"] = str(size["cpu_limit"])
    if size.get("mem_limit") not in (None, ""):
        fields["memory"] = str(size["mem_limit"])
    constraints = section.get("placement_constraints") or []
    if constraints:
        fields["placementConstraints"] = [_constraint(c) for c in constraints]
    return fields


def container_overrides(params: dict, name: str) -> dict:
    """What ecs-params says about one container, as container definition fields."""
    spec = (task_section(params).get("services") or {}).get(name)
    if spec is None:
        return {}
    fields: dict = {"essential": bool(spec.get("essential", True))}
    if spec.get("cpu_shares") is not None:
        fields["cpu"] = int(spec["cpu_shares"])
    for key, field in (("mem_limit", "memory"), ("mem_reservation", "memoryReservation")):
        if spec.get(key) is not None:
            fields[field] = size_in_mib(spec[key], f"{name} {key}")
    check = health_check(spec.get("healthcheck"))
    if check is not None:
        fields["healthCheck"] = check
    if spec.get("secrets"):
        fields["secrets"] = [_secret(s) for s in spec["secrets"]]
    if spec.get("init_process_enabled"):
        fields["linuxParameters"] = {"initProcessEnabled": True}
    credentials = (spec.get("repository_credentials") or {}).get("credentials_parameter")
    if credentials:
        fields["repositoryCredentials"] = {"credentialsParameter": credentials}
    secret_options = (spec.get("logging") or {}).get("secret_options")
    if secret_options:
        fields["logSecretOptions"] = [_secret(s) for s in secret_options]
    firelens = spec.get("firelens_configuration") or {}
    if firelens.get("type"):
        fields["firelensConfiguration"] = {"type": firelens["type"],
                                           **({"options": firelens["options"]}
                                              if firelens.get("options") else {})}
    if spec.get("gpu"):
        fields["resourceRequirements"] = [{"type": "GPU", "value": str(spec["gpu"])}]
    return fields


def essential_names(params: dict) -> dict[str, bool]:
    return {name: bool((spec or {}).get("essential", True))
            for name, spec in (task_section(params).get("services") or {}).items()}


def network_configuration(params: dict) -> dict | None:
    """RunTask's/CreateService's networkConfiguration; only for the awsvpc network mode."""
    if task_section(params).get("ecs_network_mode") != "awsvpc":
        return None
    vpc = ((params.get("run_params") or {}).get("network_configuration") or {}).get(
        "awsvpc_configuration") or {}
    subnets = [str(s) for s in vpc.get("subnets") or []]
    if not subnets:
        raise ComposeError("at least one subnet is required in the network configuration")
    config: dict = {"subnets": subnets}
    if vpc.get("security_groups"):
        config["securityGroups"] = [str(s) for s in vpc["security_groups"]]
    if vpc.get("assign_public_ip"):
        config["assignPublicIp"] = str(vpc["assign_public_ip"])
    return {"awsvpcConfiguration": config}


def placement(params: dict) -> dict:
    """CreateService's/RunTask's placementConstraints and placementStrategy, if any."""
    section = (params.get("run_params") or {}).get("task_placement") or {}
    fields: dict = {}
    if section.get("constraints"):
        fields["placementConstraints"] = [_constraint(c) for c in section["constraints"]]
    if section.get("strategy"):
        fields["placementStrategy"] = [
            {"type": s["type"], **({"field": s["field"]} if s.get("field") else {})}
            for s in section["strategy"]]
    return fields


def docker_volumes(params: dict) -> list[dict]:
    volumes = []
    for spec in task_section(params).get("docker_volumes") or []:
        config = {key: spec[src] for src, key in (
            ("scope", "scope"), ("autoprovision", "autoprovision"), ("driver", "driver"),
            ("driver_opts", "driverOpts"), ("labels", "labels")) if spec.get(src) is not None}
        volumes.append({"name": spec["name"], "dockerVolumeConfiguration": config})
    return volumes


def efs_volumes(params: dict) -> list[dict]:
    volumes = []
    for spec in task_section(params).get("efs_volumes") or []:
        if not spec.get("filesystem_id"):
            raise ComposeError(f"efs volume {spec.get('name')!r}: filesystem_id is required")
        config: dict = {"fileSystemId": spec["filesystem_id"]}
        for src, key in (("root_directory", "rootDirectory"),
                         ("transit_encryption", "transitEncryption"),
                         ("transit_encryption_port", "transitEncryptionPort")):
            if spec.get(src) is not None:
                config[key] = spec[src]
        auth = {key: spec[src] for src, key in (("access_point", "accessPointId"), ("iam", "iam"))
                if spec.get(src)}
        if auth:
            config["authorizationConfig"] = auth
        volumes.append({"name": spec["name"], "efsVolumeConfiguration": config})
    return volumes


def _constraint(spec: dict) -> dict:
    return {"type": spec["type"], **({"expression": spec["expression"]}
                                     if spec.get("expression") else {})}


def _secret(spec: dict) -> dict:
    return {"name": spec["name"], "valueFrom": spec["value_from"]}

"""What every `compose` command starts from: the project (its name, compose files, ecs-params),
its task definition registered (or an identical one reused, as the ECS CLI does), and its log
groups created with --create-log-groups.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from emulator import compose
from emulator.cli_commands import output
from emulator.cli_commands.connection import CliError
from emulator.ecscli.config import ClusterContext

_PROJECT_NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]+")


@dataclass
class Project:
    name: str
    ctx: ClusterContext
    conversion: compose.Conversion
    ecs_params: dict

    @property
    def family(self) -> str:
        return self.name

    def launch_parameters(self) -> dict:
        """What RunTask (`compose up`) and CreateService (`compose service up`) are given
        alike: the cluster's launch type, ecs-params' network configuration and placement."""
        request = {"launchType": self.ctx.launch_type} if self.ctx.launch_type else {}
        network = compose.network_configuration(self.ecs_params)
        if network:
            request["networkConfiguration"] = network
        request.update(compose.placement(self.ecs_params))
        return request


def project_name(args) -> str:
    name = (getattr(args, "project_name", None) or os.environ.get("COMPOSE_PROJECT_NAME")
            or Path.cwd().name)
    return _PROJECT_NAME_UNSAFE.sub("", name) or "default"


def load(args, ctx: ClusterContext) -> Project:
    try:
        files = compose.compose_files(getattr(args, "file", None))
        project = compose.load_project(files)
        params = compose.read_ecs_params(getattr(args, "ecs_params", None))
        name = project_name(args)
        conversion = compose.task_definition(project, params, name, launch_type=ctx.launch_type,
                                             task_role_arn=getattr(args, "task_role_arn", None))
    except compose.ComposeError as error:
        raise CliError(str(error)) from None
    for warning in conversion.warnings:
        output.warn(warning)
    return Project(name=name, ctx=ctx, conversion=conversion, ecs_params=params)


def require_cluster(ctx: ClusterContext) -> None:
    found = ctx.conn.client("ecs").describe_clusters(clusters=[ctx.cluster])["clusters"]
    if not found or found[0]["status"] != "ACTIVE":
        raise CliError(f"Cluster not found: {ctx.cluster} in {ctx.region}; create it with "
                       "`ecs-emulator up`")


def create_log_groups(project: Project) -> None:
    from botocore.exceptions import ClientError

    for container in project.conversion.request["containerDefinitions"]:
        config = container.get("logConfiguration") or {}
        if config.get("logDriver") != "awslogs":
            continue
        options = config.get("options") or {}
        group = options.get("awslogs-group")
        if not group:
            raise CliError(f"container {container['name']}: awslogs needs an awslogs-group")
        region = options.get("awslogs-region") or project.ctx.region
        try:
            project.ctx.conn.client("logs", region=region).create_log_group(logGroupName=group)
            output.info("Created Log Group", logGroup=group, region=region)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceAlreadyExistsException":
                raise
            output.info("Log Group already exists", logGroup=group, region=region)


def register(project: Project) -> str:
    """The family:revision to run: the latest revision if it is what we would register."""
    from botocore.exceptions import ClientError

    ecs = project.ctx.conn.client("ecs")
    wanted = project.conversion.request
    try:
        latest = ecs.describe_task_definition(taskDefinition=project.family)["taskDefinition"]
    except ClientError:
        latest = None
    if latest is not None and latest.get("status") == "ACTIVE" and _same(_normalized(wanted),
                                                                          latest):
        registered = latest
    else:
        registered = ecs.register_task_definition(**wanted)["taskDefinition"]
    name = f"{registered['family']}:{registered['revision']}"
    output.info("Using ECS task definition", TaskDefinition=name)
    return name


def _normalized(request: dict) -> dict:
    """cpu and memory as ECS stores them ("0.5GB" -> "512", "1 vCPU" -> "1024")."""
    out = dict(request)
    for key, unit in (("memory", "GB"), ("cpu", "VCPU")):
        value = str(out.get(key, "")).strip()
        if value.upper().endswith(unit):
            try:
                out[key] = str(int(float(value[: -len(unit)].strip()) * 1024))
            except ValueError:
                pass
    return out


def _same(wanted, have) -> bool:
    """Whether every field we set has that value in the described definition (ECS adds defaults
    we did not set; those do not count)."""
    if isinstance(wanted, dict):
        return isinstance(have, dict) and all(_same(v, have.get(k)) for k, v in wanted.items())
    if isinstance(wanted, list):
        return isinstance(have, list) and len(wanted) == len(have) and all(
            _same(w, h) for w, h in zip(wanted, have))
    return wanted == have or (have is not None and str(wanted) == str(have))

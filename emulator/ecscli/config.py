"""The ECS CLI's configuration files, in its format, under $HOME/.ecs:

    ~/.ecs/config                         ~/.ecs/credentials
    version: v1                           version: v1
    default: tutorial                     default: tutorial-profile
    clusters:                             ecs_profiles:
      tutorial:                             tutorial-profile:
        cluster: tutorial                     aws_access_key_id: ...
        region: ap-southeast-2                aws_secret_access_key: ...
        default_launch_type: FARGATE

and the context a command runs in: which cluster, region, launch type and credentials, from the
flags first, then the named (or default) cluster configuration, then the environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from emulator.cli_commands.connection import (
    CliError, Connection, aws_session, endpoint_from, own_region_from, region_from,
)
from emulator.private_files import write_private

STACK_PREFIX = "amazon-ecs-cli-setup-"
LAUNCH_TYPES = ("EC2", "FARGATE")


def config_dir() -> Path:
    return Path(os.path.expanduser("~")) / ".ecs"


def _read(name: str) -> dict:
    path = config_dir() / name
    if not path.exists():
        return {}
    try:
        return yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise CliError(f"{path} is not valid YAML: {error}") from None


def _write(name: str, data: dict) -> Path:
    path = config_dir() / name
    # ~/.ecs made for you only, as the credentials in it are (one of yours is left as it is).
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    text = yaml.safe_dump(data, sort_keys=False)
    if name != "credentials":
        path.write_text(text)
        return path
    write_private(path, text)  # profiles may hold real keys
    return path


def save_cluster_config(config_name: str, cluster: str, region: str | None,
                        launch_type: str | None, stack_name: str | None = None) -> Path:
    data = _read("config")
    entry = {"cluster": cluster, "region": region or ""}
    if launch_type:
        entry["default_launch_type"] = launch_type
    if stack_name:
        entry["cfn-stack-name"] = stack_name
    clusters = {**(data.get("clusters") or {}), config_name: entry}
    default = data.get("default") if data.get("default") in clusters else config_name
    return _write("config", {"version": "v1", "default": default, "clusters": clusters})


def set_default_config(config_name: str) -> None:
    data = _read("config")
    if config_name not in (data.get("clusters") or {}):
        raise CliError(f"cluster configuration {config_name} does not exist; create it with "
                       "`ecs-emulator configure --config-name ...`")
    data["default"] = config_name
    _write("config", data)


def save_profile(profile_name: str, access_key: str, secret_key: str,
                 session_token: str | None = None) -> Path:
    data = _read("credentials")
    profiles = dict(data.get("ecs_profiles") or {})
    profile = {"aws_access_key_id": access_key, "aws_secret_access_key": secret_key}
    if session_token:
        profile["aws_session_token"] = session_token
    profiles[profile_name] = profile
    default = data.get("default") if data.get("default") in profiles else profile_name
    return _write("credentials", {"version": "v1", "default": default, "ecs_profiles": profiles})


def set_default_profile(profile_name: str) -> None:
    data = _read("credentials")
    if profile_name not in (data.get("ecs_profiles") or {}):
        raise CliError(f"ECS profile {profile_name} does not exist")
    data["default"] = profile_name
    _write("credentials", data)


@dataclass
class ClusterContext:
    cluster: str
    region: str
    launch_type: str | None
    stack_name: str
    conn: Connection


def cluster_context(args, own_command: bool = False) -> ClusterContext:
    """The context of a command; `own_command`: one of ours (status, ps...), not the ECS
    CLI's, whose region is taken in the AWS CLI's order (connection.own_region_from)."""
    data = _read("config")
    clusters = data.get("clusters") or {}
    name = getattr(args, "cluster_config", None) or data.get("default")
    entry = clusters.get(name) if name else None
    if getattr(args, "cluster_config", None) and entry is None:
        raise CliError(f"cluster configuration {args.cluster_config} not found in "
                       f"{config_dir() / 'config'}; run `ecs-emulator configure` first")
    entry = entry or {}
    cluster = getattr(args, "cluster", None) or entry.get("cluster") or "default"
    configured_region = entry.get("region") or None
    profile = getattr(args, "aws_profile", None)
    session = aws_session(profile) if own_command else None  # (the Connection's too)
    region = (own_region_from(args, configured_region, session) if own_command
              else region_from(args, configured_region))
    launch_type = getattr(args, "launch_type", None) or entry.get("default_launch_type") or None
    stack = entry.get("cfn-stack-name") if not getattr(args, "cluster", None) else None
    conn = Connection(endpoint_url=endpoint_from(args), region=region,
                      credentials=_credentials(args), profile=profile, _session=session)
    return ClusterContext(cluster=cluster, region=region, launch_type=launch_type,
                          stack_name=stack or STACK_PREFIX + cluster, conn=conn)


def _credentials(args) -> dict | None:
    if getattr(args, "aws_profile", None):
        return None  # boto3 reads that profile
    data = _read("credentials")
    profiles = data.get("ecs_profiles") or {}
    name = getattr(args, "ecs_profile", None)
    if name and name not in profiles:
        raise CliError(f"ECS profile {name} not found in {config_dir() / 'credentials'}")
    profile = profiles.get(name or data.get("default") or "")
    if not profile or (not name and os.environ.get("AWS_ACCESS_KEY_ID")):
        return None
    keys = {"aws_access_key_id": profile["aws_access_key_id"],
            "aws_secret_access_key": profile["aws_secret_access_key"]}
    if profile.get("aws_session_token"):
        keys["aws_session_token"] = profile["aws_session_token"]
    return keys

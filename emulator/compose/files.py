"""Reading docker-compose files: YAML, the format's version, ${VARIABLE} interpolation, and the
merge of several -f files into one project, as docker-compose (and so the ECS CLI) does.

Versions 1 (services at the top level), 2 and 3 (under `services:`) are read; a file without a
version is taken as the Compose Specification, which is shaped like version 3.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml


class ComposeError(Exception):
    """A compose or ecs-params file that cannot be converted; the message says why."""


@dataclass
class ComposeProject:
    version: str  # "1", "2" or "3"
    services: dict[str, dict]  # in file order
    volumes: dict[str, dict | None] = field(default_factory=dict)  # top-level named volumes
    directory: Path = Path(".")  # where relative paths (env_file, bind mounts) start from


DEFAULT_FILES = ("docker-compose.yml", "docker-compose.yaml")
OVERRIDE_FILES = ("docker-compose.override.yml", "docker-compose.override.yaml")

# Keys whose values docker-compose concatenates across files, and those it merges as mappings.
_LIST_KEYS = {"ports", "expose", "extra_hosts", "cap_add", "cap_drop", "dns", "dns_search",
              "volumes", "volumes_from", "tmpfs", "security_opt", "links", "env_file"}
_MAP_KEYS = {"environment", "labels", "ulimits", "healthcheck", "logging", "depends_on"}


def compose_files(given: list[str] | None, cwd: Path | None = None) -> list[Path]:
    """The files to read: those given with -f, or docker-compose.yml and its override file."""
    cwd = cwd or Path.cwd()
    if given:
        return [cwd / name for name in given]
    found = [cwd / name for name in DEFAULT_FILES if (cwd / name).exists()][:1]
    if not found:
        raise ComposeError(f"no docker-compose.yml in {cwd} (give one with --file)")
    return found + [cwd / name for name in OVERRIDE_FILES if (cwd / name).exists()][:1]


def load_project(paths: list[Path], environ: dict | None = None) -> ComposeProject:
    environ = dict(os.environ if environ is None else environ)
    project: ComposeProject | None = None
    for path in paths:
        loaded = _load_file(path, environ)
        project = loaded if project is None else _merge(project, loaded)
    if project is None or not project.services:
        raise ComposeError("the compose file defines no services")
    return project


def read_yaml(path: Path, environ: dict, *, what: str) -> dict:
    try:
        text = path.read_text()
    except OSError as error:
        raise ComposeError(f"Error reading file '{path}': {error.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ComposeError(f"Error unmarshalling yaml data from {what} file: {path}: {error}") \
            from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ComposeError(f"{path}: the top level of a {what} file must be a mapping")
    return interpolate(data, environ)


def _load_file(path: Path, environ: dict) -> ComposeProject:
    data = read_yaml(path, environ, what="compose")
    version = str(data.get("version", "3" if "services" in data else "1")).strip()
    major = version.split(".")[0]
    if major not in ("1", "2", "3"):
        raise ComposeError(f"{path}: unsupported compose file version {version!r}")
    services = data if major == "1" and "services" not in data else data.get("services") or {}
    if not isinstance(services, dict):
        raise ComposeError(f"{path}: `services` must be a mapping of service names")
    for name, service in services.items():
        if not isinstance(service, dict):
            raise ComposeError(f"{path}: service {name!r} must be a mapping")
    volumes = data.get("volumes") if major != "1" else {}
    return ComposeProject(version=major, services=dict(services), volumes=dict(volumes or {}),
                          directory=path.parent.resolve())


def _merge(base: ComposeProject, override: ComposeProject) -> ComposeProject:
    services = dict(base.services)
    for name, service in override.services.items():
        services[name] = _merge_service(services.get(name, {}), service)
    return ComposeProject(version=base.version, services=services,
                          volumes={**base.volumes, **override.volumes}, directory=base.directory)


def _merge_service(base: dict, override: dict) -> dict:
    merged = dict(base)
    for key, value in override.items():
        old = merged.get(key)
        if key in _LIST_KEYS and isinstance(old, list) and isinstance(value, list):
            merged[key] = old + [v for v in value if v not in old]
        elif key in _MAP_KEYS and isinstance(old, dict) and isinstance(value, dict):
            merged[key] = {**old, **value}
        else:
            merged[key] = value
    return merged


# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR?err}, $VAR; $$ is a literal $.
_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\})"
)


def interpolate(value, environ: dict):
    """Substitute variables in every string of a parsed YAML document, as docker-compose does."""
    if isinstance(value, str):
        return _VARIABLE.sub(lambda match: _substitute(match, environ), value)
    if isinstance(value, dict):
        return {key: interpolate(item, environ) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, environ) for item in value]
    return value


def _substitute(match: re.Match, environ: dict) -> str:
    if match.group("escaped"):
        return "$"
    name = match.group("bare") or match.group("braced")
    op, arg = match.group("op"), match.group("arg") or ""
    value = environ.get(name)
    unset_or_empty = value is None or (value == "" and op is not None and op.startswith(":"))
    if op in ("-", ":-") and unset_or_empty:
        return arg
    if op in ("?", ":?") and unset_or_empty:
        raise ComposeError(f"required variable {name} is missing a value: {arg}")
    return value or ""


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines (# comments, blank lines and a KEY alone, which is taken as empty)."""
    values = {}
    try:
        lines = path.read_text().splitlines()
    except OSError as error:
        raise ComposeError(f"Couldn't find env file: {path}: {error.strerror}") from None
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value
    return values

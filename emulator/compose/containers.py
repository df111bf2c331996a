"""One docker-compose service -> one ECS container definition, by the ECS CLI's conversion rules.

The container is named after the service. Fields ECS has no equivalent for (build, networks,
restart, deploy, ...) are skipped with a warning, as the ECS CLI does. Beyond the ECS CLI,
`depends_on` becomes `dependsOn` (service_healthy -> HEALTHY, service_completed_successfully
-> SUCCESS, otherwise START) and `stop_grace_period` becomes `stopTimeout`.
"""

from __future__ import annotations

import shlex

from emulator.compose.files import ComposeError, read_env_file
from emulator.compose.ports import port_mappings
from emulator.compose.units import seconds, size_in_bytes, size_in_mib
from emulator.compose.volumes import VolumeNames

DEFAULT_MEMORY_MIB = 512  # the ECS CLI's default when neither compose nor ecs-params sets one

_SKIPPED = ("build", "networks", "network_mode", "restart", "deploy", "container_name",
            "devices", "cgroup_parent", "expose", "external_links", "pid", "ipc", "isolation",
            "mac_address", "oom_score_adj", "sysctls", "userns_mode", "configs", "secrets")
_DEPENDENCY = {"service_started": "START", "service_healthy": "HEALTHY",
               "service_completed_successfully": "SUCCESS"}


def container_definition(name: str, service: dict, context) -> tuple[dict, list[str]]:
    """The container definition of one service, and warnings about fields left out.

    `context` carries the project directory, the shell environment, the named volumes and the
    service's ecs-params overrides (see task_definition.py).
    """
    if not service.get("image"):
        raise ComposeError(f"service {name!r} has no image: images are not built here; "
                           "build and push it first, then name it in `image`")
    out: dict = {"name": name, "image": str(service["image"]), "essential": True}
    warnings = [f"Skipping unsupported YAML option for service... option name={key} "
                f"service name={name}" for key in _SKIPPED if key in service]
    _command_fields(out, service)
    _environment(out, service, context)
    _simple_fields(out, service)
    ports = port_mappings(name, service.get("ports") or [])
    if ports:
        out["portMappings"] = ports
    _logging(out, service)
    _health_check(out, service.get("healthcheck"))
    _dependencies(out, service.get("depends_on"))
    _linux_parameters(out, service)
    _mounts(out, name, service, context.volumes)
    return out, warnings


def _command_fields(out: dict, service: dict) -> None:
    for key, field in (("command", "command"), ("entrypoint", "entryPoint")):
        value = service.get(key)
        if value is None or value == []:
            continue
        out[field] = shlex.split(value) if isinstance(value, str) else [str(v) for v in value]


def _environment(out: dict, service: dict, context) -> None:
    values: dict[str, str] = {}
    env_files = service.get("env_file") or []
    for env_file in [env_files] if isinstance(env_files, str) else env_files:
        values.update(read_env_file(context.directory / env_file))
    given = service.get("environment") or {}
    if isinstance(given, list):
        given = dict(item.split("=", 1) if "=" in item else (item, None) for item in given)
    for key, value in given.items():
        if value is None or value == "":
            # A bare KEY is read from the shell running the command (blank if unset).
            value = context.environ.get(key, "")
        values[str(key)] = _text(value)
    if values:
        out["environment"] = [{"name": k, "value": v} for k, v in values.items()]


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _simple_fields(out: dict, service: dict) -> None:
    renames = {"working_dir": "workingDirectory", "user": "user", "hostname": "hostname",
               "privileged": "privileged", "read_only": "readonlyRootFilesystem",
               "tty": "pseudoTerminal", "stdin_open": "interactive"}
    for key, field in renames.items():
        if service.get(key) not in (None, ""):
            out[field] = service[key] if isinstance(service[key], bool) else str(service[key])
    for key, field in (("dns", "dnsServers"), ("dns_search", "dnsSearchDomains"),
                       ("links", "links"), ("security_opt", "dockerSecurityOptions")):
        value = service.get(key)
        if value:
            out[field] = [value] if isinstance(value, str) else [str(v) for v in value]
    labels = service.get("labels")
    if labels:
        if isinstance(labels, list):
            labels = dict(item.split("=", 1) if "=" in item else (item, "") for item in labels)
        out["dockerLabels"] = {str(k): _text(v) for k, v in labels.items()}
    hosts = service.get("extra_hosts")
    if hosts:
        pairs = hosts.items() if isinstance(hosts, dict) else (_host(h) for h in hosts)
        out["extraHosts"] = [{"hostname": h, "ipAddress": str(ip)} for h, ip in pairs]
    if service.get("stop_grace_period") is not None:
        out["stopTimeout"] = seconds(service["stop_grace_period"], "stop_grace_period")
    _resources(out, service)


def _host(entry: str) -> tuple[str, str]:
    host, sep, address = str(entry).partition(":")
    if not sep:
        raise ComposeError("expected format HOSTNAME:IPADDRESS. could not parse ExtraHost: "
                           f"{entry}")
    return host, address


def _resources(out: dict, service: dict) -> None:
    """Version 2's cpu_shares, mem_limit, mem_reservation (version 3 puts them in ecs-params)."""
    if service.get("cpu_shares") is not None:
        out["cpu"] = int(service["cpu_shares"])
    if service.get("mem_limit") is not None:
        out["memory"] = size_in_mib(service["mem_limit"], "mem_limit")
    if service.get("mem_reservation") is not None:
        out["memoryReservation"] = size_in_mib(service["mem_reservation"], "mem_reservation")


def _logging(out: dict, service: dict) -> None:
    logging = service.get("logging") or {}
    driver = logging.get("driver") or service.get("log_driver")
    options = logging.get("options") or service.get("log_opt") or {}
    if driver:
        out["logConfiguration"] = {"logDriver": driver,
                                   "options": {str(k): _text(v) for k, v in options.items()}}


def _health_check(out: dict, healthcheck: dict | None) -> None:
    check = health_check(healthcheck)
    if check is not None:
        out["healthCheck"] = check


def health_check(healthcheck: dict | None) -> dict | None:
    """A compose (or ecs-params) healthcheck as ECS's: a lone string test runs in a shell."""
    if not healthcheck or healthcheck.get("disable"):
        return None
    test = healthcheck.get("test", healthcheck.get("command"))
    if healthcheck.get("test") is not None and healthcheck.get("command") is not None:
        raise ComposeError("healthcheck.test and healthcheck.command can not both be specified")
    if isinstance(test, str):
        test = ["CMD-SHELL", test]
    elif isinstance(test, list) and len(test) == 1 and test[0] not in ("NONE",):
        test = ["CMD-SHELL", str(test[0])]
    if not test or test[0] == "NONE":
        return None
    check: dict = {"command": [str(part) for part in test]}
    for key, field in (("interval", "interval"), ("timeout", "timeout"),
                       ("start_period", "startPeriod")):
        if healthcheck.get(key) is not None:
            check[field] = seconds(healthcheck[key], f"healthcheck {key}")
    if healthcheck.get("retries") is not None:
        check["retries"] = int(healthcheck["retries"])
    return check


def _dependencies(out: dict, depends_on) -> None:
    if not depends_on:
        return
    if isinstance(depends_on, list):
        depends_on = {name: {} for name in depends_on}
    out["dependsOn"] = [
        {"containerName": str(name),
         "condition": _DEPENDENCY.get((spec or {}).get("condition", "service_started"), "START")}
        for name, spec in depends_on.items()
    ]


def _linux_parameters(out: dict, service: dict) -> None:
    linux: dict = {}
    capabilities = {field: [str(c) for c in service[key]]
                    for key, field in (("cap_add", "add"), ("cap_drop", "drop"))
                    if service.get(key)}
    if capabilities:
        linux["capabilities"] = capabilities
    if service.get("shm_size") is not None:
        linux["sharedMemorySize"] = size_in_mib(service["shm_size"], "shm_size")
    tmpfs = service.get("tmpfs")
    if tmpfs:
        linux["tmpfs"] = [_tmpfs(entry) for entry in ([tmpfs] if isinstance(tmpfs, str) else tmpfs)]
    if service.get("init") is not None:
        linux["initProcessEnabled"] = bool(service["init"])
    if linux:
        out["linuxParameters"] = linux
    ulimits = service.get("ulimits") or {}
    if ulimits:
        out["ulimits"] = [_ulimit(name, limit) for name, limit in ulimits.items()]


def _tmpfs(entry: str) -> dict:
    path, _, options = str(entry).partition(":")
    size, mount_options = None, []
    for option in filter(None, options.split(",")):
        if option.startswith("size="):
            size = size_in_bytes(option[5:], "tmpfs size") // (1024 * 1024)
        else:
            mount_options.append(option)
    if not size:
        raise ComposeError("You must specify the size option for tmpfs")
    tmpfs = {"containerPath": path, "size": size}
    if mount_options:
        tmpfs["mountOptions"] = mount_options
    return tmpfs


def _ulimit(name: str, limit) -> dict:
    if isinstance(limit, dict):
        return {"name": name, "softLimit": int(limit.get("soft", 0)),
                "hardLimit": int(limit.get("hard", 0))}
    return {"name": name, "softLimit": int(limit), "hardLimit": int(limit)}


def _mounts(out: dict, name: str, service: dict, volumes: VolumeNames) -> None:
    mounts = [volumes.mount_point(entry, name) for entry in service.get("volumes") or []]
    mounts = [m for m in mounts if m is not None]
    if mounts:
        out["mountPoints"] = mounts
    sources = service.get("volumes_from") or []
    if sources:
        out["volumesFrom"] = [volumes.volume_from(entry) for entry in sources]

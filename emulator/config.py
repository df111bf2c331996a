"""Settings: a frozen dataclass, and the only module that reads environment variables.

Every setting has an environment variable (listed in the README's configuration reference);
command-line flags override them.
"""

from __future__ import annotations

import contextvars
import math
import os
import pwd
import re
from dataclasses import dataclass, replace
from typing import NamedTuple

DEFAULT_ACCOUNT_ID = "123456789012"  # moto's default, so ARNs agree across services


# The variables from_env() is told to leave unread (from_env's `unread`): as if not set.
_UNREAD: contextvars.ContextVar[frozenset] = contextvars.ContextVar("unread", default=frozenset())


def _env(name: str, default: str | None = None) -> str | None:
    return default if name in _UNREAD.get() else os.environ.get(name, default)


def _env_given(name: str) -> str | None:
    """A setting's value, or None when unset, empty or only blanks (`X="  "` in a compose file
    or a shell script reads as not set, as it did before values were checked)."""
    raw = _env(name)
    return None if raw is None or not raw.strip() else raw


def set_in_environment(names) -> dict[str, str]:
    """Those of the variables `names` that are set (and not empty), with their values."""
    return {name: os.environ[name] for name in names if os.environ.get(name)}


_PORT = "a port number (a whole number, 0 to 65535)"
PERSIST_NEEDS_DATA_DIR = "ECS_EMULATOR_PERSIST needs ECS_EMULATOR_DATA_DIR: where to keep the state"
_TRUE_WORDS = ("1", "true", "yes", "on")
_FALSE_WORDS = ("0", "false", "no", "off")


def _env_bool(name: str, default: bool) -> bool:
    """A switch; a word that is neither on nor off is refused (ValueError), since taking
    `enabled` for off would leave the user believing the thing is on."""
    raw = _env_given(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word not in _TRUE_WORDS + _FALSE_WORDS:
        raise ValueError(f"{name} must be {', '.join(_TRUE_WORDS)} or "
                         f"{', '.join(_FALSE_WORDS)}, not {raw!r}")
    return word in _TRUE_WORDS


def _env_int(name: str, default: int | None, minimum: int = 0) -> int | None:
    """A count or a duration in whole seconds: `minimum` or more (0 for most: none of them can
    be negative)."""
    raw = _env_given(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:  # (Python's own message names neither the variable nor what it takes)
        value = None
    if value is None or value < minimum:
        raise ValueError(f"{name} must be a whole number, {minimum} or more, not {raw!r}")
    return value


def _env_text(name: str, default: str | None) -> str | None:
    """A word or a path; unset, empty or only blanks is the default (a DATA_DIR of "  " is no
    directory to keep state in)."""
    return _env_given(name) or default


# Docker calls in flight at once when ECS_EMULATOR_DOCKER_CONCURRENCY does not say. On the
# emulator's own network 4: more only moves the wait from our queue into dockerd, whose embedded
# DNS set-up for each container on a user-defined network it does largely one at a time
# (scripts/bench/results/tasks.md, the flood session). On Docker's default bridge there is no
# such set-up, and the bound of 4 was what a first burst of 20 waited for: 1.21x raw against
# 0.98x with 20 in flight (the same quiet hour, results/tasks.md).
DOCKER_CONCURRENCY = {"emulator": 4, "default-bridge": 20}


def docker_concurrency_for(settings: "Settings", task_network: str) -> int:
    """The bound on Docker calls in flight for tasks on `task_network` (the setting, after the
    emulator-in-a-container fallback): ECS_EMULATOR_DOCKER_CONCURRENCY when given, else the
    network's. An engine that falls back to the emulator's network later keeps it (there more
    in flight gained nothing and cost nothing measurable)."""
    if settings.docker_concurrency is not None:
        return settings.docker_concurrency
    return DOCKER_CONCURRENCY.get(task_network, DOCKER_CONCURRENCY["emulator"])


def port_number(raw: str, name: str = "the port") -> int:
    """A TCP port, 0 (any free one) to 65535: the socket layer would take 70000 for 4464."""
    try:
        port = int(raw)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise ValueError(f"{name} must be {_PORT}, not {raw!r}")
    return port


def _env_port(name: str, default: int | None) -> int | None:
    raw = _env_given(name)
    return default if raw is None else port_number(raw, name)


def _env_float(name: str, default: float) -> float:
    """A duration in seconds: finite and not negative (float() takes nan and inf, which no
    wait can be)."""
    raw = _env_given(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a number of seconds (such as 2 or 0.5), "
                         f"not {raw!r}")
    return value


_ENGINE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
_ENGINE_SCHEMES = ("unix", "tcp", "ssh", "npipe")
_REGISTRY_ADDRESS = re.compile(r"(\[[0-9A-Fa-f:]+\]|[A-Za-z0-9][A-Za-z0-9_.-]*)(:\d{1,5})?")
# What a TLS engine's cert directory holds, as the docker CLI reads DOCKER_CERT_PATH.
CERT_FILES = ("ca.pem", "cert.pem", "key.pem")


TASK_NETWORKS = ("emulator", "default-bridge")


def _task_network(raw: str | None) -> str:
    mode = (raw or "default-bridge").strip().lower()
    if mode not in TASK_NETWORKS:
        raise ValueError(f"ECS_EMULATOR_TASK_NETWORK must be emulator or default-bridge, "
                         f"not {raw!r}")
    return mode


def _control_token_mode(raw: str | None) -> str:
    mode = (raw or "auto").strip().lower()
    if mode not in ("auto", "on", "off"):
        raise ValueError(f"ECS_EMULATOR_CONTROL_TOKEN must be auto, on or off, not {raw!r}")
    return mode


ANY_LOCAL_USER = "any"


def served_local_uids(setting: str) -> frozenset[int] | None:
    """The uids ECS_EMULATOR_LOCAL_USERS serves (None: any): the emulator's own and root, and
    the uids or user names it lists besides "own" (ValueError: a word that is neither)."""
    if setting.strip().lower() == ANY_LOCAL_USER:
        return None
    uids = {os.geteuid(), 0}
    for word in filter(None, (part.strip() for part in setting.split(","))):
        if word.lower() == "own":
            continue
        if word.lower() == ANY_LOCAL_USER:  # "any" is the whole setting or nothing
            raise ValueError(_local_users_message(setting))
        # (isdigit alone takes '²', which int() refuses: a uid is ASCII digits)
        uids.add(int(word) if word.isascii() and word.isdigit() else _uid_of(word, setting))
    return frozenset(uids)


def _uid_of(name: str, setting: str) -> int:
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        raise ValueError(_local_users_message(setting)) from None


def _local_users_message(raw) -> str:
    return (f"ECS_EMULATOR_LOCAL_USERS must be own, any, or uids and user names separated by "
            f"commas, not {raw!r}")


def _local_users(raw: str | None) -> str:
    """"own", "any", or "own" and more uids or user names, comma-separated (checked here, so a
    name that is no user stops the start, not the first connection)."""
    words = [word.strip() for word in (raw or "own").split(",") if word.strip()] or ["own"]
    if [word.lower() for word in words] == [ANY_LOCAL_USER]:
        return ANY_LOCAL_USER
    setting = ",".join(words)
    try:
        served_local_uids(setting)
    except ValueError:
        raise ValueError(_local_users_message(raw)) from None
    return setting


class EngineAddress(NamedTuple):
    """One more Docker Engine: its name, its DOCKER_HOST, and what the docker CLI's
    DOCKER_TLS_VERIFY and DOCKER_CERT_PATH say for it; `registry`: the host[:port] it pulls
    our ECR images from (None: ECS_EMULATOR_REGISTRY_ADDRESS, else 127.0.0.1:<port>)."""

    name: str
    host: str
    tls_verify: bool = False
    cert_path: str | None = None
    registry: str | None = None

    def environment(self) -> dict[str, str]:
        """What the Docker SDK's from_env reads for this engine."""
        values = {"DOCKER_HOST": self.host, "DOCKER_TLS_VERIFY": "1" if self.tls_verify else None,
                  "DOCKER_CERT_PATH": self.cert_path}
        return {name: value for name, value in values.items() if value}


def check_engine(name: str, host: str, tls_verify: bool = False, cert_path: str | None = None,
                 registry: str | None = None) -> EngineAddress:
    """The engine as given; ValueError saying what is wrong with it."""
    if not _ENGINE_NAME.fullmatch(name or "") or name == "default":
        raise ValueError(f"engine name {name!r}: letters, digits, '.', '_' and '-' (and "
                         "'default' is the engine DOCKER_HOST names)")
    if host.partition("://")[0] not in _ENGINE_SCHEMES or not host.partition("://")[2]:
        raise ValueError(f"engine {name!r}: {host!r} is not a Docker address "
                         f"({', '.join(s + '://...' for s in _ENGINE_SCHEMES)})")
    if (tls_verify or cert_path) and not host.startswith("tcp://"):
        raise ValueError(f"engine {name!r}: TLS is for tcp:// addresses, not {host!r}")
    if cert_path is not None:
        # As the docker CLI: the client's certificate and key always, the CA to verify with.
        needed = CERT_FILES if tls_verify else CERT_FILES[1:]
        missing = [f for f in needed if not os.path.isfile(os.path.join(cert_path, f))]
        if missing:
            raise ValueError(f"engine {name!r}: the cert directory {cert_path!r} has no "
                             f"{', '.join(missing)} (it needs {', '.join(needed)})")
    if registry is not None:
        check_registry_address(registry, f"engine {name!r}: registry")
    return EngineAddress(name, host, bool(tls_verify), cert_path, registry)


def check_registry_address(address: str, what: str = "ECS_EMULATOR_REGISTRY_ADDRESS") -> str:
    if not _REGISTRY_ADDRESS.fullmatch(address or ""):
        raise ValueError(f"{what} {address!r} is not a host[:port] (no scheme, no path)")
    return address


_HOST_NAME = re.compile(r"(\*\.)?[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?")
_ORIGIN = re.compile(r"https?://(\[[0-9a-f:]+\]|[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?)(:\d{1,5})?")


def parse_allowed(text: str, variable: str) -> tuple[str, ...]:
    """ECS_EMULATOR_ALLOWED_HOSTS ("emulator,*.dev.test": names, or the names under one) or
    ECS_EMULATOR_ALLOWED_ORIGINS ("http://localhost:3000,https://app.dev.test:8443")."""
    entries = tuple(e.lower() for e in text.replace(",", " ").split())
    hosts = variable.endswith("HOSTS")
    for entry in entries:
        if not (_HOST_NAME if hosts else _ORIGIN).fullmatch(entry):
            raise ValueError(f"{variable}: {entry!r} is not " + (
                "a host name (no scheme, no port; *.NAME for the names under NAME)" if hosts
                else "an origin (http[s]://host[:port], no path)"))
    return entries


def parse_engines(text: str) -> tuple[EngineAddress, ...]:
    """"b=unix:///run/b.sock c=tcp://10.0.0.5:2376,tlsverify,certs=/etc/c,registry=10.0.0.1:4566"
    -> (EngineAddress("b", "unix:///run/b.sock"), EngineAddress("c", "tcp://...", True, ...))."""
    engines = []
    for entry in text.replace(";", " ").split():
        name, _, rest = entry.partition("=")
        host, *options = rest.split(",")
        known = {"tlsverify": False, "certs": None, "registry": None}
        for option in options:
            key, has_value, value = option.partition("=")
            if key not in known or (key == "tlsverify") == bool(has_value):
                raise ValueError(f"engine {name!r}: {option!r} is not an option (tlsverify, "
                                 "certs=DIR, registry=HOST:PORT)")
            known[key] = True if key == "tlsverify" else value
        engines.append(check_engine(name, host, known["tlsverify"], known["certs"],
                                    known["registry"]))
    if len({e.name for e in engines}) != len(engines):
        raise ValueError("ECS_EMULATOR_ENGINES names an engine twice")
    return tuple(engines)


@dataclass(frozen=True)
class Settings:
    """Every setting of one emulator; from_env() reads them from ECS_EMULATOR_* variables."""
    host: str = "127.0.0.1"
    port: int = 4566
    # The front doors' own port (Express services, gateway routes: emulator/front_doors.py), so
    # that a task's page never shares the dashboard's origin. None: `port` + 1 (another free
    # port if that one is taken; one chosen at start when `port` is 0); 0: one chosen at start.
    front_door_port: int | None = None
    default_region: str = "us-east-1"
    default_account_id: str = DEFAULT_ACCOUNT_ID
    threads: int = 16
    # Check every response against its botocore output shape and fail loudly on a mismatch.
    # Our tests turn it on; it costs time per request, so it is off by default.
    strict_responses: bool = False
    log_requests: bool = False
    # Where task ports are published on the host (bridge hostPorts, awsvpc containerPorts).
    publish_host: str = "127.0.0.1"
    # How long stopped tasks stay describable (ECS keeps them about an hour).
    task_retention_s: int = 3600
    # Give containers AWS_ENDPOINT_URL pointing back at the emulator, so their SDK calls stay local.
    inject_endpoint: bool = True
    # The longest wait between launches of a service whose tasks keep failing (ECS throttles).
    max_launch_backoff_s: int = 60
    # How long a service's task must serve (RUNNING, and HEALTHY if it has health checks) to
    # count as steady: before that a deployment is not COMPLETED, and old tasks stay.
    steady_after_s: float = 3.0
    # Keep containers, networks and volumes when the emulator stops (for debugging).
    keep_resources: bool = False
    # Where the registry keeps blobs and manifests; None: a temporary directory removed at exit.
    data_dir: str | None = None
    # Whether /v2/ asks the registry hooks (ECR's GetAuthorizationToken) to authorize requests.
    registry_auth: bool = True
    # Register the local Docker host as a container instance of a cluster when an EC2 task comes
    # to it with none; off, EC2 tasks need instances registered with RegisterContainerInstance.
    auto_container_instance: bool = True
    # Serve task-role credentials on 169.254.170.2:80 as ECS does (Linux, root: adds the address
    # to the emulator's Docker bridge); off, or where impossible, tasks get keys in their env.
    link_local_credentials: bool = True
    # How long a Fargate Spot task interrupted through /_emulator/tasks/<task>/spot-interruption
    # has between SIGTERM and SIGKILL at most (AWS gives two minutes).
    spot_warning_s: int = 120
    # How long a CloudFormation service resource waits for its service to be steady (or drained,
    # on delete) before it fails. The stack's API call waits too (moto's engine is synchronous),
    # so this stays under the SDKs' 60 s read timeout.
    cfn_stabilize_timeout_s: int = 45
    # The emulator's own container when it runs in one (the image sets "auto": found from
    # /proc/self/mountinfo): it joins the task network, where tasks call it (server.py).
    own_container: str | None = None
    # How long an archived ECR image restored with UpdateImageStorageClass stays ACTIVATING
    # (AWS takes up to 20 minutes; a short wait keeps the state observable).
    ecr_restore_s: int = 2
    # Let calls from task containers register and launch task definitions that reach the host
    # (privileged, host paths, host namespaces, capabilities, devices); see access/host_access.py.
    allow_task_host_access: bool = False
    # Check every AWS call against its caller's IAM policies (access/iam.py).
    enforce_iam: bool = False
    # Keep the state under data_dir/state and adopt running tasks at start (persistence/).
    persist: bool = False
    # awsvpc sandboxes (pause containers) kept ready per port shape once tasks ask for it, so
    # RunTask does not wait for Docker to attach one (engine/sandbox_pool.py); 0: none.
    sandbox_pool: int = 1
    # Spares kept at most (all shapes) after a burst of tasks started at once, for a burst like
    # it within two minutes (engine/sandbox_pool.py); at most sandbox_pool: bursts size nothing.
    sandbox_pool_burst: int = 20
    # Calls that make Docker work (create, start, kill, remove) in flight at once; the rest wait
    # their turn in the emulator (runtime/docker_queue.py), so Docker stays responsive under load.
    # None: by the task network (docker_concurrency_for).
    docker_concurrency: int | None = None
    # Where tasks' network namespaces attach: "default-bridge", Docker's default bridge
    # (docker0), where Docker attaches fastest but every container on it reaches every other
    # (runtime/docker_network.py), so an engine whose default bridge cannot serve falls back to
    # the emulator's network and says so once; "emulator", always the emulator's own
    # user-defined network.
    task_network: str = "default-bridge"
    # Whether the control endpoints ask for the run's control token (access/control_token.py):
    # "auto" once containers reach the operator's listener as this host (Docker Desktop), "on"
    # always, "off" never.
    control_token: str = "auto"
    # The Docker Engine tasks run on, as the docker CLI names it (DOCKER_HOST, with
    # DOCKER_TLS_VERIFY and DOCKER_CERT_PATH for tcp:// with TLS); None: the default socket.
    docker_host: str | None = None
    docker_tls_verify: str | None = None
    docker_cert_path: str | None = None
    # More Docker Engines, each a container instance of the clusters (engine/engines.py):
    # EngineAddress entries (or (name, DOCKER_HOST) pairs), from
    # ECS_EMULATOR_ENGINES="name=host name2=host2,tlsverify,certs=DIR".
    engines: tuple[EngineAddress, ...] = ()
    # host[:port] the Docker Engines pull our ECR images from (an engine's own `registry=`
    # wins); None: 127.0.0.1 and the emulator's port, which only engines on this host reach.
    registry_address: str | None = None
    # How long an engine may not answer before its tasks are taken as lost (STOPPED, replaced
    # on the engines that remain), as ECS gives up on an instance whose agent is gone.
    engine_lost_after_s: float = 30.0
    # How long CreateService and UpdateService wait, after their answer is made and before it
    # goes, for the tasks they make the scheduler place to start or fail (so that a
    # services_stable waiter finds them at its first call); 0: they answer at once
    # (engine/first_placement.py).
    placement_wait_s: float = 2.0
    # More host names the API's port answers to (a Compose service's name), besides IP
    # addresses, localhost and its names, host.docker.internal (access/browsers.py).
    allowed_hosts: tuple[str, ...] = ()
    # Web pages' origins that may call the AWS APIs (with CORS), besides the emulator's own.
    allowed_origins: tuple[str, ...] = ()
    # Which local users the operator's listener serves (access/local_users.py): "own" (the
    # emulator's user and root), "own,1001,alice" (those too), or "any" (every local user).
    local_users: str = "own"

    def docker_environment(self) -> dict[str, str]:
        """What the Docker SDK's from_env reads, from these settings rather than os.environ."""
        values = {"DOCKER_HOST": self.docker_host, "DOCKER_TLS_VERIFY": self.docker_tls_verify,
                  "DOCKER_CERT_PATH": self.docker_cert_path}
        return {name: value for name, value in values.items() if value}

    @classmethod
    def from_env(cls, *, unread=frozenset(), **overrides) -> "Settings":
        """The settings the environment gives, then `overrides` (those not None). The variables
        named in `unread` are not read (taken as unset): a value they hold, however wrong, is
        nobody's concern (the pytest plugin's session leaves a user's emulator's places)."""
        token = _UNREAD.set(frozenset(unread))
        try:
            settings = cls._read_environment()
        finally:
            _UNREAD.reset(token)
        settings = replace(settings, **{k: v for k, v in overrides.items() if v is not None})
        if settings.persist and not settings.data_dir:  # (refused here, before anything starts)
            raise ValueError(PERSIST_NEEDS_DATA_DIR)
        return settings

    @classmethod
    def _read_environment(cls) -> "Settings":
        return cls(
            host=_env_text("ECS_EMULATOR_HOST", cls.host),
            port=_env_port("ECS_EMULATOR_PORT", cls.port),
            front_door_port=_env_port("ECS_EMULATOR_FRONT_DOOR_PORT", None),  # None: not set
            default_region=_env_text("ECS_EMULATOR_REGION", cls.default_region),
            default_account_id=_env_text("ECS_EMULATOR_ACCOUNT_ID", cls.default_account_id),
            threads=_env_int("ECS_EMULATOR_THREADS", cls.threads, minimum=1),
            strict_responses=_env_bool("ECS_EMULATOR_STRICT_RESPONSES", cls.strict_responses),
            log_requests=_env_bool("ECS_EMULATOR_LOG_REQUESTS", cls.log_requests),
            publish_host=_env_text("ECS_EMULATOR_PUBLISH_HOST", cls.publish_host),
            task_retention_s=_env_int("ECS_EMULATOR_TASK_RETENTION", cls.task_retention_s),
            inject_endpoint=_env_bool("ECS_EMULATOR_INJECT_ENDPOINT", cls.inject_endpoint),
            keep_resources=_env_bool("ECS_EMULATOR_KEEP_RESOURCES", cls.keep_resources),
            max_launch_backoff_s=_env_int("ECS_EMULATOR_MAX_LAUNCH_BACKOFF",
                                          cls.max_launch_backoff_s),
            steady_after_s=_env_float("ECS_EMULATOR_STEADY_AFTER", cls.steady_after_s),
            data_dir=_env_text("ECS_EMULATOR_DATA_DIR", None),
            registry_auth=_env_bool("ECS_EMULATOR_REGISTRY_AUTH", cls.registry_auth),
            auto_container_instance=_env_bool("ECS_EMULATOR_AUTO_CONTAINER_INSTANCE",
                                              cls.auto_container_instance),
            link_local_credentials=_env_bool("ECS_EMULATOR_LINK_LOCAL_CREDENTIALS",
                                             cls.link_local_credentials),
            spot_warning_s=_env_int("ECS_EMULATOR_SPOT_WARNING", cls.spot_warning_s),
            cfn_stabilize_timeout_s=_env_int("ECS_EMULATOR_CFN_STABILIZE_TIMEOUT",
                                             cls.cfn_stabilize_timeout_s),
            own_container=_env_text("ECS_EMULATOR_OWN_CONTAINER", None),
            ecr_restore_s=_env_int("ECS_EMULATOR_ECR_RESTORE_SECONDS", cls.ecr_restore_s),
            allow_task_host_access=_env_bool("ECS_EMULATOR_ALLOW_TASK_HOST_ACCESS",
                                             cls.allow_task_host_access),
            enforce_iam=_env_bool("ECS_EMULATOR_ENFORCE_IAM", cls.enforce_iam),
            persist=_env_bool("ECS_EMULATOR_PERSIST", cls.persist),
            docker_host=_env("DOCKER_HOST") or None,
            docker_tls_verify=_env("DOCKER_TLS_VERIFY") or None,
            docker_cert_path=_env("DOCKER_CERT_PATH") or None,
            engines=parse_engines(_env("ECS_EMULATOR_ENGINES", "")),
            registry_address=check_registry_address(
                _env("ECS_EMULATOR_REGISTRY_ADDRESS"))
            if _env("ECS_EMULATOR_REGISTRY_ADDRESS") else None,
            engine_lost_after_s=_env_float("ECS_EMULATOR_ENGINE_LOST_AFTER",
                                           cls.engine_lost_after_s),
            sandbox_pool=_env_int("ECS_EMULATOR_SANDBOX_POOL", cls.sandbox_pool),
            sandbox_pool_burst=_env_int("ECS_EMULATOR_SANDBOX_POOL_BURST",
                                        cls.sandbox_pool_burst),
            docker_concurrency=_env_int("ECS_EMULATOR_DOCKER_CONCURRENCY", None, minimum=1),
            task_network=_task_network(_env("ECS_EMULATOR_TASK_NETWORK")),
            control_token=_control_token_mode(_env("ECS_EMULATOR_CONTROL_TOKEN")),
            placement_wait_s=_env_float("ECS_EMULATOR_PLACEMENT_WAIT", cls.placement_wait_s),
            allowed_hosts=parse_allowed(_env("ECS_EMULATOR_ALLOWED_HOSTS", ""),
                                        "ECS_EMULATOR_ALLOWED_HOSTS"),
            allowed_origins=parse_allowed(_env("ECS_EMULATOR_ALLOWED_ORIGINS", ""),
                                          "ECS_EMULATOR_ALLOWED_ORIGINS"),
            local_users=_local_users(_env("ECS_EMULATOR_LOCAL_USERS")),
        )

"""What a task may not ask ECS for: containers that reach past themselves into the host.

Tasks run as real containers on the operator's Docker Engine, so an EC2 task definition that
mounts a host path, runs privileged, joins the host's pid, ipc or network namespace, adds
capabilities or devices, loosens the security profile, or uses a volume driver or driver options
(the local driver's `o=bind` is a host mount) is root on the host; one that sets the `rtprio` or
`nice` ulimits takes the host's CPUs ahead of the host's own processes; one that publishes a
fixed host port below the ephemeral range takes a port of the host's own services. Fargate refuses these; EC2
takes them, and on AWS only an IAM policy stands between a task's role and them. Here the
operator's own calls (from this host) may do anything; calls from a task's container may not
register such a definition, nor launch one (RunTask, StartTask, CreateService, UpdateService,
CreateTaskSet: running the operator's privileged definition with a command override would be
the same escape), nor do the same through daemon task definitions (RegisterDaemonTaskDefinition,
CreateDaemon, UpdateDaemon) or Express services of their own task definition, unless the
operator sets ECS_EMULATOR_ALLOW_TASK_HOST_ACCESS.

A shared-scope Docker volume is the Docker volume of its name (another account's carries the
account's id: task_volumes.shared_name): one that exists and that this emulator did not make as
a shared one (the operator's, another project's database, another emulator's tasks' data) is
not a task's to mount, nor is a name kept for another account's, nor an image
from a registry on the host other than the emulator's own (Docker's daemon would fetch it, as
root, from a service on the host's loopback, and a task would read the answer in its
stoppedReason). Any other image outside the emulator's ECR must be one a registry serves to
anyone (engine/task_images.py): not the operator's local builds, nor private images their
registry logins would pull.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from emulator.access import host_addresses
from emulator.access.name_resolution import Unresolved, is_address
from emulator.aws.errors import AwsError
from emulator.config import DEFAULT_ACCOUNT_ID
from emulator.ecs import daemon_task_definitions, task_definitions
from emulator.engine import task_volumes
from emulator.engine.task_images import Late

# ECS operations that start tasks of the definition named in `taskDefinition`,
# `taskDefinitionArn` (Express services) or `daemonTaskDefinitionArn` (daemons).
LAUNCHES = ("RunTask", "StartTask", "CreateService", "UpdateService", "CreateTaskSet")
EXPRESS_LAUNCHES = ("CreateExpressGatewayService", "UpdateExpressGatewayService")
DAEMON_LAUNCHES = ("CreateDaemon", "UpdateDaemon")
SAFE_SECURITY_OPTIONS = ("no-new-privileges", "no-new-privileges:true")
HOST = "host"
_SCHEDULING_ULIMITS = ("rtprio", "nice")
# The host ports a bridge task may publish by number: ECS's default ephemeral range (where an
# agent without /proc's ip_local_port_range draws dynamic ports). Below it listen this host's
# own services, or will (80, 5432, a registry on 5000, the emulator's 4566): a task publishing
# one (Docker's proxy binds it as root, on the publish address, 127.0.0.1 by default) takes
# it before them, or answers in their place.
EPHEMERAL_PORTS = range(49153, 65536)


def reasons(spec: dict) -> list[str]:
    """What in a task definition (RegisterTaskDefinition's request, or a registered one's spec)
    gives its containers access to the host; empty when nothing does."""
    found = [f"{key} {HOST}" for key in ("networkMode", "pidMode", "ipcMode")
             if spec.get(key) == HOST]
    for volume in _dicts(spec, "volumes"):
        name = volume.get("name", "")
        if (_dict(volume, "host")).get("sourcePath"):
            found.append(f"volume {name!r} mounts a host path")
        docker = _dict(volume, "dockerVolumeConfiguration")
        if docker.get("driverOpts") or docker.get("driver") not in (None, "", "local"):
            found.append(f"volume {name!r} sets a volume driver or driver options")
    published = spec.get("networkMode") in (None, "", "bridge")  # awsvpc's are dynamic
    for container in _dicts(spec, "containerDefinitions"):
        found += _container_reasons(container) + (_fixed_ports(container) if published else [])
    return found


def _fixed_ports(container: dict) -> list[str]:
    ports = sorted({m.get("hostPort") for m in _dicts(container, "portMappings")
                    if isinstance(m.get("hostPort"), int) and m["hostPort"]
                    and m["hostPort"] not in EPHEMERAL_PORTS})
    if not ports:
        return []
    return [f"container {container.get('name', '')!r} publishes the host ports {ports} (a "
            f"task's may be 0, dynamic, or {EPHEMERAL_PORTS.start}-{EPHEMERAL_PORTS.stop - 1})"]


def _dicts(parent: dict, key: str) -> list[dict]:
    """The objects of a list member; a malformed request (a string, numbers) is left to
    RegisterTaskDefinition's validation, which answers it as AWS does."""
    value = parent.get(key)
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _dict(parent: dict, key: str) -> dict:
    value = parent.get(key)
    return value if isinstance(value, dict) else {}


def _container_reasons(container: dict) -> list[str]:
    name = container.get("name", "")
    found = []
    if container.get("privileged"):
        found.append(f"container {name!r} is privileged")
    linux = _dict(container, "linuxParameters")
    if _dict(linux, "capabilities").get("add"):
        found.append(f"container {name!r} adds capabilities")
    if linux.get("devices"):
        found.append(f"container {name!r} maps host devices")
    # Raised, these let task code take real-time scheduling or a negative nice value: the
    # host's CPUs before the host's own processes, as CAP_SYS_NICE would.
    scheduling = sorted({u.get("name") for u in _dicts(container, "ulimits")
                         if u.get("name") in _SCHEDULING_ULIMITS})
    if scheduling:
        found.append(f"container {name!r} sets the ulimits {scheduling} (scheduling priority "
                     "on the host's CPUs)")
    options = container.get("dockerSecurityOptions")
    loosened = [o for o in options if o not in SAFE_SECURITY_OPTIONS] if isinstance(
        options, list) else []
    if loosened:
        found.append(f"container {name!r} sets dockerSecurityOptions {loosened}")
    return found


@dataclass(frozen=True)
class EngineView:
    """What the checks ask beyond the task definition (app.py wires it to the Docker Engines)."""
    # Why a shared Docker volume of that name is not for a task of that account (one on an
    # engine that this emulator did not make as shared, another account's name, or an engine
    # could not say), else None (task_volumes.foreign_volume): (name, account).
    foreign_volume: Callable[[str, str], str | None]
    # Whether an image reference names the emulator's own registry (engine/ecr_images.py).
    own_registry: Callable[[str], bool]
    # Why an image is not one any registry serves to anyone, else None (task_images.py: it
    # takes the caller as `caller=`, which rights.py binds, and raises Throttled past its limits).
    unserved_image: Callable[..., str | None]
    # The addresses of this host a registry's name resolves to (host_addresses.name_reaches_this_host),
    # bounded as the image checks are (task_images.py: `caller=`, Throttled, Late): a task may
    # name a domain whose name servers never answer (app.py: resolved_under). None: resolved on
    # the request's thread, within host_addresses.RESOLVER's bounds.
    resolve: Callable[..., list] | None = None
    # The account whose shared volumes are the Docker volumes of their names (shared_name).
    default_account: str = DEFAULT_ACCOUNT_ID


def resolved_under(checks) -> Callable[..., list]:
    """EngineView.resolve under the image checks' limits (task_images.ImageChecks.kept: one
    lookup per task in flight, kept a minute), resolved on the check's own thread with only
    the address cap (host_addresses.INLINE): the checks keep the task's place until the lookup
    ends, so a task's silent names never hold the places other tasks' names need."""
    def resolve(host: str, caller=None) -> list:
        return checks.kept(host, lambda: host_addresses.name_reaches_this_host(
            host, resolver=host_addresses.INLINE), caller)
    return resolve


def subject(operation: str, params: dict, store) -> dict | None:
    """The task definition (its spec) this ECS call registers or launches (call with the state
    lock held); None for a call that does neither, or names no known definition (or names
    another region's, which its handler refuses after IAM has had its say)."""
    try:
        return _subject(operation, params, store)
    except AwsError:
        return None


def _subject(operation: str, params: dict, store) -> dict | None:
    if operation == "RegisterTaskDefinition":
        return params
    if operation == "RegisterDaemonTaskDefinition":
        return _daemon_spec(params)
    if operation in LAUNCHES and isinstance(params.get("taskDefinition"), str):
        definition = task_definitions.resolve(store, params["taskDefinition"])
    elif operation in EXPRESS_LAUNCHES and isinstance(params.get("primaryContainer"), dict):
        # Its own container, made into a task definition (express_services.py): its image.
        return {"containerDefinitions": [{"name": "Main",
                                          "image": params["primaryContainer"].get("image")}]}
    elif operation in EXPRESS_LAUNCHES and isinstance(params.get("taskDefinitionArn"), str):
        definition = task_definitions.resolve(store, params["taskDefinitionArn"])
    elif operation in DAEMON_LAUNCHES and isinstance(params.get("daemonTaskDefinitionArn"), str):
        definition = daemon_task_definitions.resolve(store, params["daemonTaskDefinitionArn"])
    else:
        return None
    return definition.spec if definition is not None else None


def engine_reasons(spec: dict, view: EngineView, account: str | None = None) -> list[str]:
    """What in a task definition reaches the host (or other accounts' and emulators' data)
    through the Docker Engines' own things, for a caller of `account` (default: the default
    account's) (asks Docker: call without the state lock)."""
    found = []
    account = account or view.default_account
    for volume in _dicts(spec, "volumes"):
        name = task_volumes.shared_name(volume, account, view.default_account)
        why = view.foreign_volume(name, account) if name else None
        if why:
            found.append(f"volume {volume.get('name', '')!r} is the Docker volume {name!r}, "
                         f"{why}")
    again = False  # an image check said "try again": the call is refused, ask no more
    for container in _dicts(spec, "containerDefinitions"):
        image = container.get("image")
        if isinstance(image, str) and not view.own_registry(image):
            name = container.get("name", "")
            try:
                local = None if again else _local_registry(image, view.resolve)
            except Late:
                again, local = True, None
                found.append(f"container {name!r} pulls its image from a registry whose name "
                             "did not resolve in time; try again")
                continue
            except Unresolved as error:  # where it goes is not known
                if not error.retryable:  # the name's own: the call made again is refused too
                    found.append(f"container {name!r} pulls its image from a registry whose "
                                 f"name has too many addresses to check ({error})")
                    continue
                again = True
                found.append(f"container {name!r} pulls its image from a registry whose "
                             f"addresses could not be checked ({error}); try again")
                continue
            why = None if local or again else view.unserved_image(image)
            again = again or bool(why and why.endswith("try again"))
            if local:
                found.append(f"container {name!r} pulls its image from "
                             f"{local}, a registry on the emulator's host")
            elif why:
                found.append(f"container {name!r} runs the image {image!r}, {why}")
    return found


def _local_registry(image: str, resolve=None) -> str | None:
    """The registry host an image reference names, if it is on the host (a name resolving
    there too, by `resolve` when given: EngineView.resolve): Docker's daemon (root) would call
    it, and say what it answered in the task's stoppedReason."""
    from emulator.runtime.docker_images import registry_host

    first = registry_host(image)
    if first is None:
        return None  # Docker Hub's
    host = first[1:first.find("]")] if first.startswith("[") else first.split(":", 1)[0]
    host = host.lower()  # host names are case-insensitive
    if host == "localhost":
        return first
    if resolve is None or is_address(host) or host.rstrip(".") in host_addresses.HOST_NAMES:
        return first if host_addresses.name_reaches_this_host(host) else None  # no DNS asked
    return first if resolve(host) else None


def refusal(operation: str, spec: dict, view: EngineView | None = None,
            account: str | None = None) -> str | None:
    """Why a task of `account` may not make this ECS call about `spec` (subject()), else None."""
    found = reasons(spec) + (engine_reasons(spec, view, account) if view is not None else [])
    if not found:
        return None
    return (f"A task may not {'register' if operation == 'RegisterTaskDefinition' else 'run'} "
            f"a task definition that gives containers access to the host ({'; '.join(found)}). "
            "Make this call from the emulator's host, or set "
            "ECS_EMULATOR_ALLOW_TASK_HOST_ACCESS=1 to let tasks do it.")


def _daemon_spec(params: dict) -> dict:
    """A daemon task definition request as the task definition it runs as: `shared` pid and
    ipc namespaces are the host's."""
    spec = dict(params, networkMode="bridge")  # daemons always run as bridge tasks
    for key in ("pidMode", "ipcMode"):
        if spec.get(key) == "shared":
            spec[key] = HOST
    return spec

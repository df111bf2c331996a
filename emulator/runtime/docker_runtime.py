"""DockerRuntime: the Runtime interface (base.py) carried out by a Docker Engine.

It speaks the Engine API through the docker SDK's low-level client (one per runtime, shared by the
engine's worker threads; the SDK is imported on first use, since it costs start-up time). Every
container, network and volume it creates is stamped with this instance's owner labels.
The work is spread by job: docker_specs (ContainerSpec -> create body), docker_images (pulls),
docker_network (network, sandboxes), docker_streams (events, logs), docker_cleanup (removal).
Calls that make Docker work (create, start, kill, remove) wait their turn in a DockerQueue
(docker_queue.py), so that no more than `concurrency` of them are in flight; reads, streams,
pulls and stops do not (a stop's wait for the container's exit is Docker's, not work, and would
hold a slot for up to its stopTimeout).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Iterator

from emulator.config import DOCKER_CONCURRENCY, Settings

from . import (docker_cleanup, docker_images, docker_listing, docker_network, docker_streams,
               engine_locality)
from .image_digests import ImageDigests
from .base import (
    ContainerCreateError,
    ContainerGoneError,
    ContainerSpec,
    ContainerStartError,
    ContainerState,
    NetworkMembers,
    ImageGoneError,
    PortBinding,
    PublishedPort,
    RegistryAuth,
    RuntimeClosed,
    RuntimeError_,
    RuntimeEvent,
    TaskSandbox,
)
from .docker_queue import SETUP, TEARDOWN, DockerQueue
from .docker_specs import container_name, create_body
from .labels import INSTANCE, PROCESS_INSTANCE, owner_labels

log = logging.getLogger("emulator.runtime")

_UNSET_TIME = "0001-01-01T00:00:00Z"
_MIB = 1024 * 1024


def _docker_errors():
    import docker.errors

    return docker.errors


def _message(error) -> str:
    return getattr(error, "explanation", None) or str(error)


# Seconds an image check's call to Docker may take (task_images.py waits 5 s for the whole).
CHECK_TIMEOUT = 5

class DockerRuntime:
    """Runs containers on the Docker Engine that DOCKER_HOST (or the default socket) names."""

    def __init__(self, instance_id: str | None = None, client_factory: Callable | None = None,
                 state_dir: str | None = None, environment: dict[str, str] | None = None,
                 concurrency: int = DOCKER_CONCURRENCY["emulator"],
                 task_network: str = Settings.task_network,
                 interface_with: Callable[[str], str | None] | None = None,
                 bridge_claims: "docker_network.BridgeClaims | None" = None,
                 engine_local: Callable[[dict], str | None] | None = None,
                 own_container: str | None = None):
        """`environment`: DOCKER_HOST and its TLS variables naming the engine (None: the
        process's environment, as the docker CLI reads it). `task_network`: the setting
        (config.py); "default-bridge" needs `interface_with` (this host's interface with an
        address, if any) and takes `bridge_claims` (the emulator's engines' bridges in use) and
        `engine_local` (its `docker info` -> why the engine is not proven to be in this network
        namespace, engine_locality.py; None: not asked, for engines made by a client_factory).
        `own_container`: the emulator's own container on this engine, where it runs in one
        (ECS_EMULATOR_OWN_CONTAINER: a name or id, "auto" to find it): it attaches to this
        engine's network and sees its tasks from there, not from this host."""
        self.instance_id = instance_id or PROCESS_INSTANCE
        self._environment = environment
        self.queue = DockerQueue(concurrency)
        self.owner_labels = owner_labels(self.instance_id, state_dir)
        self._client_factory = client_factory
        self._lock = threading.Lock()
        self._client = None
        self._check_client = None  # for image checks: a short timeout (check_api)
        self._closed: str | None = None  # why, once closed: no client is made again
        self._network: tuple[str, str] | None = None
        self._network_lock = threading.Lock()
        # Why this engine's tasks are not on the default bridge though the setting asks (said
        # once); None: not asked, or they are
        self._bridge_refused: str | None = None
        self._task_network = task_network
        self._interface_with = interface_with or (lambda _: None)
        self._bridge_claims = bridge_claims
        self._engine_local = engine_local or (lambda info: None)
        self._own_container = own_container
        self._attached = bool(own_container)  # the emulator's own container is on the network
        self._foreign_said = False  # network_members() said the network is not this host's
        # Docker's default bridge's gateways (gateways()): read once; a failed read retried
        # after _bridge_retry_at
        self._bridge_gateways: tuple[str, ...] | None = None
        self._bridge_retry_at = 0.0
        # Images this runtime made available. A task start does not ask Docker again (an inspect
        # per task, in the way of every start); create reports ImageGoneError if one went since.
        self._images: set[str] = set()
        self._digests = ImageDigests(lambda: self.api, docker_images.image_digest)
        self._pause_image: str | None = None
        self._info: dict | None = None  # `docker info`, once it answered (daemon_info())

    # -- plumbing ----------------------------------------------------------------------------

    @property
    def api(self):
        """The SDK's low-level APIClient, made on first use; RuntimeClosed once closed (a
        removed engine's tasks are still asked for their logs or stats: a client made again
        would hold a connection pool that nobody closes)."""
        with self._lock:
            if self._closed is not None:
                raise RuntimeClosed(self._closed)
            if self._client is None:
                if self._client_factory is not None:
                    self._client = self._client_factory()
                else:
                    from emulator.runtime import docker_client

                    # Streams (events, followed logs) hold connections; leave room for calls.
                    self._client = docker_client.from_env(environment=self._environment,
                                                          max_pool_size=32)
            return self._client.api

    @property
    def check_api(self):
        """An APIClient whose calls time out after CHECK_TIMEOUT s: a task's image check asks a
        registry through dockerd, which waits ~30 s on one that never answers, and the client's
        own timeout (60 s) is for pulls. The runtime's own client where a factory makes it."""
        if self._client_factory is not None:
            return self.api
        with self._lock:
            if self._closed is not None:
                raise RuntimeClosed(self._closed)
            if self._check_client is None:
                from emulator.runtime import docker_client

                self._check_client = docker_client.from_env(
                    environment=self._environment, timeout=CHECK_TIMEOUT, max_pool_size=2)
            return self._check_client.api

    def explain(self, error: Exception) -> str:
        """Connection failures name the engine and what to do, not the SDK's tuple of errors."""
        import requests

        if isinstance(error, requests.exceptions.ConnectionError) or (
                isinstance(error, _docker_errors().DockerException)
                and "Error while fetching server API version" in str(error)):
            try:
                where = self.api.base_url
                socket_path = getattr(self.api.adapters.get("http+docker://"), "socket_path", None)
                if where.startswith("http+docker://") and socket_path:
                    where = f"unix://{socket_path}"
            except Exception:  # no client could even be made: DOCKER_HOST is what names it
                where = "DOCKER_HOST (or the default socket)"
            return (f"the Docker Engine at {where} cannot be reached; start it, or set "
                    "DOCKER_HOST to an engine that answers")
        return str(error)

    def close(self, why: str = "the emulator is stopping") -> None:
        """Its connections and image event stream closed, for good: each later call raises
        RuntimeClosed saying `why`."""
        self._digests.close()
        if self._bridge_claims is not None:  # a removed engine's bridge is free for another
            self._bridge_claims.release(self)
        with self._lock:
            self._closed = self._closed or f"the Docker Engine cannot be used: {why}"
            for client in (self._client, self._check_client):
                if client is not None:
                    client.close()
            self._client = self._check_client = None

    @property
    def closed(self) -> bool:
        return self._closed is not None

    def labels(self, labels: dict[str, str] | None = None) -> dict[str, str]:
        """`labels` plus this instance's owner labels."""
        return {**(labels or {}), **self.owner_labels}

    # -- network, sandboxes ------------------------------------------------------------------

    def ensure_network(self) -> tuple[str, str]:
        """The network tasks attach to: (name, gateway IP). This instance's bridge network,
        created once; Docker's default bridge where the setting asks and it serves."""
        with self._network_lock:  # one creator: a second create would conflict
            if self._network is None:
                self._network = self._default_bridge() or docker_network.ensure_network(
                    self.api, docker_network.network_name(self.instance_id), self.labels())
            return self._network

    def _default_bridge(self) -> tuple[str, str] | None:
        if self._task_network != "default-bridge" or self._bridge_refused is not None:
            return None
        claims, info = self._bridge_claims, self.daemon_info()
        found = docker_network.default_bridge(
            self.api, info, self._interface_with,
            (lambda subnets: claims.claim(self, subnets)) if claims else (lambda _: None),
            self._engine_local)
        if isinstance(found, tuple):
            return found
        self._bridge_refused = found
        log.warning("tasks of the Docker Engine at %s attach to the emulator's own network, not "
                    "the default bridge (ECS_EMULATOR_TASK_NETWORK): %s",
                    self.api.base_url, found)
        return None

    @property
    def default_bridge(self) -> bool:
        """Whether this engine's tasks are on Docker's default bridge (no names, no aliases)."""
        return self.ensure_network()[0] == docker_network.DEFAULT_BRIDGE

    def attach_to_network(self, container: str) -> str:
        """Connect `container` (the emulator's own) to this instance's network; its address."""
        from .own_container import attach

        self._attached = True
        return attach(self.api, self.ensure_network()[0], container)

    def network_members(self) -> NetworkMembers:
        """Who is on this instance's network now (the access checks map addresses to tasks):
        nobody where the network's bridge is not in this network namespace (an engine in a
        container, in another namespace, elsewhere), whose addresses a container here may have
        too; the emulator run as a container is on the network itself."""
        members = docker_network.network_members(self.api, self.ensure_network()[0])
        if members.shared or self._attached or engine_locality.bridge_is_here(members.bridge):
            return members
        from emulator.access.control_token import reaches_loopback

        # A VM's engine (Docker Desktop...) is never here: its tasks call from this host's
        # loopback, nothing worth a warning
        if not self._foreign_said and not reaches_loopback(True, self.daemon_info()):
            self._foreign_said = True
            log.warning("calls from the Docker Engine at %s's network %s are strangers': its "
                        "bridge %s is not this host's (an engine in a container, in another "
                        "network namespace or on another machine)", self.api.base_url,
                        self.ensure_network()[0], members.bridge)
        return NetworkMembers(subnets=(), addresses={})

    def gateways(self) -> tuple[str, ...]:
        """This engine's network gateway (once made) and Docker's default bridge's: addresses of
        the engine's host (access/host_addresses.py). Asked on requests' paths, so it never
        waits for the network lock (a reference read is atomic) and a failed read of the bridge
        is not tried again for a minute."""
        network = self._network
        own = (network[1].split("/")[0],) if network is not None and network[1] else ()
        if self._bridge_gateways is None and time.monotonic() >= self._bridge_retry_at:
            try:  # Docker's default bridge (docker0): read once, it does not move
                info = self.api.inspect_network(docker_network.DEFAULT_BRIDGE)
                configs = (info.get("IPAM") or {}).get("Config") or []
                self._bridge_gateways = tuple(c["Gateway"].split("/")[0] for c in configs
                                              if c.get("Gateway"))
            except Exception:  # noqa: BLE001 - no default bridge, or the engine is away
                self._bridge_retry_at = time.monotonic() + 60
        return own + (self._bridge_gateways or ())

    def _forget_network(self) -> None:
        with self._network_lock:
            self._network = None
        self._pause_image = None  # checked again with the network: it may have gone too

    def create_sandbox(self, name: str, labels: dict[str, str], mode: str,
                       ports: list[PortBinding]) -> TaskSandbox:
        if mode == "awsvpc":
            return self.queue.call(SETUP, self._awsvpc_sandbox, name, labels, ports)
        if mode == "bridge":
            return TaskSandbox(network=self.ensure_network()[0], ip_address=None)
        if mode in ("host", "none"):
            return TaskSandbox(network=mode, ip_address=None)
        raise ValueError(f"unknown network mode {mode!r}")

    def _awsvpc_sandbox(self, name: str, labels: dict[str, str],
                        ports: list[PortBinding]) -> TaskSandbox:
        errors = _docker_errors()
        try:
            return self._pause_sandbox(name, labels, ports)
        except errors.NotFound:  # our network was removed behind our back: make it again
            self._forget_network()
            return self._pause_sandbox(name, labels, ports)

    def _pause_sandbox(self, name: str, labels: dict[str, str],
                       ports: list[PortBinding]) -> TaskSandbox:
        network, _ = self.ensure_network()
        if self._pause_image is None:
            # (imported here: tarfile, hashlib and platform are a few per cent of the start-up)
            from .pause_image import ensure_pause_image

            self._pause_image = ensure_pause_image(self.api)
        return docker_network.create_pause_sandbox(self.api, name, self.labels(labels), network,
                                                   ports, self._pause_image)

    def name_sandbox(self, sandbox: TaskSandbox, aliases: list[str]) -> None:
        # The default bridge has no names to give (Docker refuses aliases there): nothing to do.
        if sandbox.sandbox_id and not self.default_bridge:
            self.queue.call(SETUP, docker_network.rejoin, self.api, sandbox.sandbox_id,
                            self.ensure_network()[0], aliases)

    def remove_sandbox(self, sandbox: TaskSandbox) -> None:
        if sandbox.sandbox_id:
            self.queue.call(TEARDOWN, docker_network.remove_pause_sandbox, self.api, sandbox)

    # -- images ------------------------------------------------------------------------------

    def ensure_image(self, image: str, auth: RegistryAuth | None,
                     progress: Callable[[str], None] | None = None) -> None:
        if image in self._images:
            return
        docker_images.ensure_image(self.api, image, auth, progress)
        self._images.add(image)

    def unserved_image(self, image: str) -> str | None:
        # Reads: not queued behind tasks' setups.
        return docker_images.unserved(self.check_api, image)

    def image_digest(self, image: str) -> str | None:
        return self._digests.digest(image)  # kept until Docker reports an image change

    # -- containers --------------------------------------------------------------------------

    def create_container(self, spec: ContainerSpec) -> str:
        errors = _docker_errors()
        body = create_body(spec)
        body["Labels"] = self.labels(body.get("Labels"))
        try:
            return self.queue.call(SETUP, self.api.create_container_from_config, body,
                                   container_name(spec))["Id"]
        except errors.ImageNotFound as error:
            if spec.image in self._images:
                self._images.discard(spec.image)
                raise ImageGoneError(_message(error)) from None
            raise ContainerCreateError(_message(error)) from None
        except errors.APIError as error:
            raise ContainerCreateError(_message(error)) from None
        except ValueError as error:
            raise ContainerCreateError(str(error)) from None

    def start_container(self, container_id: str) -> None:
        errors = _docker_errors()
        try:
            self.queue.call(SETUP, self.api.start, container_id)
        except errors.NotFound as error:
            raise ContainerGoneError(_message(error)) from None
        except errors.APIError as error:
            raise ContainerStartError(_message(error)) from None

    def stop_container(self, container_id: str, timeout_s: int) -> None:
        """SIGTERM (or the image's stop signal), then SIGKILL after `timeout_s`; as `docker stop`."""
        errors = _docker_errors()
        try:
            self.api.stop(container_id, timeout=max(0, int(timeout_s)))
        except errors.NotFound:
            pass

    def kill_container(self, container_id: str, signal: str = "SIGKILL") -> None:
        # 409: not running, which is what we wanted
        self._tear_down(self.api.kill, container_id, signal=signal, done_if_409=True)

    def remove_container(self, container_id: str) -> None:
        # 409: removal already in progress
        self._tear_down(self.api.remove_container, container_id, force=True, v=True,
                        done_if_409=True)

    def _tear_down(self, call, *args, done_if_409: bool = False, **kwargs) -> None:
        """`call` queued as teardown; what is gone already is done, and so, where the caller
        says, is what Docker refuses with 409 (Conflict)."""
        errors = _docker_errors()
        try:
            self.queue.call(TEARDOWN, call, *args, **kwargs)
        except errors.NotFound:
            pass
        except errors.APIError as error:
            if not (done_if_409 and error.status_code == 409):
                raise RuntimeError_(_message(error)) from None

    def inspect_container(self, container_id: str) -> ContainerState | None:
        errors = _docker_errors()
        try:
            info = self.api.inspect_container(container_id)
        except errors.NotFound:
            return None
        network_source = info
        mode = (info.get("HostConfig") or {}).get("NetworkMode") or ""
        if mode.startswith("container:"):
            # It shares the sandbox's namespace: its address and published ports are the sandbox's.
            try:
                network_source = self.api.inspect_container(mode.split(":", 1)[1])
            except errors.NotFound:
                network_source = {}
        return _state(info, network_source)

    # -- volumes -----------------------------------------------------------------------------

    def ensure_volume(self, name: str, labels: dict[str, str], driver: str | None = None,
                      driver_opts: dict[str, str] | None = None) -> str:
        errors = _docker_errors()
        try:
            volume = self.queue.call(SETUP, self.api.create_volume, name,
                                     driver=driver or "local", driver_opts=driver_opts or None,
                                     labels=self.labels(labels))
        except errors.APIError as error:
            raise RuntimeError_(_message(error)) from None
        return volume["Name"]

    def remove_volume(self, name: str) -> None:
        # A 409 (in use) is an error here: the volume stays.
        self._tear_down(self.api.remove_volume, name, force=True)

    def volume_labels(self, name: str) -> dict[str, str] | None:
        errors = _docker_errors()
        try:
            volume = self.api.inspect_volume(name)  # a read: not queued behind tasks' setups
        except errors.NotFound:
            return None
        except errors.APIError as error:
            raise RuntimeError_(_message(error)) from None
        return volume.get("Labels") or {}

    # -- streams, numbers --------------------------------------------------------------------

    def events(self, until_stopped, since: float | None = None) -> Iterator[RuntimeEvent]:
        return docker_streams.events(lambda: self.api, f"{INSTANCE}={self.instance_id}",
                                     until_stopped, since)

    def logs(self, container_id: str, since: float | None = None,
             follow: bool = False) -> Iterator[tuple[float, str, str]]:
        """(epoch seconds, "stdout"/"stderr", line); ends with the container when following."""
        errors = _docker_errors()
        api = self.api
        try:
            tty = bool(api.inspect_container(container_id)["Config"].get("Tty"))
        except errors.NotFound:
            return
        params = {"stdout": 1, "stderr": 1, "timestamps": 1, "follow": int(follow)}
        if since:
            params["since"] = docker_streams.since_param(since)
        # The SDK's logs() joins stdout and stderr; read the multiplexed body ourselves.
        response = api._get(api._url("/containers/{0}/logs", container_id), params=params,
                            stream=True, timeout=None)
        try:
            if response.status_code == 404:
                return
            api._raise_for_status(response)
            yield from docker_streams.log_lines(response.iter_content(chunk_size=None), tty)
        finally:
            response.close()

    def stats(self, container_id: str) -> dict:
        """One raw stats sample (Docker's JSON), or {} if the container is gone."""
        errors = _docker_errors()
        try:
            return self.api.stats(container_id, stream=False)
        except errors.NotFound:
            return {}

    def host_resources(self) -> tuple[int, int]:
        info = self.daemon_info()
        return int(info.get("NCPU") or 1) * 1024, int(info.get("MemTotal") or 0) // _MIB

    def daemon_info(self) -> dict:
        # Asked of Docker once: the engine's identity (engine_identity.py) and its resources
        # (a container instance's) are both read once per engine, and neither changes while its
        # daemon runs. A failure is not kept: the next ask tries again. Two first asks at once
        # may both go to Docker, which is harmless.
        if self._info is None:
            self._info = self.api.info()
        return dict(self._info)

    # -- cleanup -----------------------------------------------------------------------------

    def remove_labelled(self, labels: dict[str, str]) -> int:
        """Remove this instance's containers, networks and volumes that carry all of `labels`
        (all of this instance's with no labels; name another instance to reach its)."""
        removed = docker_cleanup.remove_labelled(self.api, {INSTANCE: self.instance_id, **labels},
                                                 own=self.own_container())
        self._forget_network()  # it may be gone; ensure_network finds or makes it again
        return removed

    def owned(self) -> tuple[list[dict], list[dict]]:
        """This instance's containers and volumes as Docker lists them, a previous run's too
        (a persisted emulator's: see emulator/persistence/adoption.py)."""
        filters = {"label": [f"{INSTANCE}={self.instance_id}"]}
        return (self.listed_containers(),
                (self.api.volumes(filters=filters) or {}).get("Volumes") or [])

    def listed_containers(self) -> list[dict]:
        return self.api.containers(all=True, filters={"label": [f"{INSTANCE}={self.instance_id}"]})

    def listed_state(self, entry: dict, listed: dict[str, dict]) -> ContainerState | None:
        return docker_listing.listed_state(entry, listed)

    def remove_orphans(self) -> int:
        """At start-up: remove resources of emulators on this host whose process has ended."""
        return docker_cleanup.remove_orphans(self.api, own=self.own_container())

    def own_container(self) -> str | None:
        """The emulator's own container (id or name) where it runs in one on this engine: it
        joins its tasks' network and leaves it before the network's removal, not as a
        leftover."""
        if self._own_container == "auto":
            from .own_container import own_container_id

            self._own_container = own_container_id()
        return self._own_container


def _state(info: dict, network_source: dict) -> ContainerState:
    state = info.get("State") or {}
    finished = state.get("Status") in ("exited", "dead")
    ip, published = _addresses(network_source)
    return ContainerState(
        id=info["Id"],
        status=state.get("Status") or "",
        running=bool(state.get("Running")),
        exit_code=state.get("ExitCode") if finished else None,
        oom_killed=bool(state.get("OOMKilled")),
        health=(state.get("Health") or {}).get("Status"),
        error=state.get("Error") or "",
        ip_address=ip,
        published=published,
        started_at=_time(state.get("StartedAt")),
        finished_at=_time(state.get("FinishedAt")),
        image_id=info.get("Image"),
    )


def _time(value: str | None) -> str | None:
    return value if value and value != _UNSET_TIME else None


def _addresses(info: dict) -> tuple[str | None, tuple[PublishedPort, ...]]:
    settings = info.get("NetworkSettings") or {}
    ip = settings.get("IPAddress") or next(
        (n.get("IPAddress") for n in (settings.get("Networks") or {}).values() if n.get("IPAddress")),
        None)
    published = []
    for key, bindings in (settings.get("Ports") or {}).items():
        port, _, protocol = key.partition("/")
        for binding in bindings or []:
            published.append(PublishedPort(int(port), protocol or "tcp", binding.get("HostIp", ""),
                                           int(binding.get("HostPort") or 0)))
    return ip, tuple(published)

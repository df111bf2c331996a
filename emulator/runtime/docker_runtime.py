"""DockerRuntime: the Runtime interface (base.py) carried out by a Docker Engine.

It speaks the Engine API through the docker SDK's low-level client (one per runtime, shared by the
engine's worker threads; the SDK is imported on first use, since it costs start-up time). Every
container, network and volume it creates is stamped with this instance's owner labels.
The work is spread by job: docker_specs (ContainerSpec -> create body), docker_images (pulls),
docker_network (network, sandboxes; their state is docker_task_network's, which DockerRuntime
inherits), docker_streams (events, logs), docker_cleanup (removal).
Calls that make Docker work (create, start, kill, remove) wait their turn in a DockerQueue
(docker_queue.py), so that no more than `concurrency` of them are in flight; reads, streams,
pulls and stops do not (a stop's wait for the container's exit is Docker's, not work, and would
hold a slot for up to its stopTimeout).
"""

from __future__ import annotations

import threading
from typing import Callable, Iterator

from emulator.config import DOCKER_CONCURRENCY

from . import docker_cleanup, docker_images, docker_listing, docker_network, docker_streams
from .image_digests import ImageDigests
from .base import (
    ContainerCreateError,
    ContainerGoneError,
    ContainerSpec,
    ContainerStartError,
    ContainerState,
    ImageGoneError,
    PublishedPort,
    RegistryAuth,
    RuntimeClosed,
    RuntimeError_,
    RuntimeEvent,
)
from .docker_queue import SETUP, TEARDOWN, DockerQueue
from .docker_specs import container_name, create_body
from .docker_task_network import DockerTaskNetwork
from .labels import INSTANCE, PROCESS_INSTANCE, owner_labels

_UNSET_TIME = "0001-01-01T00:00:00Z"
_MIB = 1024 * 1024


def _docker_errors():
    import docker.errors

    return docker.errors


def _message(error) -> str:
    return getattr(error, "explanation", None) or str(error)


# Seconds an image check's call to Docker may take (task_images.py waits 5 s for the whole).
CHECK_TIMEOUT = 5

class DockerRuntime(DockerTaskNetwork):
    """Runs containers on the Docker Engine that DOCKER_HOST (or the default socket) names; its
    tasks' network and sandboxes are DockerTaskNetwork's (docker_task_network.py)."""

    def __init__(self, instance_id: str | None = None, client_factory: Callable | None = None,
                 state_dir: str | None = None, environment: dict[str, str] | None = None,
                 concurrency: int = DOCKER_CONCURRENCY["emulator"],
                 task_network: str = "emulator",
                 interface_with: Callable[[str], str | None] | None = None,
                 bridge_claims: "docker_network.BridgeClaims | None" = None,
                 engine_local: Callable[[dict], str | None] | None = None,
                 own_container: str | None = None,
                 bridge_guard: Callable[[str, str], object] | None = None):
        """`environment`: DOCKER_HOST and its TLS variables naming the engine (None: the
        process's environment, as the docker CLI reads it). `task_network`: the setting
        (config.py), which the app passes ("emulator" for a runtime made without it, as its
        `concurrency` is); "default-bridge" needs `interface_with` (this host's interface with
        an address, if any) and takes `bridge_claims` (the emulator's engines' bridges in use) and
        `engine_local` (its `docker info` -> why the engine is not proven to be in this network
        namespace, engine_locality.py; None: not asked, for engines made by a client_factory).
        `own_container`: the emulator's own container on this engine, where it runs in one
        (ECS_EMULATOR_OWN_CONTAINER: a name or id, "auto" to find it): it attaches to this
        engine's network and sees its tasks from there, not from this host. `bridge_guard`:
        (bridge interface, gateway) -> the default bridge's anti-spoofing guard, or why none
        (None: bridge_guard.make_guard)."""
        self.instance_id = instance_id or PROCESS_INSTANCE
        self._environment = environment
        self.queue = DockerQueue(concurrency)
        self.owner_labels = owner_labels(self.instance_id, state_dir)
        self._client_factory = client_factory
        self._lock = threading.Lock()
        self._client = None
        self._check_client = None  # for image checks: a short timeout (check_api)
        self._closed: str | None = None  # why, once closed: no client is made again
        super().__init__(task_network, interface_with, bridge_claims, engine_local,
                         own_container, bridge_guard)
        # Bridge containers on the default bridge, created and not yet started: each owns its
        # network namespace, admitted to the guard as it starts; and the state the admission's
        # inspect read of one that publishes ports, for the runner's inspect that follows
        self._own_namespace: set[str] = set()
        self._started: dict[str, dict] = {}
        # Images this runtime made available. A task start does not ask Docker again (an inspect
        # per task, in the way of every start); create reports ImageGoneError if one went since.
        self._images: set[str] = set()
        self._digests = ImageDigests(lambda: self.api, docker_images.image_digest)
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
        self.close_guard()
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
            container_id = self.queue.call(SETUP, self.api.create_container_from_config, body,
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
        if self._holders_on(body["HostConfig"].get("NetworkMode")) is not None:
            self._own_namespace.add(container_id)
        return container_id

    def start_container(self, container_id: str) -> None:
        errors = _docker_errors()
        holders = self.holders if container_id in self._own_namespace else None
        if holders is not None:
            holders.expect(container_id)  # a die told before the admission undoes it
        try:
            self.queue.call(SETUP, self._start_and_admit, container_id, holders)
        except errors.NotFound as error:
            raise ContainerGoneError(_message(error)) from None
        except errors.APIError as error:
            raise ContainerStartError(_message(error)) from None
        finally:
            self._own_namespace.discard(container_id)
            if holders is not None:
                holders.forget(container_id)  # (admitted, or never to be)

    def _start_and_admit(self, container_id: str, holders) -> None:
        """Docker's start; then, for a bridge container on the default bridge, its admission
        to the guard, from one inspect that the runner's next inspect reuses (its ports)."""
        self.api.start(container_id)
        if holders is not None:
            info = self.api.inspect_container(container_id)
            docker_network.admit_or_remove(self.api, holders, container_id, info,
                                           remove=False)
            if (info.get("HostConfig") or {}).get("PortBindings"):
                self._started[container_id] = info

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
        self._started.pop(container_id, None)
        self._own_namespace.discard(container_id)  # (one created, never started)
        self.released(container_id)

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
        info = self._started.pop(container_id, None)  # read as it started: no second inspect
        try:
            info = info or self.api.inspect_container(container_id)
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
        for event in docker_streams.events(lambda: self.api, f"{INSTANCE}={self.instance_id}",
                                           until_stopped, since):
            if event.action in ("die", "destroy"):  # its address is Docker's to give again
                self._started.pop(event.container_id, None)
                self.released(event.container_id)
            yield event

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

"""Raw Docker, the peer of the task and service benchmarks: what the docker SDK alone takes to do
what a task needs, on the same engine, image and command.

A raw container is what `docker run --memory 64m IMAGE CMD` makes: on Docker's default bridge,
with the same memory limit. That is the floor a user compares with: what Docker needs for the
same container, not what our design adds (attaching to a user-defined bridge network costs about
a quarter more; `RawDocker(user_network=True)` measures that side, with a network of its own).
An awsvpc pair is a pause container (our pause image) on that network and the app joining its
namespace (network_mode container:<pause>). Everything is labelled, so cleanup finds it.
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

IMAGE = "ecs-emulator-test/busybox:latest"
# Ends at once on SIGTERM (as PID 1 the shell needs a trap; `wait` returns when it fires), so a
# stop measures the stop path, not a grace timeout.
COMMAND = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
MEMORY_MIB = 64
LABEL = "ecs-emulator-bench"


def client():
    import docker

    return docker.from_env(max_pool_size=64).api


class RawDocker:
    """Raw create/start/stop on one Docker Engine: on the default bridge, or a network of its own."""

    def __init__(self, user_network: bool = False):
        self.api = client()
        self.run_id = uuid.uuid4().hex[:8]
        self.user_network = user_network
        self.network = "bridge"
        if user_network:
            self.network = f"ecs-emulator-bench-{self.run_id}"
            self.api.create_network(self.network, driver="bridge", labels={LABEL: self.run_id})
        self._count = 0
        self._count_lock = threading.Lock()
        self._user_peer: RawDocker | None = None

    def _name(self, kind: str) -> str:
        with self._count_lock:
            self._count += 1
            return f"bench-{self.run_id}-{kind}-{self._count}"

    def _create(self, kind: str, image: str, network: str, command=None, alias=None) -> str:
        host_config = self.api.create_host_config(network_mode=network, mem_limit=f"{MEMORY_MIB}m")
        networking = None
        if alias and self.user_network:  # the default bridge has no aliases
            networking = self.api.create_networking_config(
                {network: self.api.create_endpoint_config(aliases=[alias])})
        return self.api.create_container(
            image, command=command, name=self._name(kind), labels={LABEL: self.run_id},
            host_config=host_config, networking_config=networking)["Id"]

    def run_bridge(self) -> str:
        """create + start of the app on the bench network; its id."""
        container = self._create("app", IMAGE, self.network, COMMAND, alias="main")
        self.api.start(container)
        return container

    def run_pair(self, pause_image: str) -> tuple[str, str]:
        """create + start a pause container, then the app in its namespace; (pause, app)."""
        pause = self._create("pause", pause_image, self.network)
        self.api.start(pause)
        app = self._create("app", IMAGE, f"container:{pause}", COMMAND)
        self.api.start(app)
        return pause, app

    def run_many(self, count: int, concurrency: int) -> list[str]:
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            return list(pool.map(lambda _: self.run_bridge(), range(count)))

    def replace_killed(self, container: str) -> float:
        """What a scheduler on raw Docker could do at best: `docker kill` the container, create +
        start a new one as soon as the die event comes, removing the old one meanwhile. Seconds
        from the kill to the new one started."""
        events = self.api.events(decode=True, filters={"container": [container], "event": ["die"]})
        try:
            began = time.perf_counter()
            threading.Thread(target=self.api.kill, args=(container,), daemon=True).start()
            next(iter(events))
        finally:
            events.close()
        remover = threading.Thread(target=self.remove, args=(container,))
        remover.start()
        new = self.run_bridge()
        seconds = time.perf_counter() - began
        remover.join()
        self.remove(new)
        return seconds

    def stop_and_remove(self, container: str, timeout_s: int = 30) -> None:
        self.api.stop(container, timeout=timeout_s)
        self.api.remove_container(container, v=True)

    def remove(self, *containers: str) -> None:
        for container in containers:
            try:
                self.api.remove_container(container, force=True, v=True)
            except Exception:
                pass

    def on_user_network(self) -> RawDocker:
        """The same raw peer on a user-defined bridge network of its own (made once, closed with
        this one): Docker's own work for a container attached where our bridge tasks are."""
        if self._user_peer is None:
            self._user_peer = RawDocker(user_network=True)
        return self._user_peer

    def close(self) -> None:
        """Remove whatever the run left, then its network."""
        if self._user_peer is not None:
            self._user_peer.close()
        for info in self.api.containers(all=True, filters={"label": f"{LABEL}={self.run_id}"}):
            self.remove(info["Id"])
        if not self.user_network:
            return
        try:
            self.api.remove_network(self.network)
        except Exception:
            pass


def pause_image() -> str:
    """Our pause image's tag (imported into the engine by our runtime if missing)."""
    from emulator.runtime.pause_image import ensure_pause_image

    return ensure_pause_image(client())


def timed(fn, *args) -> tuple[float, object]:
    began = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - began, result

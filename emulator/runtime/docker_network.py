"""The emulator's bridge network, and task sandboxes: where a task's containers attach.

Each emulator instance has one user-defined bridge network; the emulator listens on its gateway
IP too, so containers reach it (task metadata, credentials, AWS_ENDPOINT_URL). An awsvpc task gets
a pause container on that network, publishing the task's ports, whose network namespace the
task's containers join, so they talk over localhost and share one IP, as on Fargate.

With ECS_EMULATOR_TASK_NETWORK=default-bridge tasks attach to Docker's default bridge (docker0)
instead, where Docker attaches a container about 1.2x faster (no embedded DNS set up in each
endpoint: scripts/bench/results/network_attach.md), and the emulator listens on its gateway.
It is shared with every other container on the engine, so `default_bridge` takes it only where
the emulator's gate can still tell tasks from strangers there (the bridge is this host's interface
with its gateway: not rootless, not in a VM, the dockerd in this network namespace as
engine_locality.py proves; no other engine of the emulator's on an overlapping bridge),
where tasks reach each other (inter-container traffic on), and where the anti-spoofing guard
(bridge_guard.py) can be put on it, which every task's namespace holder is admitted to as it
starts (guarded_holders.py); the emulator never makes or removes it.
"""

from __future__ import annotations

import ipaddress
import threading
from typing import Callable

from .base import (ContainerCreateError, ContainerStartError, NetworkMembers, PortBinding,
                   RuntimeError_, TaskSandbox)
from .docker_specs import port_bindings, port_key
from .guarded_holders import GuardedHolders
from .labels import ROLE, docker_name

# On Fargate every container port is reachable at the task's IP; here the sandbox publishes each
# on this host's loopback, so a developer can curl it without exposing it to the network.
DEFAULT_PUBLISH_IP = "127.0.0.1"


def network_name(instance_id: str) -> str:
    return f"ecs-emulator-{instance_id}"


def ensure_network(api, name: str, labels: dict[str, str]) -> tuple[str, str]:
    """Create the bridge network `name` unless it exists; return (name, gateway IP)."""
    import docker.errors

    try:
        info = api.inspect_network(name)
    except docker.errors.NotFound:
        api.create_network(name, driver="bridge", labels=labels, check_duplicate=True)
        info = api.inspect_network(name)
    return name, _gateway(info)


DEFAULT_BRIDGE = "bridge"  # Docker's name for docker0's network


class BridgeClaims:
    """Which of an emulator's engines has tasks on its default bridge, by subnet: callers.py
    tells a task by its address on its engine's network, so two engines whose bridges overlap
    (every engine's is 172.17.0.0/16 unless told otherwise) would mix their tasks up. The first
    to ask keeps it; the others fall back to the emulator's own network."""

    def __init__(self):
        self._lock = threading.Lock()
        self._owners: dict = {}  # ip_network -> the runtime that uses it

    def claim(self, owner, subnets) -> str | None:
        """None once `owner` has `subnets`, else why not (another owner's overlap)."""
        with self._lock:
            for network, other in self._owners.items():
                if other is not owner and any(network.overlaps(s) for s in subnets):
                    return (f"its default bridge's subnet overlaps {network}, another Docker "
                            "Engine's default bridge that this emulator's tasks use already")
            for subnet in subnets:
                self._owners[subnet] = owner
            return None

    def release(self, owner) -> None:
        with self._lock:
            self._owners = {n: o for n, o in self._owners.items() if o is not owner}


def default_bridge(api, info: dict, interface_with: Callable[[str], str | None],
                   claim: Callable[[tuple], str | None] = lambda subnets: None,
                   locality: Callable[[dict], str | None] = lambda info: None,
                   guard: Callable[[str, str], str | None] = lambda bridge, gateway: None
                   ) -> tuple[str, str] | str:
    """(name, gateway IP) of the engine's default bridge, or why tasks cannot use it. `info`:
    the engine's `docker info`; `interface_with(address)`: the name of this host's interface
    that has the address, if any (the bridge must be this host's, for the emulator to listen
    on its gateway and see each task's own address); `claim(subnets)`: None where no other
    engine of this emulator has an overlapping bridge in use (BridgeClaims), else why;
    `locality(info)`: None where the engine is proven to be in this network namespace
    (engine_locality.py), else why; asked once rootless and VM engines are told apart, which
    it cannot ask (a VM's socket is served on this host); `guard(bridge, gateway)`: None once
    the anti-spoofing guard of the bridge's interface is in place (bridge_guard.py), else why
    not, asked last (it is the one check that changes the host). A refusal after `claim`
    leaves the claim to the caller to release."""
    from emulator.access.control_token import reaches_loopback

    import docker.errors

    # Every engine's bridge is docker0 at 172.17.0.1, so this host's docker0 having the gateway
    # proves nothing for an engine whose bridge is in a VM or in another network namespace.
    if any("name=rootless" in str(option) for option in info.get("SecurityOptions") or ()):
        return "the Docker Engine is rootless: its default bridge is in RootlessKit's namespace"
    if reaches_loopback(True, info):
        return ("the Docker Engine runs in a VM (Docker Desktop, OrbStack, Rancher Desktop, "
                "Colima, Lima): its default bridge is not this host's")
    elsewhere = locality(info)
    if elsewhere:
        return elsewhere
    try:
        info = api.inspect_network(DEFAULT_BRIDGE)
    except docker.errors.NotFound:
        return "the Docker Engine has no default bridge (dockerd --bridge=none)"
    options = info.get("Options") or {}
    if options.get("com.docker.network.bridge.enable_icc", "true").lower() == "false":
        return "the default bridge has inter-container traffic off (dockerd --icc=false)"
    try:
        gateway = _gateway(info)
    except RuntimeError as error:
        return str(error)
    bridge = options.get("com.docker.network.bridge.name")
    interface = interface_with(gateway)
    if interface is None or interface != bridge:
        return (f"the default bridge's gateway {gateway} is not on this host's {bridge or 'bridge'}"
                " interface (an engine in a VM, in another network namespace, or on another "
                "machine)")
    why = claim(tuple(ipaddress.ip_network(c["Subnet"], strict=False)
                      for c in (info.get("IPAM") or {}).get("Config") or [] if c.get("Subnet")))
    return why or guard(bridge, gateway) or (DEFAULT_BRIDGE, gateway)


def network_members(api, name: str) -> NetworkMembers:
    """The network's subnets and the address of each container on it (one Docker call)."""
    info = api.inspect_network(name)
    subnets = tuple(config["Subnet"] for config in (info.get("IPAM") or {}).get("Config") or []
                    if config.get("Subnet"))
    addresses = {}
    for container_id, endpoint in (info.get("Containers") or {}).items():
        for key in ("IPv4Address", "IPv6Address"):
            address = (endpoint.get(key) or "").split("/")[0]
            if address:
                addresses[address] = container_id
    bridge = ((info.get("Options") or {}).get("com.docker.network.bridge.name")
              or (f"br-{info['Id'][:12]}" if info.get("Driver") == "bridge" and info.get("Id")
                  else None))
    return NetworkMembers(subnets=subnets, addresses=addresses, shared=name == DEFAULT_BRIDGE,
                          bridge=bridge)


def _gateway(info: dict) -> str:
    for config in (info.get("IPAM") or {}).get("Config") or []:
        if config.get("Gateway"):
            return config["Gateway"].split("/")[0]
        if config.get("Subnet"):
            network = ipaddress.ip_network(config["Subnet"], strict=False)
            if network.version == 4:
                return str(next(network.hosts()))
    raise RuntimeError(f"network {info.get('Name')} has no IPv4 gateway")


def sandbox_network(mode: str, emulator_network: str) -> str | None:
    """The network a task's containers use for network modes that need no pause container."""
    return {"bridge": emulator_network, "host": "host", "none": "none"}.get(mode)


def create_pause_sandbox(api, name: str, labels: dict[str, str], network: str,
                         ports: list[PortBinding], image: str,
                         holders: "GuardedHolders | None" = None) -> TaskSandbox:
    """Start a pause container of `image` (pause_image.py's) on `network`, publishing `ports` (on
    127.0.0.1 unless a binding names its host IP), and return the sandbox the task's containers
    join. `holders`: on Docker's default bridge, the guard it is admitted to before it is
    handed out (from the inspect that reads its address); one that cannot be is removed."""
    import docker.errors

    published = [p if p.host_ip else PortBinding(p.container_port, p.protocol or "tcp",
                                                 DEFAULT_PUBLISH_IP, p.host_port) for p in ports]
    body = {
        "Image": image,
        "Labels": {**labels, ROLE: "pause"},
        "ExposedPorts": {port_key(p): {} for p in published} or None,
        "HostConfig": {
            "NetworkMode": network,
            "PortBindings": port_bindings(published) or None,
            "RestartPolicy": {"Name": "no"},
            "LogConfig": {"Type": "none", "Config": {}},
            # It only waits for a signal; with Docker's default NET_RAW it could forge ARP on
            # the bridge, and the task's containers share its network namespace, not its caps.
            "CapDrop": ["ALL"],
        },
    }
    body = {key: value for key, value in body.items() if value is not None}
    try:
        sandbox_id = api.create_container_from_config(body, docker_name(name))["Id"]
    except docker.errors.NotFound:
        raise  # the network or the pause image is gone: the caller makes them again
    except docker.errors.APIError as error:
        raise ContainerCreateError(error.explanation or str(error)) from None
    if holders is not None:
        holders.expect(sandbox_id)  # a die told before the admission is recorded undoes it
    try:
        api.start(sandbox_id)
    except docker.errors.APIError as error:
        _remove_quietly(api, sandbox_id)
        if holders is not None:
            holders.forget(sandbox_id)
        if isinstance(error, docker.errors.NotFound):
            raise  # the network is gone (Docker checks at start): the caller makes it again
        raise ContainerStartError(error.explanation or str(error)) from None
    info = api.inspect_container(sandbox_id)
    if holders is not None:
        admit_or_remove(api, holders, sandbox_id, info)
    endpoint = (info["NetworkSettings"]["Networks"] or {}).get(network, {})
    return TaskSandbox(network=f"container:{sandbox_id}", ip_address=endpoint.get("IPAddress") or None,
                       sandbox_id=sandbox_id, mac_address=endpoint.get("MacAddress") or None)


def admit_or_remove(api, holders: "GuardedHolders", container_id: str, info: dict,
                    remove: bool = True) -> None:
    """Admit a started namespace holder to the default bridge's guard; the start of one the
    guard refuses fails with the guard's reason (nobody guards its address, so the gate
    serves it nothing), and with `remove` it is removed here. A task's own container is left
    to its runner's teardown: its removal here would be told as its essential container's
    exit, racing the start's failure for the task's stoppedReason."""
    try:
        holders.admit(container_id, info)
    except Exception as error:  # the guard's GuardError, or any failure of nft
        holders.release(container_id)
        if remove:
            try:
                _remove_quietly(api, container_id)
            except Exception:  # noqa: BLE001 - a task's teardown removes what has its label
                pass
        raise ContainerStartError(
            f"its address on the default bridge could not be guarded: {error}") from None


def rejoin(api, container_id: str, network: str, aliases: list[str]) -> None:
    """Docker sets a container's aliases on a network only as it joins it, so a pause container
    made ahead of time (engine/sandbox_pool.py) leaves the network and joins it again with the
    names of the container it will hold. Its namespace, made already, is what made it dear;
    the join costs about half of a new container's attach. Its address may change, and its
    published ports are published again (Docker keeps them in the container's own settings)."""
    import docker.errors

    try:
        api.disconnect_container_from_network(container_id, network)
        api.connect_container_to_network(container_id, network, aliases=list(aliases) or None)
    except docker.errors.APIError as error:
        raise RuntimeError_(error.explanation or str(error)) from None


def remove_pause_sandbox(api, sandbox: TaskSandbox) -> None:
    if sandbox.sandbox_id:
        _remove_quietly(api, sandbox.sandbox_id)


def _remove_quietly(api, container_id: str) -> None:
    import docker.errors

    try:
        api.remove_container(container_id, force=True, v=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as error:
        if error.status_code != 409:  # 409: removal already in progress
            raise

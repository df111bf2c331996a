"""Removing what we created: by label (a task, an instance), or orphans of emulators that died.

Containers go first (forced, with their anonymous volumes), then networks and volumes, which
Docker refuses to remove while a container uses them.
"""

from __future__ import annotations

import logging
import time

from .labels import PID, STATE_DIR, label_filters, owner_is_gone
from .own_container import is_container_id

log = logging.getLogger(__name__)

CONTAINER_PASSES = 3
# A network whose containers are being removed (by another thread, or a 409 "removal already in
# progress") has active endpoints for a moment: try again within about two seconds.
NETWORK_TRIES = 5
NETWORK_RETRY_S = 0.4


def remove_labelled(api, labels: dict[str, str], own: str | None = None) -> int:
    """Remove every container, network and volume carrying all of `labels`; return how many.
    `own`: the emulator's own container (id or name) when it runs in one, which leaves the
    networks it joined (own_container.py) as a matter of course, not as a leftover."""
    filters = {"label": label_filters(labels)}
    removed = 0
    # Listed again after each pass: a create still in flight at the first listing (a task's,
    # while the emulator stops) may have made one since.
    for _ in range(CONTAINER_PASSES):
        containers = api.containers(all=True, filters=filters)
        if not containers:
            break
        removed += _remove(api, containers, [], [])
    return removed + _remove(api, [], api.networks(filters=filters),
                             (api.volumes(filters=filters) or {}).get("Volumes") or [],
                             network_tries=NETWORK_TRIES, own=own)


def remove_orphans(api, own: str | None = None) -> int:
    """Remove resources whose emulator process no longer runs on this host (or whose state
    directory is gone); never a live one's. `own` as for remove_labelled: a container restarted
    (`docker restart`) is still on the network its last run joined."""
    containers, networks, volumes = [], [], []
    for owner in (PID, STATE_DIR):
        filters = {"label": [owner]}
        containers += [c for c in api.containers(all=True, filters=filters)
                       if owner_is_gone(c.get("Labels") or {})]
        networks += [n for n in api.networks(filters=filters)
                     if owner_is_gone(n.get("Labels") or {})]
        volumes += [v for v in (api.volumes(filters=filters) or {}).get("Volumes") or []
                    if owner_is_gone(v.get("Labels") or {})]
    return _remove(api, containers, networks, volumes, own=own)


def _remove(api, containers: list[dict], networks: list[dict], volumes: list[dict],
            network_tries: int = 1, own: str | None = None) -> int:
    steps = ([(c["Id"], api.remove_container, {"force": True, "v": True}) for c in containers]
             + [(n["Id"], lambda ident, tries: _remove_network(api, ident, tries, own),
                 {"tries": network_tries}) for n in networks]
             + [(v["Name"], api.remove_volume, {"force": True}) for v in volumes])
    return sum(_quietly(ident, remove, **kwargs) for ident, remove, kwargs in steps)


def _quietly(ident: str, remove, **kwargs) -> bool:
    """One removal; False if it was gone already or Docker refused (logged): the rest go on."""
    import docker.errors

    try:
        return remove(ident, **kwargs) is not False
    except docker.errors.NotFound:
        return False
    except docker.errors.APIError as error:
        if error.status_code == 409 and "in progress" in str(error.explanation or error):
            # a runner's own removal of it is under way (a sweep beside a teardown): it goes
            log.debug("%s: %s", ident, error.explanation or error)
            return False
        # e.g. in use by a container not ours: leave it
        log.warning("could not remove %s: %s", ident, error.explanation or error)
        return False


def _remove_network(api, network_id: str, tries: int, own: str | None = None) -> bool:
    """Disconnect what is still attached, then remove; up to `tries` times while Docker says
    the network has active endpoints (a removal of one of its containers still under way)."""
    import docker.errors

    disconnected: list[str] = []
    for attempt in range(tries):
        if attempt:
            time.sleep(NETWORK_RETRY_S)
        disconnected += _disconnect_all(api, network_id, own)
        try:
            api.remove_network(network_id)
            if attempt or disconnected:
                log.info("removed network %s (try %d of %d; force-disconnected first: %s)",
                         network_id[:12], attempt + 1, tries, ", ".join(disconnected) or "none")
            return True
        except docker.errors.NotFound:
            return False
        except docker.errors.APIError as error:
            if "active endpoints" not in str(error.explanation or error):
                raise
    try:
        info = api.inspect_network(network_id)
    except docker.errors.NotFound:
        return False
    listed = info.get("Containers") or {}
    if not listed and network_id not in _warned:
        _warned.add(network_id)
        log.warning(STALE_COUNT, info.get("Name") or network_id)
    elif listed:
        log.warning("could not remove network %s: still attached: %s",
                    info.get("Name") or network_id,
                    ", ".join(e.get("Name") or k for k, e in listed.items()))
    return False


# Seen on Docker 20.10 after hundreds of containers were removed at once: the network lists no
# endpoint, yet dockerd's count of them is not zero (moby/moby#42119); only dockerd recounts
# them, when it starts. Said once per network and process (every emulator's start tries again).
STALE_COUNT = ("could not remove network %s: Docker says it has active endpoints but lists none "
               "(its count is stale: moby/moby#42119). Restarting the Docker daemon recounts "
               "them; the next emulator to start then removes the network")
_warned: set[str] = set()


def _disconnect_all(api, network_id: str, own: str | None = None) -> list[str]:
    """Docker refuses to remove a network a container is still attached to: the emulator's own
    container when it runs in one (runtime/own_container.py), or one a user attached; or an
    endpoint whose container is gone (moby/moby#23302: after mass removals on Docker 20.10).
    Such an endpoint is listed as "ep-<endpoint id>", or under its container's id: dockerd
    deletes it when asked to disconnect its name (the container's) with force, as
    `docker network disconnect -f NETWORK NAME` does; neither id would be found. What it
    disconnected (the id or name it was asked by), each logged; the emulator's own container
    (`own`, its id, short id or name) leaves quietly and is not counted."""
    import docker.errors

    try:
        info = api.inspect_network(network_id)
    except docker.errors.NotFound:
        return []
    done = []
    for key, endpoint in (info.get("Containers") or {}).items():
        name = endpoint.get("Name") or key
        if _is_own(own, key, name):
            _leave(api, key, network_id, info.get("Name") or network_id)
            continue
        # by id while its container lives (a name may have been reused); by name once gone
        targets = [name] if key.startswith("ep-") else list(dict.fromkeys([key, name]))
        for target in targets:
            try:
                api.disconnect_container_from_network(target, network_id, force=True)
            except docker.errors.NotFound:
                continue  # gone meanwhile, or an endpoint known only by its name: try that
            except docker.errors.APIError as error:
                log.warning("could not disconnect %s from network %s: %s", target,
                            info.get("Name") or network_id, error.explanation or error)
                break
            log.info("network %s: force-disconnected %s to remove the network",
                     info.get("Name") or network_id, target)
            done.append(target)
            break
    return done


def _is_own(own: str | None, key: str, name: str) -> bool:
    """Whether the endpoint listed under `key` (a container's id) named `name` is the emulator's
    own container, given by its name, its id or the short id (its host name)."""
    if not own:
        return False
    by_id = is_container_id(own) and key.startswith(own)
    return by_id or name == own


def _leave(api, own: str, network_id: str, network_name: str) -> None:
    """The emulator's own container leaves a network of its tasks (it joined to serve them)."""
    import docker.errors

    try:
        api.disconnect_container_from_network(own, network_id)
    except docker.errors.NotFound:
        pass  # left already
    except docker.errors.APIError as error:  # the removal then says what is still attached
        log.warning("the emulator's container could not leave network %s: %s", network_name,
                    error.explanation or error)
    else:
        log.debug("the emulator's container left network %s", network_name)

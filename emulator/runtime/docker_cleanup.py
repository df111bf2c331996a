"""Removing what we created: by label (a task, an instance), or orphans of emulators that died.

Containers go first (forced, with their anonymous volumes), then networks and volumes, which
Docker refuses to remove while a container uses them.
"""

from __future__ import annotations

import logging

from .labels import PID, STATE_DIR, label_filters, owner_is_gone

log = logging.getLogger(__name__)


def remove_labelled(api, labels: dict[str, str]) -> int:
    """Remove every container, network and volume carrying all of `labels`; return how many."""
    filters = {"label": label_filters(labels)}
    return _remove(api, api.containers(all=True, filters=filters),
                   api.networks(filters=filters),
                   (api.volumes(filters=filters) or {}).get("Volumes") or [])


def remove_orphans(api) -> int:
    """Remove resources whose emulator process no longer runs on this host (or whose state
    directory is gone); never a live one's."""
    containers, networks, volumes = [], [], []
    for owner in (PID, STATE_DIR):
        filters = {"label": [owner]}
        containers += [c for c in api.containers(all=True, filters=filters)
                       if owner_is_gone(c.get("Labels") or {})]
        networks += [n for n in api.networks(filters=filters)
                     if owner_is_gone(n.get("Labels") or {})]
        volumes += [v for v in (api.volumes(filters=filters) or {}).get("Volumes") or []
                    if owner_is_gone(v.get("Labels") or {})]
    return _remove(api, containers, networks, volumes)


def _remove(api, containers: list[dict], networks: list[dict], volumes: list[dict]) -> int:
    import docker.errors

    removed = 0
    for network in networks:
        _disconnect_all(api, network["Id"])
    steps = ([(api.remove_container, c["Id"], {"force": True, "v": True}) for c in containers]
             + [(api.remove_network, n["Id"], {}) for n in networks]
             + [(api.remove_volume, v["Name"], {"force": True}) for v in volumes])
    for remove, ident, kwargs in steps:
        try:
            remove(ident, **kwargs)
            removed += 1
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as error:  # e.g. in use by a container not ours: leave it
            log.warning("could not remove %s: %s", ident, error.explanation or error)
    return removed


def _disconnect_all(api, network_id: str) -> None:
    """Docker refuses to remove a network a container is still attached to: the emulator's own
    container when it runs in one (runtime/own_container.py), or one a user attached."""
    import docker.errors

    try:
        attached = api.inspect_network(network_id).get("Containers") or {}
    except docker.errors.NotFound:
        return
    for container_id in attached:
        try:
            api.disconnect_container_from_network(container_id, network_id, force=True)
        except docker.errors.APIError as error:
            log.warning("could not disconnect %s from %s: %s", container_id, network_id,
                        error.explanation or error)

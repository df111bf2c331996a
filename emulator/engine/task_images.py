"""Whether a task's own ECS call may run an image that is not in the emulator's ECR.

Tasks run on the operator's Docker Engines, which hold the operator's local builds (the
emulator's own image among them) and pull with the operator's registry logins (docker-py reads
~/.docker/config.json and its credential helpers). A task that registered or launched a
definition naming such an image would copy out what only the operator may read. So a container's
call may name only images that a registry serves to anyone (access/host_access.py asks here);
the operator's calls from this host are not asked.
"""

from __future__ import annotations


def unserved_image(engines, image) -> str | None:
    """Why `image` is not one anyone may pull, else None: an answering engine (engines.py)
    holds a copy no registry served, or its registry does not serve it without credentials, or
    an engine could not say (fails closed: the call may be made again)."""
    if not isinstance(image, str) or not image or image != image.strip():
        return None  # left to RegisterTaskDefinition's validation
    for engine in list(engines.engines.values()):
        if not engine.health.answering():
            continue
        try:
            why = engine.runtime.unserved_image(image)
        except Exception as error:  # noqa: BLE001 - a flapping engine's timeout, a refused read
            return (f"which the Docker Engine {engine.name!r} could not be asked about "
                    f"({type(error).__name__}: {error}); try again")
        if why:
            return why
    return None

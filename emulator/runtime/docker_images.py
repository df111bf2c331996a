"""Making an image available: a local image is used as it is; anything else is pulled.

And whether an image is one anyone may have (unserved): a task's own ECS calls may run only
such images, never the operator's local builds or the private images their logins pull.

Image names are parsed here, by Docker's rules: the registry one starts with (registry_host,
which the host-access checks ask too), its repository, and the repository in full.

A failed pull becomes an ImagePullError whose message reads like the detail of ECS's
CannotPullContainerError. Pull progress is told in short lines (one per layer and step, never
the progress bars), and two tasks wanting the same image share one pull.
"""

from __future__ import annotations

import threading
from typing import Callable

from .base import ImagePullError, RegistryAuth

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock_for(image: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(image, threading.Lock())


def image_present(api, image: str) -> bool:
    import docker.errors

    try:
        api.inspect_image(image)
        return True
    except docker.errors.ImageNotFound:
        return False
    except docker.errors.APIError as error:
        # An invalid reference answers 400: no such image here either, and the pull will say why.
        if error.status_code == 400:
            return False
        raise


def _auth_config(auth: RegistryAuth | None) -> dict | None:
    if auth is None:
        return None
    return {"username": auth.username, "password": auth.password, "serveraddress": auth.server}


def pull_failure(detail: str) -> ImagePullError:
    return ImagePullError(f"Error response from daemon: {detail}")


def progress_line(event: dict) -> str | None:
    """One short line for a pull event, or None for progress ticks not worth a line."""
    status = event.get("status") or ""
    if not status or status in ("Downloading", "Extracting", "Waiting"):
        return None
    layer = event.get("id")
    return f"{layer}: {status}" if layer else status  # as the docker CLI prints them


def image_digest(api, image: str) -> str | None:
    """The manifest digest in RepoDigests for the image's repository, else any, else its id."""
    import docker.errors

    try:
        attributes = api.inspect_image(image)
    except docker.errors.DockerException:
        return None
    repository = _repository(image)
    repo_digests = attributes.get("RepoDigests") or []
    for entry in repo_digests:
        name, _, digest = entry.partition("@")
        if name == repository or name.endswith("/" + repository):
            return digest
    if repo_digests:
        return repo_digests[0].partition("@")[2]
    return attributes.get("Id")


def _repository(image: str) -> str:
    """An image reference without its tag or digest."""
    repository = image.split("@", 1)[0]
    last = repository.rsplit("/", 1)[-1]
    if ":" in last:  # a tag, not a registry port
        repository = repository[: -len(last)] + last.split(":", 1)[0]
    return repository


def registry_host(image: str) -> str | None:
    """The registry an image name starts with (`localhost:5000` of `localhost:5000/app:1`), as
    Docker's reference parser tells it (splitDockerDomain): a first component with a '.' or a
    ':', `localhost`, or an uppercase letter (`LOCALHOST/app`); None for Docker Hub's (`nginx`,
    `library/nginx`, `user/app`)."""
    first, slash, _ = image.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"
                  or first != first.lower()):
        return first
    return None


def _full_name(repository: str) -> str:
    """A repository as Docker normalizes it (`busybox` is `docker.io/library/busybox`), so that
    names Docker writes short and long compare."""
    first = registry_host(repository)
    rest = repository[len(first) + 1:] if first else repository
    first = first or "docker.io"
    if first == "index.docker.io":
        first = "docker.io"
    if first == "docker.io" and "/" not in rest:
        rest = "library/" + rest
    return f"{first}/{rest}"


def unserved(api, image: str) -> str | None:
    """Why `image` is not one a registry serves to anyone, else None: the registry, asked with
    no credentials (auth_config={}: never the operator's config.json or credential helpers),
    does not serve it (a private image; or it could not be reached), or the engine's copy is not
    what the registry serves for it (a local build, a `docker tag` of another image)."""
    import docker.errors

    try:
        local = api.inspect_image(image)
    except docker.errors.ImageNotFound:
        local = None
    except docker.errors.APIError as error:
        if error.status_code != 400:  # 400: an invalid reference, which the registry refuses
            return f"which the engine could not be asked about ({error.explanation or error})"
        local = None
    repository = _full_name(_repository(image))
    # The engine's copy as pulled from this repository. Docker's containerd image store also
    # gives local builds and tags a digest under their own names (moby#45122, #48747), so a
    # digest under the name proves nothing until it is the one the registry serves.
    pulled = {digest for name, _, digest in (entry.partition("@") for entry in (
        local.get("RepoDigests") or [] if local is not None else []))
        if _full_name(name) == repository}
    if local is not None and not pulled:
        return "whose copy on the engine no registry served (a local build)"
    try:
        served = api.inspect_distribution(image, auth_config={})
    except docker.errors.APIError as error:
        # Docker answers 401/403/404 for what the registry refused, 500 for one not reached.
        asked = "could not be asked about" if error.is_server_error() else "does not serve"
        return f"which its registry {asked} without credentials ({error.explanation or error})"
    except docker.errors.DockerException as error:
        return f"which its registry could not be asked about ({error})"
    if local is not None and ((served or {}).get("Descriptor") or {}).get("digest") not in pulled:
        return ("whose copy on the engine is not what its registry serves (a local build, or "
                "an older pull: pull it again)")
    return None


def ensure_image(api, image: str, auth: RegistryAuth | None = None,
                 progress: Callable[[str], None] | None = None) -> None:
    """Return once `image` is in the engine; raise ImagePullError if it cannot be had."""
    import docker.errors

    # Look before taking the image's lock: tasks starting together need not queue to find it.
    if image_present(api, image):
        return
    with _lock_for(image):
        if image_present(api, image):  # another thread pulled it while we waited
            return
        if progress:  # a pull begins (Docker's first event may come only after the manifest)
            progress(f"Pulling {image}")
        try:
            stream = api.pull(image, stream=True, decode=True, auth_config=_auth_config(auth))
            for event in stream:
                error = event.get("errorDetail", {}).get("message") or event.get("error")
                if error:
                    raise pull_failure(error)
                line = progress_line(event)
                if line and progress:
                    progress(line)
        except docker.errors.APIError as error:
            raise pull_failure(error.explanation or str(error)) from None
        except docker.errors.DockerException as error:
            raise pull_failure(str(error)) from None
        if not image_present(api, image):
            raise pull_failure(f"pull of {image} finished but the image is not in the engine")

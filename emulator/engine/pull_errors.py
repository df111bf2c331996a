"""A failed pull told with the image as the task definition names it.

An image of the emulator's ECR (`<account>.dkr.ecr.<region>.amazonaws.com/app:v1`) is pulled
from the emulator's registry by another name (`127.0.0.1:4566/app:v1`, ecr_images.py), and
Docker's message names what was pulled. ECS's CannotPullContainerError names the reference the
task asked for; a user who reads the internal address looks for a registry they never used.
"""

from __future__ import annotations

from emulator.runtime.base import ImagePullError


def as_given(error: ImagePullError, pulled: str, given: str) -> ImagePullError:
    """`error` with `pulled` (and its repository and registry, which Docker also quotes on their
    own: "manifest for HOST/app:latest", "dial tcp HOST") said as `given` says them."""
    if pulled == given:
        return error
    message = error.message.replace(pulled, given)
    message = message.replace(_repository(pulled), _repository(given))
    pulled_host, given_host = _registry(pulled), _registry(given)
    if pulled_host and given_host:
        message = message.replace(pulled_host, given_host)
    return ImagePullError(message)


def _repository(reference: str) -> str:
    """The reference without its digest or tag."""
    name = reference.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > slash else name


def _registry(reference: str) -> str | None:
    """The registry host[:port] a reference starts with, as Docker tells one: a first part with
    a '.' or ':' in it, or localhost."""
    first, _, rest = reference.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first
    return None

"""A failed pull told with the image as the task definition names it.

An image of the emulator's ECR (`<account>.dkr.ecr.<region>.amazonaws.com/app:v1`) is pulled
from the emulator's registry by another name (`127.0.0.1:4566/app:v1`, ecr_images.py), and
Docker's message names what was pulled. ECS's CannotPullContainerError names the reference the
task asked for; a user who reads the internal address looks for a registry they never used.

Only the image is renamed: the reference, and its repository where Docker quotes that alone
("pull access denied for HOST/app"). The registry's address on its own (`Get
"https://HOST/v2/"`, `dial tcp HOST`) stays: that is where Docker failed to connect, and what
a user of a remote engine adds to its insecure-registries (README). The message then says
which registry that address is.
"""

from __future__ import annotations

import re

from emulator.runtime.base import ImagePullError

# What may continue a reference's name on either side; a match bordered by one of these is part
# of another name (`app:v1` inside `app:v10`, `app` inside `app-other`).
_NAME = r"A-Za-z0-9._/-"
_HOST = r"A-Za-z0-9.-"  # a host stands alone in a URL (`https://HOST/v2/`) or `dial tcp HOST:`


def as_given(error: ImagePullError, pulled: str, given: str) -> ImagePullError:
    """`error` with `pulled` (and its repository, which Docker also quotes on its own: "pull
    access denied for HOST/app") said as `given` says them."""
    if pulled == given:
        return error
    message = _replace_whole(error.message, pulled, given, _NAME + ":@")
    # A repository may be followed by another tag or digest of the same image.
    message = _replace_whole(message, _repository(pulled), _repository(given), _NAME)
    host = _registry(pulled)
    if host and host != _registry(given) and re.search(_whole(host, _HOST, _HOST), message):
        message += f" (pulled from the emulator's registry at {host})"
    return ImagePullError(message)


def _replace_whole(message: str, old: str, new: str, after: str) -> str:
    """`message` with each `old` that is a whole name said as `new`."""
    return re.sub(_whole(old, _NAME + ":@", after), lambda _: new, message)


def _whole(name: str, before: str, after: str) -> str:
    """A pattern for `name` with none of `before` before it and none of `after` behind it."""
    return rf"(?<![{before}]){re.escape(name)}(?![{after}])"


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

"""A pull error names the image as the task definition gave it (emulator/engine/pull_errors.py)."""

from emulator.engine.pull_errors import as_given
from emulator.runtime.base import ImagePullError

ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
NOTE = " (pulled from the emulator's registry at {})"


def test_the_reference_and_its_repository_are_said_as_given():
    told = as_given(ImagePullError(
        "Error response from daemon: manifest for 127.0.0.1:4566/app:v1 not found; "
        "pull access denied for 127.0.0.1:4566/app, repository does not exist"),
        "127.0.0.1:4566/app:v1", f"{ECR}/app:v1")
    assert told.message == (
        f"Error response from daemon: manifest for {ECR}/app:v1 not found; "
        f"pull access denied for {ECR}/app, repository does not exist")
    assert told.reason.startswith("CannotPullContainerError: ")


def test_the_registry_address_docker_failed_to_reach_stays_and_is_named():
    """The address is what a remote engine's insecure-registries needs (README)."""
    for message, host in [
            ('Error response from daemon: Get "https://host.docker.internal:4566/v2/": '
             "http: server gave HTTP response to HTTPS client", "host.docker.internal:4566"),
            ('Get "http://192.168.1.5:4566/v2/": dial tcp 192.168.1.5:4566: connect: '
             "connection refused", "192.168.1.5:4566")]:
        told = as_given(ImagePullError(message), f"{host}/app:v1", f"{ECR}/app:v1")
        assert told.message == message + NOTE.format(host)


def test_only_whole_names_are_said_as_given():
    told = as_given(ImagePullError(
        "manifest for 127.0.0.1:4566/app:v10 not found; 127.0.0.1:4566/app-other; "
        "x127.0.0.1:4566/app:v1"), "127.0.0.1:4566/app:v1", f"{ECR}/app:v1")
    assert told.message == (
        f"manifest for {ECR}/app:v10 not found; 127.0.0.1:4566/app-other; "
        "x127.0.0.1:4566/app:v1" + NOTE.format("127.0.0.1:4566"))
    told = as_given(ImagePullError("toomanyrequests from registry-1.docker.io for "
                                   "docker.io/library/nginx"),
                    "docker.io/library/nginx:latest", "nginx")
    assert told.message == "toomanyrequests from registry-1.docker.io for nginx"


def test_an_image_pulled_by_its_own_name_keeps_its_error():
    error = ImagePullError("Error response from daemon: pull access denied for busybox")
    assert as_given(error, "busybox:1", "busybox:1") is error
    digest = "sha256:" + "a" * 64
    pulled = f"127.0.0.1:4566/app@{digest}"
    told = as_given(ImagePullError(f"no {pulled}"), pulled, f"{ECR}/app@{digest}")
    assert told.message == f"no {ECR}/app@{digest}"

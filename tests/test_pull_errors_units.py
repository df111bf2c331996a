"""A pull error names the image as the task definition gave it (emulator/engine/pull_errors.py)."""

from emulator.engine.pull_errors import as_given
from emulator.runtime.base import ImagePullError

ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com"


def test_the_reference_its_repository_and_its_registry_are_said_as_given():
    told = as_given(ImagePullError(
        "Error response from daemon: manifest for 127.0.0.1:4566/app:latest not found; "
        "Get \"http://127.0.0.1:4566/v2/\": dial tcp 127.0.0.1:4566: connection refused"),
        "127.0.0.1:4566/app", f"{ECR}/app")
    assert told.message == (
        f"Error response from daemon: manifest for {ECR}/app:latest not found; "
        f"Get \"http://{ECR}/v2/\": dial tcp {ECR}: connection refused")
    assert told.reason.startswith("CannotPullContainerError: ")


def test_an_image_pulled_by_its_own_name_keeps_its_error():
    error = ImagePullError("Error response from daemon: pull access denied for busybox")
    assert as_given(error, "busybox:1", "busybox:1") is error
    digest = "sha256:" + "a" * 64
    pulled = f"127.0.0.1:4566/app@{digest}"
    told = as_given(ImagePullError(f"no {pulled}"), pulled, f"{ECR}/app@{digest}")
    assert told.message == f"no {ECR}/app@{digest}"

"""CloudFormation's errors as the emulator raises them on top of moto's: the model's shapes and
codes, the classes made once (on first use: moto is loaded only when a stack is asked for)."""

from __future__ import annotations

from functools import cache


def validation_error(message: str) -> Exception:
    from moto.cloudformation.exceptions import ValidationError

    return ValidationError(message=message)


def invalid_status(message: str) -> Exception:
    """InvalidChangeSetStatusException in the model: code InvalidChangeSetStatus, HTTP 400."""
    return _classes()[0](message)


def change_set_not_found(name: str) -> Exception:
    """ChangeSetNotFoundException in the model: code ChangeSetNotFound, HTTP 404."""
    return _classes()[1](f"ChangeSet [{name}] does not exist")


@cache
def _classes():
    from moto.core.exceptions import ServiceException

    class InvalidChangeSetStatusException(ServiceException):
        code = "InvalidChangeSetStatus"

    class ChangeSetNotFoundException(ServiceException):
        code = "ChangeSetNotFoundException"  # the model's shape: ChangeSetNotFound, HTTP 404

    return InvalidChangeSetStatusException, ChangeSetNotFoundException

"""The base of every AWS error we answer.

A subclass is named after the botocore exception shape it stands for, and its code is that name,
so `raise ClusterNotFoundException("...")` reaches the SDK as the modelled exception.
"""

from __future__ import annotations


class AwsError(Exception):
    status = 400
    code: str | None = None  # defaults to the class name

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 **members):
        super().__init__(message)
        self.message = message
        # The error shape's other modelled members (InvalidLayerPartException's uploadId, ...).
        self.members = {name: value for name, value in members.items() if value is not None}
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "code" not in cls.__dict__:
            cls.code = cls.__name__

    def body(self) -> dict:
        return {"__type": self.code, "message": self.message, **self.members}


class SerializationException(AwsError):
    """The request body is not JSON, or a value has the wrong JSON type."""


class UnknownOperationException(AwsError):
    """The X-Amz-Target names no operation of the service."""


class UnsupportedOperation(AwsError):
    """An operation of the service's model that this emulator does not implement, for services
    whose model has no exception that says so (ECR). The code is EC2's common error of that
    name; SDKs raise it as a generic ClientError."""


class InternalFailure(AwsError):
    status = 500

"""One AWS service's model: its operations, shapes and modelled errors."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from api_shapes.amendments import amended
from api_shapes.fast_check import FastChecks
from api_shapes.model_files import load_model
from api_shapes.requests import RequestTypes
from api_shapes.serialize import OutputSerializer
from api_shapes.validate import Validator


@dataclass(frozen=True)
class Operation:
    """One operation of a service's model: its input and output shapes and modelled errors."""
    name: str
    input_shape: str | None
    output_shape: str | None
    errors: tuple[str, ...]


class ServiceShapes:
    def __init__(self, model: dict):
        self.metadata = model["metadata"]
        self.shapes: dict = model["shapes"]
        self.operations = {
            name: Operation(
                name=name,
                input_shape=op.get("input", {}).get("shape"),
                output_shape=op.get("output", {}).get("shape"),
                errors=tuple(e["shape"] for e in op.get("errors", ())),
            )
            for name, op in model["operations"].items()
        }
        self.exception_names = frozenset(
            name for name, shape in self.shapes.items() if shape.get("exception")
        )
        self._input_validator = Validator(self.shapes, reject_unknown=False, check_patterns=True)
        self._fast_checks = FastChecks(self.shapes, check_patterns=True)  # the same, when it fits
        self._output_checker = Validator(self.shapes, reject_unknown=True)
        self._serializer = OutputSerializer(self.shapes)
        self._requests = RequestTypes(
            self.shapes, {name: op.input_shape for name, op in self.operations.items()})

    @property
    def target_prefix(self) -> str:
        return self.metadata["targetPrefix"]

    def parse_input(self, operation: str, params: object) -> dict:
        """Validate a decoded JSON request; return it with timestamps and blobs converted.

        Unknown members are ignored, as AWS's JSON services ignore them.
        """
        shape = self.operations[operation].input_shape
        if shape is None:
            return {}
        try:
            return self._fast_checks.of(shape)(params)
        except Exception:  # noqa: BLE001 - Unsure, or a value the fast check could not take
            # (a lone surrogate, an integer past a float's range, nesting past the stack): the
            # full check finds and words what is wrong, and refuses what it cannot take.
            return self._input_validator.validate(shape, params)

    def request(self, operation: str, params: dict):
        """A validated request (parse_input's result) as named values (requests.py)."""
        return self._requests.build(operation, params)

    def request_type(self, operation: str) -> type:
        return self._requests.of(operation)

    def serialize_output(self, operation: str, result: dict) -> dict:
        shape = self.operations[operation].output_shape
        if shape is None:
            return {}
        return self._serializer.serialize(shape, result)

    def serialize_shape(self, shape: str, value):
        """`value` serialized as serialize_output does a member of shape `shape`."""
        return self._serializer.serialize(shape, value)

    def check_error(self, code: str, members: dict) -> None:
        """Raise ShapeError unless `members` (an error body without __type and message) are
        members of the error shape `code`, of their modelled types."""
        from api_shapes.validate import ShapeError

        fields = {k for k in self.shapes[code]["members"] if k.lower() != "message"}
        unknown = set(members) - fields
        if unknown:
            raise ShapeError("unknown", code, f"not members of {code}: {sorted(unknown)}")
        self._output_checker.validate(code, members, wire_output=True)

    def check_output(self, operation: str, body: object) -> None:
        """Raise ShapeError unless `body` (decoded JSON) fits the operation's output shape exactly."""
        shape = self.operations[operation].output_shape
        if shape is None:
            if body not in ({}, None):
                from api_shapes.validate import ShapeError

                raise ShapeError("unknown", "", "operation has no output, got a body")
            return
        self._output_checker.validate(shape, body, wire_output=True)


@functools.lru_cache(maxsize=None)
def load_service(name: str) -> ServiceShapes:
    return ServiceShapes(amended(name, load_model(name)))

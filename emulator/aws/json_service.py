"""The AWS JSON 1.1 protocol for the services we emulate ourselves (ECS, ECR).

parse -> call -> serialize: the body is decoded and validated against the operation's input
shape, the registered handler runs under the service state's lock, and its result is serialized
by the output shape. An AwsError becomes the modelled error; anything else is a logged 500.
An operation's after-call hook may leave work for the time between the lock's release and the
answer (CreateService waits there for its first tasks: engine/first_placement.py).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Callable, Protocol

from api_shapes import ServiceShapes, ShapeError
from emulator.aws.context import RequestContext
from emulator.aws.errors import (
    AwsError,
    InternalFailure,
    SerializationException,
    UnknownOperationException,
)
from emulator.aws.json_members import MemberCache, encode

log = logging.getLogger(__name__)


class ServiceState(Protocol):
    lock: object

    def store_for(self, account: str, region: str): ...

    def reset(self) -> None: ...


@dataclass
class Call:
    """One request to a handler: who calls, with what, and the state of their account and region.

    `params` is the validated wire dict, which `request` is made from: the same as named values
    (api_shapes/requests.py). Handlers read `request` and hand the domain its values; no handler
    reads `params` (tests/test_typed_requests.py)."""

    ctx: RequestContext
    params: dict
    store: object
    operation: str = ""
    shapes: ServiceShapes | None = None
    # The service's kept member texts (json_members.py), for a request; None for invoke()
    members: MemberCache | None = None
    spliced: bool = False  # the result holds Encoded members (encoded() gave them)

    def encoded(self, shape: str, key, wire: dict):
        """A member of shape `shape` as the result should carry it: for a request, its JSON
        text, kept under `key` for the next call while `wire` stays the same (what a poller
        asks for again); for invoke()'s callers, who read results as dicts, `wire` itself."""
        if self.members is None:
            return wire
        self.spliced = True
        return self.members.encoded(shape, key, wire)

    @property
    def request(self):
        # Made on first use and kept (functools.cached_property would take a lock for it on
        # Python 3.11, on every call).
        made = self.__dict__.get("_request")
        if made is None:
            made = self.__dict__["_request"] = self.shapes.request(self.operation, self.params)
        return made


Handler = Callable[[Call], dict | None]


def handler(operation: str):
    """Mark a function as the handler of `operation`. Only marks it: the app factory collects
    the marked functions of a service's modules into that app's HandlerTable, so importing a
    module fills no table."""

    def mark(fn: Handler) -> Handler:
        fn.aws_operation = operation
        return fn

    return mark


class HandlerTable:
    """Operation name -> handler: collected from modules whose functions `@handler` marked, or
    filled by the table's own decorator (`@table("CreateCluster")`)."""

    def __init__(self):
        self.handlers: dict[str, Handler] = {}

    @classmethod
    def collect(cls, modules) -> "HandlerTable":
        table = cls()
        for module in modules:
            for fn in vars(module).values():
                operation = getattr(fn, "aws_operation", None)
                # A handler imported into another module is the same function, met twice.
                if operation is not None and table.handlers.get(operation) is not fn:
                    table(operation)(fn)
        return table

    def __call__(self, operation: str):
        def register(fn: Handler) -> Handler:
            if operation in self.handlers:
                raise ValueError(f"{operation} has two handlers")
            self.handlers[operation] = fn
            return fn

        return register


@dataclass
class Reply:
    """What a JSON service answers a call: status, body and, for an error, its code."""
    status: int
    body: dict
    error_code: str | None = None
    spliced: bool = False  # the body holds Encoded members (json_members.encode)


class JsonService:
    def __init__(
        self,
        *,
        shapes: ServiceShapes,
        handlers: HandlerTable | Callable[[], HandlerTable],
        state: ServiceState,
        invalid_parameter: type[AwsError],
        not_implemented: type[AwsError],
        strict_responses: bool = False,
    ):
        self.shapes = shapes
        self._handlers: dict[str, Handler] | None = None
        # A function that imports the table may stand for it: a service whose first call comes
        # later (ECR) then costs the start-up nothing.
        self._handler_table = handlers
        if isinstance(handlers, HandlerTable):
            _ = self.handlers  # checked now
        self.state = state
        self._invalid_parameter = invalid_parameter
        self._not_implemented = not_implemented
        self._strict = strict_responses
        self._members = MemberCache(shapes)
        # operation -> fn(call, output) under the lock once the handler has succeeded: None, or
        # a function the call runs after releasing the lock, before it answers (the answer is
        # made already: what that function waits for is not in it). Set by the app factory.
        self.after_call: dict[str, Callable[[Call, dict], Callable[[], None] | None]] = {}

    @property
    def handlers(self) -> dict[str, Handler]:
        if self._handlers is None:  # two first calls at once both import it: the same table
            table = self._handler_table
            table = table if isinstance(table, HandlerTable) else table()
            unknown = set(table.handlers) - set(self.shapes.operations)
            if unknown:
                raise ValueError(f"handlers for operations the model lacks: {sorted(unknown)}")
            self._handlers = table.handlers
        return self._handlers

    @property
    def name(self) -> str:
        return self.shapes.metadata["endpointPrefix"]

    def handle(self, operation: str, body: bytes, ctx: RequestContext) -> Reply:
        try:
            output, spliced = self._call(operation, body, ctx)
            return Reply(200, output, spliced=spliced)
        except AwsError as error:
            return Reply(error.status, error.body(), error.code)
        except Exception:  # a fault of ours: log it, answer a 500 that says so
            log.exception("internal error in %s.%s", self.name, operation)
            error = InternalFailure(f"The emulator failed to handle {operation}; see its log.")
            return Reply(error.status, error.body(), error.code)

    def invoke(self, operation: str, params: dict, ctx: RequestContext) -> dict:
        """Call an operation with decoded parameters, as a request would (validation, lock,
        handler, output shape); raises AwsError. For callers inside the emulator (CloudFormation
        resources), so that they take the very path of the API."""
        handler = self._handler(operation)
        try:
            params = self.shapes.parse_input(operation, params)
        except ShapeError as error:
            raise self._invalid_parameter(str(error)) from None
        return self._run(operation, handler, params, ctx)[0]

    def _handler(self, operation: str) -> Handler:
        if operation not in self.shapes.operations:
            raise UnknownOperationException(f"Unknown operation {operation}")
        handler = self.handlers.get(operation)
        if handler is None:
            # Before validation: whatever the request, the honest answer is that we lack it.
            raise self._not_implemented(
                f"{operation} is not implemented by this emulator of {self.name.upper()}; "
                "the README's coverage table lists what is."
            )
        return handler

    def _call(self, operation: str, body: bytes, ctx: RequestContext) -> tuple[dict, bool]:
        handler = self._handler(operation)
        return self._run(operation, handler, self._parse(operation, body), ctx, self._members)

    def _run(self, operation: str, handler: Handler, params: dict, ctx: RequestContext,
             members: MemberCache | None = None) -> tuple[dict, bool]:
        """The output, and whether it holds Encoded members (only with `members`)."""
        hook = self.after_call.get(operation)
        with self.state.lock:
            call = Call(ctx, params, self.state.store_for(ctx.account, ctx.region),
                        operation, self.shapes, members)
            result = handler(call)
            # Under the lock too: the result shares lists and maps with live state.
            output = self.shapes.serialize_output(operation, result or {})
            then = _guarded(hook, operation)(call, output) if hook is not None else None
        if then is not None:
            _guarded(then, operation)()
        if self._strict:
            self._check(operation, output, call.spliced)
        return output, call.spliced

    def _parse(self, operation: str, body: bytes) -> dict:
        try:
            decoded = _decoded(body) if body.strip() else {}
        except (ValueError, UnicodeDecodeError):
            raise SerializationException("The request body is not valid JSON") from None
        except RecursionError:  # json's decoder recurses once per level of nesting
            raise SerializationException("The request is nested too deeply") from None
        try:
            return self.shapes.parse_input(operation, decoded)
        except ShapeError as error:
            if error.kind == "type":
                raise SerializationException(str(error)) from None
            raise self._invalid_parameter(str(error)) from None
        except RecursionError:
            raise SerializationException("The request is nested too deeply") from None

    def _check(self, operation: str, output: dict, spliced: bool) -> None:
        try:  # the text the caller gets, decoded
            self.shapes.check_output(operation, json.loads(encode(output, spliced)))
        except ShapeError as error:
            raise InternalFailure(f"{operation} response does not fit its shape: {error}") from None


def _decoded(body: bytes):
    """json.loads(body). A body that begins with "{" and a byte that is not zero is UTF-8 to
    json.loads (json.detect_encoding: no byte order mark begins with "{", and only UTF-16's
    and UTF-32's texts have a zero byte there), and is decoded as it would decode it, without
    its two Python calls to find that out."""
    if body[:1] == b"{" and body[1:2] not in (b"\0", b""):
        return _DECODER.decode(body.decode("utf-8", "surrogatepass"))
    return json.loads(body)


_DECODER = json.JSONDecoder()  # json.loads' own when given no options


def _guarded(fn: Callable, operation: str) -> Callable:
    """`fn`, whose failure is logged: the operation has succeeded, and answers so."""

    def run(*args):
        try:
            return fn(*args)
        except Exception:
            log.exception("after-call work of %s failed", operation)
            return None

    return run

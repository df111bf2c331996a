"""ClientRequestToken: CreateStack, UpdateStack and ContinueUpdateRollback retried with the
token of the call they repeat are answered as that call was (its stack's id), not done again;
also while that call still runs (an SDK's read timeout during a long stack operation sends it
again), at once; only a CreateStack's retry before the first has put its stack in waits for
that call's outcome. Every event of an operation carries its token, as StackEvent's
ClientRequestToken says.

CloudFormation's reference: "Specify this token if you plan to retry requests so that
CloudFormation knows that you're not attempting to create a stack with the same name" (and, for
UpdateStack, "to update a stack with the same name"). moto ignores the token: a retried
CreateStack was AlreadyExistsException, a retried UpdateStack "No updates are to be performed."
(or, while the first ran, refused as another update). The tokens of a stack's finished
operations are kept on moto's Stack, so they live and go with it; those of running calls here.
"""

from __future__ import annotations

import threading

from emulator.cloudformation.stack_role import find_stack

_TOKENS = "_emulator_request_tokens"  # on moto's Stack: token -> the operation it came with
# (backend id, operation, stack name or id, token) of calls under way -> set when each ends
_running: dict[tuple, threading.Event] = {}
_guard = threading.Lock()


def wrap_handler(original, operation: str):
    """moto's CreateStack, UpdateStack or ContinueUpdateRollback handler
    (CloudFormationResponse), made idempotent under a ClientRequestToken."""

    def handler(self):
        token = self._get_param("ClientRequestToken")
        if not token:
            return original(self)
        backend, name = self.cloudformation_backend, self._get_param("StackName")
        key = (id(backend), operation, name, token)
        with _guard:
            stack = find_stack(backend, name)
            running = _running.get(key)
            done = stack is not None and stack.__dict__.get(_TOKENS, {}).get(token) == operation
            if running is None and not done:
                _running[key] = threading.Event()
        if running is not None and stack is None:
            # The first call still runs, and has not put its stack in yet (a CreateStack
            # reading its template): its outcome is this one's, once it is known.
            running.wait()
            return handler(self)
        if running is not None or done:
            return _answer(operation, stack)  # at once: a retry of a long call must not wait
        first_event = len(stack.events) if stack is not None else 0
        try:
            return original(self)
        finally:
            try:
                stack = stack or find_stack(backend, name)
                with _guard:
                    if stack is not None:
                        _record(stack, token, operation, first_event)
            finally:  # whatever the record did, a retry waiting on this call is let go
                with _guard:
                    _running.pop(key).set()

    return handler


def _answer(operation: str, stack):
    """What the call repeated answered: the stack's id (ContinueUpdateRollback: nothing)."""
    from moto.core.responses import ActionResult, EmptyResult

    if operation == "ContinueUpdateRollback":
        return EmptyResult()
    return ActionResult({"StackId": stack.stack_id})


def _record(stack, token: str, operation: str, first_event: int) -> None:
    """The token seen on `stack`, and given to the operation's events (those from
    `first_event` on; a refused call added none, and is not one to repeat)."""
    if len(stack.events) <= first_event:
        return
    stack.__dict__.setdefault(_TOKENS, {})[token] = operation
    for event in stack.events[first_event:]:
        event.client_request_token = token

"""ClientRequestToken: CreateStack and UpdateStack retried with the token of the call they
repeat are answered as that call was (its stack's id), not done again, also while that call
still runs (an SDK's read timeout during a long stack operation sends it again); every event of
an operation carries its token, as StackEvent's ClientRequestToken says.

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
_running: set[tuple] = set()  # (backend id, operation, stack name or id, token) of calls under way
_guard = threading.Lock()


def wrap_handler(original, operation: str):
    """moto's CreateStack or UpdateStack handler (CloudFormationResponse), made idempotent
    under a ClientRequestToken."""

    def handler(self):
        token = self._get_param("ClientRequestToken")
        if not token:
            return original(self)
        backend, name = self.cloudformation_backend, self._get_param("StackName")
        stack = find_stack(backend, name)
        key = (id(backend), operation, name, token)
        with _guard:
            repeat = key in _running or (
                stack is not None and stack.__dict__.get(_TOKENS, {}).get(token) == operation)
            if not repeat:
                _running.add(key)
        if repeat:
            stack = stack or find_stack(backend, name)
            if stack is not None:
                from moto.core.responses import ActionResult

                return ActionResult({"StackId": stack.stack_id})
            return original(self)  # nothing to answer with yet: as without the token
        first_event = len(stack.events) if stack is not None else 0
        try:
            return original(self)
        finally:
            stack = stack or find_stack(backend, name)
            if stack is not None:
                _record(stack, token, operation, first_event)
            with _guard:
                _running.discard(key)

    return handler


def _record(stack, token: str, operation: str, first_event: int) -> None:
    """The token seen on `stack`, and given to the operation's events (those from
    `first_event` on; a refused call added none, and is not one to repeat)."""
    if len(stack.events) <= first_event:
        return
    stack.__dict__.setdefault(_TOKENS, {})[token] = operation
    for event in stack.events[first_event:]:
        event.client_request_token = token

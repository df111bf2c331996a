"""One operation on a stack at a time, as CloudFormation has it.

moto's engine works inside the API call, so a stack being created or updated is one whose call
has not returned yet; a second UpdateStack or ExecuteChangeSet meanwhile would run beside it and
share its state (the update's clean-up list, the rollback's old template). On AWS the stack is in
CREATE_IN_PROGRESS, UPDATE_IN_PROGRESS or DELETE_IN_PROGRESS then, and the second call is
refused with that status: UpdateStack and CreateChangeSet with ValidationError ("Stack:<id> is in
UPDATE_IN_PROGRESS state and can not be updated."), ExecuteChangeSet with InvalidChangeSetStatus
(its model's shape: "the stack status might be UPDATE_IN_PROGRESS"), DeleteStack with
ValidationError ("Stack [<id>] cannot be deleted while in status UPDATE_IN_PROGRESS", as
CloudFormation answers it to Copilot, aws/copilot-cli#1180).

The stacks being worked on are a set of stack ids under one guard, so that holding a stack and
showing its new status happen together: a refused caller reads UPDATE_IN_PROGRESS, never the
status the stack had before.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Callable, Iterator

_guard = threading.Lock()
_busy: set[str] = set()


@contextmanager
def exclusive(stack, status: str, refusal: Callable[[str], Exception],
              message: Callable[[object], str] | None = None) -> Iterator[None]:
    """Hold `stack` for one operation, showing `status` from the moment it is held (a caller
    that polls DescribeStacks sees it at once); `refusal(message(stack))` is raised if another
    operation holds it (by default, an update's words). An operation that ends in an error
    to its caller without a status of its own leaves the stack as it was (a refused call
    changes nothing)."""
    with _guard:
        if stack.stack_id in _busy:
            raise refusal((message or busy_message)(stack))
        _busy.add(stack.stack_id)
        previous, stack.status = stack.status, status
    try:
        yield
    except BaseException:
        if stack.status == status:
            stack.status = previous
        raise
    finally:
        with _guard:
            _busy.discard(stack.stack_id)


def check_free(stack) -> None:
    """For an operation that does not hold the stack (CreateChangeSet): refused while another
    one does, in an update's words."""
    with _guard:
        if stack.stack_id in _busy:
            raise validation_error(busy_message(stack))


def busy_message(stack) -> str:
    return f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated."


def undeletable_message(stack) -> str:
    return f"Stack [{stack.stack_id}] cannot be deleted while in status {stack.status}"


def validation_error(message: str) -> Exception:
    from moto.cloudformation.exceptions import ValidationError

    return ValidationError(message=message)

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

A restart with persisted state (emulator/persistence) can read back a stack that was held when
the emulator was killed: `settle_interrupted` ends what no call is running any more.
"""

from __future__ import annotations

import sys
import threading
from contextlib import contextmanager
from typing import Callable, Iterator

from emulator.cloudformation.errors import validation_error

_guard = threading.Lock()
_busy: set[str] = set()


@contextmanager
def exclusive(stack, status: str, refusal: Callable[[str], Exception],
              message: Callable[[object], str] | None = None,
              check: Callable[[], None] | None = None,
              on_hold: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold `stack` for one operation, showing `status` from the moment it is held (a caller
    that polls DescribeStacks sees it at once); `refusal(message(stack))` is raised if another
    operation holds it (by default, an update's words). `check`, run once the stack is free and
    before it is held, may refuse the call on what it reads of the stack then (no other
    operation can change it between the check and the hold); `on_hold`, run under the same
    guard once it is held, shows what else the hold means (a change set's EXECUTE_IN_PROGRESS)
    to every caller from that moment. An operation that ends in an error
    to its caller without a status of its own leaves the stack as it was (a refused call
    changes nothing)."""
    with _guard:
        if stack.stack_id in _busy:
            raise refusal((message or busy_message)(stack))
        if check is not None:
            check()
        _busy.add(stack.stack_id)
        previous, stack.status = stack.status, status
        if on_hold is not None:
            on_hold()
    failed = False
    try:
        yield
    except BaseException:
        failed = True
        raise
    finally:
        with _guard:
            # Under the guard: a caller refused meanwhile reads the status the stack keeps.
            if failed and stack.status == status:
                stack.status = previous
            _busy.discard(stack.stack_id)


def check_free(stack) -> None:
    """For an operation that does not hold the stack (CreateChangeSet), or before one reads the
    stack to decide (UpdateStack's "No updates are to be performed"): refused while another one
    holds it, in an update's words."""
    with _guard:
        if stack.stack_id in _busy:
            raise validation_error(busy_message(stack))


def busy_message(stack) -> str:
    return f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated."


def undeletable_message(stack) -> str:
    return f"Stack [{stack.stack_id}] cannot be deleted while in status {stack.status}"


# -- after a restart ----------------------------------------------------------------------------

# The status an operation cut short by the emulator's end leaves, as AWS's failed operations do,
# and the reason its stack event gives. An update cut short in its clean-up phase had succeeded
# (or rolled back) already: only the replaced resources it was deleting may be left, which
# replacements.carry_over gives the stack's next operation.
INTERRUPTED_REASON = "The emulator stopped while this operation was in progress."
NOT_CLEANED_UP = ("The emulator stopped during the clean-up phase: what it had yet to delete "
                  "is deleted by the stack's next update or its delete.")  # replacements.py
_INTERRUPTED = {
    "CREATE_IN_PROGRESS": ("CREATE_FAILED", INTERRUPTED_REASON),
    "UPDATE_IN_PROGRESS": ("UPDATE_ROLLBACK_FAILED", INTERRUPTED_REASON),
    "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS": ("UPDATE_COMPLETE", NOT_CLEANED_UP),
    "UPDATE_ROLLBACK_IN_PROGRESS": ("UPDATE_ROLLBACK_FAILED", INTERRUPTED_REASON),
    "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS": ("UPDATE_ROLLBACK_COMPLETE", NOT_CLEANED_UP),
    "ROLLBACK_IN_PROGRESS": ("ROLLBACK_FAILED", INTERRUPTED_REASON),
    "DELETE_IN_PROGRESS": ("DELETE_FAILED", INTERRUPTED_REASON),
}


# What an update marks its stack's resource map with while it runs (stack_life.run_update,
# replacements.begin), which a snapshot taken meanwhile keeps: read back, a later update would
# run as a rollback (no rights check, no clean-up phase).
_OPERATION_MARKS = ("rolling_back", "_emulator_updating")


def _forget_operation(stack) -> None:
    for mark in _OPERATION_MARKS:
        vars(stack.resource_map).pop(mark, None)


def settle_interrupted() -> int:
    """After persisted state is read back: a stack shown in an operation no call is running
    (the emulator was killed inside it) ends FAILED (or, cut short in an update's clean-up, as
    that update ended) with a stack event saying why, and a change
    set left EXECUTE_IN_PROGRESS ends EXECUTE_FAILED; else waiters would wait forever and the
    stack would refuse every operation. REVIEW_IN_PROGRESS (a CREATE change set not run yet) is
    a resting state and stays. The marks of the operation on its resource map go too. Returns
    how many stacks it settled."""
    models = sys.modules.get("moto.cloudformation.models")
    if models is None:
        return 0
    settled = 0
    for regional in list(dict.values(models.cloudformation_backends)):
        for backend in list(dict.values(regional)):
            with _guard:
                held = set(_busy)
            for stack in list(backend.stacks.values()):
                if stack.stack_id not in held:
                    _forget_operation(stack)
                settled_as = _INTERRUPTED.get(stack.status)
                if settled_as is None or stack.stack_id in held:
                    continue
                stack.status, reason = settled_as
                stack._add_stack_event(stack.status, resource_status_reason=reason)
                settled += 1
            for change_set in list(backend.change_sets.values()):
                if (change_set.execution_status == "EXECUTE_IN_PROGRESS"
                        and change_set.stack_id not in held):
                    change_set.execution_status = "EXECUTE_FAILED"
    return settled

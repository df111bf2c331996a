"""The service role a stack operation acts with (RoleARN), as CloudFormation has it.

CreateStack, UpdateStack, DeleteStack, CreateChangeSet and ContinueUpdateRollback may name a
service role: the stack's
resources are then made, changed and deleted with the role's rights, not the caller's, and the
stack keeps the role, so later operations (an ExecuteChangeSet too) use it unless they name
another. Naming a role needs iam:PassRole on it; using the one the stack has needs nothing
(AWS: "other users ... will be able to use this role, even if they don't have permission to
pass it"). A role CloudFormation cannot assume (none of that ARN, or a trust policy that does
not name cloudformation.amazonaws.com) fails the call: ValidationError "Role ... is invalid or
cannot be assumed".

All of it under ECS_EMULATOR_ENFORCE_IAM only, as every other IAM check: without it the role is
recorded (DescribeStacks' RoleARN) and nothing is asked of it. `wrap_handler` wraps moto's
handlers of those calls (once per process, by `emulator.cloudformation.install`); the checks of
the stack's resources read the role from resource.acting_as.
"""

from __future__ import annotations

from emulator.cloudformation.resource import acting_as, stack_rights
from emulator.cloudformation.errors import validation_error

OPERATIONS = {"create_stack": "CreateStack", "update_stack": "UpdateStack",
              "delete_stack": "DeleteStack", "create_change_set": "CreateChangeSet",
              "execute_change_set": "ExecuteChangeSet",
              "continue_update_rollback": "ContinueUpdateRollback"}


def wrap_handler(original, operation: str):
    """moto's CloudFormationResponse handler of `operation`, acting with the stack's role."""

    def handler(self):
        rights = stack_rights()
        if rights is None or not rights.enforces_iam:
            return original(self)
        with acting_as(_role_of(self, operation, rights)):
            return original(self)

    return handler


def _role_of(response, operation: str, rights) -> str | None:
    """The role the operation acts with, once its caller may use it; raises moto's error of
    the refusal otherwise."""
    from emulator.aws.moto_bridge import MotoBridge

    backend = response.cloudformation_backend
    given = response._get_param("RoleARN") or None
    if operation == "ExecuteChangeSet":
        change_set = _change_set(backend, response)
        stack = backend.stacks.get(change_set.stack_id) if change_set is not None else None
        given = None  # passed (and checked) at CreateChangeSet
        role = (change_set.role_arn if change_set is not None else None) or getattr(
            stack, "role_arn", None)
    elif given is not None or operation in ("CreateStack", "CreateChangeSet"):
        role = given
    else:
        role = getattr(find_stack(backend, response._get_param("StackName")), "role_arn", None)
    if role is None:
        return None
    current = MotoBridge.current()
    refused = rights.stack_role_refusal(role, given is not None, current.environ, current.ctx)
    if refused is not None:
        raise _error(*refused)
    return None if operation == "CreateChangeSet" else role  # it makes nothing itself


def keep_role(stack, role_arn: str | None) -> str | None:
    """The role an update leaves the stack with: the one it names, else the stack's (moto's
    update would forget it)."""
    return role_arn or getattr(stack, "role_arn", None)


def find_stack(backend, name: str | None):
    """A live stack of moto's `backend` by its id or its name; None if none."""
    if not name:
        return None
    return backend.stacks.get(name) or next(
        (s for s in backend.stacks.values() if s.name == name), None)


def require_stack(backend, name: str | None):
    """find_stack, or CloudFormation's refusal of a stack that does not exist."""
    stack = find_stack(backend, name)
    if stack is None:
        raise validation_error(f"Stack [{name}] does not exist")
    return stack


def _change_set(backend, response):
    from emulator.cloudformation.change_sets import _find_change_set

    found = _find_change_set(backend, response._get_param("ChangeSetName") or "",
                             response._get_param("StackName"))
    return backend.change_sets.get(found) if found is not None else None


def _error(code: str, message: str):
    if code == "ValidationError":
        return validation_error(message)
    from moto.core.exceptions import AccessDeniedError

    class PassRoleDenied(AccessDeniedError):
        """moto's AccessDenied (403, as its own refusals), in the words of ours (iam.denial),
        which name the role too."""

        def __init__(self, text: str):
            super(AccessDeniedError, self).__init__("AccessDenied", text)

    return PassRoleDenied(message)

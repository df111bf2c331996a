"""UpdateTerminationProtection, which moto has not (InvalidAction): without it a stack created
with EnableTerminationProtection could never be deleted, since DeleteStack refuses such a stack
(stack_life.py) as CloudFormation does."""

from __future__ import annotations

from emulator.cloudformation.errors import validation_error
from emulator.cloudformation.stack_role import find_stack


def update_termination_protection(self):
    """CloudFormationResponse.update_termination_protection: the stack's flag set as given."""
    from moto.core.responses import ActionResult

    name = self._get_param("StackName")
    stack = find_stack(self.cloudformation_backend, name)
    if stack is None:
        raise validation_error(f"Stack [{name}] does not exist")
    stack.enable_termination_protection = bool(
        self._get_bool_param("EnableTerminationProtection", False))
    return ActionResult({"StackId": stack.stack_id})

"""UpdateTerminationProtection, which moto has not (InvalidAction): without it a stack created
with EnableTerminationProtection could never be deleted, since DeleteStack refuses such a stack
(stack_life.py) as CloudFormation does."""

from __future__ import annotations

from emulator.cloudformation.stack_role import require_stack


def update_termination_protection(self):
    """CloudFormationResponse.update_termination_protection: the stack's flag set as given."""
    from moto.core.responses import ActionResult

    name = self._get_param("StackName")
    stack = require_stack(self.cloudformation_backend, name)
    stack.enable_termination_protection = bool(
        self._get_bool_param("EnableTerminationProtection", False))
    return ActionResult({"StackId": stack.stack_id})

"""What UpdateStack refuses before moto's handler reads the stack: a stack another operation
holds, a stack in a state AWS does not update from, and an update that changes nothing.

moto refuses only ROLLBACK_COMPLETE (it would update a DELETE_FAILED or CREATE_FAILED stack),
and says "No updates are to be performed." only when the call has Parameters (an update of the
same template without any ran again, UPDATE_COMPLETE), comparing resolved values with raw ones
(parameter_values.py): the comparison here is the only one, moto's is turned off. Its handler
also reads the stack before the update holds it: its comparison, and UsePreviousTemplate, would
take the template a running update has already put in; so a held stack is refused first. A
UsePreviousValue parameter reaches moto as the previous raw value (parameter_values.py), a
parameter left out as its Default (stack_parameters.py).
"""

from __future__ import annotations

from emulator.cloudformation import parameter_values, stack_lock, stack_parameters
from emulator.cloudformation.errors import validation_error
from emulator.cloudformation.stack_role import find_stack

# The states UpdateStack takes a stack from; any other is "Stack:<id> is in <status> state and
# can not be updated." (ROLLBACK_COMPLETE, CREATE_FAILED, DELETE_FAILED, UPDATE_ROLLBACK_FAILED,
# REVIEW_IN_PROGRESS...), the words of AWS's refusal of a stack being updated.
UPDATABLE = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE",
                       "IMPORT_COMPLETE", "IMPORT_ROLLBACK_COMPLETE"})


def wrap_update_stack_handler(original):
    """moto's CloudFormationResponse.update_stack, with the checks above first."""

    def update_stack(self):
        stack = find_stack(self.cloudformation_backend, self._get_param("StackName"))
        if stack is not None:
            stack_lock.check_free(stack)
            if stack.status not in UPDATABLE:
                raise validation_error(stack_lock.busy_message(stack))
            read_template_url(self)
            if changes_nothing(self, stack):
                raise validation_error("No updates are to be performed.")
            give_values(self, stack)
        self._validate_different_update = lambda *args, **kwargs: None  # this call's only
        return original(self)

    return update_stack


def read_template_url(response) -> None:
    """A TemplateURL's body read once, here, and given as TemplateBody: the checks compare it
    with the stack's (a redeploy from S3 that changes nothing is no update, as on AWS), and
    moto does not read it again."""
    url = response._get_param("TemplateURL")
    if url and not response._get_bool_param("UsePreviousTemplate", False):
        response.params["TemplateBody"] = response._get_stack_from_s3_url(url)
        response.params.pop("TemplateURL", None)


def give_values(response, stack) -> None:
    """The request's parameters as moto is to read them (stack_parameters.for_update): every
    one the template declares, UsePreviousValue ones the stack's raw value (moto would take
    resolved ones, or fail on one that took its default), those left out their Default (moto
    kept the previous values of all when none was given); refused in CloudFormation's words
    where a value is missing."""
    response.params["Parameters"] = stack_parameters.for_update(
        stack, stack_parameters.request_template(response, stack),
        response._get_param("Parameters") or [])


def changes_nothing(response, stack) -> bool:
    """Whether `response`'s request (UpdateStack's, or CreateChangeSet's: the same members)
    gives the same template, the same value to every parameter (as given, UsePreviousValue, or
    left out to take its default, compared raw), and no other tags. Anything unsure counts as a
    change: the update then runs, and moto's handler refuses what is wrong with it."""
    if response._get_bool_param("UsePreviousTemplate", False):
        body = stack.template
    else:
        body = response._get_param("TemplateBody")
    if body is None or body != stack.template:
        return False
    parameters = response._get_param("Parameters") or []
    before = parameter_values.previous(stack)
    if any(p.get("ParameterKey") not in before for p in parameters):
        return False  # a parameter the template does not declare: moto's handler says so
    given = parameter_values.requested(stack, parameters,
                                       parameter_values.in_force(stack))
    if parameter_values.UNKNOWN in given.values() or given != before:
        return False
    tags = response._get_param("Tags", [])
    return not tags or {t["Key"]: t["Value"] for t in tags} == stack.tags

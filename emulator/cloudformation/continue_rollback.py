"""ContinueUpdateRollback, which moto has not (InvalidAction): without it a stack in
UPDATE_ROLLBACK_FAILED (a rollback that failed, or an update the emulator's end cut short:
stack_lock.settle_interrupted) could only be deleted, since UpdateStack refuses it as
CloudFormation does (update_checks.py).

As CloudFormation documents it: the stack goes UPDATE_ROLLBACK_IN_PROGRESS ("User Initiated"),
the resources whose rollback failed are rolled back again to the template and parameters the
stack had before the failed update, those named in ResourcesToSkip are left as they are and
marked UPDATE_COMPLETE "Resource skipped during UpdateRollback", and the stack ends
UPDATE_ROLLBACK_COMPLETE (through UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS), or
UPDATE_ROLLBACK_FAILED again with the reason. A skip that is not a resource of the stack, or not
one whose rollback failed (UPDATE_FAILED in a rollback: one that failed in the update and was
not rolled back since may not be skipped), fails the rollback the same way, touching nothing
(the call is accepted: CloudFormation checks the skips once it runs). A RoleARN becomes the
stack's role; a ClientRequestToken is request_tokens.py's.

What the rollback goes back to is recorded on moto's Stack when an update starts (`remember`),
so it lives, and is persisted, with the stack: an update cut short by the emulator's end had
already put its own template in, and is rolled back whole (its resource cut short half-way
taken as in the update's state, so it is updated back).
"""

from __future__ import annotations

from emulator.cloudformation import replacements, stack_lock
from emulator.cloudformation.errors import validation_error
from emulator.cloudformation.stack_life import add_event, failures, reason_of, roll_back_update
from emulator.cloudformation.stack_role import require_stack

SKIPPED = "Resource skipped during UpdateRollback"
# AWS's words (the operation's internal name in them) for a stack not in UPDATE_ROLLBACK_FAILED.
WRONG_STATUS = "RollbackUpdatedStack cannot be called from current stack status"
# On moto's Stack: (template body, its dict as the resource map holds it, input parameters,
# resolved parameters).
_TARGET = "_emulator_rollback_target"


def remember(stack, template: str, parameters: dict) -> None:
    """At an update's start: what its rollback, and a ContinueUpdateRollback after it, go back
    to (the resource map's dict of the template: moto fills in what it leaves out)."""
    resource_map = stack.resource_map
    stack.__dict__[_TARGET] = (template, resource_map._template, dict(parameters),
                               dict(resource_map.resolved_parameters))


def continue_update_rollback(self):
    """CloudFormationResponse.continue_update_rollback."""
    from moto.core.responses import EmptyResult

    name = self._get_param("StackName")
    stack = require_stack(self.cloudformation_backend, name)
    skip = list(self._get_param("ResourcesToSkip") or [])
    role_arn = self._get_param("RoleARN")

    def check() -> None:
        if stack.status != "UPDATE_ROLLBACK_FAILED":
            raise validation_error(WRONG_STATUS)

    with stack_lock.exclusive(stack, "UPDATE_ROLLBACK_IN_PROGRESS", validation_error,
                              lambda _: WRONG_STATUS, check=check):
        if role_arn:
            stack.role_arn = role_arn  # the stack's role from now on, as for an update
        refused = _bad_skip(stack, skip)  # on the events before this call's own
        stack._add_stack_event("UPDATE_ROLLBACK_IN_PROGRESS",
                               resource_status_reason="User Initiated")
        if refused is not None:
            _failed(stack, refused)
        else:
            _roll_back(stack, skip)
    return EmptyResult()


def _latest_statuses(stack) -> dict:
    """Logical id -> the status of its latest event, for the stack's resources."""
    statuses = {}
    for event in stack.events:
        if not _of_the_stack(stack, event):
            statuses[event.logical_resource_id] = event.resource_status
    return statuses


def _of_the_stack(stack, event) -> bool:
    """Whether an event is the stack's own: its physical id is the stack's id (a resource may
    have the stack's name for its logical id, and a nested stack its type)."""
    return event.physical_resource_id == stack.stack_id


def _bad_skip(stack, skip: list) -> str | None:
    """The reason a ResourcesToSkip is refused, or None."""
    resource_map = stack.resource_map
    ids = set(resource_map._parsed_resources) & set(resource_map._resource_json_map or {})
    unknown = [s for s in skip if s not in ids]
    if unknown:
        return (f"Resources with logicalIds [{', '.join(unknown)}] do not belong to stack "
                f"{stack.name}")
    failed = _failed_in_rollback(stack)
    if any(s not in failed for s in skip):
        return "Only the resources in UPDATE_FAILED state are allowed to be skipped"
    return None


def _failed_in_rollback(stack) -> set:
    """The resources whose rollback failed: their latest event UPDATE_FAILED, in a rollback
    (the stack's status then UPDATE_ROLLBACK_IN_PROGRESS). One UPDATE_FAILED in the update
    itself, and not touched by a rollback since (or in an update the emulator's end cut short,
    which no rollback ran for), may not be skipped: the API reference's ResourcesToSkip takes
    only resources "in the UPDATE_FAILED state because a rollback failed"."""
    phase, latest = None, {}
    for event in stack.events:
        if _of_the_stack(stack, event):
            phase = event.resource_status
        else:
            latest[event.logical_resource_id] = (event.resource_status, phase)
    return {logical_id for logical_id, status in latest.items()
            if status == ("UPDATE_FAILED", "UPDATE_ROLLBACK_IN_PROGRESS")}


def _roll_back(stack, skip: list) -> None:
    from moto.cloudformation import parsing

    resource_map = stack.resource_map
    template, target, parameters, resolved = stack.__dict__.get(_TARGET) or (
        stack.template, stack.parse_template(stack.template),
        dict(resource_map.input_parameters or {}), dict(resource_map.resolved_parameters))
    owed = [logical_id for logical_id, status in _latest_statuses(stack).items()
            if status == "UPDATE_FAILED" and logical_id not in skip]
    for logical_id in skip:
        resource = resource_map._parsed_resources[logical_id]
        add_event(stack, logical_id, resource_map._resource_json_map[logical_id].get("Type", ""),
                  "UPDATE_COMPLETE", getattr(resource, "physical_resource_id", ""), SKIPPED)
    # A skipped resource keeps the properties it has: the way back would fail again.
    target = {**target, "Resources": {**target.get("Resources", {}),
                                      **{s: resource_map._resource_json_map[s] for s in skip}}}
    failures(resource_map).clear()
    _mark_cut_short(stack, resource_map)
    # As run_update's rollback: a cut-short update's replacements (if any were kept) give the
    # old resources back, and what the update (or this rollback) made in their place goes.
    replacements.restore(resource_map)
    resource_map._emulator_updating = True  # replacements.begin's, keeping what it lists
    resource_map.rolling_back = True  # update_scope: no check of the whole first
    try:
        if resource_map._template != target or dict(resource_map.input_parameters or {}) \
                != parameters:
            # Cut short before the rollback put the old template back: the whole of it again.
            roll_back_update(resource_map, target, parameters, resolved)
        for logical_id in owed:
            body = target["Resources"].get(logical_id)
            if body is not None and logical_id in resource_map._parsed_resources:
                resource_map._parsed_resources[logical_id] = parsing.parse_and_update_resource(
                    logical_id, body, resource_map, resource_map._account_id,
                    resource_map._region_name)
    except Exception as error:  # noqa: BLE001 - the outcome is the stack's status, as on AWS
        failed = list(failures(resource_map))
        replacements.discard_made(stack)  # else nothing tracks them, not even DeleteStack
        _failed(stack, f"The following resource(s) failed to update: [{', '.join(failed)}]."
                if failed else reason_of(error))
        return
    else:
        stack.template = template
        stack._parse_template()
        stack.output_map = stack._create_output_map()
        stack.__dict__.pop(_TARGET, None)
        replacements.clean_up_after_rollback(stack)
        stack.status = "UPDATE_ROLLBACK_COMPLETE"
        stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE")
    finally:
        resource_map.rolling_back = False
        failures(resource_map).clear()
        replacements.end(resource_map)


def _mark_cut_short(stack, resource_map) -> None:
    """A resource whose update the emulator's end cut short (its latest event
    UPDATE_IN_PROGRESS) may have got half-way, while the stack still holds it as it was: it is
    taken as being in the update's state (its template's properties, resolved now, before
    anything is put back), so the rollback updates it back (replacements.restore)."""
    from moto.cloudformation import parsing

    for logical_id, status in _latest_statuses(stack).items():
        resource = resource_map._parsed_resources.get(logical_id)
        body = (resource_map._resource_json_map or {}).get(logical_id)
        if (status != "UPDATE_IN_PROGRESS" or body is None
                or getattr(resource, "attempted", False) is not None):
            continue  # not cut short, or not one of ours (moto's have no half-way state)
        try:
            resource.attempted = parsing.clean_json(body, resource_map).get("Properties") or {}
        except Exception:  # noqa: BLE001 - unresolvable now: rolled back as the stack holds it
            continue


def _failed(stack, reason: str) -> None:
    stack.status = "UPDATE_ROLLBACK_FAILED"
    stack._add_stack_event("UPDATE_ROLLBACK_FAILED", resource_status_reason=reason)

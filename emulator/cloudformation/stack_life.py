"""A stack's life as CloudFormation has it, on top of moto's engine: per-resource events, rollback
of a failed create or update, DELETE_FAILED instead of a vanished stack, and AWS-shaped errors
where moto would crash (a 500).

moto's engine creates, updates and deletes a stack's resources inside the API call and lets any
error escape as an internal error. These wrappers of moto's functions record what CloudFormation
records (CREATE_IN_PROGRESS, CREATE_COMPLETE, CREATE_FAILED with the reason...), undo a failed
create (ROLLBACK_COMPLETE) or update (UPDATE_ROLLBACK_COMPLETE), and answer the call normally:
the outcome is in the stack's status and events, as on AWS. Applied once per process by
`emulator.cloudformation.install`.
"""

from __future__ import annotations

import logging

from emulator.aws.errors import AwsError
from emulator.access.iam_stacks import own_name_property
from emulator.cloudformation import (ec2_network, parameter_values, replacements, stack_lock,
                                     teardown)
from emulator.cloudformation.errors import validation_error
from emulator.cloudformation.resource import (NotYet, PropertiesInvalid, ResourceFailed,
                                              acting_as, check_stack_resource, enforcing)
from emulator.cloudformation.stack_role import find_stack, keep_role

log = logging.getLogger(__name__)


def reason_of(error: BaseException) -> str:
    """The ResourceStatusReason of a failed resource: the service's code and message."""
    if isinstance(error, AwsError):
        return f'Resource handler returned message: "{error.message}" (Service: ' \
               f'{error.code}, Status Code: {error.status}, HandlerErrorCode: InvalidRequest)'
    if isinstance(error, PropertiesInvalid):
        return str(error)
    if isinstance(error, ResourceFailed):
        return (f'Resource handler returned message: "{error}" '
                f'(HandlerErrorCode: {error.HANDLER_ERROR_CODE})')
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    return str(message)


def stack_of(resources_map):
    from moto.cloudformation.models import cloudformation_backends

    backend = cloudformation_backends[resources_map._account_id][resources_map._region_name]
    return backend.stacks.get(resources_map.stack_id)


def add_event(stack, logical_id: str, resource_type: str, status: str,
              physical_id: str = "", reason: str | None = None) -> None:
    from moto.cloudformation.models import Event

    if stack is None:
        return
    stack.events.append(Event(
        stack_id=stack.stack_id, stack_name=stack.name, logical_resource_id=logical_id,
        physical_resource_id=physical_id or "", resource_type=resource_type,
        resource_status=status, resource_status_reason=reason, resource_properties=None))


def failures(resources_map) -> dict:
    """Logical id -> reason, of the resources that failed in the current operation."""
    if not hasattr(resources_map, "_emulator_failures"):
        resources_map._emulator_failures = {}
    return resources_map._emulator_failures


# -- per resource -------------------------------------------------------------------------------

def wrap_parse(original, ours: frozenset):
    """Every resource of moto's, once its properties are resolved and before it is made or
    updated, checked against the stack caller's rights (under IAM enforcement). Ours are
    checked per ECS or ECR call; a type moto does not know makes nothing."""
    def parse_resource_and_generate_name(logical_id, resource_json, resources_map):
        parsed = original(logical_id, resource_json, resources_map)
        kind = resource_json.get("Type", "")
        if parsed and kind not in ours and enforcing():
            properties = (parsed[1] or {}).get("Properties")
            check_stack_resource(kind, properties,
                                 name=name_of(kind, properties, parsed[2], logical_id,
                                              resources_map))
            existing = resources_map._parsed_resources.get(logical_id)
            if existing is not None and replaces(parsed[0], properties):
                check_stack_resource(kind, None, deleting=existing)
        return parsed

    return parse_resource_and_generate_name


def replaces(resource_class, properties) -> bool:
    """Whether moto's update of this type makes a new resource and deletes the old one itself
    (IAM users and access keys: the old one's delete is not a stack delete, but needs its
    delete actions all the same)."""
    test = getattr(resource_class, "is_replacement_update", None)
    return bool(test and isinstance(properties, dict) and test(properties))


def name_of(kind: str, properties, generated: str, logical_id: str, resources_map):
    """The name the resource is made (or kept) with, when its type has a name property: the
    template's; else the one moto just made up for a new resource (so the check is on the ARN
    it will have), or the existing resource's for an update. An update's check before it runs
    gives UNKNOWN for `generated` (update_rights.py)."""
    from moto.cloudformation.parsing import resource_name_property_from_type

    key = resource_name_property_from_type(kind) or own_name_property(kind)
    if not key:
        return None
    if isinstance(properties, dict) and properties.get(key):
        return properties[key]
    existing = resources_map._parsed_resources.get(logical_id)
    if existing is not None and not isinstance(existing, str):
        return getattr(existing, "physical_resource_id", None) or generated
    return generated


def wrap_create(original):
    def parse_and_create_resource(logical_id, resource_json, resources_map, account_id,
                                  region_name):
        condition = resource_json.get("Condition")
        if condition and not resources_map.lazy_condition_map[condition]:
            return None
        stack, kind = stack_of(resources_map), resource_json.get("Type", "")
        add_event(stack, logical_id, kind, "CREATE_IN_PROGRESS")
        try:
            resource = original(logical_id, resource_json, resources_map, account_id,
                                region_name)
        except Exception as error:
            reason = reason_of(error)
            failures(resources_map)[logical_id] = reason
            add_event(stack, logical_id, kind, "CREATE_FAILED", reason=reason)
            raise
        if resource is None:
            reason = f"Resource type {kind} is not supported by this emulator's CloudFormation."
            add_event(stack, logical_id, kind, "CREATE_COMPLETE", reason=reason)
        else:
            add_event(stack, logical_id, kind, "CREATE_COMPLETE",
                      getattr(resource, "physical_resource_id", ""))
        return resource

    return parse_and_create_resource


def wrap_update(original):
    def parse_and_update_resource(logical_id, resource_json, resources_map, account_id,
                                  region_name):
        failed = failures(resources_map)
        if logical_id in failed:
            # moto retries a failed update up to five times (for dependency order); ours failed
            # for a reason a retry does not change, and a service's retry would wait again.
            raise ResourceFailed(failed[logical_id])
        stack, kind = stack_of(resources_map), resource_json.get("Type", "")
        add_event(stack, logical_id, kind, "UPDATE_IN_PROGRESS")
        try:
            resource = original(logical_id, resource_json, resources_map, account_id,
                                region_name)
        except Exception as error:
            reason = reason_of(error)
            if isinstance(error, (AwsError, ResourceFailed)):
                failed[logical_id] = reason
            add_event(stack, logical_id, kind, "UPDATE_FAILED", reason=reason)
            raise
        if resource is not None:
            replacements.record(stack, resources_map, logical_id, kind, resource, resource_json)
            add_event(stack, logical_id, kind, "UPDATE_COMPLETE",
                      getattr(resource, "physical_resource_id", ""))
            return resource
        # A type moto cannot update (a log group's retention) or does not model: moto would
        # put None in its place, and the resource would leave the stack (a DeleteStack would
        # leave it behind). It stays, as it was, and the event says so.
        kept = resources_map._parsed_resources.get(logical_id)
        add_event(stack, logical_id, kind, "UPDATE_COMPLETE",
                  getattr(kept, "physical_resource_id", "") or "",
                  reason=f"Resource type {kind} is not updated by this emulator's "
                         "CloudFormation; the resource is left as it was.")
        return kept

    return parse_and_update_resource


def wrap_delete_resource(original):
    def _delete_resource(self, parsed_resource, resource_json):
        stack, kind = stack_of(self), resource_json.get("Type", "")
        logical_id = getattr(parsed_resource, "logical_resource_id", "")
        physical_id = getattr(parsed_resource, "physical_resource_id", "") or ""
        if getattr(self, "_emulator_deleting_all", False) and _still_used(self, logical_id):
            # CloudFormation deletes what refers to a resource before it (a service before
            # its task definition); moto's rounds go in no order and try this one again.
            raise NotYet(f"{logical_id} is still referred to.")
        last = delete_reasons(self).get((logical_id, physical_id))
        if last is not None and last[2]:
            # It did not settle within the stabilize timeout (a service whose tasks do not
            # drain): moto's next round would wait as long again, holding DeleteStack past the
            # SDKs' read timeout. Once per operation, as the update's clean-up phase does.
            raise ResourceFailed(last[1])
        if not _told_since_stack_event(stack, logical_id, physical_id):
            # CloudFormation's DELETE_IN_PROGRESS, once per operation (moto tries a failed
            # delete again; the clean-up phase has told it already).
            add_event(stack, logical_id, kind, "DELETE_IN_PROGRESS", physical_id)
        try:
            # A stack's delete, or an update's removal, acts with its caller's rights too.
            check_stack_resource(kind, None, deleting=parsed_resource)
            if not ec2_network.delete(kind, parsed_resource, self._account_id,
                                      self._region_name):
                original(self, parsed_resource, resource_json)
        except Exception as error:
            reason = reason_of(error)
            if isinstance(error, AwsError) and error.code == "AccessDeniedException":
                # a refusal of the caller's rights holds however often moto tries again
                if not _last_event_is(stack, logical_id, physical_id, "DELETE_FAILED", reason):
                    add_event(stack, logical_id, kind, "DELETE_FAILED", physical_id, reason)
            else:
                # moto tries again while other deletes progress (a cluster before its
                # service goes): shown only if the resource is still there when it gives up
                delete_reasons(self)[logical_id, physical_id] = (
                    kind, reason, isinstance(error, ResourceFailed))
            raise
        delete_reasons(self).pop((logical_id, physical_id), None)
        add_event(stack, logical_id, kind, "DELETE_COMPLETE", physical_id)

    return _delete_resource


def delete_reasons(resource_map) -> dict:
    """(logical id, physical id) -> (type, reason, final) of the resources whose last delete
    failed in this operation (final: not to be tried again in it); by both ids, as an update's
    replacement and the resource it replaced share a logical id."""
    return resource_map.__dict__.setdefault("_emulator_delete_reasons", {})


def _report_delete_failures(stack) -> None:
    """The DELETE_FAILED events of the resources still there when moto gave up their delete."""
    reasons = delete_reasons(stack.resource_map)
    for (logical_id, physical_id), (kind, reason, _) in sorted(reasons.items()):
        add_event(stack, logical_id, kind, "DELETE_FAILED", physical_id, reason)
    reasons.clear()


def _still_used(resources_map, logical_id: str) -> bool:
    """Whether a resource of the stack not yet deleted, and to be deleted (not one kept by
    `DeletionPolicy: Retain`, which stays), refers to this one (Ref, Fn::GetAtt, DependsOn)."""
    template = resources_map._resource_json_map
    refs = _delete_refs(resources_map)
    return any(logical_id in refs.get(other, ())
               for other, resource in resources_map._parsed_resources.items()
               if other != logical_id and isinstance(template.get(other), dict)
               and template[other].get("DeletionPolicy") != "Retain"
               and resource is not None and not isinstance(resource, str))


def _delete_refs(resources_map) -> dict[str, set[str]]:
    """Each resource's references, read once per DeleteStack (moto's rounds ask about every
    remaining resource each time: walking every body per ask took ~1.3 s a round for a CDK-sized
    stack). replacements.wrap_resource_map_delete forgets them when the delete ends."""
    from emulator.cloudformation.update_scope import references

    refs = resources_map.__dict__.get("_emulator_delete_refs")
    if refs is None:
        refs = {name: references(body)
                for name, body in resources_map._resource_json_map.items()
                if isinstance(body, dict)}
        resources_map._emulator_delete_refs = refs
    return refs


def _told_since_stack_event(stack, logical_id: str, physical_id: str) -> bool:
    """Whether this resource has an event since the stack's own last one (which starts each
    operation and phase: DELETE_IN_PROGRESS, ROLLBACK_IN_PROGRESS, ..._CLEANUP_IN_PROGRESS)."""
    for event in reversed(stack.events if stack is not None else []):
        if (event.resource_type == "AWS::CloudFormation::Stack"
                and event.logical_resource_id == stack.name):  # not a nested stack's resource
            return False
        if (event.logical_resource_id, event.physical_resource_id) == (logical_id,
                                                                       physical_id or ""):
            return True
    return False


def _last_event_is(stack, logical_id: str, physical_id: str, status: str,
                   reason: str) -> bool:
    """Whether the last event of this physical resource is this one (a retry's refusal told
    already)."""
    mine = [e for e in (stack.events if stack is not None else [])
            if (e.logical_resource_id, e.physical_resource_id) == (logical_id,
                                                                    physical_id or "")]
    return bool(mine) and (mine[-1].resource_status, mine[-1].resource_status_reason) == (
        status, reason)


# -- per stack ----------------------------------------------------------------------------------

def roll_back_create(stack, error: BaseException) -> None:
    """Undo a failed create: delete what was made; ROLLBACK_COMPLETE (or ROLLBACK_FAILED)."""
    failed = list(failures(stack.resource_map)) or ["(template)"]
    reason = (f"The following resource(s) failed to create: [{', '.join(failed)}]. "
              "Rollback requested by user.")
    if not failures(stack.resource_map):
        reason = reason_of(error)
    stack.status = "ROLLBACK_IN_PROGRESS"
    stack._add_stack_event("ROLLBACK_IN_PROGRESS", resource_status_reason=reason)
    teardown.stop_making(stack.resource_map)  # a read meanwhile must not make what goes
    teardown.drop_outputs(stack)
    first_event = len(stack.events)
    try:
        stack.resource_map.delete()
    except Exception as cleanup_error:
        log.warning("rollback of stack %s failed: %s", stack.name, cleanup_error)
        _report_delete_failures(stack)
        stack.status = "ROLLBACK_FAILED"
        stack._add_stack_event("ROLLBACK_FAILED", resource_status_reason=_delete_failed_reason(
            stack, first_event, cleanup_error))
    else:
        stack.status = "ROLLBACK_COMPLETE"
        stack._add_stack_event("ROLLBACK_COMPLETE")
    failures(stack.resource_map).clear()


def _delete_failed_reason(stack, first_event: int, error: BaseException) -> str:
    """The stack's reason when its resources could not all be deleted: those whose delete
    failed since `first_event`, as AWS names them (the last error moto kept may be a healthy
    resource's wait for one of them: "TaskDef is still referred to.")."""
    failed = sorted({e.logical_resource_id for e in stack.events[first_event:]
                     if e.resource_status == "DELETE_FAILED"})
    return (f"The following resource(s) failed to delete: [{', '.join(failed)}]. "
            if failed else reason_of(error))


def wrap_create_resources(original):
    def create_resources(self):
        with stack_lock.exclusive(self, "CREATE_IN_PROGRESS", validation_error):
            try:
                original(self)
            except Exception as error:
                roll_back_create(self, error)

    return create_resources


def run_update(stack, apply, template, parameters) -> bool:
    """Apply an update; on failure put the previous template and resources back. True when it
    succeeded. Replaced resources go in a clean-up phase after either outcome (replacements)."""
    # moto counts a parameter as changed when the update gives it a value and the last
    # operation did not (it took its Default then): an update gives every one
    # (stack_parameters.for_update), so the stack's are made explicit too, like for like, or
    # what refers to a Default that stayed the same would be updated.
    stack.resource_map.input_parameters = parameter_values.explicit(stack)
    old_template, old_dict = stack.template, stack.resource_map._template
    old_parameters = dict(stack.resource_map.input_parameters)
    old_resolved = dict(stack.resource_map.resolved_parameters)
    failures(stack.resource_map).clear()
    teardown.resume_making(stack.resource_map)
    replacements.begin(stack.resource_map)
    from emulator.cloudformation.continue_rollback import remember  # it imports us
    remember(stack, old_template, old_parameters)  # for a ContinueUpdateRollback after a failure
    try:
        apply()
        return True
    except Exception as error:
        failed = list(failures(stack.resource_map))
        reason = (f"The following resource(s) failed to update: [{', '.join(failed)}]."
                  if failed else reason_of(error))
        stack.status = "UPDATE_ROLLBACK_IN_PROGRESS"
        stack._add_stack_event("UPDATE_ROLLBACK_IN_PROGRESS", resource_status_reason=reason)
        failures(stack.resource_map).clear()
        replacements.restore(stack.resource_map)
        stack.resource_map.rolling_back = True  # update_scope: no check of the whole first
        try:
            roll_back_update(stack.resource_map, old_dict, old_parameters, old_resolved)
        except Exception as rollback_error:
            replacements.discard_made(stack)  # else nothing tracks them, not even DeleteStack
            stack.status = "UPDATE_ROLLBACK_FAILED"
            stack._add_stack_event("UPDATE_ROLLBACK_FAILED",
                                   resource_status_reason=reason_of(rollback_error))
        else:
            replacements.clean_up_after_rollback(stack)
            stack.status = "UPDATE_ROLLBACK_COMPLETE"
            stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE")
        finally:
            stack.resource_map.rolling_back = False
        stack.template = old_template
        stack._parse_template()
        stack.output_map = stack._create_output_map()
        failures(stack.resource_map).clear()
        return False
    finally:
        replacements.end(stack.resource_map)


def roll_back_update(resource_map, old_dict, old_parameters: dict, old_resolved: dict) -> None:
    """Put the previous template and parameters back. moto's update takes empty parameters for
    "keep the current ones" and compares only the parameters passed: a stack made with its
    defaults alone would keep the failed values, and nothing that uses them would be updated
    back. So the previous input is put back as it was, and every resource that refers to a
    parameter whose resolved value the failed update changed is updated back too."""
    from emulator.cloudformation.update_scope import parameters_changed  # it imports us

    changed = frozenset(name for name in set(old_resolved) | set(resource_map.resolved_parameters)
                        if old_resolved.get(name) != resource_map.resolved_parameters.get(name))
    resource_map.input_parameters = dict(old_parameters)
    with parameters_changed(resource_map, changed):
        resource_map.update(old_dict, old_parameters)


def wrap_stack_update(original):
    def update(self, template, role_arn=None, parameters=None, tags=None):
        # One operation on a stack at a time (stack_lock.py): UpdateStack while another runs is
        # refused in CloudFormation's words.
        with stack_lock.exclusive(self, "UPDATE_IN_PROGRESS", validation_error):
            # The stack's role once it is ours to update: the one the handler read
            # (stack_role.py) may have been replaced by the update that held the lock.
            acting = (role_arn or getattr(self, "role_arn", None)) if enforcing() else None
            role_arn = keep_role(self, role_arn)  # moto's would forget the stack's role
            with acting_as(acting):
                run_update(self, lambda: original(self, template, role_arn, parameters, tags),
                           template, parameters)

    return update


def delete_stack(self, name_or_stack_id):
    """CloudFormationBackend.delete_stack. moto's takes the stack out of its stacks before
    deleting its resources, so meanwhile it "does not exist" (and its name is free for a
    CreateStack); here it stays, DELETE_IN_PROGRESS and held, until its resources are gone."""
    stack = find_stack(self, name_or_stack_id)
    if stack is None:
        return  # deleting a stack that does not exist succeeds, as on AWS
    if stack.enable_termination_protection:  # moto's deletes it all the same
        raise validation_error(
            f"Stack [{stack.name}] cannot be deleted while TerminationProtection is enabled")
    if stack.status == "DELETE_IN_PROGRESS":
        return  # a retry of a delete under way succeeds, as on AWS
    # One operation on a stack at a time (stack_lock.py): not while it is created or updated
    with stack_lock.exclusive(stack, "DELETE_IN_PROGRESS", validation_error,
                              stack_lock.undeletable_message):
        _delete(self, stack)


def _delete(backend, stack) -> None:
    """What moto's delete_stack does once it has the stack, in an order that keeps the stack
    visible until it is deleted; a stack whose resources could not all go stays, DELETE_FAILED,
    as on AWS."""
    first_event = len(stack.events)
    # The outputs stay shown while the resources go, but nothing resolves them again: that
    # would make a deleted resource anew (teardown.py).
    teardown.freeze(stack)
    try:
        stack.delete()  # moto's: the DELETE_IN_PROGRESS event, the resources, DELETE_COMPLETE
    except Exception as error:
        stack.status = "DELETE_FAILED"
        _report_delete_failures(stack)
        stack._add_stack_event("DELETE_FAILED", resource_status_reason=_delete_failed_reason(
            stack, first_event, error))
        return
    teardown.drop_outputs(stack)
    backend.deleted_stacks[stack.stack_id] = stack
    backend.stacks.pop(stack.stack_id, None)
    for name in [name for name, export in backend.exports.items()
                 if export.exporting_stack_id == stack.stack_id]:
        del backend.exports[name]
    # its change sets go with it, as on AWS (moto keeps them, to be described and listed)
    for change_set_id in [change_set_id for change_set_id, change_set
                          in backend.change_sets.items()
                          if change_set.stack_id == stack.stack_id]:
        del backend.change_sets[change_set_id]


def wrap_describe_stack_events(original):
    """The events of a stack deleted a moment ago, by its name too. On AWS a delete takes a
    while, and a client watching it (the CDK's `destroy`) reads DELETE_IN_PROGRESS events by
    name meanwhile; here the stack is gone when DeleteStack returns."""

    def describe_stack_events(self, stack_name):
        try:
            return original(self, stack_name)
        except Exception:
            deleted = [s for s in self.deleted_stacks.values() if s.name == stack_name]
            if not deleted:
                raise
            return deleted[-1].events

    return describe_stack_events

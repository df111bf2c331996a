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
from emulator.cloudformation import ec2_network
from emulator.cloudformation.resource import ResourceFailed

log = logging.getLogger(__name__)


def reason_of(error: BaseException) -> str:
    """The ResourceStatusReason of a failed resource: the service's code and message."""
    if isinstance(error, AwsError):
        return f'Resource handler returned message: "{error.message}" (Service: ' \
               f'{error.code}, Status Code: {error.status}, HandlerErrorCode: InvalidRequest)'
    if isinstance(error, ResourceFailed):
        return f'Resource handler returned message: "{error}" (HandlerErrorCode: NotStabilized)'
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    return str(message)


def _stack_of(resources_map):
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


def _failures(resources_map) -> dict:
    """Logical id -> reason, of the resources that failed in the current operation."""
    if not hasattr(resources_map, "_emulator_failures"):
        resources_map._emulator_failures = {}
    return resources_map._emulator_failures


# -- per resource -------------------------------------------------------------------------------

def wrap_create(original):
    def parse_and_create_resource(logical_id, resource_json, resources_map, account_id,
                                  region_name):
        condition = resource_json.get("Condition")
        if condition and not resources_map.lazy_condition_map[condition]:
            return None
        stack, kind = _stack_of(resources_map), resource_json.get("Type", "")
        add_event(stack, logical_id, kind, "CREATE_IN_PROGRESS")
        try:
            resource = original(logical_id, resource_json, resources_map, account_id,
                                region_name)
        except Exception as error:
            reason = reason_of(error)
            _failures(resources_map)[logical_id] = reason
            add_event(stack, logical_id, kind, "CREATE_FAILED", reason=reason)
            raise
        if resource is None:
            reason = f"Resource type {kind} is not supported by this emulator's CloudFormation."
            add_event(stack, logical_id, kind, "CREATE_COMPLETE", reason=reason)
        else:
            resource._emulator_status = "CREATE_COMPLETE"
            add_event(stack, logical_id, kind, "CREATE_COMPLETE",
                      getattr(resource, "physical_resource_id", ""))
        return resource

    return parse_and_create_resource


def wrap_update(original):
    def parse_and_update_resource(logical_id, resource_json, resources_map, account_id,
                                  region_name):
        failures = _failures(resources_map)
        if logical_id in failures:
            # moto retries a failed update up to five times (for dependency order); ours failed
            # for a reason a retry does not change, and a service's retry would wait again.
            raise ResourceFailed(failures[logical_id])
        stack, kind = _stack_of(resources_map), resource_json.get("Type", "")
        add_event(stack, logical_id, kind, "UPDATE_IN_PROGRESS")
        try:
            resource = original(logical_id, resource_json, resources_map, account_id,
                                region_name)
        except Exception as error:
            reason = reason_of(error)
            if isinstance(error, (AwsError, ResourceFailed)):
                failures[logical_id] = reason
            add_event(stack, logical_id, kind, "UPDATE_FAILED", reason=reason)
            raise
        if resource is not None:
            resource._emulator_status = "UPDATE_COMPLETE"
            add_event(stack, logical_id, kind, "UPDATE_COMPLETE",
                      getattr(resource, "physical_resource_id", ""))
        return resource

    return parse_and_update_resource


def wrap_delete_resource(original):
    def _delete_resource(self, parsed_resource, resource_json):
        if not ec2_network.delete(resource_json.get("Type", ""), parsed_resource,
                                  self._account_id, self._region_name):
            original(self, parsed_resource, resource_json)
        stack = _stack_of(self)
        logical_id = getattr(parsed_resource, "logical_resource_id", "")
        physical_id = getattr(parsed_resource, "physical_resource_id", "")
        add_event(stack, logical_id, resource_json.get("Type", ""), "DELETE_COMPLETE",
                  physical_id)

    return _delete_resource


# -- per stack ----------------------------------------------------------------------------------

def roll_back_create(stack, error: BaseException) -> None:
    """Undo a failed create: delete what was made; ROLLBACK_COMPLETE (or ROLLBACK_FAILED)."""
    failed = list(_failures(stack.resource_map)) or ["(template)"]
    reason = (f"The following resource(s) failed to create: [{', '.join(failed)}]. "
              "Rollback requested by user.")
    if not _failures(stack.resource_map):
        reason = reason_of(error)
    stack.status = "ROLLBACK_IN_PROGRESS"
    stack._add_stack_event("ROLLBACK_IN_PROGRESS", resource_status_reason=reason)
    try:
        stack.resource_map.delete()
    except Exception as cleanup_error:
        log.warning("rollback of stack %s failed: %s", stack.name, cleanup_error)
        stack.status = "ROLLBACK_FAILED"
        stack._add_stack_event("ROLLBACK_FAILED", resource_status_reason=reason_of(cleanup_error))
    else:
        stack.status = "ROLLBACK_COMPLETE"
        stack._add_stack_event("ROLLBACK_COMPLETE")
    _failures(stack.resource_map).clear()
    drop_outputs(stack)


def drop_outputs(stack) -> None:
    """A stack rolled back or deleted has no outputs; moto would make its resources again, lazily,
    to resolve them."""
    from moto.cloudformation.parsing import OutputMap

    stack.output_map = OutputMap(stack.resource_map, {}, stack.stack_id)


def stack_resources(self):
    """Stack.stack_resources without moto's side effect: its resource map creates a resource on
    first read, so describing a deleted or rolled-back stack made its resources again."""
    parsed = self.resource_map._parsed_resources
    return [parsed[name] for name in self.resource_map._resource_json_map
            if name in parsed and not isinstance(parsed[name], str) and parsed[name] is not None]


def wrap_create_resources(original):
    def create_resources(self):
        try:
            original(self)
        except Exception as error:
            roll_back_create(self, error)

    return create_resources


def run_update(stack, apply, template, parameters) -> bool:
    """Apply an update; on failure put the previous template back. True when it succeeded."""
    old_template, old_dict = stack.template, stack.resource_map._template
    old_parameters = dict(stack.resource_map.input_parameters)
    _failures(stack.resource_map).clear()
    try:
        apply()
        return True
    except Exception as error:
        failed = list(_failures(stack.resource_map))
        reason = (f"The following resource(s) failed to update: [{', '.join(failed)}]."
                  if failed else reason_of(error))
        stack.status = "UPDATE_ROLLBACK_IN_PROGRESS"
        stack._add_stack_event("UPDATE_ROLLBACK_IN_PROGRESS", resource_status_reason=reason)
        _failures(stack.resource_map).clear()
        try:
            stack.resource_map.update(old_dict, old_parameters)
        except Exception as rollback_error:
            stack.status = "UPDATE_ROLLBACK_FAILED"
            stack._add_stack_event("UPDATE_ROLLBACK_FAILED",
                                   resource_status_reason=reason_of(rollback_error))
        else:
            stack.status = "UPDATE_ROLLBACK_COMPLETE"
            stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE")
        stack.template = old_template
        stack._parse_template()
        stack.output_map = stack._create_output_map()
        _failures(stack.resource_map).clear()
        return False


def wrap_stack_update(original):
    def update(self, template, role_arn=None, parameters=None, tags=None):
        run_update(self, lambda: original(self, template, role_arn, parameters, tags),
                   template, parameters)

    return update


def wrap_execute_change_set(original):
    def execute_change_set(self, change_set_name, stack_name=None):
        # By name: the newest of that name for the stack (the CDK reuses one name every deploy).
        change_set = self.change_sets.get(change_set_name) or next(
            (c for c in reversed(list(self.change_sets.values()))
             if c.change_set_name == change_set_name
             and (stack_name is None or c.stack_name == stack_name or c.stack_id == stack_name)),
            None)
        if change_set is None:
            from moto.cloudformation.exceptions import ValidationError

            raise ValidationError(message=f"ChangeSet [{change_set_name}] does not exist")
        if change_set.execution_status != "AVAILABLE":
            from moto.cloudformation.exceptions import ValidationError

            raise ValidationError(message=(
                f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current "
                f"execution status of [{change_set.execution_status}]"))
        stack = self.stacks[change_set.stack_id]
        if change_set.change_set_type == "CREATE":
            try:
                original(self, change_set.change_set_id, stack_name)
            except Exception as error:
                change_set.execution_status = "EXECUTE_FAILED"
                stack.template = change_set.template
                stack._parse_template()
                roll_back_create(stack, error)
                return
            # moto made the stack's outputs from its empty template at CreateChangeSet.
            stack._parse_template()
            stack.description = stack.template_dict.get("Description")
            stack.output_map = stack._create_output_map()
            return
        ok = run_update(stack, lambda: original(self, change_set.change_set_id, stack_name),
                        change_set.template, change_set.parameters)
        if not ok:
            change_set.execution_status = "EXECUTE_FAILED"
        else:
            stack.output_map = stack._create_output_map()

    return execute_change_set


def wrap_delete_stack(original):
    def delete_stack(self, name_or_stack_id):
        stack = self.stacks.get(name_or_stack_id) or next(
            (s for s in self.stacks.values() if s.name == name_or_stack_id), None)
        if stack is None:
            return  # deleting a stack that does not exist succeeds, as on AWS
        try:
            original(self, stack.stack_id)
            drop_outputs(stack)
        except Exception as error:
            # moto took the stack out before deleting its resources; a stack whose resources
            # could not all go stays, DELETE_FAILED, as on AWS.
            self.deleted_stacks.pop(stack.stack_id, None)
            self.stacks[stack.stack_id] = stack
            stack.status = "DELETE_FAILED"
            stack._add_stack_event("DELETE_FAILED", resource_status_reason=reason_of(error))

    return delete_stack


# -- which resources an update touches ------------------------------------------------------------

def wrap_build_resource_diff(original, our_types: frozenset[str]):
    """moto updates only resources whose template text changed. CloudFormation also updates a
    resource whose Ref or Fn::GetAtt target changed (a service after its task definition got a
    new revision): ours are added (they compare resolved properties, so an unchanged one is left
    alone), and every update runs after the updates of what it refers to."""

    def build_resource_diff(self, other_template, parameters=None):
        diff = original(self, other_template, parameters)
        new, old = other_template.get("Resources") or {}, self._resource_json_map
        refs = {name: _references(body) & set(new) for name, body in new.items()}
        modify = list(diff["Modify"])
        grew = True
        while grew:
            grew = False
            for name, body in new.items():
                if (name in old and name not in modify and body.get("Type") in our_types
                        and refs[name] & set(modify)):
                    modify.append(name)
                    grew = True
        diff["Modify"] = _in_dependency_order(modify, refs)
        return diff

    return build_resource_diff


def _references(value) -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        if isinstance(value.get("Ref"), str):
            found.add(value["Ref"])
        get_att = value.get("Fn::GetAtt")
        if isinstance(get_att, list) and get_att:
            found.add(str(get_att[0]))
        elif isinstance(get_att, str):
            found.add(get_att.split(".")[0])
        depends = value.get("DependsOn")
        found.update([depends] if isinstance(depends, str) else depends or [])
        for item in value.values():
            found |= _references(item)
    elif isinstance(value, list):
        for item in value:
            found |= _references(item)
    return found


def _in_dependency_order(names: list[str], refs: dict[str, set[str]]) -> list[str]:
    ordered: list[str] = []

    def visit(name: str, path: frozenset) -> None:
        if name in ordered or name in path:
            return
        for dependency in sorted(refs.get(name, set()) & set(names)):
            visit(dependency, path | {name})
        ordered.append(name)

    for name in names:
        visit(name, frozenset())
    return ordered


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


# -- change sets that do not exist ----------------------------------------------------------------

def _change_set_not_found(name: str):
    from moto.core.exceptions import ServiceException

    class ChangeSetNotFoundException(ServiceException):
        code = "ChangeSetNotFoundException"  # the model's shape: ChangeSetNotFound, HTTP 404

    return ChangeSetNotFoundException(f"ChangeSet [{name}] does not exist")


def _find_change_set(backend, name: str, stack_name: str | None):
    if name in backend.change_sets:
        return name
    for change_set_id, change_set in reversed(list(backend.change_sets.items())):
        if change_set.change_set_name == name and (
                not stack_name or stack_name in (change_set.stack_name, change_set.stack_id)):
            return change_set_id
    return None


def delete_change_set(self, change_set_name, stack_name=None):
    """moto's crashes (500) on a change set it does not have; the CDK deletes its
    `cdk-diff-change-set` before every diff, expecting ChangeSetNotFound when there is none."""
    found = _find_change_set(self, change_set_name, stack_name)
    if found is None:
        raise _change_set_not_found(change_set_name)
    del self.change_sets[found]


def describe_change_set(self, change_set_name, stack_name=None):
    found = _find_change_set(self, change_set_name, stack_name)
    if found is None:
        raise _change_set_not_found(change_set_name)
    return self.change_sets[found]

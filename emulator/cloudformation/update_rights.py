"""A stack update checked against its caller's rights as a whole, before it changes anything.

Under IAM enforcement every resource is checked as it is made, changed or deleted
(stack_life.py); an update that failed half-way would already have deleted what it takes out of
the template, for a caller perhaps allowed none of it. So before the update starts, everything
it will do is checked: the delete actions of each resource it removes (on the resource, as it
stands) and the create actions of each resource of moto's it adds or changes (their properties
resolved against the new parameters and the resources that exist), with the delete actions of
the old one where moto's update replaces it. The first refusal fails
that resource (CREATE_FAILED, UPDATE_FAILED or DELETE_FAILED, AccessDeniedException) and the
update rolls back with nothing changed.

What cannot be known yet is checked when the resource is made: a value that refers to a
resource the update adds, a name the stack makes up (moto makes it with the resource), and the
emulator's own ECS and ECR types, whose API calls are checked as the caller's own. Removals run
last (replacements.py, CloudFormation's clean-up phase), so those later refusals still come
before anything is removed.
"""

from __future__ import annotations

import copy

from emulator.access.iam_stacks import UNKNOWN
from emulator.aws.errors import AwsError
from emulator.cloudformation.resource import check_stack_resource, enforcing
from emulator.cloudformation.stack_life import (add_event, failures, name_of, reason_of,
                                                replaces, stack_of)


class _NotMadeYet(Exception):
    """A reference to a resource the update has not made."""


def check_update(resource_map, template: dict, parameters, diff_of, ours: frozenset) -> None:
    """Raise the AccessDeniedException of the first thing the update may not do. `diff_of`:
    the map's build_resource_diff; `ours`: the emulator's own types."""
    if not enforcing():
        return
    diff = diff_of(template, parameters)
    from moto.cloudformation.parsing import resource_class_from_type

    old = resource_map._resource_json_map
    for name in diff["Remove"]:
        resource = resource_map._parsed_resources.get(name)
        if (resource is not None and not isinstance(resource, str)
                and old[name].get("DeletionPolicy") != "Retain"):
            _checked(resource_map, name, old[name].get("Type", ""), "DELETE_FAILED",
                     lambda kind, r=resource: check_stack_resource(kind, None, deleting=r))
    preview = _preview(resource_map, template, parameters)
    if preview is None:
        return  # the template's own error: the update reports it
    new = template.get("Resources") or {}
    for name in [*diff["Add"], *diff["Modify"]]:
        body = new.get(name) or {}
        kind, condition = body.get("Type", ""), body.get("Condition")
        if kind in ours or (condition and not _holds(preview, condition)):
            continue
        if resource_class_from_type(kind) is None:
            continue  # a type moto skips (with a warning) makes nothing: as at CreateStack
        properties = _resolve(body.get("Properties") or {}, preview)
        status = "CREATE_FAILED" if name in diff["Add"] else "UPDATE_FAILED"
        _checked(resource_map, name, kind, status, lambda kind, p=properties, n=name:
                 check_stack_resource(kind, p, name=name_of(kind, p, UNKNOWN, n, resource_map)
                                      or UNKNOWN))
        existing = resource_map._parsed_resources.get(name) if name in diff["Modify"] else None
        if existing is not None and replaces(resource_class_from_type(kind), properties):
            _checked(resource_map, name, kind, status, lambda kind, e=existing:
                     check_stack_resource(kind, None, deleting=e))


def _checked(resource_map, logical_id: str, kind: str, status: str, check) -> None:
    try:
        check(kind)
    except AwsError as error:
        reason = reason_of(error)
        failures(resource_map)[logical_id] = reason
        add_event(stack_of(resource_map), logical_id, kind, status, reason=reason)
        raise


def _preview(resource_map, template: dict, parameters):
    """A copy of the stack's resource map with the new template and parameters loaded, whose
    references to resources not made yet raise _NotMadeYet instead of making them."""
    preview = copy.copy(resource_map)
    preview.__class__ = _preview_class(type(resource_map))
    preview._parsed_resources = dict(resource_map._parsed_resources)
    preview.resolved_parameters = {}
    preview._template = template
    preview._resource_json_map = template.get("Resources") or {}
    if parameters:
        preview.input_parameters = parameters
    try:
        preview.load_mapping()
        preview.load_parameters()
        preview.load_conditions()
    except Exception:  # noqa: BLE001 - a template error: moto's update raises it itself
        return None
    return preview


_classes: dict[type, type] = {}


def _preview_class(base: type) -> type:
    if base not in _classes:
        def __getitem__(self, key):
            if key in self._parsed_resources:
                return self._parsed_resources[key]
            raise _NotMadeYet(key)

        _classes[base] = type("PreviewResourceMap", (base,), {"__getitem__": __getitem__})
    return _classes[base]


def _holds(preview, condition: str) -> bool:
    try:
        return bool(preview.lazy_condition_map[condition])
    except Exception:  # noqa: BLE001 - it depends on what is not made yet: check as if it held
        return True


def _resolve(value, preview):
    """The value as moto will resolve it; what refers to a resource not made yet is UNKNOWN
    (the smallest part of it: one item of a list, one key of a structure)."""
    from moto.cloudformation import parsing

    try:
        return parsing.clean_json(value, preview)
    except Exception:  # noqa: BLE001 - _NotMadeYet, or an error the update itself will report
        if isinstance(value, list):
            return [_resolve(item, preview) for item in value]
        if isinstance(value, dict) and not any(k == "Ref" or k.startswith("Fn::") for k in value):
            return {key: _resolve(item, preview) for key, item in value.items()}
        return UNKNOWN

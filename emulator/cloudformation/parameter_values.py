"""A stack's parameter values as they were given (raw strings), for the calls that take them
again: UpdateStack and an UPDATE change set, whose UsePreviousValue means the stack's previous
value, and whose parameters left out take the template's default.

moto keeps two views of them: the values given at the last operation (`input_parameters`,
which lacks the parameters that took their default) and the values resolved for the template
(`resolved_parameters`: Numbers made ints, lists made lists, SSM names made the parameter's
value). Its UsePreviousValue reads the resolved ones into a change set, which an execution then
cannot load again (a list is split a second time), and compares them with raw input: a
redeploy of `aws cloudformation deploy` (UsePreviousValue for every parameter) of a stack whose
parameters took their defaults, or are Numbers, looked like a change, or not, by accident. Here
both sides are raw, for every parameter the template declares.
"""

from __future__ import annotations

from emulator.cloudformation.errors import validation_error

# A parameter whose value cannot be told (not given, no default, no previous value): the call
# is left to moto, which refuses it in its own words.
UNKNOWN = object()


def in_force(stack) -> dict:
    """The template the stack's resources were last made or updated with (its resource map's,
    which a failed update's rollback puts back). Not moto's Stack.template_dict: moto's
    ExecuteChangeSet never parses the change set's template into it (change_sets._take_template
    now does), so a stack persisted before that keeps the template from before the change set
    there."""
    template = getattr(stack.resource_map, "_template", None)
    return template if isinstance(template, dict) else stack.template_dict


def previous(stack) -> dict:
    """Parameter key -> the raw value the stack has now: as given at its last operation, else
    its template's default."""
    given = stack.resource_map.input_parameters or {}
    return {key: raw(given[key] if key in given else spec.get("Default", UNKNOWN))
            for key, spec in declared(in_force(stack)).items()}


def explicit(stack) -> dict:
    """The stack's parameters as an update gives them (stack_parameters.for_update), every
    one: as given at its last operation, or the Default it took (previous(stack), without
    those it cannot tell). Those given that its template does not declare stay: dropping one
    would make moto's comparison count it changed, and a rollback would lack it."""
    given = dict(stack.resource_map.input_parameters or {})
    return {**given, **{key: value for key, value in previous(stack).items()
                        if value is not UNKNOWN}}


def requested(stack, parameters: list[dict], template: dict) -> dict:
    """Parameter key -> the raw value an update with `template` and the request's
    `parameters` gives each parameter `template` declares; UNKNOWN where it cannot say."""
    before = previous(stack)
    by_key = {p.get("ParameterKey"): p for p in parameters}
    values = {}
    for key, spec in declared(template).items():
        parameter = by_key.get(key)
        if parameter is None:
            values[key] = raw(spec.get("Default", UNKNOWN))
        elif parameter.get("UsePreviousValue") and "ParameterValue" not in parameter:
            values[key] = before.get(key, UNKNOWN)
        else:
            values[key] = raw(parameter.get("ParameterValue", UNKNOWN))
    return values


def with_previous_values(stack, parameters: list[dict]) -> list[dict]:
    """The request's parameters with each UsePreviousValue one given its previous raw value,
    for moto to read as if it had been sent. One with no previous value (the previous template
    did not have it) is refused in CloudFormation's words; one that also has a value stays as
    it is."""
    before = previous(stack)
    out = []
    for parameter in parameters:
        key = parameter.get("ParameterKey")
        if parameter.get("UsePreviousValue") and "ParameterValue" not in parameter:
            if before.get(key, UNKNOWN) is UNKNOWN:
                raise validation_error(
                    f"Invalid input for parameter key {key}. Cannot specify usePreviousValue "
                    "as true for a parameter key not in the previous template")
            parameter = {"ParameterKey": key, "ParameterValue": before[key]}
        out.append(parameter)
    return out


def raw(value):
    """A value as the API carries it: a template's default may be a YAML/JSON number or
    boolean, and a value moto resolved earlier an int or a list."""
    if value is UNKNOWN or value is None:
        return UNKNOWN
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(raw(item)) for item in value)
    return str(value)


def declared(template) -> dict:
    """The template's Parameters section; a malformed one declares nothing here (moto's own
    reading of the template refuses it)."""
    parameters = template.get("Parameters") if isinstance(template, dict) else None
    if not isinstance(parameters, dict):
        return {}
    return {key: spec for key, spec in parameters.items() if isinstance(spec, dict)}

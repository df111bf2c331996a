"""A stack's parameters as CloudFormation takes and shows them, where moto's differ.

- Refused, in CloudFormation's words, by CreateStack, UpdateStack and CreateChangeSet: a
  parameter the template does not declare ("Parameters: [X] do not exist in the template"), and
  one the template declares without a Default that the call gives no value ("Parameters: [X]
  must have values"; moto said "Missing parameter X", and not at all for an update without
  Parameters, which kept the old values).
- An update's parameter left out takes the template's Default (the API reference's Parameter:
  "If you don't specify a key and value for a particular parameter, CloudFormation uses the
  default value that's specified in your template"), not the stack's previous value: moto kept
  every previous value when the call had no Parameters at all. So an update hands moto every
  parameter the template declares.
- A Parameters section that is null, not an object, or with a member that is not an object
  with a Type is a "Template format error" (moto's reading of it failed, a 500).
- A Default is resolved as the same value given is: a list type's (CommaDelimitedList,
  List<...>) a list (moto left it a string, so `Fn::Select` picked a character), a YAML/JSON
  `true` "true" (moto's str made it "True" at a create, "true" after an update). A Default that is not a scalar (a
  YAML list, an intrinsic function) is refused: "Every Default member must be a string."
- DescribeStacks shows each value as given (or the Default) as text: a list as "a,b", not
  Python's "['a', 'b']"; a NoEcho parameter as "****" (moto masked none, DescribeChangeSet's
  neither); an SSM parameter type with the parameter's name and its ResolvedValue.
"""

from __future__ import annotations

from emulator.cloudformation import parameter_values
from emulator.cloudformation.errors import validation_error

MASK = "****"
FORMAT_ERROR = "Template format error: "


def check(template: dict, parameters: list[dict]) -> None:
    """The refusals of a call's (given) parameters against the template it is for."""
    check_section(template)
    declared = parameter_values.declared(template)
    keys = [p.get("ParameterKey") for p in parameters]
    unknown = [str(key) for key in keys if key not in declared]
    if unknown:
        raise validation_error(f"Parameters: [{', '.join(unknown)}] do not exist in the template")
    missing = [key for key, spec in declared.items()
               if key not in keys and spec.get("Default") is None]
    if missing:
        raise validation_error(f"Parameters: [{', '.join(missing)}] must have values")


def check_section(template: dict) -> None:
    """The template's Parameters section is an object of objects, each with a Type, and
    scalar Defaults: refused in CloudFormation's words before moto reads it (moto's reading of
    any other fails with an internal error, a 500)."""
    if "Parameters" in template and template["Parameters"] is None:
        raise validation_error(f"{FORMAT_ERROR}[/Parameters] 'null' values are not allowed in "
                               "templates")
    parameters = template.get("Parameters", {})
    if not isinstance(parameters, dict):
        raise validation_error(f"{FORMAT_ERROR}Parameters member must be an object.")
    if any(not isinstance(spec, dict) or spec.get("Type") is None
           for spec in parameters.values()):
        raise validation_error(f"{FORMAT_ERROR}Every Parameters object must contain a Type "
                               "member.")
    check_defaults(parameters)


def check_defaults(declared: dict) -> None:
    """A Default is a scalar: a list (even a list type's) or an intrinsic function is refused
    (moto showed a list as Python's "['a', 'b']", and kept a function as it was)."""
    if any(isinstance(spec, dict) and isinstance(spec.get("Default"), (dict, list))
           for spec in declared.values()):
        raise validation_error(f"{FORMAT_ERROR}Every Default member must be a string.")


def given(parameters: list[dict]) -> list[dict]:
    """The parameters a call gives a value (or UsePreviousValue); one with neither is as if
    left out (moto's handlers read a value that is not there, a 500)."""
    return [p for p in parameters if "ParameterValue" in p or p.get("UsePreviousValue")]


def for_create(template, parameters: list[dict]) -> list[dict]:
    """CreateStack's (a CREATE change set's) parameters, checked; None for a template moto's
    own reading refuses."""
    values = [p for p in given(parameters) if "ParameterValue" in p]
    if isinstance(template, dict):
        check(template, values)
    return values


def for_update(stack, template, parameters: list[dict]) -> list[dict]:
    """UpdateStack's (an UPDATE change set's) parameters as moto is to read them: every one the
    template declares, UsePreviousValue ones given the stack's raw value
    (parameter_values.with_previous_values), those left out their Default."""
    values = parameter_values.with_previous_values(stack, given(parameters))
    if not isinstance(template, dict):
        return values  # moto's own reading of the template refuses it
    check(template, values)
    keys = {p.get("ParameterKey") for p in values}
    return values + [{"ParameterKey": key, "ParameterValue": parameter_values.raw(spec["Default"])}
                     for key, spec in parameter_values.declared(template).items()
                     if key not in keys]


def parse(body):
    """A template body as moto reads it; None if it cannot (template_types.load: JSON at C
    speed, YAML aliases refused)."""
    from emulator.cloudformation.template_types import load

    return load(body)


def request_template(response, stack=None):
    """The template a CreateStack/UpdateStack/CreateChangeSet request gives (its TemplateURL
    already read into TemplateBody, update_checks.read_template_url), parsed; None if none."""
    if stack is not None and response._get_bool_param("UsePreviousTemplate", False):
        return parameter_values.in_force(stack)
    return parse(response._get_param("TemplateBody"))


def wrap_create_stack_handler(original):
    """CloudFormationResponse.create_stack with the parameters checked first."""
    from emulator.cloudformation.update_checks import read_template_url

    def create_stack(self):
        read_template_url(self)
        self.params["Parameters"] = for_create(request_template(self),
                                               self._get_param("Parameters") or [])
        return original(self)

    return create_stack


def wrap_get_template_summary_handler(original):
    """CloudFormationResponse.get_template_summary with the template's Parameters section
    checked first (moto's summary of a malformed one fails, a 500)."""
    from emulator.cloudformation.update_checks import read_template_url

    def get_template_summary(self):
        read_template_url(self)
        template = parse(self._get_param("TemplateBody"))
        if isinstance(template, dict):
            check_section(template)
        return original(self)

    return get_template_summary


def shown(stack) -> list[dict]:
    """Stack.parameter_list: DescribeStacks' Parameters."""
    values = parameter_values.previous(stack)
    resolved = stack.resource_map.resolved_parameters or {}
    out = []
    for key, spec in parameter_values.declared(parameter_values.in_force(stack)).items():
        value = values.get(key, parameter_values.UNKNOWN)
        if value is parameter_values.UNKNOWN:
            continue
        entry = {"ParameterKey": key, "ParameterValue": value}
        if _no_echo(spec):
            entry["ParameterValue"] = MASK
        elif str(spec.get("Type", "")).startswith("AWS::SSM::Parameter::") and key in resolved:
            entry["ResolvedValue"] = parameter_values.raw(resolved[key])
        out.append(entry)
    return out


def change_set_shown(change_set) -> dict:
    """What DescribeChangeSet shows of a change set's parameters (key -> value: moto's
    response makes the list), NoEcho ones masked too."""
    declared = parameter_values.declared(getattr(change_set, "template_dict", None))
    return {key: MASK if _no_echo(declared.get(key, {})) else parameter_values.raw(value)
            for key, value in (change_set.parameters or {}).items() if value is not None}


def _no_echo(spec: dict) -> bool:
    return str(spec.get("NoEcho", "false")).lower() == "true"


def wrap_load_parameters(original):
    """ResourceMap.load_parameters, with a Default resolved as the same value given is (moto
    takes a Default as the template has it): a list type's made a list, a Number's a number,
    any other's the text the API carries (a YAML/JSON `true` is "true", not Python's "True").
    An update gives moto every Default as a value (for_update), so a create must agree."""

    def load_parameters(self):
        original(self)
        given_keys = self.input_parameters or {}
        for key, spec in parameter_values.declared(self._template).items():
            value = self.resolved_parameters.get(key)
            kind = str(spec.get("Type", ""))
            if key in given_keys or value is None or kind.startswith("AWS::SSM::Parameter::"):
                continue  # given (moto resolved it), or an SSM parameter's value
            self.resolved_parameters[key] = self._parsed_resources[key] = _as_given(
                kind, parameter_values.raw(value))

    return load_parameters


def _as_given(kind: str, text: str):
    """A parameter's value as moto resolves it when given as `text`."""
    if kind == "CommaDelimitedList" or kind.startswith("List<"):
        items = text.split(",")
        return [_number(item) for item in items] if kind == "List<Number>" else items
    return _number(text) if kind == "Number" else text


def _number(text: str):
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text  # moto's given values would fail here; a default is left as written

"""ValidateTemplate as CloudFormation answers it: the template's syntax and structure are
checked, not its resources' property values.

moto runs cfn-lint and raises its first finding as a ValidationError whose message moto garbles
("Stack with id 'NetworkConfiguration' is a required property does not exist"); cfn-lint also
finds what AWS accepts (a Fargate service without NetworkConfiguration, a queue's DelaySeconds
of 5000: both fail, if at all, when the stack is made). Here a template that parses, has a
Resources section whose members each have a Type, refers only to what it declares, and names
resource types that exist (template_types.py) is valid; the answer lists its parameters, the
capabilities it needs and its transforms, as the API reference has it.
"""

from __future__ import annotations

import json

from emulator.cloudformation import (dependency_cycles, safe_yaml, stack_parameters,
                                     template_types)
from emulator.cloudformation.errors import validation_error
from emulator.cloudformation.update_scope import references

FORMAT_ERROR = stack_parameters.FORMAT_ERROR
SECTIONS = ("AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Rules",
            "Mappings", "Conditions", "Transform", "Resources", "Outputs", "Hooks")
LANGUAGE_EXTENSIONS = "AWS::LanguageExtensions"  # the transform of Fn::ForEach loops
PARAMETER_TYPES = ("String", "Number", "List<Number>", "CommaDelimitedList")
# Parameter types by prefix: AWS-specific types and SSM parameter types.
PARAMETER_TYPE_PREFIXES = ("AWS::", "List<AWS::")
# IAM resources that need CAPABILITY_IAM, and the property that names one (then NAMED_IAM).
IAM_NAMES = {"AWS::IAM::Role": "RoleName", "AWS::IAM::User": "UserName",
             "AWS::IAM::Group": "GroupName", "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
             "AWS::IAM::InstanceProfile": "InstanceProfileName", "AWS::IAM::Policy": None,
             "AWS::IAM::AccessKey": None, "AWS::IAM::UserToGroupAddition": None}


def validate_template(self):
    """CloudFormationResponse.validate_template, in place of moto's."""
    from moto.core.responses import ActionResult

    body = self._get_param("TemplateBody")
    url = self._get_param("TemplateURL")
    if url:
        body = self._get_stack_from_s3_url(url)
    if not body:
        raise validation_error("Either Template URL or Template Body must be specified.")
    template = parse(body)
    try:
        check_structure(template)
    except RecursionError:
        raise validation_error(template_types.NESTED_TOO_DEEP) from None
    template_types.refuse_unrecognized(template, self.region)
    dependency_cycles.refuse(template)
    return ActionResult(describe(template))


def parse(body: str) -> dict:
    """The template as data, or CloudFormation's "not well-formed" error. As CloudFormation
    reads it: JSON first, then YAML, so a YAML flow mapping (`{Resources: {...}}`) is a template
    too; a text that is neither gets the JSON error if it looks like JSON, else the YAML one."""
    json_error = None
    if body.lstrip().startswith("{"):
        try:
            template = json.loads(body)
        except RecursionError:
            raise validation_error(template_types.NESTED_TOO_DEEP) from None
        except ValueError as error:
            json_error = error
    if json_error is not None or not body.lstrip().startswith("{"):
        import yaml
        from moto.cloudformation.models import Stack

        safe_yaml.refuse_aliases(body)
        try:
            template = Stack.parse_template(body)  # moto's reader: its short forms (!Ref...)
        except RecursionError:
            raise validation_error(template_types.NESTED_TOO_DEEP) from None
        except (yaml.YAMLError, ValueError):
            if json_error is not None:
                raise validation_error(f"{FORMAT_ERROR}JSON not well-formed. (line "
                                       f"{json_error.lineno}, column {json_error.colno})"
                                       ) from None
            raise validation_error(f"{FORMAT_ERROR}YAML not well-formed.{_where(body)}") from None
    if not isinstance(template, dict):
        raise validation_error(f"{FORMAT_ERROR}unsupported structure.")
    return template


def _where(body: str) -> str:
    """Where YAML's parser stops reading `body` (moto's reader, falling back to JSON, loses it):
    " (line L, column C)", or nothing."""
    import yaml

    try:
        yaml.compose(body, Loader=yaml.SafeLoader)  # nodes only: no constructor runs
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        if mark is not None:
            return f" (line {mark.line + 1}, column {mark.column + 1})"
    except yaml.YAMLError:
        pass
    return ""


def check_structure(template: dict) -> None:
    transforms = declared_transforms(template)
    unknown = [key for key in template if key not in SECTIONS]
    if unknown and not transforms:  # a transform reads sections of its own (SAM's Globals)
        raise validation_error(f"Invalid template property or properties [{', '.join(unknown)}]")
    stack_parameters.check_section(template)
    parameters = template.get("Parameters") or {}
    for name, parameter in parameters.items():
        kind = parameter["Type"]
        if not _known_parameter_type(kind):
            raise validation_error(f"{FORMAT_ERROR}Unrecognized parameter type: {kind}")
    resources = template.get("Resources")
    if not resources:
        raise validation_error(f"{FORMAT_ERROR}At least one Resources member must be defined.")
    if not isinstance(resources, dict):
        raise validation_error(f"{FORMAT_ERROR}Resources member must be an object.")
    members = _resources(template)
    for name, resource in members.items():
        if not isinstance(resource, dict):
            raise validation_error(f"{FORMAT_ERROR}[/Resources/{name}] Every Resources member "
                                   "must be an object.")
        if "Type" not in resource:
            raise validation_error(f"{FORMAT_ERROR}[/Resources/{name}] Every Resources object "
                                   "must contain a Type member.")
        if not isinstance(resource["Type"], str):
            raise validation_error(f"{FORMAT_ERROR}[/Resources/{name}] Every Type member must "
                                   "be a string.")
    if transforms or _mentions(template, "Fn::Transform"):
        return  # what a transform brings in (an AWS::Include snippet) may declare the targets
    declared = set(resources) | set(parameters)
    unresolved = sorted({target for resource in members.values()
                         for target in references(resource)
                         if target not in declared and not target.startswith("AWS::")})
    if unresolved:
        raise validation_error(f"{FORMAT_ERROR}Unresolved resource dependencies "
                               f"[{', '.join(unresolved)}] in the Resources block of the "
                               "template")


def declared_transforms(template: dict) -> list[str]:
    """The template's Transform section as a list of names: a name, or a list of names (or of
    {Name, Parameters} objects)."""
    transform = template.get("Transform")
    if isinstance(transform, (str, dict)):
        transform = [transform]
    if not isinstance(transform, list):
        return []
    return [t if isinstance(t, str) else t.get("Name") for t in transform
            if isinstance(t, str) or (isinstance(t, dict) and isinstance(t.get("Name"), str))]


def _resources(template: dict) -> dict:
    """The Resources members that are resources: an AWS::Include (`Fn::Transform`) and, under
    AWS::LanguageExtensions, a loop (`Fn::ForEach::Name`) make resources once transformed."""
    loops = LANGUAGE_EXTENSIONS in declared_transforms(template)
    return {name: body for name, body in template["Resources"].items()
            if name != "Fn::Transform" and not (loops and name.startswith("Fn::ForEach::"))}


def _mentions(value, key: str) -> bool:
    if isinstance(value, dict):
        return key in value or any(_mentions(item, key) for item in value.values())
    if isinstance(value, list):
        return any(_mentions(item, key) for item in value)
    return False


def describe(template: dict) -> dict:
    """ValidateTemplate's output: Parameters, Description, Capabilities (with the reason),
    DeclaredTransforms."""
    parameters = []
    for name, parameter in (template.get("Parameters") or {}).items():
        entry = {"ParameterKey": name, "NoEcho": str(parameter.get("NoEcho", "false")).lower()
                 == "true"}
        if "Default" in parameter:
            entry["DefaultValue"] = str(parameter["Default"])
        if "Description" in parameter:
            entry["Description"] = str(parameter["Description"])
        parameters.append(entry)
    result = {"Parameters": parameters}
    if isinstance(template.get("Description"), str):
        result["Description"] = template["Description"]
    needing = [resource for resource in _resources(template).values()
               if resource["Type"] in IAM_NAMES]
    if needing:
        named = any(IAM_NAMES[r["Type"]] and (r.get("Properties") or {}).get(IAM_NAMES[r["Type"]])
                    for r in needing)
        result["Capabilities"] = ["CAPABILITY_NAMED_IAM" if named else "CAPABILITY_IAM"]
        kinds = ", ".join(dict.fromkeys(r["Type"] for r in needing))
        result["CapabilitiesReason"] = f"The following resource(s) require capabilities: [{kinds}]"
    transforms = declared_transforms(template)
    if transforms:
        result["DeclaredTransforms"] = transforms
    return result


def _known_parameter_type(kind) -> bool:
    return isinstance(kind, str) and (kind in PARAMETER_TYPES
                                      or kind.startswith(PARAMETER_TYPE_PREFIXES))

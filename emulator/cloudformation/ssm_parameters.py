"""`AWS::SSM::Parameter` without a `Name` (moto's type, named as CloudFormation names it).

The reference: "If you don't specify a name, AWS CloudFormation generates a unique physical ID
and uses that ID for the parameter name." moto's type sends the template's `Name`, None, to
PutParameter, which fails the resource with a Python error ("'NoneType' object has no attribute
'lower'"): the CDK's `new ssm.StringParameter(...)` names none, so a stack holding one could not
be made. Here the parameter is named as AWS's handler names it (its source,
aws-cloudformation-resource-providers-ssm: `generateResourceIdentifier("CFN", logical id, ...,
40)`), `CFN-<logical id>-<random>` in at most 40 characters, not after the stack as other types
are (which a stack named `ssm...` would make a name PutParameter refuses), and an update that
still gives no name keeps the parameter's name (a new value is "No interruption").
"""

from __future__ import annotations

import random
import string

_MAX_NAME = 40
_SUFFIX = 12


def install() -> None:
    from moto.ssm.models import Parameter

    create = Parameter.create_from_cloudformation_json.__func__
    update = Parameter.update_from_cloudformation_json.__func__

    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id,
                                        region_name, **kwargs):
        # The name wrap_parse made (the one the stack caller's rights were checked on).
        return create(cls, resource_name, _named(cloudformation_json, resource_name),
                      account_id, region_name, **kwargs)

    def update_from_cloudformation_json(cls, original_resource, new_resource_name,
                                        cloudformation_json, account_id, region_name):
        return update(cls, original_resource, original_resource.name,
                      _named(cloudformation_json, original_resource.name), account_id,
                      region_name)

    Parameter.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)
    Parameter.update_from_cloudformation_json = classmethod(update_from_cloudformation_json)


def wrap_parse(original):
    """moto's parse_resource_and_generate_name, giving a parameter the template names none
    AWS's name for it, made once: the name its create uses and its rights check (under IAM
    enforcement, stack_life.wrap_parse) is on, not moto's `<stack>-<logical id>-<suffix>`."""
    def parse_resource_and_generate_name(logical_id, resource_json, resources_map):
        parsed = original(logical_id, resource_json, resources_map)
        if (parsed and resource_json.get("Type") == "AWS::SSM::Parameter"
                and not ((parsed[1] or {}).get("Properties") or {}).get("Name")):
            return parsed[0], parsed[1], generated_name(logical_id)
        return parsed

    return parse_resource_and_generate_name


def _named(cloudformation_json: dict, name: str) -> dict:
    """The resource's JSON with `name` as its Name, if the template gave none."""
    properties = cloudformation_json.get("Properties") or {}
    if properties.get("Name"):
        return cloudformation_json
    return {**cloudformation_json, "Properties": {**properties, "Name": name}}


def generated_name(logical_id: str) -> str:
    """`CFN-<logical id>-<12 letters and digits>`, the logical id cut to fit in 40."""
    room = _MAX_NAME - len("CFN-") - 1 - _SUFFIX
    suffix = "".join(random.choices(string.ascii_letters + string.digits, k=_SUFFIX))
    return f"CFN-{logical_id[:room]}-{suffix}"

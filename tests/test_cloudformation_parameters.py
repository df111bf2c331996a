"""A stack's parameters and template size through boto3, as CloudFormation takes them: a
parameter without a value or not declared refused, one left out of an update taking its
Default, values shown as given (a list as "a,b", NoEcho masked), and the limits on a
template's size."""

import json

from tests.test_cloudformation_deploy import outputs
from tests.test_cloudformation_stack_calls import cfn, refused  # noqa: F401 (cfn: a fixture)

TEMPLATE = {
    "Parameters": {"Name": {"Type": "String"},
                   "Env": {"Type": "String", "Default": "dev"},
                   "Zones": {"Type": "CommaDelimitedList", "Default": "a,b"},
                   "Ports": {"Type": "List<Number>", "Default": "80,443"},
                   "Given": {"Type": "CommaDelimitedList"},
                   "Secret": {"Type": "String", "NoEcho": True, "Default": "pw"}},
    "Resources": {"Q": {"Type": "AWS::SQS::Queue"}},
    "Outputs": {"Env": {"Value": {"Ref": "Env"}},
                "SecondZone": {"Value": {"Fn::Select": [1, {"Ref": "Zones"}]}},
                "SecondPort": {"Value": {"Fn::Select": [1, {"Ref": "Ports"}]}},
                "SecondGiven": {"Value": {"Fn::Select": [1, {"Ref": "Given"}]}}}}
BODY = json.dumps(TEMPLATE)
OTHER_BODY = json.dumps({**TEMPLATE, "Resources": {"R": {"Type": "AWS::SQS::Queue"}}})
REQUIRED = [{"ParameterKey": "Name", "ParameterValue": "n"},
            {"ParameterKey": "Given", "ParameterValue": "x,y"}]


def parameters(cfn, name) -> dict:
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    return {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}


def test_parameters_without_a_value_or_not_declared_are_refused(cfn):
    assert refused(cfn.create_stack, StackName="p", TemplateBody=BODY) == (
        "Parameters: [Name, Given] must have values")
    assert refused(cfn.create_stack, StackName="p", TemplateBody=BODY, Parameters=[
        *REQUIRED, {"ParameterKey": "Bogus", "ParameterValue": "1"}]) == (
        "Parameters: [Bogus] do not exist in the template")
    assert refused(cfn.create_change_set, StackName="p", ChangeSetName="c",
                   ChangeSetType="CREATE", TemplateBody=BODY,
                   Parameters=REQUIRED[:1]) == "Parameters: [Given] must have values"
    assert cfn.list_stacks()["StackSummaries"] == []

    cfn.create_stack(StackName="p", TemplateBody=BODY, Parameters=REQUIRED)
    # An update (or its change set) that leaves out a parameter without a Default: AWS does
    # not keep the previous value for it.
    for call, extra in ((cfn.update_stack, {}),
                        (cfn.create_change_set, {"ChangeSetName": "u"})):
        assert refused(call, StackName="p", TemplateBody=OTHER_BODY, **extra) == (
            "Parameters: [Name, Given] must have values")
        assert refused(call, StackName="p", TemplateBody=OTHER_BODY, **extra, Parameters=[
            {"ParameterKey": "Name", "UsePreviousValue": True}]) == (
            "Parameters: [Given] must have values")
    assert cfn.describe_stacks(StackName="p")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    assert cfn.list_change_sets(StackName="p")["Summaries"] == []


def test_an_update_leaving_a_parameter_out_takes_its_default(cfn):
    cfn.create_stack(StackName="d", TemplateBody=BODY, Parameters=[
        *REQUIRED, {"ParameterKey": "Env", "ParameterValue": "prod"}])
    assert outputs(cfn, "d")["Env"] == "prod"
    keep = [{"ParameterKey": key, "UsePreviousValue": True} for key in ("Name", "Given")]
    cfn.update_stack(StackName="d", TemplateBody=OTHER_BODY, Parameters=keep)
    assert cfn.describe_stacks(StackName="d")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
    assert parameters(cfn, "d")["Env"] == "dev"  # the Default, not the previous "prod"
    assert outputs(cfn, "d")["Env"] == "dev"

    cfn.update_stack(StackName="d", UsePreviousTemplate=True, Parameters=[
        *keep, {"ParameterKey": "Env", "ParameterValue": "prod"}])
    assert parameters(cfn, "d")["Env"] == "prod"
    change_set = cfn.create_change_set(StackName="d", ChangeSetName="back", TemplateBody=BODY,
                                       Parameters=keep)
    cfn.get_waiter("change_set_create_complete").wait(ChangeSetName=change_set["Id"])
    described = cfn.describe_change_set(ChangeSetName=change_set["Id"])["Parameters"]
    assert {p["ParameterKey"]: p["ParameterValue"] for p in described} == {
        "Name": "n", "Env": "dev", "Zones": "a,b", "Ports": "80,443", "Given": "x,y",
        "Secret": "****"}
    cfn.execute_change_set(ChangeSetName=change_set["Id"])
    assert parameters(cfn, "d") == {"Name": "n", "Env": "dev", "Zones": "a,b",
                                    "Ports": "80,443", "Given": "x,y", "Secret": "****"}


def test_values_are_shown_as_given_and_lists_are_lists(cfn):
    cfn.create_stack(StackName="v", TemplateBody=BODY, Parameters=[
        *REQUIRED, {"ParameterKey": "Secret", "ParameterValue": "hunter2"}])
    assert parameters(cfn, "v") == {"Name": "n", "Env": "dev", "Zones": "a,b",
                                    "Ports": "80,443", "Given": "x,y", "Secret": "****"}
    # A list type's Default is a list, as a given value is (Fn::Select picks an item).
    assert outputs(cfn, "v") == {"Env": "dev", "SecondZone": "b", "SecondPort": "443",
                                 "SecondGiven": "y"}


def test_a_default_that_is_not_a_scalar_is_refused(cfn):
    listed = json.dumps({**TEMPLATE, "Parameters": {
        "Zones": {"Type": "CommaDelimitedList", "Default": ["a", "b"]}}})
    message = "Template format error: Every Default member must be a string."
    assert refused(cfn.validate_template, TemplateBody=listed) == message
    assert refused(cfn.create_stack, StackName="l", TemplateBody=listed) == message
    cfn.create_stack(StackName="l", TemplateBody=BODY, Parameters=REQUIRED)
    assert refused(cfn.update_stack, StackName="l", TemplateBody=listed) == message


def padded(size: int) -> str:
    """A valid template of exactly `size` bytes."""
    head = json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue",
                                           "Metadata": {"pad": ""}}}})
    return head.replace('"pad": ""', '"pad": "' + "x" * (size - len(head)) + '"')


def test_a_template_body_over_51200_bytes_is_refused(cfn):
    body = padded(51_201)
    message = ("1 validation error detected: Value '" + body + "' at 'templateBody' failed to "
               "satisfy constraint: Member must have length less than or equal to 51200")
    for call, params in ((cfn.validate_template, {}),
                         (cfn.get_template_summary, {}),
                         (cfn.create_stack, {"StackName": "big"}),
                         (cfn.create_change_set, {"StackName": "big", "ChangeSetName": "c",
                                                  "ChangeSetType": "CREATE"})):
        assert refused(call, TemplateBody=body, **params) == message
    assert cfn.list_stacks()["StackSummaries"] == []

    cfn.create_stack(StackName="big", TemplateBody=padded(51_200))  # the limit itself is fine
    assert refused(cfn.update_stack, StackName="big", TemplateBody=body) == message
    assert cfn.describe_stacks(StackName="big")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"


def test_a_template_url_holds_up_to_1000000_bytes(cfn, clean_emulator):
    s3 = clean_emulator.client("s3")
    s3.create_bucket(Bucket="templates")
    s3.put_object(Bucket="templates", Key="large", Body=padded(1_000_000).encode())
    s3.put_object(Bucket="templates", Key="huge", Body=padded(1_000_001).encode())
    url = f"{clean_emulator.endpoint_url}/templates/"
    cfn.create_stack(StackName="large", TemplateURL=url + "large")
    assert cfn.describe_stacks(StackName="large")["Stacks"][0]["StackStatus"] == \
        "CREATE_COMPLETE"
    for call, params in ((cfn.validate_template, {}),
                         (cfn.create_stack, {"StackName": "huge"}),
                         (cfn.update_stack, {"StackName": "large"})):
        assert refused(call, TemplateURL=url + "huge", **params) == (
            "Template may not exceed 1000000 bytes in size.")
    assert refused(cfn.validate_template, TemplateURL=url + "x" * 5_200) == (
        "1 validation error detected: Value '" + url + "x" * 5_200 + "' at 'templateURL' "
        "failed to satisfy constraint: Member must have length less than or equal to 5120")


def test_a_default_that_stays_the_same_updates_nothing_that_uses_it(cfn):
    """An update gives moto every parameter, those left out their Default: one that took the
    same Default before is no change, and what refers to it is not updated."""
    body = json.dumps({**TEMPLATE, "Resources": {
        "Q": {"Type": "AWS::SQS::Queue", "Properties": {
            "Tags": [{"Key": "env", "Value": {"Ref": "Env"}}]}},
        "Uses": {"Type": "AWS::SQS::Queue", "Properties": {
            "Tags": [{"Key": "name", "Value": {"Ref": "Name"}}]}}}})
    cfn.create_stack(StackName="same", TemplateBody=body, Parameters=REQUIRED)
    cfn.update_stack(StackName="same", UsePreviousTemplate=True, Parameters=[
        {"ParameterKey": "Name", "ParameterValue": "renamed"},
        {"ParameterKey": "Given", "UsePreviousValue": True}])
    events = cfn.describe_stack_events(StackName="same")["StackEvents"]
    updated = {e["LogicalResourceId"] for e in events if e["ResourceStatus"] == "UPDATE_COMPLETE"}
    assert updated == {"Uses", "same"}
    assert parameters(cfn, "same")["Name"] == "renamed"


def test_an_ssm_parameter_type_shows_the_name_and_its_resolved_value(cfn, clean_emulator):
    clean_emulator.client("ssm").put_parameter(Name="/app/env", Value="prod", Type="String")
    cfn.create_stack(StackName="ssm", TemplateBody=json.dumps({
        "Parameters": {"Env": {"Type": "AWS::SSM::Parameter::Value<String>",
                               "Default": "/app/env"}},
        "Resources": {"Q": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {"Env": {"Value": {"Ref": "Env"}}}}))
    stack = cfn.describe_stacks(StackName="ssm")["Stacks"][0]
    assert stack["Parameters"] == [{"ParameterKey": "Env", "ParameterValue": "/app/env",
                                    "ResolvedValue": "prod"}]
    assert outputs(cfn, "ssm") == {"Env": "prod"}


def test_the_template_body_limit_counts_characters(cfn):
    """51,200 characters, as the API model's length constraint (and the CDK, which sends a
    template inline by its length in characters): a body of non-ASCII text under it passes
    though its UTF-8 bytes are more."""
    wide = padded(51_200 - 20_000)
    body = wide.replace('"pad": "', '"pad": "' + "é" * 20_000)
    assert len(body) == 51_200 and len(body.encode()) > 51_200
    cfn.create_stack(StackName="wide", TemplateBody=body)
    assert cfn.describe_stacks(StackName="wide")["Stacks"][0]["StackStatus"] == \
        "CREATE_COMPLETE"
    longer = body.replace("é", "éé", 1)
    assert refused(cfn.validate_template, TemplateBody=longer).endswith(
        "Member must have length less than or equal to 51200")


def test_scalar_defaults_are_shown_the_same_after_create_and_update(cfn):
    body = json.dumps({"Parameters": {"On": {"Type": "String", "Default": True},
                                      "Count": {"Type": "Number", "Default": 3}},
                       "Resources": {"Q": {"Type": "AWS::SQS::Queue"}},
                       "Outputs": {"On": {"Value": {"Ref": "On"}}}})
    cfn.create_stack(StackName="scalars", TemplateBody=body)
    assert parameters(cfn, "scalars") == {"On": "true", "Count": "3"}
    assert outputs(cfn, "scalars") == {"On": "true"}
    cfn.update_stack(StackName="scalars", TemplateBody=body.replace('"Q"', '"R"'))
    assert parameters(cfn, "scalars") == {"On": "true", "Count": "3"}
    assert outputs(cfn, "scalars") == {"On": "true"}


def test_a_malformed_parameters_section_is_a_template_format_error(cfn):
    queue = {"Q": {"Type": "AWS::SQS::Queue"}}
    cfn.create_stack(StackName="fine", TemplateBody=json.dumps({"Resources": queue}))
    for body, message in (
            ("Parameters:\nResources:\n  Q:\n    Type: AWS::SQS::Queue\n",
             "[/Parameters] 'null' values are not allowed in templates"),
            (json.dumps({"Parameters": None, "Resources": queue}),
             "[/Parameters] 'null' values are not allowed in templates"),
            (json.dumps({"Parameters": {"A": "notadict"}, "Resources": queue}),
             "Every Parameters object must contain a Type member."),
            (json.dumps({"Parameters": ["A"], "Resources": queue}),
             "Parameters member must be an object.")):
        for call, params in ((cfn.create_stack, {"StackName": "bad"}),
                             (cfn.validate_template, {}),
                             (cfn.get_template_summary, {}),
                             (cfn.update_stack, {"StackName": "fine"}),
                             (cfn.create_change_set, {"StackName": "fine", "ChangeSetName": "c"}),
                             (cfn.create_change_set, {"StackName": "bad", "ChangeSetName": "c",
                                                      "ChangeSetType": "CREATE"})):
            assert refused(call, TemplateBody=body, **params) == (
                "Template format error: " + message)
    assert [s["StackName"] for s in cfn.list_stacks()["StackSummaries"]] == ["fine"]
    assert cfn.describe_stacks(StackName="fine")["Stacks"][0]["StackStatus"] == \
        "CREATE_COMPLETE"

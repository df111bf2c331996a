"""ValidateTemplate as CloudFormation answers it: a template's structure is checked, not its
resources' property values, and what is wrong is said in CloudFormation's words."""

import json

import pytest
from botocore.exceptions import ClientError

FARGATE_SERVICE = {"Resources": {
    "TaskDef": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
        "NetworkMode": "awsvpc", "RequiresCompatibilities": ["FARGATE"], "Cpu": "256",
        "Memory": "512", "ContainerDefinitions": [{"Name": "web", "Image": "nginx"}]}},
    # no NetworkConfiguration: a Fargate service needs one, but only CreateStack finds out
    "Service": {"Type": "AWS::ECS::Service", "Properties": {
        "TaskDefinition": {"Ref": "TaskDef"}, "LaunchType": "FARGATE", "DesiredCount": 1}}}}


def refusal(cfn, body) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        cfn.validate_template(TemplateBody=body)
    error = raised.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    return error["Error"]["Code"], error["Error"]["Message"]


def test_templates_aws_accepts_are_valid_whatever_their_property_values(clean_emulator):
    cfn = clean_emulator.client("cloudformation")
    answer = cfn.validate_template(TemplateBody=json.dumps(FARGATE_SERVICE))
    assert answer["Parameters"] == []
    queue = ("Description: a slow queue\nParameters:\n  Delay:\n    Type: Number\n"
             "    Default: 5000\n    Description: seconds\n  Secret:\n    Type: String\n"
             "    NoEcho: true\nResources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n"
             "      DelaySeconds: 5000\n  R:\n    Type: AWS::IAM::Role\n    Properties:\n"
             "      AssumeRolePolicyDocument: {}\n      Tags: [{Key: q, Value: !GetAtt Q.Arn}]\n")
    answer = cfn.validate_template(TemplateBody=queue)
    assert answer["Description"] == "a slow queue"
    assert answer["Parameters"] == [
        {"ParameterKey": "Delay", "DefaultValue": "5000", "NoEcho": False,
         "Description": "seconds"},
        {"ParameterKey": "Secret", "NoEcho": True}]
    assert answer["Capabilities"] == ["CAPABILITY_IAM"]
    assert answer["CapabilitiesReason"] == \
        "The following resource(s) require capabilities: [AWS::IAM::Role]"


@pytest.mark.parametrize("body, message", [
    ('{"Resources": {', "Template format error: JSON not well-formed. (line 1, column 16)"),
    ("Resources:\n  Q: [a\n", "Template format error: YAML not well-formed. (line 3, column 1)"),
    ('{"Description": "nothing"}',
     "Template format error: At least one Resources member must be defined."),
    ('{"Resources": {"Q": {"Properties": {}}}}',
     "Template format error: [/Resources/Q] Every Resources object must contain a Type member."),
    ('{"Resource": {"Q": {"Type": "AWS::SQS::Queue"}}}',
     "Invalid template property or properties [Resource]"),
    ('{"Resources": {"Q": {"Type": "AWS::SQS::Queue", "DependsOn": "Nope", "Properties": '
     '{"QueueName": {"Ref": "Missing"}}}}}',
     "Template format error: Unresolved resource dependencies [Missing, Nope] in the Resources "
     "block of the template"),
    ('{"Parameters": {"P": {"Type": "Strin"}}, "Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}',
     "Template format error: Unrecognized parameter type: Strin"),
    ('{"Resources": {"Q": {"Type": "AWS::SQS::Queu"}}}',
     "Template format error: Unrecognized resource types: [AWS::SQS::Queu]"),
])
def test_structural_errors_in_cloudformations_words(clean_emulator, body, message):
    assert refusal(clean_emulator.client("cloudformation"), body) == ("ValidationError", message)

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


def test_a_container_dependency_is_not_a_resource_dependency(clean_emulator):
    """An ECS container definition's DependsOn names containers, in {ContainerName, Condition}
    objects: only a resource's own DependsOn names resources."""
    cfn = clean_emulator.client("cloudformation")
    template = json.loads(json.dumps(FARGATE_SERVICE))
    containers = template["Resources"]["TaskDef"]["Properties"]["ContainerDefinitions"]
    containers.append({"Name": "side", "Image": "nginx",
                       "DependsOn": [{"ContainerName": "web", "Condition": "START"}]})
    assert cfn.validate_template(TemplateBody=json.dumps(template))["Parameters"] == []
    template["Resources"]["Service"]["DependsOn"] = ["TaskDef", "Nope"]
    assert refusal(cfn, json.dumps(template)) == (
        "ValidationError", "Template format error: Unresolved resource dependencies [Nope] in "
        "the Resources block of the template")


SAM_GLOBALS = ("Transform: AWS::Serverless-2016-10-31\nGlobals:\n  Function:\n    Timeout: 3\n"
               "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n"
               "      Handler: index.h\n      Runtime: python3.12\n      InlineCode: x\n"
               "      Role: !GetAtt MadeBySam.Arn\n")
LOOP = {"Transform": "AWS::LanguageExtensions", "Resources": {
    "Fn::ForEach::Queues": ["Name", ["A", "B"], {"Queue${Name}": {"Type": "AWS::SQS::Queue"}}],
    "Q": {"Type": "AWS::SQS::Queue"}}}
INCLUDED = {"Resources": {
    "Q": {"Type": "AWS::SQS::Queue", "Properties": {"RedrivePolicy": {
        "deadLetterTargetArn": {"Fn::GetAtt": ["FromSnippet", "Arn"]}}}},
    "Fn::Transform": {"Name": "AWS::Include", "Parameters": {"Location": "s3://b/snippet"}}}}


@pytest.mark.parametrize("body, transforms", [
    (SAM_GLOBALS, ["AWS::Serverless-2016-10-31"]),
    (json.dumps(LOOP), ["AWS::LanguageExtensions"]),
    (json.dumps(INCLUDED), None),
    ("{Resources: {Q: {Type: 'AWS::SQS::Queue'}}}", None),  # YAML's flow style
])
def test_templates_a_transform_completes_and_yaml_flow_style_are_valid(clean_emulator, body,
                                                                       transforms):
    answer = clean_emulator.client("cloudformation").validate_template(TemplateBody=body)
    assert answer["Parameters"] == []
    assert answer.get("DeclaredTransforms") == transforms


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
    ('{"Resources": {"Fn::ForEach::Q": ["N", ["A"], {"Q${N}": {"Type": "AWS::SQS::Queue"}}]}}',
     "Template format error: [/Resources/Fn::ForEach::Q] Every Resources member must be an "
     "object."),  # a loop without AWS::LanguageExtensions
    ('{"Globals": {}, "Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}',
     "Invalid template property or properties [Globals]"),  # SAM's, without SAM's transform
    ('{"Resources": {"Q": {"Type": "AWS::SQS::Queu"}}}',
     "Template format error: Unrecognized resource types: [AWS::SQS::Queu]"),
])
def test_structural_errors_in_cloudformations_words(clean_emulator, body, message):
    assert refusal(clean_emulator.client("cloudformation"), body) == ("ValidationError", message)

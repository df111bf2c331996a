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


def test_yaml_aliases_and_deep_nesting_are_refused_in_cloudformations_words(clean_emulator):
    """A few hundred bytes of nested YAML aliases expand to billions of nodes (a caller, a task
    among them, would hold the emulator's CPU): refused as CloudFormation refuses aliases; a
    template nested deeper than the parser goes is a format error, not a 500."""
    cloudformation = clean_emulator.client("cloudformation")
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 12)]
    body = ("Metadata:\n" + "".join(f"  {line}\n" for line in levels)
            + "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n"
              "      Tags: *a11\n")
    for call in (lambda: cloudformation.validate_template(TemplateBody=body),
                 lambda: cloudformation.create_stack(StackName="aliases", TemplateBody=body)):
        with pytest.raises(ClientError) as raised:
            call()
        assert raised.value.response["Error"]["Code"] == "ValidationError"
        assert "YAML aliases are not allowed" in raised.value.response["Error"]["Message"]
    deep = '{"Resources": ' + "[" * 100000 + "]" * 100000 + "}"
    with pytest.raises(ClientError) as raised:
        cloudformation.validate_template(TemplateBody=deep)
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def _circle() -> dict:
    """Two parameters that wait on each other (DependsOn one way, Ref the other), and one
    that waits on them."""
    def parameter(name: str, **more) -> dict:
        return {"Type": "AWS::SSM::Parameter", **more,
                "Properties": {"Name": f"/circle/{name}", "Type": "String", "Value": "v"}}

    first = parameter("a", DependsOn="B")
    second = parameter("b")
    second["Properties"]["Description"] = {"Ref": "A"}
    return {"Resources": {"A": first, "B": second, "C": parameter("c", DependsOn=["A"]),
                          "Free": parameter("free")}}


def test_a_circle_of_dependencies_is_refused_in_cloudformations_words(clean_emulator):
    cfn = clean_emulator.client("cloudformation")
    body = json.dumps(_circle())
    expected = ("ValidationError", "Circular dependency between resources: [A, B, C]")
    assert refusal(cfn, body) == expected
    for call in (lambda: cfn.create_stack(StackName="circle", TemplateBody=body),
                 lambda: cfn.create_change_set(StackName="circle", TemplateBody=body,
                                               ChangeSetName="cs", ChangeSetType="CREATE")):
        with pytest.raises(ClientError) as raised:
            call()
        assert (raised.value.response["Error"]["Code"],
                raised.value.response["Error"]["Message"]) == expected
    free = {"Resources": {"Free": _circle()["Resources"]["Free"]}}
    cfn.create_stack(StackName="circle", TemplateBody=json.dumps(free))
    with pytest.raises(ClientError) as raised:
        cfn.update_stack(StackName="circle", TemplateBody=body)
    assert raised.value.response["Error"]["Message"] == expected[1]


def test_a_stack_made_with_a_circle_before_they_were_refused_still_deletes(clean_emulator,
                                                                           monkeypatch):
    from emulator.cloudformation import dependency_cycles

    monkeypatch.setattr(dependency_cycles, "refuse", lambda template: None)
    cfn, ssm = clean_emulator.client("cloudformation"), clean_emulator.client("ssm")
    cfn.create_stack(StackName="circle", TemplateBody=json.dumps(_circle()))
    stack = cfn.describe_stacks(StackName="circle")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    assert len(ssm.describe_parameters()["Parameters"]) == 4
    cfn.delete_stack(StackName="circle")
    assert ssm.describe_parameters()["Parameters"] == []
    with pytest.raises(ClientError):  # deleted: gone by its name
        cfn.describe_stacks(StackName="circle")

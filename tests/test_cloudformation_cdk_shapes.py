"""Resources as the CDK's constructs write them, next to a stack's ECS ones: an SSM parameter
that names none (`ssm.StringParameter`), made, updated and deleted through CloudFormation."""

import json

from tests.test_cloudformation_deploy import outputs
from tests.test_cloudformation_ecs import status


def test_an_ssm_parameter_without_a_name_gets_one_and_keeps_it(clean_emulator):
    cfn, ssm = clean_emulator.client("cloudformation"), clean_emulator.client("ssm")
    body = {"Resources": {"Secret": {"Type": "AWS::SSM::Parameter",
                                     "Properties": {"Type": "String", "Value": "one"}}},
            "Outputs": {"Name": {"Value": {"Ref": "Secret"}}}}
    cfn.create_stack(StackName="param", TemplateBody=json.dumps(body))
    assert status(cfn, "param") == "CREATE_COMPLETE"
    name = outputs(cfn, "param")["Name"]
    assert name.startswith("param-Secret-")
    assert ssm.get_parameter(Name=name)["Parameter"]["Value"] == "one"

    body["Resources"]["Secret"]["Properties"]["Value"] = "two"  # "No interruption": same name
    cfn.update_stack(StackName="param", TemplateBody=json.dumps(body))
    assert status(cfn, "param") == "UPDATE_COMPLETE"
    assert outputs(cfn, "param")["Name"] == name
    assert ssm.get_parameter(Name=name)["Parameter"]["Value"] == "two"

    cfn.delete_stack(StackName="param")
    assert ssm.describe_parameters()["Parameters"] == []

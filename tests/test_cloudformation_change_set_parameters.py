"""An UPDATE change set's template is the stack's from then on, through boto3: its parameters
(one it adds among them) are what DescribeStacks shows, what a UsePreviousTemplate update and
UsePreviousValue read, what a later failed update rolls back to, and its Outputs are shown."""

import json

from tests.test_cloudformation_deploy import outputs
from tests.test_cloudformation_parameters import parameters
from tests.test_cloudformation_stack_calls import cfn, refused  # noqa: F401 (cfn: a fixture)

QUEUE = {"Q": {"Type": "AWS::SQS::Queue"}}
FIRST = json.dumps({"Parameters": {"Old": {"Type": "String"}}, "Resources": QUEUE,
                    "Outputs": {"O": {"Value": {"Ref": "Old"}}}})
ADDED = {"Old": {"Type": "String"}, "New": {"Type": "String", "Default": "n"}}
SECOND = json.dumps({"Parameters": ADDED, "Resources": QUEUE,
                     "Outputs": {"N": {"Value": {"Ref": "New"}}}})
# A queue name SQS refuses: the update fails and is rolled back.
FAILING = json.dumps({"Parameters": ADDED, "Resources": {
    **QUEUE, "Bad": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "bad name!!"}}},
    "Outputs": {"N": {"Value": {"Ref": "New"}}}})
KEEP_OLD = {"ParameterKey": "Old", "UsePreviousValue": True}


def status(cfn, name):
    return cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]


def through_change_set(cfn, name, new_value):
    """A stack made with FIRST, then given SECOND (New=`new_value`) by a change set."""
    cfn.create_stack(StackName=name, TemplateBody=FIRST,
                     Parameters=[{"ParameterKey": "Old", "ParameterValue": "o"}])
    change_set = cfn.create_change_set(
        StackName=name, ChangeSetName="c", TemplateBody=SECOND,
        Parameters=[KEEP_OLD, {"ParameterKey": "New", "ParameterValue": new_value}])
    cfn.get_waiter("change_set_create_complete").wait(ChangeSetName=change_set["Id"])
    cfn.execute_change_set(ChangeSetName=change_set["Id"])
    cfn.get_waiter("stack_update_complete").wait(StackName=name)


def test_a_change_set_s_template_and_parameters_are_the_stack_s(cfn):
    through_change_set(cfn, "cs", "given")
    assert parameters(cfn, "cs") == {"Old": "o", "New": "given"}
    assert outputs(cfn, "cs") == {"N": "given"}
    stack = cfn.describe_stacks(StackName="cs")["Stacks"][0]
    assert cfn.get_template(StackName="cs")["TemplateBody"] == json.loads(SECOND)
    assert stack["StackStatus"] == "UPDATE_COMPLETE"

    # UsePreviousTemplate is the change set's template, with New in it.
    cfn.update_stack(StackName="cs", UsePreviousTemplate=True,
                     Parameters=[KEEP_OLD, {"ParameterKey": "New", "ParameterValue": "x"}])
    assert status(cfn, "cs") == "UPDATE_COMPLETE"
    assert parameters(cfn, "cs") == {"Old": "o", "New": "x"}
    assert outputs(cfn, "cs") == {"N": "x"}


def test_use_previous_value_reads_a_parameter_a_change_set_added(cfn):
    through_change_set(cfn, "prev", "given")
    cfn.update_stack(StackName="prev", UsePreviousTemplate=True, Parameters=[
        {"ParameterKey": "Old", "ParameterValue": "o2"},
        {"ParameterKey": "New", "UsePreviousValue": True}])
    assert status(cfn, "prev") == "UPDATE_COMPLETE"
    assert parameters(cfn, "prev") == {"Old": "o2", "New": "given"}


def test_a_failed_update_after_a_change_set_rolls_back_to_it(cfn):
    through_change_set(cfn, "rb", "given")
    cfn.update_stack(StackName="rb", TemplateBody=FAILING,
                     Parameters=[KEEP_OLD, {"ParameterKey": "New", "ParameterValue": "y"}])
    assert status(cfn, "rb") == "UPDATE_ROLLBACK_COMPLETE"
    assert parameters(cfn, "rb") == {"Old": "o", "New": "given"}
    assert outputs(cfn, "rb") == {"N": "given"}
    assert cfn.get_template(StackName="rb")["TemplateBody"] == json.loads(SECOND)


def test_a_parameter_a_change_set_removed_is_not_in_use_previous_template(cfn):
    """The other way round: a parameter the change set's template no longer declares is not
    one a UsePreviousTemplate update may give."""
    cfn.create_stack(StackName="gone", TemplateBody=SECOND,
                     Parameters=[{"ParameterKey": "Old", "ParameterValue": "o"}])
    change_set = cfn.create_change_set(StackName="gone", ChangeSetName="c", TemplateBody=FIRST,
                                       Parameters=[KEEP_OLD])
    cfn.get_waiter("change_set_create_complete").wait(ChangeSetName=change_set["Id"])
    cfn.execute_change_set(ChangeSetName=change_set["Id"])
    cfn.get_waiter("stack_update_complete").wait(StackName="gone")
    assert parameters(cfn, "gone") == {"Old": "o"}
    assert outputs(cfn, "gone") == {"O": "o"}
    assert refused(cfn.update_stack, StackName="gone", UsePreviousTemplate=True, Parameters=[
        KEEP_OLD, {"ParameterKey": "New", "ParameterValue": "x"}]) == (
        "Parameters: [New] do not exist in the template")

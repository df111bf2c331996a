"""The stack calls' own rules, through boto3: termination protection (DeleteStack refused,
UpdateTerminationProtection), the states UpdateStack refuses, "No updates are to be performed.",
and ClientRequestToken's retries of CreateStack and UpdateStack."""

import json

import pytest
from botocore.exceptions import ClientError

QUEUE = json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}})
TWO_QUEUES = json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue"},
                                       "R": {"Type": "AWS::SQS::Queue"}}})
# Defaults as a YAML or JSON template may write them: a string, a number, a list's string.
WITH_DEFAULTS = json.dumps({
    "Parameters": {"Env": {"Type": "String", "Default": "dev"},
                   "N": {"Type": "Number", "Default": 3},
                   "Zones": {"Type": "CommaDelimitedList", "Default": "a,b"}},
    "Resources": {"Q": {"Type": "AWS::SQS::Queue"}}})
PREVIOUS = [{"ParameterKey": key, "UsePreviousValue": True} for key in ("Env", "N", "Zones")]
NO_CHANGES = ("The submitted information didn't contain changes. Submit different information "
              "to create a change set.")


@pytest.fixture
def cfn(clean_emulator):
    return clean_emulator.client("cloudformation")


def refused(call, **params) -> str:
    with pytest.raises(ClientError) as excinfo:
        call(**params)
    response = excinfo.value.response
    assert (response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]) == (
        "ValidationError", 400)
    return response["Error"]["Message"]


def stack_of(cfn, name) -> dict:
    return cfn.describe_stacks(StackName=name)["Stacks"][0]


def test_termination_protection_holds_off_delete_until_lifted(cfn):
    stack_id = cfn.create_stack(StackName="kept", TemplateBody=QUEUE,
                                EnableTerminationProtection=True)["StackId"]
    assert stack_of(cfn, "kept")["EnableTerminationProtection"] is True
    assert refused(cfn.delete_stack, StackName="kept") == (
        "Stack [kept] cannot be deleted while TerminationProtection is enabled")
    assert stack_of(cfn, "kept")["StackStatus"] == "CREATE_COMPLETE"
    assert cfn.update_termination_protection(
        StackName="kept", EnableTerminationProtection=False)["StackId"] == stack_id
    assert stack_of(cfn, "kept")["EnableTerminationProtection"] is False
    cfn.delete_stack(StackName="kept")
    assert stack_of(cfn, stack_id)["StackStatus"] == "DELETE_COMPLETE"
    assert refused(cfn.update_termination_protection, StackName="kept",
                   EnableTerminationProtection=True) == "Stack [kept] does not exist"


def test_an_update_that_changes_nothing_is_refused(cfn):
    cfn.create_stack(StackName="same", TemplateBody=QUEUE, Tags=[{"Key": "a", "Value": "1"}])
    for params in ({"TemplateBody": QUEUE}, {"UsePreviousTemplate": True},
                   {"TemplateBody": QUEUE, "Tags": [{"Key": "a", "Value": "1"}]}):
        assert refused(cfn.update_stack, StackName="same", **params) == (
            "No updates are to be performed.")
    assert stack_of(cfn, "same")["StackStatus"] == "CREATE_COMPLETE"
    # New tags, or a new template, are an update.
    cfn.update_stack(StackName="same", TemplateBody=QUEUE, Tags=[{"Key": "a", "Value": "2"}])
    assert stack_of(cfn, "same")["StackStatus"] == "UPDATE_COMPLETE"
    cfn.update_stack(StackName="same", TemplateBody=TWO_QUEUES)
    assert {r["LogicalResourceId"] for r in cfn.describe_stack_resources(
        StackName="same")["StackResources"]} == {"Q", "R"}


def test_a_rolled_back_create_is_not_updated(cfn):
    broken = json.dumps({"Resources": {"Service": {"Type": "AWS::ECS::Service", "Properties": {
        "Cluster": "no-such-cluster", "DesiredCount": 0, "TaskDefinition": "nope:1"}}}})
    stack_id = cfn.create_stack(StackName="broken", TemplateBody=broken)["StackId"]
    assert stack_of(cfn, "broken")["StackStatus"] == "ROLLBACK_COMPLETE"
    words = f"Stack:{stack_id} is in ROLLBACK_COMPLETE state and can not be updated."
    assert refused(cfn.update_stack, StackName="broken", TemplateBody=QUEUE) == words
    # Nor through a change set (SAM's and the CDK's way), in the same words.
    assert refused(cfn.create_change_set, StackName="broken", ChangeSetName="again",
                   ChangeSetType="UPDATE", TemplateBody=QUEUE) == words


def test_a_retry_with_the_same_token_is_the_same_call(cfn):
    stack_id = cfn.create_stack(StackName="retried", TemplateBody=QUEUE,
                                ClientRequestToken="create-1")["StackId"]
    assert cfn.create_stack(StackName="retried", TemplateBody=QUEUE,
                            ClientRequestToken="create-1")["StackId"] == stack_id
    with pytest.raises(ClientError) as excinfo:  # another token is another create
        cfn.create_stack(StackName="retried", TemplateBody=QUEUE, ClientRequestToken="create-2")
    assert excinfo.value.response["Error"]["Code"] == "AlreadyExistsException"

    assert cfn.update_stack(StackName="retried", TemplateBody=TWO_QUEUES,
                            ClientRequestToken="update-1")["StackId"] == stack_id
    # The update's retry is answered as the update was, not "No updates are to be performed."
    assert cfn.update_stack(StackName="retried", TemplateBody=TWO_QUEUES,
                            ClientRequestToken="update-1")["StackId"] == stack_id
    assert refused(cfn.update_stack, StackName="retried", TemplateBody=TWO_QUEUES,
                   ClientRequestToken="update-2") == "No updates are to be performed."
    events = cfn.describe_stack_events(StackName="retried")["StackEvents"]
    stack_events = [(e["ResourceStatus"], e.get("ClientRequestToken")) for e in events
                    if e["LogicalResourceId"] == "retried"]
    # Each operation's events carry its token, once each: the retries added none.
    assert stack_events == [("UPDATE_COMPLETE", "update-1"),
                            ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "update-1"),
                            ("UPDATE_IN_PROGRESS", "update-1"),
                            ("CREATE_COMPLETE", "create-1"),
                            ("CREATE_IN_PROGRESS", "create-1")]


def test_a_change_set_that_changes_nothing_fails_as_on_aws(cfn):
    """SAM and the CDK create a change set and read "no changes" from its FAILED status and
    reason; the stack is left as it was."""
    with_parameter = json.dumps({"Parameters": {"Size": {"Type": "String"}},
                                 "Resources": {"Q": {"Type": "AWS::SQS::Queue"}}})
    cfn.create_stack(StackName="steady", TemplateBody=with_parameter,
                     Parameters=[{"ParameterKey": "Size", "ParameterValue": "1"}])
    for name, params in (("same", {"TemplateBody": with_parameter,
                                   "Parameters": [{"ParameterKey": "Size",
                                                   "ParameterValue": "1"}]}),
                         ("previous", {"UsePreviousTemplate": True, "Parameters": [
                             {"ParameterKey": "Size", "UsePreviousValue": True}]})):
        cfn.create_change_set(StackName="steady", ChangeSetName=name, ChangeSetType="UPDATE",
                              **params)
        described = cfn.describe_change_set(StackName="steady", ChangeSetName=name)
        assert (described["Status"], described["ExecutionStatus"], described["StatusReason"],
                described["Changes"]) == ("FAILED", "UNAVAILABLE", NO_CHANGES, [])
        with pytest.raises(ClientError) as excinfo:
            cfn.execute_change_set(StackName="steady", ChangeSetName=name)
        assert excinfo.value.response["Error"]["Code"] == "InvalidChangeSetStatus"
    # A new parameter value is a change: that change set is AVAILABLE and runs.
    cfn.create_change_set(StackName="steady", ChangeSetName="bigger", ChangeSetType="UPDATE",
                          UsePreviousTemplate=True,
                          Parameters=[{"ParameterKey": "Size", "ParameterValue": "2"}])
    assert cfn.describe_change_set(StackName="steady", ChangeSetName="bigger")[
        "ExecutionStatus"] == "AVAILABLE"
    cfn.execute_change_set(StackName="steady", ChangeSetName="bigger")
    assert stack_of(cfn, "steady")["StackStatus"] == "UPDATE_COMPLETE"


def change_set_of(cfn, stack, name, **params) -> dict:
    cfn.create_change_set(StackName=stack, ChangeSetName=name, ChangeSetType="UPDATE", **params)
    return cfn.describe_change_set(StackName=stack, ChangeSetName=name)


def unchanged(described) -> bool:
    return (described["Status"], described["ExecutionStatus"], described["StatusReason"],
            described["Changes"]) == ("FAILED", "UNAVAILABLE", NO_CHANGES, [])


@pytest.mark.parametrize("given", [
    [],  # each parameter took its default at create
    [{"ParameterKey": "Env", "ParameterValue": "dev"}, {"ParameterKey": "N", "ParameterValue": "3"},
     {"ParameterKey": "Zones", "ParameterValue": "a,b"}],  # the defaults written out
    [{"ParameterKey": "Env", "ParameterValue": "prod"},
     {"ParameterKey": "N", "ParameterValue": "5"},
     {"ParameterKey": "Zones", "ParameterValue": "c"}],  # values of its own
], ids=["defaults", "defaults-written-out", "given"])
def test_a_redeploy_with_previous_values_changes_nothing(cfn, given):
    """`aws cloudformation deploy` sends UsePreviousValue for every parameter it does not
    override, and reads only a FAILED change set with CloudFormation's reason as "no changes";
    a 400 failed the redeploy. Numbers and lists are compared as given, not as resolved."""
    cfn.create_stack(StackName="redeploy", TemplateBody=WITH_DEFAULTS, Parameters=given)
    written_out = [{"ParameterKey": p["ParameterKey"], "ParameterValue": p["ParameterValue"]}
                   for p in stack_of(cfn, "redeploy")["Parameters"]]
    for name, params in (("previous", {"TemplateBody": WITH_DEFAULTS, "Parameters": PREVIOUS}),
                         ("previous-template", {"UsePreviousTemplate": True,
                                                "Parameters": PREVIOUS}),
                         ("written-out", {"TemplateBody": WITH_DEFAULTS,
                                          "Parameters": written_out[:2] + PREVIOUS[2:]})):
        assert unchanged(change_set_of(cfn, "redeploy", name, **params)), name
    assert refused(cfn.update_stack, StackName="redeploy", TemplateBody=WITH_DEFAULTS,
                   Parameters=PREVIOUS) == "No updates are to be performed."
    # One new value is a change; the others keep their previous values, a list's too (moto's
    # resolved list, given back, was split again and the update rolled back).
    described = change_set_of(cfn, "redeploy", "bigger", TemplateBody=WITH_DEFAULTS,
                              Parameters=PREVIOUS[:1] + [{"ParameterKey": "N",
                                                          "ParameterValue": "7"}] + PREVIOUS[2:])
    assert (described["Status"], described["ExecutionStatus"]) == ("CREATE_COMPLETE", "AVAILABLE")
    cfn.execute_change_set(StackName="redeploy", ChangeSetName="bigger")
    stack = stack_of(cfn, "redeploy")
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    values = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    before = {p["ParameterKey"]: p["ParameterValue"] for p in written_out}
    assert (values["Env"], values["N"]) == (before["Env"], "7")
    assert unchanged(change_set_of(cfn, "redeploy", "again", UsePreviousTemplate=True,
                                   Parameters=PREVIOUS))


def test_a_change_set_of_new_tags_alone_is_a_change(cfn):
    cfn.create_stack(StackName="tagged", TemplateBody=QUEUE, Tags=[{"Key": "a", "Value": "1"}])
    assert unchanged(change_set_of(cfn, "tagged", "same", TemplateBody=QUEUE,
                                   Tags=[{"Key": "a", "Value": "1"}]))
    described = change_set_of(cfn, "tagged", "retagged", TemplateBody=QUEUE,
                              Tags=[{"Key": "a", "Value": "2"}])
    assert (described["Status"], described["ExecutionStatus"]) == ("CREATE_COMPLETE", "AVAILABLE")


def test_a_redeploy_from_s3_that_changes_nothing_is_no_update(cfn, clean_emulator):
    """`sam deploy` and `aws cloudformation deploy --s3-bucket` pass a TemplateURL: the body
    there is compared with the stack's, as a TemplateBody is."""
    s3 = clean_emulator.client("s3")
    s3.create_bucket(Bucket="templates")
    s3.put_object(Bucket="templates", Key="t.yaml", Body=WITH_DEFAULTS.encode())
    url = f"{clean_emulator.endpoint_url}/templates/t.yaml"
    cfn.create_stack(StackName="froms3", TemplateURL=url)
    assert unchanged(change_set_of(cfn, "froms3", "same", TemplateURL=url, Parameters=PREVIOUS))
    assert refused(cfn.update_stack, StackName="froms3", TemplateURL=url,
                   Parameters=PREVIOUS) == "No updates are to be performed."


def test_a_previous_value_of_a_parameter_the_stack_never_had_is_refused(cfn):
    cfn.create_stack(StackName="newparam", TemplateBody=QUEUE)
    for call in (cfn.update_stack, cfn.create_change_set):
        extra = {"ChangeSetName": "c"} if call == cfn.create_change_set else {}
        message = refused(call, StackName="newparam", TemplateBody=WITH_DEFAULTS,
                          Parameters=[{"ParameterKey": "Env", "UsePreviousValue": True}], **extra)
        assert message == ("Invalid input for parameter key Env. Cannot specify "
                           "usePreviousValue as true for a parameter key not in the previous "
                           "template")


def test_a_change_set_without_a_type_is_an_update_as_on_aws(cfn):
    """ChangeSetType defaults to UPDATE: of an existing stack, a change set of it; of none, the
    stack does not exist."""
    cfn.create_stack(StackName="typeless", TemplateBody=QUEUE)
    cfn.create_change_set(StackName="typeless", ChangeSetName="c", TemplateBody=WITH_DEFAULTS)
    described = cfn.describe_change_set(StackName="typeless", ChangeSetName="c")
    assert described["StackId"] == stack_of(cfn, "typeless")["StackId"]
    assert len(cfn.describe_stacks()["Stacks"]) == 1
    assert "does not exist" in refused(cfn.create_change_set, StackName="nosuch",
                                       ChangeSetName="c", TemplateBody=QUEUE)

"""A stack's service role (RoleARN, cloudformation/stack_role.py) where a reviewer found it
leaking: old change sets, other accounts' roles, failed updates, and a service resource the role
may half change. The emulator of test_iam_stacks (ECS_EMULATOR_ENFORCE_IAM); no containers run
(the services here want no tasks).
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from emulator.cloudformation import stack_life
from tests.test_iam_enforcement import ACCOUNT, allow, user_with
from tests.test_iam_stacks import (STACK_CALLS, cloudformation_role, enforced,  # noqa: F401
                                   events_of, handle)

CHANGE_SET_CALLS = ("cloudformation:UpdateStack", "cloudformation:DeleteStack",
                    "cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet",
                    "cloudformation:DescribeChangeSet")


def deployer(handle, name: str):
    """A stack caller who may pass any role and make, update and delete stacks, nothing else."""
    return handle.client("cloudformation", **user_with(handle, name, json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": [*STACK_CALLS, *CHANGE_SET_CALLS], "Resource": "*"},
            {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}]})))


def log_groups(*names: str) -> str:
    return json.dumps({"Resources": {
        f"Logs{i}": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": name}}
        for i, name in enumerate(names)}})


def execution_status(cloudformation, name: str) -> str:
    return cloudformation.describe_change_set(StackName="logs", ChangeSetName=name)[
        "ExecutionStatus"]


def test_an_update_makes_the_stacks_other_change_sets_obsolete(handle):
    """An old change set made with a role the admin has since replaced cannot bring it back;
    a change set whose update fails leaves the stack's role as it was."""
    logs_only = allow("logs:CreateLogGroup", "logs:DeleteLogGroup")
    old = cloudformation_role(handle, "old", logs_only)
    new = cloudformation_role(handle, "new", logs_only)
    cloudformation = deployer(handle, "admin")
    cloudformation.create_stack(StackName="logs", TemplateBody=log_groups("/a"), RoleARN=old)
    cloudformation.create_change_set(StackName="logs", ChangeSetName="stale", RoleARN=old,
                                     ChangeSetType="UPDATE", TemplateBody=log_groups("/a", "/b"))
    # The admin replaces the role: the change set made before is OBSOLETE, and refused.
    cloudformation.update_stack(StackName="logs", TemplateBody=log_groups("/a", "/c"),
                                RoleARN=new)
    assert execution_status(cloudformation, "stale") == "OBSOLETE"
    with pytest.raises(ClientError) as refused:
        cloudformation.execute_change_set(StackName="logs", ChangeSetName="stale")
    error = refused.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (
        "InvalidChangeSetStatus", 400)
    assert "cannot be executed in its current execution status of [OBSOLETE]" in error[
        "Error"]["Message"]
    stack = cloudformation.describe_stacks(StackName="logs")["Stacks"][0]
    assert (stack["StackStatus"], stack["RoleARN"]) == ("UPDATE_COMPLETE", new)
    # Executing one makes the others OBSOLETE too.
    for name, groups in (("one", ("/a", "/d")), ("two", ("/a", "/e"))):
        cloudformation.create_change_set(StackName="logs", ChangeSetName=name,
                                         ChangeSetType="UPDATE", TemplateBody=log_groups(*groups))
    cloudformation.execute_change_set(StackName="logs", ChangeSetName="one")
    assert [execution_status(cloudformation, n) for n in ("one", "two")] == [
        "EXECUTE_COMPLETE", "OBSOLETE"]
    # A change set naming the old role, whose update the old role cannot do (a queue): it
    # fails and rolls back, and the stack keeps the role it had.
    cloudformation.create_change_set(
        StackName="logs", ChangeSetName="queue", ChangeSetType="UPDATE", RoleARN=old,
        TemplateBody=json.dumps({"Resources": {
            **json.loads(log_groups("/a", "/d"))["Resources"],
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "q"}}}}))
    cloudformation.execute_change_set(StackName="logs", ChangeSetName="queue")
    assert execution_status(cloudformation, "queue") == "EXECUTE_FAILED"
    stack = cloudformation.describe_stacks(StackName="logs")["Stacks"][0]
    assert (stack["StackStatus"], stack["RoleARN"]) == ("UPDATE_ROLLBACK_COMPLETE", new)
    assert "assumed-role/old/AWSCloudFormation" in events_of(
        handle, "logs", "CREATE_FAILED")["Queue"]


def test_a_role_of_another_account_cannot_be_assumed(handle):
    other = "111122223333"
    iam = handle.client("iam", account=other)
    role = iam.create_role(RoleName="deploy", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRole",
            "Principal": {"Service": "cloudformation.amazonaws.com"}}]}))["Role"]["Arn"]
    assert role.split(":")[4] == other
    iam.put_role_policy(RoleName="deploy", PolicyName="p", PolicyDocument=allow("*"))
    with pytest.raises(ClientError) as invalid:
        deployer(handle, "crosser").create_stack(StackName="x", TemplateBody=log_groups("/x"),
                                                 RoleARN=role)
    assert (invalid.value.response["Error"]["Code"],
            invalid.value.response["Error"]["Message"]) == (
        "ValidationError", f"Role {role} is invalid or cannot be assumed")
    assert handle.client("logs").describe_log_groups()["logGroups"] == []


def service_template(**service: object) -> str:
    return json.dumps({"Resources": {
        "Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {"ClusterName": "roles"}},
        "Definition": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
            "Family": "roles", "ContainerDefinitions": [
                {"Name": "app", "Image": "busybox", "Memory": 32}]}},
        "Service": {"Type": "AWS::ECS::Service", "Properties": {
            "Cluster": {"Ref": "Cluster"}, "ServiceName": "svc", "DesiredCount": 0,
            "TaskDefinition": {"Ref": "Definition"}, **service}}}})


def test_a_service_the_role_half_updates_is_rolled_back_and_its_drain_is_checked(handle):
    """The role may update the service but not tag it: the update is refused after
    UpdateService changed the service, and the rollback updates it back. A role that may
    delete the service but not describe it cannot tell it drained: the delete fails."""
    untagging = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ecs:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "ecs:TagResource", "Resource": "*"}]})
    role = cloudformation_role(handle, "services", untagging)
    cloudformation = deployer(handle, "operator")
    cloudformation.create_stack(StackName="svc", TemplateBody=service_template(), RoleARN=role)
    assert cloudformation.describe_stacks(StackName="svc")["Stacks"][0][
        "StackStatus"] == "CREATE_COMPLETE"
    cloudformation.update_stack(StackName="svc", TemplateBody=service_template(
        PropagateTags="SERVICE", Tags=[{"Key": "team", "Value": "a"}]))
    assert cloudformation.describe_stacks(StackName="svc")["Stacks"][0][
        "StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert "ecs:TagResource" in events_of(handle, "svc", "UPDATE_FAILED")["Service"]
    ecs = handle.client("ecs")
    service = ecs.describe_services(cluster="roles", services=["svc"],
                                    include=["TAGS"])["services"][0]
    assert (service.get("propagateTags", "NONE"), service.get("tags", [])) == ("NONE", [])
    # The delete with a role that may not describe the service fails, in the role's words.
    blind = cloudformation_role(handle, "blind", allow(
        "ecs:DeleteService", "ecs:DeleteCluster", "ecs:DeregisterTaskDefinition"))
    cloudformation.delete_stack(StackName="svc", RoleARN=blind)
    assert cloudformation.describe_stacks(StackName="svc")["Stacks"][0][
        "StackStatus"] == "DELETE_FAILED"
    assert (f"arn:aws:sts::{ACCOUNT}:assumed-role/blind/AWSCloudFormation is not authorized "
            "to perform: ecs:DescribeServices") in events_of(
        handle, "svc", "DELETE_FAILED")["Service"]
    cloudformation.delete_stack(StackName="svc", RoleARN=role)  # the stack's own role may
    assert [s["StackName"] for s in handle.client("cloudformation").list_stacks(
        StackStatusFilter=["DELETE_COMPLETE"])["StackSummaries"]] == ["svc"]


class _Stack:
    """Just what stack_life's update wrapper reads of moto's Stack."""

    def __init__(self, role_arn):
        self.role_arn, self.template, self.status, self.stack_id = role_arn, "{}", "", "s"
        self.template_dict = {}
        self.resource_map = type("Map", (), {"_template": {}, "input_parameters": {},
                                             "resolved_parameters": {},
                                             "_parsed_resources": {}})()


def test_an_update_acts_with_the_role_the_stack_has_once_it_holds_its_lock(monkeypatch):
    """UpdateStack's handler reads the stack's role before the update takes the stack's lock;
    an update that held it may have replaced the role meanwhile: the one the stack has then is
    the one acted with (unless the call names its own)."""
    from emulator.cloudformation import resource

    monkeypatch.setattr(stack_life, "enforcing", lambda: True)
    seen = []
    update = stack_life.wrap_stack_update(
        lambda stack, template, role_arn, parameters, tags: seen.append(
            (resource._ACTING_ROLE.get(), role_arn)))
    stack = _Stack("arn:aws:iam::000000000000:role/new")
    with resource.acting_as("arn:aws:iam::000000000000:role/old"):  # as the handler read it
        update(stack, "{}")
        update(stack, "{}", role_arn="arn:aws:iam::000000000000:role/named")
    assert seen == [("arn:aws:iam::000000000000:role/new", "arn:aws:iam::000000000000:role/new"),
                    ("arn:aws:iam::000000000000:role/named",
                     "arn:aws:iam::000000000000:role/named")]

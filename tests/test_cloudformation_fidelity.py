"""CloudFormation stacks as AWS answers them where the emulator's first answer differed: task sets
in a stack (an EXTERNAL-controller service), CloudFormation's own property names, unknown
resource types, the ECS/ECR types implemented or refused, replacements the resource reference
asks for, required properties."""

import json

import pytest
from botocore.exceptions import ClientError

from tests.test_cloudformation_deploy import outputs
from tests.waiting import wait_for

SERVE = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]


def status(cfn, stack):
    return cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]


def failure_reasons(cfn, stack):
    return [e.get("ResourceStatusReason", "") for e in
            cfn.describe_stack_events(StackName=stack)["StackEvents"]
            if e["ResourceStatus"].endswith("_FAILED")]


def task_set_template(image, scale=100):
    return {
        "Resources": {
            "Cluster": {"Type": "AWS::ECS::Cluster"},
            "TaskDef": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
                "ContainerDefinitions": [{"Name": "main", "Image": image, "Memory": 64,
                                          "Command": SERVE}]}},
            "Service": {"Type": "AWS::ECS::Service", "Properties": {
                "Cluster": {"Ref": "Cluster"}, "DesiredCount": 2,
                "DeploymentController": {"Type": "EXTERNAL"}}},
            "Blue": {"Type": "AWS::ECS::TaskSet", "Properties": {
                "Cluster": {"Ref": "Cluster"}, "Service": {"Ref": "Service"},
                "TaskDefinition": {"Ref": "TaskDef"}, "ExternalId": "blue",
                "Scale": {"Unit": "PERCENT", "Value": scale}}},
            "Primary": {"Type": "AWS::ECS::PrimaryTaskSet", "Properties": {
                "Cluster": {"Ref": "Cluster"}, "Service": {"Ref": "Service"},
                "TaskSetId": {"Fn::GetAtt": ["Blue", "Id"]}}},
        },
        "Outputs": {"Cluster": {"Value": {"Ref": "Cluster"}},
                    "TaskSet": {"Value": {"Ref": "Blue"}}},
    }


@pytest.mark.docker
def test_external_service_with_task_sets_in_a_stack(clean_emulator, busybox_image):
    """An EXTERNAL-controller service has no deployments: the stack completes once it is ACTIVE,
    and its task sets run its tasks (a Scale change updates the task set in place)."""
    cfn, ecs = clean_emulator.client("cloudformation"), clean_emulator.client("ecs")
    cfn.create_stack(StackName="ext", TemplateBody=json.dumps(task_set_template(busybox_image)))
    assert status(cfn, "ext") == "CREATE_COMPLETE", failure_reasons(cfn, "ext")
    out = outputs(cfn, "ext")
    cluster, set_id = out["Cluster"], out["TaskSet"]
    assert set_id.startswith("ecs-svc/")
    service = ecs.list_services(cluster=cluster)["serviceArns"][0]

    def sets():
        return {s["id"]: s for s in ecs.describe_task_sets(
            cluster=cluster, service=service)["taskSets"]}

    assert sets()[set_id]["status"] == "PRIMARY" and sets()[set_id]["externalId"] == "blue"
    wait_for(sets, lambda found: found[set_id]["runningCount"] == 2
             and found[set_id]["stabilityStatus"] == "STEADY_STATE", timeout=90)

    cfn.update_stack(StackName="ext",
                     TemplateBody=json.dumps(task_set_template(busybox_image, scale=50)))
    assert status(cfn, "ext") == "UPDATE_COMPLETE", failure_reasons(cfn, "ext")
    assert outputs(cfn, "ext")["TaskSet"] == set_id  # in place, not replaced
    assert sets()[set_id]["scale"] == {"value": 50.0, "unit": "PERCENT"}
    wait_for(sets, lambda found: found[set_id]["runningCount"] == 1, timeout=90)

    cfn.delete_stack(StackName="ext")
    assert ecs.describe_clusters(clusters=[cluster])["clusters"][0]["status"] == "INACTIVE"


def exclusion_filters(*values):
    """As CloudFormation names them (and the CDK's ImageTagMutabilityExclusionFilter emits)."""
    return [{"ImageTagMutabilityExclusionFilterType": "WILDCARD",
             "ImageTagMutabilityExclusionFilterValue": value} for value in values]


def test_tag_mutability_exclusion_filters_with_cloudformation_names(clean_emulator):
    cfn, ecr = clean_emulator.client("cloudformation"), clean_emulator.client("ecr")

    def body(*values):
        return json.dumps({"Resources": {
            "Repo": {"Type": "AWS::ECR::Repository", "Properties": {
                "RepositoryName": "excl", "ImageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
                "ImageTagMutabilityExclusionFilters": exclusion_filters(*values)}},
            "Template": {"Type": "AWS::ECR::RepositoryCreationTemplate", "Properties": {
                "Prefix": "excl-made", "AppliedFor": ["PULL_THROUGH_CACHE"],
                "ImageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
                "ImageTagMutabilityExclusionFilters": exclusion_filters(*values)}}}})

    cfn.create_stack(StackName="excl", TemplateBody=body("latest"))
    assert status(cfn, "excl") == "CREATE_COMPLETE", failure_reasons(cfn, "excl")
    repo = ecr.describe_repositories(repositoryNames=["excl"])["repositories"][0]
    assert repo["imageTagMutabilityExclusionFilters"] == [
        {"filterType": "WILDCARD", "filter": "latest"}]
    template = ecr.describe_repository_creation_templates(prefixes=["excl-made"])[
        "repositoryCreationTemplates"][0]
    assert template["imageTagMutabilityExclusionFilters"] == [
        {"filterType": "WILDCARD", "filter": "latest"}]

    cfn.update_stack(StackName="excl", TemplateBody=body("latest", "dev-*"))
    assert status(cfn, "excl") == "UPDATE_COMPLETE", failure_reasons(cfn, "excl")
    repo = ecr.describe_repositories(repositoryNames=["excl"])["repositories"][0]
    assert [f["filter"] for f in repo["imageTagMutabilityExclusionFilters"]] == [
        "latest", "dev-*"]
    cfn.delete_stack(StackName="excl")


def validation_error(call, **params):
    with pytest.raises(ClientError) as excinfo:
        call(**params)
    error = excinfo.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    return error["Error"]["Code"], error["Error"]["Message"]


def test_unknown_resource_types_are_refused_before_anything_is_made(clean_emulator):
    cfn, ecs = clean_emulator.client("cloudformation"), clean_emulator.client("ecs")
    body = json.dumps({"Resources": {
        "Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {"ClusterName": "typo"}},
        "Typo": {"Type": "AWS::ECS::Servce"},
        "Other": {"Type": "AWS::Foo::Bar"},
        "Again": {"Type": "AWS::Foo::Bar"},
        "Mine": {"Type": "Custom::Anything", "Properties": {"ServiceToken": "arn:x"}}}})
    expected = ("ValidationError", "Template format error: Unrecognized resource types: "
                "[AWS::ECS::Servce, AWS::Foo::Bar]")
    assert validation_error(cfn.create_stack, StackName="typo", TemplateBody=body) == expected
    assert validation_error(cfn.validate_template, TemplateBody=body) == expected
    assert validation_error(cfn.create_change_set, StackName="typo", ChangeSetName="c",
                            ChangeSetType="CREATE", TemplateBody=body) == expected
    assert [s["StackName"] for s in cfn.list_stacks()["StackSummaries"]] == []
    assert ecs.list_clusters()["clusterArns"] == []

    good = json.dumps({"Resources": {"Meta": {"Type": "AWS::CDK::Metadata"}}})
    cfn.create_stack(StackName="typo", TemplateBody=good)
    assert validation_error(cfn.update_stack, StackName="typo", TemplateBody=body) == expected
    assert status(cfn, "typo") == "CREATE_COMPLETE"
    cfn.delete_stack(StackName="typo")


def test_registry_wide_ecr_types_are_made_through_ecr(clean_emulator):
    cfn, ecr = clean_emulator.client("cloudformation"), clean_emulator.client("ecr")
    principal = "arn:aws:iam::123456789012:role/puller"
    rules = [{"ScanFrequency": "SCAN_ON_PUSH",
              "RepositoryFilters": [{"Filter": "app*", "FilterType": "WILDCARD"}]}]
    profile = "arn:aws:signer:us-east-1:123456789012:/signing-profiles/mine"
    body = {"Resources": {
        "Scanning": {"Type": "AWS::ECR::RegistryScanningConfiguration", "Properties": {
            "ScanType": "ENHANCED", "Rules": rules}},
        "Signing": {"Type": "AWS::ECR::SigningConfiguration", "Properties": {
            "Rules": [{"SigningProfileArn": profile}]}},
        "Exclusion": {"Type": "AWS::ECR::PullTimeUpdateExclusion", "Properties": {
            "PrincipalArn": principal}}},
        "Outputs": {"Scanning": {"Value": {"Ref": "Scanning"}},
                    "ScanningId": {"Value": {"Fn::GetAtt": ["Scanning", "RegistryId"]}},
                    "Signing": {"Value": {"Ref": "Signing"}},
                    "Exclusion": {"Value": {"Ref": "Exclusion"}}}}
    cfn.create_stack(StackName="registry", TemplateBody=json.dumps(body))
    assert status(cfn, "registry") == "CREATE_COMPLETE", failure_reasons(cfn, "registry")
    assert outputs(cfn, "registry") == {"Scanning": "123456789012", "ScanningId": "123456789012",
                                        "Signing": "123456789012", "Exclusion": principal}
    assert ecr.get_registry_scanning_configuration()["scanningConfiguration"] == {
        "scanType": "ENHANCED", "rules": [{"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [
            {"filter": "app*", "filterType": "WILDCARD"}]}]}
    assert ecr.get_signing_configuration()["signingConfiguration"]["rules"][0][
        "signingProfileArn"] == profile
    assert ecr.list_pull_time_update_exclusions()["pullTimeUpdateExclusions"] == [principal]
    assert {r["LogicalResourceId"] for r in cfn.describe_stack_resources(
        StackName="registry")["StackResources"]} == {"Scanning", "Signing", "Exclusion"}

    cfn.delete_stack(StackName="registry")
    assert ecr.get_registry_scanning_configuration()["scanningConfiguration"] == {
        "scanType": "BASIC", "rules": []}
    with pytest.raises(ecr.exceptions.SigningConfigurationNotFoundException):
        ecr.get_signing_configuration()
    assert ecr.list_pull_time_update_exclusions()["pullTimeUpdateExclusions"] == []


@pytest.mark.parametrize("kind", ["AWS::ECS::Daemon", "AWS::ECS::Gateway"])
def test_ecs_types_not_emulated_fail_their_stack(clean_emulator, kind):
    cfn, ecs = clean_emulator.client("cloudformation"), clean_emulator.client("ecs")
    body = {"Resources": {"Cluster": {"Type": "AWS::ECS::Cluster",
                                      "Properties": {"ClusterName": "ne"}},
                          "It": {"Type": kind, "DependsOn": "Cluster", "Properties": {}}}}
    cfn.create_stack(StackName="ne", TemplateBody=json.dumps(body))
    assert status(cfn, "ne") == "ROLLBACK_COMPLETE"
    assert any(f"Resource type {kind} is not emulated" in reason
               for reason in failure_reasons(cfn, "ne"))
    assert ecs.describe_clusters(clusters=["ne"])["clusters"][0]["status"] == "INACTIVE"


def asg_arn(name):
    return ("arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:"
            f"11111111-2222-3333-4444-555555555555:autoScalingGroupName/{name}")


def capacity_template(group, with_association=True, strategy=True):
    resources = {
        "Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {"ClusterName": "cpc"}},
        "Provider": {"Type": "AWS::ECS::CapacityProvider", "Properties": {
            "AutoScalingGroupProvider": {"AutoScalingGroupArn": asg_arn(group),
                                         "ManagedScaling": {"Status": "ENABLED",
                                                            "TargetCapacity": 90}}}}}
    if with_association:
        association = {"Cluster": {"Ref": "Cluster"}, "CapacityProviders": [{"Ref": "Provider"}]}
        if strategy:
            association["DefaultCapacityProviderStrategy"] = [
                {"CapacityProvider": {"Ref": "Provider"}, "Weight": 1}]
        resources["Association"] = {"Type": "AWS::ECS::ClusterCapacityProviderAssociations",
                                    "Properties": association}
    return json.dumps({"Resources": resources,
                       "Outputs": {"Provider": {"Value": {"Ref": "Provider"}}}})


def test_capacity_providers_auto_scaling_group_change_replaces_it(clean_emulator):
    cfn, ecs = clean_emulator.client("cloudformation"), clean_emulator.client("ecs")
    cfn.create_stack(StackName="cp", TemplateBody=capacity_template("group1"))
    assert status(cfn, "cp") == "CREATE_COMPLETE", failure_reasons(cfn, "cp")
    first = outputs(cfn, "cp")["Provider"]

    cfn.update_stack(StackName="cp", TemplateBody=capacity_template("group2"))
    assert status(cfn, "cp") == "UPDATE_COMPLETE", failure_reasons(cfn, "cp")
    second = outputs(cfn, "cp")["Provider"]
    assert second != first
    found = ecs.describe_capacity_providers(capacityProviders=[second])["capacityProviders"][0]
    assert found["autoScalingGroupProvider"]["autoScalingGroupArn"] == asg_arn("group2")
    cluster = ecs.describe_clusters(clusters=["cpc"])["clusters"][0]
    assert cluster["capacityProviders"] == [second]
    old = ecs.describe_capacity_providers(capacityProviders=[first])
    assert [p["status"] for p in old["capacityProviders"]] in ([], ["INACTIVE"])
    stack_id = cfn.describe_stacks(StackName="cp")["Stacks"][0]["StackId"]
    cfn.delete_stack(StackName="cp")
    # moto deletes in no set order: the provider may come before its association, and is then
    # tried again once the association is gone (not failed on its first DELETE_FAILED)
    assert status(cfn, stack_id) == "DELETE_COMPLETE", failure_reasons(cfn, stack_id)


def test_a_capacity_provider_still_on_a_cluster_is_tried_again_not_failed():
    from emulator.cloudformation.ecs_clusters import CapacityProvider
    from emulator.cloudformation.resource import NotYet, ResourceFailed

    class Api:
        def ecs(self, operation, params):
            return {"capacityProvider": {"updateStatus": "DELETE_FAILED",
                                         "updateStatusReason": "still on cluster cpc"}}

    provider = CapacityProvider("p", {})
    with pytest.raises(NotYet) as raised:
        provider.remove(Api())
    assert not isinstance(raised.value, ResourceFailed)


def test_associations_without_default_strategy_fail_as_the_schema_says(clean_emulator):
    cfn, ecs = clean_emulator.client("cloudformation"), clean_emulator.client("ecs")
    cfn.create_stack(StackName="cpa", TemplateBody=capacity_template("group3", strategy=False))
    assert status(cfn, "cpa") == "ROLLBACK_COMPLETE"
    assert ("Properties validation failed for resource Association with message: "
            "#: required key [DefaultCapacityProviderStrategy] not found"
            ) in failure_reasons(cfn, "cpa")
    assert ecs.describe_clusters(clusters=["cpc"])["clusters"][0]["status"] == "INACTIVE"

    # An update that drops it fails too, and rolls back.
    cfn.create_stack(StackName="cpb", TemplateBody=capacity_template("group4"))
    assert status(cfn, "cpb") == "CREATE_COMPLETE", failure_reasons(cfn, "cpb")
    cfn.update_stack(StackName="cpb", TemplateBody=capacity_template("group4", strategy=False))
    assert status(cfn, "cpb") == "UPDATE_ROLLBACK_COMPLETE"
    provider = outputs(cfn, "cpb")["Provider"]
    assert ecs.describe_clusters(clusters=["cpc"])["clusters"][0][
        "defaultCapacityProviderStrategy"] == [
            {"capacityProvider": provider, "weight": 1, "base": 0}]
    cfn.delete_stack(StackName="cpb")


def express_template(image, minimum=1, revision="1"):
    return json.dumps({"Resources": {
        "Cluster": {"Type": "AWS::ECS::Cluster"},
        "Express": {"Type": "AWS::ECS::ExpressGatewayService", "Properties": {
            "Cluster": {"Ref": "Cluster"},
            "InfrastructureRoleArn": "arn:aws:iam::123456789012:role/ecsInfrastructureRole",
            "PrimaryContainer": {"Image": image, "ContainerPort": 8080, "Command": SERVE,
                                 "Environment": [{"Name": "REV", "Value": revision}]},
            "ScalingTarget": {"MinTaskCount": minimum, "MaxTaskCount": 3}}}},
        "Outputs": {"Arn": {"Value": {"Ref": "Express"}},
                    "Endpoint": {"Value": {"Fn::GetAtt": ["Express", "Endpoint"]}},
                    "Cluster": {"Value": {"Ref": "Cluster"}}}})


@pytest.mark.docker
def test_express_gateway_service_in_a_stack(clean_emulator, busybox_image):
    cfn, ecs = clean_emulator.client("cloudformation"), clean_emulator.client("ecs")
    cfn.create_stack(StackName="fast", TemplateBody=express_template(busybox_image))
    assert status(cfn, "fast") == "CREATE_COMPLETE", failure_reasons(cfn, "fast")
    out = outputs(cfn, "fast")
    service = ecs.describe_express_gateway_service(serviceArn=out["Arn"])["service"]
    assert service["status"]["statusCode"] == "ACTIVE"
    assert out["Endpoint"] == service["activeConfigurations"][0]["ingressPaths"][0]["endpoint"]
    [described] = ecs.describe_services(cluster=out["Cluster"], services=[out["Arn"]])["services"]
    assert described["runningCount"] == 1  # complete once steady

    cfn.update_stack(StackName="fast",
                     TemplateBody=express_template(busybox_image, minimum=2, revision="2"))
    assert status(cfn, "fast") == "UPDATE_COMPLETE", failure_reasons(cfn, "fast")
    assert outputs(cfn, "fast")["Arn"] == out["Arn"]  # in place
    [described] = ecs.describe_services(cluster=out["Cluster"], services=[out["Arn"]])["services"]
    assert (described["runningCount"], len(described["deployments"])) == (2, 1)

    cfn.delete_stack(StackName="fast")
    assert ecs.describe_express_gateway_service(serviceArn=out["Arn"])["service"]["status"][
        "statusCode"] == "INACTIVE"


@pytest.mark.parametrize("tag", ["!!python/object/apply:os.system",
                                 "!!python/object/new:os.system"])
def test_a_templates_python_tags_run_nothing(clean_emulator, tmp_path, tag):
    """A YAML template is data: PyYAML's python tags (moto reads templates with yaml.Loader)
    must not call anything in the emulator's process, whoever sends the template (a task may)."""
    cfn = clean_emulator.client("cloudformation")
    marker = tmp_path / "ran"
    body = ("Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n    Properties:\n"
            f"      TopicName: {tag} [\"touch {marker}\"]\n")
    for call in (lambda: cfn.validate_template(TemplateBody=body),
                 lambda: cfn.create_stack(StackName="yaml", TemplateBody=body),
                 lambda: cfn.create_change_set(StackName="yaml2", ChangeSetName="c",
                                               ChangeSetType="CREATE", TemplateBody=body)):
        try:
            call()
        except ClientError as error:  # refused is fine; a 500 or running the call is not
            assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400, error.response
    assert not marker.exists()


def test_a_deleted_stacks_resources_each_say_delete_in_progress_then_complete(clean_emulator):
    """As CloudFormation's events have it: each resource's DELETE_IN_PROGRESS, once, before its
    DELETE_COMPLETE (there was only the DELETE_COMPLETE)."""
    cfn = clean_emulator.client("cloudformation")
    body = {"Resources": {"Cluster": {"Type": "AWS::ECS::Cluster"},
                          "Logs": {"Type": "AWS::Logs::LogGroup"}}}
    cfn.create_stack(StackName="told", TemplateBody=json.dumps(body))
    cfn.delete_stack(StackName="told")
    events = list(reversed(cfn.describe_stack_events(StackName="told")["StackEvents"]))
    started = next(i for i, e in enumerate(events) if e["LogicalResourceId"] == "told"
                   and e["ResourceStatus"] == "DELETE_IN_PROGRESS")
    for logical_id in ("Cluster", "Logs"):
        assert [e["ResourceStatus"] for e in events[started:]
                if e["LogicalResourceId"] == logical_id] == ["DELETE_IN_PROGRESS",
                                                             "DELETE_COMPLETE"]


def test_an_update_leaves_alone_a_resource_written_without_properties(clean_emulator):
    """moto gave the stack's `{Type: AWS::ECS::Cluster}` an empty Properties as it made it, so
    every later update found it changed and updated it (the CDK writes clusters so)."""
    cfn = clean_emulator.client("cloudformation")
    body = {"Resources": {"Cluster": {"Type": "AWS::ECS::Cluster"},
                          "Topic": {"Type": "AWS::SNS::Topic",
                                    "Properties": {"DisplayName": "one"}}}}
    cfn.create_stack(StackName="still", TemplateBody=json.dumps(body))
    body["Resources"]["Topic"]["Properties"]["DisplayName"] = "two"
    cfn.update_stack(StackName="still", TemplateBody=json.dumps(body))
    assert status(cfn, "still") == "UPDATE_COMPLETE"
    updated = {e["LogicalResourceId"] for e in cfn.describe_stack_events(
        StackName="still")["StackEvents"] if e["ResourceStatus"].startswith("UPDATE_")
        and e["LogicalResourceId"] != "still"}
    assert updated == {"Topic"}
    cfn.delete_stack(StackName="still")


def test_a_resource_moto_cannot_update_stays_in_the_stack_and_goes_with_it(clean_emulator):
    """A log group's new retention: moto has no update for the type and dropped the resource
    from the stack (no UPDATE_COMPLETE; DeleteStack left the log group behind)."""
    cfn, logs = clean_emulator.client("cloudformation"), clean_emulator.client("logs")
    body = {"Resources": {"Logs": {"Type": "AWS::Logs::LogGroup",
                                   "Properties": {"RetentionInDays": 1}}}}
    cfn.create_stack(StackName="kept", TemplateBody=json.dumps(body))
    name = cfn.describe_stack_resource(StackName="kept", LogicalResourceId="Logs")[
        "StackResourceDetail"]["PhysicalResourceId"]
    body["Resources"]["Logs"]["Properties"]["RetentionInDays"] = 3
    cfn.update_stack(StackName="kept", TemplateBody=json.dumps(body))
    assert status(cfn, "kept") == "UPDATE_COMPLETE"
    last = [e for e in cfn.describe_stack_events(StackName="kept")["StackEvents"]
            if e["LogicalResourceId"] == "Logs"][0]
    assert (last["ResourceStatus"], last["PhysicalResourceId"]) == ("UPDATE_COMPLETE", name)
    assert "is not updated by this emulator's CloudFormation" in last["ResourceStatusReason"]
    assert [r["PhysicalResourceId"] for r in cfn.describe_stack_resources(
        StackName="kept")["StackResources"]] == [name]
    cfn.delete_stack(StackName="kept")
    assert logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"] == []


def test_a_property_the_type_does_not_have_fails_the_resource_as_its_schema_does(
        clean_emulator):
    """A typo (`DesiredCont`) was dropped without a word; CloudFormation's schema check refuses
    it before the handler runs."""
    cfn = clean_emulator.client("cloudformation")
    body = {"Resources": {"Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {
        "ClusterName": "typo", "ClusterSetings": []}}}}
    cfn.create_stack(StackName="typo", TemplateBody=json.dumps(body))
    assert status(cfn, "typo") == "ROLLBACK_COMPLETE"
    assert failure_reasons(cfn, "typo") == [
        "Properties validation failed for resource Cluster with message: "
        "#: extraneous key [ClusterSetings] is not permitted"]
    assert clean_emulator.client("ecs").describe_clusters(clusters=["typo"])["clusters"] == []


def test_a_stacks_delete_goes_from_what_refers_to_the_rest(clean_emulator):
    """The task definition after the service that runs it, the cluster last (the task
    definition was deregistered while its service still ran)."""
    cfn = clean_emulator.client("cloudformation")
    body = {"Resources": {
        "TaskDef": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
            "ContainerDefinitions": [{"Name": "main", "Image": "ecs-emulator-test/busybox",
                                      "Memory": 32, "Command": SERVE}]}},
        "Cluster": {"Type": "AWS::ECS::Cluster"},
        "Service": {"Type": "AWS::ECS::Service", "Properties": {
            "Cluster": {"Ref": "Cluster"}, "TaskDefinition": {"Ref": "TaskDef"},
            "DesiredCount": 0}}}}
    cfn.create_stack(StackName="order", TemplateBody=json.dumps(body))
    assert status(cfn, "order") == "CREATE_COMPLETE"
    cfn.delete_stack(StackName="order")
    events = list(reversed(cfn.describe_stack_events(StackName="order")["StackEvents"]))
    deleted = [e["LogicalResourceId"] for e in events
               if e["ResourceStatus"] == "DELETE_COMPLETE" and e["LogicalResourceId"] != "order"]
    assert deleted.index("Service") < deleted.index("TaskDef")
    assert deleted.index("Service") < deleted.index("Cluster")


def test_an_fn_sub_reference_orders_the_delete(clean_emulator, busybox_image):
    """Services naming their cluster as `Fn::Sub: "${Cluster}"` are deleted before the cluster
    is tried, as with a Ref (moto tries its resources in no order: four pairs make a right
    order by chance unlikely)."""
    cfn = clean_emulator.client("cloudformation")
    resources = {"TaskDef": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
        "ContainerDefinitions": [{"Name": "main", "Image": busybox_image, "Memory": 64}]}}}
    for n in range(4):
        resources[f"Cluster{n}"] = {"Type": "AWS::ECS::Cluster"}
        resources[f"Service{n}"] = {"Type": "AWS::ECS::Service", "Properties": {
            "Cluster": {"Fn::Sub": "${Cluster%d}" % n},
            "TaskDefinition": {"Fn::Sub": ["${Td}", {"Td": {"Ref": "TaskDef"}}]},
            "DesiredCount": 0}}
    stack_id = cfn.create_stack(StackName="sub-order",
                                TemplateBody=json.dumps({"Resources": resources}))["StackId"]
    assert status(cfn, "sub-order") == "CREATE_COMPLETE"
    cfn.delete_stack(StackName="sub-order")
    events = [(e["LogicalResourceId"], e["ResourceStatus"]) for e in reversed(
        cfn.describe_stack_events(StackName=stack_id)["StackEvents"])]
    deleting = [e for e in events if e[1].startswith("DELETE_")]
    for n in range(4):
        assert deleting.index((f"Service{n}", "DELETE_COMPLETE")) < deleting.index(
            (f"Cluster{n}", "DELETE_IN_PROGRESS")), deleting
    assert not [e for e in deleting if e[1] == "DELETE_FAILED"]

"""ECS's answers where a review against AWS found ours differed: a capacity provider still on a
cluster is not deleted yet the call succeeds (updateStatus DELETE_FAILED); deployment
configurations out of range; Service Connect namespaces that are real Cloud Map namespaces;
error texts AWS users quote (an unknown or inactive task definition launched, a deleted cluster,
ARNs with too many parts, task ids of no task's length, invalid task sizes, empty tag lists);
the EXTERNAL compatibility ECS lists first."""

import pytest
from botocore.exceptions import ClientError

from tests.test_daemon_services import no_local_instance  # noqa: F401 (a fixture)

ASG = ("arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:"
       "0a1b2c3d-0000-0000-0000-000000000000:autoScalingGroupName/fid")
CLUSTER = "fid"  # the name the `cluster` fixture (conftest.py) gives the cluster


def error_of(call, **params):
    with pytest.raises(ClientError) as excinfo:
        call(**params)
    error = excinfo.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    return error["Error"]["Code"], error["Error"]["Message"]


def register(ecs, family="fid", **container):
    return ecs.register_task_definition(family=family, containerDefinitions=[
        {"name": "main", "image": "busybox", "memory": 32, **container}])[
        "taskDefinition"]["taskDefinitionArn"]


def test_deleting_a_provider_still_on_a_cluster_answers_delete_failed(ecs, cluster):
    ecs.create_capacity_provider(name="cp1", autoScalingGroupProvider={"autoScalingGroupArn": ASG})
    ecs.put_cluster_capacity_providers(cluster=cluster, capacityProviders=["cp1"],
                                       defaultCapacityProviderStrategy=[])
    provider = ecs.delete_capacity_provider(capacityProvider="cp1")["capacityProvider"]
    assert (provider["status"], provider["updateStatus"]) == ("ACTIVE", "DELETE_FAILED")
    assert provider["updateStatusReason"] == (
        f"The capacity provider cannot be deleted because it is associated with cluster: "
        f"{cluster}. Remove the capacity provider from the cluster and try again.")
    described = ecs.describe_capacity_providers(capacityProviders=["cp1"])["capacityProviders"]
    assert [(p["status"], p["updateStatus"]) for p in described] == [("ACTIVE", "DELETE_FAILED")]

    ecs.put_cluster_capacity_providers(cluster=cluster, capacityProviders=[],
                                       defaultCapacityProviderStrategy=[])
    provider = ecs.delete_capacity_provider(capacityProvider="cp1")["capacityProvider"]
    assert (provider["status"], provider["updateStatus"]) == ("INACTIVE", "DELETE_COMPLETE")
    assert "updateStatusReason" not in provider


@pytest.mark.usefixtures("no_local_instance")
def test_daemon_services_take_no_maximum_percent_above_100(ecs, cluster):
    definition = register(ecs)
    daemon_refusal = ("InvalidParameterException",
                      "The daemon scheduling strategy does not support values above 100 for "
                      "maximumPercent on a deployment configuration. Change the maximumPercent "
                      "value to 100, and try again")
    assert error_of(ecs.create_service, cluster=cluster, serviceName="d", taskDefinition=definition,
                    schedulingStrategy="DAEMON", launchType="EC2",
                    deploymentConfiguration={"maximumPercent": 200}) == daemon_refusal
    ecs.create_service(cluster=cluster, serviceName="d", taskDefinition=definition,
                       schedulingStrategy="DAEMON", launchType="EC2",
                       deploymentConfiguration={"maximumPercent": 100})
    assert error_of(ecs.update_service, cluster=cluster, service="d",
                    deploymentConfiguration={"maximumPercent": 150}) == daemon_refusal
    ecs.delete_service(cluster=cluster, service="d", force=True)


def test_minimum_healthy_percent_is_not_negative(ecs, cluster):
    definition = register(ecs)
    refusal = ("InvalidParameterException",
               "minimumHealthyPercent must be greater than or equal to 0.")
    assert error_of(ecs.create_service, cluster=cluster, serviceName="r", taskDefinition=definition,
                    desiredCount=0, deploymentConfiguration={"minimumHealthyPercent": -1}
                    ) == refusal
    ecs.create_service(cluster=cluster, serviceName="r", taskDefinition=definition, desiredCount=0)
    assert error_of(ecs.update_service, cluster=cluster, service="r",
                    deploymentConfiguration={"minimumHealthyPercent": -5}) == refusal
    service = ecs.describe_services(cluster=cluster, services=["r"])["services"][0]
    assert service["deploymentConfiguration"]["minimumHealthyPercent"] == 100
    ecs.delete_service(cluster=cluster, service="r", force=True)


def test_circuit_breaker_does_not_go_with_a_classic_load_balancer(ecs, cluster):
    definition = register(ecs, portMappings=[{"containerPort": 80}])
    classic = [{"loadBalancerName": "myclb", "containerName": "main", "containerPort": 80}]
    refusal = ("InvalidParameterException",
               "Deployment circuit breaker feature is not supported with Classic Load "
               "Balancers. Remove the Classic Load Balancer and try again.")
    breaker = {"deploymentCircuitBreaker": {"enable": True, "rollback": True}}
    assert error_of(ecs.create_service, cluster=cluster, serviceName="clb",
                    taskDefinition=definition, desiredCount=0, loadBalancers=classic,
                    deploymentConfiguration=breaker) == refusal
    # Disabled (as the console sends it) it is no conflict; enabling it later is refused.
    ecs.create_service(cluster=cluster, serviceName="clb", taskDefinition=definition,
                       desiredCount=0, loadBalancers=classic, deploymentConfiguration={
                           "deploymentCircuitBreaker": {"enable": False, "rollback": False}})
    assert error_of(ecs.update_service, cluster=cluster, service="clb",
                    deploymentConfiguration=breaker) == refusal
    ecs.delete_service(cluster=cluster, service="clb", force=True)


def test_a_launch_naming_an_unknown_task_definition_says_it_is_not_found(ecs, cluster):
    # AWS's words, as users quote them (GitHub: Cloud-CV/EvalAI#2419 for CreateService,
    # remind101/empire#353); DescribeTaskDefinition keeps its own "Unable to describe...".
    ecs.create_service(cluster=cluster, serviceName="known", taskDefinition=register(ecs),
                       desiredCount=0)
    not_found = ("ClientException", "TaskDefinition not found.")
    for ref in ("nope", "fid:99"):
        assert error_of(ecs.run_task, cluster=cluster, taskDefinition=ref) == not_found
        assert error_of(ecs.create_service, cluster=cluster, serviceName="new",
                        taskDefinition=ref, desiredCount=0) == not_found
        assert error_of(ecs.update_service, cluster=cluster, service="known",
                        taskDefinition=ref) == not_found
        assert error_of(ecs.describe_task_definition, taskDefinition=ref) == (
            "ClientException", "Unable to describe task definition.")


def test_a_launch_of_an_inactive_revision_is_refused_in_aws_words(ecs, cluster):
    # RunTask: "InvalidParameterException: TaskDefinition is inactive" (GitHub:
    # DefangLabs/defang#775); UpdateService: "An error occurred (ClientException) when calling
    # the UpdateService operation: TaskDefinition is inactive" (an AWS CLI transcript). No
    # full stop in either.
    active = register(ecs)
    ecs.create_service(cluster=cluster, serviceName="known", taskDefinition=active,
                       desiredCount=0)
    inactive = register(ecs)
    ecs.deregister_task_definition(taskDefinition=inactive)
    assert error_of(ecs.run_task, cluster=cluster, taskDefinition=inactive) == (
        "InvalidParameterException", "TaskDefinition is inactive")
    refused = ("ClientException", "TaskDefinition is inactive")
    assert error_of(ecs.update_service, cluster=cluster, service="known",
                    taskDefinition=inactive) == refused
    assert error_of(ecs.create_service, cluster=cluster, serviceName="new",
                    taskDefinition=inactive, desiredCount=0) == refused


def test_a_definition_ecs_anywhere_could_run_lists_external_first(ecs):
    # As DescribeTaskDefinition answers on AWS for a bridge definition that requires EC2:
    # "compatibilities": ["EXTERNAL", "EC2"] (answers kept in public repositories). awsvpc and
    # EFS volumes are what external instances cannot run.
    ec2 = ecs.register_task_definition(
        family="fid", requiresCompatibilities=["EC2"], cpu="1024", memory="800",
        containerDefinitions=[{"name": "main", "image": "busybox"}])["taskDefinition"]
    assert ec2["compatibilities"] == ["EXTERNAL", "EC2"]
    assert ecs.describe_task_definition(taskDefinition="fid")["taskDefinition"][
        "compatibilities"] == ["EXTERNAL", "EC2"]
    fargate = ecs.register_task_definition(
        family="fg", requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256",
        memory="512", containerDefinitions=[{"name": "main", "image": "busybox"}])
    assert fargate["taskDefinition"]["compatibilities"] == ["EC2", "FARGATE"]
    efs = ecs.register_task_definition(
        family="efs", volumes=[{"name": "v", "efsVolumeConfiguration": {
            "fileSystemId": "fs-12345678"}}],
        containerDefinitions=[{"name": "main", "image": "busybox", "memory": 32}])
    assert efs["taskDefinition"]["compatibilities"] == ["EC2"]


def test_a_deleted_cluster_is_refused_as_inactive(ecs):
    # "An error occurred (ClusterNotFoundException) when calling the CreateService operation:
    # The referenced cluster was inactive." (AWS CLI transcripts kept in public repositories;
    # UpdateService and Terraform's CreateService say the same). A name never created is not
    # found.
    definition = register(ecs)
    ecs.create_cluster(clusterName="gone")
    ecs.create_service(cluster="gone", serviceName="web", taskDefinition=definition,
                       desiredCount=0)
    ecs.delete_service(cluster="gone", service="web")
    ecs.delete_cluster(cluster="gone")
    inactive = ("ClusterNotFoundException", "The referenced cluster was inactive.")
    assert error_of(ecs.create_service, cluster="gone", serviceName="new",
                    taskDefinition=definition, desiredCount=0) == inactive
    assert error_of(ecs.update_service, cluster="gone", service="web", desiredCount=0) == inactive
    assert error_of(ecs.run_task, cluster="gone", taskDefinition=definition) == inactive
    assert error_of(ecs.run_task, cluster="never", taskDefinition=definition) == (
        "ClusterNotFoundException", "Cluster not found.")


def test_a_cluster_arn_inside_another_is_refused_not_read_for_its_last_part(ecs, cluster):
    # A Pulumi user passed "arn:...:cluster/arn:...:cluster/<name>" to DescribeClusters and AWS
    # answered "InvalidParameterException: Invalid identifier: Unexpected number of
    # separators"; we found <name> by the ARN's last part.
    arn = ecs.describe_clusters(clusters=[cluster])["clusters"][0]["clusterArn"]
    prefix = arn.rsplit("/", 1)[0] + "/"
    separators = ("InvalidParameterException",
                  "Invalid identifier: Unexpected number of separators")
    assert error_of(ecs.describe_clusters, clusters=[prefix + arn]) == separators
    assert error_of(ecs.describe_clusters, clusters=[prefix + "other/" + cluster]) == separators
    assert error_of(ecs.list_services, cluster=prefix + arn) == separators
    assert ecs.describe_clusters(clusters=[arn])["clusters"][0]["clusterName"] == cluster
    # Two task ARNs in one string (zsh passes an unsplit "$TASKS" so): the same answer.
    task = arn.replace(":cluster/", ":task/") + "/0123456789abcdef0123456789abcdef"
    assert error_of(ecs.describe_tasks, cluster=cluster, tasks=[f"{task} {task}"]) == separators
    assert ecs.describe_tasks(cluster=cluster, tasks=[task])["failures"] == [
        {"arn": task, "reason": "MISSING"}]


def test_describing_a_blank_task_definition_says_it_is_blank(ecs):
    # "InvalidParameterException: Task Definition can not be blank." (GitHub:
    # awslabs/fargatecli#11); botocore's model lets an empty string through.
    assert error_of(ecs.describe_task_definition, taskDefinition="") == (
        "InvalidParameterException", "Task Definition can not be blank.")


@pytest.mark.parametrize("sizes, name", [
    ({"cpu": "64"}, "cpu"), ({"cpu": "lots"}, "cpu"), ({"memory": "2 TB"}, "memory")])
def test_an_invalid_task_size_is_refused_in_the_developer_guides_words(ecs, sizes, name):
    # "An error occurred (ClientException) when calling the RegisterTaskDefinition operation:
    # Invalid 'cpu' setting for task. For more information, see the Troubleshooting section of
    # the Amazon ECS Developer Guide." (developer guide, task-cpu-memory-error)
    assert error_of(ecs.register_task_definition, family="fid", containerDefinitions=[
        {"name": "main", "image": "busybox", "memory": 32}], **sizes) == (
        "ClientException", f"Invalid '{name}' setting for task. For more information, see the "
        "Troubleshooting section of the Amazon ECS Developer Guide.")


def test_registering_with_an_empty_tag_list_is_refused(ecs):
    # "An error occurred (ClientException) when calling the RegisterTaskDefinition operation:
    # Tags can not be empty." (GitHub: fabfuel/ecs-deploy#146, kayac/ecspresso#296)
    assert error_of(ecs.register_task_definition, family="fid", tags=[], containerDefinitions=[
        {"name": "main", "image": "busybox", "memory": 32}]) == (
        "ClientException", "Tags can not be empty.")
    assert register(ecs).endswith(":1")  # no revision was taken by the refusal


def test_describing_a_task_id_of_no_tasks_length_is_refused(ecs, cluster):
    # `aws ecs describe-tasks --tasks $(aws ecs list-tasks ... --query "taskArns[0]" --output
    # text)` with no task passes "None": "An error occurred (InvalidParameterException) when
    # calling the DescribeTasks operation: taskId length should be one of [32,36]" (an AWS CLI
    # transcript kept in a public repository).
    length = ("InvalidParameterException", "taskId length should be one of [32,36]")
    assert error_of(ecs.describe_tasks, cluster=cluster, tasks=["None"]) == length
    arn = ecs.describe_clusters(clusters=[cluster])["clusters"][0]["clusterArn"]
    assert error_of(ecs.describe_tasks, cluster=cluster,
                    tasks=[arn.replace(":cluster/", ":task/") + "/abc"]) == length
    for missing in ("0" * 32, "0" * 8 + "-0000-0000-0000-" + "0" * 12):
        assert ecs.describe_tasks(cluster=cluster, tasks=[missing])["failures"] == [
            {"arn": missing, "reason": "MISSING"}]


def test_tagging_a_deleted_cluster_says_it_is_inactive(ecs):
    # "InvalidParameterException: The specified cluster is inactive. Specify an active cluster
    # and try again." (ListTagsForResource on a deleted cluster, quoted in
    # gruntwork-io/cloud-nuke#145); a cluster never created is not found.
    arn = ecs.create_cluster(clusterName="gone")["cluster"]["clusterArn"]
    ecs.delete_cluster(cluster="gone")
    inactive = ("InvalidParameterException",
                "The specified cluster is inactive. Specify an active cluster and try again.")
    assert error_of(ecs.list_tags_for_resource, resourceArn=arn) == inactive
    assert error_of(ecs.tag_resource, resourceArn=arn,
                    tags=[{"key": "k", "value": "v"}]) == inactive
    assert error_of(ecs.untag_resource, resourceArn=arn, tagKeys=["k"]) == inactive
    assert error_of(ecs.list_tags_for_resource, resourceArn=arn.replace("/gone", "/never")) == (
        "ClusterNotFoundException", "Cluster not found.")


def test_arns_with_more_parts_than_their_type_are_refused_everywhere(ecs, cluster):
    # The same "Unexpected number of separators" as a nested cluster ARN, for the types whose
    # ARNs have more parts: container-instance/<cluster>/<id>, task-definition/<family>:<rev>,
    # task-set/<cluster>/<service>/ecs-svc/<n>, daemon/<cluster>/<name>, and capacity
    # providers in a strategy.
    separators = ("InvalidParameterException",
                  "Invalid identifier: Unexpected number of separators")
    arn = ecs.describe_clusters(clusters=[cluster])["clusters"][0]["clusterArn"]
    instance = arn.replace(":cluster/", ":container-instance/") + "/" + "0" * 32
    assert error_of(ecs.describe_container_instances, cluster=cluster,
                    containerInstances=[instance + "/" + "0" * 32]) == separators
    assert ecs.describe_container_instances(cluster=cluster, containerInstances=[instance])[
        "failures"] == [{"arn": instance, "reason": "MISSING"}]

    definition = register(ecs)
    assert error_of(ecs.describe_task_definition, taskDefinition=definition + "/" + definition) \
        == separators
    assert error_of(ecs.describe_task_definition, taskDefinition=definition + ":1") == separators
    assert ecs.describe_task_definition(taskDefinition=definition)["taskDefinition"][
        "taskDefinitionArn"] == definition

    ecs.create_service(cluster=cluster, serviceName="ext", desiredCount=0,
                       deploymentController={"type": "EXTERNAL"})
    task_set = ecs.create_task_set(cluster=cluster, service="ext", taskDefinition=definition,
                                   launchType="EC2")["taskSet"]["taskSetArn"]
    assert error_of(ecs.describe_task_sets, cluster=cluster, service="ext",
                    taskSets=[task_set + "/" + task_set]) == separators
    assert [s["taskSetArn"] for s in ecs.describe_task_sets(
        cluster=cluster, service="ext", taskSets=[task_set])["taskSets"]] == [task_set]

    daemon = arn.replace(":cluster/", ":daemon/") + "/d"
    assert error_of(ecs.describe_daemon, daemonArn=daemon + "/" + daemon) == separators
    assert error_of(ecs.describe_daemon, daemonArn=daemon)[0] == "DaemonNotFoundException"

    provider = arn.replace(":cluster/", ":capacity-provider/").rsplit("/", 1)[0] + "/FARGATE"
    assert error_of(ecs.put_cluster_capacity_providers, cluster=cluster,
                    capacityProviders=["FARGATE"], defaultCapacityProviderStrategy=[
                        {"capacityProvider": provider + "/other", "weight": 1}]) == separators
    assert ecs.put_cluster_capacity_providers(
        cluster=cluster, capacityProviders=["FARGATE"], defaultCapacityProviderStrategy=[
            {"capacityProvider": provider, "weight": 1}])["cluster"][
        "defaultCapacityProviderStrategy"] == [
            {"capacityProvider": "FARGATE", "weight": 1, "base": 0}]

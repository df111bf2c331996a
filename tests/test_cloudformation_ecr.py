"""CloudFormation stacks make our ECR repositories (and the registry-wide ECR types): `docker
push` to a stack's RepositoryUri works; a repository holding images is only deleted with
EmptyOnDelete."""

import json

import pytest
from botocore.exceptions import ClientError

from test_ecr_docker import docker  # noqa: F401 (fixture)
from test_ecr_helpers import push_image
from tests.test_cloudformation_deploy import outputs

POLICY = {"Version": "2012-10-17", "Statement": [{
    "Sid": "pull", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
    "Action": ["ecr:BatchGetImage"]}]}
LIFECYCLE = json.dumps({"rules": [{"rulePriority": 1, "selection": {
    "tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 5},
    "action": {"type": "expire"}}]})


def repository_template(name="cfn/app", empty_on_delete=False, mutability="IMMUTABLE"):
    return {"Resources": {
        "Repo": {"Type": "AWS::ECR::Repository", "Properties": {
            "RepositoryName": name, "ImageTagMutability": mutability,
            "ImageScanningConfiguration": {"ScanOnPush": True},
            "EncryptionConfiguration": {"EncryptionType": "AES256"},
            "RepositoryPolicyText": POLICY,
            "LifecyclePolicy": {"LifecyclePolicyText": LIFECYCLE},
            "EmptyOnDelete": empty_on_delete,
            "Tags": [{"Key": "team", "Value": "a"}]}},
        "Unnamed": {"Type": "AWS::ECR::Repository"},
        "Template": {"Type": "AWS::ECR::RepositoryCreationTemplate", "Properties": {
            "Prefix": "cfn-made", "AppliedFor": ["PULL_THROUGH_CACHE"],
            "ImageTagMutability": "MUTABLE"}},
        "Registry": {"Type": "AWS::ECR::RegistryPolicy", "Properties": {"PolicyText": {
            "Version": "2012-10-17", "Statement": [{
                "Sid": "replicate", "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
                "Action": ["ecr:ReplicateImage"],
                "Resource": "arn:aws:ecr:us-east-1:123456789012:repository/*"}]}}},
    }, "Outputs": {
        "Uri": {"Value": {"Fn::GetAtt": ["Repo", "RepositoryUri"]}},
        "Arn": {"Value": {"Fn::GetAtt": ["Repo", "Arn"]}},
        "Name": {"Value": {"Ref": "Repo"}},
        "Unnamed": {"Value": {"Ref": "Unnamed"}},
    }}


@pytest.mark.docker
def test_repository_stack_push_update_and_delete(clean_emulator, docker):  # noqa: F811
    cfn, ecr = clean_emulator.client("cloudformation"), clean_emulator.client("ecr")
    cfn.create_stack(StackName="repo", TemplateBody=json.dumps(repository_template()))
    assert cfn.describe_stacks(StackName="repo")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    out = outputs(cfn, "repo")
    assert out["Name"] == "cfn/app"
    assert out["Arn"] == "arn:aws:ecr:us-east-1:123456789012:repository/cfn/app"
    assert out["Uri"] == f"{docker.host}/cfn/app"
    assert out["Unnamed"] == out["Unnamed"].lower() and out["Unnamed"].startswith("repo-unnamed-")

    repo = ecr.describe_repositories(repositoryNames=["cfn/app"])["repositories"][0]
    assert repo["imageTagMutability"] == "IMMUTABLE"
    assert repo["imageScanningConfiguration"] == {"scanOnPush": True}
    assert json.loads(ecr.get_repository_policy(repositoryName="cfn/app")["policyText"]) == POLICY
    assert ecr.get_lifecycle_policy(repositoryName="cfn/app")["lifecyclePolicyText"] == LIFECYCLE
    assert ecr.list_tags_for_resource(resourceArn=out["Arn"])["tags"] == [
        {"Key": "team", "Value": "a"}]
    assert ecr.describe_repository_creation_templates(prefixes=["cfn-made"])[
        "repositoryCreationTemplates"][0]["appliedFor"] == ["PULL_THROUGH_CACHE"]
    assert "replicate" in ecr.get_registry_policy()["policyText"]

    # docker push to the stack's RepositoryUri.
    docker.make_image(f"{out['Uri']}:v1", "from a stack")
    pushed = docker.push(f"{out['Uri']}:v1")
    assert pushed.returncode == 0, pushed.stderr

    # In place: tag mutability and the policy go; the repository and its image stay.
    body = repository_template(mutability="MUTABLE")
    del body["Resources"]["Repo"]["Properties"]["RepositoryPolicyText"]
    cfn.update_stack(StackName="repo", TemplateBody=json.dumps(body))
    assert cfn.describe_stacks(StackName="repo")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
    repo = ecr.describe_repositories(repositoryNames=["cfn/app"])["repositories"][0]
    assert repo["imageTagMutability"] == "MUTABLE"
    with pytest.raises(ecr.exceptions.RepositoryPolicyNotFoundException):
        ecr.get_repository_policy(repositoryName="cfn/app")
    assert len(ecr.list_images(repositoryName="cfn/app")["imageIds"]) == 1

    # A repository with images is not deleted without EmptyOnDelete: DELETE_FAILED, as on AWS.
    cfn.delete_stack(StackName="repo")
    stack = cfn.describe_stacks(StackName="repo")["Stacks"][0]
    assert stack["StackStatus"] == "DELETE_FAILED"
    events = cfn.describe_stack_events(StackName="repo")["StackEvents"]
    assert events[0]["ResourceStatusReason"].startswith(
        "The following resource(s) failed to delete: [")
    assert "RepositoryNotEmptyException" in events[1]["ResourceStatusReason"]
    assert events[1]["ResourceStatus"] == "DELETE_FAILED"
    assert ecr.describe_repositories(repositoryNames=["cfn/app"])["repositories"]

    # A DELETE_FAILED stack is not updated (to add EmptyOnDelete, say), in AWS's words.
    with pytest.raises(ClientError) as excinfo:
        cfn.update_stack(StackName="repo", TemplateBody=json.dumps(
            repository_template(empty_on_delete=True, mutability="MUTABLE")))
    assert excinfo.value.response["Error"] == {
        "Type": "Sender", "Code": "ValidationError",
        "Message": f"Stack:{stack['StackId']} is in DELETE_FAILED state and can not be updated."}
    # Emptied by hand, the repository goes with the stack's next delete.
    ecr.batch_delete_image(repositoryName="cfn/app", imageIds=ecr.list_images(
        repositoryName="cfn/app")["imageIds"])
    cfn.delete_stack(StackName="repo")
    assert cfn.describe_stacks(StackName=stack["StackId"])["Stacks"][0][
        "StackStatus"] == "DELETE_COMPLETE"
    assert ecr.describe_repositories()["repositories"] == []
    with pytest.raises(ecr.exceptions.RegistryPolicyNotFoundException):
        ecr.get_registry_policy()


def test_repository_with_images_made_by_api_push(clean_emulator):
    """The API's pushes land in a stack's repository, and EmptyOnDelete removes them."""
    cfn, ecr = clean_emulator.client("cloudformation"), clean_emulator.client("ecr")
    body = repository_template(name="pushed", empty_on_delete=True)
    cfn.create_stack(StackName="pushed", TemplateBody=json.dumps(body))
    push_image(ecr, "pushed", tag="v1")
    cfn.delete_stack(StackName="pushed")
    assert ecr.describe_repositories()["repositories"] == []


def test_a_stack_makes_its_resources_in_its_own_account_and_region(clean_emulator):
    cfn = clean_emulator.client("cloudformation", account="111122223333", region="eu-west-1")
    body = {"Resources": {"Repo": {"Type": "AWS::ECR::Repository",
                                   "Properties": {"RepositoryName": "elsewhere"}},
                          "Cluster": {"Type": "AWS::ECS::Cluster",
                                      "Properties": {"ClusterName": "elsewhere"}}},
            "Outputs": {"Arn": {"Value": {"Fn::GetAtt": ["Repo", "Arn"]}},
                        "Uri": {"Value": {"Fn::GetAtt": ["Repo", "RepositoryUri"]}}}}
    cfn.create_stack(StackName="away", TemplateBody=json.dumps(body))
    out = outputs(cfn, "away")
    assert out["Arn"] == "arn:aws:ecr:eu-west-1:111122223333:repository/elsewhere"
    assert out["Uri"].endswith("/111122223333/eu-west-1/elsewhere")  # the registry's path
    theirs = clean_emulator.client("ecs", account="111122223333", region="eu-west-1")
    assert theirs.describe_clusters(clusters=["elsewhere"])["clusters"][0]["status"] == "ACTIVE"
    assert clean_emulator.client("ecs").describe_clusters(clusters=["elsewhere"])["clusters"] == []
    assert clean_emulator.client("ecr").describe_repositories()["repositories"] == []
    cfn.delete_stack(StackName="away")
    assert theirs.list_clusters()["clusterArns"] == []

"""ECR API calls on another account's registry (registryId) through boto3 over real HTTP: refused
(AccessDeniedException, AWS's words) unless a resource policy of that registry grants the call;
the repository's policy, or the registry policy under REGISTRY_POLICY_SCOPE V2."""

from __future__ import annotations

import json

import pytest
from botocore import xform_name
from botocore.exceptions import ClientError

from emulator.ecr import api
from test_ecr_helpers import (  # noqa: F401 (ecr: a fixture)
    ACCOUNT, digest_of, ecr, error_code, image_manifest, push_image,
)

OWNER = "111111111111"
REPO = "secret"
ARN = f"arn:aws:ecr:us-east-1:{OWNER}:repository/{REPO}"
CALLER = f"arn:aws:iam::{ACCOUNT}:root"
LAYER = digest_of(b"layer")
IMAGE = {"imageTag": "1"}
UPLOAD = "0b8e2f1c-7d3a-4c5e-9f60-1a2b3c4d5e6f"
LIFECYCLE = json.dumps({"rules": [{"rulePriority": 1, "selection": {
    "tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 5},
    "action": {"type": "expire"}}]})

# The minimal parameters of every operation that takes a registryId (other than
# GetAuthorizationToken, whose registryIds only name the registries its token is for), as the
# caller would send them about the owner's repository.
CALLS = {
    "BatchCheckLayerAvailability": {"repositoryName": REPO, "layerDigests": [LAYER]},
    "BatchDeleteImage": {"repositoryName": REPO, "imageIds": [IMAGE]},
    "BatchGetImage": {"repositoryName": REPO, "imageIds": [IMAGE]},
    "CompleteLayerUpload": {"repositoryName": REPO, "uploadId": UPLOAD, "layerDigests": [LAYER]},
    "CreatePullThroughCacheRule": {"ecrRepositoryPrefix": "ecr-public",
                                   "upstreamRegistryUrl": "public.ecr.aws"},
    "CreateRepository": {"repositoryName": "planted"},
    "DeleteLifecyclePolicy": {"repositoryName": REPO},
    "DeletePullThroughCacheRule": {"ecrRepositoryPrefix": "ecr-public"},
    "DeleteRepository": {"repositoryName": REPO, "force": True},
    "DeleteRepositoryPolicy": {"repositoryName": REPO},
    "DescribeImageReplicationStatus": {"repositoryName": REPO, "imageId": IMAGE},
    "DescribeImageScanFindings": {"repositoryName": REPO, "imageId": IMAGE},
    "DescribeImageSigningStatus": {"repositoryName": REPO, "imageId": IMAGE},
    "DescribeImages": {"repositoryName": REPO},
    "DescribePullThroughCacheRules": {},
    "DescribeReplicationBackfillResults": {"replicationBackfillId": UPLOAD},
    "DescribeRepositories": {"repositoryNames": [REPO]},
    "GetDownloadUrlForLayer": {"repositoryName": REPO, "layerDigest": LAYER},
    "GetLifecyclePolicy": {"repositoryName": REPO},
    "GetLifecyclePolicyPreview": {"repositoryName": REPO},
    "GetRepositoryPolicy": {"repositoryName": REPO},
    "InitiateLayerUpload": {"repositoryName": REPO},
    "ListImageReferrers": {"repositoryName": REPO, "subjectId": {"imageDigest": LAYER}},
    "ListImages": {"repositoryName": REPO},
    "ListReplicationBackfills": {},
    "PutImage": {"repositoryName": REPO, "imageManifest": "{}", "imageTag": "2"},
    "PutImageScanningConfiguration": {"repositoryName": REPO,
                                      "imageScanningConfiguration": {"scanOnPush": True}},
    "PutImageTagMutability": {"repositoryName": REPO, "imageTagMutability": "IMMUTABLE"},
    "PutLifecyclePolicy": {"repositoryName": REPO, "lifecyclePolicyText": LIFECYCLE},
    "SetRepositoryPolicy": {"repositoryName": REPO, "policyText": json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "ecr:*"}]})},
    "StartImageScan": {"repositoryName": REPO, "imageId": IMAGE},
    "StartLifecyclePolicyPreview": {"repositoryName": REPO},
    "StartReplicationBackfill": {"destination": {"region": "eu-west-1", "registryId": OWNER}},
    "StopReplicationBackfill": {"replicationBackfillId": UPLOAD},
    "UpdateImageStorageClass": {"repositoryName": REPO, "imageId": IMAGE,
                                "targetStorageClass": "ARCHIVE"},
    "UpdatePullThroughCacheRule": {"ecrRepositoryPrefix": "ecr-public",
                                   "credentialArn": f"arn:aws:secretsmanager:us-east-1:{OWNER}:"
                                                    "secret:ecr-pullthroughcache/x"},
    "UploadLayerPart": {"repositoryName": REPO, "uploadId": UPLOAD, "partFirstByte": 0,
                        "partLastByte": 0, "layerPartBlob": b"x"},
    "ValidatePullThroughCacheRule": {"ecrRepositoryPrefix": "ecr-public"},
}
# The read actions a repository policy commonly grants another account, and what each returns.
READS = {
    "BatchGetImage": lambda answer: [i["imageId"]["imageTag"] for i in answer["images"]] == ["1"],
    "GetDownloadUrlForLayer": lambda answer: answer["layerDigest"] == LAYER,
    "DescribeImages": lambda answer: [d["imageTags"] for d in answer["imageDetails"]] == [["1"]],
    "ListImages": lambda answer: [i.get("imageTag") for i in answer["imageIds"]] == ["1"],
    "BatchCheckLayerAvailability": lambda answer: [
        layer["layerAvailability"] for layer in answer["layers"]] == ["AVAILABLE"],
}


def _method(client, operation: str):
    return getattr(client, xform_name(operation))


def _policy(*actions: str, account: str = ACCOUNT, effect: str = "Allow") -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "other", "Effect": effect, "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": list(actions)}]})


@pytest.fixture
def accounts(clean_emulator):
    """The owner's client, with REPO holding image 1, and the caller's (another account's)."""
    owner = clean_emulator.client("ecr", account=OWNER)
    owner.create_repository(repositoryName=REPO)
    push_image(owner, REPO, "1")
    return owner, clean_emulator.client("ecr")


def test_the_table_covers_every_operation_that_takes_a_registry_id(ecr):
    model = ecr.meta.service_model
    taking = {name for name in model.operation_names
              if "registryId" in model.operation_model(name).input_shape.members}
    assert set(CALLS) == taking & set(api.handlers().handlers)


@pytest.mark.parametrize("operation", sorted(CALLS))
def test_refused_without_a_granting_policy(accounts, operation):
    owner, caller = accounts
    # A policy for some third account grants the caller nothing.
    owner.set_repository_policy(repositoryName=REPO, policyText=_policy("ecr:*",
                                                                        account="333333333333"))
    with pytest.raises(ClientError) as excinfo:
        _method(caller, operation)(registryId=OWNER, **CALLS[operation])
    assert error_code(excinfo) == "AccessDeniedException"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    action = f"ecr:{operation}"
    named = CALLS[operation].get("repositoryName") or (CALLS[operation].get("repositoryNames")
                                                      or ["*"])[0]
    resource = "*" if named == "*" else f"arn:aws:ecr:us-east-1:{OWNER}:repository/{named}"
    assert excinfo.value.response["Error"]["Message"] == (
        f"User: {CALLER} is not authorized to perform: {action} on resource: {resource} "
        f"because no resource-based policy allows the {action} action")
    # Nothing of the owner's changed.
    repository, = owner.describe_repositories()["repositories"]
    assert (repository["repositoryName"], repository["imageTagMutability"],
            repository["imageScanningConfiguration"]) == (REPO, "MUTABLE", {"scanOnPush": False})
    assert [i["imageTag"] for i in owner.list_images(repositoryName=REPO)["imageIds"]] == ["1"]
    assert json.loads(owner.get_repository_policy(repositoryName=REPO)["policyText"])[
        "Statement"][0]["Principal"]["AWS"] == "arn:aws:iam::333333333333:root"
    assert owner.describe_pull_through_cache_rules()["pullThroughCacheRules"] == []


@pytest.mark.parametrize("operation", sorted(READS))
def test_read_allowed_by_the_repository_policy(accounts, operation):
    owner, caller = accounts
    owner.set_repository_policy(repositoryName=REPO, policyText=_policy(f"ecr:{operation}"))
    answer = _method(caller, operation)(registryId=OWNER, **CALLS[operation])
    assert READS[operation](answer)
    # The grant is for that action alone.
    other = "DescribeImages" if operation != "DescribeImages" else "ListImages"
    with pytest.raises(ClientError) as excinfo:
        _method(caller, other)(registryId=OWNER, **CALLS[other])
    assert error_code(excinfo) == "AccessDeniedException"


def test_a_deny_wins_and_a_missing_repository_tells_nothing(accounts):
    owner, caller = accounts
    owner.set_repository_policy(repositoryName=REPO, policyText=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "ecr:*"},
            {"Effect": "Deny", "Principal": {"AWS": ACCOUNT}, "Action": "ecr:BatchGetImage"}]}))
    assert caller.list_images(registryId=OWNER, repositoryName=REPO)["imageIds"]
    with pytest.raises(ClientError) as excinfo:
        caller.batch_get_image(registryId=OWNER, repositoryName=REPO, imageIds=[IMAGE])
    assert error_code(excinfo) == "AccessDeniedException"
    # No repository of that name: refused as one without a policy, not RepositoryNotFound.
    with pytest.raises(ClientError) as excinfo:
        caller.describe_images(registryId=OWNER, repositoryName="nothing-here")
    assert error_code(excinfo) == "AccessDeniedException"


def test_granted_delete_and_policy_change(accounts):
    owner, caller = accounts
    owner.set_repository_policy(repositoryName=REPO, policyText=_policy(
        "ecr:SetRepositoryPolicy", "ecr:DeleteRepository"))
    set_ = caller.set_repository_policy(registryId=OWNER, **CALLS["SetRepositoryPolicy"])
    assert set_["registryId"] == OWNER
    deleted = caller.delete_repository(registryId=OWNER, repositoryName=REPO, force=True)
    assert deleted["repository"]["repositoryArn"] == ARN
    assert owner.describe_repositories()["repositories"] == []


def test_listing_shows_only_repositories_that_grant_it(accounts):
    owner, caller = accounts
    owner.create_repository(repositoryName="open")
    owner.set_repository_policy(repositoryName="open",
                                policyText=_policy("ecr:DescribeRepositories"))
    listed = caller.describe_repositories(registryId=OWNER)["repositories"]
    assert [r["repositoryArn"] for r in listed] == [
        f"arn:aws:ecr:us-east-1:{OWNER}:repository/open"]
    assert caller.describe_repositories()["repositories"] == []  # the caller's own registry
    assert [r["repositoryName"] for r in owner.describe_repositories()["repositories"]] == [
        "open", REPO]


def test_registry_policy_grants_under_scope_v2_only(accounts):
    owner, caller = accounts
    owner.put_registry_policy(policyText=_policy("ecr:BatchGetImage", "ecr:CreateRepository"))
    got = caller.batch_get_image(registryId=OWNER, repositoryName=REPO, imageIds=[IMAGE])
    assert [i["imageId"]["imageTag"] for i in got["images"]] == ["1"]
    made = caller.create_repository(registryId=OWNER, repositoryName="made")["repository"]
    assert made["registryId"] == OWNER
    # A Deny in the repository's policy wins over the registry policy's Allow.
    owner.set_repository_policy(repositoryName=REPO, policyText=_policy(
        "ecr:BatchGetImage", effect="Deny"))
    with pytest.raises(ClientError) as excinfo:
        caller.batch_get_image(registryId=OWNER, repositoryName=REPO, imageIds=[IMAGE])
    assert error_code(excinfo) == "AccessDeniedException"
    owner.delete_repository_policy(repositoryName=REPO)
    assert caller.batch_get_image(registryId=OWNER, repositoryName=REPO, imageIds=[IMAGE])
    owner.put_account_setting(name="REGISTRY_POLICY_SCOPE", value="V1")
    with pytest.raises(ClientError) as excinfo:
        caller.batch_get_image(registryId=OWNER, repositoryName=REPO, imageIds=[IMAGE])
    assert error_code(excinfo) == "AccessDeniedException"
    # V1 still enforces CreateRepository at the registry level.
    assert caller.create_repository(registryId=OWNER, repositoryName="made-too")


def test_own_registry_named_by_id_needs_no_policy(accounts):
    owner, _ = accounts
    assert owner.list_images(registryId=OWNER, repositoryName=REPO)["imageIds"]
    assert owner.describe_repositories(registryId=OWNER)["repositories"]


def test_a_manifest_pushed_by_the_owner_is_not_pushable_by_another(accounts):
    owner, caller = accounts
    manifest = image_manifest(owner, REPO, [b"layer"], "y")
    with pytest.raises(ClientError) as excinfo:
        caller.put_image(registryId=OWNER, repositoryName=REPO, imageManifest=manifest,
                         imageTag="2")
    assert error_code(excinfo) == "AccessDeniedException"


def _scoped_policy(action: str, resource: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "other", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": action, "Resource": resource}]})


def test_a_registry_policy_grants_only_the_resources_it_names(accounts):
    """A registry policy's Allow counts for the repositories its Resource covers: CreateRepository
    of a name outside it is refused, and a registry-level call on no repository (a pull through
    cache rule) is granted only by a Resource of "*"."""
    owner, caller = accounts
    owner.put_registry_policy(policyText=_scoped_policy(
        "ecr:CreateRepository", f"arn:aws:ecr:us-east-1:{OWNER}:repository/team-a/*"))
    assert caller.create_repository(registryId=OWNER, repositoryName="team-a/web")
    with pytest.raises(ClientError) as excinfo:
        caller.create_repository(registryId=OWNER, repositoryName="not-team-a")
    assert error_code(excinfo) == "AccessDeniedException"
    assert "repository/not-team-a because" in excinfo.value.response["Error"]["Message"]

    owner.put_registry_policy(policyText=_scoped_policy(
        "ecr:*", f"arn:aws:ecr:us-east-1:{OWNER}:repository/shared/*"))
    with pytest.raises(ClientError) as excinfo:
        caller.create_pull_through_cache_rule(registryId=OWNER, ecrRepositoryPrefix="ecr-public",
                                              upstreamRegistryUrl="public.ecr.aws")
    assert error_code(excinfo) == "AccessDeniedException"
    assert owner.describe_pull_through_cache_rules()["pullThroughCacheRules"] == []
    owner.put_registry_policy(policyText=_scoped_policy("ecr:CreatePullThroughCacheRule", "*"))
    assert caller.create_pull_through_cache_rule(
        registryId=OWNER, ecrRepositoryPrefix="ecr-public", upstreamRegistryUrl="public.ecr.aws")


def test_refused_calls_make_no_registry_for_an_account_that_has_none(accounts, clean_emulator):
    _, caller = accounts
    stranger = "999999999999"
    with pytest.raises(ClientError) as excinfo:
        caller.list_images(registryId=stranger, repositoryName="xy")
    assert error_code(excinfo) == "AccessDeniedException"
    assert f"arn:aws:ecr:us-east-1:{stranger}:repository/xy" in excinfo.value.response[
        "Error"]["Message"]
    assert caller.describe_repositories(registryId=stranger)["repositories"] == []
    assert clean_emulator.emulator.ecr.existing_store(stranger, "us-east-1") is None

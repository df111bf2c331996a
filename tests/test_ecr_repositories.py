"""ECR repositories and registry settings through boto3 over real HTTP: create, describe, delete,
names, tags, mutability, scanning and encryption settings, policies, templates, pull through
cache rules, account settings, authorization tokens."""

import base64
import json

import pytest
from botocore import xform_name
from botocore.exceptions import ClientError

from test_ecr_helpers import ACCOUNT, ecr, error_code, push_image  # noqa: F401 (fixture)

POLICY = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Sid": "pull", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                   "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]}],
})


def test_create_describe_delete(ecr, clean_emulator):
    port = clean_emulator.endpoint_url.rsplit(":", 1)[1]
    created = ecr.create_repository(repositoryName="team/app")["repository"]
    assert created["repositoryArn"] == f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/team/app"
    assert created["repositoryUri"] == f"127.0.0.1:{port}/team/app"
    assert created["registryId"] == ACCOUNT
    assert created["imageTagMutability"] == "MUTABLE"
    assert created["encryptionConfiguration"] == {"encryptionType": "AES256"}
    assert created["imageScanningConfiguration"] == {"scanOnPush": False}

    described = ecr.describe_repositories(repositoryNames=["team/app"])["repositories"]
    assert described == [created]
    with pytest.raises(ClientError) as excinfo:
        ecr.create_repository(repositoryName="team/app")
    assert error_code(excinfo) == "RepositoryAlreadyExistsException"

    deleted = ecr.delete_repository(repositoryName="team/app")["repository"]
    assert deleted["repositoryArn"] == created["repositoryArn"]
    assert ecr.describe_repositories()["repositories"] == []
    with pytest.raises(ClientError) as excinfo:
        ecr.describe_repositories(repositoryNames=["team/app"])
    assert error_code(excinfo) == "RepositoryNotFoundException"


def test_other_accounts_and_regions_have_prefixed_uris(clean_emulator):
    port = clean_emulator.endpoint_url.rsplit(":", 1)[1]
    west = clean_emulator.client("ecr", region="eu-west-1")
    other = clean_emulator.client("ecr", account="111122223333")
    assert west.create_repository(repositoryName="app")["repository"]["repositoryUri"] == \
        f"127.0.0.1:{port}/{ACCOUNT}/eu-west-1/app"
    assert other.create_repository(repositoryName="app")["repository"]["repositoryUri"] == \
        f"127.0.0.1:{port}/111122223333/us-east-1/app"
    assert clean_emulator.client("ecr").describe_repositories()["repositories"] == []


@pytest.mark.parametrize("name", ["Upper", "-app", "app-", "a//b", "a___b", "has space", "app/"])
def test_invalid_names_are_refused(ecr, name):
    with pytest.raises(ClientError) as excinfo:
        ecr.create_repository(repositoryName=name)
    assert error_code(excinfo) == "InvalidParameterException"


def test_describe_paginates(ecr):
    names = [f"repo-{i:02d}" for i in range(7)]
    for name in names:
        ecr.create_repository(repositoryName=name)
    seen, token = [], None
    while True:
        page = ecr.describe_repositories(maxResults=3, **({"nextToken": token} if token else {}))
        assert len(page["repositories"]) <= 3
        seen += [r["repositoryName"] for r in page["repositories"]]
        token = page.get("nextToken")
        if not token:
            break
    assert seen == names
    paginator = ecr.get_paginator("describe_repositories")
    pages = paginator.paginate(PaginationConfig={"PageSize": 2})
    assert sum(len(p["repositories"]) for p in pages) == 7
    with pytest.raises(ClientError) as excinfo:
        ecr.describe_repositories(repositoryNames=["repo-00"], maxResults=2)
    assert error_code(excinfo) == "InvalidParameterException"


def test_delete_needs_force_when_images_remain(ecr):
    ecr.create_repository(repositoryName="full")
    push_image(ecr, "full", "v1")
    with pytest.raises(ClientError) as excinfo:
        ecr.delete_repository(repositoryName="full")
    assert error_code(excinfo) == "RepositoryNotEmptyException"
    ecr.delete_repository(repositoryName="full", force=True)
    # A new repository of that name starts empty: the registry forgot the images too.
    ecr.create_repository(repositoryName="full")
    assert ecr.list_images(repositoryName="full")["imageIds"] == []


def test_tags(ecr):
    arn = ecr.create_repository(repositoryName="tagged", tags=[{"Key": "team", "Value": "a"}])[
        "repository"]["repositoryArn"]
    ecr.tag_resource(resourceArn=arn, tags=[{"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "b"}])
    assert ecr.list_tags_for_resource(resourceArn=arn)["tags"] == [
        {"Key": "team", "Value": "b"}, {"Key": "env", "Value": "dev"}]
    ecr.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert ecr.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "env", "Value": "dev"}]
    with pytest.raises(ClientError) as excinfo:
        ecr.tag_resource(resourceArn=arn, tags=[{"Key": "aws:x", "Value": "y"}])
    assert error_code(excinfo) == "InvalidTagParameterException"
    with pytest.raises(ClientError) as excinfo:
        ecr.tag_resource(resourceArn=arn, tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    assert error_code(excinfo) == "TooManyTagsException"
    with pytest.raises(ClientError) as excinfo:
        ecr.list_tags_for_resource(resourceArn=arn.replace("tagged", "gone"))
    assert error_code(excinfo) == "RepositoryNotFoundException"


def test_settings_of_a_repository(ecr):
    repo = ecr.create_repository(
        repositoryName="conf", imageTagMutability="IMMUTABLE",
        imageScanningConfiguration={"scanOnPush": True},
        encryptionConfiguration={"encryptionType": "KMS"},
    )["repository"]
    assert repo["imageTagMutability"] == "IMMUTABLE"
    assert repo["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repo["encryptionConfiguration"]["encryptionType"] == "KMS"
    assert repo["encryptionConfiguration"]["kmsKey"].startswith(f"arn:aws:kms:us-east-1:{ACCOUNT}:key/")

    answer = ecr.put_image_tag_mutability(
        repositoryName="conf", imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
        imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": "latest"}])
    assert answer["imageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"
    with pytest.raises(ClientError) as excinfo:
        ecr.put_image_tag_mutability(repositoryName="conf",
                                     imageTagMutability="IMMUTABLE_WITH_EXCLUSION")
    assert error_code(excinfo) == "InvalidParameterException"
    for odd in ("a b", "x" * 129):  # botocore's pattern [0-9a-zA-Z._*-]{1,128}
        with pytest.raises(ClientError) as excinfo:
            ecr.put_image_tag_mutability(
                repositoryName="conf", imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
                imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": odd}])
        assert error_code(excinfo) == "InvalidParameterException"
    ecr.put_image_scanning_configuration(repositoryName="conf",
                                         imageScanningConfiguration={"scanOnPush": False})
    described = ecr.describe_repositories(repositoryNames=["conf"])["repositories"][0]
    assert described["imageScanningConfiguration"] == {"scanOnPush": False}
    assert described["imageTagMutabilityExclusionFilters"] == [
        {"filterType": "WILDCARD", "filter": "latest"}]
    with pytest.raises(ClientError) as excinfo:
        ecr.create_repository(repositoryName="bad-enc", encryptionConfiguration={
            "encryptionType": "AES256", "kmsKey": "arn:aws:kms:us-east-1:123456789012:key/x"})
    assert error_code(excinfo) == "InvalidParameterException"


def test_repository_policy(ecr):
    ecr.create_repository(repositoryName="guarded")
    with pytest.raises(ClientError) as excinfo:
        ecr.get_repository_policy(repositoryName="guarded")
    assert error_code(excinfo) == "RepositoryPolicyNotFoundException"
    assert ecr.set_repository_policy(repositoryName="guarded", policyText=POLICY)["policyText"] == POLICY
    assert ecr.get_repository_policy(repositoryName="guarded")["policyText"] == POLICY
    assert ecr.delete_repository_policy(repositoryName="guarded")["policyText"] == POLICY
    for bad in ("not json", json.dumps({"Statement": []}),
                json.dumps({"Statement": [{"Effect": "Maybe", "Principal": "*", "Action": "ecr:*"}]})):
        with pytest.raises(ClientError) as excinfo:
            ecr.set_repository_policy(repositoryName="guarded", policyText=bad)
        assert error_code(excinfo) == "InvalidParameterException"


def test_registry_policy_and_settings(ecr):
    with pytest.raises(ClientError) as excinfo:
        ecr.get_registry_policy()
    assert error_code(excinfo) == "RegistryPolicyNotFoundException"
    ecr.put_registry_policy(policyText=POLICY)
    got = ecr.get_registry_policy()
    assert (got["registryId"], got["policyText"]) == (ACCOUNT, POLICY)
    ecr.delete_registry_policy()
    with pytest.raises(ClientError):
        ecr.delete_registry_policy()

    assert ecr.get_account_setting(name="BASIC_SCAN_TYPE_VERSION")["value"] == "AWS_NATIVE"
    ecr.put_account_setting(name="BASIC_SCAN_TYPE_VERSION", value="CLAIR")
    assert ecr.get_account_setting(name="BASIC_SCAN_TYPE_VERSION")["value"] == "CLAIR"
    with pytest.raises(ClientError) as excinfo:
        ecr.put_account_setting(name="REGISTRY_POLICY_SCOPE", value="V9")
    assert error_code(excinfo) == "InvalidParameterException"

    config = ecr.put_registry_scanning_configuration(
        scanType="BASIC", rules=[{"scanFrequency": "SCAN_ON_PUSH",
                                  "repositoryFilters": [{"filter": "prod-*", "filterType": "WILDCARD"}]}])
    assert config["registryScanningConfiguration"]["rules"][0]["scanFrequency"] == "SCAN_ON_PUSH"
    ecr.create_repository(repositoryName="prod-api")
    ecr.create_repository(repositoryName="dev-api")
    answer = ecr.batch_get_repository_scanning_configuration(
        repositoryNames=["prod-api", "dev-api", "gone"])
    by_name = {c["repositoryName"]: c for c in answer["scanningConfigurations"]}
    assert by_name["prod-api"]["scanFrequency"] == "SCAN_ON_PUSH"
    assert by_name["dev-api"]["scanFrequency"] == "MANUAL"
    assert answer["failures"][0]["failureCode"] == "REPOSITORY_NOT_FOUND"
    # A rule's frequency must be one its scan type supports; the model's patterns hold too.
    for scan_type, frequency, value in (("BASIC", "CONTINUOUS_SCAN", "prod-*"),
                                        ("ENHANCED", "MANUAL", "prod-*"),
                                        ("BASIC", "SCAN_ON_PUSH", "Prod/*"),
                                        # fails at its end: Python's re backtracked for hours
                                        ("BASIC", "SCAN_ON_PUSH",
                                         "team-payments-service-backend-and-more-API")):
        with pytest.raises(ClientError) as excinfo:
            ecr.put_registry_scanning_configuration(
                scanType=scan_type, rules=[{"scanFrequency": frequency, "repositoryFilters": [
                    {"filter": value, "filterType": "WILDCARD"}]}])
        assert error_code(excinfo) == "InvalidParameterException", (scan_type, frequency, value)
    assert ecr.get_registry_scanning_configuration()["scanningConfiguration"] == config[
        "registryScanningConfiguration"]  # unchanged by the refusals
    enhanced = ecr.put_registry_scanning_configuration(
        scanType="ENHANCED", rules=[{"scanFrequency": "CONTINUOUS_SCAN", "repositoryFilters": [
            {"filter": "*", "filterType": "WILDCARD"}]}])["registryScanningConfiguration"]
    assert enhanced["scanType"] == "ENHANCED"


def test_authorization_token(ecr, clean_emulator):
    data = ecr.get_authorization_token()["authorizationData"]
    assert len(data) == 1
    user, _, password = base64.b64decode(data[0]["authorizationToken"]).decode().partition(":")
    assert user == "AWS" and password
    assert data[0]["proxyEndpoint"] == clean_emulator.endpoint_url
    assert data[0]["expiresAt"] > data[0]["expiresAt"].now(data[0]["expiresAt"].tzinfo)


def test_repository_creation_templates(ecr):
    lifecycle = json.dumps({"rules": [{"rulePriority": 1, "description": "keep five",
                                       "selection": {"tagStatus": "any", "countType": "imageCountMoreThan",
                                                     "countNumber": 5},
                                       "action": {"type": "expire"}}]})
    created = ecr.create_repository_creation_template(
        prefix="prod", appliedFor=["REPLICATION"], imageTagMutability="IMMUTABLE",
        lifecyclePolicy=lifecycle, resourceTags=[{"Key": "from", "Value": "template"}],
    )["repositoryCreationTemplate"]
    assert created["prefix"] == "prod" and created["lifecyclePolicy"] == lifecycle
    with pytest.raises(ClientError) as excinfo:
        ecr.create_repository_creation_template(prefix="prod", appliedFor=["REPLICATION"])
    assert error_code(excinfo) == "TemplateAlreadyExistsException"
    ecr.create_repository_creation_template(prefix="ROOT", appliedFor=["PULL_THROUGH_CACHE"])
    listed = ecr.describe_repository_creation_templates()["repositoryCreationTemplates"]
    assert [t["prefix"] for t in listed] == ["ROOT", "prod"]
    updated = ecr.update_repository_creation_template(prefix="prod", description="for prod")
    assert updated["repositoryCreationTemplate"]["description"] == "for prod"
    ecr.delete_repository_creation_template(prefix="ROOT")
    with pytest.raises(ClientError) as excinfo:
        ecr.delete_repository_creation_template(prefix="ROOT")
    assert error_code(excinfo) == "TemplateNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        ecr.create_repository_creation_template(prefix="bad", appliedFor=["REPLICATION"],
                                                lifecyclePolicy="{" + " " * 120 + "}")
    assert error_code(excinfo) == "InvalidParameterException"
    with pytest.raises(ClientError) as excinfo:
        ecr.create_repository_creation_template(prefix="Bad/Prefix", appliedFor=["REPLICATION"])
    assert error_code(excinfo) == "InvalidParameterException"


def test_pull_through_cache_rules(ecr):
    rule = ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="quay",
                                              upstreamRegistryUrl="quay.io")
    assert rule["upstreamRegistry"] == "quay"
    with pytest.raises(ClientError) as excinfo:
        ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="quay", upstreamRegistryUrl="quay.io")
    assert error_code(excinfo) == "PullThroughCacheRuleAlreadyExistsException"
    with pytest.raises(ClientError) as excinfo:
        ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="hub",
                                           upstreamRegistryUrl="registry-1.docker.io")
    assert error_code(excinfo) == "InvalidParameterException"  # Docker Hub needs a credential
    hub_secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/hub-AbCdEf"
    for wrong in ("arn:aws:secretsmanager:us-east-1:123456789012:secret:mysecret-AbCdEf",
                  "arn:aws:s3:::a-bucket-whose-name-is-long-enough/for-the-minimum"):
        # ECR takes only secrets named ecr-pullthroughcache/...
        with pytest.raises(ClientError) as excinfo:
            ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="hub", credentialArn=wrong,
                                               upstreamRegistryUrl="registry-1.docker.io")
        assert error_code(excinfo) == "InvalidParameterException"
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="hub", credentialArn=hub_secret,
                                       upstreamRegistryUrl="registry-1.docker.io")
    ecr.delete_pull_through_cache_rule(ecrRepositoryPrefix="hub")
    with pytest.raises(ClientError) as excinfo:
        ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="odd",
                                           upstreamRegistryUrl="example.com")
    assert error_code(excinfo) == "UnsupportedUpstreamRegistryException"
    rules = ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"]
    assert [r["ecrRepositoryPrefix"] for r in rules] == ["quay"]
    validated = ecr.validate_pull_through_cache_rule(ecrRepositoryPrefix="quay")
    assert validated["isValid"] is False and "upstream" in validated["failure"]
    ecr.delete_pull_through_cache_rule(ecrRepositoryPrefix="quay")
    with pytest.raises(ClientError) as excinfo:
        ecr.describe_pull_through_cache_rules(ecrRepositoryPrefixes=["quay"])
    assert error_code(excinfo) == "PullThroughCacheRuleNotFoundException"


def test_unbuilt_operation_says_so(ecr):
    from emulator.ecr import api

    missing = sorted(set(ecr.meta.service_model.operation_names) - set(api.handlers().handlers))
    if not missing:
        pytest.skip("every ECR operation of botocore's model has a handler")
    operation = ecr.meta.service_model.operation_model(missing[0])
    with pytest.raises(ClientError) as excinfo:
        getattr(ecr, xform_name(operation.name))(**{
            name: "x" for name in operation.input_shape.required_members})
    assert error_code(excinfo) == "UnsupportedOperation"
    assert "not implemented" in excinfo.value.response["Error"]["Message"]


def test_registry_id_addresses_another_account(clean_emulator):
    mine = clean_emulator.client("ecr")
    theirs = clean_emulator.client("ecr", account="111122223333")
    theirs.create_repository(repositoryName="shared")
    theirs.create_repository(repositoryName="closed")
    # Another registry shows what its repository policies grant (tests/test_ecr_cross_account.py)
    theirs.set_repository_policy(repositoryName="shared", policyText=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": ACCOUNT},
                                                "Action": "ecr:DescribeRepositories"}]}))
    found = mine.describe_repositories(registryId="111122223333")["repositories"]
    assert [r["repositoryArn"] for r in found] == [
        "arn:aws:ecr:us-east-1:111122223333:repository/shared"]
    assert mine.describe_repositories()["repositories"] == []
    with pytest.raises(ClientError) as excinfo:
        mine.describe_repositories(registryId="not-an-account")
    assert error_code(excinfo) == "InvalidParameterException"

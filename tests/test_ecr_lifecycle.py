"""Lifecycle policies: the evaluation rules of ECR's user guide (unit), and policies applied for
real through the API and the control endpoint (images leave the registry too)."""

import datetime as dt
import json

import pytest
import requests
from botocore.exceptions import ClientError

from emulator.ecr import lifecycle_policy
from emulator.ecr.errors import InvalidParameterException
from emulator.ecr.lifecycle_policy import Candidate
from test_ecr_helpers import ACCOUNT, ecr, error_code, push_image  # noqa: F401 (fixture)

NOW = dt.datetime(2025, 6, 1, tzinfo=dt.timezone.utc)


def days_ago(days: float) -> dt.datetime:
    return NOW - dt.timedelta(days=days)


def rule(priority, tag_status, count_type="imageCountMoreThan", number=1, **selection):
    chosen = {"tagStatus": tag_status, "countType": count_type, "countNumber": number, **selection}
    if count_type != "imageCountMoreThan":
        chosen["countUnit"] = "days"
    return {"rulePriority": priority, "selection": chosen, "action": {"type": "expire"}}


def policy(*rules) -> str:
    return json.dumps({"rules": list(rules)})


def expired(text: str, images: list[Candidate]) -> list[str]:
    return sorted(lifecycle_policy.evaluate(lifecycle_policy.parse(text), images, NOW))


# -- evaluation (pure) ---------------------------------------------------------------------------

def test_user_guide_example_a():
    images = [Candidate("A", ("beta-1", "prod-1"), days_ago(10)),
              Candidate("B", ("beta-2", "prod-2"), days_ago(9)),
              Candidate("C", ("beta-3",), days_ago(8))]
    text = policy(rule(1, "tagged", tagPrefixList=["prod"]), rule(2, "tagged", tagPrefixList=["beta"]))
    # Rule 2 would expire B, but B matches rule 1's selection, which kept it.
    assert expired(text, images) == ["A"]


def test_a_prefix_list_needs_every_prefix():
    images = [Candidate("A", ("beta-1", "prod-1"), days_ago(10)),
              Candidate("B", ("beta-2", "prod-2"), days_ago(9)),
              Candidate("C", ("beta-3", "prod-3"), days_ago(8))]
    text = policy(rule(1, "tagged", tagPrefixList=["alpha", "beta"]),
                  rule(2, "tagged", tagPrefixList=["prod"]))
    # Rule 1 needs both prefixes: it selects nothing. Rule 2 keeps the newest prod image.
    assert expired(text, images) == ["A", "B"]


def test_untagged_by_age_and_any_rule_last():
    images = [Candidate("old-bare", (), days_ago(20)), Candidate("new-bare", (), days_ago(1)),
              Candidate("old-tagged", ("v1",), days_ago(40)), Candidate("new-tagged", ("v2",), days_ago(2))]
    text = policy(rule(1, "untagged", "sinceImagePushed", 14), rule(2, "any", "sinceImagePushed", 30))
    assert expired(text, images) == ["old-bare", "old-tagged"]


def test_tag_patterns():
    images = [Candidate("a", ("prod-1",), days_ago(3)), Candidate("b", ("prod-2",), days_ago(2)),
              Candidate("c", ("dev-1",), days_ago(1))]
    assert expired(policy(rule(1, "tagged", number=1, tagPatternList=["prod-*"])), images) == ["a"]
    assert expired(policy(rule(1, "tagged", number=1, tagPatternList=["*-1"])), images) == ["a"]


@pytest.mark.parametrize("text", [
    "not json",
    json.dumps({"rules": []}),
    policy(rule(1, "tagged")),  # tagged needs a tag list
    policy(rule(1, "untagged", tagPrefixList=["x"])),
    policy(rule(1, "tagged", tagPrefixList=["a"], tagPatternList=["b*"])),
    policy(rule(1, "any"), rule(2, "untagged")),  # any must come last
    policy(rule(1, "untagged"), rule(1, "any")),  # priorities unique
    policy(rule(1, "tagged", tagPatternList=["*a*b*c*d*e"])),  # at most four wildcards
    json.dumps({"rules": [{"rulePriority": 1, "selection": {"tagStatus": "any", "countType":
                "sinceImagePushed", "countNumber": 3}, "action": {"type": "expire"}}]}),  # no unit
    json.dumps({"rules": [{"rulePriority": 1, "selection": {"tagStatus": "any", "countType":
                "imageCountMoreThan", "countNumber": 0}, "action": {"type": "expire"}}]}),
])
def test_invalid_policies(text):
    with pytest.raises(InvalidParameterException):
        lifecycle_policy.parse(text)


def archiving(priority, tag_status, count_type="imageCountMoreThan", number=1, **selection):
    """A rule that moves images to archival storage instead of expiring them."""
    made = rule(priority, tag_status, count_type, number, **selection)
    made["action"] = {"type": "transition", "targetStorageClass": "archive"}
    return made


def test_archive_rules_see_only_their_storage_class():
    """The user guide's archive example: archive what nobody pulled in 90 days, then expire what
    has been archived for a year. Two `any` rules are fine: one per storage class."""
    images = [Candidate("pulled", ("a",), days_ago(400), last_pull=days_ago(1)),
              Candidate("idle", ("b",), days_ago(200), last_pull=days_ago(100)),
              Candidate("archived-long", ("c",), days_ago(900), archived=True,
                        archived_at=days_ago(400)),
              Candidate("archived-new", ("d",), days_ago(900), archived=True,
                        archived_at=days_ago(10))]
    rules = lifecycle_policy.parse(policy(
        archiving(1, "any", "sinceImagePulled", 90),
        rule(2, "any", "sinceImageTransitioned", 365, storageClass="archive")))
    acted = {digest: (r.priority, r.action) for digest, r in
             lifecycle_policy.evaluate(rules, images, NOW).items()}
    assert acted == {"idle": (1, "transition"), "archived-long": (2, "expire")}


@pytest.mark.parametrize("bad", [
    {"type": "transition"},  # no target
    {"type": "transition", "targetStorageClass": "glacier"},
    {"type": "expire", "targetStorageClass": "archive"},
    {"type": "delete"},
])
def test_invalid_actions(bad):
    made = rule(1, "any")
    made["action"] = bad
    with pytest.raises(InvalidParameterException):
        lifecycle_policy.parse(policy(made))


@pytest.mark.parametrize("text", [
    policy(archiving(1, "any", storageClass="archive")),  # archived images are only expired
    policy(rule(1, "any", "sinceImageTransitioned", 5)),  # only archived images were transitioned
    policy(rule(1, "any", storageClass="deep")),
    policy(rule(1, "any", "sinceImagePulled", 30)),  # pull time only archives
])
def test_invalid_storage_rules(text):
    with pytest.raises(InvalidParameterException):
        lifecycle_policy.parse(text)


# -- applied through the API ---------------------------------------------------------------------

def test_policy_applies_on_put_and_after_each_push(ecr, clean_emulator):
    ecr.create_repository(repositoryName="rotating")
    first = push_image(ecr, "rotating", "v1", label="1")
    second = push_image(ecr, "rotating", "v2", label="2")
    text = policy(rule(1, "any", number=2))
    assert ecr.put_lifecycle_policy(repositoryName="rotating", lifecyclePolicyText=text)[
        "lifecyclePolicyText"] == text
    assert ecr.get_lifecycle_policy(repositoryName="rotating")["lifecyclePolicyText"] == text
    third = push_image(ecr, "rotating", "v3", label="3")
    remaining = [d["imageDigest"] for d in ecr.describe_images(repositoryName="rotating")["imageDetails"]]
    assert remaining == [second, third]
    # The expired image is gone from the registry too.
    token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    response = requests.get(f"{clean_emulator.endpoint_url}/v2/rotating/manifests/{first}",
                            headers={"Authorization": f"Basic {token}"}, timeout=10)
    assert response.status_code == 404


def test_age_rules_through_the_control_endpoint(ecr, clean_emulator):
    ecr.create_repository(repositoryName="aging")
    digest = push_image(ecr, "aging", None)
    ecr.put_lifecycle_policy(repositoryName="aging",
                             lifecyclePolicyText=policy(rule(1, "untagged", "sinceImagePushed", 7)))
    assert len(ecr.list_images(repositoryName="aging")["imageIds"]) == 1  # not old yet
    url = f"{clean_emulator.endpoint_url}/_emulator/ecr/lifecycle"
    soon = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3)).isoformat()
    assert requests.post(url, json={"now": soon}, timeout=10).json() == {"expired": {"aging": []}}
    later = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=8)).isoformat()
    answer = requests.post(url, json={"repositoryName": "aging", "now": later}, timeout=10).json()
    assert answer == {"expired": {"aging": [{"imageDigest": digest, "imageTags": []}]}}
    assert ecr.list_images(repositoryName="aging")["imageIds"] == []


def test_preview(ecr):
    ecr.create_repository(repositoryName="preview")
    digests = [push_image(ecr, "preview", f"v{i}", label=str(i)) for i in range(3)]
    with pytest.raises(ClientError) as excinfo:
        ecr.get_lifecycle_policy_preview(repositoryName="preview")
    assert error_code(excinfo) == "LifecyclePolicyPreviewNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        ecr.start_lifecycle_policy_preview(repositoryName="preview")
    assert error_code(excinfo) == "LifecyclePolicyNotFoundException"
    text = policy(rule(1, "tagged", number=1, tagPrefixList=["v"]))
    started = ecr.start_lifecycle_policy_preview(repositoryName="preview", lifecyclePolicyText=text)
    assert started["status"] == "IN_PROGRESS"  # as ECR answers; it completes in the background
    ecr.get_waiter("lifecycle_policy_preview_complete").wait(
        repositoryName="preview", WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    preview = ecr.get_lifecycle_policy_preview(repositoryName="preview")
    assert preview["status"] == "COMPLETE"
    assert preview["summary"] == {"expiringImageTotalCount": 2}
    assert sorted(r["imageDigest"] for r in preview["previewResults"]) == sorted(digests[:2])
    assert {r["appliedRulePriority"] for r in preview["previewResults"]} == {1}
    assert preview["previewResults"][0]["action"] == {"type": "EXPIRE"}
    # A preview expires nothing.
    assert len(ecr.list_images(repositoryName="preview")["imageIds"]) == 3


def test_delete_policy(ecr):
    ecr.create_repository(repositoryName="nopolicy")
    with pytest.raises(ClientError) as excinfo:
        ecr.get_lifecycle_policy(repositoryName="nopolicy")
    assert error_code(excinfo) == "LifecyclePolicyNotFoundException"
    text = policy(rule(1, "untagged", number=5))
    ecr.put_lifecycle_policy(repositoryName="nopolicy", lifecyclePolicyText=text)
    assert ecr.delete_lifecycle_policy(repositoryName="nopolicy")["lifecyclePolicyText"] == text
    with pytest.raises(ClientError) as excinfo:
        ecr.delete_lifecycle_policy(repositoryName="nopolicy")
    assert error_code(excinfo) == "LifecyclePolicyNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        ecr.put_lifecycle_policy(repositoryName="nopolicy",
                                 lifecyclePolicyText=policy(rule(1, "tagged", number=5)))
    assert error_code(excinfo) == "InvalidParameterException"


def test_children_of_a_manifest_list_survive_untagged_rules(ecr):
    """A multi-platform push sends its images untagged, then the tagged index that lists them."""
    ecr.create_repository(repositoryName="multi")
    ecr.put_lifecycle_policy(repositoryName="multi",
                             lifecyclePolicyText=policy(rule(1, "untagged", number=1)))
    children = [push_image(ecr, "multi", None, label=arch) for arch in ("amd64", "arm64", "s390x")]
    manifests = ecr.batch_get_image(repositoryName="multi", imageIds=[
        {"imageDigest": d} for d in children])["images"]
    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                       "digest": m["imageId"]["imageDigest"],
                                       "size": len(m["imageManifest"])} for m in manifests]})
    ecr.put_image(repositoryName="multi", imageManifest=index, imageTag="latest")
    assert len(ecr.list_images(repositoryName="multi")["imageIds"]) == 4
    # Later evaluations keep them too: they go with their index, not on their own.
    push_image(ecr, "multi", "v2", label="tagged")
    remaining = {i["imageDigest"] for i in ecr.list_images(repositoryName="multi")["imageIds"]}
    assert set(children) <= remaining


def test_transition_rules_archive_for_real_and_preview_says_so(ecr, clean_emulator):
    """A transition rule keeps the image, ARCHIVED (listed only when asked for, not pulled); an
    expire rule on the archive storage class later removes it; the preview tells the two
    actions apart and counts them apart."""
    ecr.create_repository(repositoryName="cold")
    digests = [push_image(ecr, "cold", f"v{i}", label=str(i)) for i in range(3)]
    text = policy(archiving(1, "tagged", number=1, tagPrefixList=["v"]),
                  rule(2, "any", "sinceImageTransitioned", 30, storageClass="archive"))
    ecr.start_lifecycle_policy_preview(repositoryName="cold", lifecyclePolicyText=text)
    preview = ecr.get_lifecycle_policy_preview(repositoryName="cold")
    assert preview["summary"] == {"expiringImageTotalCount": 0, "transitioningImageTotalCounts": [
        {"targetStorageClass": "ARCHIVE", "imageTotalCount": 2}]}
    assert sorted(r["imageDigest"] for r in preview["previewResults"]) == sorted(digests[:2])
    assert {json.dumps(r["action"]) for r in preview["previewResults"]} == {
        json.dumps({"type": "TRANSITION", "targetStorageClass": "ARCHIVE"})}
    assert {r["storageClass"] for r in preview["previewResults"]} == {"STANDARD"}

    ecr.put_lifecycle_policy(repositoryName="cold", lifecyclePolicyText=text)
    details = ecr.describe_images(repositoryName="cold", filter={"imageStatus": "ANY"})[
        "imageDetails"]
    assert {d["imageDigest"]: d["imageStatus"] for d in details} == {
        digests[0]: "ARCHIVED", digests[1]: "ARCHIVED", digests[2]: "ACTIVE"}
    token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    response = requests.get(f"{clean_emulator.endpoint_url}/v2/cold/manifests/{digests[0]}",
                            headers={"Authorization": f"Basic {token}"}, timeout=10)
    assert response.status_code == 404  # archived: not pulled

    ecr.start_lifecycle_policy_preview(repositoryName="cold")
    assert ecr.get_lifecycle_policy_preview(repositoryName="cold")["summary"] == {
        "expiringImageTotalCount": 0}
    url = f"{clean_emulator.endpoint_url}/_emulator/ecr/lifecycle"
    later = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=31)).isoformat()
    answer = requests.post(url, json={"repositoryName": "cold", "now": later}, timeout=10).json()
    assert sorted(i["imageDigest"] for i in answer["expired"]["cold"]) == sorted(digests[:2])
    assert [d["imageDigest"] for d in ecr.describe_images(
        repositoryName="cold", filter={"imageStatus": "ANY"})["imageDetails"]] == [digests[2]]

"""A registry token opens its own account's repositories; another account's only as far as that
repository's policy grants (ECR's cross-account pull and push); _catalog lists the caller's own.
Raw HTTP with tokens from GetAuthorizationToken, as docker sends them."""

from __future__ import annotations

import hashlib
import json

import pytest
import requests

OWNER, OTHER = "111111111111", "222222222222"
REGION = "us-east-1"
REPO = f"/v2/{OWNER}/{REGION}/shared"
MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def registry(clean_emulator):
    """The owner's repository with one pushed image; each account's Authorization header."""
    url = clean_emulator.endpoint_url
    ecr = clean_emulator.client("ecr", account=OWNER)
    ecr.create_repository(repositoryName="shared")
    clean_emulator.client("ecr", account=OTHER).create_repository(repositoryName="theirs")
    auth = {account: {"Authorization": "Basic " + clean_emulator.client("ecr", account=account)
                      .get_authorization_token()["authorizationData"][0]["authorizationToken"]}
            for account in (OWNER, OTHER)}
    config, layer = b"{}", b"layer bytes"
    for blob in (config, layer):
        answer = requests.post(f"{url}{REPO}/blobs/uploads/?digest={digest(blob)}", data=blob,
                               headers=auth[OWNER], timeout=30)
        assert answer.status_code == 201, answer.text
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                   "size": len(config), "digest": digest(config)},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": len(layer), "digest": digest(layer)}]}).encode()
    answer = requests.put(f"{url}{REPO}/manifests/v1", data=manifest, timeout=30,
                          headers={**auth[OWNER], "Content-Type": MANIFEST_TYPE})
    assert answer.status_code == 201, answer.text
    return url, ecr, auth, manifest, digest(layer)


def grant(ecr, *actions: str, deny: tuple[str, ...] = ()) -> None:
    principal = {"AWS": f"arn:aws:iam::{OTHER}:root"}
    statements = [{"Sid": "other", "Effect": "Allow", "Principal": principal,
                   "Action": list(actions)}]
    if deny:
        statements.append({"Sid": "not", "Effect": "Deny", "Principal": principal,
                           "Action": list(deny)})
    ecr.set_repository_policy(repositoryName="shared",
                              policyText=json.dumps({"Version": "2012-10-17",
                                                     "Statement": statements}))


def pull(url, headers, layer):
    manifest = requests.get(f"{url}{REPO}/manifests/v1", timeout=30,
                            headers={**headers, "Accept": MANIFEST_TYPE})
    blob = requests.get(f"{url}{REPO}/blobs/{layer}", headers=headers, timeout=30)
    return manifest.status_code, blob.status_code


def push_tag(url, headers, manifest, tag):
    return requests.put(f"{url}{REPO}/manifests/{tag}", data=manifest, timeout=30,
                        headers={**headers, "Content-Type": MANIFEST_TYPE}).status_code


def test_another_accounts_token_is_denied_without_a_policy(registry):
    url, _, auth, manifest, layer = registry
    assert pull(url, auth[OWNER], layer) == (200, 200)
    assert pull(url, auth[OTHER], layer) == (403, 403)
    answer = requests.get(f"{url}{REPO}/manifests/v1", headers=auth[OTHER], timeout=30)
    assert answer.json()["errors"][0]["code"] == "DENIED"
    assert push_tag(url, auth[OTHER], manifest, "from-other") == 403
    assert requests.delete(f"{url}{REPO}/manifests/v1", headers=auth[OTHER],
                           timeout=30).status_code == 403
    assert requests.post(f"{url}{REPO}/blobs/uploads/", headers=auth[OTHER],
                         timeout=30).status_code == 403
    # The owner's image is untouched.
    assert pull(url, auth[OWNER], layer) == (200, 200)


def test_catalog_lists_only_the_callers_repositories(registry):
    url, _, auth, _, _ = registry
    own = requests.get(f"{url}/v2/_catalog", headers=auth[OWNER], timeout=30).json()
    other = requests.get(f"{url}/v2/_catalog", headers=auth[OTHER], timeout=30).json()
    assert own["repositories"] == [f"{OWNER}/{REGION}/shared"]
    assert other["repositories"] == [f"{OTHER}/{REGION}/theirs"]


def test_a_pull_policy_lets_the_other_account_pull_but_not_push(registry):
    url, ecr, auth, manifest, layer = registry
    grant(ecr, "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
    assert pull(url, auth[OTHER], layer) == (200, 200)
    assert push_tag(url, auth[OTHER], manifest, "from-other") == 403


def test_a_push_policy_lets_the_other_account_push(registry):
    url, ecr, auth, manifest, _ = registry
    grant(ecr, "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:PutImage",
          "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload",
          "ecr:BatchCheckLayerAvailability")
    blob = b"another layer"
    answer = requests.post(f"{url}{REPO}/blobs/uploads/?digest={digest(blob)}", data=blob,
                           headers=auth[OTHER], timeout=30)
    assert answer.status_code == 201
    assert push_tag(url, auth[OTHER], manifest, "from-other") == 201
    tags = ecr.list_images(repositoryName="shared")["imageIds"]
    assert {image.get("imageTag") for image in tags} == {"v1", "from-other"}


def test_a_deny_statement_wins_and_wildcards_match(registry):
    url, ecr, auth, _, layer = registry
    grant(ecr, "ecr:*")
    assert pull(url, auth[OTHER], layer) == (200, 200)
    grant(ecr, "ecr:*", deny=("ecr:BatchGet*",))
    assert pull(url, auth[OTHER], layer) == (403, 200)


def test_a_mount_needs_the_right_to_read_the_source_repository(registry):
    url, ecr, auth, _, _ = registry
    ecr.create_repository(repositoryName="private")  # no policy: the other account reads nothing
    secret = b"a private layer"
    answer = requests.post(f"{url}/v2/{OWNER}/{REGION}/private/blobs/uploads/"
                           f"?digest={digest(secret)}", data=secret, headers=auth[OWNER],
                           timeout=30)
    assert answer.status_code == 201, answer.text
    grant(ecr, "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload",
          "ecr:GetDownloadUrlForLayer")
    mount = f"{url}{REPO}/blobs/uploads/?mount={digest(secret)}&from={OWNER}/{REGION}/private"
    # The other account may upload to "shared" but not read "private": a plain upload instead.
    assert requests.post(mount, headers=auth[OTHER], timeout=30).status_code == 202
    assert requests.get(f"{url}{REPO}/blobs/{digest(secret)}", headers=auth[OTHER],
                        timeout=30).status_code == 404
    # The owner reads both: the blob is mounted.
    assert requests.post(mount, headers=auth[OWNER], timeout=30).status_code == 201


def test_the_registry_policy_grants_pulls_under_scope_v2_only(registry):
    # The API's rule (tests/test_ecr_cross_account.py): the registry policy counts for every
    # repository of the registry while REGISTRY_POLICY_SCOPE is V2, ECR's default.
    url, ecr, auth, _, layer = registry
    ecr.put_registry_policy(policyText=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
        "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        "Resource": f"arn:aws:ecr:{REGION}:{OWNER}:repository/*"}]}))
    assert pull(url, auth[OTHER], layer) == (200, 200)
    ecr.put_account_setting(name="REGISTRY_POLICY_SCOPE", value="V1")
    assert pull(url, auth[OTHER], layer) == (403, 403)


def test_a_token_asked_for_another_registry_is_still_the_callers(registry, clean_emulator):
    """GetAuthorizationToken's registryIds name registries, not whose rights the token carries
    (AWS: it "doesn't change the permissions scope"): one asked for the owner's registry lets
    the other account do there only what the owner's policies grant, here nothing."""
    url, ecr, _, manifest, layer = registry
    other = clean_emulator.client("ecr", account=OTHER)
    token = other.get_authorization_token(registryIds=[OWNER])["authorizationData"][0]
    headers = {"Authorization": "Basic " + token["authorizationToken"]}
    assert pull(url, headers, layer) == (403, 403)
    assert push_tag(url, headers, manifest, "planted") == 403
    assert requests.delete(f"{url}{REPO}/manifests/v1", headers=headers,
                           timeout=30).status_code == 403
    catalog = requests.get(f"{url}/v2/_catalog", headers=headers, timeout=30).json()
    assert f"{OWNER}/{REGION}/shared" not in catalog["repositories"]
    assert [i["imageTag"] for i in ecr.list_images(repositoryName="shared")["imageIds"]] == ["v1"]

"""Registry guards: invalid names, references and digests, path traversal, authorization and the
hooks another service (ECR) plugs in."""

from __future__ import annotations

import base64

import pytest

from emulator.registry.errors import TagImmutable
from emulator.registry.hooks import PermissiveHooks
from test_registry_helpers import error_codes, files_under, reg, registry  # noqa: F401


@pytest.mark.parametrize("name", ["App", "-app", "app-", "_app", "app//x", "a..b", "a/_b",
                                  "app/", "a" * 256])
def test_invalid_repository_names(reg, name):
    response = reg.request("GET", f"/v2/{name}/tags/list")
    assert response.status_code == 400
    assert error_codes(response) == ["NAME_INVALID"]


@pytest.mark.parametrize("path", [
    "/v2/../../etc/manifests/latest",
    "/v2/app/../../../etc/manifests/latest",
    "/v2/%2e%2e/%2e%2e/etc/blobs/uploads/",
    "/v2/app/manifests/..%2F..%2F..%2Fetc%2Fpasswd",
    "/v2/app/manifests/sha256:..%2F..%2Fx",
    "/v2/app/blobs/sha256:..%2F..%2F..%2Fetc%2Fpasswd",
    "/v2/app/blobs/uploads/..%2F..%2Frepositories",
    "/v2/app/blobs/uploads/..",
    "/v2/111122223333/../../app/manifests/x",
])
def test_path_traversal_is_refused(reg, registry, path):
    before = files_under(registry.storage.driver.root)
    for method in ("GET", "PUT", "DELETE", "PATCH"):
        status, _, payload = reg.raw(method, path, b'{"schemaVersion": 2}')
        assert status in (400, 404, 405), (method, path, status)
        if status != 405:
            assert b'"errors"' in payload, (method, path)
    assert files_under(registry.storage.driver.root) == before


def test_invalid_digests_and_tags(reg):
    for digest in ("sha256:abc", "sha256:" + "A" * 64, "md5:" + "0" * 32, "nocolon",
                   "sha256:" + "0" * 63 + "g"):
        response = reg.request("HEAD", f"/v2/app/blobs/{digest}")
        assert response.status_code in (400, 404), digest
        got = reg.request("GET", f"/v2/app/blobs/{digest}")
        assert error_codes(got) == ["DIGEST_INVALID"], digest
    bad_tag = reg.request("PUT", "/v2/app/manifests/.hidden", data=b"{}")
    assert error_codes(bad_tag) == ["TAG_INVALID"]
    long_tag = reg.request("GET", "/v2/app/manifests/" + "t" * 129)
    assert error_codes(long_tag) == ["TAG_INVALID"]


class _RecordingHooks(PermissiveHooks):
    """A fake ECR: a fixed password, repositories that must be created, an immutable tag."""

    password = "secret-token"

    def __init__(self):
        self.calls = []
        self.repositories = {("123456789012", "us-east-1", "app")}

    def authorize(self, account, region, authorization):
        expected = "Basic " + base64.b64encode(f"AWS:{self.password}".encode()).decode()
        return authorization == expected

    def repository_exists(self, account, region, name):
        return (account, region, name) in self.repositories

    def before_tag(self, account, region, name, tag, digest):
        if tag == "release":
            raise TagImmutable(f"The image tag '{tag}' already exists in the '{name}' repository "
                               "and cannot be overwritten because the repository is immutable.")

    def after_manifest_put(self, *args):
        self.calls.append(("put", *args))

    def before_pull(self, *args):
        pass

    def after_pull(self, *args):
        self.calls.append(("pull", *args[:4]))

    def after_delete(self, *args):
        self.calls.append(("delete", *args))


@pytest.fixture
def fake_ecr(registry):
    registry.hooks = _RecordingHooks()
    return registry.hooks


def _auth(password: str = _RecordingHooks.password) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"AWS:{password}".encode()).decode()}


def test_unauthorized_requests_get_a_basic_challenge(reg, fake_ecr):
    for path in ("/v2/", "/v2/app/tags/list", "/v2/_catalog"):
        response = reg.request("GET", path)
        assert response.status_code == 401, path
        assert error_codes(response) == ["UNAUTHORIZED"]
        assert response.headers["WWW-Authenticate"] == (
            f'Basic realm="{reg.base}",service="ecr.amazonaws.com"')
    assert reg.request("GET", "/v2/", headers=_auth("wrong")).status_code == 401
    assert reg.request("GET", "/v2/", headers=_auth()).status_code == 200


def test_auth_can_be_turned_off(reg, fake_ecr, registry):
    registry.auth = False
    assert reg.request("GET", "/v2/").status_code == 200


def test_repositories_the_hooks_do_not_know_are_name_unknown(reg, fake_ecr):
    for method, path in (("POST", "/v2/nope/blobs/uploads/"), ("GET", "/v2/nope/tags/list"),
                         ("PUT", "/v2/nope/manifests/v1")):
        response = reg.request(method, path, headers=_auth())
        assert response.status_code == 404, path
        assert error_codes(response) == ["NAME_UNKNOWN"]
        assert "does not exist in the registry with id '123456789012'" in response.text


def test_hooks_see_pushes_pulls_deletes_and_refuse_immutable_tags(reg, fake_ecr):
    reg.session.headers.update(_auth())
    digest = reg.push_image("app", "v1", [b"x"])
    manifest = reg.request("GET", "/v2/app/manifests/v1").json()
    refused = reg.push_manifest("app", "release", manifest)
    assert refused.status_code == 400
    assert error_codes(refused) == ["TAG_INVALID"]
    assert "cannot be overwritten" in refused.text
    assert reg.request("GET", "/v2/app/tags/list").json()["tags"] == ["v1"]
    reg.request("HEAD", "/v2/app/manifests/v1")  # a HEAD is not a pull
    reg.request("DELETE", "/v2/app/manifests/v1")
    size = len(reg.request("GET", f"/v2/app/manifests/{digest}").content)
    account, region = "123456789012", "us-east-1"
    assert fake_ecr.calls == [
        ("put", account, region, "app", digest, "v1", "application/vnd.oci.image.manifest.v1+json",
         size),
        ("pull", account, region, "app", digest),
        ("delete", account, region, "app", digest, ("v1",), False),
        ("pull", account, region, "app", digest),
    ]

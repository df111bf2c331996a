"""Registry manifests over raw HTTP: the four manifest types, Accept negotiation, refusals that
store nothing, deletes, tag pagination, catalog and referrers."""

from __future__ import annotations

import json

from test_registry_helpers import (  # noqa: F401
    DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST, digest_of, error_codes, image_manifest,
    reg, registry,
)


def test_push_and_pull_by_tag_and_digest(reg):
    digest = reg.push_image("app", "v1", [b"layer one", b"layer two"])
    by_tag = reg.request("GET", "/v2/app/manifests/v1", headers={"Accept": OCI_MANIFEST})
    assert by_tag.status_code == 200
    assert by_tag.headers["Content-Type"] == OCI_MANIFEST
    assert by_tag.headers["Docker-Content-Digest"] == digest == digest_of(by_tag.content)
    by_digest = reg.request("GET", f"/v2/app/manifests/{digest}")
    assert by_digest.content == by_tag.content
    head = reg.request("HEAD", "/v2/app/manifests/v1")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Length"] == str(len(by_tag.content))
    assert head.headers["Docker-Content-Digest"] == digest


def test_manifest_bytes_are_kept_exactly(reg):
    config = reg.push_blob("app", b"{}")
    body = (b'{\n  "schemaVersion": 2, "mediaType": "%s",\n  "config": {"mediaType": '
            b'"application/vnd.docker.container.image.v1+json", "digest": "%s", "size": 2},'
            b'\n  "layers": []}\n') % (DOCKER_MANIFEST.encode(), config.encode())
    put = reg.request("PUT", "/v2/app/manifests/latest", data=body,
                      headers={"Content-Type": DOCKER_MANIFEST})
    assert put.status_code == 201
    assert put.headers["Docker-Content-Digest"] == digest_of(body)
    assert put.headers["Location"] == f"/v2/app/manifests/{digest_of(body)}"
    assert reg.request("GET", "/v2/app/manifests/latest").content == body


def test_accept_negotiation(reg):
    reg.push_image("app", "v1", [b"x"])
    refused = reg.request("GET", "/v2/app/manifests/v1", headers={"Accept": DOCKER_MANIFEST})
    assert refused.status_code == 404
    assert error_codes(refused) == ["MANIFEST_UNKNOWN"]
    for accept in (f"{DOCKER_MANIFEST}, {OCI_MANIFEST}", "*/*", "application/*", ""):
        response = reg.request("GET", "/v2/app/manifests/v1", headers={"Accept": accept})
        assert response.status_code == 200, accept
    zero = reg.request("GET", "/v2/app/manifests/v1", headers={"Accept": f"{OCI_MANIFEST};q=0"})
    assert zero.status_code == 404


def test_indexes_and_manifest_lists_need_their_children(reg):
    children = [reg.push_image("multi", None, [arch.encode()]) for arch in ("amd64", "arm64")]
    for media_type in (OCI_INDEX, DOCKER_LIST):
        index = {"schemaVersion": 2, "mediaType": media_type, "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": d, "size": 400,
             "platform": {"architecture": arch, "os": "linux"}}
            for d, arch in zip(children, ("amd64", "arm64"))]}
        tag = media_type.rsplit(".", 2)[-2]
        assert reg.push_manifest("multi", tag, index).status_code == 201
        got = reg.request("GET", f"/v2/multi/manifests/{tag}")
        assert got.headers["Content-Type"] == media_type
        assert [m["digest"] for m in got.json()["manifests"]] == children

    missing = digest_of(b"a manifest nobody pushed")
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": missing, "size": 10}]}
    refused = reg.push_manifest("multi", "broken", index)
    assert refused.status_code == 400
    assert error_codes(refused) == ["MANIFEST_BLOB_UNKNOWN"]
    assert "broken" not in reg.request("GET", "/v2/multi/tags/list").json()["tags"]


def test_manifest_referencing_missing_blobs_is_refused_whole(reg):
    config = reg.push_blob("app", b"{}")
    manifest = image_manifest(config, 2, [(digest_of(b"never pushed"), 12)])
    body = json.dumps(manifest).encode()
    refused = reg.push_manifest("app", "v1", manifest)
    assert refused.status_code == 400
    assert error_codes(refused) == ["MANIFEST_BLOB_UNKNOWN"]
    assert digest_of(b"never pushed") in refused.text
    assert reg.request("GET", "/v2/app/manifests/v1").status_code == 404
    assert reg.request("GET", f"/v2/app/manifests/{digest_of(body)}").status_code == 404
    assert reg.request("GET", "/v2/app/tags/list").json()["tags"] == []


def test_malformed_manifests(reg):
    config = reg.push_blob("app", b"{}")
    good = image_manifest(config, 2, [])
    cases = {
        "not json": (b"{not json", OCI_MANIFEST),
        "a list": (b"[]", OCI_MANIFEST),
        "schema 1": (json.dumps({**good, "schemaVersion": 1}).encode(), OCI_MANIFEST),
        "type mismatch": (json.dumps(good).encode(), DOCKER_MANIFEST),
        "unknown type": (json.dumps({**good, "mediaType": "text/plain"}).encode(), "text/plain"),
        "bad digest": (json.dumps({**good, "config": {**good["config"], "digest": "sha256:zz"}})
                       .encode(), OCI_MANIFEST),
        "no size": (json.dumps({**good, "layers": [{"mediaType": "x", "digest": config}]})
                    .encode(), OCI_MANIFEST),
    }
    for case, (body, media_type) in cases.items():
        response = reg.request("PUT", "/v2/app/manifests/v1", data=body,
                               headers={"Content-Type": media_type})
        assert response.status_code == 400, case
        assert error_codes(response) == ["MANIFEST_INVALID"], case
    assert reg.request("GET", "/v2/app/tags/list").json()["tags"] == []


def test_push_by_digest_must_match(reg):
    config = reg.push_blob("app", b"{}")
    manifest = image_manifest(config, 2, [])
    wrong = reg.push_manifest("app", digest_of(b"something else"), manifest)
    assert wrong.status_code == 400
    assert error_codes(wrong) == ["DIGEST_INVALID"]
    right = reg.push_manifest("app", digest_of(json.dumps(manifest).encode()), manifest)
    assert right.status_code == 201
    assert reg.request("GET", "/v2/app/tags/list").json()["tags"] == []


def test_oversized_manifest(reg):
    body = b'{"schemaVersion": 2, "pad": "' + b"x" * (4 * 1024 * 1024) + b'"}'
    response = reg.request("PUT", "/v2/app/manifests/big", data=body,
                           headers={"Content-Type": OCI_MANIFEST})
    assert response.status_code == 413


def test_delete_tag_then_manifest(reg):
    digest = reg.push_image("app", "v1", [b"x"])
    reg.push_manifest("app", "v2", reg.request("GET", "/v2/app/manifests/v1").json())
    assert reg.request("DELETE", "/v2/app/manifests/v1").status_code == 202
    assert reg.request("GET", "/v2/app/manifests/v1").status_code == 404
    assert reg.request("GET", f"/v2/app/manifests/{digest}").status_code == 200
    assert reg.request("DELETE", f"/v2/app/manifests/{digest}").status_code == 202
    for reference in ("v2", digest):
        response = reg.request("GET", f"/v2/app/manifests/{reference}")
        assert error_codes(response) == ["MANIFEST_UNKNOWN"]
    assert error_codes(reg.request("DELETE", f"/v2/app/manifests/{digest}")) == \
        ["MANIFEST_UNKNOWN"]


def test_tag_list_pagination_follows_link_headers(reg):
    manifest = reg.request("GET", f"/v2/app/manifests/{reg.push_image('app', 'a', [b'x'])}").json()
    tags = ["a", "B", "b", "c1", "c10", "c2", "d"]
    for tag in tags[1:]:
        assert reg.push_manifest("app", tag, manifest).status_code == 201
    assert reg.request("GET", "/v2/app/tags/list").json() == {"name": "app",
                                                             "tags": sorted(tags)}
    seen, path = [], "/v2/app/tags/list?n=3"
    while path:
        response = reg.request("GET", path)
        page = response.json()["tags"]
        assert len(page) <= 3
        seen += page
        link = response.headers.get("Link")
        path = link[1:link.index(">")] if link else None
        assert not link or link.endswith('rel="next"')
    assert seen == sorted(tags)
    assert reg.request("GET", "/v2/app/tags/list?n=2&last=c1").json()["tags"] == ["c10", "c2"]
    zero = reg.request("GET", "/v2/app/tags/list?n=0")
    assert zero.json()["tags"] == [] and "Link" not in zero.headers
    assert error_codes(reg.request("GET", "/v2/app/tags/list?n=many")) == \
        ["PAGINATION_NUMBER_INVALID"]
    assert error_codes(reg.request("GET", "/v2/nothing/tags/list")) == ["NAME_UNKNOWN"]


def test_catalog_lists_every_namespace_from_a_plain_host(reg):
    for name in ("app", "team/api", "111122223333/eu-west-1/app", "zeta"):
        reg.push_image(name, "v1", [b"x"])
    assert reg.request("GET", "/v2/_catalog").json()["repositories"] == [
        "111122223333/eu-west-1/app", "app", "team/api", "zeta"]
    first = reg.request("GET", "/v2/_catalog?n=2")
    assert first.json()["repositories"] == ["111122223333/eu-west-1/app", "app"]
    link = first.headers["Link"]
    rest = reg.request("GET", link[1:link.index(">")]).json()["repositories"]
    assert rest == ["team/api", "zeta"]
    ecr_host = {"Host": f"111122223333.dkr.ecr.eu-west-1.localhost:{reg.port}"}
    assert reg.request("GET", "/v2/_catalog", headers=ecr_host).json()["repositories"] == ["app"]


def test_namespaces_by_host_and_by_path_are_one_and_apart_from_the_default(reg):
    digest = reg.push_image("111122223333/eu-west-1/app", "v1", [b"account one"])
    ecr_host = {"Host": f"111122223333.dkr.ecr.eu-west-1.amazonaws.com:{reg.port}"}
    by_host = reg.request("GET", "/v2/app/manifests/v1", headers=ecr_host)
    assert by_host.headers["Docker-Content-Digest"] == digest
    assert reg.request("GET", "/v2/app/manifests/v1").status_code == 404
    other_region = {"Host": "111122223333.dkr.ecr.us-west-2.amazonaws.com"}
    assert reg.request("GET", "/v2/app/manifests/v1", headers=other_region).status_code == 404


def _artifact(reg, subject: str, artifact_type: str | None, config_type: str, note: str) -> str:
    config = reg.push_blob("app", b"{}")
    extra = {"subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": 1},
             "annotations": {"note": note}}
    if artifact_type:
        extra["artifactType"] = artifact_type
    manifest = image_manifest(config, 2, [], config_type=config_type, **extra)
    digest = digest_of(json.dumps(manifest).encode())
    response = reg.push_manifest("app", digest, manifest)
    assert response.status_code == 201
    assert response.headers["OCI-Subject"] == subject
    return digest


def test_referrers(reg):
    image = reg.push_image("app", "v1", [b"x"])
    sbom = _artifact(reg, image, "application/vnd.example.sbom",
                     "application/vnd.oci.empty.v1+json", "sbom")
    signature = _artifact(reg, image, None, "application/vnd.example.signature", "sig")
    # A referrer may be pushed before its subject exists.
    _artifact(reg, digest_of(b"not pushed yet"), "application/vnd.example.sbom",
              "application/vnd.oci.empty.v1+json", "early")

    listed = reg.request("GET", f"/v2/app/referrers/{image}")
    assert listed.status_code == 200
    assert listed.headers["Content-Type"] == OCI_INDEX
    by_digest = {m["digest"]: m for m in listed.json()["manifests"]}
    assert set(by_digest) == {sbom, signature}
    assert by_digest[sbom]["artifactType"] == "application/vnd.example.sbom"
    assert by_digest[signature]["artifactType"] == "application/vnd.example.signature"
    assert by_digest[sbom]["annotations"] == {"note": "sbom"}

    filtered = reg.request("GET", f"/v2/app/referrers/{image}",
                           params={"artifactType": "application/vnd.example.sbom"})
    assert [m["digest"] for m in filtered.json()["manifests"]] == [sbom]
    assert filtered.headers["OCI-Filters-Applied"] == "artifactType"
    empty = reg.request("GET", f"/v2/app/referrers/{digest_of(b'no referrers')}")
    assert empty.status_code == 200 and empty.json()["manifests"] == []
    assert error_codes(reg.request("GET", "/v2/app/referrers/sha256:nothex")) == \
        ["DIGEST_INVALID"]

"""The registry with real clients: the docker CLI (push, pull, login) and skopeo (an OCI layout and
a multi-arch OCI index). Images are made offline (scripts/make-registry-test-image.sh); every image
a test makes is removed afterwards, and Docker's credentials go to a temporary DOCKER_CONFIG."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import uuid
from pathlib import Path

import pytest

from emulator.registry.hooks import PermissiveHooks
from tests.groups import HOST
from test_registry_helpers import OCI_INDEX, OCI_MANIFEST, reg, registry  # noqa: F401

pytestmark = [pytest.mark.docker, HOST]  # docker build (tests/groups.py)

ROOT = Path(__file__).resolve().parent.parent
LABEL = "ecs-emulator-test=registry"


def _docker(*args: str, env: dict | None = None, check: bool = True, stdin: str | None = None):
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=600,
                            env={**os.environ, **(env or {})}, input=stdin)
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed: {result.stderr}")
    return result


def _image_id(ref: str) -> str:
    return _docker("image", "inspect", "--format", "{{.Id}}", ref).stdout.strip()


@pytest.fixture
def docker_env(tmp_path):
    """Docker CLI settings of this test only (credentials from `docker login` land here)."""
    if shutil.which("docker") is None or _docker("info", check=False).returncode != 0:
        pytest.skip("no Docker Engine answers")
    config = tmp_path / "docker-config"
    config.mkdir()
    return {"DOCKER_CONFIG": str(config)}


@pytest.fixture
def image_refs():
    """Image references the test tags; all removed at the end, with anything labelled ours."""
    refs: list[str] = []
    yield refs
    for ref in refs:
        _docker("image", "rm", "-f", ref, check=False)
    for image_id in _docker("images", "-q", "--filter", f"label={LABEL}").stdout.split():
        _docker("image", "rm", "-f", image_id, check=False)


@pytest.fixture
def built_image(docker_env, image_refs):
    ref = f"ecs-emulator-registry-test/multi:{uuid.uuid4().hex[:8]}"
    image_refs.append(ref)
    subprocess.run([str(ROOT / "scripts/make-registry-test-image.sh"), ref, "100", "4"],
                   check=True, capture_output=True, timeout=600)
    return ref


def test_docker_push_and_pull_a_multi_layer_image(reg, built_image, docker_env, image_refs):
    remote = f"127.0.0.1:{reg.port}/team/multi:v1"
    image_refs.append(remote)
    built_id = _image_id(built_image)
    _docker("tag", built_image, remote)
    _docker("push", remote, env=docker_env)

    manifest = reg.request("GET", "/v2/team/multi/manifests/v1").json()
    assert len(manifest["layers"]) == 4
    assert sum(layer["size"] for layer in manifest["layers"]) > 90 * 1024 * 1024

    _docker("image", "rm", built_image, remote)
    _docker("pull", remote, env=docker_env)
    assert _image_id(remote) == built_id
    # A second push of the same image finds every layer present and moves nothing.
    assert "Layer already exists" in _docker("push", remote, env=docker_env).stdout


def test_docker_login_with_auth_on(reg, registry, docker_env, image_refs):
    class FixedPassword(PermissiveHooks):
        def authorize(self, account, region, authorization):
            return authorization == "Basic " + base64.b64encode(b"AWS:test-password").decode()

    registry.hooks = FixedPassword()
    ref = _tiny_image(image_refs)
    remote = f"127.0.0.1:{reg.port}/secured:v1"
    image_refs.append(remote)
    _docker("tag", ref, remote)

    refused = _docker("push", remote, env=docker_env, check=False)
    assert refused.returncode != 0
    assert "no basic auth credentials" in refused.stderr + refused.stdout
    wrong = _docker("login", f"127.0.0.1:{reg.port}", "-u", "AWS", "--password-stdin",
                    env=docker_env, stdin="wrong", check=False)
    assert wrong.returncode != 0
    _docker("login", f"127.0.0.1:{reg.port}", "-u", "AWS", "--password-stdin", env=docker_env,
            stdin="test-password")
    _docker("push", remote, env=docker_env)
    assert reg.request("GET", "/v2/secured/tags/list").status_code == 401
    authorized = {"Authorization": "Basic " + base64.b64encode(b"AWS:test-password").decode()}
    assert reg.request("GET", "/v2/secured/tags/list", headers=authorized).json()["tags"] == ["v1"]


def _tiny_image(image_refs: list[str]) -> str:
    ref = f"ecs-emulator-registry-test/tiny:{uuid.uuid4().hex[:8]}"
    image_refs.append(ref)
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as archive:
        info = tarfile.TarInfo("hello.txt")
        payload = uuid.uuid4().bytes * 64
        info.size = len(payload)
        archive.addfile(info, io.BytesIO(payload))
    result = subprocess.run(["docker", "import", "--change", f"LABEL {LABEL}", "-", ref],
                            input=data.getvalue(), capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return ref


# -- skopeo -------------------------------------------------------------------------------------

@pytest.fixture
def skopeo():
    if shutil.which("skopeo") is None:
        pytest.skip("skopeo is not installed (scripts/ensure-skopeo.sh installs it)")
    return "skopeo"


def _skopeo(*args: str) -> str:
    result = subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"skopeo {' '.join(args)}: {result.stderr}"
    return result.stdout


class OciLayout:
    """An OCI image layout written by hand: blobs, and index.json naming tagged manifests."""

    def __init__(self, root: Path):
        self.root = root
        (root / "blobs" / "sha256").mkdir(parents=True)
        (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
        self.index: list[dict] = []

    def blob(self, data: bytes, media_type: str) -> dict:
        digest = hashlib.sha256(data).hexdigest()
        (self.root / "blobs" / "sha256" / digest).write_bytes(data)
        return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}

    def image(self, arch: str, layer_count: int = 2) -> dict:
        config = json.dumps({"architecture": arch, "os": "linux",
                             "rootfs": {"type": "layers", "diff_ids": []}}).encode()
        layers = [self.blob(_tar_gz(f"{arch}-{i}", os.urandom(200_000)),
                            "application/vnd.oci.image.layer.v1.tar+gzip")
                  for i in range(layer_count)]
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                    "config": self.blob(config, "application/vnd.oci.image.config.v1+json"),
                    "layers": layers}
        return self.blob(json.dumps(manifest).encode(), OCI_MANIFEST)

    def tag(self, descriptor: dict, name: str) -> None:
        name_annotation = {"org.opencontainers.image.ref.name": name}
        self.index.append({**descriptor, "annotations": name_annotation})
        (self.root / "index.json").write_text(json.dumps(
            {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": self.index}))


def _tar_gz(name: str, payload: bytes) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        info = tarfile.TarInfo(name)
        info.size = len(payload)
        archive.addfile(info, io.BytesIO(payload))
    return gzip.compress(raw.getvalue(), mtime=0)


def test_skopeo_copies_an_oci_layout_in_and_out(reg, skopeo, tmp_path):
    layout = OciLayout(tmp_path / "layout")
    manifest = layout.image("amd64", layer_count=3)
    layout.tag(manifest, "v1")
    _skopeo("copy", "--dest-tls-verify=false", f"oci:{layout.root}:v1",
            f"docker://127.0.0.1:{reg.port}/oci/app:v1")

    got = reg.request("GET", "/v2/oci/app/manifests/v1")
    assert got.headers["Docker-Content-Digest"] == manifest["digest"]
    inspected = json.loads(_skopeo("inspect", "--tls-verify=false",
                                   f"docker://127.0.0.1:{reg.port}/oci/app:v1"))
    assert inspected["Digest"] == manifest["digest"] and len(inspected["Layers"]) == 3

    _skopeo("copy", "--src-tls-verify=false", f"docker://127.0.0.1:{reg.port}/oci/app:v1",
            f"oci:{tmp_path / 'back'}:v1")
    for blob in (layout.root / "blobs" / "sha256").iterdir():
        assert (tmp_path / "back" / "blobs" / "sha256" / blob.name).read_bytes() == \
            blob.read_bytes()


def test_skopeo_copies_a_multi_arch_index(reg, skopeo, tmp_path):
    layout = OciLayout(tmp_path / "layout")
    children = {arch: layout.image(arch) for arch in ("amd64", "arm64")}
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {**descriptor, "platform": {"architecture": arch, "os": "linux"}}
        for arch, descriptor in children.items()]}
    index_descriptor = layout.blob(json.dumps(index).encode(), OCI_INDEX)
    layout.tag(index_descriptor, "multi")
    _skopeo("copy", "--all", "--dest-tls-verify=false", f"oci:{layout.root}:multi",
            f"docker://127.0.0.1:{reg.port}/multi:v1")

    got = reg.request("GET", "/v2/multi/manifests/v1", headers={"Accept": OCI_INDEX})
    assert got.headers["Content-Type"] == OCI_INDEX
    assert got.headers["Docker-Content-Digest"] == index_descriptor["digest"]
    for arch, descriptor in children.items():
        child = reg.request("GET", f"/v2/multi/manifests/{descriptor['digest']}")
        assert child.status_code == 200, arch
        for layer in child.json()["layers"]:
            assert reg.request("HEAD", f"/v2/multi/blobs/{layer['digest']}").status_code == 200
    arm = json.loads(_skopeo("inspect", "--tls-verify=false", "--override-arch=arm64",
                             f"docker://127.0.0.1:{reg.port}/multi:v1"))
    assert arm["Digest"] == index_descriptor["digest"]  # skopeo names the index it read
    assert arm["Architecture"] == "arm64"  # and describes the arm64 image it chose from it

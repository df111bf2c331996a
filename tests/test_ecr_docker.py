"""ECR with the real docker CLI: `aws ecr get-login-password | docker login`, push and pull of small
offline images (`docker import` of a tar), and what ECR makes of them. Every image these tests
tag is removed afterwards; docker's credentials go to a temporary DOCKER_CONFIG."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import pytest

from test_ecr_helpers import ACCOUNT, ecr  # noqa: F401 (fixture)
from test_registry_helpers import tiny_disk  # noqa: F401 (fixture)

pytestmark = pytest.mark.docker

AWS_CLI = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "aws"


class Docker:
    """The docker CLI, logged in to the emulator's registry, remembering what it tagged."""

    def __init__(self, handle, config_dir: str):
        self.host = handle.endpoint_url.removeprefix("http://")
        self.env = {**os.environ, "DOCKER_CONFIG": config_dir}
        self.aws_env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                        "AWS_ENDPOINT_URL": handle.endpoint_url}
        self.tagged: set[str] = set()
        self.image_ids: set[str] = set()  # a re-tagged image loses its name but not its id

    def run(self, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(["docker", *args], input=stdin, env=self.env, capture_output=True,
                              timeout=120)

    def login(self) -> subprocess.CompletedProcess:
        password = subprocess.run([str(AWS_CLI), "ecr", "get-login-password"], env=self.aws_env,
                                  capture_output=True, check=True, timeout=60).stdout
        return self.run("login", "--username", "AWS", "--password-stdin", self.host,
                        stdin=password)

    def make_image(self, reference: str, content: str) -> None:
        """A one-layer image holding one file, built offline."""
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            data = content.encode()
            info = tarfile.TarInfo("content.txt")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        self.tagged.add(reference)
        result = self.run("import", "-", reference, stdin=buffer.getvalue())
        assert result.returncode == 0, result.stderr
        self.image_ids.add(result.stdout.decode().strip())

    def push(self, reference: str) -> subprocess.CompletedProcess:
        return self.run("push", reference)

    def pull(self, reference: str) -> subprocess.CompletedProcess:
        self.tagged.add(reference)
        result = self.run("pull", reference)
        inspected = self.run("image", "inspect", "--format", "{{.Id}}", reference)
        if inspected.returncode == 0:
            self.image_ids.add(inspected.stdout.decode().strip())
        return result

    def remove(self, reference: str) -> None:
        self.run("rmi", "--force", reference)

    def cleanup(self) -> None:
        for reference in self.tagged | self.image_ids:
            self.remove(reference)


@pytest.fixture
def docker(clean_emulator):
    if shutil.which("docker") is None or subprocess.run(["docker", "info"], capture_output=True,
                                                        timeout=30).returncode != 0:
        pytest.skip("needs a Docker Engine")
    config_dir = tempfile.mkdtemp(prefix="ecr-test-docker-config-")
    cli = Docker(clean_emulator, config_dir)
    try:
        login = cli.login()
        assert login.returncode == 0, login.stderr
        yield cli
    finally:
        cli.cleanup()
        shutil.rmtree(config_dir, ignore_errors=True)


def test_login_needs_a_token_we_issued(docker):
    result = docker.run("login", "--username", "AWS", "--password-stdin", docker.host,
                        stdin=b"not-a-token")
    assert result.returncode != 0


def test_push_pull_and_describe(docker, ecr):
    uri = ecr.create_repository(repositoryName="team/app")["repository"]["repositoryUri"]
    assert uri == f"{docker.host}/team/app"
    docker.make_image(f"{uri}:v1", "hello")
    pushed = docker.push(f"{uri}:v1")
    assert pushed.returncode == 0, pushed.stderr

    detail = ecr.describe_images(repositoryName="team/app")["imageDetails"][0]
    assert detail["imageTags"] == ["v1"]
    assert detail["imageManifestMediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    manifest = json.loads(ecr.batch_get_image(repositoryName="team/app", imageIds=[
        {"imageTag": "v1"}])["images"][0]["imageManifest"])
    assert detail["imageSizeInBytes"] == sum(layer["size"] for layer in manifest["layers"])
    assert "lastRecordedPullTime" in ecr.describe_images(repositoryName="team/app")["imageDetails"][0]

    docker.remove(f"{uri}:v1")
    before = ecr.describe_images(repositoryName="team/app")["imageDetails"][0]["lastRecordedPullTime"]
    pulled = docker.pull(f"{uri}:v1")
    assert pulled.returncode == 0, pulled.stderr
    after = ecr.describe_images(repositoryName="team/app")["imageDetails"][0]["lastRecordedPullTime"]
    assert after >= before


def test_push_to_an_unknown_repository_is_refused(docker):
    docker.make_image(f"{docker.host}/never-created:v1", "x")
    result = docker.push(f"{docker.host}/never-created:v1")
    assert result.returncode != 0
    assert b"does not exist" in result.stderr or b"name unknown" in result.stderr


def test_immutable_tag_push_is_refused(docker, ecr):
    uri = ecr.create_repository(repositoryName="fixed",
                                imageTagMutability="IMMUTABLE")["repository"]["repositoryUri"]
    docker.make_image(f"{uri}:v1", "first")
    assert docker.push(f"{uri}:v1").returncode == 0
    again = docker.push(f"{uri}:v1")  # the same image: refused too (containers-roadmap#2179)
    assert again.returncode != 0
    assert b"tag invalid" in again.stderr and b"cannot be overwritten" in again.stderr
    docker.make_image(f"{uri}:v1", "second")
    refused = docker.push(f"{uri}:v1")
    assert refused.returncode != 0
    assert b"tag invalid" in refused.stderr
    assert len(ecr.list_images(repositoryName="fixed")["imageIds"]) == 1


def test_lifecycle_expiry_leaves_the_registry(docker, ecr):
    uri = ecr.create_repository(repositoryName="rotating")["repository"]["repositoryUri"]
    ecr.put_lifecycle_policy(repositoryName="rotating", lifecyclePolicyText=json.dumps({"rules": [{
        "rulePriority": 1, "description": "keep the newest",
        "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1},
        "action": {"type": "expire"}}]}))
    for tag, content in (("old", "one"), ("new", "two")):
        docker.make_image(f"{uri}:{tag}", content)
        assert docker.push(f"{uri}:{tag}").returncode == 0
    assert [i["imageTag"] for i in ecr.list_images(repositoryName="rotating")["imageIds"]] == ["new"]
    docker.remove(f"{uri}:old")
    assert docker.pull(f"{uri}:old").returncode != 0
    assert docker.pull(f"{uri}:new").returncode == 0


def test_put_image_tags_a_pushed_manifest(docker, ecr):
    uri = ecr.create_repository(repositoryName="promote")["repository"]["repositoryUri"]
    docker.make_image(f"{uri}:build-1", "release candidate")
    assert docker.push(f"{uri}:build-1").returncode == 0
    image = ecr.batch_get_image(repositoryName="promote", imageIds=[{"imageTag": "build-1"}])[
        "images"][0]
    ecr.put_image(repositoryName="promote", imageManifest=image["imageManifest"],
                  imageManifestMediaType=image["imageManifestMediaType"], imageTag="release")
    pulled = docker.pull(f"{uri}:release")
    assert pulled.returncode == 0, pulled.stderr
    assert image["imageId"]["imageDigest"].encode() in pulled.stdout


def test_replication_to_another_region(docker, ecr, clean_emulator):
    ecr.put_replication_configuration(replicationConfiguration={"rules": [{
        "destinations": [{"region": "eu-west-1", "registryId": ACCOUNT}]}]})
    uri = ecr.create_repository(repositoryName="global")["repository"]["repositoryUri"]
    docker.make_image(f"{uri}:v1", "everywhere")
    assert docker.push(f"{uri}:v1").returncode == 0
    west = clean_emulator.client("ecr", region="eu-west-1")
    replica_uri = west.describe_repositories(repositoryNames=["global"])["repositories"][0][
        "repositoryUri"]
    assert replica_uri == f"{docker.host}/{ACCOUNT}/eu-west-1/global"
    pulled = docker.pull(f"{replica_uri}:v1")
    assert pulled.returncode == 0, pulled.stderr


def test_push_to_another_region_directly(docker, clean_emulator):
    west = clean_emulator.client("ecr", region="eu-west-1")
    uri = west.create_repository(repositoryName="regional")["repository"]["repositoryUri"]
    docker.make_image(f"{uri}:v1", "west")
    pushed = docker.push(f"{uri}:v1")
    assert pushed.returncode == 0, pushed.stderr
    assert west.list_images(repositoryName="regional")["imageIds"][0]["imageTag"] == "v1"
    assert clean_emulator.client("ecr").describe_repositories()["repositories"] == []


def test_an_archived_image_cannot_be_pulled_until_pushed_again(docker, ecr):
    uri = ecr.create_repository(repositoryName="cold")["repository"]["repositoryUri"]
    docker.make_image(f"{uri}:v1", "archive me")
    assert docker.push(f"{uri}:v1").returncode == 0
    digest = ecr.describe_images(repositoryName="cold")["imageDetails"][0]["imageDigest"]
    ecr.update_image_storage_class(repositoryName="cold", imageId={"imageTag": "v1"},
                                   targetStorageClass="ARCHIVE")
    docker.tagged.add("ecr-archive-test-copy:1")
    assert docker.run("tag", f"{uri}:v1", "ecr-archive-test-copy:1").returncode == 0
    docker.remove(f"{uri}:v1")
    refused = docker.pull(f"{uri}:v1")
    assert refused.returncode != 0 and b"not found" in refused.stderr.lower()

    # pushing the very image again restores it (ECR user guide, "Archiving an image")
    assert docker.run("tag", "ecr-archive-test-copy:1", f"{uri}:v1").returncode == 0
    assert docker.push(f"{uri}:v1").returncode == 0
    images = ecr.describe_images(repositoryName="cold", filter={"imageStatus": "ANY"})
    assert [(i["imageDigest"], i["imageStatus"]) for i in images["imageDetails"]] == \
        [(digest, "ACTIVE")]
    docker.remove(f"{uri}:v1")
    assert docker.pull(f"{uri}:v1").returncode == 0


def test_a_push_onto_a_full_disk_says_so(docker, ecr, tiny_disk):
    """Docker shows the registry's own words, at once (no five retries), and nothing stays."""
    uri = ecr.create_repository(repositoryName="big")["repository"]["repositoryUri"]
    # 4 MiB of base64 text compresses to about 3 MiB: more than the 2 MiB disk holds.
    docker.make_image(f"{uri}:v1", base64.b64encode(os.urandom(3 * 1024 * 1024)).decode())
    refused = docker.push(f"{uri}:v1")
    assert refused.returncode != 0
    message = refused.stderr.decode()
    assert "denied: The registry's storage is full" in message, message
    assert str(tiny_disk) in message and "ECS_EMULATOR_DATA_DIR" in message
    # The rest of the layer is read before the refusal goes (routes._drain_body): docker,
    # still writing, sees the answer rather than a reset it would retry.
    assert b"Retrying" not in refused.stdout, refused.stdout
    assert ecr.list_images(repositoryName="big")["imageIds"] == []
    leftovers = [p for p in tiny_disk.rglob("*") if p.is_file() and "/_layers/" not in str(p)
                 and "/blobs/" not in str(p)]
    assert leftovers == [tiny_disk / "repositories" / ACCOUNT / "us-east-1" / "big" /
                         "_manifests" / "created"]

"""Fixtures and helpers shared by the registry's tests (tests/test_registry_*.py); no tests here.

`registry` is the emulator's registry on clean state with permissive hooks and auth on, whatever
another service plugged in, restored afterwards; `reg` is a small HTTP client for it.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import subprocess

import pytest
import requests

from emulator.registry.hooks import PermissiveHooks

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class RegistryClient:
    def __init__(self, handle):
        self.handle = handle
        self.base = handle.endpoint_url
        self.port = int(self.base.rsplit(":", 1)[1])
        self.registry = handle.emulator.registry
        self.session = requests.Session()

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.session.request(method, self.base + path, allow_redirects=False, **kwargs)

    def raw(self, method: str, path: str, body: bytes = b"", headers: dict | None = None):
        """A request whose path goes out exactly as written (no client-side normalisation)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        connection.putrequest(method, path, skip_accept_encoding=True)
        for key, value in {"Content-Length": str(len(body)), **(headers or {})}.items():
            connection.putheader(key, value)
        connection.endheaders(body)
        response = connection.getresponse()
        payload = response.read()
        connection.close()
        return response.status, dict(response.getheaders()), payload

    def push_blob(self, name: str, data: bytes, **kwargs) -> str:
        digest = digest_of(data)
        response = self.request("POST", f"/v2/{name}/blobs/uploads/?digest={digest}", data=data,
                                **kwargs)
        assert response.status_code == 201, response.text
        return digest

    def push_manifest(self, name: str, reference: str, manifest: dict,
                      media_type: str | None = None, **kwargs) -> requests.Response:
        body = json.dumps(manifest).encode()
        media_type = media_type or manifest.get("mediaType", OCI_MANIFEST)
        return self.request("PUT", f"/v2/{name}/manifests/{reference}", data=body,
                            headers={"Content-Type": media_type}, **kwargs)

    def push_image(self, name: str, tag: str | None, layers: list[bytes],
                   config: bytes = b'{"architecture":"amd64","os":"linux"}', **extra) -> str:
        """Push blobs and an OCI image manifest; the manifest's digest."""
        manifest = image_manifest(
            self.push_blob(name, config), len(config),
            [(self.push_blob(name, layer), len(layer)) for layer in layers], **extra)
        body = json.dumps(manifest).encode()
        reference = tag or digest_of(body)
        response = self.request("PUT", f"/v2/{name}/manifests/{reference}", data=body,
                                headers={"Content-Type": OCI_MANIFEST})
        assert response.status_code == 201, response.text
        return response.headers["Docker-Content-Digest"]


def image_manifest(config_digest: str, config_size: int, layers: list[tuple[str, int]],
                   media_type: str = OCI_MANIFEST, config_type: str = OCI_CONFIG,
                   layer_type: str = OCI_LAYER, **extra) -> dict:
    return {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": {"mediaType": config_type, "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": layer_type, "digest": d, "size": s} for d, s in layers],
        **extra,
    }


def error_codes(response) -> list[str]:
    payload = response.json() if hasattr(response, "json") else json.loads(response)
    return [error["code"] for error in payload["errors"]]


def files_under(root) -> list[str]:
    found = []
    for directory, _, files in os.walk(root):
        found += [os.path.join(directory, f) for f in files]
    return sorted(found)


def stored(storage, *tops: str) -> list[str]:
    """The driver paths of every file storage holds under `tops` (by default, anywhere)."""
    from emulator.registry.driver import PathNotFound

    found = []
    for top in tops or ("blobs", "uploads", "tmp", "repositories"):
        try:
            found += [info.path for info in storage.driver.walk(top)]
        except PathNotFound:
            continue
    return sorted(found)


@pytest.fixture
def registry(clean_emulator):
    registry = clean_emulator.emulator.registry
    saved = registry.hooks, registry.auth
    registry.hooks, registry.auth = PermissiveHooks(), True
    try:
        yield registry
    finally:
        registry.hooks, registry.auth = saved
        registry.reset()


@pytest.fixture
def reg(registry, clean_emulator) -> RegistryClient:
    return RegistryClient(clean_emulator)


@pytest.fixture
def tiny_disk(clean_emulator, tmp_path):
    """The emulator's registry stored on a 2 MiB tmpfs (a full disk within reach): the path of
    its data directory. Skipped where mounting is not permitted."""
    from emulator.registry.driver.filesystem import FilesystemDriver
    from emulator.registry.storage import RegistryStorage

    mountpoint = tmp_path / "tiny"
    mountpoint.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mountpoint)],
                             capture_output=True, timeout=30)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    registry = clean_emulator.emulator.registry
    saved = registry.storage
    registry.storage = RegistryStorage(FilesystemDriver(mountpoint / "registry"))
    try:
        yield mountpoint / "registry"
    finally:
        registry.storage = saved
        if subprocess.run(["umount", str(mountpoint)], capture_output=True,
                          timeout=30).returncode != 0:  # a stream still open: detach it anyway
            subprocess.run(["umount", "--lazy", str(mountpoint)], timeout=30, check=True)

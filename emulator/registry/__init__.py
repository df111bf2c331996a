"""The OCI registry (Docker Registry HTTP API v2) served under /v2/ on the emulator's port.

`Registry` is what the app holds: the storage, the hooks another service plugs in (ECR), and the
settings the routes need. Modules: names (what may be named; namespace resolution), ecr_hosts
(ECR's registry host names), manifests (formats), storage (blobs, uploads, manifests, tags) with
blobstore (blobs, upload sessions) and layout (where each lives), driver/ (the storage drivers:
where bytes live, the filesystem or memory), hooks (the plug-in contract), errors (domain errors
and the one table of answers), routes (the only module touching HTTP).

Storage and its driver are imported when a registry is made (create_registry), not with the
package: what else imports a module of it (names' ECR host pattern, read by the browser rules at
start-up) then leaves storage to the registry's first use (the ECR state makes it: app.py).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from emulator.config import Settings
from emulator.registry.hooks import PermissiveHooks, RegistryHooks

if TYPE_CHECKING:
    from emulator.registry.storage import RegistryStorage


@dataclass
class Registry:
    """The OCI registry the app holds: storage, hooks and the settings the routes need."""
    storage: RegistryStorage
    default_account: str
    default_region: str
    auth: bool = True
    hooks: RegistryHooks = field(default_factory=PermissiveHooks)

    def reset(self) -> None:
        self.storage.reset()


def data_root(data_dir: str) -> Path:
    """The registry's directory under ECS_EMULATOR_DATA_DIR, made readable by its owner only:
    it holds every image pushed, whose layers may carry secrets. The data directory is made so
    too when it is new; one that exists is the user's and left as it is (it may hold more than
    ours), as our registry/ and state/ in it are closed to others anyway. registry/ is closed
    even when an older emulator made it (0755, files 0644)."""
    data = Path(data_dir)
    data.mkdir(mode=0o700, parents=True, exist_ok=True)
    root = data / "registry"
    root.mkdir(mode=0o700, exist_ok=True)
    os.chmod(root, 0o700)
    return root


def create_registry(settings: Settings) -> Registry:
    """A registry under `settings.data_dir`/registry, or under a temporary directory that is
    removed when the registry is collected or the process exits."""
    from emulator.registry.driver.filesystem import FilesystemDriver
    from emulator.registry.storage import RegistryStorage

    if settings.data_dir:
        root = data_root(settings.data_dir)
        cleanup = None
    else:
        root = Path(tempfile.mkdtemp(prefix="ecs-emulator-registry-"))
        cleanup = root
    registry = Registry(
        storage=RegistryStorage(FilesystemDriver(root)),
        default_account=settings.default_account_id,
        default_region=settings.default_region,
        auth=settings.registry_auth,
    )
    if cleanup is not None:
        weakref.finalize(registry, shutil.rmtree, cleanup, True)
    return registry

"""Tasks whose images live in this emulator's ECR: pull them from our registry, with credentials.

Both spellings a user may write in a task definition resolve: AWS's
`<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>` and our repositoryUri form
`127.0.0.1:<port>/<repo>:<tag>`. The Docker Engine pulls from the emulator's own port.
"""

from __future__ import annotations

from typing import Callable

from emulator.config import Settings
from emulator.ecr import arns as ecr_arns
from emulator.ecr import auth as ecr_auth
from emulator.engine.hooks import TaskHook
from emulator.runtime.base import RegistryAuth


class EcrImages(TaskHook):
    def __init__(self, ecr_state, settings: Settings, port: Callable[[], int]):
        self._ecr = ecr_state
        self._settings = settings
        self._port = port

    def resolve_image(self, store, image: str):
        host = f"127.0.0.1:{self._port()}"
        local = ecr_arns.local_reference(image, host, self._settings)
        if local is None:
            if not _served_by(image, self._port()):
                return None
            local = image if image.startswith("127.0.0.1") else "127.0.0.1" + image[image.index(":"):]
        # Any token we issued opens every namespace of our registry; the caller's account will do.
        username, password = ecr_auth.docker_credentials(self._ecr.signing_key, store.account)
        return local, RegistryAuth(username=username, password=password, server=host)


def _served_by(image: str, port: int) -> bool:
    return any(image.startswith(f"{name}:{port}/") for name in ("127.0.0.1", "localhost"))

"""Tasks whose images live in this emulator's ECR: pull them from our registry, with credentials.

Both spellings a user may write in a task definition resolve: AWS's
`<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>` and our repositoryUri form
`127.0.0.1:<port>/<repo>:<tag>` (or the registry address configured, below). The Docker Engine
pulls from the emulator's own port at 127.0.0.1, which every engine on this host reaches and
trusts over plain HTTP; an engine elsewhere pulls from the address its `registry=` option or
ECS_EMULATOR_REGISTRY_ADDRESS names (the README says what that engine needs). The registry
serves every host name alike, so only the name the engine pulls by changes.

ECR's names and tokens (and the registry's names they use) are imported on a task's first look
at its image, not with the app: an ECS call needs none of them.
"""

from __future__ import annotations

from typing import Callable

from emulator.config import Settings
from emulator.engine.hooks import TaskHook


class EcrImages(TaskHook):
    def __init__(self, ecr_state, settings: Settings, port: Callable[[], int]):
        self._ecr = ecr_state
        self._settings = settings
        self._port = port
        self.engines = None  # the Docker Engines (engines.py), which know each one's address

    def _registry_of(self, engine: str | None) -> str | None:
        if self.engines is not None:
            return self.engines.registry_of(engine)
        return self._settings.registry_address

    def resolve_image(self, store, image: str, engine: str | None = None):
        from emulator.ecr import arns as ecr_arns
        from emulator.ecr import auth as ecr_auth
        from emulator.runtime.base import RegistryAuth

        host = self._registry_of(engine) or f"127.0.0.1:{self._port()}"
        local = ecr_arns.local_reference(image, host, self._settings)
        if local is None:
            served = self.served_as(image)
            if served is None:
                return None
            local = host + image[len(served):]
        # The task's own account's token: another account's image is pulled only as far as that
        # repository's (or registry's) policy grants this account, as on AWS.
        username, password = ecr_auth.docker_credentials(self._ecr.signing_key, store.account)
        return local, RegistryAuth(username=username, password=password, server=host)

    def is_ours(self, image: str) -> bool:
        """Whether a task's image is pulled from this emulator's registry (either spelling)."""
        from emulator.ecr import arns as ecr_arns

        return ecr_arns.parse_aws_image(image) is not None or self.served_as(image) is not None

    def served_as(self, image: str) -> str | None:
        """The `host:port` of ours `image` starts with (a repositoryUri as a client saw it), or
        None for another registry's image."""
        port = self._port()
        names = [f"{name}:{port}" for name in ("127.0.0.1", "localhost")]
        names.append(self._settings.registry_address or "")
        if self.engines is not None:
            names += self.engines.registry_addresses()
        return next((name for name in names if name and image.startswith(name + "/")), None)

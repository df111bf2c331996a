"""ECR's side of the registry's hooks (emulator/registry/hooks.py): which repositories exist, who
may use them, and what ECR records when docker pushes, pulls and deletes.

The registry calls these without its storage lock; each takes the ECR lock, as API handlers do.
What only a push or a pull needs (pushes, archive) is imported on the first one: the emulator's
start-up goes without them.
"""

from __future__ import annotations

from emulator.ecr import auth, cross_account, images
from emulator.ecr.errors import ImageTagAlreadyExistsException
from emulator.ecr.store import EcrState
from emulator.registry.errors import ManifestUnknown, TagImmutable


# The ECR API actions that stand for each registry action (RegistryHooks.permits): a repository
# policy grants a registry request when it allows any of them, as ECR's documentation pairs them
# (pull: BatchGetImage and GetDownloadUrlForLayer; push: PutImage and the layer uploads).
_ECR_ACTIONS = {
    "pull": ("ecr:BatchGetImage",),
    "read-blob": ("ecr:GetDownloadUrlForLayer",),
    "check-blob": ("ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer"),
    "upload": ("ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload"),
    "push": ("ecr:PutImage",),
    "delete": ("ecr:BatchDeleteImage",),
}


class EcrRegistryHooks:
    def __init__(self, state: EcrState):
        self._state = state

    def authorize(self, account: str, region: str, authorization: str | None) -> bool:
        return auth.authorizes(self._state.signing_key, authorization)

    def permits(self, account: str, region: str, name: str, action: str,
                authorization: str | None) -> bool:
        caller = auth.account_of(self._state.signing_key, authorization)
        if caller is None:
            return False
        if caller == account:
            return True
        with self._state.lock:
            store = self._state.existing_store(account, region)
            # The same rule as the API's (cross_account.py): the repository's policy, or the
            # registry's under REGISTRY_POLICY_SCOPE V2.
            return store is not None and cross_account.grants(store, caller, _ECR_ACTIONS[action],
                                                              name)

    def catalog_account(self, authorization: str | None) -> str | None:
        return auth.account_of(self._state.signing_key, authorization)

    def repository_exists(self, account: str, region: str, name: str) -> bool:
        with self._state.lock:
            return self._repository(account, region, name) is not None

    def before_tag(self, account: str, region: str, name: str, tag: str, digest: str) -> None:
        from emulator.ecr import pushes

        with self._state.lock:
            repository = self._repository(account, region, name)
            if repository is None:
                return
            try:
                pushes.check_tag_may_point_at(self._state.store_for(account, region),
                                              repository, tag, digest, same_image_too=True)
            except ImageTagAlreadyExistsException as error:
                raise TagImmutable(error.message) from None

    def after_manifest_put(self, account: str, region: str, name: str, digest: str,
                           tag: str | None, media_type: str, size: int) -> None:
        from emulator.ecr import pushes

        with self._state.lock:
            repository = self._repository(account, region, name)
            if repository is not None:
                pushes.after_push(self._state.store_for(account, region), repository, digest, tag)
                self._state.changed()

    def before_pull(self, account: str, region: str, name: str, digest: str) -> None:
        from emulator.ecr import archive

        with self._state.lock:
            repository = self._repository(account, region, name)
            if repository is None or archive.pullable(images.record_of(repository, digest)):
                return
            status = archive.status(images.record_of(repository, digest))
        # ECR answers 404 for an archived image (the user guide's "Archiving an image").
        raise ManifestUnknown(f"The image with digest '{digest}' in repository '{name}' is "
                              f"{status} and cannot be pulled; restore it with "
                              "UpdateImageStorageClass", reference=digest)

    def after_pull(self, account: str, region: str, name: str, digest: str,
                   authorization: str | None) -> None:
        from emulator.ecr import archive

        principal = auth.principal_in(self._state.signing_key, authorization)
        with self._state.lock:
            repository = self._repository(account, region, name)
            if repository is not None:
                archive.record_pull(self._state.store_for(account, region),
                                    images.record_of(repository, digest), principal)
                self._state.changed()

    def after_delete(self, account: str, region: str, name: str, digest: str, tags,
                     manifest_removed: bool) -> None:
        with self._state.lock:
            repository = self._repository(account, region, name)
            if repository is not None and manifest_removed:
                repository.images.pop(digest, None)
                self._state.changed()

    def _repository(self, account: str, region: str, name: str):
        store = self._state.existing_store(account, region)
        return store.repositories.get(name) if store is not None else None

"""How another service (ECR) takes part in the registry's requests, without the registry
importing it: the `RegistryHooks` protocol, and `PermissiveHooks`, the default until one plugs in.

Plugging in: `emulator.registry.hooks = MyHooks(...)` (see emulator/app.py). Every method is called
by emulator/registry/routes.py only, once per HTTP request, with the request's namespace as
resolved by names.resolve_repository: `account` (12 digits), `region`, and `name`, the repository
name within that account and region (never the /v2/<account>/<region>/ path prefix).

Hooks run without the storage lock held, so they may take their own locks and may call storage.
To refuse, a hook raises a domain error of emulator/registry/errors.py; routes turn it into the
spec's answer: RepositoryUnknown -> 404 NAME_UNKNOWN, ManifestUnknown -> 404 MANIFEST_UNKNOWN,
TagImmutable -> 400 TAG_INVALID (what ECR answers for an immutable tag; docker prints "tag
invalid: <message>"), Denied -> 403 DENIED.
"""

from __future__ import annotations

from typing import Protocol, Sequence


class RegistryHooks(Protocol):
    def authorize(self, account: str, region: str, authorization: str | None) -> bool:
        """Whether the request's Authorization header (None when absent) may use the registry
        of `account`/`region`. ECR: "Basic base64(AWS:<token from GetAuthorizationToken>)".
        False -> 401 UNAUTHORIZED with `WWW-Authenticate: Basic realm="<base URL>",
        service="ecr.amazonaws.com"`. Not called when ECS_EMULATOR_REGISTRY_AUTH=0."""

    def permits(self, account: str, region: str, name: str, action: str,
                authorization: str | None) -> bool:
        """Whether the credentials that authorize() accepted may do `action` on the repository:
        "pull" (GET/HEAD a manifest, tags, referrers), "read-blob" (GET a blob), "check-blob"
        (HEAD a blob, as a push does), "upload" (start, send, finish, cancel a blob upload),
        "push" (PUT a manifest), "delete" (a manifest or blob). False -> 403 DENIED. Called
        before repository_exists. Not called when ECS_EMULATOR_REGISTRY_AUTH=0. ECR: the
        token's own account, or another's through the repository's policy."""

    def catalog_account(self, authorization: str | None) -> str | None:
        """Whose repositories /v2/_catalog lists: an account id, or None for every account.
        ECR: the token's account."""

    def repository_exists(self, account: str, region: str, name: str) -> bool:
        """Whether the repository may be used. Called before every repository-scoped request
        (pushes, pulls, tag lists, deletes); False -> 404 NAME_UNKNOWN. ECR: whether
        CreateRepository made it (ECR then also calls storage.create_repository)."""

    def before_tag(self, account: str, region: str, name: str, tag: str, digest: str) -> None:
        """Called when a manifest push by tag has passed every check, just before the tag is
        written. Raise TagImmutable to refuse (ECR: the tag exists, points elsewhere, and the
        repository's imageTagMutability is IMMUTABLE). Must not change state: nothing is
        stored until it returns."""

    def after_manifest_put(self, account: str, region: str, name: str, digest: str,
                           tag: str | None, media_type: str, size: int) -> None:
        """A manifest was stored (and tagged, when `tag` is not None). ECR: imagePushedAt,
        scan-on-push, events. The full record is storage.stat_manifest(repo, digest)."""

    def before_pull(self, account: str, region: str, name: str, digest: str) -> None:
        """A manifest is about to be served (GET or HEAD). Raise ManifestUnknown to answer 404
        MANIFEST_UNKNOWN (ECR: the image is archived)."""

    def after_pull(self, account: str, region: str, name: str, digest: str,
                   authorization: str | None) -> None:
        """A manifest was served by GET (not HEAD), to a request with that Authorization header.
        ECR: lastRecordedPullTime, unless the token's principal is excluded."""

    def after_delete(self, account: str, region: str, name: str, digest: str,
                     tags: Sequence[str], manifest_removed: bool) -> None:
        """A DELETE removed `tags` from `digest` and, when `manifest_removed`, the manifest
        itself (deleting by tag removes only that tag)."""


class PermissiveHooks:
    """Accept every request and every repository; record nothing."""

    def authorize(self, account, region, authorization):
        return True

    def permits(self, account, region, name, action, authorization):
        return True

    def catalog_account(self, authorization):
        return None

    def repository_exists(self, account, region, name):
        return True

    def before_tag(self, account, region, name, tag, digest):
        return None

    def after_manifest_put(self, account, region, name, digest, tag, media_type, size):
        return None

    def before_pull(self, account, region, name, digest):
        return None

    def after_pull(self, account, region, name, digest, authorization):
        return None

    def after_delete(self, account, region, name, digest, tags, manifest_removed):
        return None

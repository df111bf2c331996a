"""Registry replication: the configuration (PutReplicationConfiguration, DescribeRegistry) and the
copying it asks for, done for real between the registries of this emulator.

After a push, each rule whose repository filters match sends the image, with its tags, to each
destination (region, account): the destination repository is created if need be (by a creation
template for REPLICATION, else with ECR's defaults), blobs are linked (storage shares bytes, so
nothing is copied twice) and the manifest is put. ECR replicates within minutes; we do it before
the push is answered, so a pull from the destination right after works. Replicas are not
replicated again, as in ECR.

Another account's registry takes replicas only where its registry permissions policy lets the
source account do ecr:ReplicateImage (and ecr:CreateRepository for a repository it has not),
as ECR requires of cross-account replication; else the
image's status for that destination is FAILED and nothing is written there (nor deleted by a
replicated deletion). Other regions of the source's own account need no policy.
"""

from __future__ import annotations

from emulator.ecr import images, lifecycle, policies, repositories, scanning, templates
from emulator.ecr.errors import InvalidParameterException
from emulator.ecr.model import Repository
from emulator.registry import errors as registry_errors
from emulator.registry import manifests as formats


def put_configuration(store, rules: list[dict]) -> None:
    """The registry's replication rules, kept as the request gave them."""
    for rule in rules:
        for destination in rule["destinations"]:
            if (destination["region"], destination["registryId"]) == (store.region, store.account):
                raise InvalidParameterException(
                    "Invalid parameter at 'replicationConfiguration' failed to satisfy "
                    "constraint: 'Replication destination cannot be the source registry'"
                )
    store.replication_rules = [dict(rule) for rule in rules]


def destinations_for(store, name: str) -> list[tuple[dict, dict]]:
    """(rule, destination) pairs that apply to repository `name`, each destination once."""
    found, seen = [], set()
    for rule in store.replication_rules:
        filters = rule.get("repositoryFilters")
        if filters and not any(name.startswith(f["filter"]) for f in filters):
            continue
        for destination in rule["destinations"]:
            key = (destination["region"], destination["registryId"])
            if key not in seen:
                seen.add(key)
                found.append((rule, destination))
    return found


def replicate(store, image: images.Image) -> None:
    for _, destination in destinations_for(store, image.repository.name):
        copy_to(store, image, destination)


def copy_to(store, image: images.Image, destination: dict) -> bool:
    """Send one image with its tags to one destination; whether it arrived."""
    key = (destination["region"], destination["registryId"])
    target_store = store.other(destination["registryId"], destination["region"])
    if not accepts(store, target_store, image.repository.name):
        image.record.replication[key] = "FAILED"
        return False
    try:
        _copy(store, image.repository, image.digest, image.tags, target_store)
    except (registry_errors.RegistryError, InvalidParameterException):
        image.record.replication[key] = "FAILED"
        return False
    image.record.replication[key] = "COMPLETE"
    return True


def replicate_deletion(store, repository: Repository, digest: str) -> None:
    """An image deleted in the source goes from destinations whose rule asks for it."""
    for rule, destination in destinations_for(store, repository.name):
        if not rule.get("deleteReplication", {}).get("enabled"):
            continue
        target_store = store.other(destination["registryId"], destination["region"])
        if not accepts(store, target_store, repository.name):
            continue
        target = target_store.repositories.get(repository.name)
        if target is not None and images.find(target_store, target, digest) is not None:
            images.delete(target_store, target, digest)


def accepts(store, target_store, name: str) -> bool:
    """Whether the destination registry takes the source's replicas of repository `name`: its
    own account's always; another account's when its registry policy allows the source account
    ecr:ReplicateImage, and ecr:CreateRepository where the repository is still to be made."""
    if target_store.account == store.account:
        return True
    needed = ["ecr:ReplicateImage"]
    if name not in target_store.repositories:
        needed.append("ecr:CreateRepository")
    return all(policies.allows(target_store.registry_policy, store.account, (action,))
               for action in needed)


def _copy(store, source: Repository, digest: str, tags: tuple[str, ...], target_store) -> None:
    target = _target_repository(target_store, source.name)
    source_ref = images.repo_ref(store, source.name)
    target_ref = images.repo_ref(target_store, target.name)
    body = images.manifest_bytes(store, source, digest)
    media_type = images.find(store, source, digest).media_type
    _copy_content(store, source, source_ref, target_ref, body, media_type)
    storage = images.storage(store)
    storage.put_manifest(target_ref, digest, body, media_type)
    for tag in tags:
        if _tag_would_move(target_store, target, tag, digest):
            raise registry_errors.TagImmutable(f"tag {tag} is immutable in the destination")
        storage.put_manifest(target_ref, tag, body, media_type)
    replica = images.find(target_store, target, digest)
    scanning.scan_on_push(target_store, replica)
    if tags:  # as after a push: not between the children of an index and the index
        lifecycle.apply(target_store, target)


def _copy_content(store, source, source_ref, target_ref, body: bytes, media_type: str) -> None:
    """Link the blobs a manifest needs into the target, and copy the manifests an index lists."""
    parsed = formats.parse_manifest(body, media_type)
    storage = images.storage(store)
    for blob in parsed.blobs:
        if storage.mount_blob(target_ref, source_ref, blob) is None:
            raise registry_errors.BlobUnknown(f"blob {blob} is missing from the source")
    for child in parsed.manifests:
        info, child_body = storage.get_manifest(source_ref, child)
        _copy_content(store, source, source_ref, target_ref, child_body, info.media_type)
        storage.put_manifest(target_ref, child, child_body, info.media_type)


def _tag_would_move(target_store, target: Repository, tag: str, digest: str) -> bool:
    if not repositories.tag_is_immutable(target, tag):
        return False
    current = images.find(target_store, target, tag)
    return current is not None and current.digest != digest


def _target_repository(target_store, name: str) -> Repository:
    existing = target_store.repositories.get(name)
    if existing is not None:
        return existing
    return templates.create_repository(target_store, name, "REPLICATION")

"""Lifecycle policies of repositories: stored, previewed, and applied for real.

ECR applies a policy within a day of any change; the emulator applies it at once: when the policy
is put, after every push to the repository, and when the control endpoint asks (which may name a
`now` in the future, to see `sinceImagePushed` rules act without waiting days). Expiring an image
deletes it from the registry too; a `transition` rule archives it (archive.py: it is kept,
described with `imageStatus` ARCHIVED, and no longer pulled).
"""

from __future__ import annotations

import datetime as dt

from emulator.ecr import archive, images, lifecycle_policy
from emulator.ecr.errors import (
    LifecyclePolicyNotFoundException,
    LifecyclePolicyPreviewNotFoundException,
)
from emulator.ecr.model import LifecyclePreview, PreviewResult, Repository, utcnow


def put(store, name: str, text: str) -> Repository:
    repository = store.repository(name)
    lifecycle_policy.parse(text)
    repository.lifecycle_policy = text
    apply(store, repository)
    return repository


def get(store, name: str) -> Repository:
    repository = store.repository(name)
    if repository.lifecycle_policy is None:
        raise _not_found(store, name)
    return repository


def delete(store, name: str) -> tuple[Repository, str]:
    repository = get(store, name)
    text = repository.lifecycle_policy
    repository.lifecycle_policy = None
    repository.lifecycle_preview = None
    return repository, text


def apply(store, repository: Repository, now: dt.datetime | None = None) -> list[images.Image]:
    """Expire, or archive, what the repository's policy selects; the images expired."""
    if repository.lifecycle_policy is None:
        return []
    repository.lifecycle_evaluated_at = utcnow()
    acted = _evaluate(store, repository, repository.lifecycle_policy, now or utcnow())
    expired = [image for image, rule in acted if rule.action == "expire"]
    for image, rule in acted:
        if rule.action == "transition" and archive.status(image.record) == archive.ACTIVE:
            archive.transition(store, image, "ARCHIVE")
    for image in expired:
        images.delete(store, repository, image.digest)
    return expired


def start_preview(store, name: str, text: str | None) -> LifecyclePreview:
    repository = store.repository(name)
    text = text or repository.lifecycle_policy
    if text is None:
        raise _not_found(store, name)
    results = [PreviewResult(image.digest, tuple(image.tags), image.pushed_at, rule.priority,
                             rule.action, "ARCHIVE" if image.record.archived else "STANDARD")
               for image, rule in _evaluate(store, repository, text, utcnow())]
    # ECR runs a preview in the background; ours is complete before StartLifecyclePolicyPreview
    # answers (IN_PROGRESS, as ECR's does).
    repository.lifecycle_preview = LifecyclePreview(text, "COMPLETE", results)
    return repository.lifecycle_preview


def preview_of(store, name: str) -> tuple[Repository, LifecyclePreview]:
    repository = store.repository(name)
    if repository.lifecycle_preview is None:
        raise LifecyclePolicyPreviewNotFoundException(
            f"There is no dry run for the repository with name '{name}' in the registry with id "
            f"'{store.account}'"
        )
    return repository, repository.lifecycle_preview


def _evaluate(store, repository: Repository, text: str, now: dt.datetime):
    """(image, rule) for each image the policy acts on, oldest push first."""
    rules = lifecycle_policy.parse(text)
    every = images.all_of(store, repository)
    # A child of a manifest list in the repository goes only with its list.
    protected = set(images.parent_indexes(every, store, repository))
    candidates = [
        lifecycle_policy.Candidate(i.digest, i.tags, i.pushed_at, i.record.last_pull,
                                   i.record.archived, i.record.last_archived_at)
        for i in every
    ]
    expired = lifecycle_policy.evaluate(rules, candidates, now)
    return [(i, expired[i.digest]) for i in every
            if i.digest in expired and i.digest not in protected]


def _not_found(store, name: str) -> LifecyclePolicyNotFoundException:
    return LifecyclePolicyNotFoundException(
        f"Lifecycle policy does not exist for the repository with name '{name}' in the registry "
        f"with id '{store.account}'"
    )

"""ECR's resources as plain dataclasses (snake_case; render.py turns them into wire dicts).

An image here is ECR's record about a manifest (when it was pushed and pulled, its scan); the
manifest, its blobs and its tags live in the registry's storage, found by digest. There is never
a second copy of image data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass(frozen=True)
class ImageId:
    """An image as a request names it: by digest, by tag, or both (either may be missing)."""

    digest: str | None = None
    tag: str | None = None


@dataclass
class ScanResult:
    """One basic scan of an image. Findings come only from the control endpoint: we scan nothing."""

    status: str = "COMPLETE"
    description: str = "The scan was completed successfully."
    completed_at: dt.datetime = field(default_factory=utcnow)
    findings: list[dict] = field(default_factory=list)


@dataclass
class ImageRecord:
    """What ECR alone knows of an image; the image itself is in registry storage."""

    digest: str
    last_pull: dt.datetime | None = None
    scan: ScanResult | None = None
    # destination (region, registry id) -> status, as DescribeImageReplicationStatus shows it
    replication: dict[tuple[str, str], str] = field(default_factory=dict)
    # Storage class (emulator/ecr/archive.py): an archived image is refused for pull; a restored
    # one is ACTIVATING until `activating_until`, then ACTIVE again.
    archived: bool = False
    activating_until: dt.datetime | None = None
    last_archived_at: dt.datetime | None = None
    last_activated_at: dt.datetime | None = None


@dataclass(frozen=True)
class PreviewResult:
    """An image a lifecycle policy preview would act on, the rule that would, and how."""

    digest: str
    tags: tuple[str, ...]
    pushed_at: dt.datetime
    rule_priority: int
    action: str = "expire"  # or "transition" (to archival storage)
    storage_class: str = "STANDARD"  # the image's now: STANDARD or ARCHIVE


@dataclass
class LifecyclePreview:
    """A lifecycle policy preview: the policy, its status and the images it would act on."""
    policy_text: str
    status: str
    results: list[PreviewResult] = field(default_factory=list)


@dataclass
class Repository:
    """An ECR repository as the store holds it."""
    name: str
    arn: str
    registry_id: str
    created_at: dt.datetime = field(default_factory=utcnow)
    image_tag_mutability: str = "MUTABLE"
    mutability_exclusion_filters: list[dict] | None = None
    scan_on_push: bool = False
    encryption: dict = field(default_factory=lambda: {"encryptionType": "AES256"})
    tags: list[dict] = field(default_factory=list)
    policy: str | None = None
    lifecycle_policy: str | None = None
    lifecycle_evaluated_at: dt.datetime | None = None
    lifecycle_preview: LifecyclePreview | None = None
    images: dict[str, ImageRecord] = field(default_factory=dict)  # digest -> ECR's record


@dataclass
class PullThroughCacheRule:
    """A pull through cache rule: a repository prefix and the upstream registry it mirrors."""
    prefix: str
    upstream_url: str
    upstream_registry: str | None
    credential_arn: str | None = None
    custom_role_arn: str | None = None
    upstream_prefix: str | None = None
    created_at: dt.datetime = field(default_factory=utcnow)
    updated_at: dt.datetime | None = None


@dataclass
class CreationTemplate:
    """A repository creation template: settings for repositories created under a prefix."""
    prefix: str
    applied_for: list[str]
    description: str | None = None
    encryption: dict | None = None
    resource_tags: list[dict] = field(default_factory=list)
    image_tag_mutability: str = "MUTABLE"
    mutability_exclusion_filters: list[dict] | None = None
    repository_policy: str | None = None
    lifecycle_policy: str | None = None
    custom_role_arn: str | None = None
    created_at: dt.datetime = field(default_factory=utcnow)
    updated_at: dt.datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class BackfillResult:
    """One image (one tag of it, or untagged) a backfill sent: COMPLETE or FAILED."""

    repository_name: str
    status: str
    digest: str
    tag: str | None


@dataclass
class Backfill:
    """One StartReplicationBackfill: existing images sent to a destination, done at once."""

    backfill_id: str
    destination: dict
    results: list[BackfillResult]
    status: str = "COMPLETE"
    started_at: dt.datetime = field(default_factory=utcnow)
    ended_at: dt.datetime = field(default_factory=utcnow)

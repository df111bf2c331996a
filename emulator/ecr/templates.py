"""Repository creation templates: the settings ECR gives a repository it creates on its own (for
replication, a pull through cache, or a push to a repository that does not exist yet).

A template's prefix `prod` covers repositories named `prod/...`; `ROOT` covers every repository
no other template covers; the longest matching prefix wins.
"""

from __future__ import annotations

import dataclasses

from emulator.ecr import lifecycle_policy, names, policies, repositories, tags
from emulator.ecr.errors import (
    InvalidParameterException,
    TemplateAlreadyExistsException,
    TemplateNotFoundException,
)
from emulator.ecr.model import CreationTemplate, Repository, utcnow

ROOT = "ROOT"


@dataclasses.dataclass(frozen=True)
class TemplateSettings:
    """What a Create or Update of a template sets; None leaves a setting as it is. Each field but
    `encryption` is the template's attribute of that name."""

    description: str | None = None
    resource_tags: list[dict] | None = None
    image_tag_mutability: str | None = None
    mutability_exclusion_filters: list[dict] | None = None
    repository_policy: str | None = None
    lifecycle_policy: str | None = None
    applied_for: list[str] | None = None
    custom_role_arn: str | None = None
    encryption: dict | None = None


def create(store, prefix: str, settings: TemplateSettings) -> CreationTemplate:
    prefix = names.check_prefix(prefix, "prefix")
    if prefix in store.templates:
        raise TemplateAlreadyExistsException(
            f"A repository creation template with the prefix '{prefix}' already exists."
        )
    template = CreationTemplate(prefix=prefix, applied_for=[])
    _apply(store, template, settings)
    store.templates[prefix] = template
    return template


def update(store, prefix: str, settings: TemplateSettings) -> CreationTemplate:
    template = get(store, prefix)
    _apply(store, template, settings)
    template.updated_at = utcnow()
    return template


def delete(store, prefix: str) -> CreationTemplate:
    template = get(store, prefix)
    del store.templates[template.prefix]
    return template


def get(store, prefix: str) -> CreationTemplate:
    template = store.templates.get(prefix)
    if template is None:
        raise TemplateNotFoundException(
            f"The repository creation template with the prefix '{prefix}' does not exist in "
            f"the registry with id '{store.account}'."
        )
    return template


def matching(store, repository_name: str, purpose: str) -> CreationTemplate | None:
    """The template that applies to a repository ECR creates for `purpose` (e.g. REPLICATION)."""
    best = None
    for template in store.templates.values():
        if purpose not in template.applied_for or template.prefix == ROOT:
            continue
        if repository_name.startswith(template.prefix.rstrip("/") + "/"):
            if best is None or len(template.prefix) > len(best.prefix):
                best = template
    if best is None:
        root = store.templates.get(ROOT)
        if root is not None and purpose in root.applied_for:
            best = root
    return best


def create_repository(store, name: str, purpose: str) -> Repository:
    """A repository ECR makes on its own for `purpose`, with the matching template's settings."""
    template = matching(store, name, purpose)
    if template is None:
        return repositories.create(store, name)
    repository = repositories.create(
        store, name, resource_tags=template.resource_tags,
        tag_mutability=template.image_tag_mutability or None,
        exclusion_filters=template.mutability_exclusion_filters,
        encryption=template.encryption)
    repository.policy = template.repository_policy or None
    if template.lifecycle_policy:
        repository.lifecycle_policy = template.lifecycle_policy
    return repository


def _apply(store, template: CreationTemplate, settings: TemplateSettings) -> None:
    if settings.lifecycle_policy:
        lifecycle_policy.parse(settings.lifecycle_policy)
    if settings.repository_policy:
        policies.check_repository_policy(settings.repository_policy)
    if settings.resource_tags is not None:
        tags.validate(settings.resource_tags)
    if settings.applied_for is not None and not settings.applied_for:
        raise InvalidParameterException("appliedFor must name at least one purpose.")
    for field in dataclasses.fields(settings):
        value = getattr(settings, field.name)
        if value is not None and field.name != "encryption":
            setattr(template, field.name, value)
    if settings.encryption is not None:
        template.encryption = repositories.encryption_for(store, settings.encryption)
    template.mutability_exclusion_filters = repositories.check_mutability(
        template.image_tag_mutability, template.mutability_exclusion_filters
    )

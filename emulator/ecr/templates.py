"""Repository creation templates: the settings ECR gives a repository it creates on its own (for
replication, a pull through cache, or a push to a repository that does not exist yet).

A template's prefix `prod` covers repositories named `prod/...`; `ROOT` covers every repository
no other template covers; the longest matching prefix wins.
"""

from __future__ import annotations

from emulator.ecr import lifecycle_policy, names, policies, repositories, tags
from emulator.ecr.errors import (
    InvalidParameterException,
    TemplateAlreadyExistsException,
    TemplateNotFoundException,
)
from emulator.ecr.model import CreationTemplate, Repository, utcnow

ROOT = "ROOT"
_FIELDS = {  # wire name -> attribute, for the members Create and Update share
    "description": "description",
    "resourceTags": "resource_tags",
    "imageTagMutability": "image_tag_mutability",
    "imageTagMutabilityExclusionFilters": "mutability_exclusion_filters",
    "repositoryPolicy": "repository_policy",
    "lifecyclePolicy": "lifecycle_policy",
    "appliedFor": "applied_for",
    "customRoleArn": "custom_role_arn",
}


def create(store, params: dict) -> CreationTemplate:
    prefix = names.check_prefix(params["prefix"], "prefix")
    if prefix in store.templates:
        raise TemplateAlreadyExistsException(
            f"A repository creation template with the prefix '{prefix}' already exists."
        )
    template = CreationTemplate(prefix=prefix, applied_for=[])
    _apply(store, template, params)
    store.templates[prefix] = template
    return template


def update(store, params: dict) -> CreationTemplate:
    template = get(store, params["prefix"])
    _apply(store, template, params)
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
        return repositories.create(store, {"repositoryName": name})
    params = {
        "repositoryName": name,
        "tags": template.resource_tags,
        "imageTagMutability": template.image_tag_mutability,
        "imageTagMutabilityExclusionFilters": template.mutability_exclusion_filters,
        "encryptionConfiguration": template.encryption,
    }
    repository = repositories.create(store, {k: v for k, v in params.items() if v})
    repository.policy = template.repository_policy or None
    if template.lifecycle_policy:
        repository.lifecycle_policy = template.lifecycle_policy
    return repository


def _apply(store, template: CreationTemplate, params: dict) -> None:
    if "lifecyclePolicy" in params and params["lifecyclePolicy"]:
        lifecycle_policy.parse(params["lifecyclePolicy"])
    if "repositoryPolicy" in params and params["repositoryPolicy"]:
        policies.check_repository_policy(params["repositoryPolicy"])
    if "resourceTags" in params:
        tags.validate(params["resourceTags"])
    if "appliedFor" in params and not params["appliedFor"]:
        raise InvalidParameterException("appliedFor must name at least one purpose.")
    for wire, attribute in _FIELDS.items():
        if wire in params:
            setattr(template, attribute, params[wire])
    if "encryptionConfiguration" in params:
        template.encryption = repositories.encryption_for(store, params["encryptionConfiguration"])
    template.mutability_exclusion_filters = repositories.check_mutability(
        template.image_tag_mutability, template.mutability_exclusion_filters
    )

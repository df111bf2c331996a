"""Lifecycle policies: the policy document parsed and checked as ECR checks it, and evaluated
against a repository's images. Pure: no store, no registry; lifecycle.py applies the result.

How ECR evaluates (the user guide's rules, which `evaluate` follows):
- rules run in rulePriority order, lowest first; an image is acted on by one rule or none;
- a rule either expires images or moves them to archival storage (`transition` with
  `targetStorageClass: archive`); a rule sees the images of its `storageClass` only (`standard`,
  the default, or `archive`), and `sinceImageTransitioned` counts days since an image was
  archived (so archived images can be expired after a while);
- a rule selects images by tag status and tag prefixes/patterns (all of a list must match some
  tag of the image), then picks, oldest push first, those beyond `imageCountMoreThan` or older
  than `sinceImagePushed` days;
- an image whose tags match a higher-priority rule's selection can never be expired by a lower
  one, but lower rules still count it (so "keep the newest N" counts images kept above).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from emulator.ecr.errors import InvalidParameterException
from emulator.ecr.names import wildcard_match

_TAG_STATUSES = ("tagged", "untagged", "any")
_COUNT_TYPES = ("imageCountMoreThan", "sinceImagePushed", "sinceImagePulled",
                "sinceImageTransitioned")
_ACTIONS = ("expire", "transition")
_STORAGE_CLASSES = ("standard", "archive")
_MAX_WILDCARDS = 4


@dataclass(frozen=True)
class Rule:
    priority: int
    description: str | None
    tag_status: str  # tagged, untagged, any
    tag_prefixes: tuple[str, ...]
    tag_patterns: tuple[str, ...]
    count_type: str
    count_number: int
    action: str = "expire"  # or "transition" (to archival storage)
    storage_class: str = "standard"  # the images the rule sees: "standard" or "archive"

    def selects(self, image: "Candidate") -> bool:
        if image.archived != (self.storage_class == "archive"):
            return False
        if self.tag_status == "untagged":
            return not image.tags
        if self.tag_status == "any":
            return True
        if not image.tags:
            return False
        if self.tag_prefixes:
            return all(any(t.startswith(p) for t in image.tags) for p in self.tag_prefixes)
        return all(any(wildcard_match(t, p) for t in image.tags) for p in self.tag_patterns)

    def picks(self, selected: list["Candidate"], now: dt.datetime) -> list["Candidate"]:
        """The selected images this rule would expire, oldest first."""
        oldest_first = sorted(selected, key=lambda image: (image.pushed_at, image.digest))
        if self.count_type == "imageCountMoreThan":
            excess = len(oldest_first) - self.count_number
            return oldest_first[:max(excess, 0)]
        limit = now - dt.timedelta(days=self.count_number)
        if self.count_type == "sinceImagePulled":
            return [i for i in oldest_first if (i.last_pull or i.pushed_at) < limit]
        if self.count_type == "sinceImageTransitioned":
            return [i for i in oldest_first if i.archived_at is not None and i.archived_at < limit]
        return [image for image in oldest_first if image.pushed_at < limit]


@dataclass(frozen=True)
class Candidate:
    """What evaluation needs to know of an image."""

    digest: str
    tags: tuple[str, ...]
    pushed_at: dt.datetime
    last_pull: dt.datetime | None = None
    archived: bool = False  # in archival storage (ARCHIVED)
    archived_at: dt.datetime | None = None


def parse(text: str) -> list[Rule]:
    """The rules of a policy document, or InvalidParameterException saying what is wrong."""
    try:
        document = json.loads(text)
    except ValueError:
        raise _invalid("the policy is not valid JSON") from None
    if not isinstance(document, dict) or not isinstance(document.get("rules"), list):
        raise _invalid("the policy must be an object with a list of rules")
    if not document["rules"]:
        raise _invalid("the policy must have at least one rule")
    rules = [_rule(raw) for raw in document["rules"]]
    _check_together(rules)
    return sorted(rules, key=lambda rule: rule.priority)


def evaluate(rules: list[Rule], images: list[Candidate], now: dt.datetime) -> dict[str, Rule]:
    """digest -> the rule that acts on it (its `action`: expire or transition)."""
    expired: dict[str, Rule] = {}
    claimed: set[str] = set()  # matched by the selection of a higher-priority rule
    for rule in rules:
        selected = [image for image in images if rule.selects(image)]
        for image in rule.picks(selected, now):
            if image.digest not in claimed and image.digest not in expired:
                expired[image.digest] = rule
        claimed.update(image.digest for image in selected)
    return expired


def _rule(raw) -> Rule:
    if not isinstance(raw, dict):
        raise _invalid("each rule must be an object")
    priority = raw.get("rulePriority")
    if not isinstance(priority, int) or isinstance(priority, bool) or priority < 1:
        raise _invalid("rulePriority must be an integer of at least 1")
    selection, action = raw.get("selection"), raw.get("action")
    if not isinstance(selection, dict):
        raise _invalid(f"rule {priority} has no selection")
    action_type = _action(action, priority)
    storage_class = str(selection.get("storageClass", "standard")).lower()
    if storage_class not in _STORAGE_CLASSES:
        raise _invalid(f"rule {priority}: storageClass must be standard or archive")
    tag_status = str(selection.get("tagStatus", "")).lower()
    if tag_status not in _TAG_STATUSES:
        raise _invalid(f"rule {priority}: tagStatus must be tagged, untagged or any")
    prefixes = _strings(selection, "tagPrefixList", priority)
    patterns = _strings(selection, "tagPatternList", priority)
    _check_tag_lists(priority, tag_status, prefixes, patterns)
    count_type, count_number = _count(selection, priority)
    _check_storage(priority, action_type, storage_class, count_type)
    return Rule(priority, raw.get("description"), tag_status, prefixes, patterns,
                count_type, count_number, action_type, storage_class)


def _action(action, priority: int) -> str:
    if not isinstance(action, dict):
        raise _invalid(f"rule {priority} has no action")
    action_type = str(action.get("type", "")).lower()
    if action_type not in _ACTIONS:
        raise _invalid(f"rule {priority}: action type must be expire or transition")
    target = action.get("targetStorageClass")
    if action_type == "transition" and str(target).lower() != "archive":
        raise _invalid(f"rule {priority}: a transition needs targetStorageClass 'archive'")
    if action_type == "expire" and target is not None:
        raise _invalid(f"rule {priority}: targetStorageClass is only for a transition")
    return action_type


def _check_storage(priority: int, action_type: str, storage_class: str, count_type: str) -> None:
    """What the user guide's archive rules allow: archived images can only be expired, and only
    they have a transition time to count from; pull time can only archive (its example
    "Filtering on last pulled time": ECR does not expire an image for not being pulled)."""
    if count_type == "sinceImagePulled" and action_type != "transition":
        raise _invalid(f"rule {priority}: sinceImagePulled is only for a transition to archive")
    if storage_class == "archive" and action_type == "transition":
        raise _invalid(f"rule {priority}: archived images can only be expired")
    if count_type == "sinceImageTransitioned" and storage_class != "archive":
        raise _invalid(f"rule {priority}: sinceImageTransitioned needs storageClass 'archive'")


def _strings(selection: dict, key: str, priority: int) -> tuple[str, ...]:
    values = selection.get(key)
    if values is None:
        return ()
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise _invalid(f"rule {priority}: {key} must be a list of non-empty strings")
    return tuple(values)


def _check_tag_lists(priority: int, tag_status: str, prefixes, patterns) -> None:
    if tag_status == "tagged" and not prefixes and not patterns:
        raise _invalid(f"rule {priority}: a tagged rule needs a tagPrefixList or a tagPatternList")
    if prefixes and patterns:
        raise _invalid(f"rule {priority}: give tagPrefixList or tagPatternList, not both")
    if tag_status != "tagged" and (prefixes or patterns):
        raise _invalid(f"rule {priority}: tag lists are only allowed when tagStatus is tagged")
    for pattern in patterns:
        if pattern.count("*") > _MAX_WILDCARDS:
            raise _invalid(f"rule {priority}: a tag pattern may hold at most 4 wildcards")


def _count(selection: dict, priority: int) -> tuple[str, int]:
    count_type = selection.get("countType")
    if count_type not in _COUNT_TYPES:
        raise _invalid(f"rule {priority}: countType must be one of {', '.join(_COUNT_TYPES)}")
    number = selection.get("countNumber")
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        raise _invalid(f"rule {priority}: countNumber must be a positive integer")
    unit = selection.get("countUnit")
    if count_type == "imageCountMoreThan" and unit is not None:
        raise _invalid(f"rule {priority}: countUnit is not allowed with imageCountMoreThan")
    if count_type != "imageCountMoreThan" and unit != "days":
        raise _invalid(f"rule {priority}: countUnit must be 'days' with {count_type}")
    return count_type, number


def _check_together(rules: list[Rule]) -> None:
    priorities = [rule.priority for rule in rules]
    if len(set(priorities)) != len(priorities):
        raise _invalid("each rule must have a unique rulePriority")
    # Per storage class: the user guide's archive example has an `any` rule that archives and,
    # after it, an `any` rule that expires what is archived.
    for storage_class in _STORAGE_CLASSES:
        same = [rule for rule in rules if rule.storage_class == storage_class]
        highest = max((rule.priority for rule in same), default=0)
        for rule in same:
            if rule.tag_status == "any" and rule.priority != highest:
                raise _invalid("a rule with tagStatus 'any' must have the highest rulePriority")
        if sum(1 for rule in same if rule.tag_status == "untagged") > 1:
            raise _invalid("only one rule may select untagged images")


def _invalid(problem: str) -> InvalidParameterException:
    return InvalidParameterException(
        "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: "
        f"'Lifecycle policy validation failure: {problem}'"
    )

"""Image scanning, honestly: the emulator has no vulnerability database, so a scan completes at
once and reports the findings planted for that image through the control endpoint
(/_emulator/ecr/findings), or none. Also the registry's scanning configuration and its rules.

As on ECR, a basic scan of an image may be started once per 24 hours, a scan on push included
(StartImageScan then answers LimitExceededException); StartImageScan's own answer says
IN_PROGRESS, as ECR's does, and every read after it finds the scan COMPLETE."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from emulator.ecr import names
from emulator.ecr.errors import (
    InvalidParameterException,
    LimitExceededException,
    ScanNotFoundException,
)
from emulator.ecr.images import Image
from emulator.ecr.model import Repository, ScanResult, utcnow

_SEVERITIES = ("INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL", "UNDEFINED")
SCAN_QUOTA = dt.timedelta(hours=24)  # one basic scan of an image per this long


def scan(store, image: Image) -> ScanResult:
    findings = store.planted_findings.get((image.repository.name, image.digest), [])
    image.record.scan = ScanResult(findings=[dict(f) for f in findings])
    return image.record.scan


def start(store, image: Image) -> ScanResult:
    """StartImageScan: a scan, unless the image was scanned within SCAN_QUOTA."""
    previous = image.record.scan
    if previous is not None and utcnow() - previous.completed_at < SCAN_QUOTA:
        raise LimitExceededException(
            "The scan quota per image has been exceeded. Wait and try again.")
    return scan(store, image)


def scan_on_push(store, image: Image) -> None:
    if scan_frequency(store, image.repository) == "SCAN_ON_PUSH":
        scan(store, image)


def result_of(store, image: Image) -> ScanResult:
    if image.record.scan is None:
        raise ScanNotFoundException(
            f"Image scan does not exist for the image with '{_describe(image)}' in the repository "
            f"with name '{image.repository.name}' in the registry with id '{store.account}'"
        )
    return image.record.scan


def plant_findings(store, repository_name: str, digest: str, findings: list[dict]) -> None:
    """Control endpoint: what a scan of this image will report (and now, if it was scanned)."""
    store.planted_findings[(repository_name, digest)] = findings
    repository = store.repositories.get(repository_name)
    record = repository.images.get(digest) if repository else None
    if record is not None and record.scan is not None:  # the scan's time (and quota) stand
        record.scan = ScanResult(findings=[dict(f) for f in findings],
                                 completed_at=record.scan.completed_at)


def severity_counts(result: ScanResult) -> dict[str, int]:
    counts = Counter(f.get("severity", "UNDEFINED") for f in result.findings)
    return {severity: counts[severity] for severity in _SEVERITIES if counts[severity]}


def scan_frequency(store, repository: Repository) -> str:
    """SCAN_ON_PUSH, CONTINUOUS_SCAN or MANUAL: the registry's rules, then the repository's own
    scanOnPush flag (which ECR still honours for basic scanning)."""
    frequency, _ = _registry_rule_for(store, repository.name)
    if frequency is not None:
        return frequency
    return "SCAN_ON_PUSH" if repository.scan_on_push else "MANUAL"


def frequency_and_filters(store, repository: Repository) -> tuple[str, list[dict]]:
    """How often the repository is scanned, and the registry's filters that say so."""
    _, filters = _registry_rule_for(store, repository.name)
    return scan_frequency(store, repository), filters


# The frequencies each scan type supports (ScanningRule's model): ENHANCED scans continuously or
# on push; BASIC on push, or only when asked (MANUAL, also its default for what no rule names).
FREQUENCIES = {"BASIC": ("SCAN_ON_PUSH", "MANUAL"), "ENHANCED": ("CONTINUOUS_SCAN", "SCAN_ON_PUSH")}


def put_registry_configuration(store, scan_type: str | None, rules: list[dict] | None) -> None:
    """The registry's scanning configuration, kept as the request gave it (the scan type stays
    when none is given); a rule's frequency must be one its scan type supports."""
    scan_type = store.scanning_configuration["scanType"] if scan_type is None else scan_type
    for rule in rules or ():
        if rule["scanFrequency"] not in FREQUENCIES[scan_type]:
            raise InvalidParameterException(
                f"The scan frequency {rule['scanFrequency']} is not supported for the "
                f"{scan_type} scan type; supported: {', '.join(FREQUENCIES[scan_type])}.")
    store.scanning_configuration = {"scanType": scan_type, "rules": [] if rules is None else rules}


def _registry_rule_for(store, name: str) -> tuple[str | None, list[dict]]:
    # The more frequent rule wins when two match, as ECR documents.
    order = ("CONTINUOUS_SCAN", "SCAN_ON_PUSH", "MANUAL")
    matched = []
    for rule in store.scanning_configuration.get("rules", []):
        filters = [f for f in rule["repositoryFilters"] if names.wildcard_match(name, f["filter"])]
        if filters:
            matched.append((order.index(rule["scanFrequency"]), rule["scanFrequency"], filters))
    if not matched:
        return None, []
    _, frequency, filters = min(matched, key=lambda item: item[0])
    return frequency, filters


def _describe(image: Image) -> str:
    return f"imageDigest: {image.digest}"

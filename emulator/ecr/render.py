"""Model -> wire dicts (camelCase, as in botocore's ECR output shapes). The only place that builds
ECR response objects; None values are dropped by the serializer."""

from __future__ import annotations

from emulator.ecr import archive, arns, scanning
from emulator.ecr.images import Image
from emulator.ecr.model import CreationTemplate, PullThroughCacheRule, Repository, ScanResult


def repository(store, item: Repository, host: str) -> dict:
    settings = store.state.settings
    return {
        "repositoryArn": item.arn,
        "registryId": item.registry_id,
        "repositoryName": item.name,
        "repositoryUri": arns.repository_uri(host, store.account, store.region, item.name,
                                             settings),
        "createdAt": item.created_at,
        "imageTagMutability": item.image_tag_mutability,
        "imageTagMutabilityExclusionFilters": item.mutability_exclusion_filters,
        "imageScanningConfiguration": {"scanOnPush": item.scan_on_push},
        "encryptionConfiguration": item.encryption,
    }


def image_detail(store, image: Image) -> dict:
    scan = image.record.scan
    return {
        "registryId": store.account,
        "repositoryName": image.repository.name,
        "imageDigest": image.digest,
        "imageTags": list(image.tags) or None,
        "imageSizeInBytes": image.size,
        "imagePushedAt": image.pushed_at,
        "imageScanStatus": scan_status(scan) if scan else None,
        "imageScanFindingsSummary": _findings_summary(scan) if scan else None,
        "imageManifestMediaType": image.media_type,
        "artifactMediaType": image.artifact_media_type,
        "lastRecordedPullTime": image.record.last_pull,
        "subjectManifestDigest": image.info.subject,
        "imageStatus": archive.status(image.record),
        "lastArchivedAt": image.record.last_archived_at,
        "lastActivatedAt": image.record.last_activated_at,
    }


def image_id(image: Image, tag: str | None = None) -> dict:
    return {"imageDigest": image.digest, "imageTag": tag}


def scan_status(scan: ScanResult) -> dict:
    return {"status": scan.status, "description": scan.description}


def scan_findings(scan: ScanResult, findings: list[dict]) -> dict:
    return {**_findings_summary(scan), "findings": findings}


def _findings_summary(scan: ScanResult) -> dict:
    return {
        "imageScanCompletedAt": scan.completed_at,
        "vulnerabilitySourceUpdatedAt": scan.completed_at,
        "findingSeverityCounts": scanning.severity_counts(scan),
    }


def pull_through_rule(store, rule: PullThroughCacheRule) -> dict:
    return {
        "ecrRepositoryPrefix": rule.prefix,
        "upstreamRegistryUrl": rule.upstream_url,
        "createdAt": rule.created_at,
        "registryId": store.account,
        "credentialArn": rule.credential_arn,
        "customRoleArn": rule.custom_role_arn,
        "upstreamRepositoryPrefix": rule.upstream_prefix,
        "upstreamRegistry": rule.upstream_registry,
        "updatedAt": rule.updated_at,
    }


def template(item: CreationTemplate) -> dict:
    return {
        "prefix": item.prefix,
        "description": item.description,
        "encryptionConfiguration": item.encryption,
        "resourceTags": item.resource_tags,
        "imageTagMutability": item.image_tag_mutability,
        "imageTagMutabilityExclusionFilters": item.mutability_exclusion_filters,
        "repositoryPolicy": item.repository_policy,
        "lifecyclePolicy": item.lifecycle_policy,
        "appliedFor": item.applied_for,
        "customRoleArn": item.custom_role_arn,
        "createdAt": item.created_at,
        "updatedAt": item.updated_at,
    }

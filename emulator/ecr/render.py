"""Model -> wire dicts (camelCase, as in botocore's ECR output shapes). The only place that builds
ECR response objects; None values are dropped by the serializer."""

from __future__ import annotations

from emulator.ecr import archive, arns, scanning, signing
from emulator.ecr.image_ops import Pulled, Resolved
from emulator.ecr.images import Image
from emulator.ecr.layers import Layer, LayerFailure
from emulator.ecr.model import (
    Backfill,
    BackfillResult,
    CreationTemplate,
    ImageId,
    PreviewResult,
    PullThroughCacheRule,
    Repository,
    ScanResult,
)


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


def tag_mutability(store, item: Repository) -> dict:
    """PutImageTagMutability's answer."""
    return {
        "registryId": store.account,
        "repositoryName": item.name,
        "imageTagMutability": item.image_tag_mutability,
        "imageTagMutabilityExclusionFilters": item.mutability_exclusion_filters,
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


def image_id_of(given: ImageId) -> dict:
    return {"imageDigest": given.digest, "imageTag": given.tag}


def image_failure(failed: Resolved) -> dict:
    return {"imageId": image_id_of(failed.image_id), "failureCode": failed.failure_code,
            "failureReason": failed.failure_reason}


def pulled_image(store, pulled: Pulled) -> dict:
    return image(store, pulled.image.repository.name, pulled.digest, pulled.tag,
                 pulled.manifest, pulled.media_type)


def image(store, repository_name: str, digest: str, tag: str | None, manifest: str,
          media_type: str) -> dict:
    """An Image as BatchGetImage and PutImage answer it."""
    return {
        "registryId": store.account,
        "repositoryName": repository_name,
        "imageId": {"imageDigest": digest, "imageTag": tag},
        "imageManifest": manifest,
        "imageManifestMediaType": media_type,
    }


def replication_statuses(item: Image) -> list[dict]:
    return [{"region": region, "registryId": registry_id, "status": status}
            for (region, registry_id), status in sorted(item.record.replication.items())]


def referrer(descriptor: dict) -> dict:
    """An OCI referrer's descriptor as an ImageReferrer (no image of ours is ever archived)."""
    return {**descriptor, "artifactStatus": "ACTIVE"}


def layer(found: Layer) -> dict:
    return {"layerDigest": found.digest, "layerAvailability": "AVAILABLE",
            "layerSize": found.size, "mediaType": found.media_type}


def layer_failure(failed: LayerFailure) -> dict:
    return {"layerDigest": failed.digest, "failureCode": failed.code,
            "failureReason": failed.reason}


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


def repository_scanning(store, item: Repository) -> dict:
    """A RepositoryScanningConfiguration: what the registry's rules and the repository say."""
    frequency, filters = scanning.frequency_and_filters(store, item)
    return {
        "repositoryArn": item.arn,
        "repositoryName": item.name,
        "scanOnPush": frequency == "SCAN_ON_PUSH",
        "scanFrequency": frequency,
        "appliedScanFilters": filters,
    }


def signing_status(profile_arn: str) -> dict:
    """An ImageSigningStatus: every profile's signing failed, for we have no AWS Signer."""
    return {"signingProfileArn": profile_arn, "status": "FAILED",
            "failureCode": "SigningNotSupported", "failureReason": signing.NOT_SIGNED}


def authorization(token: str, expires, proxy_endpoint: str) -> dict:
    return {"authorizationToken": token, "expiresAt": expires, "proxyEndpoint": proxy_endpoint}


def registry_policy(store, text: str | None) -> dict:
    return {"registryId": store.account, "policyText": text}


def replication_configuration(store) -> dict:
    return {"rules": store.replication_rules}


def backfill(item: Backfill) -> dict:
    """A ReplicationBackfill's summary, as ListReplicationBackfills and Describe... show it."""
    failed = sum(1 for r in item.results if r.status == "FAILED")
    return {
        "replicationBackfillId": item.backfill_id,
        "destination": item.destination,
        "status": item.status,
        "progress": {
            "totalReplicationCount": len(item.results),
            "completedReplicationCount": len(item.results) - failed,
            "failedReplicationCount": failed,
            "failureCodes": [],
        },
        "startedAt": item.started_at,
        "endedAt": item.ended_at,
    }


def backfill_result(result: BackfillResult) -> dict:
    return {"repositoryName": result.repository_name, "status": result.status,
            "imageId": {"imageDigest": result.digest, "imageTag": result.tag}}


def preview_result(result: PreviewResult) -> dict:
    return {
        "imageTags": list(result.tags),
        "imageDigest": result.digest,
        "imagePushedAt": result.pushed_at,
        "action": ({"type": "TRANSITION", "targetStorageClass": "ARCHIVE"}
                   if result.action == "transition" else {"type": "EXPIRE"}),
        "appliedRulePriority": result.rule_priority,
        "storageClass": result.storage_class,
    }


def preview_summary(results: list[PreviewResult]) -> dict:
    """The counts of a preview: expiring images, and (only when there are any) transitions."""
    moving = sum(1 for r in results if r.action == "transition")
    summary = {"expiringImageTotalCount": len(results) - moving}
    if moving:
        summary["transitioningImageTotalCounts"] = [
            {"targetStorageClass": "ARCHIVE", "imageTotalCount": moving}]
    return summary


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

"""Image operations of the ECR API that read or remove images: finding the image an imageId names
(with ECR's failure codes), describing and listing with tag-status filters, BatchGetImage and
BatchDeleteImage."""

from __future__ import annotations

from dataclasses import dataclass

from emulator.ecr import archive, images, names, replication
from emulator.ecr.errors import ImageNotFoundException, InvalidParameterException
from emulator.ecr.images import Image
from emulator.ecr.model import Repository


@dataclass(frozen=True)
class Resolved:
    image_id: dict  # as the caller gave it
    image: Image | None
    failure_code: str | None = None
    failure_reason: str | None = None

    def failure(self) -> dict:
        return {"imageId": self.image_id, "failureCode": self.failure_code,
                "failureReason": self.failure_reason}


def resolve(store, repository: Repository, image_id: dict) -> Resolved:
    digest, tag = image_id.get("imageDigest"), image_id.get("imageTag")
    if digest is None and tag is None:
        return Resolved(image_id, None, "MissingDigestAndTag",
                        "Invalid request parameters: both tag and digest cannot be null")
    if digest is not None and not names.valid_digest(digest):
        return Resolved(image_id, None, "InvalidImageDigest", "Invalid image digest")
    if tag is not None and not names.valid_tag(tag):
        return Resolved(image_id, None, "InvalidImageTag", "Invalid image tag")
    image = images.find(store, repository, digest or tag)
    if image is None:
        return Resolved(image_id, None, "ImageNotFound", "Requested image not found")
    if digest is not None and tag is not None and tag not in image.tags:
        return Resolved(image_id, None, "ImageTagDoesNotMatchDigest",
                        "Invalid request parameters: given tag and digest do not match")
    return Resolved(image_id, image)


def describe(store, repository: Repository, image_ids: list[dict] | None,
             tag_status: str, image_status: str | None = None) -> list[Image]:
    """DescribeImages: the images named (ImageNotFoundException if one is not; archived ones
    too), else all of them that the tag and image status filters keep."""
    if not image_ids:
        return [i for i in images.all_of(store, repository)
                if _keeps(i, tag_status, image_status)]
    found: dict[str, Image] = {}
    for image_id in image_ids:
        resolved = resolve(store, repository, image_id)
        if resolved.image is None:
            raise ImageNotFoundException(
                f"The image with imageId {show(image_id)} does not exist within the repository "
                f"with name '{repository.name}' in the registry with id '{store.account}'"
            )
        found.setdefault(resolved.image.digest, resolved.image)
    return list(found.values())


def list_ids(store, repository: Repository, tag_status: str,
             image_status: str | None = None) -> list[dict]:
    """ListImages: one id per tag (untagged images by digest alone), oldest push first."""
    ids = []
    for image in images.all_of(store, repository):
        if not _keeps(image, tag_status, image_status):
            continue
        if image.tags:
            ids += [{"imageDigest": image.digest, "imageTag": tag} for tag in image.tags]
        else:
            ids.append({"imageDigest": image.digest})
    return ids


def batch_get(store, repository: Repository, image_ids: list[dict],
              accepted: list[str] | None,
              principal: str | None = None) -> tuple[list[dict], list[dict]]:
    """BatchGetImage: (images as wire dicts, failures). A get is a pull: lastRecordedPullTime,
    unless `principal` is excluded; an archived image cannot be pulled."""
    found, failures = [], []
    for image_id in image_ids:
        resolved = resolve(store, repository, image_id)
        image = resolved.image
        if image is None:
            failures.append(resolved.failure())
            continue
        if accepted and image.media_type not in accepted:
            failures.append({
                "imageId": image_id, "failureCode": "ImageNotFound",
                "failureReason": f"The image's manifest is {image.media_type}, which is not among "
                                 "the acceptedMediaTypes (the emulator converts no manifests)",
            })
            continue
        if not archive.pullable(image.record):
            failures.append({
                "imageId": image_id, "failureCode": "ImageNotFound",
                "failureReason": f"The image is {archive.status(image.record)}: archived images "
                                 "cannot be pulled until restored with UpdateImageStorageClass",
            })
            continue
        archive.record_pull(store, image.record, principal)
        found.append({
            "registryId": store.account,
            "repositoryName": repository.name,
            "imageId": {"imageDigest": image.digest, "imageTag": image_id.get("imageTag")},
            "imageManifest": images.manifest_bytes(store, repository, image.digest).decode(),
            "imageManifestMediaType": image.media_type,
        })
    return found, failures


def batch_delete(store, repository: Repository,
                 image_ids: list[dict]) -> tuple[list[dict], list[dict]]:
    """BatchDeleteImage: (ids deleted, failures). By tag, only the tag goes, unless it was the
    image's last, when the image goes too (as ECR does); by digest, the image and every tag."""
    deleted, failures = [], []
    for image_id in image_ids:
        resolved = resolve(store, repository, image_id)
        image = resolved.image
        if image is None:
            failures.append(resolved.failure())
            continue
        by_tag = image_id.get("imageTag") is not None
        removes_image = not by_tag or set(image.tags) == {image_id["imageTag"]}
        if removes_image and _referenced_by_index(store, repository, image):
            failures.append({
                "imageId": image_id, "failureCode": "ImageReferencedByManifestList",
                "failureReason": "Requested image is referenced by a manifest list",
            })
            continue
        deleted += _delete(store, repository, image, image_id["imageTag"] if by_tag else None)
    return deleted, failures


def referrers(store, repository: Repository, subject: str, filters: dict) -> list[dict]:
    """ListImageReferrers: the OCI referrers (signatures, SBOMs...) of `subject`, by digest."""
    if not names.valid_digest(subject):
        raise InvalidParameterException(f"Invalid parameter at 'subjectId': invalid digest {subject}")
    if filters.get("artifactStatus", "ACTIVE") not in ("ACTIVE", "ANY"):
        return []  # no image of the emulator is ever archived
    wanted = set(filters.get("artifactTypes") or ())
    found = [
        {**descriptor, "artifactStatus": "ACTIVE"}
        for descriptor in images.storage(store).referrers(images.repo_ref(store, repository.name),
                                                          subject)
        if not wanted or descriptor.get("artifactType") in wanted
    ]
    return sorted(found, key=lambda descriptor: descriptor["digest"])


def _delete(store, repository: Repository, image: Image, tag: str | None) -> list[dict]:
    if tag is not None and len(image.tags) > 1:
        images.delete(store, repository, tag)
        return [{"imageDigest": image.digest, "imageTag": tag}]
    images.delete(store, repository, image.digest)
    replication.replicate_deletion(store, repository, image.digest)
    if not image.tags:
        return [{"imageDigest": image.digest}]
    return [{"imageDigest": image.digest, "imageTag": t} for t in image.tags]


def _referenced_by_index(store, repository: Repository, image: Image) -> bool:
    every = images.all_of(store, repository)
    return image.digest in images.parent_indexes(every, store, repository)


def _keeps(image: Image, tag_status: str, image_status: str | None) -> bool:
    if not archive.keeps(image.record, image_status):
        return False
    if tag_status == "TAGGED":
        return bool(image.tags)
    if tag_status == "UNTAGGED":
        return not image.tags
    return True




def show(image_id: dict) -> str:
    """An image id as ECR prints it in messages (a Java map: absent values are 'null')."""
    def value(key):
        return image_id.get(key) if image_id.get(key) is not None else "null"
    return "{imageDigest:'%s', imageTag:'%s'}" % (value("imageDigest"), value("imageTag"))

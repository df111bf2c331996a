"""Image operations of the ECR API that read or remove images: finding the image an imageId names
(with ECR's failure codes), describing and listing with tag-status filters, BatchGetImage (with
its conversion between Docker's and OCI's manifest: registry/manifest_conversion.py) and
BatchDeleteImage. Images are named by ImageId and answers are model values; render.py makes the
wire dicts."""

from __future__ import annotations

from dataclasses import dataclass

from emulator.ecr import archive, images, names, replication
from emulator.ecr.errors import ImageNotFoundException, InvalidParameterException
from emulator.ecr.images import Image
from emulator.ecr.model import ImageId, Repository
from emulator.registry import manifest_conversion


@dataclass(frozen=True)
class Resolved:
    """The image an ImageId names, or why there is none (ECR's failure code and reason)."""

    image_id: ImageId  # as the caller gave it
    image: Image | None
    failure_code: str | None = None
    failure_reason: str | None = None


@dataclass(frozen=True)
class Pulled:
    """An image BatchGetImage answers: by the tag it was asked by, with its manifest (the one
    stored, or one converted to a format the caller accepts: its digest and media type)."""

    image: Image
    tag: str | None
    manifest: str
    digest: str
    media_type: str


def resolve(store, repository: Repository, image_id: ImageId) -> Resolved:
    digest, tag = image_id.digest, image_id.tag
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


def describe(store, repository: Repository, image_ids: list[ImageId] | None,
             tag_status: str, image_status: str | None = None) -> list[Image]:
    """DescribeImages: the images named (ImageNotFoundException if one is not; archived ones
    too), else all of them that the tag and image status filters keep."""
    if not image_ids:
        return [i for i in images.all_of(store, repository)
                if _keeps(i, tag_status, image_status)]
    found: dict[str, Image] = {}
    for image_id in image_ids:
        image = existing(store, repository, image_id)
        found.setdefault(image.digest, image)
    return list(found.values())


def existing(store, repository: Repository, image_id: ImageId) -> Image:
    """The image `image_id` names, else ECR's ImageNotFoundException for a call that names one
    image (DescribeImages, the scan and signing calls, UpdateImageStorageClass)."""
    image = resolve(store, repository, image_id).image
    if image is None:
        raise ImageNotFoundException(
            f"The image with imageId {show(image_id)} does not exist within the repository "
            f"with name '{repository.name}' in the registry with id '{store.account}'"
        )
    return image


def list_ids(store, repository: Repository, tag_status: str,
             image_status: str | None = None) -> list[ImageId]:
    """ListImages: one id per tag (untagged images by digest alone), oldest push first."""
    ids = []
    for image in images.all_of(store, repository):
        if not _keeps(image, tag_status, image_status):
            continue
        ids += [ImageId(image.digest, tag) for tag in image.tags or (None,)]
    return ids


def batch_get(store, repository: Repository, image_ids: list[ImageId],
              accepted: list[str] | None,
              principal: str | None = None) -> tuple[list[Pulled], list[Resolved]]:
    """BatchGetImage: (images, failures). A get is a pull: lastRecordedPullTime, unless
    `principal` is excluded; an archived image cannot be pulled."""
    found, failures = [], []
    for image_id in image_ids:
        resolved = resolve(store, repository, image_id)
        image = resolved.image
        if image is None:
            failures.append(resolved)
            continue
        body = images.manifest_bytes(store, repository, image.digest)
        pulled = Pulled(image, image_id.tag, body.decode(), image.digest, image.media_type)
        if accepted and image.media_type not in accepted:
            pulled = _converted(pulled, body, image_id, accepted)
            if isinstance(pulled, Resolved):
                failures.append(pulled)
                continue
        if not archive.pullable(image.record):
            failures.append(Resolved(
                image_id, None, "ImageNotFound",
                f"The image is {archive.status(image.record)}: archived images cannot be pulled "
                "until restored with UpdateImageStorageClass"))
            continue
        archive.record_pull(store, image.record, principal)
        found.append(pulled)
    return found, failures


def _converted(pulled: Pulled, body: bytes, image_id: ImageId,
               accepted: list[str]) -> Pulled | Resolved:
    """`pulled` with its manifest in the first of the `accepted` formats it converts to, or the
    failure. ECR converts only an image pulled by tag: a digest names the stored bytes."""
    stored = pulled.media_type
    if image_id.digest is None:
        for wanted in accepted:
            converted = manifest_conversion.convert(body, stored, wanted, pulled.digest)
            if converted is not None:
                return Pulled(pulled.image, pulled.tag, converted.body.decode(),
                              converted.digest, converted.media_type)
    why = ("an image pulled by digest is not converted" if image_id.digest is not None
           else "it cannot be converted to any of them")
    if image_id.digest is None and manifest_conversion.SCHEMA_1 in accepted:
        why += " (the emulator does not make Docker's schema 1 manifests)"
    return Resolved(image_id, None, "ImageNotFound",
                    f"The image's manifest is {stored}, which is not among the "
                    f"acceptedMediaTypes, and {why}")


def batch_delete(store, repository: Repository,
                 image_ids: list[ImageId]) -> tuple[list[ImageId], list[Resolved]]:
    """BatchDeleteImage: (ids deleted, failures). By tag, only the tag goes, unless it was the
    image's last, when the image goes too (as ECR does); by digest, the image and every tag."""
    deleted, failures = [], []
    for image_id in image_ids:
        resolved = resolve(store, repository, image_id)
        image = resolved.image
        if image is None:
            failures.append(resolved)
            continue
        by_tag = image_id.tag is not None
        removes_image = not by_tag or set(image.tags) == {image_id.tag}
        if removes_image and _referenced_by_index(store, repository, image):
            failures.append(Resolved(image_id, None, "ImageReferencedByManifestList",
                                     "Requested image is referenced by a manifest list"))
            continue
        deleted += _delete(store, repository, image, image_id.tag)
    return deleted, failures


def referrers(store, repository: Repository, subject: str, artifact_status: str,
              artifact_types: list[str] | None) -> list[dict]:
    """ListImageReferrers: the OCI descriptors of the referrers (signatures, SBOMs...) of
    `subject`, by digest; all of them ACTIVE."""
    if not names.valid_digest(subject):
        raise InvalidParameterException(f"Invalid parameter at 'subjectId': invalid digest {subject}")
    if artifact_status not in ("ACTIVE", "ANY"):
        return []  # no image of the emulator is ever archived
    wanted = set(artifact_types or ())
    found = [
        descriptor
        for descriptor in images.storage(store).referrers(images.repo_ref(store, repository.name),
                                                          subject)
        if not wanted or descriptor.get("artifactType") in wanted
    ]
    return sorted(found, key=lambda descriptor: descriptor["digest"])


def _delete(store, repository: Repository, image: Image, tag: str | None) -> list[ImageId]:
    if tag is not None and len(image.tags) > 1:
        images.delete(store, repository, tag)
        return [ImageId(image.digest, tag)]
    images.delete(store, repository, image.digest)
    replication.replicate_deletion(store, repository, image.digest)
    return [ImageId(image.digest, t) for t in image.tags or (None,)]


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




def show(image_id: ImageId) -> str:
    """An image id as ECR prints it in messages (a Java map: absent values are 'null')."""
    def value(given):
        return given if given is not None else "null"
    return "{imageDigest:'%s', imageTag:'%s'}" % (value(image_id.digest), value(image_id.tag))

"""Handlers of the scanning and signing operations: image scans, the registry's scanning and
signing configurations, signing statuses."""

from emulator.aws.json_service import Call, handler
from emulator.ecr import archive, image_ops, names, render, scanning, signing
from emulator.ecr.api.common import image_id_of, page_of, repository_of, store_of
from emulator.ecr.errors import ImageArchivedException


@handler("StartImageScan")
def start_image_scan(call: Call) -> dict:
    store, repository = repository_of(call)
    image_id = image_id_of(call.request.image_id)
    image = image_ops.existing(store, repository, image_id)
    if archive.status(image.record) != archive.ACTIVE:
        raise ImageArchivedException(
            f"The image with digest '{image.digest}' is {archive.status(image.record)} and "
            "cannot be scanned")
    scanning.start(store, image)
    return {"registryId": store.account, "repositoryName": repository.name,
            "imageId": render.image_id(image, image_id.tag),
            "imageScanStatus": {"status": "IN_PROGRESS"}}  # ECR's answer; reads find it done


@handler("DescribeImageScanFindings")
def describe_image_scan_findings(call: Call) -> dict:
    store, repository = repository_of(call)
    image_id = image_id_of(call.request.image_id)
    image = image_ops.existing(store, repository, image_id)
    result = scanning.result_of(store, image)
    numbered = list(enumerate(result.findings))
    page, token = page_of(numbered, call.request, key=lambda item: item[0])
    return {
        "registryId": store.account,
        "repositoryName": repository.name,
        "imageId": render.image_id(image, image_id.tag),
        "imageScanStatus": render.scan_status(result),
        "imageScanFindings": render.scan_findings(result, [finding for _, finding in page]),
        "nextToken": token,
    }


@handler("PutRegistryScanningConfiguration")
def put_registry_scanning_configuration(call: Call) -> dict:
    store = store_of(call)
    scanning.put_registry_configuration(store, call.request.scan_type, call.request.rules)
    return {"registryScanningConfiguration": store.scanning_configuration}


@handler("GetRegistryScanningConfiguration")
def get_registry_scanning_configuration(call: Call) -> dict:
    store = store_of(call)
    return {"registryId": store.account, "scanningConfiguration": store.scanning_configuration}


@handler("BatchGetRepositoryScanningConfiguration")
def batch_get_repository_scanning_configuration(call: Call) -> dict:
    store = store_of(call)
    found, failures = [], []
    for name in call.request.repository_names:
        repository = store.repositories.get(names.check_repository_name(name))
        if repository is None:
            failures.append({"repositoryName": name, "failureCode": "REPOSITORY_NOT_FOUND",
                             "failureReason": "REPOSITORY_NOT_FOUND"})
        else:
            found.append(render.repository_scanning(store, repository))
    return {"scanningConfigurations": found, "failures": failures}


@handler("PutSigningConfiguration")
def put_signing_configuration(call: Call) -> dict:
    store = store_of(call)
    store.signing_configuration = call.request.signing_configuration
    return {"signingConfiguration": store.signing_configuration}


@handler("GetSigningConfiguration")
def get_signing_configuration(call: Call) -> dict:
    store = store_of(call)
    return {"registryId": store.account, "signingConfiguration": signing.get(store)}


@handler("DeleteSigningConfiguration")
def delete_signing_configuration(call: Call) -> dict:
    store = store_of(call)
    return {"registryId": store.account, "signingConfiguration": signing.delete(store)}


@handler("DescribeImageSigningStatus")
def describe_image_signing_status(call: Call) -> dict:
    store, repository = repository_of(call)
    image_id = image_id_of(call.request.image_id)
    image = image_ops.existing(store, repository, image_id)
    return {"repositoryName": repository.name, "registryId": store.account,
            "imageId": render.image_id(image, image_id.tag),
            "signingStatuses": [render.signing_status(arn)
                                for arn in signing.profiles_for(store, repository.name)]}

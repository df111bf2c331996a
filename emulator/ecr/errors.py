"""ECR's modelled errors: one class per exception shape of botocore's ECR model, named after it
(so its code is that name). Raise them from operations; JsonService turns them into the wire form."""

from emulator.aws.errors import AwsError


class BlockedByOrganizationPolicyException(AwsError):
    pass


class EmptyUploadException(AwsError):
    pass


class ExclusionAlreadyExistsException(AwsError):
    pass


class ExclusionNotFoundException(AwsError):
    pass


class ImageAlreadyExistsException(AwsError):
    pass


class ImageArchivedException(AwsError):
    pass


class ImageDigestDoesNotMatchException(AwsError):
    pass


class ImageNotFoundException(AwsError):
    pass


class ImageStorageClassUpdateNotSupportedException(AwsError):
    pass


class ImageTagAlreadyExistsException(AwsError):
    pass


class InvalidLayerException(AwsError):
    pass


class InvalidLayerPartException(AwsError):
    pass


class InvalidParameterException(AwsError):
    """A parameter is invalid: also our answer for bad repository names and tags."""


class InvalidTagParameterException(AwsError):
    pass


class KmsException(AwsError):
    pass


class LayerAlreadyExistsException(AwsError):
    pass


class LayerInaccessibleException(AwsError):
    pass


class LayerPartTooSmallException(AwsError):
    pass


class LayersNotFoundException(AwsError):
    pass


class LifecyclePolicyNotFoundException(AwsError):
    pass


class LifecyclePolicyPreviewInProgressException(AwsError):
    pass


class LifecyclePolicyPreviewNotFoundException(AwsError):
    pass


class LimitExceededException(AwsError):
    pass


class PullThroughCacheRuleAlreadyExistsException(AwsError):
    pass


class PullThroughCacheRuleNotFoundException(AwsError):
    pass


class ReferencedImagesNotFoundException(AwsError):
    pass


class RegistryPolicyNotFoundException(AwsError):
    pass


class ReplicationBackfillInProgressException(AwsError):
    pass


class ReplicationBackfillInvalidStatusException(AwsError):
    pass


class ReplicationBackfillNotFoundException(AwsError):
    pass


class RepositoryAlreadyExistsException(AwsError):
    pass


class RepositoryNotEmptyException(AwsError):
    pass


class RepositoryNotFoundException(AwsError):
    pass


class RepositoryPolicyNotFoundException(AwsError):
    pass


class ScanNotFoundException(AwsError):
    pass


class SecretNotFoundException(AwsError):
    pass


class ServerException(AwsError):
    """A fault on our side that still has an ECR shape (rare: most faults are InternalFailure)."""

    status = 500  # a fault in ECR's model, as AWS answers it


class SigningConfigurationNotFoundException(AwsError):
    pass


class TemplateAlreadyExistsException(AwsError):
    pass


class TemplateNotFoundException(AwsError):
    pass


class TooManyTagsException(AwsError):
    pass


class UnableToAccessSecretException(AwsError):
    pass


class UnableToDecryptSecretValueException(AwsError):
    pass


class UnableToGetUpstreamImageException(AwsError):
    pass


class UnableToGetUpstreamLayerException(AwsError):
    pass


class UnableToListUpstreamImageReferrersException(AwsError):
    pass


class UnsupportedImageTypeException(AwsError):
    pass


class UnsupportedUpstreamRegistryException(AwsError):
    pass


class UploadNotFoundException(AwsError):
    pass


class ValidationException(AwsError):
    """A request that fails ECR's validation of newer APIs (templates, pull-through rules)."""

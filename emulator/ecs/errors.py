"""ECS's modelled errors. Each class is named after a botocore exception shape of ECS."""

from emulator.aws.errors import AwsError


class ClientException(AwsError):
    """The request is well-formed but not acceptable (ECS's most common refusal)."""


class InvalidParameterException(AwsError):
    pass


class ClusterNotFoundException(AwsError):
    pass


class NamespaceNotFoundException(AwsError):
    pass


class ClusterContainsServicesException(AwsError):
    pass


class ClusterContainsTasksException(AwsError):
    pass


class ClusterContainsContainerInstancesException(AwsError):
    pass


class ClusterContainsCapacityProviderException(AwsError):
    pass


class ResourceNotFoundException(AwsError):
    pass


class ResourceInUseException(AwsError):
    pass


class LimitExceededException(AwsError):
    pass


class TargetNotFoundException(AwsError):
    pass


class AttributeLimitExceededException(AwsError):
    pass


class UpdateInProgressException(AwsError):
    pass


class UnsupportedFeatureException(AwsError):
    """Also our honest answer for an operation of ECS's model that we have not built."""


class ServiceNotFoundException(AwsError):
    pass


class ServiceNotActiveException(AwsError):
    pass


class PlatformUnknownException(AwsError):
    pass


class PlatformTaskDefinitionIncompatibilityException(AwsError):
    pass


class ConflictException(AwsError):
    pass


class ServiceDeploymentNotFoundException(AwsError):
    pass


class TaskSetNotFoundException(AwsError):
    pass


class TargetNotConnectedException(AwsError):
    """ExecuteCommand cannot reach the container's agent (here: the emulator has no Docker)."""


class MissingVersionException(AwsError):
    pass


class NoUpdateAvailableException(AwsError):
    pass


class DaemonNotFoundException(AwsError):
    pass


class DaemonNotActiveException(AwsError):
    pass


class GatewayNotFoundException(AwsError):
    pass

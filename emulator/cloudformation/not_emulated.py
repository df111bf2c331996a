"""The ECS and ECR resource types a stack cannot make here: each fails its resource
(CREATE_FAILED, then the stack's rollback) with a message that says so. moto would complete them
"without effect", and a stack would claim an ECS resource that does not exist."""

from __future__ import annotations

from emulator.cloudformation.resource import ApiResource, ResourceFailed

NOT_EMULATED = (
    "AWS::ECS::Daemon",
    "AWS::ECS::DaemonTaskDefinition",
    "AWS::ECS::Gateway",
    "AWS::ECS::GatewayClusterAssociations",
    "AWS::ECR::PublicRepository",  # ECR Public is another service, not emulated
)


def _refusing(resource_type: str) -> type[ApiResource]:
    class NotEmulated(ApiResource):
        TYPE = resource_type

        @classmethod
        def create(cls, api, properties, name):
            raise ResourceFailed(f"Resource type {cls.TYPE} is not emulated by this emulator's "
                                 "CloudFormation; make it with the API instead.")

    NotEmulated.__name__ = NotEmulated.__qualname__ = resource_type.split("::")[-1]
    return NotEmulated


TYPES = tuple(_refusing(t) for t in NOT_EMULATED)

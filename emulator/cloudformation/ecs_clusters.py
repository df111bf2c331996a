"""AWS::ECS::Cluster, CapacityProvider, ClusterCapacityProviderAssociations and TaskDefinition:
the resources of a stack that hold no running tasks themselves."""

from __future__ import annotations

from emulator.aws.errors import AwsError
from emulator.cloudformation.properties import tags_of, to_request
from emulator.cloudformation.resource import (Api, ApiResource, NotYet, delete_gone,
                                              tag_changes)


def _ecs_request(api: Api, operation: str, properties: dict, **extra) -> dict:
    return to_request(api.services.ecs.shapes, operation, properties, **extra)


class Cluster(ApiResource):
    TYPE = "AWS::ECS::Cluster"
    NAME_PROPERTY = "ClusterName"
    ATTRIBUTES = ("Arn",)
    REPLACE_ON = frozenset({"ClusterName"})

    @classmethod
    def create(cls, api, properties, name):
        cluster = api.ecs("CreateCluster", _ecs_request(
            api, "CreateCluster", properties, clusterName=name))["cluster"]
        return cls(cluster["clusterName"], properties, {"Arn": cluster["clusterArn"]})

    def update_in_place(self, api, properties):
        old = self.properties
        keys = ("ClusterSettings", "Configuration", "ServiceConnectDefaults")
        if any(old.get(k) != properties.get(k) for k in keys):
            request = _ecs_request(api, "UpdateCluster", {k: properties.get(k) for k in keys},
                                   cluster=self.physical_resource_id)
            request.setdefault("settings", [])
            api.ecs("UpdateCluster", request)
        keys = ("CapacityProviders", "DefaultCapacityProviderStrategy")
        if any(old.get(k) != properties.get(k) for k in keys):
            request = _ecs_request(api, "PutClusterCapacityProviders", properties,
                                   cluster=self.physical_resource_id)
            request.setdefault("capacityProviders", [])
            request.setdefault("defaultCapacityProviderStrategy", [])
            api.ecs("PutClusterCapacityProviders", request)
        tag_changes(api.ecs, self.attributes["Arn"], tags_of(old), tags_of(properties), lower=True)
        return type(self)(self.physical_resource_id, properties, self.attributes)

    def remove(self, api):
        delete_gone(api.ecs, "DeleteCluster", {"cluster": self.physical_resource_id},
                    "ClusterNotFoundException")


class CapacityProvider(ApiResource):
    TYPE = "AWS::ECS::CapacityProvider"
    NAME_PROPERTY = "Name"
    REPLACE_ON = frozenset({"Name", "ClusterName", "AutoScalingGroupProvider.AutoScalingGroupArn"})

    @classmethod
    def create(cls, api, properties, name):
        provider = api.ecs("CreateCapacityProvider", _ecs_request(
            api, "CreateCapacityProvider", properties, name=name))["capacityProvider"]
        return cls(provider["name"], properties, {"Arn": provider["capacityProviderArn"]})

    def update_in_place(self, api, properties):
        group = dict(properties.get("AutoScalingGroupProvider") or {})
        group.pop("AutoScalingGroupArn", None)  # fixed at creation: a change replaces it
        request = _ecs_request(api, "UpdateCapacityProvider",
                               {"AutoScalingGroupProvider": group} if group else {},
                               name=self.physical_resource_id)
        if "autoScalingGroupProvider" in request:
            api.ecs("UpdateCapacityProvider", request)
        tag_changes(api.ecs, self.attributes["Arn"], tags_of(self.properties),
                    tags_of(properties), lower=True)
        return type(self)(self.physical_resource_id, properties, self.attributes)

    def remove(self, api):
        try:
            provider = api.ecs("DeleteCapacityProvider",
                               {"capacityProvider": self.physical_resource_id})["capacityProvider"]
        except AwsError as error:
            if error.code != "ClientException":  # gone already
                raise
            return
        if provider.get("updateStatus") == "DELETE_FAILED":  # still on a cluster: answered 200
            # (moto deletes a stack's resources in no set order: its association may go next)
            raise NotYet(provider.get("updateStatusReason") or "DELETE_FAILED")


class ClusterCapacityProviderAssociations(ApiResource):
    """The capacity providers of a cluster made elsewhere; Ref is the cluster's name."""

    TYPE = "AWS::ECS::ClusterCapacityProviderAssociations"
    REPLACE_ON = frozenset({"Cluster"})
    REQUIRED = ("Cluster", "DefaultCapacityProviderStrategy")

    @classmethod
    def create(cls, api, properties, name):
        cluster = api.ecs("PutClusterCapacityProviders", cls._request(api, properties))["cluster"]
        return cls(cluster["clusterName"], properties)

    def update_in_place(self, api, properties):
        api.ecs("PutClusterCapacityProviders", self._request(api, properties))
        return type(self)(self.physical_resource_id, properties)

    def remove(self, api):
        delete_gone(api.ecs, "PutClusterCapacityProviders",
                    {"cluster": self.physical_resource_id, "capacityProviders": [],
                     "defaultCapacityProviderStrategy": []}, "ClusterNotFoundException")

    @staticmethod
    def _request(api, properties):
        request = _ecs_request(api, "PutClusterCapacityProviders", properties)
        request.setdefault("capacityProviders", [])  # not required by the template
        return request


class TaskDefinition(ApiResource):
    """Every change registers a new revision (replacement); the old one is deregistered in the
    update's clean-up phase."""

    TYPE = "AWS::ECS::TaskDefinition"
    NAME_PROPERTY = "Family"
    ATTRIBUTES = ("TaskDefinitionArn",)
    REPLACE_ON = None

    @classmethod
    def create(cls, api, properties, name):
        request = _ecs_request(api, "RegisterTaskDefinition", properties, family=name)
        if request.get("tags") == []:  # `Tags: []` is no tags; the API refuses an empty list
            del request["tags"]
        definition = api.ecs("RegisterTaskDefinition", request)["taskDefinition"]
        arn = definition["taskDefinitionArn"]
        return cls(arn, properties, {"TaskDefinitionArn": arn})

    @classmethod
    def _replace(cls, api, original, new, new_resource_name):
        # A new revision of the same family is how a task definition changes: no name clash.
        return cls.create(api, new, cls.generated_name(new_resource_name, new)
                          if new.get("Family") else original.family).replacing(original)

    @property
    def family(self) -> str:
        return self.physical_resource_id.rsplit("/", 1)[-1].rsplit(":", 1)[0]

    def remove(self, api):
        delete_gone(api.ecs, "DeregisterTaskDefinition",
                    {"taskDefinition": self.physical_resource_id}, "ClientException")


TYPES = (Cluster, CapacityProvider, ClusterCapacityProviderAssociations, TaskDefinition)

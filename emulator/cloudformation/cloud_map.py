"""`AWS::ServiceDiscovery::HttpNamespace`, `PrivateDnsNamespace`, `PublicDnsNamespace` and
`Service`: Cloud Map as a stack makes it, in moto's servicediscovery, where an ECS service's
`ServiceRegistries` find it and its tasks are registered.

moto models Cloud Map's API but not these types, so a template naming them made nothing, and a
service's `RegistryArn: !GetAtt CloudMapService.Arn` failed the stack ("Fn::GetAtt references
undefined resource"): the CDK's `cloudMapOptions` and `Cluster.addDefaultCloudMapNamespace`
write exactly that. Ref and Fn::GetAtt are the reference's: Ref the ID; `Id` and `Arn`, a DNS
namespace's `HostedZoneId`, a service's `Name`.

They are moto's kind of resource, not ours: they reach moto's backend directly (no ECS or ECR
call), and under IAM enforcement the stack's rights are checked as for moto's other types
(stack_life.wrap_parse).
"""

from __future__ import annotations

import uuid

from emulator.cloudformation.resource import ApiResource, ResourceFailed

_NAMESPACE_REPLACE_ON = frozenset({"Name", "Vpc"})


def _backend(api):
    from moto.servicediscovery.models import servicediscovery_backends

    return servicediscovery_backends[api.ctx.account][api.ctx.region]


def _tags(properties: dict) -> list[dict]:
    return [{"Key": t["Key"], "Value": t["Value"]} for t in properties.get("Tags") or []]


class _Namespace(ApiResource):
    NAME_PROPERTY = None  # Name is required; CloudFormation makes none up
    REQUIRED = ("Name",)
    REPLACE_ON = _NAMESPACE_REPLACE_ON

    @classmethod
    def create(cls, api, properties, name):
        backend = _backend(api)
        operation = cls._make(backend, properties)
        namespace = backend.get_namespace(backend.get_operation(operation).targets["NAMESPACE"])
        attributes = {"Id": namespace.id, "Arn": namespace.arn}
        hosted_zone = (namespace.dns_properties or {}).get("HostedZoneId")
        if hosted_zone and "HostedZoneId" in cls.ATTRIBUTES:
            attributes["HostedZoneId"] = hosted_zone.split("/")[-1]
        return cls(namespace.id, properties, attributes)

    @classmethod
    def _make(cls, backend, properties) -> str:
        raise NotImplementedError

    def update_in_place(self, api, properties):
        namespace = _backend(api).get_namespace(self.physical_resource_id)
        namespace.description = properties.get("Description") or ""
        return type(self)(self.physical_resource_id, properties, self.attributes)

    def remove(self, api):
        """The namespace, and the Route 53 hosted zone moto made for a DNS one: Cloud Map
        deletes the zone it made with the namespace, and moto leaves it behind."""
        backend = _backend(api)
        namespace = backend.namespaces.get(self.physical_resource_id)
        if namespace is None:
            return
        backend.delete_namespace(self.physical_resource_id)
        zone = (namespace.dns_properties or {}).get("HostedZoneId")
        if zone:
            from moto.route53.models import route53_backends

            zones = route53_backends[api.ctx.account][api.ctx.partition].zones
            zones.pop(zone.replace("/hostedzone/", ""), None)


class HttpNamespace(_Namespace):
    TYPE = "AWS::ServiceDiscovery::HttpNamespace"
    ATTRIBUTES = ("Id", "Arn")

    @classmethod
    def _make(cls, backend, properties):
        return backend.create_http_namespace(
            name=properties["Name"], creator_request_id=str(uuid.uuid4()),
            description=properties.get("Description") or "", tags=_tags(properties))


class PrivateDnsNamespace(_Namespace):
    TYPE = "AWS::ServiceDiscovery::PrivateDnsNamespace"
    ATTRIBUTES = ("Id", "Arn", "HostedZoneId")
    REQUIRED = ("Name", "Vpc")

    @classmethod
    def _make(cls, backend, properties):
        """AWS allows several private namespaces in one VPC, but not two of one name there.
        moto refuses any second namespace in a VPC (which failed every Name change, a
        replacement, and two CDK clusters' default namespaces in one VPC), so it is asked for
        one in a VPC of no other namespace, then given its own."""
        name, vpc = properties["Name"], properties["Vpc"]
        for other in backend.namespaces.values():
            if other.vpc == vpc and other.name == name:
                raise ResourceFailed(f"A namespace named {name} already exists in VPC {vpc} "
                                     f"({other.id}); a VPC's private namespaces need distinct "
                                     "names.")
        operation = backend.create_private_dns_namespace(
            name=name, creator_request_id=str(uuid.uuid4()),
            description=properties.get("Description") or "", vpc=f"unique-{uuid.uuid4()}",
            tags=_tags(properties), properties=_dns_properties(properties))
        backend.get_namespace(backend.get_operation(operation).targets["NAMESPACE"]).vpc = vpc
        return operation


class PublicDnsNamespace(_Namespace):
    TYPE = "AWS::ServiceDiscovery::PublicDnsNamespace"
    ATTRIBUTES = ("Id", "Arn", "HostedZoneId")

    @classmethod
    def _make(cls, backend, properties):
        return backend.create_public_dns_namespace(
            name=properties["Name"], creator_request_id=str(uuid.uuid4()),
            description=properties.get("Description") or "", tags=_tags(properties),
            properties=_dns_properties(properties))


def _dns_properties(properties: dict) -> dict:
    """A copy: moto writes the hosted zone's id into what it is given."""
    return {"DnsProperties": dict((properties.get("Properties") or {}).get("DnsProperties")
                                  or {})}


class Service(ApiResource):
    TYPE = "AWS::ServiceDiscovery::Service"
    NAME_PROPERTY = "Name"
    ATTRIBUTES = ("Id", "Arn", "Name")
    # The reference: these replace the service; DnsRecords, Description and HealthCheckConfig
    # do not.
    REPLACE_ON = frozenset({"Name", "NamespaceId", "Type", "HealthCheckCustomConfig",
                            "DnsConfig.NamespaceId", "DnsConfig.RoutingPolicy"})

    @classmethod
    def create(cls, api, properties, name):
        dns = properties.get("DnsConfig")
        namespace = properties.get("NamespaceId") or (dns or {}).get("NamespaceId")
        service = _backend(api).create_service(
            name=name, namespace_id=namespace, creator_request_id=str(uuid.uuid4()),
            description=properties.get("Description") or "", dns_config=dns,
            health_check_config=properties.get("HealthCheckConfig"),
            health_check_custom_config=properties.get("HealthCheckCustomConfig"),
            tags=_tags(properties), service_type=properties.get("Type"))
        return cls(service.id, properties,
                   {"Id": service.id, "Arn": service.arn, "Name": service.name})

    def update_in_place(self, api, properties):
        details = {"Description": properties.get("Description") or ""}
        if properties.get("DnsConfig"):
            details["DnsConfig"] = {"DnsRecords": properties["DnsConfig"].get("DnsRecords", [])}
        if properties.get("HealthCheckConfig"):
            details["HealthCheckConfig"] = properties["HealthCheckConfig"]
        _backend(api).update_service(self.physical_resource_id, details)
        return type(self)(self.physical_resource_id, properties, self.attributes)

    def remove(self, api):
        _backend(api).delete_service(self.physical_resource_id)


TYPES = (HttpNamespace, PrivateDnsNamespace, PublicDnsNamespace, Service)

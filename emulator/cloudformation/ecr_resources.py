"""AWS::ECR::Repository, RegistryPolicy, ReplicationConfiguration, RegistryScanningConfiguration,
SigningConfiguration, PullThroughCacheRule, PullTimeUpdateExclusion and
RepositoryCreationTemplate, made in our ECR (so `docker push` to a stack's repository works)."""

from __future__ import annotations

import json

from emulator.aws.errors import AwsError
from emulator.cloudformation.properties import tags_of, to_request
from emulator.cloudformation.resource import ApiResource, delete_gone, tag_changes


def _ecr_request(api, operation: str, properties: dict, **extra) -> dict:
    return to_request(api.services.ecr.shapes, operation, properties, **extra)


def _text(value) -> str | None:
    """A policy written in the template as a JSON object or as a string."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)


class Repository(ApiResource):
    TYPE = "AWS::ECR::Repository"
    NAME_PROPERTY = "RepositoryName"
    ATTRIBUTES = ("Arn", "RepositoryUri")
    REPLACE_ON = frozenset({"RepositoryName", "EncryptionConfiguration"})

    @classmethod
    def generated_name(cls, moto_name, properties):
        return super().generated_name(moto_name, properties) if properties.get(
            cls.NAME_PROPERTY) else moto_name.lower()  # ECR names are lower case

    @classmethod
    def create(cls, api, properties, name):
        repository = api.ecr("CreateRepository", _ecr_request(
            api, "CreateRepository", properties, repositoryName=name))["repository"]
        resource = cls(name, properties, {"Arn": repository["repositoryArn"],
                                          "RepositoryUri": repository["repositoryUri"]})
        try:
            resource._apply_policies(api, {}, properties)
        except AwsError:
            api.ecr("DeleteRepository", {"repositoryName": name, "force": True})
            raise
        return resource

    def update_in_place(self, api, properties):
        old, name = self.properties, self.physical_resource_id
        if old.get("ImageTagMutability") != properties.get("ImageTagMutability") or old.get(
                "ImageTagMutabilityExclusionFilters") != properties.get(
                "ImageTagMutabilityExclusionFilters"):
            api.ecr("PutImageTagMutability", _ecr_request(
                api, "PutImageTagMutability",
                {"ImageTagMutabilityExclusionFilters":
                 properties.get("ImageTagMutabilityExclusionFilters")},
                repositoryName=name,
                imageTagMutability=properties.get("ImageTagMutability", "MUTABLE")))
        if old.get("ImageScanningConfiguration") != properties.get("ImageScanningConfiguration"):
            api.ecr("PutImageScanningConfiguration", _ecr_request(
                api, "PutImageScanningConfiguration",
                {"ImageScanningConfiguration": properties.get("ImageScanningConfiguration")
                 or {"ScanOnPush": False}}, repositoryName=name))
        self._apply_policies(api, old, properties)
        tag_changes(api.ecr, self.attributes["Arn"], tags_of(old), tags_of(properties),
                    lower=False)
        return type(self)(name, properties, self.attributes)

    def _apply_policies(self, api, old: dict, new: dict) -> None:
        name = self.physical_resource_id
        policy = _text(new.get("RepositoryPolicyText"))
        if policy != _text(old.get("RepositoryPolicyText")):
            if policy:
                api.ecr("SetRepositoryPolicy", {"repositoryName": name, "policyText": policy})
            else:
                api.ecr("DeleteRepositoryPolicy", {"repositoryName": name})
        lifecycle = _text((new.get("LifecyclePolicy") or {}).get("LifecyclePolicyText"))
        if lifecycle != _text((old.get("LifecyclePolicy") or {}).get("LifecyclePolicyText")):
            if lifecycle:
                api.ecr("PutLifecyclePolicy", {"repositoryName": name,
                                               "lifecyclePolicyText": lifecycle})
            else:
                api.ecr("DeleteLifecyclePolicy", {"repositoryName": name})

    def remove(self, api):
        # Without EmptyOnDelete a repository that holds images is refused, as on AWS.
        force = str(self.properties.get("EmptyOnDelete", "false")).lower() == "true"
        delete_gone(api.ecr, "DeleteRepository",
                    {"repositoryName": self.physical_resource_id, "force": force},
                    "RepositoryNotFoundException")


class RegistryPolicy(ApiResource):
    """Ref is the registry (account) ID."""

    TYPE = "AWS::ECR::RegistryPolicy"
    ATTRIBUTES = ("RegistryId",)

    @classmethod
    def create(cls, api, properties, name):
        out = api.ecr("PutRegistryPolicy", {"policyText": _text(properties.get("PolicyText"))})
        return cls(out["registryId"], properties, {"RegistryId": out["registryId"]})

    def update_in_place(self, api, properties):
        return type(self).create(api, properties, "")

    def remove(self, api):
        delete_gone(api.ecr, "DeleteRegistryPolicy", {}, "RegistryPolicyNotFoundException")


class ReplicationConfiguration(ApiResource):
    """Ref is the registry (account) ID; deleting it leaves no replication rules."""

    TYPE = "AWS::ECR::ReplicationConfiguration"
    ATTRIBUTES = ("RegistryId",)

    @classmethod
    def create(cls, api, properties, name):
        request = _ecr_request(api, "PutReplicationConfiguration", properties)
        request.setdefault("replicationConfiguration", {"rules": []})
        api.ecr("PutReplicationConfiguration", request)
        return cls(api.ctx.account, properties, {"RegistryId": api.ctx.account})

    def update_in_place(self, api, properties):
        return type(self).create(api, properties, "")

    def remove(self, api):
        api.ecr("PutReplicationConfiguration", {"replicationConfiguration": {"rules": []}})


class RegistryScanningConfiguration(ApiResource):
    """Ref is the registry (account) ID; deleting it puts back the registry's default (BASIC
    scanning, no rules)."""

    TYPE = "AWS::ECR::RegistryScanningConfiguration"
    ATTRIBUTES = ("RegistryId",)

    @classmethod
    def create(cls, api, properties, name):
        api.ecr("PutRegistryScanningConfiguration",
                _ecr_request(api, "PutRegistryScanningConfiguration", properties))
        return cls(api.ctx.account, properties, {"RegistryId": api.ctx.account})

    def update_in_place(self, api, properties):
        return type(self).create(api, properties, "")

    def remove(self, api):
        api.ecr("PutRegistryScanningConfiguration", {"scanType": "BASIC", "rules": []})


class SigningConfiguration(ApiResource):
    """Ref is the registry (account) ID. The template's Rules are the API's
    signingConfiguration."""

    TYPE = "AWS::ECR::SigningConfiguration"
    ATTRIBUTES = ("RegistryId",)

    @classmethod
    def create(cls, api, properties, name):
        api.ecr("PutSigningConfiguration", _ecr_request(
            api, "PutSigningConfiguration",
            {"SigningConfiguration": {"Rules": properties.get("Rules") or []}}))
        return cls(api.ctx.account, properties, {"RegistryId": api.ctx.account})

    def update_in_place(self, api, properties):
        return type(self).create(api, properties, "")

    def remove(self, api):
        delete_gone(api.ecr, "DeleteSigningConfiguration", {},
                    "SigningConfigurationNotFoundException")


class PullTimeUpdateExclusion(ApiResource):
    """Ref is the principal's ARN."""

    TYPE = "AWS::ECR::PullTimeUpdateExclusion"
    REPLACE_ON = frozenset({"PrincipalArn"})

    @classmethod
    def create(cls, api, properties, name):
        out = api.ecr("RegisterPullTimeUpdateExclusion", _ecr_request(
            api, "RegisterPullTimeUpdateExclusion", properties))
        return cls(out["principalArn"], properties)

    def remove(self, api):
        delete_gone(api.ecr, "DeregisterPullTimeUpdateExclusion",
                    {"principalArn": self.physical_resource_id},
                    "ExclusionNotFoundException")


class PullThroughCacheRule(ApiResource):
    """Ref is the repository prefix."""

    TYPE = "AWS::ECR::PullThroughCacheRule"
    NAME_PROPERTY = "EcrRepositoryPrefix"
    REPLACE_ON = frozenset({"EcrRepositoryPrefix", "UpstreamRegistryUrl", "UpstreamRegistry",
                            "UpstreamRepositoryPrefix"})

    @classmethod
    def create(cls, api, properties, name):
        rule = api.ecr("CreatePullThroughCacheRule", _ecr_request(
            api, "CreatePullThroughCacheRule", properties))
        return cls(rule["ecrRepositoryPrefix"], properties)

    def update_in_place(self, api, properties):
        api.ecr("UpdatePullThroughCacheRule", _ecr_request(
            api, "UpdatePullThroughCacheRule", properties,
            ecrRepositoryPrefix=self.physical_resource_id))
        return type(self)(self.physical_resource_id, properties)

    def remove(self, api):
        delete_gone(api.ecr, "DeletePullThroughCacheRule",
                    {"ecrRepositoryPrefix": self.physical_resource_id},
                    "PullThroughCacheRuleNotFoundException")


class RepositoryCreationTemplate(ApiResource):
    """Ref is the prefix."""

    TYPE = "AWS::ECR::RepositoryCreationTemplate"
    NAME_PROPERTY = "Prefix"
    ATTRIBUTES = ("CreatedAt", "UpdatedAt")
    REPLACE_ON = frozenset({"Prefix"})

    @classmethod
    def create(cls, api, properties, name):
        out = api.ecr("CreateRepositoryCreationTemplate", cls._request(
            api, "CreateRepositoryCreationTemplate", properties))
        return cls(out["repositoryCreationTemplate"]["prefix"], properties,
                   cls._times(out["repositoryCreationTemplate"]))

    def update_in_place(self, api, properties):
        out = api.ecr("UpdateRepositoryCreationTemplate", self._request(
            api, "UpdateRepositoryCreationTemplate", properties))
        return type(self)(self.physical_resource_id, properties,
                          self._times(out["repositoryCreationTemplate"]))

    def remove(self, api):
        delete_gone(api.ecr, "DeleteRepositoryCreationTemplate",
                    {"prefix": self.physical_resource_id}, "TemplateNotFoundException")

    @staticmethod
    def _request(api, operation, properties):
        request = _ecr_request(api, operation, properties)
        for key in ("repositoryPolicy", "lifecyclePolicy"):
            if key in request:
                request[key] = _text(request[key])
        return request

    @staticmethod
    def _times(template: dict) -> dict:
        return {"CreatedAt": str(template.get("createdAt", "")),
                "UpdatedAt": str(template.get("updatedAt", ""))}


TYPES = (Repository, RegistryPolicy, ReplicationConfiguration, RegistryScanningConfiguration,
         SigningConfiguration, PullThroughCacheRule, PullTimeUpdateExclusion,
         RepositoryCreationTemplate)

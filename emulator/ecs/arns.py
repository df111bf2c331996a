"""ECS ARNs in AWS's current long format, built and parsed in this one place."""

from __future__ import annotations

import re
from dataclasses import dataclass

from emulator.aws.context import RequestContext, partition_of
from emulator.ecs.errors import InvalidParameterException

_ARN = re.compile(r"^arn:(aws|aws-cn|aws-us-gov):ecs:([a-z0-9-]+):(\d{12}):([a-z-]+)/(.+)$")


@dataclass(frozen=True)
class EcsArn:
    """An ECS ARN taken apart."""
    partition: str
    region: str
    account: str
    resource_type: str  # cluster, task-definition, service, task, container-instance, ...
    resource: str  # everything after "<type>/"

    def __str__(self) -> str:
        return (
            f"arn:{self.partition}:ecs:{self.region}:{self.account}:"
            f"{self.resource_type}/{self.resource}"
        )

    def in_store(self, store, resource_type: str | None = None) -> bool:
        """Whether it names something of `store`'s account (of `resource_type`, if given): an
        ARN of another account is found in no store of ours. One of another region (or
        partition) is refused outright, as ECS refuses it: "Invalid Region in ARN"."""
        if (self.partition, self.region) != (partition_of(store.region), store.region):
            raise InvalidParameterException(INVALID_REGION)
        return self.account == store.account and resource_type in (None, self.resource_type)


# ECS's answer to an ARN of a region other than the one called (aws-cli#3175, RunTask and
# DescribeServices): a 400, whatever the operation.
INVALID_REGION = "Invalid Region in ARN"


def parse(arn: str) -> EcsArn | None:
    match = _ARN.match(arn)
    if match is None:
        return None
    return EcsArn(*match.groups())


def build(ctx_or_store, resource_type: str, resource: str) -> str:
    """An ARN in the caller's partition, region and account."""
    return str(
        EcsArn(
            partition=partition_of(ctx_or_store.region),
            region=ctx_or_store.region,
            account=ctx_or_store.account,
            resource_type=resource_type,
            resource=resource,
        )
    )


def cluster(store, name: str) -> str:
    return build(store, "cluster", name)


def task_definition(store, family: str, revision: int) -> str:
    return build(store, "task-definition", f"{family}:{revision}")


def capacity_provider(store, name: str) -> str:
    return build(store, "capacity-provider", name)


def container_instance(store, cluster_name: str, instance_id: str) -> str:
    return build(store, "container-instance", f"{cluster_name}/{instance_id}")


def service(store, cluster_name: str, name: str) -> str:
    return build(store, "service", f"{cluster_name}/{name}")


def task(store, cluster_name: str, task_id: str) -> str:
    return build(store, "task", f"{cluster_name}/{task_id}")


def task_set(store, cluster_name: str, service_name: str, set_id: str) -> str:
    return build(store, "task-set", f"{cluster_name}/{service_name}/{set_id}")


def deployment(store, resource_type: str, owner, number: str) -> str:
    """A deployment (or its revision) of a service or a daemon (`owner`): service-deployment,
    service-revision, daemon-deployment or daemon-revision, by its owner's cluster and name and
    the deployment's number."""
    return build(store, resource_type, f"{owner.cluster_name}/{owner.name}/{number}")


def deployment_parts(store, arn: str, resource_type: str) -> tuple[str, str, str] | None:
    """(cluster, owner's name, deployment number) of `store`'s `resource_type` ARN `arn` (as
    `deployment` builds it), or None for any other."""
    parsed = parse(arn)
    if parsed is None or not parsed.in_store(store, resource_type):
        return None
    parts = parsed.resource.split("/")
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else None


def principal_root(ctx: RequestContext) -> str:
    return f"arn:{ctx.partition}:iam::{ctx.account}:root"


def resource_in(store, ref: str, resource_type: str) -> str | None:
    """What `ref` (a name, an id or an ARN a caller passed) names of `resource_type` in `store`:
    `ref` itself when it is no ARN, the ARN's path after "<type>/" when it is one of `store`'s
    account, None when it can name nothing here (another account's ARN, another type's, or a
    malformed one). Another region's ARN raises InvalidParameterException (in_store)."""
    parsed = parse(ref)
    if parsed is None:
        return None if ref.startswith("arn:") else ref
    return parsed.resource if parsed.in_store(store, resource_type) else None


# ECS's answer to an ARN with more parts than its type has, such as a cluster ARN inside
# another ("cluster/arn:aws:ecs:...:cluster/name", a Pulumi user's DescribeClusters) or a
# task ARN holding two ("InvalidParameterException: Invalid identifier: Unexpected number of
# separators").
UNEXPECTED_SEPARATORS = "Invalid identifier: Unexpected number of separators"


def refuse_extra_parts(ref: str, resource: str | None, slashes: int, colons: int = 0) -> None:
    """Refuse, as ECS does, an ARN (`ref`; `resource` what resource_in found in it) whose part
    after "<type>/" holds more separators than its type's ARN has: `slashes` "/" (a cluster's
    none, a container instance's cluster/id one) and `colons` ":" (a task definition's
    family:revision one). A name or id (not an ARN) is not checked; None (nothing here) passes."""
    if (resource is not None and resource != ref
            and (resource.count("/") > slashes or resource.count(":") > colons)):
        raise InvalidParameterException(UNEXPECTED_SEPARATORS)


def name_in(store, ref: str, resource_type: str) -> str | None:
    """The name `ref` gives a resource of `resource_type` (one with a bare name: a cluster,
    a capacity provider, a gateway) in `store`, or None where it names nothing here (see
    resource_in). An ARN whose name holds a separator is refused, not read for its last part:
    it would name what its caller never meant."""
    resource = resource_in(store, ref, resource_type)
    refuse_extra_parts(ref, resource, slashes=0)
    return resource


def owner_and_name(store, ref: str, resource_type: str) -> tuple[str, str] | None:
    """The cluster and name (or id) `ref` gives a service or task: ("", ref) for a name or an
    id, and for an old-format ARN ("<type>/<id>", which names no cluster) ("", id); None where
    it names nothing here (see resource_in). An ARN with more parts than
    "<type>/<cluster>/<name>" (two task ARNs in one string, as a shell that did not split them
    passes them) is refused as ECS refuses it."""
    resource = resource_in(store, ref, resource_type)
    if resource is None or ref == resource:
        return None if resource is None else ("", resource)
    refuse_extra_parts(ref, resource, slashes=1)
    owner, _, name = resource.rpartition("/")
    return owner, name


def in_cluster(store, ref: str, resource_type: str, cluster_name: str) -> str | None:
    """The name or id `ref` gives a service or task of `cluster_name` (owner_and_name): an ARN
    must be of `store`'s account and name that cluster or none. None where it names nothing of
    that cluster."""
    found = owner_and_name(store, ref, resource_type)
    if found is None:
        return None
    owner, name = found
    return name if owner in ("", cluster_name) else None


def given_or_built(store, ref: str, resource_type: str, *owners: str) -> str:
    """The ARN a failure (MISSING) names for `ref`: an ARN as the caller gave it (another
    account's stays another account's), else the ARN `ref` would have in `store`."""
    if ref.startswith("arn:"):
        return ref
    return build(store, resource_type, "/".join((*owners, ref)))


def name_from(ref: str, resource_type: str) -> str:
    """The last path element of an ARN of `resource_type`, or `ref` itself if it is a plain name.
    It reads any account's and region's ARN and refuses none: for names already taken in
    (see checked_name_from for those a request brings)."""
    parsed = parse(ref)
    if parsed is None or parsed.resource_type != resource_type:
        return ref
    return parsed.resource.rsplit("/", 1)[-1]


def checked_name_from(ref: str, resource_type: str) -> str:
    """name_from for a bare name (a capacity provider's) a request brings: an ARN whose name
    holds a separator is refused (refuse_extra_parts), not read for its last part."""
    parsed = parse(ref)
    if parsed is not None and parsed.resource_type == resource_type:
        refuse_extra_parts(ref, parsed.resource, slashes=0)
    return name_from(ref, resource_type)

"""ECS ARNs in AWS's current long format, built and parsed in this one place."""

from __future__ import annotations

import re
from dataclasses import dataclass

from emulator.aws.context import RequestContext, partition_of

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
        """Whether it names something of `store`'s account and region (of `resource_type`, if
        given): an ARN of any other is found in no store of ours."""
        return ((self.partition, self.account, self.region)
                == (partition_of(store.region), store.account, store.region)
                and resource_type in (None, self.resource_type))


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


def name_from(ref: str, resource_type: str) -> str:
    """The last path element of an ARN of `resource_type`, or `ref` itself if it is a plain name."""
    parsed = parse(ref)
    if parsed is None or parsed.resource_type != resource_type:
        return ref
    return parsed.resource.rsplit("/", 1)[-1]


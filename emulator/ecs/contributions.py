"""What later layers add to the answers of earlier ones, held by one app rather than by modules.

Clusters count tasks and services, container instances report what tasks use of them, and
TagResource finds tasks, services and task sets by ARN; yet clusters, container instances and
tags sit below the layers that own those things. The owners' functions are gathered here by
`standard()`, which the app factory calls: each app holds its own Contributions (on its EcsState,
given to every store), so importing a module registers nothing and two apps in one process share
none of it. A state or store built without one (unit tests) gets a standard() set of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Contributions:
    """What other parts add to ECS's answers, each a list of callables."""
    # (store, cluster) -> {count name: value}: DescribeClusters' counts and statistics
    cluster_counts: list[Callable] = field(default_factory=list)
    cluster_statistics: list[Callable] = field(default_factory=list)
    # (store, container instance) -> container_instances.Usage
    instance_usage: list[Callable] = field(default_factory=list)
    # resource type in the ARN -> (store, parsed ARN) -> the resource (with .tags) or None
    tag_finders: dict[str, Callable] = field(default_factory=dict)
    # ELBv2 target group ARN -> service_load_balancers.TargetGroup, or None when there is no
    # such group: the app's moto, for CreateService's checks (None: no ELBv2, nothing checked)
    target_group: Callable | None = None
    # (account, region, namespace name or ARN, create: bool) -> the Cloud Map namespace's ARN,
    # or None when there is none (engine/cloud_map_namespaces.py; None: no Cloud Map, names
    # are taken as given)
    cloud_map_namespace: Callable | None = None
    # Cloud Map service ARN -> the types of its DNS records ("A", "SRV"...), or None when there
    # is no such service or it has none (engine/service_discovery.py; None: nothing checked)
    cloud_map_dns_records: Callable | None = None


def standard() -> Contributions:
    """Everything ECS's own layers contribute. (They are imported when this is called: they
    import the store, which imports this module.)"""
    from emulator.ecs import placement, services, tags, task_sets, tasks

    return Contributions(
        cluster_counts=[tasks.cluster_counts, services.cluster_counts],
        cluster_statistics=[tasks.cluster_statistics, services.cluster_statistics],
        instance_usage=[placement.instance_usage],
        tag_finders={**tags.own_finders(), "task": tasks.find_by_arn,
                     "service": services.find_by_arn, "task-set": task_sets.find_by_arn},
    )

"""Handlers of the cluster operations."""

from emulator.aws.json_service import Call, handler
from emulator.ecs import arns, capacity_providers, clusters, render
from emulator.ecs.api.common import described, page_of
from emulator.ecs.errors import InvalidParameterException

MAX_DESCRIBED = 100  # DescribeClusters' documented limit


@handler("CreateCluster")
def create_cluster(call: Call) -> dict:
    cluster = clusters.create(call.store, call.request)
    return {"cluster": render.cluster_after_write(call.store, cluster)}


@handler("DescribeClusters")
def describe_clusters(call: Call) -> dict:
    include = call.request.include or []
    refs = call.request.clusters or ["default"]
    if len(refs) > MAX_DESCRIBED:
        raise InvalidParameterException(
            f"At most {MAX_DESCRIBED} clusters can be described at once.")
    found, failures = described(
        refs, call.store.find_cluster, lambda cluster: render.cluster(call.store, cluster, include),
        lambda ref: arns.given_or_built(call.store, ref, "cluster"))
    return {"clusters": found, "failures": failures}


@handler("ListClusters")
def list_clusters(call: Call) -> dict:
    active = sorted(c.arn for c in call.store.clusters.values() if c.status == "ACTIVE")
    page, token = page_of(active, call.request, key=lambda arn: arn)
    return {"clusterArns": page, "nextToken": token}


@handler("UpdateCluster")
def update_cluster(call: Call) -> dict:
    request = call.request
    cluster = clusters.update(call.store, request.cluster, settings=request.settings,
                              configuration=request.configuration,
                              service_connect_defaults=request.service_connect_defaults)
    return {"cluster": render.cluster_after_write(call.store, cluster)}


@handler("UpdateClusterSettings")
def update_cluster_settings(call: Call) -> dict:
    cluster = clusters.update_settings(call.store, call.request.cluster, call.request.settings)
    return {"cluster": render.cluster_after_write(call.store, cluster)}


@handler("PutClusterCapacityProviders")
def put_cluster_capacity_providers(call: Call) -> dict:
    request = call.request
    cluster = call.store.cluster(request.cluster)
    capacity_providers.attach_to_cluster(call.store, cluster, request.capacity_providers,
                                         request.default_capacity_provider_strategy)
    return {"cluster": render.cluster_after_write(call.store, cluster)}


@handler("DeleteCluster")
def delete_cluster(call: Call) -> dict:
    cluster = clusters.delete(call.store, call.request.cluster)
    return {"cluster": render.cluster_after_write(call.store, cluster)}

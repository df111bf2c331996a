"""Task placement on container instances, tested on the placement functions directly (no Docker,
no HTTP): resources, ports, attributes, constraints, strategies, and the local host instance.
tests/test_ec2_launch.py runs real tasks through the same paths."""

import pytest

from emulator.ecs import arns, container_instances, placement
from emulator.ecs.errors import ClientException, InvalidParameterException
from emulator.ecs.launch_request import LaunchRequest
from emulator.ecs.local_instance import LocalHost, ec2_instance_id
from emulator.ecs.model import Cluster, TaskDefinition
from emulator.ecs.store import EcsStore
from emulator.ecs.task_launch import build_tasks
from emulator.runtime.status import TaskStatus
from tests.ecs_requests import ecs_request


@pytest.fixture
def store():
    store = EcsStore(account="123456789012", region="us-east-1")
    store.clusters["work"] = Cluster(name="work", arn=arns.cluster(store, "work"))
    return store


@pytest.fixture
def cluster(store):
    return store.clusters["work"]


def instance(store, cluster, cpu=4096, memory=4096, zone="us-east-1a", attributes=(), **extra):
    return container_instances.register(
        store, cluster, ec2_instance_id=f"i-{len(store.container_instances):017x}",
        resources=[{"name": "CPU", "type": "INTEGER", "integerValue": cpu},
                   {"name": "MEMORY", "type": "INTEGER", "integerValue": memory}],
        attributes=[{"name": "ecs.availability-zone", "value": zone}, *attributes], **extra,
    )


def definition(store, family="app", containers=None, network_mode="bridge", requires=(), **spec):
    containers = containers or [{"name": "main", "image": "busybox", "memory": 256, "cpu": 128}]
    revision = len(store.task_definitions.get(family, {})) + 1
    item = TaskDefinition(
        family=family, revision=revision, arn=arns.task_definition(store, family, revision),
        spec={"family": family, "networkMode": network_mode, "containerDefinitions": containers,
              **spec},
        compatibilities=["EC2"], requires_attributes=list(requires), registered_by="test",
    )
    store.task_definitions.setdefault(family, {})[revision] = item
    return item


def tasks_of(store, cluster, item, count=1, **params):
    request = LaunchRequest.run_task(
        ecs_request("RunTask", {"taskDefinition": item.arn, "count": count, **params}))
    return build_tasks(store, request, cluster)


def run(store, cluster, item, count=1, constraints=(), strategy=(), **params):
    """Place and admit, as RunTask does; (placed tasks, failures)."""
    placed, failures = placement.place(store, cluster, tasks_of(store, cluster, item, count, **params),
                                       list(constraints), list(strategy))
    for task in placed:
        store.tasks[task.arn] = task
    return placed, failures


def on(tasks):
    return [t.container_instance_arn for t in tasks]


def remaining(store, item):
    used = container_instances.usage(store, item)
    return {r["name"]: r for r in container_instances.remaining_resources(item, used)}


# -- resources and ports --------------------------------------------------------------------------


def test_reservations_show_as_usage_until_the_task_stops(store, cluster):
    host = instance(store, cluster, cpu=1024, memory=1000)
    placed, failures = run(store, cluster, definition(store), count=2)
    assert failures == [] and on(placed) == [host.arn, host.arn]
    left = remaining(store, host)
    assert left["CPU"]["integerValue"] == 1024 - 2 * 128
    assert left["MEMORY"]["integerValue"] == 1000 - 2 * 256
    used = container_instances.usage(store, host)
    assert (used.pending, used.running) == (2, 0)
    placed[0].advance(TaskStatus.RUNNING)
    placed[1].advance(TaskStatus.STOPPED)
    used = container_instances.usage(store, host)
    assert (used.pending, used.running, used.memory) == (0, 1, 256)


def test_task_level_size_and_memory_reservation_are_what_is_reserved(store, cluster):
    host = instance(store, cluster)
    run(store, cluster, definition(store, cpu="512", memory="1024"))
    run(store, cluster, definition(store, "soft", containers=[
        {"name": "a", "image": "busybox", "memory": 900, "memoryReservation": 100},
        {"name": "b", "image": "busybox", "memory": 50, "cpu": 10},
    ]))
    used = container_instances.usage(store, host)
    assert (used.cpu, used.memory) == (512 + 10, 1024 + 100 + 50)


def test_overrides_of_task_size_count(store, cluster):
    host = instance(store, cluster)
    run(store, cluster, definition(store, cpu="512", memory="1024"),
        overrides={"cpu": "1 vCPU", "memory": "2 GB"})
    used = container_instances.usage(store, host)
    assert (used.cpu, used.memory) == (1024, 2048)


def test_overrides_of_task_size_are_kept_in_units_as_ecs_stores_them(store, cluster):
    instance(store, cluster)
    [task], _ = run(store, cluster, definition(store, cpu="512", memory="1024"),
                    overrides={"cpu": "0.5 vCPU", "memory": "3GB"})
    # What the runtime's limits and DescribeTasks read: units and MiB, as a definition's are.
    assert (task.cpu, task.memory) == ("512", "3072")
    with pytest.raises(ClientException, match="Invalid 'cpu' setting"):
        run(store, cluster, definition(store), overrides={"cpu": "lots"})


def test_too_big_for_every_instance_reports_each_with_its_reason(store, cluster):
    small_cpu = instance(store, cluster, cpu=100, memory=8192)
    small_memory = instance(store, cluster, cpu=8192, memory=100)
    placed, failures = run(store, cluster, definition(store), count=3)
    assert placed == []
    assert failures == [placement.PlacementFailure(small_cpu.arn, "RESOURCE:CPU"),
                        placement.PlacementFailure(small_memory.arn, "RESOURCE:MEMORY")]


def test_count_beyond_room_places_what_fits(store, cluster):
    host = instance(store, cluster, memory=600)
    placed, failures = run(store, cluster, definition(store), count=3)
    assert on(placed) == [host.arn, host.arn]
    assert failures == [placement.PlacementFailure(host.arn, "RESOURCE:MEMORY")]


def test_static_host_ports_conflict_dynamic_ones_do_not(store, cluster):
    host = instance(store, cluster)
    static = definition(store, "static", containers=[
        {"name": "web", "image": "busybox", "memory": 64,
         "portMappings": [{"containerPort": 80, "hostPort": 8080, "protocol": "tcp"}]}])
    dynamic = definition(store, "dynamic", containers=[
        {"name": "web", "image": "busybox", "memory": 64,
         "portMappings": [{"containerPort": 80, "hostPort": 0, "protocol": "tcp"}]}])
    placed, failures = run(store, cluster, static, count=2)
    assert len(placed) == 1
    assert failures == [placement.PlacementFailure(host.arn, "RESOURCE:PORTS")]
    assert "8080" in remaining(store, host)["PORTS"]["stringSetValue"]
    placed, failures = run(store, cluster, dynamic, count=2)
    assert len(placed) == 2 and failures == []


def test_reserved_ports_host_mode_and_udp(store, cluster):
    host = instance(store, cluster)
    ssh = definition(store, "ssh", network_mode="host", containers=[
        {"name": "s", "image": "busybox", "memory": 64,
         "portMappings": [{"containerPort": 22, "hostPort": 22, "protocol": "tcp"}]}])
    assert run(store, cluster, ssh)[1] == [placement.PlacementFailure(host.arn, "RESOURCE:PORTS")]
    dns = definition(store, "dns", containers=[
        {"name": "d", "image": "busybox", "memory": 64,
         "portMappings": [{"containerPort": 53, "hostPort": 5353, "protocol": "udp"}]}])
    assert len(run(store, cluster, dns)[0]) == 1
    assert run(store, cluster, dns)[1] == [
        placement.PlacementFailure(host.arn, "RESOURCE:PORTS_UDP")]
    assert remaining(store, host)["PORTS_UDP"]["stringSetValue"] == ["5353"]


def test_awsvpc_tasks_take_no_host_ports(store, cluster):
    instance(store, cluster, attributes=[{"name": "ecs.capability.task-eni"}])
    item = definition(store, network_mode="awsvpc", requires=[{"name": "ecs.capability.task-eni"}],
                      containers=[{"name": "web", "image": "busybox", "memory": 64,
                                   "portMappings": [{"containerPort": 80, "hostPort": 80}]}])
    network = {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}
    placed, failures = run(store, cluster, item, count=2, networkConfiguration=network)
    assert len(placed) == 2 and failures == []


# -- which instances may take tasks ---------------------------------------------------------------


def test_draining_disconnected_and_missing_attributes(store, cluster):
    draining = instance(store, cluster)
    container_instances.update_states(store, cluster, [draining.arn], "DRAINING")
    disconnected = instance(store, cluster)
    disconnected.agent_connected = False
    plain = instance(store, cluster)
    item = definition(store, requires=[{"name": "ecs.capability.container-health-check"}])
    placed, failures = run(store, cluster, item)
    assert placed == []
    assert failures == [placement.PlacementFailure(disconnected.arn, "AGENT"),
                        placement.PlacementFailure(plain.arn, "ATTRIBUTE")]
    capable = instance(store, cluster, attributes=[{"name": "ecs.capability.container-health-check"}])
    assert on(run(store, cluster, item)[0]) == [capable.arn]


def test_no_instances(store, cluster):
    placed, failures = run(store, cluster, definition(store))
    assert placed == []
    assert failures == [placement.PlacementFailure(cluster.arn, placement.NO_INSTANCES)]


# -- constraints ----------------------------------------------------------------------------------


def test_member_of_with_the_cluster_query_language(store, cluster):
    prod = instance(store, cluster, attributes=[{"name": "stack", "value": "prod"}])
    test = instance(store, cluster, attributes=[{"name": "stack", "value": "test"}])
    placed, _ = run(store, cluster, definition(store), count=3,
                    constraints=[{"type": "memberOf", "expression": "attribute:stack == prod"}])
    assert on(placed) == [prod.arn] * 3
    placed, failures = run(store, cluster, definition(store), constraints=[
        {"type": "memberOf", "expression": "attribute:stack == staging"}])
    assert placed == []
    assert failures == [placement.PlacementFailure(prod.arn, placement.MEMBER_OF_UNSATISFIED),
                        placement.PlacementFailure(test.arn, placement.MEMBER_OF_UNSATISFIED)]


def test_member_of_task_group_sees_tasks_placed_in_the_same_call(store, cluster):
    instance(store, cluster)
    instance(store, cluster)
    db_host = on(run(store, cluster, definition(store, "db"), group="databases")[0])[0]
    placed, _ = run(store, cluster, definition(store, "api"), count=2, group="api", constraints=[
        {"type": "memberOf", "expression": "task:group == databases"}])
    assert on(placed) == [db_host, db_host]
    placed, failures = run(store, cluster, definition(store, "web"), count=2, group="web",
                           constraints=[{"type": "memberOf", "expression": "task:group == web"}])
    assert placed == []  # no instance runs a web task yet, and none is placed first
    assert {f.reason for f in failures} == {placement.MEMBER_OF_UNSATISFIED}


def test_task_definition_member_of_applies_too(store, cluster):
    instance(store, cluster)
    arm = instance(store, cluster, attributes=[{"name": "ecs.cpu-architecture", "value": "arm64"}])
    item = definition(store, placementConstraints=[
        {"type": "memberOf", "expression": "attribute:ecs.cpu-architecture == arm64"}])
    placed, _ = run(store, cluster, item, count=2)
    assert on(placed) == [arm.arn, arm.arn]


def test_distinct_instance_within_the_task_group(store, cluster):
    a, b = instance(store, cluster), instance(store, cluster)
    placed, failures = run(store, cluster, definition(store), count=3,
                           constraints=[{"type": "distinctInstance"}])
    assert sorted(on(placed)) == sorted([a.arn, b.arn])
    assert set(f.reason for f in failures) == {placement.DISTINCT_INSTANCE_UNSATISFIED}
    placed, failures = run(store, cluster, definition(store, "other"), count=2,
                           constraints=[{"type": "distinctInstance"}])
    assert len(placed) == 2 and failures == []  # another group may share the instances


# -- strategies -----------------------------------------------------------------------------------


def test_spread_by_instance(store, cluster):
    hosts = [instance(store, cluster) for _ in range(3)]
    placed, _ = run(store, cluster, definition(store), count=6,
                    strategy=[{"type": "spread", "field": "instanceId"}])
    assert sorted(on(placed)) == sorted([h.arn for h in hosts] * 2)


def test_spread_by_zone_counts_the_group_in_each_zone(store, cluster):
    a1, a2 = instance(store, cluster, zone="us-east-1a"), instance(store, cluster, zone="us-east-1a")
    b = instance(store, cluster, zone="us-east-1b")
    placed, _ = run(store, cluster, definition(store), count=4,
                    strategy=[{"type": "spread", "field": "attribute:ecs.availability-zone"},
                              {"type": "spread", "field": "instanceId"}])
    zones = [t.availability_zone for t in placed]
    assert zones.count("us-east-1a") == 2 and zones.count("us-east-1b") == 2
    assert on(placed).count(b.arn) == 2
    assert on(placed).count(a1.arn) == on(placed).count(a2.arn) == 1


def test_binpack_fills_the_fullest_instance_first(store, cluster):
    small = instance(store, cluster, memory=1000)
    big = instance(store, cluster, memory=3000)
    placed, failures = run(store, cluster, definition(store), count=5,
                           strategy=[{"type": "binpack", "field": "memory"}])
    assert on(placed) == [small.arn] * 3 + [big.arn] * 2 and failures == []


def test_binpack_cpu_after_spread_by_zone(store, cluster):
    instance(store, cluster, cpu=4096, zone="us-east-1a")
    tight = instance(store, cluster, cpu=1024, zone="us-east-1a")
    other = instance(store, cluster, cpu=2048, zone="us-east-1b")
    placed, _ = run(store, cluster, definition(store), count=2,
                    strategy=[{"type": "spread", "field": "attribute:ecs.availability-zone"},
                              {"type": "binpack", "field": "cpu"}])
    assert sorted(on(placed)) == sorted([tight.arn, other.arn])


def test_random_places_on_any_that_fits(store, cluster):
    full = instance(store, cluster, memory=100)
    free = [instance(store, cluster), instance(store, cluster)]
    placed, failures = run(store, cluster, definition(store), count=8,
                           strategy=[{"type": "random"}])
    assert set(on(placed)) <= {h.arn for h in free} and full.arn not in on(placed)
    assert failures == []


@pytest.mark.parametrize("constraints, strategy", [
    ([{"type": "memberOf"}], []),
    ([{"type": "memberOf", "expression": "attribute:x =="}], []),
    ([{"type": "distinctInstance", "expression": "attribute:x exists"}], []),
    ([{"type": "sometimes"}], []),
    ([{"type": "distinctInstance"}] * 11, []),
    ([], [{"type": "binpack", "field": "disk"}]),
    ([], [{"type": "spread"}]),
    ([], [{"type": "spread", "field": "attribute:"}]),
    ([], [{"type": "clever"}]),
    ([], [{"type": "random"}] * 6),
])
def test_invalid_constraints_and_strategies(constraints, strategy):
    with pytest.raises(InvalidParameterException):
        placement.validate(constraints, strategy)


# -- the local host as an instance ----------------------------------------------------------------


class Resources:
    def __init__(self, cpu=2048, memory=3000):
        self.calls = 0
        self.value = (cpu, memory)

    def __call__(self):
        self.calls += 1
        return self.value


def test_local_host_registers_once_per_cluster_and_asks_the_runtime_once(store, cluster):
    resources = Resources()
    store.local_host = LocalHost(resources)
    store.clusters["other"] = Cluster(name="other", arn=arns.cluster(store, "other"))
    placed, _ = run(store, cluster, definition(store), count=2)
    run(store, store.clusters["other"], definition(store))
    local = store.container_instances[placed[0].container_instance_arn]
    assert len(store.container_instances) == 2 and resources.calls == 1
    assert {i.ec2_instance_id for i in store.container_instances.values()} == {ec2_instance_id()}
    registered = {r["name"]: r for r in local.registered_resources}
    assert registered["CPU"]["integerValue"] == 2048
    assert registered["MEMORY"]["integerValue"] == 3000
    attributes = {a["name"]: a.get("value") for a in local.attributes}
    assert attributes["ecs.os-type"] == "linux"
    assert attributes["ecs.availability-zone"] == "us-east-1a"
    assert attributes["ecs.instance-type"] == "m5.large"
    assert "ecs.capability.task-eni" in attributes
    assert "com.amazonaws.ecs.capability.docker-remote-api.1.21" in attributes
    assert placed[0].availability_zone == "us-east-1a"


def test_local_host_stays_away_when_off_or_when_the_cluster_has_instances(store, cluster):
    store.local_host = LocalHost(Resources(), enabled=False)
    assert placement.ensure_instances(store, cluster) == []
    store.local_host.enabled = True
    mine = instance(store, cluster)
    container_instances.update_states(store, cluster, [mine.arn], "DRAINING")
    assert placement.ensure_instances(store, cluster) == []  # a DRAINING instance is still one
    container_instances.deregister(store, cluster, mine.arn, force=True)
    assert len(placement.ensure_instances(store, cluster)) == 1


def test_local_host_without_a_runtime_uses_ecs_defaults_and_asks_again(store, cluster):
    calls = []

    def failing():
        calls.append(1)
        raise ConnectionError("no engine")

    host = LocalHost(failing)
    assert host.resources() == (container_instances.DEFAULT_CPU_UNITS,
                                container_instances.DEFAULT_MEMORY_MIB)
    host.resources()
    assert len(calls) == 2


def test_place_on_checks_the_chosen_instance(store, cluster):
    host = instance(store, cluster, memory=300)
    item = definition(store)
    chosen = [(task, host) for task in tasks_of(store, cluster, item, 2)]
    placed, failures = placement.place_on(store, cluster, chosen)
    assert on(placed) == [host.arn]
    assert failures == [placement.PlacementFailure(host.arn, "RESOURCE:MEMORY")]

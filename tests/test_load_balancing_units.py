"""Unit tests of the load balancing hook's `initial` targets (engine/load_balancing.py) against
the port-aware target group methods (target_group_ports.py) on a fake ELBv2 backend, so the
order of registration, scheduler passes and the /health fault can be driven step by step."""

from __future__ import annotations

import threading
from types import SimpleNamespace

from emulator.engine import target_group_ports
from emulator.engine.load_balancing import LoadBalancerTargets
from emulator.engine.target_group_ports import HEALTHY, INITIAL, UNHEALTHY, target_key
from emulator.runtime.status import HealthStatus, TaskStatus

GROUP = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/web/0123456789abcdef"
_REGISTER = target_group_ports._port_aware_methods(SimpleNamespace(), None)["register"]


class _Task:
    """What the hook reads of a task: a service's awsvpc task whose container has a check."""

    def __init__(self, arn="arn:task/1", ip="10.0.0.5"):
        self.arn, self.private_ip, self.network_mode = arn, ip, "awsvpc"
        self.group, self.cluster_name = "service:web", "c"
        self.container_instance_arn = None
        self.containers = [SimpleNamespace(name="main", essential=True, has_health_check=True)]
        self.health, self.known = HealthStatus.UNKNOWN, TaskStatus.RUNNING

    @property
    def serving(self):
        return self.known == TaskStatus.RUNNING and self.health == HealthStatus.HEALTHY

    def container(self, name):
        return next((c for c in self.containers if c.name == name), None)


class _Backend:
    """moto's ELBv2 backend as far as the hook calls it; `during_register` runs in the call."""

    def __init__(self):
        self.group = SimpleNamespace(target_type="ip", protocol="HTTP", port=80, targets={},
                                     deregistered_targets={},
                                     ec2_backend=SimpleNamespace(get_instance_by_id=lambda _: None))
        self.target_groups = {GROUP: self.group}
        self.during_register = None

    def register_targets(self, arn, targets):
        _REGISTER(self.target_groups[arn], targets)
        if self.during_register:
            self.during_register()


class _Store:
    def __init__(self, *tasks):
        self.service = SimpleNamespace(
            cluster_name="c", events=[],
            load_balancers=[{"targetGroupArn": GROUP, "containerName": "main",
                             "containerPort": 8080}])
        self.service.add_event = self.service.events.append
        self.services = {("c", "web"): self.service}
        self.tasks = {t.arn: t for t in tasks}
        self.container_instances = {}

    def tasks_of(self, cluster_name):  # the pass must not walk every task of the store
        raise AssertionError("the pass scanned the store's tasks")


def _hook():
    backend = _Backend()
    moto = SimpleNamespace(loaded=True, backend=lambda *_: backend)
    return LoadBalancerTargets(SimpleNamespace(lock=threading.RLock()), moto), backend


def _state(backend, task):
    return backend.group.targets[target_key(task.private_ip, 8080)].get("State", HEALTHY)


def test_a_target_is_initial_from_the_moment_it_is_registered():
    """A task whose health check has not passed is `initial` as soon as its target exists
    (it never reads healthy first), and turns healthy at the first pass that sees it serve."""
    hook, backend = _hook()
    task = _Task()
    store = _Store(task)
    seen = []
    backend.during_register = lambda: seen.append(_state(backend, task))
    hook.on_running(store, task)
    assert seen == [INITIAL]
    assert _state(backend, task) == INITIAL
    hook.on_service_pass(store, store.service)
    assert _state(backend, task) == INITIAL  # not serving yet
    task.health = HealthStatus.HEALTHY
    hook.on_service_pass(store, store.service)
    assert _state(backend, task) == HEALTHY
    assert not hook._initial


def test_a_task_that_serves_while_its_targets_register_ends_healthy():
    """The scheduler's pass runs while ELBv2 registers the target and sees the task serve: the
    target ends healthy, not stuck `initial`."""
    hook, backend = _hook()
    task = _Task()
    store = _Store(task)

    def serve_and_pass():
        task.health = HealthStatus.HEALTHY
        hook.on_service_pass(store, store.service)

    backend.during_register = serve_and_pass
    hook.on_running(store, task)
    assert _state(backend, task) == HEALTHY
    assert not hook._initial


def test_the_pass_looks_only_at_initial_tasks():
    """A pass asks the store for the tasks still `initial` by ARN, never walks every task of
    the store (_Store.tasks_of fails the test); an ARN this store does not hold (another
    account's or region's) is passed over."""
    hook, backend = _hook()
    task = _Task()
    store = _Store(task)
    hook.on_running(store, task)
    hook._initial.add("arn:task/gone")
    task.health = HealthStatus.HEALTHY
    hook.on_service_pass(store, store.service)
    assert _state(backend, task) == HEALTHY


def test_the_health_fault_on_an_initial_target_stays():
    """The /health fault makes an `initial` target unhealthy; a later pass that sees the task
    serve does not turn it healthy again."""
    hook, backend = _hook()
    task = _Task()
    store = _Store(task)
    hook.on_running(store, task)
    assert hook.set_health(task, UNHEALTHY) == 1
    task.health = HealthStatus.HEALTHY
    hook.on_service_pass(store, store.service)
    assert _state(backend, task) == UNHEALTHY


def test_a_target_without_a_health_check_is_healthy_at_once():
    hook, backend = _hook()
    task = _Task()
    task.containers[0].has_health_check = False
    store = _Store(task)
    hook.on_running(store, task)
    assert "State" not in backend.group.targets[target_key(task.private_ip, 8080)]
    assert not hook._initial


def _restarted(hook, backend, fields=("_registered",)):
    """The hook as a restarted emulator gets it back: what `fields` of its part held, over the
    same moto (whose part was written after this hook's)."""
    from emulator.persistence import snapshot
    from emulator.persistence.parts import HooksPart

    data = snapshot.dumps({"LoadBalancerTargets": {f: getattr(hook, f) for f in fields}})
    restarted = LoadBalancerTargets(hook._state, SimpleNamespace(loaded=True,
                                                                 backend=lambda *_: backend))
    HooksPart(hook._state, [restarted]).restore(data)
    return restarted


def test_an_adopted_initial_target_the_hook_forgot_turns_healthy():
    """The state was written after the task's registration but before it was marked `initial`
    (or by an emulator without `_initial`): the part restores, and on adoption the target moto
    kept `initial` is flipped once the task serves, now or at a later pass."""
    hook, backend = _hook()
    serving, waiting = _Task(), _Task("arn:task/2", "10.0.0.6")
    store = _Store(serving, waiting)
    hook.on_running(store, serving)
    hook.on_running(store, waiting)
    restarted = _restarted(hook, backend)
    assert set(restarted._registered) == {serving.arn, waiting.arn}
    assert not restarted._initial
    serving.health = HealthStatus.HEALTHY
    restarted.on_adopted(store, serving)
    restarted.on_adopted(store, waiting)
    assert (_state(backend, serving), _state(backend, waiting)) == (HEALTHY, INITIAL)
    waiting.health = HealthStatus.HEALTHY
    restarted.on_service_pass(store, store.service)
    assert _state(backend, waiting) == HEALTHY


def test_a_snapshot_field_the_hook_does_not_keep_is_passed_over():
    """A newer emulator's part may name a field this one's hook does not keep: the rest
    restores."""
    hook, backend = _hook()
    task = _Task()
    hook.on_running(_Store(task), task)
    hook._future = {"x": 1}
    restarted = _restarted(hook, backend, ("_registered", "_initial", "_future"))
    assert restarted._initial == {task.arn} and task.arn in restarted._registered
    assert not hasattr(restarted, "_future")

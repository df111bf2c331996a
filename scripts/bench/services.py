"""Service benchmark: our service scheduler against raw Docker doing the same containers' work.

    .venv/bin/python scripts/bench/services.py [--rounds 7] [--output results/services.md]
        [--task-network default-bridge|emulator]

Rows, each timed in every round for both sides (which side goes first alternates):
- scale 0 -> 20: UpdateService desiredCount 0 -> 20 until DescribeServices shows runningCount 20
  with one deployment, vs raw Docker's 20 create+start on 20 threads (the engine starts every
  task in a thread of its own);
- replacement: from `docker kill` of the container of a service's task (desiredCount 1) until
  the service is back at runningCount 1 with a new task, vs one raw create+start of the same
  container in the same round;
- the same replacement vs what raw Docker could do at best: kill, wait for the die event, then
  create + start a new container while removing the old one (not a target of the issue: it says
  how much of the replacement is Docker's own exit handling, which ECS must wait for too).
- a user's whole test: the pytest plugin's cycle (reset, create a cluster, register, a 2-task
  Fargate service, the services_stable waiter with a 1 s delay, scale to 0, reset) on a server of
  its own, vs the same steps with raw Docker (two pause-plus-app pairs started on 2 threads, then
  stopped and removed). Ours ends its cycle with a reset, which kills the tasks' containers (no
  stop timeout: engine/task_engine.py); the raw pairs are stopped with the same, no timeout
  (WHOLE_STOP_TIMEOUT_S). With Docker's 30 s default the raw side was stopped a moment after
  its start, before the app's shell had set its TERM trap: PID 1 without a handler ignores
  SIGTERM, so in some rounds Docker waited out the whole timeout and the peer timed that
  timeout, not Docker's work.
After each run of ours the bench waits, untimed, until our sandbox pool has made its spare again
(tasks.py says why). Ours is polled every 10 ms (20 ms while 20 tasks start): DescribeTasks for the killed task until
ECS saw it go, then DescribeServices. Bridge network mode, the busybox test image, a command
that ends on SIGTERM. MiniStack (the bench virtualenv's) is a second peer of the scale and
whole-test rows; the replacement rows kill a task's container found by our task-ARN label,
which MiniStack's containers do not carry, so they say so.
"""

from __future__ import annotations

import http.client
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import figures  # noqa: E402  (siblings, found through the path set above)
import servers  # noqa: E402
from docker_peer import COMMAND, IMAGE, MEMORY_MIB, RawDocker, pause_image, timed  # noqa: E402
from figures import Row  # noqa: E402
from ours_ecs import AWSVPC, CLUSTER, POLL_MANY_S, POLL_S, Ours, Polls, say  # noqa: E402

MANY = 20
ROWS = ("scale", "replace", "raw-replace", "whole")
RESET_PATHS = {"ours": "/_emulator/reset", "ministack": "/_ministack/reset"}
# The raw whole test's stop timeout: none, as ours' reset kills its tasks' containers (the
# module's docstring says why a timeout would be timed instead of Docker's work).
WHOLE_STOP_TIMEOUT_S = 0
TASK_ARN_LABEL = "ecs-emulator.task-arn"


class Services:
    """Our side: services on the bench cluster, and what DescribeServices says of them."""

    def __init__(self, ours: Ours):
        self.ours = ours
        self.ecs = ours.ecs
        self.created: list[str] = []

    def create(self, name: str, count: int) -> str:
        self.ecs.create_service(cluster=CLUSTER, serviceName=name, desiredCount=count,
                                taskDefinition=self.ours.definitions["bridge"])
        self.created.append(name)
        self.wait_steady(name, count)
        return name

    def describe(self, name: str, polls: Polls | None) -> dict:
        began = time.perf_counter()
        service = self.ours.poller.call("DescribeServices",
                                        {"cluster": CLUSTER, "services": [name]})["services"][0]
        if polls is not None:
            polls.latencies.append(time.perf_counter() - began)
        return service

    def wait_steady(self, name: str, count: int, polls: Polls | None = None,
                    timeout: float = 120.0) -> None:
        """Poll until runningCount == count, nothing pending and one deployment; note in `polls`
        how long after the last task's startedAt the poll saw it."""
        deadline = time.monotonic() + timeout
        interval = polls.interval_s if polls else POLL_S
        while True:
            service = self.describe(name, polls)
            seen = time.time()
            if (service["runningCount"] == count and service["pendingCount"] == 0
                    and len(service["deployments"]) == 1):
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"bench: service {name} not steady at {count} within "
                                 f"{timeout:.0f}s: running {service['runningCount']}")
            time.sleep(interval)
        if polls is not None and count:
            tasks = self.ours.describe(self.running_tasks(name))
            polls.lags.append(seen - max(t["startedAt"] for t in tasks))

    def running_tasks(self, name: str) -> list[str]:
        return self.ecs.list_tasks(cluster=CLUSTER, serviceName=name,
                                   desiredStatus="RUNNING")["taskArns"]

    def wait_gone(self, arn: str, polls: Polls) -> None:
        """Poll until ECS no longer wants `arn` running (it saw the container die)."""
        deadline = time.monotonic() + 60
        while self.ours.describe([arn], polls)[0]["desiredStatus"] != "STOPPED":
            if time.monotonic() > deadline:
                raise SystemExit(f"bench: killed task {arn} still wanted after 60s")
            time.sleep(polls.interval_s)

    def scale(self, name: str, count: int) -> None:
        self.ecs.update_service(cluster=CLUSTER, service=name, desiredCount=count)

    def settle(self, name: str) -> None:
        """Scale to 0 and wait until every task it ran is STOPPED (containers gone)."""
        arns = self.running_tasks(name)
        self.scale(name, 0)
        self.wait_steady(name, 0)
        if arns:
            self.ours.wait_status(arns, "STOPPED")

    def delete_all(self) -> None:
        for name in self.created:
            try:
                self.ecs.delete_service(cluster=CLUSTER, service=name, force=True)
            except Exception:
                pass


def raw_many(raw: RawDocker) -> float:
    seconds, containers = timed(raw.run_many, MANY, MANY)
    with ThreadPoolExecutor(max_workers=MANY) as pool:
        list(pool.map(raw.remove, containers))
    return seconds


def ours_scale(services: Services, name: str, polls: Polls | None) -> float:
    began, cpu = time.perf_counter(), services.ours.server_cpu_s()
    services.scale(name, MANY)
    services.wait_steady(name, MANY, polls)
    seconds = time.perf_counter() - began
    if polls is not None:
        polls.server_cpu_s.append(services.ours.server_cpu_s() - cpu)
    services.settle(name)
    services.ours.settle_spares()
    return seconds


def raw_start(raw: RawDocker) -> float:
    seconds, container = timed(raw.run_bridge)
    raw.remove(container)
    return seconds


def raw_replace(raw: RawDocker) -> float:
    container = raw.run_bridge()
    time.sleep(0.2)
    return raw.replace_killed(container)


def ours_replace(services: Services, name: str, raw: RawDocker, polls: Polls | None) -> float:
    """docker kill of the service's one task's container until runningCount is 1 again."""
    polls = polls or Polls()
    [arn] = services.running_tasks(name)
    [container] = raw.api.containers(filters={"label": f"{TASK_ARN_LABEL}={arn}"})
    time.sleep(0.2)  # let it settle as a user's service would have
    began, cpu = time.perf_counter(), services.ours.server_cpu_s()
    # the kill call returns once Docker has handled the exit; the emulator may react before
    threading.Thread(target=raw.api.kill, args=(container["Id"],), daemon=True).start()
    services.wait_gone(arn, polls)
    services.wait_steady(name, 1, polls)
    seconds = time.perf_counter() - began
    polls.server_cpu_s.append(services.ours.server_cpu_s() - cpu)
    services.ours.settle_spares()  # untimed: the spare the new task took is made again
    return seconds


def _reset(server: Ours, name: str) -> None:
    """POST the server's reset on a connection of its own (a kept-alive one may have idled out
    between rounds, as the pytest plugin's would not)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.server.port, timeout=60)
    try:
        connection.request("POST", RESET_PATHS[name], b"")
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"bench: {name} reset answered {response.status}")
    finally:
        connection.close()


def whole_test(server: Ours, name: str) -> float:
    """The pytest plugin's cycle on `server` (ours or MiniStack), seconds."""
    ecs = server.ecs
    began = time.perf_counter()
    _reset(server, name)
    ecs.create_cluster(clusterName="whole")
    definition = ecs.register_task_definition(
        family="whole", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
        memory="512", containerDefinitions=[{"name": "main", "image": IMAGE, "memory": MEMORY_MIB,
                                             "command": COMMAND, "essential": True}],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster="whole", serviceName="web", taskDefinition=definition,
                       desiredCount=2, launchType="FARGATE", networkConfiguration=AWSVPC)
    ecs.get_waiter("services_stable").wait(cluster="whole", services=["web"],
                                           WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    ecs.update_service(cluster="whole", service="web", desiredCount=0)
    _reset(server, name)
    return time.perf_counter() - began


def raw_whole(raw: RawDocker, pause: str) -> float:
    """Two pause-plus-app pairs started at once, then stopped (no timeout, as ours' reset kills
    them) and removed: the containers' work."""
    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        pairs = list(pool.map(lambda _: raw.run_pair(pause), range(2)))
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda pair: (raw.stop_and_remove(pair[1], WHOLE_STOP_TIMEOUT_S),
                                    raw.stop_and_remove(pair[0], WHOLE_STOP_TIMEOUT_S)), pairs))
    return time.perf_counter() - began


def measure(rounds: int, keys: list[str]) -> tuple[list[Row], Ours]:
    raw, ours = RawDocker(), Ours(servers.log_dir())
    services = Services(ours)
    peer = Ours(servers.log_dir(), "ministack") if servers.peer_python().exists() else None
    peer_services = Services(peer) if peer else None
    # The whole-test row resets its server: one of its own, so the other rows keep their cluster.
    whole = Ours(servers.log_dir()) if "whole" in keys else None
    peer_whole = Ours(servers.log_dir(), "ministack") if peer and "whole" in keys else None
    pause = pause_image() if "whole" in keys else None
    no_label = "not measured (kills by our task-ARN label)"
    rows = {"scale": Row(f"scale 0 -> {MANY} until steady", 1.2),
            "replace": Row("replace a killed task (vs one raw start)", 1.3, peer_note=no_label),
            "raw-replace": Row("replace a killed task (vs raw kill, die, start)", 1.15,
                               peer_note=no_label),
            "whole": Row("a user's whole test (reset ... 2-task Fargate service ... reset)", 1.3)}
    if peer is None:
        for row in rows.values():
            row.peer_note = row.peer_note or "not installed"
    try:
        scaled = services.create("bench-scale", 0) if "scale" in keys else None
        replaced = services.create("bench-replace", 1) \
            if {"replace", "raw-replace"} & set(keys) else None
        peer_scaled = None
        if peer_services and "scale" in keys:
            peer_scaled = figures.guarded(rows["scale"],
                                          lambda: peer_services.create("bench-scale", 0))()
        peers = {
            "scale": figures.guarded(rows["scale"],
                                     lambda: ours_scale(peer_services, peer_scaled, None)),
            "whole": figures.guarded(rows["whole"], lambda: whole_test(peer_whole, "ministack")),
        } if peer else {}
        sides = {
            "scale": (lambda _: raw_many(raw), lambda polls: ours_scale(services, scaled, polls)),
            "replace": (lambda _: raw_start(raw),
                        lambda polls: ours_replace(services, replaced, raw, polls)),
            "raw-replace": (lambda _: raw_replace(raw),
                            lambda polls: ours_replace(services, replaced, raw, polls)),
            "whole": (lambda _: raw_whole(raw, pause), lambda _: whole_test(whole, "ours")),
        }
        for key in keys:  # a warm-up of each, not counted
            for fn in sides[key]:
                fn(None)
            if key in peers:
                peers[key]()
        passes = 0
        for index in range(rounds):
            for key in keys:
                row = rows[key]
                polls = ours.record(row.name, POLL_MANY_S if key == "scale" else POLL_S)
                raw_fn, ours_fn = sides[key]
                for _ in range(1 if key in ("scale", "whole") else figures.LIGHT_REPEATS):
                    passes += 1
                    figures.measure_pair(row, lambda: raw_fn(polls), lambda: ours_fn(polls),
                                         polls, passes % 2 == 1, peer_fn=peers.get(key))
                shown = f", MiniStack {row.peer[-1] * 1000:.0f} ms" if row.peer else ""
                say(f"round {index + 1}/{rounds} {row.name}: raw {row.raw[-1] * 1000:.0f} ms, "
                    f"ours {row.ours[-1] * 1000:.0f} ms{shown}")
    finally:
        services.delete_all()
        if peer_services is not None:
            peer_services.delete_all()
        raw.close()
        ours.close()
        for other in (peer, whole, peer_whole):
            if other is not None:
                other.close()
    return [rows[key] for key in keys], ours


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    network = servers.task_network(argv)  # ours' setting, for its process
    argv += ["--note", f"Ours ran with ECS_EMULATOR_TASK_NETWORK={network}."]
    return figures.run(argv, doc=__doc__, rows=ROWS, measure=measure, title="Service benchmark: ours vs raw Docker",
                       script=__file__, output="services.md", say=say)


if __name__ == "__main__":
    sys.exit(main())

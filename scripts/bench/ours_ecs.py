"""Our emulator as the task and service benchmarks drive it: a server process on a free port
(servers.py), one boto3 ECS client (api.py's), and tight polling of what it reports.

Polling is how a user learns a task is RUNNING; it adds up to one interval plus one call to what
the emulator itself took. Each wait records the server's own timestamp of the step (startedAt,
stoppedAt) beside the moment the poll saw it, so the report can say what polling added.
"""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import dataclass, field

import api
import servers
from docker_peer import COMMAND, IMAGE, MEMORY_MIB

CLUSTER = "bench"
POLL_S = 0.01
ORDER = ["PROVISIONING", "PENDING", "ACTIVATING", "RUNNING", "DEACTIVATING", "STOPPING",
         "DEPROVISIONING", "STOPPED"]
AWSVPC = {"awsvpcConfiguration": {"subnets": ["subnet-bench"]}}


@dataclass
class Polls:
    """Latencies of the polling calls of a run, to say what polling costs."""

    latencies: list[float] = field(default_factory=list)
    lags: list[float] = field(default_factory=list)  # poll saw it - server stamped it (s)

    def call_ms(self) -> float | None:
        return statistics.median(self.latencies) * 1000 if self.latencies else None

    def lag_ms(self) -> float | None:
        return statistics.median(self.lags) * 1000 if self.lags else None


class Ours:
    def __init__(self, logs):
        self.server = servers.Server(servers.SPECS["ours"], logs)
        self.server.start()
        if not api.wait_until_up(self.server):
            raise SystemExit(f"bench: our server did not start:\n{self.server.log_tail()}")
        self.ecs = api.ecs_client(self.server.endpoint, max_pool_connections=50)
        self.ecs.create_cluster(clusterName=CLUSTER)
        self.polls = Polls()
        self.definitions = {mode: self.register(f"bench-{mode}", mode)
                            for mode in ("bridge", "awsvpc")}

    def register(self, family: str, network_mode: str) -> str:
        fargate = {"requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512"} \
            if network_mode == "awsvpc" else {}
        return self.ecs.register_task_definition(
            family=family, networkMode=network_mode, **fargate,
            containerDefinitions=[{"name": "main", "image": IMAGE, "memory": MEMORY_MIB,
                                   "command": COMMAND, "essential": True}],
        )["taskDefinition"]["taskDefinitionArn"]

    def run_tasks(self, network_mode: str, count: int = 1) -> list[str]:
        params = {"launchType": "FARGATE", "networkConfiguration": AWSVPC} \
            if network_mode == "awsvpc" else {}
        response = self.ecs.run_task(cluster=CLUSTER, taskDefinition=self.definitions[network_mode],
                                     count=count, **params)
        if response["failures"]:
            raise SystemExit(f"bench: RunTask failed: {response['failures']}")
        return [task["taskArn"] for task in response["tasks"]]

    def describe(self, arns: list[str]) -> list[dict]:
        began = time.perf_counter()
        tasks = []
        for start in range(0, len(arns), 100):
            tasks += self.ecs.describe_tasks(cluster=CLUSTER, tasks=arns[start:start + 100])["tasks"]
        self.polls.latencies.append(time.perf_counter() - began)
        return tasks

    def wait_status(self, arns: list[str], status: str, stamp: str | None = None,
                    timeout: float = 120.0) -> list[dict]:
        """Poll DescribeTasks every POLL_S until every task reached `status`; note the lag from
        the latest `stamp` (a task timestamp) to the poll that saw it."""
        deadline = time.monotonic() + timeout
        while True:
            tasks = self.describe(arns)
            seen = time.time()
            if all(ORDER.index(t["lastStatus"]) >= ORDER.index(status) for t in tasks):
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"bench: tasks not {status} within {timeout:.0f}s: "
                                 f"{[t['lastStatus'] for t in tasks]}")
            time.sleep(POLL_S)
        stamps = [t[stamp].timestamp() for t in tasks if stamp and t.get(stamp)]
        if stamps and status == tasks[0]["lastStatus"]:
            self.polls.lags.append(seen - max(stamps))
        return tasks

    def stop_tasks(self, arns: list[str]) -> None:
        for arn in arns:
            self.ecs.stop_task(cluster=CLUSTER, task=arn, reason="bench")

    def stop_and_wait(self, arns: list[str]) -> None:
        self.stop_tasks(arns)
        self.wait_status(arns, "STOPPED")

    def close(self) -> None:
        self.server.stop()


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)

"""Our emulator as the task and service benchmarks drive it: a server process on a free port
(servers.py), one boto3 ECS client (api.py's), and tight polling of what it reports.

Polling is how a user learns a task is RUNNING; it adds up to one interval plus one call to what
the emulator itself took, and its calls cost CPU on a machine Docker shares. So the polls go over
one keep-alive connection as plain JSON (Poller), not through botocore, whose client side costs
about 2 ms of CPU a call: at 100 calls a second that slowed Docker's own start by tens of ms on
two shared cores. Actions (RunTask, StopTask, UpdateService) use boto3. A timed wait names its
row: the row's Polls keep each call's latency and the lag from the server's own timestamp of the
step (startedAt, stoppedAt) to the poll that saw it, so the report can say what polling added.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, field

import api
import servers
from docker_peer import COMMAND, IMAGE, MEMORY_MIB

CLUSTER = "bench"
POLL_S = 0.01  # one task: every 10 ms
POLL_MANY_S = 0.02  # 20 tasks: each call is heavier (20 tasks to serialize and parse)
ORDER = ["PROVISIONING", "PENDING", "ACTIVATING", "RUNNING", "DEACTIVATING", "STOPPING",
         "DEPROVISIONING", "STOPPED"]
AWSVPC = {"awsvpcConfiguration": {"subnets": ["subnet-bench"]}}


@dataclass
class Polls:
    """Latencies of the polling calls of a run, to say what polling costs."""

    interval_s: float = POLL_S
    latencies: list[float] = field(default_factory=list)
    lags: list[float] = field(default_factory=list)  # poll saw it - server stamped it (s)
    server_cpu_s: list[float] = field(default_factory=list)  # the server's CPU per timed run

    def call_ms(self) -> float | None:
        return statistics.median(self.latencies) * 1000 if self.latencies else None

    def lag_ms(self) -> float | None:
        return statistics.median(self.lags) * 1000 if self.lags else None

    def cpu_ms(self) -> float | None:
        return statistics.median(self.server_cpu_s) * 1000 if self.server_cpu_s else None

    def line(self, name: str) -> str:
        parts = [f"{name}: polled every {self.interval_s * 1000:.0f} ms"]
        if self.latencies:
            parts.append(f"a call took {self.call_ms():.1f} ms")
        if self.lags:
            parts.append(f"the poll that saw it came {self.lag_ms():.1f} ms after the server's "
                         "own timestamp")
        if self.server_cpu_s:
            parts.append(f"our server used {self.cpu_ms():.0f} ms of CPU per run")
        return "; ".join(parts) + " (medians)."


class Poller:
    """Describe calls as an SDK sends them (AWS JSON 1.1, the region in a SigV4-shaped header;
    the emulator does not check signatures), on one keep-alive connection."""

    TARGET = "AmazonEC2ContainerServiceV20141113."
    AUTHORIZATION = ("AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/ecs/aws4_request, "
                     "SignedHeaders=host, Signature=0")

    def __init__(self, port: int):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(self, operation: str, body: dict) -> dict:
        headers = {"Content-Type": "application/x-amz-json-1.1",
                   "X-Amz-Target": self.TARGET + operation, "Authorization": self.AUTHORIZATION}
        try:
            self.connection.request("POST", "/", json.dumps(body), headers)
            response = self.connection.getresponse()
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            # The server closed the kept-alive connection while it idled (a long row of the
            # other peer in between): connect again, as an SDK's pool would.
            self.connection.close()
            self.connection.request("POST", "/", json.dumps(body), headers)
            response = self.connection.getresponse()
        data = response.read()
        if response.status != 200:
            raise SystemExit(f"bench: {operation} answered {response.status}: {data[:300]!r}")
        return json.loads(data)


class Ours:
    """Our server, or another emulator driven the same way (`name`: "ministack")."""

    def __init__(self, logs, name: str = "ours"):
        self.name = name
        self.server = servers.Server(servers.SPECS[name], logs)
        self.server.start()
        if not api.wait_until_up(self.server):
            raise SystemExit(f"bench: our server did not start:\n{self.server.log_tail()}")
        self.ecs = api.ecs_client(self.server.endpoint, max_pool_connections=50)
        self.poller = Poller(self.server.port)
        self.ecs.create_cluster(clusterName=CLUSTER)
        self.polls: dict[str, Polls] = {}  # row -> its polling figures
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

    def record(self, row: str | None, interval_s: float = POLL_S) -> Polls | None:
        """The Polls of `row` (None: a wait that is not timed, e.g. clean-up)."""
        if row is None:
            return None
        return self.polls.setdefault(row, Polls(interval_s))

    def server_cpu_s(self) -> float:
        """User + system CPU seconds the server process has used so far."""
        with open(f"/proc/{self.server.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def describe(self, arns: list[str], polls: Polls | None = None) -> list[dict]:
        began = time.perf_counter()
        tasks = []
        for start in range(0, len(arns), 100):
            tasks += self.poller.call("DescribeTasks", {"cluster": CLUSTER,
                                                        "tasks": arns[start:start + 100]})["tasks"]
        if polls is not None:
            polls.latencies.append(time.perf_counter() - began)
        return tasks

    def wait_status(self, arns: list[str], status: str, polls: Polls | None = None,
                    stamp: str | None = None, timeout: float = 120.0) -> list[dict]:
        """Poll DescribeTasks until every task reached `status`; note in `polls` the lag from
        the latest `stamp` (a task timestamp) to the poll that saw it."""
        deadline = time.monotonic() + timeout
        interval = polls.interval_s if polls else POLL_S
        while True:
            tasks = self.describe(arns, polls)
            seen = time.time()
            if all(ORDER.index(t["lastStatus"]) >= ORDER.index(status) for t in tasks):
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"bench: tasks not {status} within {timeout:.0f}s: "
                                 f"{[t['lastStatus'] for t in tasks]}")
            time.sleep(interval)
        stamps = [t[stamp] for t in tasks if stamp and t.get(stamp)]  # epoch seconds
        if polls is not None and stamps:
            polls.lags.append(seen - max(stamps))
        return tasks

    def settle_spares(self, count: int = 1, timeout: float = 10.0) -> None:
        """Ours only, untimed: wait until the sandbox pool has made its spares again (`count`:
        after a burst of that many tasks, as many as it keeps for the next, up to its cap), so
        that the background work our design does after tasks start is done before the next
        side is timed (it would slow that side, not ours)."""
        if self.name != "ours":
            return
        from docker_peer import client

        labels = ["ecs-emulator.container-name=~pool", f"ecs-emulator.pid={self.server.pid}"]
        deadline = time.monotonic() + timeout * count
        while time.monotonic() < deadline:
            if len(client().containers(filters={"label": labels, "status": "running"})) >= count:
                return
            time.sleep(0.05)

    def forget_bursts(self) -> None:
        """Ours only, untimed: a reset (the sandbox pool drained, the bursts it saw forgotten),
        then the cluster and task definitions again, so the next burst is a first one."""
        if self.name != "ours":
            return
        import requests

        requests.post(f"{self.server.endpoint}/_emulator/reset", timeout=60).raise_for_status()
        self.ecs.create_cluster(clusterName=CLUSTER)
        self.definitions = {mode: self.register(f"bench-{mode}", mode)
                            for mode in ("bridge", "awsvpc")}

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

"""Start-up with persisted state (issue 15): 100 services and 500 tasks, killed and started again.

    .venv/bin/python scripts/bench/persisted_start.py [--services 100] [--running 100]
                                                      [--stopped 400] [--rounds 3]

One persisted emulator (`ecs-emulator serve --quiet`, ECS_EMULATOR_PERSIST=1 on a temporary
data directory, or --data-dir) is given --services services running --running real tasks in all
(busybox, one container each, spread over the services) and --stopped tasks that ran to
completion (busybox `true`, RunTask 10 at a time: the STOPPED history ECS keeps for an hour),
then SIGKILLed and started again on its directory, --rounds times: the seconds until the API
answers (ListClusters), the emulator's CPU seconds by then, and the seconds until every service
is reconciled (each runs its tasks, none pending, and they are the same tasks: adopted, not
replaced). Why not 500 running tasks: 500 containers (and their 500 runc shims) on the shared
2-core machine this runs on would measure the machine, and a STOPPED task costs the start-up
what a running task's record does (read back, matched to Docker's list); --running 500
--stopped 0 does it all the same where a machine has room.

No peer gives a restarted server its running tasks back (moto_server keeps no state across a
restart; MiniStack's PERSIST_STATE restores its services' maps, never a task's containers), so
the floors are the Docker Engine's list of the same containers (one `GET /containers/json`, what
`docker ps -a --filter label=...` sends) and our own start-up with no state. Everything is
removed at the end (a SIGTERM stops the tasks; what a stop cut short leaves is removed and said
on stderr). Writes scripts/bench/results/persisted_start.md.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
import docker
from botocore.config import Config

from persistence import client, free_port, report, serve, settled, stop

REPO = Path(__file__).resolve().parents[2]
IMAGE = "ecs-emulator-test/busybox:latest"  # scripts/build-test-images.sh makes it
INSTANCE_LABEL = "ecs-emulator.instance"
SERVE = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]  # ends on the stop's SIGTERM


def build(port: int, args) -> set[str]:
    """The services and the STOPPED history; the running tasks' ARNs once every service runs."""
    ecs = client("ecs", port)
    ecs.create_cluster(clusterName="bench")
    ecs.register_task_definition(family="run", containerDefinitions=[{
        "name": "app", "image": IMAGE, "memory": 8, "command": SERVE}])
    ecs.register_task_definition(family="done", containerDefinitions=[{
        "name": "app", "image": IMAGE, "memory": 8, "command": ["true"]}])
    counts = desired_counts(args)
    for number, count in enumerate(counts):
        ecs.create_service(cluster="bench", serviceName=f"s{number}", taskDefinition="run",
                           desiredCount=count)
    for start in range(0, args.stopped, 10):
        ecs.run_task(cluster="bench", taskDefinition="done", count=min(10, args.stopped - start))
        wait_stopped(ecs, limit=30)  # a few batches at a time: the machine is shared
    wait_stopped(ecs, limit=0)
    return reconciled(ecs, counts, timeout=900)


def wait_for_api(port: int, timeout: float = 300) -> None:
    """Until ListClusters answers. botocore's own retries are off: their back-off (up to 15 s
    over five attempts) would be measured, not the emulator."""
    probe = boto3.client("ecs", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                         aws_access_key_id="testing", aws_secret_access_key="testing",
                         config=Config(retries={"total_max_attempts": 1}, connect_timeout=2,
                                       read_timeout=timeout))
    deadline = time.monotonic() + timeout
    while True:
        try:
            probe.list_clusters()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def desired_counts(args) -> list[int]:
    base, extra = divmod(args.running, args.services)
    return [base + (1 if number < extra else 0) for number in range(args.services)]


def wait_stopped(ecs, limit: int, patience: float = 120) -> None:
    """Until at most `limit` of the finishing tasks are not STOPPED yet. One still RUNNING after
    `patience` seconds (its container's death was missed: said on stderr) is stopped."""
    deadline = time.monotonic() + patience
    while True:
        arns = ecs.list_tasks(cluster="bench", family="done", desiredStatus="RUNNING")["taskArns"]
        if len(arns) <= limit:
            return
        if time.monotonic() > deadline:
            print(f"bench: {len(arns)} tasks of `true` still RUNNING after {patience} s; "
                  "stopped", file=sys.stderr)
            for arn in arns:
                ecs.stop_task(cluster="bench", task=arn, reason="bench: its exit was missed")
            deadline = time.monotonic() + patience
        time.sleep(0.2)


def reconciled(ecs, counts: list[int], timeout: float) -> set[str]:
    """Wait until every service runs its count with none pending; the running tasks' ARNs."""
    return settled(ecs, [f"s{number}" for number in range(len(counts))], timeout)


def task_count(ecs) -> int:
    total = 0
    for status in ("RUNNING", "STOPPED"):
        for page in ecs.get_paginator("list_tasks").paginate(cluster="bench",
                                                             desiredStatus=status):
            total += len(page["taskArns"])
    return total


def docker_floor(instance: str, rounds: int) -> float:
    """Seconds Docker takes to list the instance's containers (what adoption must read)."""
    api = docker.APIClient(version="auto")
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        api.containers(all=True, filters={"label": [f"{INSTANCE_LABEL}={instance}"]})
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def cpu_seconds(pid: int) -> float:
    """The process's CPU time so far (user + system): what the load of a shared machine hardly
    moves, unlike the wall clock."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def empty_start(rounds: int) -> tuple[float, float]:
    """Median seconds until an emulator with no state answers, and its CPU seconds by then."""
    samples, cpu = [], []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as data_dir:
            port = free_port()
            started = time.monotonic()
            process = serve(port, data_dir)
            try:
                wait_for_api(port)
                samples.append(time.monotonic() - started)
                cpu.append(cpu_seconds(process.pid))
            finally:
                stop(process)
    return statistics.median(samples), statistics.median(cpu)


def profile(pid: int, output: str) -> None:
    """py-spy on the first restart from its first moments, 40 s: an SVG flame graph, or with a
    .txt name collapsed stacks per thread."""
    spy = str(Path(sys.executable).parent / "py-spy")  # pip install py-spy into the venv
    form = ["--format", "raw", "--threads"] if output.endswith(".txt") else []  # else SVG
    subprocess.Popen([spy, "record", "--pid", str(pid), "--rate", "200", "--duration", "40",
                      "--idle", *form, "-o", output], stdout=subprocess.DEVNULL)


def leftovers(instance: str, remove: bool = False) -> int:
    """How many containers and networks of the run are left; with `remove`, they are removed."""
    api = docker.APIClient(version="auto")
    selector = {"label": [f"{INSTANCE_LABEL}={instance}"]}
    containers = api.containers(all=True, filters=selector)
    networks = api.networks(filters=selector)
    for container in containers if remove else ():
        api.remove_container(container["Id"], force=True, v=True)
    for network in networks if remove else ():
        api.remove_network(network["Id"])
    return len(containers) + len(networks)


def restarts(args, data_dir: Path) -> dict:
    """Build the state (unless --data-dir holds it already), then kill and start --rounds times."""
    kept = data_dir / "bench-port"
    port = int(kept.read_text()) if kept.exists() else free_port()  # tasks were given it
    process = serve(port, str(data_dir))
    instance = ""
    clean = False
    try:
        wait_for_api(port)
        ecs = client("ecs", port)
        started = time.monotonic()
        if kept.exists():
            before = reconciled(ecs, desired_counts(args), timeout=600)
        else:
            before = build(port, args)
            kept.write_text(str(port))
        built = time.monotonic() - started
        tasks = task_count(ecs)
        instance = (data_dir / "state" / "instance").read_text().strip()
        size = sum(p.stat().st_size for p in (data_dir / "state").iterdir())
        answered, settled, cpu = [], [], []
        for _ in range(args.rounds):
            process.send_signal(signal.SIGKILL)
            process.wait()
            started = time.monotonic()
            process = serve(port, str(data_dir))
            if args.profile and not answered:
                profile(process.pid, args.profile)
            wait_for_api(port)
            answered.append(time.monotonic() - started)
            cpu.append(cpu_seconds(process.pid))
            after = reconciled(ecs, desired_counts(args), timeout=600)
            settled.append(time.monotonic() - started)
            assert after == before, f"{len(after - before)} tasks were replaced, not adopted"
        clean = True
        return {"answered": answered, "settled": settled, "cpu": cpu, "tasks": tasks,
                "size": size, "built": built, "floor": docker_floor(instance, 5),
                "instance": instance}
    finally:
        if args.keep and clean:  # the tasks keep running for the next run on --data-dir
            process.send_signal(signal.SIGKILL)
            process.wait()
        else:
            stop(process)
            if instance and leftovers(instance, remove=True):
                print("bench: the emulator's stop left containers or its network; removed",
                      file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=100)
    parser.add_argument("--running", type=int, default=100, help="running tasks in all")
    parser.add_argument("--stopped", type=int, default=400, help="STOPPED tasks of history")
    parser.add_argument("--rounds", type=int, default=3, help="kills and starts")
    parser.add_argument("--data-dir", help="keep the state here (built on first use)")
    parser.add_argument("--keep", action="store_true",
                        help="with --data-dir: end with SIGKILL, the tasks left running for the "
                             "next run (remove them with a run without --keep)")
    parser.add_argument("--profile", help="py-spy's flame graph of the first restart to this")
    parser.add_argument("--output", default=str(REPO / "scripts/bench/results/persisted_start.md"))
    args = parser.parse_args()
    if args.data_dir:
        Path(args.data_dir).mkdir(parents=True, exist_ok=True)
        result = restarts(args, Path(args.data_dir).resolve())
    else:
        with tempfile.TemporaryDirectory() as data_dir:
            result = restarts(args, Path(data_dir))
    empty, empty_cpu = empty_start(args.rounds)
    left = 0 if args.keep else leftovers(result["instance"])
    lines = [
        f"State: {args.services} services, {result['tasks']} tasks ({args.running} running, "
        f"one container each; the rest STOPPED), {result['size'] / 1024:.0f} KiB on disk "
        f"(built in {result['built']:.0f} s).",
        "",
        "| after SIGKILL, started again | median s | each round s |",
        "|---|---|---|",
        f"| the API answers (ListClusters) | {statistics.median(result['answered']):.2f} | "
        + ", ".join(f"{s:.2f}" for s in result["answered"]) + " |",
        f"| every service reconciled (its tasks adopted, none pending) | "
        f"{statistics.median(result['settled']):.2f} | "
        + ", ".join(f"{s:.2f}" for s in result["settled"]) + " |",
        f"| the emulator's CPU seconds until the API answers | "
        f"{statistics.median(result['cpu']):.2f} | "
        + ", ".join(f"{s:.2f}" for s in result["cpu"]) + " |",
        f"| floor: our start-up with no state (the API answers) | {empty:.2f} | |",
        f"| floor: its CPU seconds until the API answers | {empty_cpu:.2f} | |",
        f"| floor: Docker lists the {args.running} containers (one GET /containers/json) | "
        f"{result['floor']:.3f} | |",
        "",
        f"Containers and networks of the run left at the end: {left}.",
    ]
    report("\n".join(lines) + "\n", args.output, "Start-up with persisted state",
           "scripts/bench/persisted_start.py")


if __name__ == "__main__":
    main()

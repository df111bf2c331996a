"""Docker under load: many threads of RunTask/StopTask at once, and what is left afterwards.

    .venv/bin/python scripts/bench/docker_load.py [--threads 8] [--seconds 120] [--settle 90]
                                [--lag 5] [--label after] [--output results/docker_load.md]

Our server (`python -m emulator` from the project's virtualenv, on a free port) gets `--threads`
client threads, each with its own boto3 client, for `--seconds`. Each thread runs one task after
another (bridge, awsvpc, bridge, awsvpc, and one whose command does not exist, so that Docker
refuses to start it; the busybox test image, exiting on SIGTERM) and stops the task it ran
`--lag` runs before, so tasks are stopped at every step of their life. Meanwhile a probe lists
containers on Docker every half second (the call `docker ps` makes): its latency is how
responsive Docker stays for everyone else on the machine. After the load every task is polled
until it is STOPPED or `--settle` seconds have passed. Then the server gets SIGTERM (and up to
five minutes to remove what it made), and what its pid's labels still mark on Docker is leaked.

Reported: calls answered and their latency (and RunTask answers that placed no task, with ECS's
reason, e.g. RESOURCE:MEMORY while stopping tasks still hold theirs); the probe's latency; the emulator's Docker calls that
timed out (its log's "Read timed out"); tasks not STOPPED at the end of the settle time and when
the last one stopped; each stopCode by kind of task and how it ended; tasks whose stopCode
changed after StopTask had answered with one (the first reason wins, on ECS); the emulator's stop
time, what it left on Docker, and its log's lines about its network's "active endpoints". The
results file keeps one section per `--label`, so a before and an after run sit side by side.
"""

from __future__ import annotations

import argparse
import collections
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import api  # noqa: E402  (siblings, found through the path set above)
import servers  # noqa: E402
from docker_peer import IMAGE, MEMORY_MIB, client as docker_client  # noqa: E402
from figures import loadavg  # noqa: E402
from ours_ecs import CLUSTER, Ours, say  # noqa: E402

PROBE_S = 0.5
# What each thread runs in turn; "fails" is a bridge task whose command does not exist, so Docker
# refuses to start it (TaskFailedToStart, unless StopTask came first).
KINDS = ("bridge", "awsvpc", "bridge", "awsvpc", "fails")
STOP_WAIT_S = 300  # the CLI's stop waits for the clean-up; a user's Ctrl-C waits as long
RESULTS = Path(__file__).resolve().parent / "results" / "docker_load.md"


class Load:
    """The client threads' figures."""

    def __init__(self):
        self.lock = threading.Lock()
        self.arns: list[str] = []
        self.calls = collections.Counter()  # operation -> answered
        self.errors = collections.Counter()  # "Operation: code" -> count
        self.latencies: dict[str, list[float]] = collections.defaultdict(list)
        self.kinds: dict[str, str] = {}  # task ARN -> KINDS entry
        self.stop_answers: dict[str, str | None] = {}  # task ARN -> stopCode StopTask answered

    def call(self, name: str, fn, **params):
        began = time.perf_counter()
        try:
            response = fn(**params)
        except Exception as error:  # noted, and the thread goes on: the load is what we measure
            with self.lock:
                self.errors[f"{name}: {api.error_name(error)}"] += 1
            return None
        with self.lock:
            self.calls[name] += 1
            self.latencies[name].append(time.perf_counter() - began)
        return response


def client_thread(ours: Ours, load: Load, until: float, lag: int) -> None:
    ecs = api.ecs_client(ours.server.endpoint, read_timeout=120)
    running: collections.deque[str] = collections.deque()
    turn = 0
    while time.monotonic() < until:
        kind = KINDS[turn % len(KINDS)]
        turn += 1
        params = {"launchType": "FARGATE", "networkConfiguration": {
            "awsvpcConfiguration": {"subnets": ["subnet-bench"]}}} if kind == "awsvpc" else {}
        response = load.call("RunTask", ecs.run_task, cluster=CLUSTER,
                             taskDefinition=ours.definitions[kind], **params)
        if response and not response["tasks"]:  # answered, but ECS placed nothing: why
            with load.lock:
                for failure in response.get("failures") or [{}]:
                    load.errors[f"RunTask failure: {failure.get('reason')}"] += 1
        if response and response["tasks"]:
            arn = response["tasks"][0]["taskArn"]
            running.append(arn)
            with load.lock:
                load.arns.append(arn)
                load.kinds[arn] = kind
        if len(running) > lag:
            stop(ecs, load, running.popleft())
    while running:
        stop(ecs, load, running.popleft())


def stop(ecs, load: Load, arn: str) -> None:
    response = load.call("StopTask", ecs.stop_task, cluster=CLUSTER, task=arn, reason="bench")
    if response:
        with load.lock:  # what the user was told; the task must keep it (the first reason wins)
            load.stop_answers[arn] = response["task"].get("stopCode")


def probe_thread(stop: threading.Event, latencies: list[float], failures: list[str]) -> None:
    docker = docker_client()
    while not stop.wait(PROBE_S):
        began = time.perf_counter()
        try:
            docker.containers(limit=50)
        except Exception as error:
            failures.append(type(error).__name__)
            continue
        latencies.append(time.perf_counter() - began)


def event_thread(pid: int, stop: threading.Event, actions: collections.Counter) -> None:
    """Count what Docker did for the emulator (create, start, destroy of its containers)."""
    docker = docker_client()
    stream = docker.events(decode=True, filters={
        "type": "container", "label": [f"ecs-emulator.pid={pid}"],
        "event": ["create", "start", "destroy"]})
    stop_watch = threading.Thread(target=lambda: (stop.wait(), stream.close()), daemon=True)
    stop_watch.start()
    try:
        for event in stream:
            actions[event.get("Action") or event.get("status")] += 1
    except Exception:  # closed under our feet: the run is over
        pass


def settle(ours: Ours, arns: list[str], seconds: float) -> tuple[list[dict], float | None]:
    """Poll until every task is STOPPED or `seconds` pass: the tasks, and when the last stopped
    (seconds after the load ended; None if some never did)."""
    began = time.monotonic()
    while True:
        tasks = ours.describe(arns)
        if all(t["lastStatus"] == "STOPPED" for t in tasks):
            return tasks, time.monotonic() - began
        if time.monotonic() - began > seconds:
            return tasks, None
        time.sleep(1.0)


def leaked(pid: int) -> dict[str, int]:
    docker = docker_client()
    filters = {"label": [f"ecs-emulator.pid={pid}"]}
    return {"containers": len(docker.containers(all=True, filters=filters)),
            "networks": len(docker.networks(filters=filters)),
            "volumes": len((docker.volumes(filters=filters) or {}).get("Volumes") or [])}


def how_ended(task: dict) -> str:
    if task.get("startedAt"):
        return "ran"
    reasons = [c.get("reason") or "" for c in task.get("containers", [])]
    failed = next((r.split(":")[0] for r in reasons if "Error" in r.split(":")[0]), None)
    return f"never started ({failed})" if failed else "never started"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def report(args, load: Load, probe: list[float], probe_failures: list[str], tasks: list[dict],
           drained: float | None, stopped_s: float, leaks: dict[str, int],
           endpoint_lines: int, log_text: str, loads, actions) -> list[str]:
    def ms(values: list[float], fraction: float) -> str:
        return f"{percentile(values, fraction) * 1000:.0f} ms" if values else "-"

    lines = [f"{args.threads} threads for {args.seconds:.0f} s, each stopping the task it ran "
             f"{args.lag} runs before; load average {loads[0]:.1f} at the start, "
             f"{loads[1]:.1f} at the end.", ""]
    for name in ("RunTask", "StopTask"):
        values = load.latencies.get(name, [])
        lines.append(f"- {name}: {load.calls[name]} answered, p50 {ms(values, 0.5)}, "
                     f"p99 {ms(values, 0.99)}, max {ms(values, 1.0)}")
    lines += [f"- failed calls: {error} x{count}" for error, count in sorted(load.errors.items())]
    lines.append(f"- Docker's responsiveness (`docker ps` every {PROBE_S} s during the load and "
                 f"the settle): p50 {ms(probe, 0.5)}, p99 {ms(probe, 0.99)}, max {ms(probe, 1.0)}"
                 + (f"; {len(probe_failures)} failed" if probe_failures else ""))
    lines.append(f"- containers Docker made for the emulator during the load and the settle: "
                 f"{actions['create']} created, {actions['start']} started, "
                 f"{actions['destroy']} removed")
    lines.append("- Docker calls of the emulator that timed out (60 s): "
                 f"{len(re.findall('Read timed out', log_text))}")
    stuck = collections.Counter(t["lastStatus"] for t in tasks if t["lastStatus"] != "STOPPED")
    lines.append(f"- tasks not STOPPED {args.settle:.0f} s after the load: {sum(stuck.values())} "
                 f"of {len(tasks)}" + (f" ({', '.join(f'{k} {v}' for k, v in stuck.items())})"
                                       if stuck else "")
                 + (f"; the last one stopped {drained:.1f} s after the load"
                    if drained is not None else ""))
    codes = collections.Counter((load.kinds.get(t["taskArn"]), t.get("stopCode"), how_ended(t))
                                for t in tasks if t["lastStatus"] == "STOPPED")
    for (kind, code, ended), count in sorted(codes.items()):
        lines.append(f"- {kind} tasks, stopCode {code}: {count} ({ended})")
    changed = [t for t in tasks if t["taskArn"] in load.stop_answers and t.get("stopCode")
               and load.stop_answers[t["taskArn"]] != t["stopCode"]]
    lines.append(f"- stopCode changed after StopTask answered: {len(changed)}")
    lines.append(f"- the emulator's stop (SIGTERM to exit): {stopped_s:.1f} s; left on Docker "
                 f"after it: {', '.join(f'{v} {k}' for k, v in leaks.items())}; log lines about "
                 f"its network's \"active endpoints\": {endpoint_lines}")
    return lines


def write(label: str, commit: str, lines: list[str], output: Path) -> None:
    """Replace the section of `label` in `output`, keeping the others."""
    header = ("# Docker under load\n\nWritten by `.venv/bin/python scripts/bench/docker_load.py`; "
              "the module's docstring has the method. One section per run label.\n")
    sections = {}
    if output.exists():
        for part in output.read_text().split("\n## ")[1:]:
            name, _, body = part.partition("\n")
            sections[name.strip()] = body.strip("\n")
    sections[label] = "\n".join([f"At commit {commit}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
                                 "", *lines])
    output.write_text(header + "".join(f"\n## {name}\n\n{body}\n" for name, body in sections.items()))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--settle", type=float, default=90)
    parser.add_argument("--lag", type=int, default=5,
                        help="each thread stops the task it ran this many runs before")
    parser.add_argument("--label", default="run")
    parser.add_argument("--output", default=str(RESULTS), help="markdown file ('' to skip)")
    args = parser.parse_args(argv)
    loads = [loadavg()]
    ours = Ours(servers.log_dir())
    ours.definitions["fails"] = ours.ecs.register_task_definition(
        family="bench-fails", containerDefinitions=[
            {"name": "main", "image": IMAGE, "memory": MEMORY_MIB, "essential": True,
             "command": ["/no/such/command"]}])["taskDefinition"]["taskDefinitionArn"]
    pid = ours.server.pid
    load, probe, probe_failures, stop_probe = Load(), [], [], threading.Event()
    prober = threading.Thread(target=probe_thread, args=(stop_probe, probe, probe_failures),
                              daemon=True)
    prober.start()
    actions: collections.Counter = collections.Counter()
    watcher = threading.Thread(target=event_thread, args=(pid, stop_probe, actions), daemon=True)
    watcher.start()
    until = time.monotonic() + args.seconds
    say(f"{args.threads} threads of RunTask/StopTask for {args.seconds:.0f} s")
    threads = [threading.Thread(target=client_thread, args=(ours, load, until, args.lag),
                                daemon=True) for _ in range(args.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    say(f"{len(load.arns)} tasks run; waiting up to {args.settle:.0f} s for them to stop")
    tasks, drained = settle(ours, load.arns, args.settle)
    stop_probe.set()
    prober.join()
    watcher.join(timeout=5)
    networks = [n["Name"] for n in docker_client().networks(
        filters={"label": [f"ecs-emulator.pid={pid}"]})]
    began = time.monotonic()
    ours.server.process.terminate()  # SIGTERM: the emulator removes what it made, then exits
    try:
        ours.server.process.wait(timeout=STOP_WAIT_S)
    except subprocess.TimeoutExpired:
        say(f"the emulator did not stop within {STOP_WAIT_S} s: killed")
    ours.close()
    stopped_s = time.monotonic() - began
    say(f"emulator stopped in {stopped_s:.1f} s")
    leaks = leaked(pid)
    loads.append(loadavg())
    log_text = ours.server.log_path.read_text(errors="replace")
    endpoint_lines = sum(1 for line in log_text.splitlines() if "active endpoints" in line
                         and any(name in line for name in networks))
    lines = report(args, load, probe, probe_failures, tasks, drained, stopped_s, leaks,
                   endpoint_lines, log_text, loads, actions)
    print("\n".join(lines))
    if args.output:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=servers.REPO,
                                        capture_output=True, text=True).stdout.strip()
        write(args.label, commit, lines, Path(args.output))
        say(f"wrote {args.output} (log: {ours.server.log_path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

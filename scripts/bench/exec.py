"""ECS Exec benchmark: a session through ExecuteCommand and AWS's session-manager-plugin, against
`docker exec -t` of the same command in the same container.

    .venv/bin/python scripts/bench/exec.py [--rounds 7] [--output results/exec.md]

Rows, each timed in every round for both sides (which side goes first alternates), in a
pseudo-terminal as a user's would be:
- echo: from the call to the end of the session, for `echo hello`. Ours is ExecuteCommand, then the
  plugin started as `aws ecs execute-command` starts it (the AWS CLI's own start-up, about a
  second of Python, is left out: it is the same on AWS); raw is `docker exec -t`.
- 8 MiB: the same for a command that prints 8 MiB (the data channel's throughput: one message
  and one acknowledgement per 32 KiB read from the TTY).
Also our server's CPU time per session. The plugin is SESSION_MANAGER_PLUGIN, else
../shared/tools/session-manager-plugin/session-manager-plugin.
"""

from __future__ import annotations

import argparse
import json
import fcntl
import os
import select
import shutil
import statistics
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import api  # noqa: E402  (siblings, found through the path set above)
import servers  # noqa: E402

PLUGIN = Path(os.environ.get("SESSION_MANAGER_PLUGIN", servers.REPO.parent / "shared" / "tools"
                             / "session-manager-plugin" / "session-manager-plugin"))
IMAGE = "ecs-emulator-test/busybox:latest"
CLUSTER = "bench-exec"
BIG = 8 * 1024 * 1024
ROWS = {"echo": "echo hello", "8 MiB": f"sh -c 'yes 0123456789abcdef0123456789abcde | head -c {BIG}'"}


def in_terminal(argv: list[str], env: dict | None = None) -> tuple[float, int]:
    """Run argv in a pseudo-terminal until it exits: (seconds, bytes it showed)."""
    main, side = os.openpty()
    # A terminal of a size, as a user's is (the plugin sends no size for a 0x0 one).
    fcntl.ioctl(side, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    began = time.perf_counter()
    process = subprocess.Popen(argv, stdin=side, stdout=side, stderr=side, env=env, close_fds=True)
    os.close(side)
    shown = 0
    while True:
        ready, _, _ = select.select([main], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(main, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += len(chunk)
        elif process.poll() is not None:
            break
    process.wait(timeout=30)
    seconds = time.perf_counter() - began
    os.close(main)
    return seconds, shown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--output", default=str(Path(__file__).with_name("results") / "exec.md"))
    args = parser.parse_args()
    if not os.access(PLUGIN, os.X_OK):
        raise SystemExit(f"bench: no session-manager-plugin at {PLUGIN}")
    docker = shutil.which("docker")
    if docker is None:
        raise SystemExit("bench: needs the docker command")

    server = servers.Server(servers.SPECS["ours"], servers.log_dir())
    server.start()
    try:
        if not api.wait_until_up(server):
            raise SystemExit(f"bench: our server did not start:\n{server.log_tail()}")
        ecs = api.ecs_client(server.endpoint)
        ecs.create_cluster(clusterName=CLUSTER)
        definition = ecs.register_task_definition(family="bench-exec", containerDefinitions=[{
            "name": "main", "image": IMAGE, "memory": 64,
            "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]}],
        )["taskDefinition"]["taskDefinitionArn"]
        task = ecs.run_task(cluster=CLUSTER, taskDefinition=definition,
                            enableExecuteCommand=True)["tasks"][0]
        container_id = wait_running(ecs, task["taskArn"])
        results = {row: {"ours": [], "raw": [], "cpu": []} for row in ROWS}
        for round_number in range(args.rounds):
            for row, command in ROWS.items():
                sides = ["ours", "raw"] if round_number % 2 == 0 else ["raw", "ours"]
                for side in sides:
                    if side == "ours":
                        cpu = server.cpu_seconds()
                        seconds, shown = ours_session(ecs, server, task["taskArn"], command)
                        results[row]["cpu"].append(server.cpu_seconds() - cpu)
                    else:
                        seconds, shown = in_terminal([docker, "exec", "-t", container_id,
                                                      *split(command)])
                    if row == "8 MiB" and shown < BIG:
                        raise SystemExit(f"bench: {side} showed {shown} bytes of {BIG}")
                    results[row][side].append(seconds)
            print(f"bench: round {round_number + 1}/{args.rounds} done", file=sys.stderr)
        report = render(results, args.rounds)
        print(report)
        if args.output:
            Path(args.output).write_text(report)
    finally:
        server.stop()


def split(command: str) -> list[str]:
    import shlex

    return shlex.split(command)


def wait_running(ecs, arn: str) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        task = ecs.describe_tasks(cluster=CLUSTER, tasks=[arn])["tasks"][0]
        if task["lastStatus"] == "RUNNING":
            return task["containers"][0]["runtimeId"]
        time.sleep(0.2)
    raise SystemExit("bench: the task did not reach RUNNING")


def ours_session(ecs, server, task_arn: str, command: str) -> tuple[float, int]:
    """ExecuteCommand, then the plugin as the AWS CLI starts it; timed from the call."""
    began = time.perf_counter()
    answer = ecs.execute_command(cluster=CLUSTER, task=task_arn, command=command, interactive=True)
    runtime_id = ecs.describe_tasks(cluster=CLUSTER, tasks=[task_arn])["tasks"][0][
        "containers"][0]["runtimeId"]
    target = {"Target": f"ecs:{CLUSTER}_{task_arn.rsplit('/', 1)[1]}_{runtime_id}"}
    env = dict(os.environ, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")
    _, shown = in_terminal([str(PLUGIN), json.dumps(answer["session"]), "us-east-1",
                            "StartSession", "", json.dumps(target), server.endpoint], env)
    return time.perf_counter() - began, shown


def render(results: dict, rounds: int) -> str:
    lines = [
        "# ECS Exec: a session through the plugin vs `docker exec -t`",
        "",
        f"Medians of {rounds} rounds (min-max in brackets), on this machine; "
        "`.venv/bin/python scripts/bench/exec.py`.",
        "",
        "| row | ours (ExecuteCommand + plugin) | raw `docker exec -t` | ours/raw | our server CPU per session |",
        "|---|---|---|---|---|",
    ]
    for row, found in results.items():
        ours, raw = statistics.median(found["ours"]), statistics.median(found["raw"])
        extra = ""
        if row == "8 MiB":
            extra = f" ({BIG / ours / 2**20:.1f} vs {BIG / raw / 2**20:.1f} MiB/s)"
        lines.append(
            f"| {row}{extra} | {ours * 1000:.0f} ms [{min(found['ours']) * 1000:.0f}-"
            f"{max(found['ours']) * 1000:.0f}] | {raw * 1000:.0f} ms [{min(found['raw']) * 1000:.0f}-"
            f"{max(found['raw']) * 1000:.0f}] | {ours / raw:.2f} | "
            f"{statistics.median(found['cpu']) * 1000:.0f} ms |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()

"""CDK benchmark: `cdk deploy` of tests/cdk_app (an ALB-fronted Fargate service of an image
asset) until its page answers, split into CloudFormation's own work and the tasks' start.

    .venv/bin/python scripts/bench/cdk.py [--rounds 5] [--output results/cdk.md]

Needs node and npm (scripts/ensure-cdk.sh installs the CDK's packages, cached). One server
process; `cdk bootstrap` and one deploy and destroy first, untimed, so that npm, the asset's
`docker build` (cached by Docker afterwards) and its push are not in the figures. Then each
round: `cdk deploy` until the page answers at the address the task's networkBindings give,
then `cdk destroy`. The split comes from the stack's events: CloudFormation's own work is the
stack's time less its service resource's (CREATE_IN_PROGRESS to CREATE_COMPLETE of
AWS::ECS::Service, which waits for the tasks: the tasks' start). The CDK CLI's own time (node
start-up, synthesis, asset checks) is the rest of the deploy.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import api  # noqa: E402  (siblings, found through the path set above)
import figures  # noqa: E402
import servers  # noqa: E402

APP = servers.REPO / "tests" / "cdk_app"


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


class Cdk:
    def __init__(self, server: servers.Server, workdir: Path):
        import boto3

        modules = subprocess.run([str(servers.REPO / "scripts" / "ensure-cdk.sh")],
                                 capture_output=True, text=True, check=True).stdout.strip()
        if not modules:
            raise SystemExit("bench: the CDK benchmark needs node and npm")
        self.binary = str(Path(modules) / ".bin" / "cdk")
        self.workdir = workdir
        shutil.copytree(APP, workdir, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("package*.json"))
        self.env = {**os.environ, "AWS_ENDPOINT_URL": server.endpoint,
                    "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                    "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
                    "NODE_PATH": modules, "CDK_DISABLE_VERSION_CHECK": "1",
                    "CDK_DISABLE_CLI_TELEMETRY": "true"}
        session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                        region_name="us-east-1")
        self.ecs = session.client("ecs", endpoint_url=server.endpoint)
        self.cfn = session.client("cloudformation", endpoint_url=server.endpoint)

    def run(self, *args: str) -> None:
        done = subprocess.run([self.binary, *args, "--no-notices"], cwd=self.workdir,
                              env=self.env, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise SystemExit(f"bench: cdk {args[0]} failed: {done.stderr[-800:]}")

    def deploy_until_page(self) -> tuple[float, float, float]:
        """(deploy until the page answers, CloudFormation's own work, the tasks' start) in s."""
        began = time.perf_counter()
        self.run("deploy", "--require-approval", "never", "--outputs-file", "out.json")
        out = json.loads((self.workdir / "out.json").read_text())["EmulatorWeb"]
        tasks = self.ecs.list_tasks(cluster=out["ClusterName"])["taskArns"]
        task = self.ecs.describe_tasks(cluster=out["ClusterName"], tasks=tasks)["tasks"][0]
        binding = task["containers"][0]["networkBindings"][0]
        url = f"http://{binding['bindIP']}:{binding['hostPort']}/"
        while True:
            try:
                if b"Hello" in urllib.request.urlopen(url, timeout=2).read():
                    break
            except OSError:
                time.sleep(0.02)
        seconds = time.perf_counter() - began
        stack, service = self._event_spans()
        return seconds, stack - service, service

    def _event_spans(self) -> tuple[float, float]:
        events = self.cfn.describe_stack_events(StackName="EmulatorWeb")["StackEvents"]
        stack = [e["Timestamp"] for e in events if e["ResourceType"] ==
                 "AWS::CloudFormation::Stack" and e["ResourceStatus"] in (
                     "CREATE_IN_PROGRESS", "CREATE_COMPLETE")]
        service = [e["Timestamp"] for e in events if e["ResourceType"] == "AWS::ECS::Service"
                   and e["ResourceStatus"] in ("CREATE_IN_PROGRESS", "CREATE_COMPLETE")]
        return ((max(stack) - min(stack)).total_seconds(),
                (max(service) - min(service)).total_seconds())


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--output", default=str(Path(__file__).resolve().parent / "results"
                                                / "cdk.md"))
    args = parser.parse_args(argv)
    server = servers.Server(servers.SPECS["ours"], servers.log_dir())
    server.start()
    rounds: list[tuple[float, float, float]] = []
    load = figures.loadavg()
    try:
        if not api.wait_until_up(server):
            raise SystemExit(f"bench: our server did not start:\n{server.log_tail()}")
        with tempfile.TemporaryDirectory() as workdir:
            cdk = Cdk(server, Path(workdir) / "app")
            cdk.run("bootstrap", "aws://123456789012/us-east-1")
            cdk.deploy_until_page()  # warm-up: the asset's build and push, not counted
            cdk.run("destroy", "--force")
            for index in range(args.rounds):
                rounds.append(cdk.deploy_until_page())
                say(f"round {index + 1}/{args.rounds}: deploy until the page answers "
                    f"{rounds[-1][0]:.2f} s (CloudFormation {rounds[-1][1]:.2f} s, tasks "
                    f"{rounds[-1][2]:.2f} s)")
                cdk.run("destroy", "--force")
    finally:
        server.stop()
    median = [statistics.median(r[i] for r in rounds) for i in range(3)]
    lines = [
        "# CDK benchmark: `cdk deploy` of tests/cdk_app until its page answers", "",
        "Written by `.venv/bin/python scripts/bench/cdk.py`; the module's docstring has the "
        "method.", "",
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} CPUs shared "
        f"with other work; {args.rounds} rounds, medians; load average {load:.1f} at the "
        f"start, {figures.loadavg():.1f} at the end.", "",
        "| | seconds | min–max |", "|---|---|---|",
        *[f"| {name} | {median[i]:.2f} | {min(r[i] for r in rounds):.2f}–"
          f"{max(r[i] for r in rounds):.2f} |" for i, name in enumerate((
              "`cdk deploy` until the page answers", "of which CloudFormation's own work",
              "of which the service's tasks' start (until steady)"))], "",
        "The rest of the deploy is the CDK CLI's own (node start-up, synthesis, asset checks, "
        "change set calls).", ""]
    print("\n".join(lines))
    if args.output:
        Path(args.output).write_text("\n".join(lines))
        say(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Request validation benchmark: CPU per request check (api_shapes' Validator) of hot requests.

    python scripts/bench/validation.py [--base /path/to/other/checkout] [--rounds 3] [-n 10000]

Times `parse_input` (what every ECS and ECR call does before its handler) of DescribeTasks (20
task ARNs), RunTask (tags and a container override) and ECR's DescribeImages, in process CPU
time. With --base, each round runs this checkout and the other one alternately, each in its own
process (so each imports its own api_shapes): the sides see the same machine load.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[2]
ARN = "arn:aws:ecs:us-east-1:123456789012:task/work/" + "a" * 32
CASES = {
    "ECS DescribeTasks": ("ecs", "DescribeTasks",
                          {"cluster": "work", "tasks": [ARN] * 20, "include": ["TAGS"]}),
    "ECS RunTask": ("ecs", "RunTask", {
        "cluster": "work", "taskDefinition": "app:1", "count": 1, "launchType": "EC2",
        "tags": [{"key": f"k{i}", "value": "v"} for i in range(5)],
        "overrides": {"containerOverrides": [{"name": "main", "command": ["a", "b"],
                                              "environment": [{"name": "A", "value": "1"}]}]}}),
    "ECR DescribeImages": ("ecr", "DescribeImages", {
        "registryId": "123456789012", "repositoryName": "my/app",
        "imageIds": [{"imageTag": "v1"}]}),
}


def measure(root: str, count: int) -> dict[str, float]:
    """Microseconds of CPU per validation of each case, with the api_shapes under `root`."""
    sys.path.insert(0, root)
    import api_shapes
    from api_shapes import load_service

    assert api_shapes.__file__.startswith(root), api_shapes.__file__  # not the venv's install

    result = {}
    for name, (service, operation, params) in CASES.items():
        shapes = load_service(service)
        shapes.parse_input(operation, params)  # the model loaded, patterns compiled
        began = time.process_time()
        for _ in range(count):
            shapes.parse_input(operation, params)
        result[name] = (time.process_time() - began) / count * 1e6
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="another checkout to compare with")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("-n", type=int, default=10000)
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # the child process's side
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.n)))
        return
    sides = {"this": str(HERE)} | ({"base": args.base} if args.base else {})
    figures: dict[str, list[dict]] = {side: [] for side in sides}
    for _ in range(args.rounds):
        for side, root in sides.items():
            out = subprocess.run([sys.executable, __file__, "--measure", root, "-n", str(args.n)],
                                 check=True, capture_output=True, text=True, cwd=root).stdout
            figures[side].append(json.loads(out))
    print(f"us CPU per validation, best of {args.rounds} rounds of {args.n}")
    for name in CASES:
        row = "  ".join(f"{side} {min(r[name] for r in runs):6.1f}"
                        for side, runs in figures.items())
        print(f"{name:20} {row}")


if __name__ == "__main__":
    main()

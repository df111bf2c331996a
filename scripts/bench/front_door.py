"""Front door benchmark: what the Express service endpoint (and gateway routes) add to a request.

    .venv/bin/python scripts/bench/front_door.py [--requests 2000]

Starts our server (`python -m emulator --quiet` on a free port), makes an Express service of one
task (the busybox test image serving a small page with httpd), and times sequential GETs of the
page from one http.client connection: straight to the task's published host port (busybox httpd
closes each connection, so these reconnect every time), and through the ingress path's endpoint,
`http://127.0.0.1:<front doors' port>/express/<cluster>/<service>/` (kept alive to us; we open a
connection to the task per request as we forward). Prints medians and p99 in ms and requests/s for both, and their ratio.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import boto3

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "ecs-emulator-test/busybox:latest"
SERVE = ["sh", "-c", "trap 'exit 0' TERM; mkdir -p /www && echo bench > /www/index.html && "
         "httpd -f -p 8080 -h /www & wait"]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def timed_gets(host: str, port: int, path: str, count: int) -> list[float]:
    connection = http.client.HTTPConnection(host, port, timeout=10)
    latencies = []
    for _ in range(count):
        began = time.perf_counter()
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        assert response.status == 200, response.status
        latencies.append(time.perf_counter() - began)
    connection.close()
    return latencies


def line(name: str, latencies: list[float]) -> tuple[str, float]:
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[int(len(ordered) * 0.99) - 1] * 1000
    rate = len(ordered) / sum(ordered)
    return f"{name:<12} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  {rate:7.0f} requests/s", p50


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen([str(ROOT / ".venv/bin/python"), "-m", "emulator", "--port",
                               str(port), "--quiet"], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        ecs = boto3.client("ecs", endpoint_url=endpoint, region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        for _ in range(100):
            try:
                ecs.list_clusters()
                break
            except Exception:
                time.sleep(0.1)
        ecs.create_cluster(clusterName="default")
        created = ecs.create_express_gateway_service(
            infrastructureRoleArn="arn:aws:iam::123456789012:role/infra", serviceName="bench",
            primaryContainer={"image": IMAGE, "containerPort": 8080, "command": SERVE},
        )["service"]
        door = urlsplit(created["activeConfigurations"][0]["ingressPaths"][0]["endpoint"])
        ecs.get_waiter("services_stable").wait(cluster="default", services=["bench"],
                                               WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        task = ecs.describe_tasks(cluster="default", tasks=ecs.list_tasks(
            cluster="default", serviceName="bench")["taskArns"])["tasks"][0]
        host_port = task["containers"][0]["networkBindings"][0]["hostPort"]
        timed_gets("127.0.0.1", host_port, "/", 100)  # warm up both paths
        timed_gets("127.0.0.1", door.port, door.path, 100)
        direct, direct_p50 = line("direct", timed_gets("127.0.0.1", host_port, "/",
                                                        args.requests))
        through, door_p50 = line("front door", timed_gets("127.0.0.1", door.port, door.path,
                                                          args.requests))
        print(f"{args.requests} sequential GETs of a {IMAGE} httpd page, "
              f"{os.cpu_count()} CPUs:")
        print(direct)
        print(through)
        print(f"front door / direct (p50): {door_p50 / direct_p50:.2f}x, "
              f"+{door_p50 - direct_p50:.2f} ms")
        ecs.delete_express_gateway_service(serviceArn=created["serviceArn"])
        for _ in range(100):
            if not ecs.list_tasks(cluster="default", desiredStatus="RUNNING")["taskArns"]:
                break
            time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())

"""Dashboard benchmark: what the page costs the emulator, and the browser, with 50 services and
500 tasks.

    .venv/bin/python scripts/bench/dashboard.py [--services 50] [--tasks-each 10] [--requests 200]

An emulator in this process on the in-memory FakeRuntime (the page's cost does not depend on
Docker; 500 real containers would measure Docker instead), 50 bridge services of 10 tasks each,
all RUNNING. Then:
- GET /_emulator/ui/api/summary: latency p50/p99 over --requests calls on one keep-alive
  connection, its size, and this process's CPU time per call (user + system);
- the same with If-None-Match, which an unchanged summary answers with 304 (what a page polling
  an idle emulator costs);
- in headless Chromium (when /usr/bin/chromium and chromedriver are there): from opening #/tasks
  until the 500 rows are in the table, and the time a poll takes to apply a change
  (the page's own JavaScript timing, performance.now(), around its render; the change: a
  service scaled from 10 to 9, so one task stops).
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import boto3  # noqa: E402

from emulator import app as app_module  # noqa: E402
from emulator.config import Settings  # noqa: E402
from emulator.pytest_plugin import start_server  # noqa: E402
from emulator.runtime.fake import FakeRuntime  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=50)
    parser.add_argument("--tasks-each", type=int, default=10)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    app_module._docker_runtime = lambda *_, **__: FakeRuntime()  # in memory, at once
    server = start_server(Settings(host="127.0.0.1", port=0, link_local_credentials=False))
    try:
        endpoint = f"http://127.0.0.1:{server.port}"
        total = populate(endpoint, args.services, args.tasks_each)
        print(f"{args.services} services, {total} tasks RUNNING")
        summary_figures(server.port, args.requests)
        browser_figures(endpoint, total)
    finally:
        server.stop()
    return 0


def populate(endpoint: str, services: int, each: int) -> int:
    ecs = boto3.client("ecs", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    ecs.create_cluster(clusterName="bench")
    ecs.register_task_definition(family="bench", containerDefinitions=[{
        "name": "main", "image": "bench:latest", "memory": 6,  # the fake host has 8 GiB
        "portMappings": [{"containerPort": 80, "hostPort": 0}]}])
    for number in range(services):
        ecs.create_service(cluster="bench", serviceName=f"svc-{number:02d}",
                           taskDefinition="bench", desiredCount=each)
    want = services * each
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        running = len(ecs.list_tasks(cluster="bench", desiredStatus="RUNNING",
                                     maxResults=100)["taskArns"])
        found = sum(s["runningCount"] for page in _pages(ecs, services)
                    for s in page["services"])
        if found >= want:
            return found
        time.sleep(0.5)
    raise SystemExit(f"only {found} of {want} tasks RUNNING ({running})")


def _pages(ecs, services: int):
    names = [f"svc-{n:02d}" for n in range(services)]
    for start in range(0, len(names), 10):
        yield ecs.describe_services(cluster="bench", services=names[start:start + 10])


def summary_figures(port: int, requests: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    path = "/_emulator/ui/api/summary?account=123456789012&region=us-east-1"
    for label, conditional in (("200 (full)", False), ("304 (unchanged)", True)):
        times, size, tag = [], 0, None
        connection.request("GET", path)
        first = connection.getresponse()
        tag = first.getheader("ETag")
        first.read()
        cpu_before = _cpu()
        for _ in range(requests):
            started = time.perf_counter()
            connection.request("GET", path, headers={"If-None-Match": tag} if conditional else {})
            response = connection.getresponse()
            body = response.read()
            times.append((time.perf_counter() - started) * 1000)
            size = len(body)
        cpu = (_cpu() - cpu_before) / requests * 1000
        times.sort()
        print(f"summary {label}: p50 {statistics.median(times):.2f} ms, "
              f"p99 {times[int(len(times) * 0.99) - 1]:.2f} ms, {size} bytes, "
              f"CPU {cpu:.2f} ms per call (server and client in this process)")
    connection.close()


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


def browser_figures(endpoint: str, total: int) -> None:
    if not (os.path.exists("/usr/bin/chromium") and os.path.exists("/usr/bin/chromedriver")):
        print("browser: skipped (no /usr/bin/chromium or /usr/bin/chromedriver)")
        return
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1400,1000",
                 f"--user-data-dir={tempfile.mkdtemp(prefix='bench-chromium-')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        started = time.perf_counter()
        driver.get(f"{endpoint}/_emulator/ui/#/tasks")
        rows = 0
        while rows < total and time.perf_counter() - started < 60:
            rows = driver.execute_script("return document.querySelectorAll('main tbody tr').length")
            time.sleep(0.02)
        print(f"browser: #/tasks shows {rows} rows {time.perf_counter() - started:.2f} s after "
              "opening the page")
        first = driver.execute_script("return window.__dashboardRenderMs || []")
        ecs = boto3.client("ecs", endpoint_url=endpoint, region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        changes = []
        for number in range(5):  # one task stops per change: the page re-renders one row
            seen = len(driver.execute_script("return window.__dashboardRenderMs"))
            ecs.update_service(cluster="bench", service=f"svc-{number:02d}", desiredCount=9)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                renders = driver.execute_script("return window.__dashboardRenderMs")
                if len(renders) > seen:
                    changes.append(renders[-1])
                    break
                time.sleep(0.05)
        print(f"browser: first render of {total} rows {first[0]:.1f} ms; a change's render "
              f"{statistics.median(changes):.1f} ms (median of {len(changes)})")
    finally:
        driver.quit()


if __name__ == "__main__":
    sys.exit(main())

"""Registry benchmark: our OCI registry against Debian's docker-registry (CNCF distribution).

    .venv/bin/python scripts/bench/registry.py [--rounds 7] [--image-mb 100] [--layers 5]
        [--blob-mb 100] [--part-mb 10] [--rss-mb 1024] [--skip docker,raw,rss]

Both registries run side by side in one run, each a process of its own on 127.0.0.1 with its
storage in a temporary directory (registry_sides.py); which one goes first alternates by round.
- docker: `docker push` then `docker pull` of a --image-mb, --layers image of random bytes
  (scripts/make-registry-test-image.sh). Each round pushes to a registry started on empty storage
  and a new port, so every layer is really uploaded (the script checks docker said "Pushed" for
  each); every local copy of the image is removed before the pull, so every layer is downloaded.
  MiB/s = the bytes of the manifest's layers / wall time of the docker command.
- raw: one --blob-mb blob of random bytes, uploaded monolithic (POST+PUT), chunked (PATCHes of
  --part-mb) and streamed (one PATCH, chunked transfer encoding, as docker sends it), and
  downloaded (GET), with http.client (registry_http.py); MiB/s over the whole exchange.
- rss: peak resident memory (VmHWM) of each registry process, started afresh, after --rss-mb
  pushed as one streamed PATCH and once more as a monolithic PUT.
With every timed figure goes the server's CPU time per 100 MiB, which load from other work on
the machine moves much less than wall time. Each timed operation starts after os.sync(), so the
writeback of what an earlier one wrote does not land in it.

Prints a table with ratios ours/distribution and writes it as markdown to results/registry.md.
Everything started is removed at the end: registry processes, their temporary directories, and
the images made, tagged or pulled.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import registry_http as client  # noqa: E402  (siblings, found through the path set above)
import registry_report as report  # noqa: E402
import servers  # noqa: E402
from registry_sides import Distribution, Ours, Registry, cpu_seconds, ensure_distribution, \
    status_kib  # noqa: E402

MIB = 1 << 20
MANIFEST_TYPES = ("application/vnd.docker.distribution.manifest.v2+json, "
                  "application/vnd.oci.image.manifest.v1+json")


def docker(*args: str, check: bool = True) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)}: {done.stderr.strip() or done.stdout}")
    return done.stdout


class Timed:
    """Wall time and the server's CPU time of what runs inside `with`. Each starts with nothing
    waiting to be written to disk (os.sync, untimed): what one operation left in the page cache
    (ours does not fsync; distribution does, inside its own time) is not written back in the
    middle of the next one."""

    def __init__(self, side: Registry):
        self.pid = side.pid

    def __enter__(self) -> "Timed":
        os.sync()
        self.cpu, self.started = cpu_seconds(self.pid), time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.started
        self.cpu = cpu_seconds(self.pid) - self.cpu


def record(table: report.Table, row: str, side: Registry, timed: Timed, size: int) -> None:
    table.add(row, side.name, size / MIB / timed.seconds, timed.cpu * 100 * MIB / size)


def alternate(sides: list[Registry], round_: int) -> list[Registry]:
    return sides if round_ % 2 == 0 else sides[::-1]


# -- docker push and pull -----------------------------------------------------------------------

def docker_rounds(sides: list[Registry], table: report.Table, args, run_id: str) -> None:
    source = f"bench-registry-src:{run_id}"
    script = servers.REPO / "scripts" / "make-registry-test-image.sh"
    subprocess.run([str(script), source, str(args.image_mb), str(args.layers)], check=True,
                   stdout=subprocess.DEVNULL)
    image_id = docker("image", "inspect", "-f", "{{.Id}}", source).strip()
    local = source
    try:
        for round_ in range(args.rounds):
            for side in alternate(sides, round_):
                local = push_and_pull(side.fresh(), table, local, image_id, args.layers,
                                      f"bench-{run_id}-{round_}")
            print(f"bench: docker round {round_ + 1}/{args.rounds} done", file=sys.stderr)
    finally:
        docker("image", "rm", "-f", image_id, check=False)


def push_and_pull(side: Registry, table: report.Table, local: str, image_id: str, layers: int,
                  repo: str) -> str:
    """Push the image (tagged `local`) to `repo`, remove it here, pull it back; the new tag."""
    ref = f"{side.host}/{repo}:latest"
    side.create_repository(repo)
    docker("tag", local, ref)
    with Timed(side) as push:
        out = docker("push", ref)
    _expect(out, "Pushed", layers, f"push of {ref}")
    size = _layers_size(side, repo)
    record(table, "docker push", side, push, size)
    docker("image", "rm", "-f", image_id)
    with Timed(side) as pull:
        out = docker("pull", ref)
    _expect(out, "Pull complete", layers, f"pull of {ref}")
    record(table, "docker pull", side, pull, size)
    return ref


def _expect(output: str, word: str, layers: int, what: str) -> None:
    """Every layer went over the wire: docker said `word` for each, never that one was there."""
    count = sum(1 for line in output.splitlines() if line.rstrip().endswith(word))
    if count != layers:
        raise RuntimeError(f"{what}: {count} of {layers} layers {word!r}:\n{output}")


def _layers_size(side: Registry, repo: str) -> int:
    import json

    connection = side.connection()
    try:
        connection.request("GET", f"/v2/{repo}/manifests/latest",
                           headers={"Accept": MANIFEST_TYPES})
        manifest = json.loads(connection.getresponse().read())
    finally:
        connection.close()
    return sum(layer["size"] for layer in manifest["layers"])


# -- raw blob uploads and downloads -------------------------------------------------------------

def raw_rounds(sides: list[Registry], table: report.Table, args) -> None:
    data = memoryview(os.urandom(args.blob_mb * MIB))
    digest = client.digest_of([data])
    into = memoryview(bytearray(len(data)))
    for side in sides:
        side.fresh()
    for round_ in range(args.rounds):
        for side in alternate(sides, round_):
            repos = {kind: f"raw-{round_}-{kind}" for kind in ("mono", "chunked", "streamed")}
            for repo in repos.values():
                side.create_repository(repo)
            connection = side.connection()
            try:
                with Timed(side) as timed:
                    client.monolithic(connection, repos["mono"], data, digest)
                record(table, "upload monolithic", side, timed, len(data))
                with Timed(side) as timed:
                    client.chunked(connection, repos["chunked"], data, digest, args.part_mb * MIB)
                record(table, "upload chunked", side, timed, len(data))
                with Timed(side) as timed:
                    client.streamed(connection, repos["streamed"], [data], digest)
                record(table, "upload streamed", side, timed, len(data))
                with Timed(side) as timed:
                    received = client.download(connection, repos["mono"], digest, into)
                record(table, "download", side, timed, received)
                if received != len(data) or into != data:
                    raise RuntimeError(f"{side.name}: the blob downloaded is not the one uploaded")
            finally:
                connection.close()
        print(f"bench: raw round {round_ + 1}/{args.rounds} done", file=sys.stderr)


# -- memory while a large layer is pushed -------------------------------------------------------

def rss_run(sides: list[Registry], args) -> dict[str, report.Memory]:
    block = memoryview(os.urandom(MIB))
    parts = lambda: (block for _ in range(args.rss_mb))  # noqa: E731
    digest = client.digest_of(parts())
    found = {}
    for side in sides:
        side.fresh()
        for repo in ("big-streamed", "big-mono"):
            side.create_repository(repo)
        rest = status_kib(side.pid, "VmRSS")
        connection = side.connection()
        try:
            started = time.perf_counter()
            client.streamed(connection, "big-streamed", parts(), digest)
            client.sized_stream(connection, "big-mono", parts(), args.rss_mb * MIB, digest)
            seconds = time.perf_counter() - started
        finally:
            connection.close()
        found[side.name] = report.Memory(rest / 1024, status_kib(side.pid, "VmHWM") / 1024,
                                         2 * args.rss_mb / seconds)
        side.stop()
    return found


# -- main ---------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # A plain `kill` must clean up as Ctrl-C does: the finally blocks stop what was started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    skip = {part.strip() for part in args.skip.split(",") if part.strip()}
    versions = {"distribution": ensure_distribution()}
    logs = servers.log_dir()
    print(f"bench: server logs in {logs}", file=sys.stderr)
    sides: list[Registry] = [Distribution(logs), Ours(logs)]
    table, memory = report.Table(), {}
    try:
        if "docker" not in skip:  # first: the noisiest, and the slowest to settle
            docker_rounds(sides, table, args, uuid.uuid4().hex[:8])
        if "raw" not in skip:
            raw_rounds(sides, table, args)
        if "rss" not in skip:
            memory = rss_run(sides, args)
    finally:
        for side in sides:
            side.close()
    versions["docker"] = docker("version", "--format", "{{.Server.Version}}", check=False).strip()
    print(report.text(table, memory))
    out = Path(__file__).resolve().parent / "results" / "registry.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(report.markdown(table, memory, args, versions))
    print(f"bench: wrote {out.relative_to(servers.REPO)}", file=sys.stderr)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--image-mb", type=int, default=100)
    parser.add_argument("--layers", type=int, default=5)
    parser.add_argument("--blob-mb", type=int, default=100)
    parser.add_argument("--part-mb", type=int, default=10)
    parser.add_argument("--rss-mb", type=int, default=1024)
    parser.add_argument("--skip", default="", help="comma-separated: docker, raw, rss")
    return parser


if __name__ == "__main__":
    sys.exit(main())

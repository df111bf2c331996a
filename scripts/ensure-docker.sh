#!/usr/bin/env bash
# Make sure a Docker Engine answers. On a developer's laptop one already does and this returns at
# once; on a bare Debian machine (CI) run as root, it installs docker.io and starts dockerd in the
# background, then waits until `docker info` succeeds.
set -euo pipefail

if docker info >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-docker: no Docker Engine answers, and this is not Debian as root; start one yourself." >&2
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "ensure-docker: installing docker.io" >&2
  apt-get update -qq
  # nftables brings libnftables.so.1, which the anti-spoofing guard on docker0 loads
  # (emulator/runtime/bridge_guard.py), and the `nft` its tests read the tables with; docker.io
  # does not depend on it.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io nftables >/dev/null
fi

log=${DOCKERD_LOG:-/var/log/dockerd.log}
echo "ensure-docker: starting dockerd (log: $log)" >&2
nohup dockerd >"$log" 2>&1 &

for _ in $(seq 1 120); do
  if docker info >/dev/null 2>&1; then
    echo "ensure-docker: Docker Engine is up" >&2
    exit 0
  fi
  sleep 0.5
done
echo "ensure-docker: dockerd did not come up; see $log" >&2
tail -n 30 "$log" >&2 || true
exit 1

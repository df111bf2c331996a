#!/usr/bin/env bash
# Make sure a Docker Engine answers. On a developer's laptop one already does and this returns at
# once; on a bare Debian machine (CI) run as root, it installs docker.io and starts dockerd in the
# background, then waits until `docker info` succeeds.
#
# Which docker.io: Debian 12 (bookworm) has Docker 20.10.24, whose daemon can deadlock when
# containers on one network leave it at once (moby/moby#42545, fixed in 20.10.27 and every later
# release; bookworm never took the fix): every later `docker start` hangs, and a test suite that
# starts and stops thousands of containers is where it shows (a CI run hung so: 88 tests timed out).
# So on bookworm this takes docker.io (Docker 26.1) from Debian 13 (trixie), through an apt source
# pinned at priority 100 so that nothing else comes from trixie unless named: docker.io (and the
# docker-cli it recommends), with bookworm's containerd (named: apt would otherwise take trixie's
# on a bare machine, and the suite is tested with this pair), runc, tini and iptables. A machine
# with Debian's dockerd older than 23, not running, gets the same upgrade before it is started;
# an engine that runs is never touched.
set -euo pipefail

if docker info >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-docker: no Docker Engine answers, and this is not Debian as root; start one yourself." >&2
  exit 1
fi

# Install docker.io when there is no dockerd, or when Debian's docker.io package gave one older
# than 23 (another vendor's engine is left as it is).
needs_docker_io() {
  command -v dockerd >/dev/null 2>&1 || return 0
  dpkg-query -W -f='${Status}' docker.io 2>/dev/null | grep -q "install ok installed" || return 1
  local major
  major=$(dockerd --version | sed -n 's/^Docker version \([0-9]*\)\..*/\1/p')
  [ "${major:-0}" -lt 23 ]
}

if needs_docker_io; then
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  packages=(docker.io)
  if [ "$codename" = bookworm ]; then
    cat >/etc/apt/sources.list.d/ecs-emulator-trixie.sources <<'SOURCES'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
    cat >/etc/apt/preferences.d/ecs-emulator-trixie <<'PIN'
Package: *
Pin: release n=trixie
Pin-Priority: 100
PIN
    packages=(docker.io/trixie containerd/bookworm)
  fi
  echo "ensure-docker: installing ${packages[*]}" >&2
  apt-get update -qq
  # nftables brings libnftables.so.1, which the anti-spoofing guard on docker0 loads
  # (emulator/runtime/bridge_guard.py), and the `nft` its tests read the tables with; docker.io
  # does not depend on it.
  DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 apt-get install -y -qq "${packages[@]}" nftables >/dev/null
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

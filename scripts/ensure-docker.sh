#!/usr/bin/env bash
# Make sure a Docker Engine answers. On a developer's laptop one already does and this returns at
# once; on a bare Debian machine (CI) run as root, it installs docker.io and starts dockerd in the
# background, then waits until `docker info` succeeds.
#
# Which docker.io: Debian 12 (bookworm) has Docker 20.10.24, whose daemon can deadlock when
# containers on one network leave it at once (moby/moby#42545, fixed in 20.10.27 and every later
# release; bookworm never took the fix): every later `docker start` hangs, and a test suite that
# starts and stops thousands of containers is where it shows (a CI run hung so: 88 tests timed out).
# So on bookworm this takes docker.io (Docker 26.1), with the docker-cli and docker-buildx it
# recommends, from Debian 13 (trixie) and its security updates: apt sources for trixie and
# trixie-security, pinned at 100 (nothing comes from them unless asked for) but for those three
# packages, pinned at 500 like bookworm's so that the newest version is taken, updates included.
# Their dependencies stay bookworm's (containerd 1.6, runc, tini, iptables: the suite is tested
# with that pair). On bookworm, Debian's dockerd older than 23, not running, gets the same upgrade
# before it is started; elsewhere an old one is said, not changed; an engine that runs (or only
# answers slowly) is never touched.
set -euo pipefail

# `docker info` of an engine that answers; bounded, as a deadlocked daemon may never answer.
answers() { timeout 20 docker info >/dev/null 2>&1; }

if answers; then
  exit 0
fi

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-docker: no Docker Engine answers, and this is not Debian as root; start one yourself." >&2
  exit 1
fi
if [ -s /var/run/docker.pid ] && kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
  echo "ensure-docker: a dockerd runs but does not answer within 20 s; see to it (its log," \
       "or restart it): not starting another" >&2
  exit 1
fi

codename=$( { [ -r /etc/os-release ] && . /etc/os-release; } || true; echo "${VERSION_CODENAME:-}")
docker_packages="docker.io docker-cli docker-buildx"

# Debian's dockerd older than 23 (0 when there is none, or another vendor's).
old_debian_dockerd() {
  command -v dockerd >/dev/null 2>&1 || return 1
  dpkg-query -W -f='${Status}' docker.io 2>/dev/null | grep -q "install ok installed" || return 1
  local major
  major=$(dockerd --version | sed -n 's/^Docker version \([0-9]*\)\..*/\1/p')
  [ "${major:-0}" -lt 23 ]
}

install=""
if ! command -v dockerd >/dev/null 2>&1; then
  install=yes
elif old_debian_dockerd; then
  if [ "$codename" = bookworm ]; then
    install=yes
  else
    echo "ensure-docker: this dockerd is Docker $(dockerd --version | cut -d' ' -f3 | tr -d ,)," \
         "older than 23 (20.10 before 20.10.27 can deadlock under many container starts and" \
         "stops, moby/moby#42545): starting it as it is" >&2
  fi
fi

if [ -n "$install" ]; then
  if [ "$codename" = bookworm ]; then
    cat >/etc/apt/sources.list.d/ecs-emulator-trixie.sources <<'SOURCES'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: trixie-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
    {
      for release in trixie trixie-security; do
        printf 'Package: %s\nPin: release n=%s\nPin-Priority: 500\n\n' "$docker_packages" "$release"
      done
      for release in trixie trixie-security; do
        printf 'Package: *\nPin: release n=%s\nPin-Priority: 100\n\n' "$release"
      done
    } >/etc/apt/preferences.d/ecs-emulator-trixie
  fi
  echo "ensure-docker: installing docker.io" >&2
  apt-get update -qq
  # nftables brings libnftables.so.1, which the anti-spoofing guard on docker0 loads
  # (emulator/runtime/bridge_guard.py), and the `nft` its tests read the tables with; docker.io
  # does not depend on it.
  DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 apt-get install -y -qq docker.io nftables >/dev/null
fi

log=${DOCKERD_LOG:-/var/log/dockerd.log}
echo "ensure-docker: starting dockerd (log: $log)" >&2
nohup dockerd >"$log" 2>&1 &

for _ in $(seq 1 120); do
  if answers; then
    echo "ensure-docker: Docker Engine is up" >&2
    exit 0
  fi
  sleep 0.5
done
echo "ensure-docker: dockerd did not come up; see $log" >&2
tail -n 30 "$log" >&2 || true
exit 1

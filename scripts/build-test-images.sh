#!/usr/bin/env bash
# Build the images our tests run, offline (no registry pull): from Debian packages, `docker import`ed.
#   ecs-emulator-test/busybox:latest        always: busybox-static's binary and its applet links
#   ecs-emulator-test/python-boto3:latest   with --python: a debootstrap'd Debian with python3-boto3
# Idempotent: an image that exists is left as it is (--rebuild replaces it). Needs root for
# apt-get and debootstrap, and a Docker Engine.
set -euo pipefail

BUSYBOX_IMAGE=ecs-emulator-test/busybox:latest
PYTHON_IMAGE=ecs-emulator-test/python-boto3:latest
SUITE=trixie

want_python=0
rebuild=0
for arg in "$@"; do
  case "$arg" in
    --python) want_python=1 ;;
    --rebuild) rebuild=1 ;;
    -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-test-images: unknown argument $arg (try --help)" >&2; exit 2 ;;
  esac
done

say() { echo "build-test-images: $*"; }

work=$(mktemp -d)
chmod 755 "$work"  # apt's _apt user downloads into it
trap 'rm -rf "$work"' EXIT

apt_updated=0
apt_update_once() {
  if [ "$apt_updated" = 0 ]; then
    say "apt-get update"
    apt-get update -qq
    apt_updated=1
  fi
}

needed() {  # needed IMAGE: true unless the image exists and no rebuild was asked
  if [ "$rebuild" = 0 ] && docker image inspect "$1" >/dev/null 2>&1; then
    say "$1 is present; kept"
    return 1
  fi
  return 0
}

# The Debian mirror apt uses here (first "deb" line or deb822 "URIs:" that is not a security one).
debian_mirror() {
  local files mirror
  files=$(ls /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  # shellcheck disable=SC2086
  mirror=$(cat $files 2>/dev/null \
    | sed -n -e 's/^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*\) .*/\2/p' -e 's/^URIs: *\([^ ]*\).*/\1/p' \
    | grep -E '/debian/?$' | grep -v security | head -n 1)
  echo "${mirror:-http://deb.debian.org/debian}"
}

build_busybox() {
  needed "$BUSYBOX_IMAGE" || return 0
  say "downloading busybox-static"
  if ! (cd "$work" && apt-get download -qq busybox-static 2>/dev/null); then
    apt_update_once
    (cd "$work" && apt-get download -qq busybox-static)
  fi
  local root="$work/busybox-root"
  dpkg -x "$work"/busybox-static_*.deb "$root"
  local busybox="$root/bin/busybox"
  [ -x "$busybox" ] || { echo "build-test-images: no /bin/busybox in busybox-static" >&2; exit 1; }
  # `busybox --install -s`, done from outside: a symlink to /bin/busybox for each applet.
  local applet
  for applet in $("$busybox" --list-full); do
    mkdir -p "$root/$(dirname "$applet")"
    [ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
  done
  mkdir -p "$root"/{etc,root,proc,sys,dev,var/www,home} "$root/tmp"
  chmod 1777 "$root/tmp"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  say "importing $BUSYBOX_IMAGE"
  tar -C "$root" --numeric-owner -c . \
    | docker import --change 'CMD ["sh"]' --change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' - "$BUSYBOX_IMAGE" >/dev/null
  say "built $BUSYBOX_IMAGE ($(docker image inspect -f '{{.Size}}' "$BUSYBOX_IMAGE") bytes)"
}

build_python() {
  needed "$PYTHON_IMAGE" || return 0
  if ! command -v debootstrap >/dev/null 2>&1; then
    apt_update_once
    say "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  fi
  local mirror root="$work/python-root"
  mirror=$(debian_mirror)
  say "debootstrap $SUITE from $mirror (a few minutes)"
  debootstrap --variant=minbase --include=python3-boto3 "$SUITE" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  say "importing $PYTHON_IMAGE"
  tar -C "$root" --numeric-owner -c . \
    | docker import --change 'CMD ["python3"]' \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$PYTHON_IMAGE" >/dev/null
  say "built $PYTHON_IMAGE ($(docker image inspect -f '{{.Size}}' "$PYTHON_IMAGE") bytes)"
}

build_busybox
if [ "$want_python" = 1 ]; then
  build_python
fi

#!/usr/bin/env bash
# Make sure skopeo is installed (the registry's tests copy OCI layouts and multi-arch indexes with
# it). Returns at once when it is; on Debian as root it installs the package; elsewhere it says
# how, and the tests that need it are skipped.
set -euo pipefail

if command -v skopeo >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-skopeo: skopeo is missing; install it (e.g. apt-get install skopeo)." >&2
  exit 0
fi
echo "ensure-skopeo: installing skopeo" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq skopeo >/dev/null

#!/usr/bin/env bash
# Make sure Docker Compose is installed (the README's docker-compose.yml is run by
# tests/test_container_image.py). Returns at once when `docker-compose` is there; on Debian as root
# it installs Debian's docker-compose (1.29); elsewhere it says how, and that test is skipped.
set -euo pipefail

if command -v docker-compose >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-compose: docker-compose is missing; install it (e.g. apt-get install docker-compose)." >&2
  exit 0
fi
echo "ensure-compose: installing docker-compose" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null

#!/usr/bin/env bash
# Make sure Debian's chromium and chromium-driver are installed (the dashboard's tests drive a
# headless Chromium with Selenium). Returns at once when they are; on Debian as root it installs
# them; elsewhere it says how, and the browser tests are skipped.
set -euo pipefail

if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: chromium or chromedriver is missing; install them (e.g. apt-get install chromium chromium-driver)." >&2
  exit 0
fi
echo "ensure-chromium: installing chromium and chromium-driver" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null

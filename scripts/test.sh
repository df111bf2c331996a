#!/usr/bin/env bash
# The test command (README and CI): on a fresh machine it makes a virtualenv, installs the package
# with its test extra, brings up a Docker Engine if none answers, builds the offline test images,
# and runs pytest with any arguments given, in pytest-xdist workers (PYTEST_WORKERS, default 3;
# `-n 0` among the arguments runs in one process).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'

scripts/ensure-docker.sh
if [ -x scripts/ensure-skopeo.sh ]; then
  scripts/ensure-skopeo.sh
fi
if [ -x scripts/ensure-compose.sh ]; then
  scripts/ensure-compose.sh
fi
if [ -x scripts/ensure-chromium.sh ]; then
  scripts/ensure-chromium.sh
fi
if [ -x scripts/build-test-images.sh ]; then
  scripts/build-test-images.sh
fi
if [ -x scripts/ensure-cdk.sh ]; then
  scripts/ensure-cdk.sh >/dev/null  # the CDK test's npm packages, cached outside the clone
fi

# The tests mostly wait (on Docker, on tasks' steadiness), so workers may outnumber cores (CI has
# two); --dist loadgroup (pyproject's addopts) keeps tests/groups.py's HOST group on one worker.
workers=(-n "${PYTEST_WORKERS:-3}")
for arg in "$@"; do
  case $arg in
    -n|-n*|--numprocesses|--numprocesses=*) workers=() ;;
  esac
done
exec .venv/bin/python -m pytest "${workers[@]}" "$@"

#!/usr/bin/env bash
# Build the emulator's container image (the Dockerfile at the root), offline but for PyPI: its
# base is the Debian with python3 that scripts/build-test-images.sh debootstraps
# (ecs-emulator-test/python-boto3, built once and kept, as the test images are); no registry
# pull. Docker's layer cache keeps the dependencies' layer until pyproject.toml changes.
#   scripts/build-image.sh [--tag NAME]   (default ecs-emulator:latest)
# Needs a Docker Engine; for the base, root with apt-get and debootstrap (as the test images).
set -euo pipefail
cd "$(dirname "$0")/.."

tag=ecs-emulator:latest
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) tag="$2"; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-image: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done

scripts/build-test-images.sh --python

# pip inside the build trusts what this host trusts (a TLS proxy in front of PyPI, say).
mkdir -p build
trap 'rm -f build/pip-ca.crt' EXIT
for bundle in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt; do
  if [ -f "$bundle" ]; then cp "$bundle" build/pip-ca.crt; break; fi
done

echo "build-image: docker build -t $tag ."
docker build -q --force-rm -t "$tag" \
  --label "org.opencontainers.image.source=ecs-emulator" \
  --label "org.opencontainers.image.revision=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  . >/dev/null
echo "build-image: built $tag ($(docker image inspect -f '{{.Size}}' "$tag") bytes)"

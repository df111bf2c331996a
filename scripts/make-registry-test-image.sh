#!/usr/bin/env bash
# Make a multi-layer image of random bytes, offline, for the registry's push/pull tests:
#   scripts/make-registry-test-image.sh IMAGE [TOTAL_MB] [LAYERS]
# A base layer is `docker import`ed from a tar of a random file; each further layer is a COPY of
# random files in a `docker build` FROM that base (no registry is contacted). Every image made
# carries the label ecs-emulator-test=registry so leftovers can be found and removed.
# Defaults: 100 MB in 4 layers (the base counts as one).
set -euo pipefail

image=${1:?usage: make-registry-test-image.sh IMAGE [TOTAL_MB] [LAYERS]}
total_mb=${2:-100}
layers=${3:-4}
label=ecs-emulator-test=registry
per_layer_kb=$(( total_mb * 1024 / layers ))

work=$(mktemp -d)
base="ecs-emulator-registry-base:$(basename "$work" | tr '[:upper:]' '[:lower:]')"
cleanup() {
  rm -rf "$work"
  docker image rm -f "$base" >/dev/null 2>&1 || true
}
trap cleanup EXIT

mkdir -p "$work/rootfs" "$work/context"
head -c "$(( per_layer_kb * 1024 ))" /dev/urandom >"$work/rootfs/base.bin"
tar -C "$work/rootfs" -cf "$work/base.tar" .
docker import --change "LABEL $label" "$work/base.tar" "$base" >/dev/null

{
  echo "FROM $base"
  for i in $(seq 2 "$layers"); do
    head -c "$(( per_layer_kb * 1024 ))" /dev/urandom >"$work/context/layer$i.bin"
    echo "COPY layer$i.bin /layer$i.bin"
  done
  echo "LABEL $label"
} >"$work/context/Dockerfile"

# The classic builder needs no buildx plugin and no network for a local base image.
DOCKER_BUILDKIT=0 docker build -q --label "$label" -t "$image" "$work/context" >/dev/null 2>&1 \
  || DOCKER_BUILDKIT=0 docker build --label "$label" -t "$image" "$work/context"
echo "$image"

#!/usr/bin/env bash
# The npm packages of the CDK test app (tests/cdk_app: aws-cdk-lib, constructs, the aws-cdk CLI),
# installed once per lockfile OUTSIDE the clone, so that CI's clean clone reuses them run after run:
# ~/.cache/ecs-emulator/cdk-node_modules-<lockfile hash>/node_modules (ECS_EMULATOR_CACHE moves it).
# Prints that node_modules directory. Without npm it prints nothing and succeeds: the CDK test
# then skips itself.
set -euo pipefail
cd "$(dirname "$0")/.."
app=tests/cdk_app

if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  echo "ensure-cdk: node/npm not found; the CDK test will be skipped" >&2
  exit 0
fi
hash=$(sha256sum "$app/package-lock.json" | cut -c1-16)
cache="${ECS_EMULATOR_CACHE:-$HOME/.cache/ecs-emulator}/cdk-node_modules-$hash"
if [ ! -x "$cache/node_modules/.bin/cdk" ]; then
  mkdir -p "$(dirname "$cache")"
  staging=$(mktemp -d "$cache.XXXXXX")
  cp "$app/package.json" "$app/package-lock.json" "$staging/"
  echo "ensure-cdk: npm ci into $cache" >&2
  (cd "$staging" && npm ci --no-audit --no-fund --loglevel=error >&2)
  rm -rf "$cache"
  mv "$staging" "$cache"  # whole or not at all: a run cut short leaves only a staging directory
fi
echo "$cache/node_modules"

#!/usr/bin/env bash
# Deletes the env's leftover instances (in the environment's VPC and carrying its tag) and its
# tagged disks, once its director env is destroyed; the checks and the waiting are in
# `cpi-ci cloud ensure-terminated` (docs/tasks.md).
set -euo pipefail

env_name=${DIRECTOR_ENV:-}
if [ -z "$env_name" ]; then
  if [ ! -s environment/name ]; then
    echo "ensure-terminated: DIRECTOR_ENV is empty and environment/name is missing: name the director env" >&2
    exit 1
  fi
  env_name=$(<environment/name)
fi
tag=${ENV_TAG:-director=$env_name}

args=(--metadata environment/metadata --tag "$tag" --env "$env_name"
  --bucket "${DIRECTOR_BUCKET:-}" --prefix "${DIRECTOR_PREFIX:-}" --pool "${DIRECTOR_POOL:-}"
  --oss-region "${DIRECTOR_BUCKET_REGION:-}" --timeout "${TIMEOUT:-10m}")
case "${ALLOW_NO_DIRECTOR_ENV:-false}" in
  true) args+=(--allow-no-env) ;;
  false) ;;
  *)
    echo "ensure-terminated: ALLOW_NO_DIRECTOR_ENV must be true or false, got '$ALLOW_NO_DIRECTOR_ENV'" >&2
    exit 1
    ;;
esac
exec cpi-ci cloud ensure-terminated "${args[@]}"

#!/usr/bin/env bash
# The scheduled cleanup: cpi-ci stemcell prune, release prune and director break-expired (under
# cpi-ci cloud exec, which resolves the credential style), and cpi-ci cloud ensure-terminated for
# a destroyed director env. Every part is tried; the task fails naming each that failed
# (docs/tasks.md, "cleanup").
set -euo pipefail

if [ -z "${BUCKET:-}" ]; then
  echo "cleanup: BUCKET is empty: name the bucket of the pack's resources" >&2
  exit 1
fi
region=${ALICLOUD_REGION:-}
endpoints=()
if [ -n "${ALICLOUD_OSS_ENDPOINT:-}" ]; then
  endpoints+=(--oss-endpoint "$ALICLOUD_OSS_ENDPOINT")
fi
ecs=()
if [ -n "${ALICLOUD_ECS_ENDPOINT:-}" ]; then
  ecs+=(--ecs-endpoint "$ALICLOUD_ECS_ENDPOINT")
fi
uploads=${UPLOADS_OLDER_THAN:-24h}

failed=()
part() {
  local what=$1
  shift
  echo "cleanup: $what" >&2
  if ! "$@"; then
    failed+=("$what")
  fi
}
# The credentials the style gives (RAM role, assumed role, STS or keys) as ALIBABA_CLOUD_*.
cloud=(cpi-ci cloud exec --as alibaba --)

for line in ${STEMCELLS:-}; do
  part "stemcell prune $line" "${cloud[@]}" cpi-ci stemcell prune --stemcell "$line" \
    --region "$region" --bucket "$BUCKET" --prefix "${STEMCELL_PREFIX:-}" \
    --image-bucket "${IMAGE_BUCKET:-$BUCKET}" --older-than "${STEMCELL_OLDER_THAN:-168h}" \
    --uploads-older-than "$uploads" "${ecs[@]}" "${endpoints[@]}"
done
for release in ${RELEASES:-}; do
  part "release prune $release" "${cloud[@]}" cpi-ci release prune --release "$release" \
    --region "$region" --bucket "$BUCKET" --prefix "${RELEASE_PREFIX:-}" --older-than "$uploads" \
    "${endpoints[@]}"
done
for pool in ${DIRECTOR_POOLS:-}; do
  part "director break-expired $pool" "${cloud[@]}" cpi-ci director break-expired \
    --region "$region" --bucket "$BUCKET" --prefix "${DIRECTOR_PREFIX:-}" --pool "$pool" \
    "${endpoints[@]}"
done

state=director-state
if [ -d "$state" ]; then
  if [ ! -s "$state/name" ]; then
    echo "cleanup: $state/name is missing: director-state must be a bosh-director-env get" >&2
    failed+=("sweep")
  else
    env_name=$(<"$state/name")
    if [ ! -e "$state/destroyed" ]; then
      echo "cleanup: director env $env_name is not destroyed: nothing to sweep" >&2
    elif ! jq -e '(.vpc_id // "") != ""' "$state/metadata" >/dev/null 2>&1; then
      echo "cleanup: director env $env_name was destroyed without a test environment's metadata: nothing to sweep" >&2
    else
      part "sweep $env_name" cpi-ci cloud ensure-terminated --metadata "$state/metadata" \
        --tag "director=$env_name" --env "$env_name" --bucket "$BUCKET" \
        --prefix "${DIRECTOR_PREFIX:-}" --pool "${DIRECTOR_POOL:-}" --timeout "${TIMEOUT:-10m}"
    fi
  fi
fi

if [ "${#failed[@]}" -gt 0 ]; then
  printf 'cleanup: failed: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "cleanup: done" >&2

#!/usr/bin/env bash
# Creates the test release (e2e-release, else the pack's tasks/e2e/release) with the real bosh,
# uploads it and the light stemcell to the director of director-state, updates the cloud-config
# and deploys the manifest `cpi-ci e2e` renders from environment/metadata, runs every errand,
# then deletes the deployment whatever happened (a failed errand still fails the task).
# test-reports/junit.xml has a case per step. The errands get the ERRAND_* credentials through
# a 0600 vars file; the provisioning credentials (ALICLOUD_*, ALIBABA_CLOUD_*) are dropped from
# the environment before bosh runs.
set -euo pipefail
export BOSH_NON_INTERACTIVE=true

reports="$PWD/test-reports"
pack="$PWD/concourse-pack"
state="$PWD/director-state"
environment="$PWD/environment"
for f in "$state/director.env" "$state/director.yml" "$environment/metadata"; do
  if [ ! -f "$f" ]; then
    echo "e2e: ${f#"$PWD/"} is missing (director-state: a bosh-director-env get; environment: the environment task's output)" >&2
    exit 1
  fi
done
# shellcheck source=../shared/stemcell.sh
source "$pack/tasks/shared/stemcell.sh"
stemcell_for_director e2e "$state/director.yml"

scratch=$(mktemp -d)
logs="$scratch/logs"
mkdir -p "$logs"
deployment=${DEPLOYMENT:?}
steps=()
deploying=false
finish() {
  local code=$?
  trap - EXIT
  if [ "$deploying" = true ]; then
    step delete-deployment bosh -d "$deployment" delete-deployment --force || code=1
  fi
  if [ "${#steps[@]}" -eq 0 ]; then steps=("prepare=$code"); fi
  cpi-ci e2e junit --logs "$logs" -o "$reports/junit.xml" "${steps[@]}" || code=1
  rm -rf "$scratch"
  exit "$code"
}
trap finish EXIT

# step NAME COMMAND...: runs COMMAND with its output redacted and kept as NAME's log.
step() {
  local name=$1 code
  shift
  set +e
  cpi-ci redact --env ERRAND_ACCESS_KEY_SECRET --env ERRAND_SECURITY_TOKEN --env BOSH_CLIENT_SECRET -- "$@" 2>&1 | tee "$logs/$name.log"
  code=${PIPESTATUS[0]}
  set -e
  steps+=("$name=$code")
  return "$code"
}

# The errands' credentials, checked and written before the provisioning ones are dropped.
vars="$scratch/errand-vars.yml"
cpi-ci e2e errand-vars -o "$vars"
for name in $(compgen -e); do
  case "$name" in ALICLOUD_* | ALIBABA_CLOUD_*) unset "$name" ;; esac
done

release="$scratch/release"
if [ -d e2e-release ]; then
  cp -a e2e-release "$release"
  for mapping in ${E2E_BLOBS:-}; do
    source=${mapping%%=*}
    path=${mapping#*=}
    if [ "$source" = "$mapping" ] || [ -z "$source" ] || [ -z "$path" ]; then
      echo "e2e: E2E_BLOBS: $mapping is not SOURCE=BLOB_PATH" >&2
      exit 1
    fi
    mapfile -t found < <(compgen -G "$source" || true)
    if [ "${#found[@]}" -ne 1 ] || [ ! -f "${found[0]}" ]; then
      echo "e2e: E2E_BLOBS: $source matches ${#found[@]} files, want one (is its input given?)" >&2
      exit 1
    fi
    blob="$PWD/${found[0]}"
    (cd "$release" && bosh add-blob "$blob" "$path")
  done
else
  cp -a "$pack/tasks/e2e/release" "$release"
  tar -czf "$scratch/aliyun-rpc-sdk.tar.gz" -C "$pack/tasks/e2e/sdk" aliyun_rpc
  (cd "$release" && bosh add-blob "$scratch/aliyun-rpc-sdk.tar.gz" aliyun_py/aliyun-rpc-sdk.tar.gz)
fi
version=${E2E_RELEASE_VERSION:-0+dev.$(date +%s)}
(cd "$release" && bosh create-release --force --version "$version" --tarball "$scratch/e2e-release.tgz")

cpi-ci e2e cloud-config --metadata "$environment/metadata" --instance-type "${E2E_INSTANCE_TYPE:?}" \
  --spot-instance-type "${E2E_SPOT_INSTANCE_TYPE:?}" >"$scratch/cloud-config.yml"
cpi-ci e2e manifest --release "$release" --release-version "$version" --metadata "$environment/metadata" \
  --stemcell stemcell --deployment "$deployment" >"$scratch/manifest.yml"
errand_list=$(cpi-ci e2e errands --release "$release")
mapfile -t errands <<<"$errand_list"

# shellcheck disable=SC1091 # the director-env resource's file: BOSH_ENVIRONMENT, BOSH_CLIENT, ...
source "$state/director.env"
bosh upload-release "$scratch/e2e-release.tgz"
bosh upload-stemcell "$stemcell"
bosh update-cloud-config "$scratch/cloud-config.yml"

deploying=true
if ! step deploy bosh -d "$deployment" deploy "$scratch/manifest.yml" -l "$vars"; then
  echo "e2e: bosh deploy failed" >&2
  exit 1
fi
failed=()
for errand in "${errands[@]}"; do
  step "$errand" bosh -d "$deployment" run-errand "$errand" || failed+=("$errand")
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "e2e: errands failed: ${failed[*]}" >&2
  exit 1
fi
echo "e2e: errands passed: ${errands[*]}"

#!/usr/bin/env bash
# director-config/director.yml and vars.yml for the director-env resource's create: the real
# bosh interpolate of bosh-deployment's bosh.yml with alicloud/cpi.yml, jumpbox-user.yml, the
# pack's ops (local CPI release and stemcell, bosh release, SSH tunnel, director RAM role) and
# OPS_FILES (cpi-ci director prepare). Credentials stay ((vars)); the SSH key stays a path.
set -euo pipefail

pack="$(cd "$(dirname "$0")" && pwd)"
args=(--bosh-deployment bosh-deployment --environment environment --cpi-release cpi-release
  --stemcell stemcell --pack-ops "$pack/ops" --output director-config
  --credential-source "${CREDENTIAL_SOURCE:-}" --credential-source-name CREDENTIAL_SOURCE
  --ram-role="${USE_RAM_ROLE:-true}" --ram-role-name USE_RAM_ROLE
  --allow-encrypted="${ALLOW_ENCRYPTED_LIGHT_STEMCELL:-false}")
if [ -d bosh-release ]; then
  args+=(--bosh-release bosh-release)
fi
read -r -a ops <<<"${OPS_FILES:-}"
for o in "${ops[@]}"; do
  args+=(--ops-file "$o")
done
exec cpi-ci director prepare "${args[@]}"

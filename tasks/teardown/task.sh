#!/usr/bin/env bash
# Deletes every deployment, every orphaned disk, the unused stemcells that are not light and the
# unused releases of the director in director-state; the listing and the choices are in
# `cpi-ci director teardown` (docs/tasks.md). bosh clean-up is never run: it would delete light
# stemcell images through the CPI.
set -euo pipefail

state=director-state
if [ -e "$state/destroyed" ]; then
  echo "teardown: the director env $(cat "$state/name" 2>/dev/null || true) is destroyed: nothing to tear down" >&2
  exit 0
fi
if [ ! -f "$state/director.env" ]; then
  echo "teardown: $state/director.env is missing: director-state must be a bosh-director-env get" >&2
  exit 1
fi
# director.env exports BOSH_ENVIRONMENT, BOSH_CLIENT, BOSH_CLIENT_SECRET, BOSH_CA_CERT (and the
# jumpbox's BOSH_ALL_PROXY); nothing here prints them.
# shellcheck disable=SC1091
source "$state/director.env"

args=()
if [ -f "$state/metadata" ]; then
  args+=(--metadata "$state/metadata")
fi
exec cpi-ci director teardown "${args[@]}"

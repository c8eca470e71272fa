#!/usr/bin/env bash
# Runs BATs (bundle exec rspec spec in the bats checkout) against the director of director-state,
# with the spec `cpi-ci bats spec` renders from environment/metadata and the stemcell. rspec
# writes its JSON report, `cpi-ci bats junit` turns it into test-reports/junit.xml whatever the
# outcome; the task fails when rspec does.
set -euo pipefail

reports="$PWD/test-reports"
pack="$PWD/concourse-pack"
state="$PWD/director-state"
environment="$PWD/environment"
for f in "$state/director.env" "$state/director.yml" "$environment/metadata" "$environment/ssh.key"; do
  if [ ! -f "$f" ]; then
    echo "bats: ${f#"$PWD/"} is missing (director-state: a bosh-director-env get; environment: the environment task's output)" >&2
    exit 1
  fi
done
# shellcheck source=../shared/stemcell.sh
source "$pack/tasks/shared/stemcell.sh"
stemcell_for_director bats "$state/director.yml"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
jumpbox=()
if [ -f "$state/jumpbox.key" ]; then jumpbox=(--jumpbox-key "$state/jumpbox.key"); fi
cpi-ci bats spec --metadata "$environment/metadata" --stemcell stemcell --ssh-key "$environment/ssh.key" \
  --instance-type "${BATS_INSTANCE_TYPE:?}" "${jumpbox[@]}" -o "$scratch/bats.yml"

# shellcheck disable=SC1091 # the director-env resource's file: BOSH_ENVIRONMENT, BOSH_CLIENT, ...
source "$state/director.env"
export BAT_INFRASTRUCTURE=alicloud
export BAT_STEMCELL="$stemcell"
export BAT_DEPLOYMENT_SPEC="$scratch/bats.yml"
BAT_BOSH_CLI=$(command -v bosh)
export BAT_BOSH_CLI
export BAT_DNS_HOST="$BOSH_ENVIRONMENT"
export BAT_PRIVATE_KEY="$environment/ssh.key"
if [ -n "${BAT_DEBUG_MODE:-}" ]; then export BAT_DEBUG_MODE; else unset BAT_DEBUG_MODE; fi
export BATS_SKIP_EXAMPLES="${BATS_SKIP_EXAMPLES:-}" BATS_SKIP_REASON="${BATS_SKIP_REASON:-}"

flags=()
for tag in ${BATS_SKIP_TAGS:-}; do flags+=(--tag "~$tag"); done
read -r -a extra <<<"${BATS_RSPEC_FLAGS:-}"

cd bats
# The image should carry BATs' gems; bundle install only when it does not.
if ! bundle check >/dev/null 2>&1; then
  bundle install
fi
# BATs logs its SSH options, private keys included: the keys' contents are redacted too.
BATS_SSH_KEY=$(cat "$environment/ssh.key")
BATS_JUMPBOX_KEY=""
if [ -f "$state/jumpbox.key" ]; then BATS_JUMPBOX_KEY=$(cat "$state/jumpbox.key"); fi
export BATS_SSH_KEY BATS_JUMPBOX_KEY
set +e
cpi-ci redact --env BOSH_CLIENT_SECRET --env BATS_SSH_KEY --env BATS_JUMPBOX_KEY -- bundle exec rspec spec "${flags[@]}" \
  --require "$pack/tasks/bats/skip_examples.rb" \
  --format BatsVerboseFormatter --format json --out "$reports/rspec.json" "${extra[@]}"
code=$?
set -e
cpi-ci bats junit --rspec-json "$reports/rspec.json" -o "$reports/junit.xml"
if [ "$code" -ne 0 ]; then
  echo "bats: rspec failed (exit $code); see test-reports/junit.xml" >&2
  exit "$code"
fi

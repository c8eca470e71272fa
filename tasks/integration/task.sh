#!/usr/bin/env bash
# The CPI's integration suite, as the CPI release's ci/tasks/run-integration.sh runs it: ginkgo v1
# (built from the CPI's own vendor directory when it has the CLI, else the task image's) runs the
# integration package under
# `cpi-ci integration`, which uploads the stemcell's raw image to the environment's integration
# bucket, hands the suite its CPI_* variables and resolved credentials in its environment, and
# deletes the upload whatever happens. test-reports/junit.xml is written pass or fail.
set -euo pipefail

root=$PWD
reports="$root/test-reports"
src="bosh-cpi-src/${CPI_SRC_DIR:?CPI_SRC_DIR must name the Go module inside bosh-cpi-src}"
if [ ! -f "$src/go.mod" ]; then
  echo "integration: CPI_SRC_DIR: no go.mod in $src" >&2
  exit 1
fi
for f in environment/metadata environment/name; do
  if [ ! -f "$f" ]; then
    echo "integration: the environment input has no ${f#environment/}" >&2
    exit 1
  fi
done

# The suite's own ginkgo when its vendor directory has the CLI (the version the module pins, built
# without the network); else the task image's, v1.16.5, the version the CPI's Makefile installs.
export ACK_GINKGO_RC=true ACK_GINKGO_DEPRECATIONS=1.16.5
bin="$root/.integration-bin"
mkdir -p "$bin"
if [ -d "$src/vendor/github.com/onsi/ginkgo/ginkgo" ]; then
  (cd "$src" && go build -mod=vendor -o "$bin/ginkgo" github.com/onsi/ginkgo/ginkgo)
  ginkgo="$bin/ginkgo"
elif version=$(ginkgo version 2>/dev/null) && [[ $version == "Ginkgo Version 1."* ]]; then
  ginkgo=$(command -v ginkgo)
  echo "integration: $src/vendor has no ginkgo CLI: running ${version%%$'\n'*} from the task image" >&2
else
  echo "integration: $src/vendor has no github.com/onsi/ginkgo/ginkgo (the ginkgo v1 CLI) and no ginkgo v1 is on PATH (the task image ships v1.16.5): vendor it (a tools.go importing it, then go mod vendor), or run on the task image" >&2
  exit 1
fi

read -r -a extra <<<"${GINKGO_ARGS:-}"
cd "$src"
# exec: SIGTERM (an aborted build) reaches cpi-ci, which stops the suite and deletes the upload.
# Serial on purpose: ginkgo v1's -reportFile reporter runs in every parallel node, each
# overwriting the report with its own specs.
exec cpi-ci integration \
  --metadata "$root/environment/metadata" --name-file "$root/environment/name" \
  --stemcell "$root/stemcell" --report "$reports/junit.xml" \
  --credential-source "$CPI_CREDENTIAL_SOURCE" -- \
  "$ginkgo" -mod=vendor -slowSpecThreshold=500 -progress -randomizeAllSpecs -randomizeSuites -v \
  -reportFile="$reports/junit.xml" "${extra[@]}" integration

#!/usr/bin/env bash
# go vet and go test over every package of the CPI's Go module but its integration ones, with the
# vendor directory when there is one. test-reports/junit.xml is written whether the tests pass or
# not (cpi-ci junit converts go test -json); the task fails when vet or a test fails.
set -euo pipefail

reports="$PWD/test-reports"
src="bosh-cpi-src/${CPI_SRC_DIR:?CPI_SRC_DIR must name the Go module inside bosh-cpi-src}"
if [ ! -f "$src/go.mod" ]; then
  echo "unit-tests: CPI_SRC_DIR: no go.mod in $src" >&2
  exit 1
fi
cd "$src"

# -trimpath: what is built does not depend on the scratch directory the task runs in, so a warm
# build cache is used whatever the directory (and reports show paths inside the module).
mod=(-trimpath)
if [ -d vendor ]; then
  mod+=(-mod=vendor)
fi
all=$(go list "${mod[@]}" ./...)
pkgs=()
while IFS= read -r pkg; do
  case "/$pkg/" in
    */integration/*) echo "unit-tests: skipping integration package $pkg" >&2 ;;
    *) pkgs+=("$pkg") ;;
  esac
done <<<"$all"
if [ "${#pkgs[@]}" -eq 0 ]; then
  echo "unit-tests: no packages to test in $src" >&2
  exit 1
fi

# go vet runs beside go test (both read the same build cache, which is safe to share); its
# output is shown once it is done, so the two never interleave.
vet_log=$(mktemp)
go vet "${mod[@]}" "${pkgs[@]}" >"$vet_log" 2>&1 &
vet_pid=$!
set +e
go test "${mod[@]}" -json "${pkgs[@]}" | cpi-ci junit -o "$reports/junit.xml"
status=("${PIPESTATUS[@]}")
wait "$vet_pid"
vet=$?
set -e
cat "$vet_log" >&2
rm -f "$vet_log"

if [ "${status[1]}" -ne 0 ]; then
  echo "unit-tests: the JUnit report could not be written" >&2
  exit 1
fi
if [ "$vet" -ne 0 ] || [ "${status[0]}" -ne 0 ]; then
  echo "unit-tests: failed (go vet exit $vet, go test exit ${status[0]})" >&2
  exit 1
fi

#!/usr/bin/env bash
# bosh create-release --force --tarball at version/number, into candidate/<name>-<version>.tgz
# and its .sha256. A failed create-release leaves candidate empty.
set -euo pipefail
export BOSH_NON_INTERACTIVE=true

candidate="$PWD/candidate"
blobs="$PWD/blobs"
version=$(cat version/number)
if [ -z "$version" ]; then
  echo "build-candidate: version/number is empty" >&2
  exit 1
fi
cd bosh-cpi-src

name=$(bosh interpolate config/final.yml --path /name 2>/dev/null || bosh interpolate config/final.yml --path /final_name 2>/dev/null || true)
if [ -z "$name" ]; then
  echo "build-candidate: config/final.yml in bosh-cpi-src has no name" >&2
  exit 1
fi

version_file=${VERSION_FILE_IN_SOURCE:-}
if [ -z "$version_file" ] && [ -f src/bosh-alicloud-cpi/release ]; then
  version_file=src/bosh-alicloud-cpi/release
fi
if [ -n "$version_file" ]; then
  echo "$version" >"$version_file"
fi

declare -A mapped=()
for mapping in ${BLOBS:-}; do
  file=${mapping%%=*}
  path=${mapping#*=}
  if [ "$file" = "$mapping" ] || [ -z "$file" ] || [ -z "$path" ]; then
    echo "build-candidate: BLOBS: $mapping is not FILE=BLOB_PATH" >&2
    exit 1
  fi
  if [ ! -f "$blobs/$file" ]; then
    echo "build-candidate: BLOBS: $file is not a file of the blobs input" >&2
    exit 1
  fi
  bosh add-blob "$blobs/$file" "$path"
  mapped[$file]=1
done
if [ -d "$blobs" ]; then
  for f in "$blobs"/*; do
    [ -e "$f" ] || continue
    if [ -z "${mapped[$(basename "$f")]:-}" ]; then
      echo "build-candidate: blobs input has $(basename "$f"), which BLOBS does not map to a blob path" >&2
      exit 1
    fi
  done
fi

tarball="$name-$version.tgz"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
bosh create-release --force --version "$version" --tarball "$scratch/$tarball"
(cd "$scratch" && cpi-ci sha256 "$tarball" >"$tarball.sha256")
mv "$scratch/$tarball" "$scratch/$tarball.sha256" "$candidate/"
echo "build-candidate: candidate/$tarball"

#!/usr/bin/env bash
# bosh finalize-release of the candidate at release-version/number in promoted/repo (a copy of
# bosh-cpi-src), a CHANGELOG entry, a commit; promoted/version and promoted/tag for a git put,
# promoted/<name>-<version>.tgz (bosh create-release of the final manifest) for a bosh-release put.
set -euo pipefail
export BOSH_NON_INTERACTIVE=true

promoted="$PWD/promoted"
version=$(cat release-version/number)
if [ -z "$version" ]; then
  echo "promote: release-version/number is empty" >&2
  exit 1
fi
shopt -s nullglob
candidates=(candidate/*.tgz)
if [ "${#candidates[@]}" -ne 1 ]; then
  echo "promote: want exactly one .tgz in candidate, found ${#candidates[@]}" >&2
  exit 1
fi
candidate="$PWD/${candidates[0]}"

export GIT_COMMITTER_NAME="${GIT_AUTHOR_NAME:?}" GIT_COMMITTER_EMAIL="${GIT_AUTHOR_EMAIL:?}"

repo="$promoted/repo"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch" "$repo/config/private.yml"' EXIT
cp -a bosh-cpi-src "$scratch/repo"
cd "$scratch/repo"

name=$(bosh interpolate config/final.yml --path /name 2>/dev/null || bosh interpolate config/final.yml --path /final_name 2>/dev/null || true)
if [ -z "$name" ]; then
  echo "promote: config/final.yml in bosh-cpi-src has no name" >&2
  exit 1
fi
if [ -n "${PRIVATE_YML:-}" ]; then
  (umask 077 && printf '%s\n' "$PRIVATE_YML" >config/private.yml)
fi

# The blobstore's credentials are in the environment: bosh's output passes through redaction.
cpi-ci redact --env PRIVATE_YML -- bosh finalize-release "$candidate" --version "$version"
rm -f config/private.yml

changelog=CHANGELOG.md
{
  echo "## $version"
  echo
  echo "Final release $name $version, promoted from $(basename "$candidate")."
  echo
  if [ -f "$changelog" ]; then cat "$changelog"; fi
} >"$scratch/changelog"
mv "$scratch/changelog" "$changelog"

git add -A
git commit -q -m "Final release $name $version"

if [ -n "${PRIVATE_YML:-}" ]; then
  (umask 077 && printf '%s\n' "$PRIVATE_YML" >config/private.yml)
fi
cpi-ci redact --env PRIVATE_YML -- bosh create-release "releases/$name/$name-$version.yml" --tarball "$scratch/$name-$version.tgz"
rm -f config/private.yml

echo "$version" >"$scratch/version"
echo "v$version" >"$scratch/tag"
mv "$scratch/repo" "$repo"
mv "$scratch/$name-$version.tgz" "$scratch/version" "$scratch/tag" "$promoted/"
echo "promote: $name $version committed in promoted/repo, promoted/$name-$version.tgz"

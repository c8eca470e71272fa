# Sourced by the tasks that upload the stemcell input to a director (bats, e2e): picks the
# stemcell tarball and refuses a light stemcell for a director whose CPI encrypts disks (its
# create_stemcell would copy the published image, its delete_stemcell delete the published one;
# docs/tasks.md, "The encrypted-disk guard"). ALLOW_ENCRYPTED_LIGHT_STEMCELL=true overrides.

# stemcell_for_director TASK MANIFEST sets stemcell to the absolute path of stemcell/stemcell.tgz,
# or of the one *.tgz in stemcell, and runs the guard against MANIFEST (the director's
# director.yml); it exits 1 naming the problem.
stemcell_for_director() {
  local task=$1 manifest=$2 found
  shopt -s nullglob
  found=(stemcell/stemcell.tgz)
  [ -f "${found[0]}" ] || found=(stemcell/*.tgz)
  shopt -u nullglob
  if [ "${#found[@]}" -ne 1 ]; then
    echo "$task: want stemcell/stemcell.tgz or exactly one *.tgz in stemcell, found ${#found[@]}" >&2
    exit 1
  fi
  stemcell="$PWD/${found[0]}"
  local allow=()
  if [ "${ALLOW_ENCRYPTED_LIGHT_STEMCELL:-false}" = true ]; then allow=(--allow-encrypted); fi
  cpi-ci stemcell guard --stemcell "$stemcell" --manifest "$manifest" "${allow[@]}"
}

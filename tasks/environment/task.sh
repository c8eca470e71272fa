#!/usr/bin/env bash
# terraform apply or destroy of a test environment (docs/tasks.md, "environment"): the config
# of the terraform input (or the pack's own) in a work copy, its state in OSS through terraform's
# oss backend, the whole run under cpi-ci cloud lock; terraform under cpi-ci cloud exec
# (credentials in its environment, its output redacted). environment/ gets metadata, name and
# ssh.key, and only when everything worked.
set -euo pipefail

fail() {
  echo "environment: $*" >&2
  if [ "${state_not_private:-false}" = true ]; then
    echo "environment: and the state could not be made private (see above)" >&2
  fi
  exit 1
}

if [ "${1:-}" != locked ]; then
  case "${ACTION:-}" in
    apply | destroy) ;;
    *) fail "ACTION: expected apply or destroy, got '${ACTION:-}'" ;;
  esac
  case "${DELETE_ON_FAILURE:-}" in
    true | false) ;;
    *) fail "DELETE_ON_FAILURE: expected true or false, got '${DELETE_ON_FAILURE:-}'" ;;
  esac
  if [ -n "${ENV_NAME:-}" ] && [ -n "${ENV_NAME_FILE:-}" ]; then
    fail "set ENV_NAME or ENV_NAME_FILE, not both"
  elif [ -n "${ENV_NAME_FILE:-}" ]; then
    [ -f "$ENV_NAME_FILE" ] || fail "ENV_NAME_FILE: no file $ENV_NAME_FILE in the task's working dir"
    name=$(cat "$ENV_NAME_FILE")
    [ -n "$name" ] || fail "ENV_NAME_FILE: $ENV_NAME_FILE is empty"
  elif [ -n "${ENV_NAME:-}" ]; then
    name=$ENV_NAME
  else
    fail "set ENV_NAME (the environment's name) or ENV_NAME_FILE (a file holding it, e.g. director-state/name)"
  fi
  [[ "$name" =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$ ]] || fail "the environment's name '$name': expected letters, digits, '.', '_' and '-', at most 63"
  [ -n "${STATE_BUCKET:-}" ] || fail "STATE_BUCKET: set the bucket that holds the terraform state"
  [ -n "${ALICLOUD_REGION:-}" ] || fail "ALICLOUD_REGION: set the region the environment lives in"
  if [ "$ACTION" = apply ] && [ -z "${INSTANCE_TYPES//[ ,]/}" ]; then
    fail "INSTANCE_TYPES: set the instance types the environment needs in stock (comma-separated), e.g. ecs.g6.large"
  fi

  dir=${TERRAFORM_DIR:-}
  dir=${dir#/}
  dir=${dir%/}
  case "/$dir/" in */../*) fail "TERRAFORM_DIR '$TERRAFORM_DIR': expected a directory inside the terraform input" ;; esac
  if [ -d terraform ]; then
    config="$PWD/terraform${dir:+/$dir}"
    [ -d "$config" ] || fail "TERRAFORM_DIR '$dir': no such directory in the terraform input"
  elif [ -n "$dir" ]; then
    fail "TERRAFORM_DIR '$dir' is set, but the terraform input is not given"
  else
    config="$PWD/concourse-pack/tasks/environment/terraform"
  fi
  shopt -s nullglob
  tf_files=("$config"/*.tf "$config"/*.tf.json)
  shopt -u nullglob
  [ "${#tf_files[@]}" -gt 0 ] || fail "no .tf files in ${config#"$PWD"/}"

  state_prefix="${STATE_PREFIX:-}"
  state_prefix="${state_prefix#/}"
  state_prefix="${state_prefix%/}${state_prefix:+/}$name"
  export ENVIRONMENT_NAME="$name" ENVIRONMENT_CONFIG="$config" ENVIRONMENT_OUT="$PWD/environment"
  export ENVIRONMENT_STATE_PREFIX="$state_prefix" ENVIRONMENT_STATE_REGION="${STATE_REGION:-$ALICLOUD_REGION}"
  echo "environment: $ACTION of $name, config ${config#"$PWD"/}, state oss://$STATE_BUCKET/$state_prefix/terraform.tfstate"
  exec cpi-ci cloud lock --bucket "$STATE_BUCKET" --key "$state_prefix/lock" --oss-region "$ENVIRONMENT_STATE_REGION" \
    --holder "environment $ACTION of $name on ${HOSTNAME:-unknown host}" -- "$0" locked
fi

# Under the lock from here on.
name=$ENVIRONMENT_NAME
out=$ENVIRONMENT_OUT
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -a "$ENVIRONMENT_CONFIG" "$work/config"
rm -rf "$work/config/.terraform" "$work/config"/terraform.tfstate*
# The task decides where the state lives: an override file replaces any backend block of the
# config with terraform's oss backend, configured below.
cat >"$work/config/zz_concourse_pack_backend_override.tf" <<'HCL'
terraform {
  backend "oss" {}
}
HCL
cd "$work/config"
export TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1

backend=(
  "-backend-config=bucket=$STATE_BUCKET"
  "-backend-config=prefix=$ENVIRONMENT_STATE_PREFIX"
  "-backend-config=key=terraform.tfstate"
  "-backend-config=region=$ENVIRONMENT_STATE_REGION"
  "-backend-config=acl=private"
)
if [ -n "${ALICLOUD_OSS_ENDPOINT:-}" ]; then
  backend+=("-backend-config=endpoint=${ALICLOUD_OSS_ENDPOINT//\{region\}/$ENVIRONMENT_STATE_REGION}")
fi
if [ "$ACTION" = apply ]; then
  # Before init: without stock nothing is touched.
  types=${INSTANCE_TYPES// /,}
  zone=$(cpi-ci cloud zone --instance-types "$types")
  echo "environment: zone $zone has $types in stock"
fi
cpi-ci cloud exec -- cpi-ci terraform init --attempts "${INIT_ATTEMPTS:-4}" --max-time "${INIT_MAX_TIME:-10m}" -- \
  -input=false -no-color -reconfigure "${backend[@]}"
if [ "$ACTION" = destroy ]; then
  # The zone the state was applied with, so destroy does not depend on today's stock.
  zone=$(cpi-ci cloud exec -- cpi-ci terraform output zone)
  echo "environment: zone ${zone:-(none: the state has no zone output)} from the state"
fi
vars=(-var "env_name=$name" -var "region=$ALICLOUD_REGION" -var "zone=$zone")

# terraform apply or destroy, then the state object made private: the backend's acl=private
# does not reach OSS (docs/tasks.md). Returns terraform's exit code.
terraform_run() {
  local code=0
  cpi-ci cloud exec -- terraform "$@" -auto-approve -input=false -no-color "${vars[@]}" || code=$?
  # Called in conditions, where set -e does not apply: a failure is remembered and fails the task.
  if ! cpi-ci terraform private-state --bucket "$STATE_BUCKET" --key "$ENVIRONMENT_STATE_PREFIX/terraform.tfstate" \
    --oss-region "$ENVIRONMENT_STATE_REGION"; then
    state_not_private=true
  fi
  return "$code"
}
state_not_private=false

if [ "$ACTION" = apply ]; then
  if ! terraform_run apply; then
    if [ "$DELETE_ON_FAILURE" = true ]; then
      echo "environment: apply failed; DELETE_ON_FAILURE=true: destroying what it made" >&2
      if ! terraform_run destroy; then
        fail "apply failed, and so did the destroy after it: resources may be left, the state is in oss://$STATE_BUCKET/$ENVIRONMENT_STATE_PREFIX/"
      fi
      fail "apply failed (what it made is destroyed)"
    fi
    fail "apply failed; DELETE_ON_FAILURE=false: what it made is left, the state is in oss://$STATE_BUCKET/$ENVIRONMENT_STATE_PREFIX/"
  fi
  key=()
  if [ -n "${SSH_KEY_OUTPUT:-}" ]; then
    key=(--ssh-key "$work/ssh.key" --ssh-key-output "$SSH_KEY_OUTPUT" --require-ssh-key)
  fi
else
  terraform_run destroy || fail "destroy failed: the state is in oss://$STATE_BUCKET/$ENVIRONMENT_STATE_PREFIX/"
  key=()
fi

[ "$state_not_private" = false ] || fail "the state oss://$STATE_BUCKET/$ENVIRONMENT_STATE_PREFIX/terraform.tfstate could not be made private"
cpi-ci cloud exec -- cpi-ci terraform outputs --metadata "$work/metadata" "${key[@]}"
printf '%s\n' "$name" >"$work/name"
for f in metadata ssh.key name; do
  if [ -e "$work/$f" ]; then mv "$work/$f" "$out/$f"; fi
done
echo "environment: $ACTION of $name done"

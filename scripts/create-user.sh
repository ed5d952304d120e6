#!/usr/bin/env bash
# Create a user who may log in at the gateway (POST /api/v1/auth/login with HTTP Basic).
#   scripts/create-user.sh --username rita [--role reader|admin]
# The password is read from NEW_USER_PASSWORD if set, else asked for (twice, not echoed) on a
# terminal, else read as one line from standard input:
#   NEW_USER_PASSWORD='s3cret-pass' scripts/create-user.sh --username ops --role admin
#   printf '%s\n' 's3cret-pass' | scripts/create-user.sh --username rita
# The gateway's database is GATEWAY_DATABASE_URL, else the one setup/startup.sh recorded in
# $PLATFORM_RUNTIME_DIR/platform.env (default .runtime/platform). Passwords need 8+ characters;
# an existing user name is refused, so rerunning for the same user changes nothing.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

env_file="${PLATFORM_RUNTIME_DIR:-$repo/.runtime/platform}/platform.env"
if [[ -z ${GATEWAY_DATABASE_URL:-} && -f $env_file ]]; then
  GATEWAY_DATABASE_URL=$(sed -n 's/^GATEWAY_DATABASE_URL=//p' "$env_file" | tail -n 1)
  [[ -n $GATEWAY_DATABASE_URL ]] && echo "using the gateway database from $env_file" >&2
fi
[[ -n ${GATEWAY_DATABASE_URL:-} ]] && export GATEWAY_DATABASE_URL

if [[ -z ${NEW_USER_PASSWORD:-} && -t 0 ]]; then
  read -r -s -p "Password: " first; echo >&2
  read -r -s -p "Password (again): " second; echo >&2
  if [[ $first != "$second" ]]; then
    echo "create-user: the passwords differ" >&2
    exit 1
  fi
  NEW_USER_PASSWORD=$first
fi
[[ -n ${NEW_USER_PASSWORD:-} ]] && export NEW_USER_PASSWORD

profile="${GATEWAY_PROFILE:-release}"
bin="$repo/target/$profile/gateway"
if [[ ! -x $bin ]]; then
  echo "Building the gateway (first use only)..." >&2
  flag=(); [[ $profile == release ]] && flag=(--release)
  (cd "$repo" && cargo build "${flag[@]}" -p gateway >&2)
fi
echo "creating the user" >&2
exec "$bin" create-user "$@"

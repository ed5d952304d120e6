#!/usr/bin/env bash
# Snapshot a resource: emit an `r` event for each of its live rows (all, a key range, or those
# a listing filter selects) while writes go on, and watch it with a progress bar.
#
#   scripts/snapshot.sh customers                          # every live customer
#   scripts/snapshot.sh movies --where genre=drama         # the listing's filters, repeatable
#   scripts/snapshot.sh orders --from ID --to ID --chunk-size 500
#   scripts/snapshot.sh customers --no-wait                # start it and print its id
#   scripts/snapshot.sh customers --status|--pause|--resume|--cancel SNAPSHOT_ID
#   scripts/snapshot.sh customers --list
#
# Resources: customers, movies, casts, orders. Ctrl-C stops watching, not the snapshot: it runs
# in the API, survives restarts, and `--status ID` shows it again.
#
# Environment: GATEWAY_URL (default http://127.0.0.1:8080, the platform's front door); TOKEN, a
# bearer token with role admin, else a login as ADMIN_USER (default admin) with ADMIN_PASSWORD,
# else with the password setup/startup.sh kept in $PLATFORM_RUNTIME_DIR/secrets/admin_password
# (default .runtime/platform).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

usage() { sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { echo "snapshot: $*" >&2; exit 1; }

[[ $# -ge 1 ]] || { usage >&2; exit 2; }
case $1 in
-h | --help) usage; exit 0 ;;
customers | movies | casts | orders) resource=$1 ;;
*) die "unknown resource '$1' (customers, movies, casts or orders)" ;;
esac
shift

gateway=${GATEWAY_URL:-http://127.0.0.1:8080}
collection="$gateway/api/v1/$resource/snapshots"
action=start wait=1 id="" chunk_size="" from="" to=""
declare -a where=()
while [[ $# -gt 0 ]]; do
    case $1 in
    --where) [[ $# -ge 2 && $2 == *=* ]] || die "--where takes NAME=VALUE"; where+=("$2"); shift 2 ;;
    --from) from=${2:?--from takes an id}; shift 2 ;;
    --to) to=${2:?--to takes an id}; shift 2 ;;
    --chunk-size) chunk_size=${2:?--chunk-size takes a number}; shift 2 ;;
    --no-wait) wait=0; shift ;;
    --list) action=list; shift ;;
    --status | --pause | --resume | --cancel) action=${1#--}; id=${2:?$1 takes a snapshot id}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
    esac
done

command -v curl >/dev/null || die "curl is needed"
command -v python3 >/dev/null || die "python3 is needed (to read the API's JSON)"

# The value at a dotted path of a JSON document on stdin ("" for null).
json() {
    python3 -c 'import json,sys
value = json.load(sys.stdin)
for part in sys.argv[1].split("."):
    value = value[int(part)] if isinstance(value, list) else value.get(part)
print("" if value is None else value)' "$1"
}

token() {
    if [[ -n ${TOKEN:-} ]]; then echo "$TOKEN"; return; fi
    local password=${ADMIN_PASSWORD:-}
    local kept="${PLATFORM_RUNTIME_DIR:-$repo/.runtime/platform}/secrets/admin_password"
    if [[ -z $password && -r $kept ]]; then password=$(<"$kept"); fi
    [[ -n $password ]] || die "set TOKEN, or ADMIN_PASSWORD to log in at $gateway"
    curl -fsS -X POST -u "${ADMIN_USER:-admin}:$password" "$gateway/api/v1/auth/login" | json token ||
        die "login at $gateway/api/v1/auth/login failed"
}
auth="Authorization: Bearer $(token)"

# Calls the API; prints the body, or the platform's error message and fails.
call() {
    local method=$1 url=$2 body=${3:-} out status
    out=$(mktemp)
    local args=(-sS -o "$out" -w '%{http_code}' -X "$method" -H "$auth")
    [[ -n $body ]] && args+=(-H 'Content-Type: application/json' --data "$body")
    status=$(curl "${args[@]}" "$url") || { rm -f "$out"; die "$gateway does not answer"; }
    if [[ $status != 2* ]]; then
        echo "snapshot: HTTP $status: $(cat "$out")" >&2
        rm -f "$out"
        exit 1
    fi
    cat "$out"
    rm -f "$out"
}

show() {
    python3 -c 'import json,sys
s = json.load(sys.stdin)
print(f"{s[\"id\"]}  {s[\"state\"]:<9}  {s[\"rows_done\"]}/{s[\"rows_total\"]} rows  {s[\"chunks_done\"]} chunks  started {s[\"created_at\"]}"
      + (f"  error: {s[\"error\"]}" if s.get("error") else ""))'
}

# One line of progress, redrawn in place on a terminal.
bar() {
    local rows=$1 total=$2 state=$3 width=40 filled percent
    if ((total > 0)); then percent=$((rows * 100 / total)); else percent=100; fi
    ((percent > 100)) && percent=100
    filled=$((percent * width / 100))
    local line
    line=$(printf '[%-*s] %3d%%  %d/%d rows  %s' "$width" "$(printf '%*s' "$filled" '' | tr ' ' '#')" \
        "$percent" "$rows" "$total" "$state")
    if [[ -t 1 ]]; then printf '\r%s' "$line"; else echo "$line"; fi
}

watch() {
    local url="$collection/$1" snapshot state rows total last=""
    echo "watching $url (Ctrl-C stops watching; the snapshot goes on)"
    while :; do
        snapshot=$(call GET "$url")
        state=$(json state <<<"$snapshot")
        rows=$(json rows_done <<<"$snapshot")
        total=$(json rows_total <<<"$snapshot")
        if [[ -t 1 || "$rows/$state" != "$last" ]]; then bar "$rows" "$total" "$state"; fi
        last="$rows/$state"
        case $state in
        done) [[ -t 1 ]] && echo; echo "snapshot $1 done: $rows rows emitted as r events"; return 0 ;;
        cancelled | failed) [[ -t 1 ]] && echo; die "snapshot $1 $state $(json error <<<"$snapshot")" ;;
        esac
        sleep 1
    done
}

case $action in
list)
    call GET "$collection" | python3 -c 'import json,sys
for s in json.load(sys.stdin)["items"]: print(json.dumps(s))' | while read -r line; do show <<<"$line"; done
    ;;
status) call GET "$collection/$id" | show ;;
pause | resume | cancel) call POST "$collection/$id/$action" | show ;;
start)
    body=$(python3 -c 'import json,sys
start, end, size, filters = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
body = {"filter": dict(f.split("=", 1) for f in filters)}
if start: body["from_id"] = start
if end: body["to_id"] = end
if size: body["chunk_size"] = int(size)
print(json.dumps(body))' "$from" "$to" "$chunk_size" ${where[@]+"${where[@]}"} 2>/dev/null) ||
        die "--chunk-size takes a number"
    snapshot=$(call POST "$collection" "$body")
    id=$(json id <<<"$snapshot")
    echo "snapshot $id of $resource started: $(json rows_total <<<"$snapshot") live rows in scope"
    if ((wait)); then watch "$id"; fi
    ;;
esac

#!/usr/bin/env bash
# Rebuild the MongoDB read model from offset 0 into a fresh database.
#
#   scripts/resync-replica.sh [TARGET_DATABASE]
#
# Replays every aggregate topic from the beginning with a new consumer group into
# TARGET_DATABASE (default replica_resync_<timestamp>; dropped first if it exists), exits once
# every partition is caught up, and prints how to point readers at the result. The live
# replicator and its database are not touched. Environment: MONGODB_URI,
# KAFKA_BOOTSTRAP_SERVERS, REPLICATOR_TOPICS, TOPIC_PREFIX (as for the replicator).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

target="${1:-replica_resync_$(date +%Y%m%d%H%M%S)}"
group="replicator-resync-$(date +%s)"
profile="${RESYNC_PROFILE:-release}"
bin="$repo/target/$profile/replicator"
if [ ! -x "$bin" ]; then
  echo "Building the replicator..." >&2
  flag=(); [ "$profile" = "release" ] && flag=(--release)
  (cd "$repo" && cargo build "${flag[@]}" -p replicator >&2)
fi

echo "Resyncing into database '$target' (group $group) ..."
REPLICATOR_ADDR="${RESYNC_ADDR:-127.0.0.1:0}" \
REPLICATOR_GROUP="$group" \
MONGODB_DATABASE="$target" \
LOG_FORMAT="${LOG_FORMAT:-text}" \
  "$bin" --resync
echo "Done: '$target' holds the read model rebuilt from offset 0."
echo "Point readers (and the replicator, MONGODB_DATABASE=$target) at it to switch over."

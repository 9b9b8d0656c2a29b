#!/usr/bin/env bash
# Print whether the local test services answer. Exit 0 only if all four do.
set -euo pipefail
# shellcheck source=services/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

rc=0
pid_note() { local p; p="$(read_pid "$1" "$2" || true)"; [[ -n "$p" ]] && printf ' (pid %s)' "$p"; return 0; }

if redis_answers; then
  echo "redis  up    redis://$HOST:$REDIS_PORT$(pid_note "$REDIS_PID" "$REDIS_PATTERN")"
else
  echo "redis  down  redis://$HOST:$REDIS_PORT"; rc=1
fi
if redis_cluster_ok; then
  echo "redis cluster  up    $REDIS_CLUSTER_NODES (cluster_state:ok)"
else
  echo "redis cluster  down  $REDIS_CLUSTER_NODES"; rc=1
fi
if kafka_answers; then
  echo "kafka  up    $HOST:$KAFKA_PORT$(pid_note "$KAFKA_PID" "$KAFKA_PATTERN")"
else
  state=down
  [[ -n "$(pid_note "$KAFKA_PID" "$KAFKA_PATTERN")" ]] && state=starting
  echo "kafka  $state  $HOST:$KAFKA_PORT$(pid_note "$KAFKA_PID" "$KAFKA_PATTERN")"; rc=1
fi
if alertmanager_answers; then
  echo "alertmanager  up    http://$HOST:$ALERTMANAGER_PORT$(pid_note "$ALERTMANAGER_PID" "$ALERTMANAGER_PATTERN")"
else
  echo "alertmanager  down  http://$HOST:$ALERTMANAGER_PORT"; rc=1
fi
exit "$rc"

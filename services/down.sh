#!/usr/bin/env bash
# Stop the local test services started by services/up.sh. Idempotent.
#   --clean               also delete Kafka's data (topics, offsets, cluster id), Redis' dir, the Redis Cluster's dirs and Alertmanager's data
#   --kafka-only          stop only Kafka (used by up.sh when the Kafka jars change)
#   --redis-only          stop only Redis
#   --redis-cluster-only  stop only the Redis Cluster's nodes
#   --alertmanager-only   stop only Alertmanager
# Downloaded jars (.services/kafka/libs) are kept; `rm -rf .services` removes everything.
set -euo pipefail
# shellcheck source=services/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

clean=0 do_kafka=1 do_redis=1 do_redis_cluster=1 do_alertmanager=1
for arg in "$@"; do
  case "$arg" in
    --clean) clean=1 ;;
    --kafka-only) do_redis=0 do_redis_cluster=0 do_alertmanager=0 ;;
    --redis-only) do_kafka=0 do_redis_cluster=0 do_alertmanager=0 ;;
    --redis-cluster-only) do_kafka=0 do_redis=0 do_alertmanager=0 ;;
    --alertmanager-only) do_kafka=0 do_redis=0 do_redis_cluster=0 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) die "unknown argument: $arg (see --help)" ;;
  esac
done
STOP_TIMEOUT="${KLAXON_SERVICES_STOP_TIMEOUT:-30}"

# stop NAME PIDFILE PATTERN [SEARCH]: SIGTERM, wait up to STOP_TIMEOUT s, then SIGKILL.
# SEARCH=no: only the process its pid file names (a cluster node's title names its port, not its
# state dir: a search stopped the cluster of another state dir on the same ports, e.g. a test's
# private services stopping the shared cluster).
stop() {
  local name="$1" pidfile="$2" pattern="$3" search="${4:-yes}" pids pid deadline alive
  pids="$(read_pid "$pidfile" "$pattern" || true)"
  # Pid file lost? Look for processes running *our* config (path-specific pattern).
  [[ -n "$pids" || "$search" == no ]] || pids="$(find_pids "$pattern")"
  if [[ -z "$pids" ]]; then
    log "$name: not running"
    rm -f "$pidfile"
    return 0
  fi
  log "$name: stopping pid ${pids//$'\n'/ }"
  for pid in $pids; do kill -TERM "$pid" 2>/dev/null || true; done
  deadline=$((SECONDS + STOP_TIMEOUT))
  while :; do
    alive=""
    for pid in $pids; do pid_matches "$pid" "$pattern" && alive+=" $pid"; done
    [[ -n "$alive" ]] || break
    if ((SECONDS >= deadline)); then
      log "$name: still alive after ${STOP_TIMEOUT}s, sending SIGKILL to$alive"
      for pid in $alive; do kill -KILL "$pid" 2>/dev/null || true; done
      sleep 0.5
      break
    fi
    sleep 0.2
  done
  rm -f "$pidfile"
  log "$name: stopped"
}

[[ -d "$STATE_DIR" ]] || { log "nothing to stop ($STATE_DIR does not exist)"; exit 0; }

((do_kafka)) && stop kafka "$KAFKA_PID" "$KAFKA_PATTERN"
((do_redis)) && stop redis "$REDIS_PID" "$REDIS_PATTERN"
if ((do_redis_cluster)); then
  for port in "${REDIS_CLUSTER_PORTS[@]}"; do
    stop "redis cluster node $port" "$(redis_cluster_node_dir "$port")/redis.pid" "$(redis_cluster_pattern "$port")" no
  done
fi
((do_alertmanager)) && stop alertmanager "$ALERTMANAGER_PID" "$ALERTMANAGER_PATTERN"

if ((clean)); then
  if ((do_kafka)); then
    rm -rf "$KAFKA_DATA" "$KAFKA_LOG"* "$KAFKA_OUT" "$KAFKA_DIR/format.log"
    log "kafka: data deleted ($KAFKA_DATA)"
  fi
  if ((do_redis)); then
    rm -rf "$REDIS_DIR"
    log "redis: data deleted ($REDIS_DIR)"
  fi
  if ((do_redis_cluster)); then
    rm -rf "$REDIS_CLUSTER_DIR"
    log "redis cluster: data and node configs deleted ($REDIS_CLUSTER_DIR)"
  fi
  if ((do_alertmanager)); then
    rm -rf "$ALERTMANAGER_DATA" "$ALERTMANAGER_LOG"
    log "alertmanager: data deleted ($ALERTMANAGER_DATA)"
  fi
fi
if ((do_kafka)) && kafka_answers; then
  log "note: something still answers Kafka on $HOST:$KAFKA_PORT (not started by up.sh from this checkout)"
fi
if ((do_redis)) && redis_answers; then
  log "note: something still answers Redis on $HOST:$REDIS_PORT (not started by up.sh from this checkout)"
fi
if ((do_alertmanager)) && alertmanager_answers; then
  log "note: something still answers as Alertmanager on $HOST:$ALERTMANAGER_PORT (not started by up.sh from this checkout)"
fi
exit 0

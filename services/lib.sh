# shellcheck shell=bash disable=SC2034  # (vars are used by the scripts sourcing this file)
# Shared settings and helpers for services/{up,down,status}.sh. Sourced, not run.

SERVICES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(dirname "$SERVICES_DIR")"
STATE_DIR="${KLAXON_SERVICES_STATE_DIR:-$REPO_ROOT/.services}"

REDIS_PORT="${KLAXON_REDIS_PORT:-16379}"
KAFKA_PORT="${KLAXON_KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${KLAXON_KAFKA_CONTROLLER_PORT:-19093}"
ALERTMANAGER_PORT="${KLAXON_ALERTMANAGER_PORT:-19094}"
STARTUP_TIMEOUT="${KLAXON_SERVICES_TIMEOUT:-120}"
HOST=127.0.0.1

REDIS_DIR="$STATE_DIR/redis"
REDIS_CONF="$REDIS_DIR/redis.conf"
REDIS_PID="$REDIS_DIR/redis.pid"
REDIS_LOG="$REDIS_DIR/redis.log"

# A Redis Cluster of three masters, no replicas (the state store's `state.cluster`).
read -r -a REDIS_CLUSTER_PORTS <<<"${KLAXON_REDIS_CLUSTER_PORTS:-17001 17002 17003}"
REDIS_CLUSTER_DIR="$STATE_DIR/redis-cluster"
REDIS_CLUSTER_NODES="$(printf "$HOST:%s," "${REDIS_CLUSTER_PORTS[@]}")"
REDIS_CLUSTER_NODES="${REDIS_CLUSTER_NODES%,}"

KAFKA_DIR="$STATE_DIR/kafka"
KAFKA_POM="$SERVICES_DIR/kafka/pom.xml"
# A second set of services (fault tests) may share another set's jars instead of resolving its own.
KAFKA_LIBS="${KLAXON_KAFKA_LIBS:-$KAFKA_DIR/libs}"
KAFKA_STAMP="${KLAXON_KAFKA_LIBS:+$KLAXON_KAFKA_LIBS.stamp}"
KAFKA_STAMP="${KAFKA_STAMP:-$KAFKA_DIR/libs.stamp}"
KAFKA_DATA="$KAFKA_DIR/data"
KAFKA_CONF="$KAFKA_DIR/server.properties"
KAFKA_LOG4J="$KAFKA_DIR/log4j.properties"
KAFKA_TOOLS_LOG4J="$KAFKA_DIR/tools-log4j.properties"
KAFKA_PID="$KAFKA_DIR/kafka.pid"
KAFKA_LOG="$KAFKA_DIR/server.log"   # log4j output
KAFKA_OUT="$KAFKA_DIR/kafka.out"    # JVM stdout/stderr (crashes before log4j is up)

ALERTMANAGER_DIR="$STATE_DIR/alertmanager"
ALERTMANAGER_CONF="$ALERTMANAGER_DIR/alertmanager.yml"
ALERTMANAGER_DATA="$ALERTMANAGER_DIR/data"
ALERTMANAGER_PID="$ALERTMANAGER_DIR/alertmanager.pid"
ALERTMANAGER_LOG="$ALERTMANAGER_DIR/alertmanager.log"
# Debian's package installs the binary under this name (upstream calls it `alertmanager`).
ALERTMANAGER_BIN="${KLAXON_ALERTMANAGER_BIN:-prometheus-alertmanager}"

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

# java honouring JAVA_HOME.
java_bin() {
  if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
    printf '%s\n' "$JAVA_HOME/bin/java"
  else
    command -v java || true
  fi
}

# pid_matches PID PATTERN: process PID is alive and its command line contains PATTERN.
pid_matches() {
  local pid="$1" pattern="$2" cmd
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  [[ "$cmd" == *"$pattern"* ]]
}

# read_pid FILE PATTERN: prints the pid in FILE if that process is alive and matches.
read_pid() {
  local file="$1" pattern="$2" pid
  [[ -f "$file" ]] || return 1
  pid="$(tr -dc '0-9' <"$file")"
  pid_matches "$pid" "$pattern" || return 1
  printf '%s\n' "$pid"
}

# find_pids PATTERN: pids whose command line contains PATTERN (a path unique to
# this checkout, so it never matches foreign processes). Used when a pid file is lost.
find_pids() {
  local pattern="$1" d pid
  for d in /proc/[0-9]*; do
    pid="${d#/proc/}"
    [[ "$pid" == "$$" || "$pid" == "$BASHPID" ]] && continue
    pid_matches "$pid" "$pattern" && printf '%s\n' "$pid"
  done
  return 0
}

# Substrings identifying our processes in /proc/PID/cmdline (redis rewrites its
# title to "redis-server 127.0.0.1:PORT"; the broker's argv names our config path).
REDIS_PATTERN="redis-server $HOST:$REDIS_PORT"
KAFKA_PATTERN="kafka.Kafka $KAFKA_CONF"
ALERTMANAGER_PATTERN="--config.file=$ALERTMANAGER_CONF"

# One cluster node's files: redis_cluster_node_dir PORT.
redis_cluster_node_dir() { printf '%s/%s\n' "$REDIS_CLUSTER_DIR" "$1"; }
# redis titles a cluster node "redis-server 127.0.0.1:PORT [cluster]".
redis_cluster_pattern() { printf 'redis-server %s:%s [cluster]\n' "$HOST" "$1"; }

# redis_node_answers PORT: redis-cli ping on that port returns PONG.
redis_node_answers() {
  command -v redis-cli >/dev/null 2>&1 || return 1
  [[ "$(timeout 3 redis-cli -h "$HOST" -p "$1" ping 2>/dev/null)" == "PONG" ]]
}

# redis_cluster_ok: every node answers and says cluster_state:ok (every slot served).
redis_cluster_ok() {
  local port
  for port in "${REDIS_CLUSTER_PORTS[@]}"; do
    timeout 3 redis-cli -h "$HOST" -p "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || return 1
  done
}

# redis_answers: redis-cli ping returns PONG.
redis_answers() {
  command -v redis-cli >/dev/null 2>&1 || return 1
  [[ "$(timeout 3 redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null)" == "PONG" ]]
}

# kafka_answers: a real Kafka protocol round trip, in pure bash: send an
# ApiVersions v0 request (correlation id 42) and expect a response carrying
# correlation id 42 and error_code 0. A plain TCP connect is not enough.
kafka_answers() {
  local hex
  hex="$(timeout 3 bash -c '
    exec 3<>"/dev/tcp/$0/$1" || exit 1
    # size=16 | api_key=18 (ApiVersions) | api_version=0 | correlation_id=42 | client_id="klaxon"
    printf "\x00\x00\x00\x10\x00\x12\x00\x00\x00\x00\x00\x2a\x00\x06klaxon" >&3
    head -c 10 <&3 | od -An -v -tx1
  ' "$HOST" "$KAFKA_PORT" 2>/dev/null | tr -d ' \n')" || return 1
  [[ "${hex:8:12}" == "0000002a0000" ]]
}

# alertmanager_answers: its readiness endpoint says 200 (it answers the API from then on).
alertmanager_answers() {
  local status
  status="$(timeout 3 bash -c '
    exec 3<>"/dev/tcp/$0/$1" || exit 1
    printf "GET /-/ready HTTP/1.0\r\nHost: %s\r\n\r\n" "$0" >&3
    head -n 1 <&3
  ' "$HOST" "$ALERTMANAGER_PORT" 2>/dev/null)" || return 1
  [[ "$status" == "HTTP/1."?" 200"* ]]
}

port_open() {
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$HOST" "$1" 2>/dev/null
}

show_tail() {
  local f
  for f in "$@"; do
    [[ -s "$f" ]] || continue
    printf -- '----- last 40 lines of %s -----\n' "$f" >&2
    tail -n 40 "$f" >&2
  done
}

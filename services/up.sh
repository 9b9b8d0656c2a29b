#!/usr/bin/env bash
# Start the local test services (Redis, a three-node Redis Cluster, single-node KRaft Kafka, Alertmanager), installing
# whatever is missing. Idempotent: a second run with both up takes ~0.1 s.
# Progress goes to stderr; stdout carries only `export ...` lines, so
#   eval "$(bash services/up.sh)"
# sets KLAXON_KAFKA_BROKERS / KLAXON_REDIS_URL / KLAXON_REDIS_CLUSTER / KLAXON_ALERTMANAGER_URL in the calling shell.
set -euo pipefail
# shellcheck source=services/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

mkdir -p "$STATE_DIR" "$REDIS_DIR" "$REDIS_CLUSTER_DIR" "$KAFKA_DIR" "$ALERTMANAGER_DIR"

# Serialise concurrent runs (e.g. two test processes calling up.sh at once).
# Children must not inherit fd 9, or a daemon would hold the lock forever.
exec 9>"$STATE_DIR/.up.lock"
flock -w "$((STARTUP_TIMEOUT + 300))" 9 || die "another services/up.sh is still running (lock $STATE_DIR/.up.lock)"

# ---------------------------------------------------------------- prerequisites
as_root() {
  if [[ "$(id -u)" == 0 ]]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"
  else die "need root (or passwordless sudo) to run: $*"; fi
}

# apt_install PACKAGE COMMAND: installs Debian's PACKAGE so that COMMAND is on PATH.
apt_install() {
  local package="$1" command="$2"
  command -v apt-get >/dev/null 2>&1 || die "$command not found and apt-get is unavailable; install $package so that $command is on PATH"
  log "$command not found: installing Debian package $package"
  export DEBIAN_FRONTEND=noninteractive
  local apt=(apt-get -y -q -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=300)
  # Refresh package lists only if apt does not know a candidate yet.
  if ! apt-cache policy "$package" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    as_root "${apt[@]}" update >&2
  fi
  if ! as_root "${apt[@]}" install --no-install-recommends "$package" >&2; then
    log "install failed; refreshing package lists and retrying once"
    as_root "${apt[@]}" update >&2
    as_root "${apt[@]}" install --no-install-recommends "$package" >&2
  fi
  command -v "$command" >/dev/null 2>&1 || die "$command still not on PATH after apt-get install $package"
}

if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
  apt_install redis-server redis-server
fi
# Where the init system allows it, Debian's package also starts its own instance on :9093;
# ours runs beside it, on its own port and data dir.
if ! command -v "$ALERTMANAGER_BIN" >/dev/null 2>&1; then
  apt_install prometheus-alertmanager "$ALERTMANAGER_BIN"
fi

# Kafka 3.9 runs on Java 8, 11, 17, 21 and 23; 8 (project-wide) and 11 (broker) are deprecated, and Kafka 4 needs 17.
# We accept 11 or newer and recommend 17 (README.md and services/README.md say the same).
JAVA="$(java_bin)"
[[ -n "$JAVA" ]] || die "java not found. Kafka needs a JDK/JRE >= 11 (17 recommended): apt-get install -y openjdk-17-jdk-headless (or set JAVA_HOME)"
command -v mvn >/dev/null 2>&1 || die "mvn not found. Kafka's jars are fetched with Maven: apt-get install -y maven"
java_major="$("$JAVA" -version 2>&1 | sed -n 's/.*version "\([0-9]*\)[."].*/\1/p' | head -n1)"
[[ "${java_major:-0}" -ge 11 ]] || die "Kafka needs Java >= 11, found: $("$JAVA" -version 2>&1 | head -n1)"

# ------------------------------------------------------------ Kafka jars (mvn)
kafka_stop_for_upgrade() {
  local pid
  if pid="$(read_pid "$KAFKA_PID" "$KAFKA_PATTERN")"; then
    log "Kafka jars changed: stopping the running broker (pid $pid) first"
    bash "$SERVICES_DIR/down.sh" --kafka-only >&2
  fi
}

pom_hash="$(sha256sum "$KAFKA_POM" | cut -d' ' -f1)"
if [[ ! -d "$KAFKA_LIBS" || "$(cat "$KAFKA_STAMP" 2>/dev/null)" != "$pom_hash" ]]; then
  log "resolving Kafka jars with Maven into $KAFKA_LIBS (~45 MB, downloaded into the Maven cache on first use)"
  rm -rf "$KAFKA_LIBS.tmp"
  t0=$SECONDS
  if ! mvn -q -B -Dstyle.color=never -f "$KAFKA_POM" \
        dependency:copy-dependencies -Dlibs.dir="$KAFKA_LIBS.tmp" >"$KAFKA_DIR/mvn.log" 2>&1; then
    show_tail "$KAFKA_DIR/mvn.log"
    die "mvn dependency:copy-dependencies failed (full output: $KAFKA_DIR/mvn.log)"
  fi
  ls "$KAFKA_LIBS.tmp"/kafka_2.13-*.jar >/dev/null 2>&1 || die "Maven finished but no kafka_2.13 jar was copied into $KAFKA_LIBS.tmp"
  if [[ -d "$KAFKA_LIBS" ]] && [[ "$(ls "$KAFKA_LIBS")" == "$(ls "$KAFKA_LIBS.tmp")" ]]; then
    rm -rf "$KAFKA_LIBS.tmp"   # same jar set (versions are in the names): keep, no restart
  else
    kafka_stop_for_upgrade
    rm -rf "$KAFKA_LIBS"
    mv "$KAFKA_LIBS.tmp" "$KAFKA_LIBS"
  fi
  printf '%s\n' "$pom_hash" >"$KAFKA_STAMP"
  log "Kafka jars ready ($(ls "$KAFKA_LIBS" | wc -l) jars, $((SECONDS - t0)) s)"
fi
KAFKA_VERSION="$(basename "$(ls "$KAFKA_LIBS"/kafka_2.13-*.jar | head -n1)" .jar)"
KAFKA_VERSION="${KAFKA_VERSION#kafka_2.13-}"

# ------------------------------------------------------------------- Redis
start_redis() {
  local pid
  if redis_answers; then
    log "redis: already answering on $HOST:$REDIS_PORT"
    return 0
  fi
  if pid="$(read_pid "$REDIS_PID" "$REDIS_PATTERN")"; then
    log "redis: pid $pid is alive but not answering yet"
    return 0
  fi
  rm -f "$REDIS_PID"
  cat >"$REDIS_CONF" <<EOF
# Generated by services/up.sh -- edits are overwritten.
bind $HOST
port $REDIS_PORT
protected-mode yes
daemonize yes
pidfile $REDIS_PID
logfile $REDIS_LOG
loglevel notice
dir $REDIS_DIR
save ""
appendonly no
stop-writes-on-bgsave-error no
EOF
  log "redis: starting on $HOST:$REDIS_PORT"
  redis-server "$REDIS_CONF" 9>&- </dev/null >>"$REDIS_LOG" 2>&1 \
    || { show_tail "$REDIS_LOG"; die "redis-server failed to start"; }
}

# ------------------------------------------------------------ Redis Cluster
# start_redis_cluster_node PORT: a cluster-mode redis-server on PORT with its own dir (nodes.conf
# there remembers the cluster, so a node restarted by a later up.sh rejoins it by itself).
start_redis_cluster_node() {
  local port="$1" dir pid
  dir="$(redis_cluster_node_dir "$port")"
  if redis_node_answers "$port"; then
    return 0
  fi
  if pid="$(read_pid "$dir/redis.pid" "$(redis_cluster_pattern "$port")")"; then
    log "redis cluster: node pid $pid on $HOST:$port is alive but not answering yet"
    return 0
  fi
  mkdir -p "$dir"
  rm -f "$dir/redis.pid"
  cat >"$dir/redis.conf" <<EOF
# Generated by services/up.sh -- edits are overwritten.
bind $HOST
port $port
protected-mode yes
daemonize yes
pidfile $dir/redis.pid
logfile $dir/redis.log
loglevel notice
dir $dir
cluster-enabled yes
cluster-config-file nodes.conf
cluster-node-timeout 5000
save ""
appendonly no
stop-writes-on-bgsave-error no
EOF
  log "redis cluster: starting node on $HOST:$port"
  redis-server "$dir/redis.conf" 9>&- </dev/null >>"$dir/redis.log" 2>&1 \
    || { show_tail "$dir/redis.log"; die "redis-server (cluster node $port) failed to start"; }
}

start_redis_cluster() {
  local port
  if redis_cluster_ok; then
    log "redis cluster: already ok on $REDIS_CLUSTER_NODES"
    return 0
  fi
  for port in "${REDIS_CLUSTER_PORTS[@]}"; do start_redis_cluster_node "$port"; done
}

# wait_redis_cluster: every node answers; nodes that know no cluster yet (first start, or after
# --clean) are joined into one with redis-cli --cluster create; then wait for cluster_state:ok.
wait_redis_cluster() {
  local deadline=$((SECONDS + STARTUP_TIMEOUT)) port created=0 addresses=() assigned
  for port in "${REDIS_CLUSTER_PORTS[@]}"; do
    addresses+=("$HOST:$port")
    until redis_node_answers "$port"; do
      if ((SECONDS >= deadline)); then
        show_tail "$(redis_cluster_node_dir "$port")/redis.log"; die "redis cluster node did not answer PING on $HOST:$port within ${STARTUP_TIMEOUT}s"
      fi
      sleep 0.1
    done
  done
  until redis_cluster_ok; do
    assigned="$(timeout 3 redis-cli -h "$HOST" -p "${REDIS_CLUSTER_PORTS[0]}" cluster info 2>/dev/null | tr -d '\r' | sed -n 's/^cluster_slots_assigned://p')"
    if ((!created)) && [[ "$assigned" == 0 ]]; then
      log "redis cluster: creating it on ${addresses[*]}"
      redis-cli --cluster create "${addresses[@]}" --cluster-replicas 0 --cluster-yes >"$REDIS_CLUSTER_DIR/create.log" 2>&1 \
        || { show_tail "$REDIS_CLUSTER_DIR/create.log"; die "redis-cli --cluster create failed (a node may belong to another cluster: services/down.sh --redis-cluster-only --clean)"; }
      created=1
    fi
    if ((SECONDS >= deadline)); then
      show_tail "$REDIS_CLUSTER_DIR/create.log"
      die "the redis cluster on $REDIS_CLUSTER_NODES did not reach cluster_state:ok within ${STARTUP_TIMEOUT}s"
    fi
    sleep 0.2
  done
}

# ------------------------------------------------------------------- Kafka
write_kafka_config() {
  cat >"$KAFKA_CONF" <<EOF
# Generated by services/up.sh -- edits are overwritten on each start.
# Single-node KRaft, combined mode (broker + controller), tuned for small fast tests.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DATA

num.partitions=6
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
delete.topic.enable=true

# Internal topics: one replica, few partitions (created faster on first use).
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4

# Consumer groups: no initial rebalance delay; allow short session timeouts in tests.
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000
# Transactions that outlive their timeout (a paused producer) are aborted within a second rather than ten.
transaction.abort.timed.out.transaction.cleanup.interval.ms=1000

# Small machine (2 cores, 512 MB heap).
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=33554432
log.retention.hours=24
EOF
  cat >"$KAFKA_LOG4J" <<EOF
# Generated by services/up.sh. Broker logs: INFO to a size-capped file.
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=$KAFKA_LOG
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.kafka.network.RequestChannel\$=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.org.apache.kafka.clients.NetworkClient=WARN
EOF
  cat >"$KAFKA_TOOLS_LOG4J" <<EOF
# Generated by services/up.sh. For CLI tools run from .services/kafka/libs.
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
}

kafka_log_offset=0
# On failure: this run's part of server.log, then the JVM's own stdout/stderr.
show_kafka_failure() {
  if [[ -s "$KAFKA_LOG" ]]; then
    printf -- '----- last 40 lines of %s (this start) -----\n' "$KAFKA_LOG" >&2
    tail -c +"$((kafka_log_offset + 1))" "$KAFKA_LOG" | tail -n 40 >&2
  fi
  show_tail "$KAFKA_OUT"
}

start_kafka() {
  local pid cluster_id
  if kafka_answers; then
    log "kafka: already answering on $HOST:$KAFKA_PORT"
    return 0
  fi
  if pid="$(read_pid "$KAFKA_PID" "$KAFKA_PATTERN")"; then
    log "kafka: pid $pid is alive but not answering yet (still starting?)"
    KAFKA_STARTED_PID="$pid"
    return 0
  fi
  if port_open "$KAFKA_PORT" || port_open "$KAFKA_CONTROLLER_PORT"; then
    die "port $KAFKA_PORT or $KAFKA_CONTROLLER_PORT is taken by something that does not speak Kafka; set KLAXON_KAFKA_PORT / KLAXON_KAFKA_CONTROLLER_PORT"
  fi
  rm -f "$KAFKA_PID"
  write_kafka_config

  if [[ ! -f "$KAFKA_DATA/meta.properties" ]]; then
    mkdir -p "$KAFKA_DATA"
    cluster_id="$("$JAVA" -cp "$KAFKA_LIBS/*" -Dlog4j.configuration="file:$KAFKA_TOOLS_LOG4J" \
      kafka.tools.StorageTool random-uuid 9>&- </dev/null)"
    log "kafka: formatting $KAFKA_DATA (cluster id $cluster_id)"
    "$JAVA" -cp "$KAFKA_LIBS/*" -Dlog4j.configuration="file:$KAFKA_TOOLS_LOG4J" \
      kafka.tools.StorageTool format -t "$cluster_id" -c "$KAFKA_CONF" --ignore-formatted \
      9>&- </dev/null >"$KAFKA_DIR/format.log" 2>&1 \
      || { show_tail "$KAFKA_DIR/format.log"; die "kafka storage format failed"; }
  fi

  kafka_log_offset="$(stat -c %s "$KAFKA_LOG" 2>/dev/null || echo 0)"
  : >"$KAFKA_OUT"
  log "kafka $KAFKA_VERSION: starting on $HOST:$KAFKA_PORT (controller $HOST:$KAFKA_CONTROLLER_PORT)"
  # setsid + nohup: the broker outlives the calling shell / npm process.
  # shellcheck disable=SC2086
  setsid nohup "$JAVA" -Xms256m -Xmx512m ${KLAXON_KAFKA_JVM_OPTS:-} \
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true -Dlog4j.configuration="file:$KAFKA_LOG4J" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_CONF" \
    9>&- </dev/null >>"$KAFKA_OUT" 2>&1 &
  pid=$!
  # Without job control setsid execs in place, so $! is the JVM. Verify anyway.
  sleep 0.2
  if ! pid_matches "$pid" "$KAFKA_PATTERN"; then
    pid="$(find_pids "$KAFKA_PATTERN" | tail -n1)"
  fi
  [[ -n "$pid" ]] || { show_kafka_failure; die "kafka JVM exited immediately"; }
  printf '%s\n' "$pid" >"$KAFKA_PID"
  KAFKA_STARTED_PID="$pid"
  KAFKA_NEED_LOGLINE=1
}

# ------------------------------------------------------------ Alertmanager
start_alertmanager() {
  local pid
  if alertmanager_answers; then
    log "alertmanager: already answering on $HOST:$ALERTMANAGER_PORT"
    return 0
  fi
  if pid="$(read_pid "$ALERTMANAGER_PID" "$ALERTMANAGER_PATTERN")"; then
    log "alertmanager: pid $pid is alive but not answering yet"
    return 0
  fi
  if port_open "$ALERTMANAGER_PORT"; then
    die "port $ALERTMANAGER_PORT is taken by something that is not a ready Alertmanager; set KLAXON_ALERTMANAGER_PORT"
  fi
  rm -f "$ALERTMANAGER_PID"
  mkdir -p "$ALERTMANAGER_DATA"
  cat >"$ALERTMANAGER_CONF" <<EOF
# Generated by services/up.sh -- edits are overwritten on each start.
# Tests read alerts back through the API; nothing is notified.
route:
  receiver: tests
receivers:
  - name: tests
EOF
  log "alertmanager: starting on $HOST:$ALERTMANAGER_PORT"
  # An empty cluster.listen-address disables clustering (no gossip port).
  setsid nohup "$ALERTMANAGER_BIN" --config.file="$ALERTMANAGER_CONF" --storage.path="$ALERTMANAGER_DATA" \
    --web.listen-address="$HOST:$ALERTMANAGER_PORT" --cluster.listen-address= \
    9>&- </dev/null >>"$ALERTMANAGER_LOG" 2>&1 &
  pid=$!
  sleep 0.2
  if ! pid_matches "$pid" "$ALERTMANAGER_PATTERN"; then
    pid="$(find_pids "$ALERTMANAGER_PATTERN" | tail -n1)"
  fi
  [[ -n "$pid" ]] || { show_tail "$ALERTMANAGER_LOG"; die "alertmanager exited immediately"; }
  printf '%s\n' "$pid" >"$ALERTMANAGER_PID"
}

wait_alertmanager() {
  local deadline=$((SECONDS + STARTUP_TIMEOUT))
  until alertmanager_answers; do
    if ((SECONDS >= deadline)); then
      show_tail "$ALERTMANAGER_LOG"; die "alertmanager did not answer /-/ready on $HOST:$ALERTMANAGER_PORT within ${STARTUP_TIMEOUT}s"
    fi
    sleep 0.1
  done
}

# ------------------------------------------------------------------- wait
wait_redis() {
  local deadline=$((SECONDS + STARTUP_TIMEOUT))
  until redis_answers; do
    if ((SECONDS >= deadline)); then
      show_tail "$REDIS_LOG"; die "redis did not answer PING on $HOST:$REDIS_PORT within ${STARTUP_TIMEOUT}s"
    fi
    sleep 0.1
  done
}

wait_kafka() {
  [[ -n "$KAFKA_STARTED_PID" ]] || return 0  # was already answering
  local deadline=$((SECONDS + STARTUP_TIMEOUT)) logged=0
  # Ready = the broker logged "Kafka Server started" after our launch (it does so
  # only once it is registered and unfenced) AND answers an ApiVersions request.
  # For a broker left starting by an earlier run, the protocol check alone decides.
  ((KAFKA_NEED_LOGLINE)) || logged=1
  while :; do
    if ((logged == 0)) && [[ -f "$KAFKA_LOG" ]] \
       && tail -c +"$((kafka_log_offset + 1))" "$KAFKA_LOG" | grep -q 'Kafka Server started'; then
      logged=1
    fi
    if ((logged)) && kafka_answers; then
      return 0
    fi
    if ! pid_matches "$KAFKA_STARTED_PID" "$KAFKA_PATTERN"; then
      show_kafka_failure; rm -f "$KAFKA_PID"
      die "kafka broker (pid $KAFKA_STARTED_PID) exited during startup"
    fi
    if ((SECONDS >= deadline)); then
      show_kafka_failure
      die "kafka did not become ready on $HOST:$KAFKA_PORT within ${STARTUP_TIMEOUT}s (pid $KAFKA_STARTED_PID left running; see $KAFKA_LOG)"
    fi
    sleep 0.25
  done
}

t_start=$SECONDS
KAFKA_STARTED_PID=""
KAFKA_NEED_LOGLINE=0
start_redis
start_redis_cluster
start_kafka
start_alertmanager
wait_redis
wait_redis_cluster
wait_alertmanager
wait_kafka

log "redis  ready  redis://$HOST:$REDIS_PORT        (data: $REDIS_DIR)"
log "redis cluster ready  $REDIS_CLUSTER_NODES  (data: $REDIS_CLUSTER_DIR)"
log "kafka  ready  $HOST:$KAFKA_PORT  Kafka $KAFKA_VERSION KRaft  (data: $KAFKA_DATA, log: $KAFKA_LOG)"
log "alertmanager ready  http://$HOST:$ALERTMANAGER_PORT  (data: $ALERTMANAGER_DATA, log: $ALERTMANAGER_LOG)"
log "up in $((SECONDS - t_start)) s. For your shell:"
echo "export KLAXON_KAFKA_BROKERS=$HOST:$KAFKA_PORT"
echo "export KLAXON_REDIS_URL=redis://$HOST:$REDIS_PORT"
echo "export KLAXON_REDIS_CLUSTER=$REDIS_CLUSTER_NODES"
echo "export KLAXON_ALERTMANAGER_URL=http://$HOST:$ALERTMANAGER_PORT"

#!/usr/bin/env bash
# Run a Kafka CLI tool from the jars up.sh downloaded (no Kafka distribution needed).
#   services/kafka-cli.sh topics --list
#   services/kafka-cli.sh topics --create --topic t --partitions 3
#   services/kafka-cli.sh transactions list
#   services/kafka-cli.sh console-consumer --topic t --from-beginning --max-messages 3
# Short names: topics, console-producer, console-consumer, consumer-groups,
# transactions, producer-perf, consumer-perf, storage, get-offsets; or a full class name.
# --bootstrap-server defaults to the local broker unless given.
set -euo pipefail
# shellcheck source=services/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

[[ $# -ge 1 ]] || { sed -n '2,9p' "$0" >&2; exit 2; }
tool="$1"; shift
case "$tool" in
  topics)            cls=org.apache.kafka.tools.TopicCommand ;;
  console-producer)  cls=kafka.tools.ConsoleProducer ;;
  console-consumer)  cls=org.apache.kafka.tools.consumer.ConsoleConsumer ;;
  consumer-groups)   cls=org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
  transactions)      cls=org.apache.kafka.tools.TransactionsCommand ;;
  producer-perf)     cls=org.apache.kafka.tools.ProducerPerformance ;;
  consumer-perf)     cls=org.apache.kafka.tools.ConsumerPerformance ;;
  get-offsets)       cls=org.apache.kafka.tools.GetOffsetShell ;;
  storage)           cls=kafka.tools.StorageTool ;;
  *.*)               cls="$tool" ;;
  *) die "unknown tool '$tool' (see the header of $0)" ;;
esac
[[ -d "$KAFKA_LIBS" ]] || die "Kafka jars missing: run services/up.sh first"
JAVA="$(java_bin)"; [[ -n "$JAVA" ]] || die "java not found"

args=("$@")
case "$tool" in
  storage|producer-perf|consumer-perf) ;;   # no/other bootstrap flag
  *) [[ " $* " == *" --bootstrap-server "* ]] || args=(--bootstrap-server "$HOST:$KAFKA_PORT" "${args[@]}") ;;
esac
# transactions takes --bootstrap-server before its sub-command, which the prepend satisfies.
exec "$JAVA" -Xmx256m -Dlog4j.configuration="file:$KAFKA_TOOLS_LOG4J" -cp "$KAFKA_LIBS/*" "$cls" "${args[@]}"

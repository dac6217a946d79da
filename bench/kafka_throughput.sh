#!/usr/bin/env bash
# One worker on one core against the embedded broker, next to a bare
# librdkafka consumer (kcat) reading the same topic in the same run: the
# transport's limit. Both are pinned to core 0 and use the same consumer
# queue settings.
#
# usage: bench/kafka_throughput.sh [EVENTS] [DEVICES]
set -euo pipefail
cd "$(dirname "$0")/.."
events="${1:-1000000}"
devices="${2:-10000}"
sluice="${SLUICE_BINARY:-build/sluice}"
dir="$(mktemp -d -t sluice-kafka-bench-XXXXXX)"
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT

"$sluice" broker --topic telemetry:4 --bootstrap-file "$dir/bootstrap" > "$dir/broker.log" &
while [ ! -s "$dir/bootstrap" ]; do sleep 0.1; done
bootstrap="$(cat "$dir/bootstrap")"

echo "producing $events events from $devices devices (zstd, so the embedded broker keeps them all)"
"$sluice" simulate --bootstrap-file "$dir/bootstrap" --topic telemetry --count "$events" \
  --devices "$devices" --rate 10000 --start-time 2024-01-01T00:00:00Z --no-pace

consumer_settings=(-X queued.min.messages=1000000 -X fetch.wait.max.ms=50)

start=$(date +%s.%N)
count=$(taskset -c 0 kcat -b "$bootstrap" -C -t telemetry -o beginning -e -q "${consumer_settings[@]}" \
  -f '%o\n' | wc -l)
end=$(date +%s.%N)
bare=$(echo "$count / ($end - $start)" | bc)
echo "bare librdkafka consumer (kcat, 1 core): $count events in $(echo "$end - $start" | bc) s = $bare events/s"

cat > "$dir/job.json" <<JOB
{"name": "bench", "query": "SELECT deviceId, AVG(temperature) AS avgTemp, MAX(temperature) AS maxTemp, System.Timestamp() AS windowEnd INTO alerts FROM telemetry TIMESTAMP BY eventTime GROUP BY deviceId, TumblingWindow(second, 10) HAVING AVG(temperature) > 75"}
JOB
start=$(date +%s.%N)
taskset -c 0 "$sluice" worker --bootstrap-file "$dir/bootstrap" --job "$dir/job.json" --threads 1 --grpc-listen none \
  --status-interval 200ms --state-dir "$dir/state" > "$dir/worker.log" &
worker=$!
# Done when the worker has taken in every event (the group join takes ~3 s
# on the mock; it is part of the figure, see below).
first=""
while true; do
  seen=$(grep -oE '[0-9]+ events, ' "$dir/worker.log" | tail -1 | grep -oE '^[0-9]+' || echo 0)
  if [ -z "$first" ] && [ "$seen" -gt 0 ]; then first=$(date +%s.%N); fi
  if [ "$seen" -ge "$count" ]; then break; fi
  sleep 0.05
done
end=$(date +%s.%N)
kill "$worker"; wait "$worker" 2>/dev/null || true
total=$(echo "$end - $start" | bc)
busy=$(echo "$end - $first" | bc)
echo "sluice worker (tumbling AVG/MAX + HAVING, 1 thread, 1 core): $count events; $total s from start" \
  "(group join included), $busy s from the first processed batch = $(echo "$count / $busy" | bc) events/s"
echo "ratio worker / bare consumer: $(echo "scale=2; ($count / $busy) / $bare" | bc)"

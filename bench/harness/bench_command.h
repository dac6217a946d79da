// `sluice bench core | kafka`: the end-to-end benchmark harness
// (bench/README.md).
//
//   core   in one process: the simulator's events as the JSON bytes Kafka
//          would deliver, split by device over one partition per core,
//          through decode -> compiled plan -> counting sinks, one task per
//          partition, exchanges in process. Baseline in the same run:
//          simdjson reading the same bytes (decode only).
//   kafka  against the embedded broker (or --brokers): producer and workers
//          at once; sustained throughput, latency percentiles at a fraction
//          of it, and a bare librdkafka consumer on the same topic as the
//          baseline.
//
// Each run prints a table, and writes bench/results/<date>-<mode>.json and
// a PNG chart (gnuplot).
#ifndef SLUICE_BENCH_HARNESS_BENCH_COMMAND_H_
#define SLUICE_BENCH_HARNESS_BENCH_COMMAND_H_

#include <string>
#include <vector>

namespace sluice {

int BenchCommand(const std::vector<std::string>& args);

}  // namespace sluice

#endif  // SLUICE_BENCH_HARNESS_BENCH_COMMAND_H_

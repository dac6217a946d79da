// `sluice bench kafka`: workers on a broker, against a bare consumer
// (bench/README.md).
#ifndef SLUICE_BENCH_HARNESS_BENCH_KAFKA_H_
#define SLUICE_BENCH_HARNESS_BENCH_KAFKA_H_

#include <string>
#include <vector>

namespace sluice {

int KafkaBenchMode(const std::vector<std::string>& args);

}  // namespace sluice

#endif  // SLUICE_BENCH_HARNESS_BENCH_KAFKA_H_

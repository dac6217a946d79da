#include "engine/app/bench_kafka.h"

#include <cstdio>

namespace sluice {

int KafkaBenchMode(const std::vector<std::string>&) {
  std::fprintf(stderr, "sluice bench kafka: not built yet\n");
  return 1;
}

}  // namespace sluice

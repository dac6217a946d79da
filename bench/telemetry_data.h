// Deterministic telemetry for the benchmarks: the JSON lines a Kafka topic
// or a file would deliver, about 100 bytes each, `devices` devices, event
// time advancing about 1 ms per event.
#ifndef SLUICE_BENCH_TELEMETRY_DATA_H_
#define SLUICE_BENCH_TELEMETRY_DATA_H_

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace sluice::bench {

// The number of events a benchmark uses: SLUICE_BENCH_EVENTS, else
// `fallback` (CI's bench-smoke runs set a tiny value).
inline int64_t EventCount(int64_t fallback) {
  const char* env = std::getenv("SLUICE_BENCH_EVENTS");
  return env ? std::atoll(env) : fallback;
}

// All events in one buffer, newline-separated, with 64 bytes of padding at
// the end (simdjson needs readable bytes after each document).
struct TelemetryBuffer {
  std::string text;
  std::vector<std::pair<size_t, size_t>> lines;  // (offset, length)
};

inline TelemetryBuffer MakeTelemetry(int64_t count, int devices, uint32_t seed = 42) {
  TelemetryBuffer buffer;
  std::mt19937 rng(seed);
  std::normal_distribution<double> temperature(60, 10);
  buffer.text.reserve(static_cast<size_t>(count) * 104 + 64);
  int64_t ms = 0;
  char line[160];
  for (int64_t i = 0; i < count; ++i) {
    ms += rng() % 2;
    const int64_t s = ms / 1000;
    const int n = std::snprintf(line, sizeof(line),
                                "{\"deviceId\":\"dev-%05u\",\"temperature\":%.2f,\"humidity\":%.1f,"
                                "\"eventTime\":\"2024-01-01T%02lld:%02lld:%02lld.%03lldZ\"}",
                                static_cast<unsigned>(rng() % devices), temperature(rng),
                                40 + (rng() % 100) / 10.0, static_cast<long long>(s / 3600 % 24),
                                static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60),
                                static_cast<long long>(ms % 1000));
    buffer.lines.emplace_back(buffer.text.size(), static_cast<size_t>(n));
    buffer.text.append(line, n);
    buffer.text.push_back('\n');
  }
  buffer.text.append(64, ' ');
  return buffer;
}

}  // namespace sluice::bench

#endif  // SLUICE_BENCH_TELEMETRY_DATA_H_

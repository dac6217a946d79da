// Window assignment (operators/window_policy): the ends of the windows each
// event timestamp falls in, called as the window-aggregate operator calls it
// (clear a reused vector, one virtual AssignWindows per row). Tumbling and
// hopping windows of several hops sit beside an inline tumbling computation
// with no virtual call or vector as the baseline. Each reports timestamps
// per second; ends_per_timestamp says how many windows each one produced.
#include <benchmark/benchmark.h>

#include <random>

#include "bench/telemetry_data.h"
#include "engine/core/datetime.h"
#include "operators/window_policy.h"

namespace sluice::bench {
namespace {

// Event times as the telemetry has them: from 2024-01-01T00:00:00Z,
// advancing 0 or 1 ms per event.
const std::vector<int64_t>& Timestamps() {
  static const std::vector<int64_t>* timestamps = [] {
    auto* out = new std::vector<int64_t>;
    const int64_t count = EventCount(1000000);
    out->reserve(static_cast<size_t>(count));
    std::mt19937 rng(42);
    int64_t ticks = 1704067200LL * kTicksPerSecond;
    for (int64_t i = 0; i < count; ++i) {
      ticks += (rng() % 2) * kTicksPerMillisecond;
      out->push_back(ticks);
    }
    return out;
  }();
  return *timestamps;
}

void RunPolicy(benchmark::State& state, const v1::WindowSpec& spec) {
  const std::vector<int64_t>& timestamps = Timestamps();
  const std::unique_ptr<FixedWindowPolicy> policy = MakeFixedWindowPolicy(spec);
  std::vector<int64_t> ends;
  int64_t assigned = 0;
  for (auto _ : state) {
    assigned = 0;
    int64_t checksum = 0;
    for (int64_t ts : timestamps) {
      ends.clear();
      policy->AssignWindows(ts, &ends);
      assigned += static_cast<int64_t>(ends.size());
      checksum += ends.front();
    }
    benchmark::DoNotOptimize(checksum);
  }
  state.counters["ends_per_timestamp"] =
      timestamps.empty() ? 0 : static_cast<double>(assigned) / timestamps.size();
  state.SetItemsProcessed(state.iterations() * timestamps.size());
}

v1::WindowSpec Hopping(int64_t size_seconds, int64_t hop_seconds) {
  v1::WindowSpec spec;
  spec.set_kind(size_seconds == hop_seconds ? v1::WindowSpec::KIND_TUMBLING
                                            : v1::WindowSpec::KIND_HOPPING);
  spec.set_size_ticks(size_seconds * kTicksPerSecond);
  spec.set_hop_ticks(hop_seconds * kTicksPerSecond);
  return spec;
}

// Baseline: TumblingWindow(second, 10) computed inline.
void BM_TumblingInlineBaseline(benchmark::State& state) {
  const std::vector<int64_t>& timestamps = Timestamps();
  constexpr int64_t kSize = 10 * kTicksPerSecond;
  for (auto _ : state) {
    int64_t checksum = 0;
    for (int64_t ts : timestamps) checksum += -FloorDiv(-ts, kSize) * kSize;
    benchmark::DoNotOptimize(checksum);
  }
  state.counters["ends_per_timestamp"] = 1;
  state.SetItemsProcessed(state.iterations() * timestamps.size());
}
BENCHMARK(BM_TumblingInlineBaseline)->Unit(benchmark::kMillisecond);

// TumblingWindow(second, 10)
void BM_TumblingAssign(benchmark::State& state) { RunPolicy(state, Hopping(10, 10)); }
BENCHMARK(BM_TumblingAssign)->Unit(benchmark::kMillisecond);

// HoppingWindow(second, 60, hop): 60 / hop windows per timestamp.
void BM_HoppingAssign(benchmark::State& state) { RunPolicy(state, Hopping(60, state.range(0))); }
BENCHMARK(BM_HoppingAssign)
    ->ArgName("hop_s")
    ->Arg(30)
    ->Arg(5)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace sluice::bench

BENCHMARK_MAIN();

// Operator state: the window-aggregate operator's group table (its
// write-back cache), the same cache spilling to RocksDB and flushed by
// checkpoints, and the raw StateWriteBatch + Commit underneath
// (engine/state_store).
//
// The aggregate benchmarks run the compiled plan
//   SELECT deviceId, COUNT(*), AVG(temperature), MAX(temperature) ...
//   GROUP BY deviceId, TumblingWindow(second, 10)
// in a Task over pre-decoded 1024-row batches. Each iteration gets a new
// task on a fresh partition of a store shared by the whole run (as the
// tasks of one job on a worker share column families), created and
// destroyed outside the timed region. Times are wall-clock (UseRealTime): RocksDB flushes and
// compacts on background threads, and commits wait on file writes.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "bench/telemetry_data.h"
#include "connectors/json_decoder.h"
#include "engine/exec/task.h"
#include "engine/state/state_store.h"
#include "operators/builtin_operators.h"
#include "sql/compiler.h"

namespace sluice::bench {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void Die(std::string_view what) {
  std::fprintf(stderr, "state_benchmark: %.*s\n", static_cast<int>(what.size()), what.data());
  std::abort();
}

void Check(const absl::Status& status) {
  if (!status.ok()) Die(status.ToString());
}

constexpr char kAggregate[] =
    "SELECT deviceId, COUNT(*) AS events, AVG(temperature) AS avgTemp, "
    "MAX(temperature) AS maxTemp INTO out FROM telemetry TIMESTAMP BY eventTime "
    "GROUP BY deviceId, TumblingWindow(second, 10)";

const v1::Plan& AggregatePlan() {
  static const v1::Plan* plan = [] {
    sql::CompileResult r = sql::CompileQuery(kAggregate);
    if (!r.ok) Die(r.error.message);
    return new v1::Plan(std::move(r.plan));
  }();
  return *plan;
}

// The telemetry for `devices` devices decoded once into 1024-row batches
// of the aggregate plan's input fields.
const std::vector<Batch>& Batches(int64_t devices) {
  static auto* cache = new std::map<int64_t, std::vector<Batch>>;
  auto [it, inserted] = cache->try_emplace(devices);
  if (!inserted) return it->second;
  const v1::Plan& plan = AggregatePlan();
  JsonDecoderOptions options;
  options.fields.assign(plan.inputs(0).fields().begin(), plan.inputs(0).fields().end());
  JsonDecoder decoder(options);
  const TelemetryBuffer data = MakeTelemetry(EventCount(1000000), static_cast<int>(devices));
  BatchBuilder builder(decoder.num_columns(), 1024);
  std::string error;
  for (const auto& [offset, length] : data.lines) {
    if (!decoder.Decode(std::string_view(data.text.data() + offset, length),
                        data.text.size() - offset - length, 0, builder, &error)) {
      Die(error);
    }
    if (builder.num_rows() == 1024) it->second.push_back(builder.Finish());
  }
  if (builder.num_rows() > 0) it->second.push_back(builder.Finish());
  return it->second;
}

int64_t CountEvents(const std::vector<Batch>& batches) {
  int64_t events = 0;
  for (const Batch& b : batches) events += b.num_rows;
  return events;
}

// Counts output rows and windows (rows arrive in window-end order).
class CountingSink final : public Sink {
 public:
  absl::Status Write(const std::vector<OutputRow>& out) override {
    for (const OutputRow& r : out) {
      if (rows == 0 || r.timestamp != last_window_end_) ++windows;
      last_window_end_ = r.timestamp;
      ++rows;
    }
    return absl::OkStatus();
  }
  absl::Status Flush() override { return absl::OkStatus(); }
  int64_t rows = 0;
  int64_t windows = 0;

 private:
  int64_t last_window_end_ = 0;
};

// State stores shared by every benchmark of the run (Google Benchmark calls
// a benchmark function several times while sizing its iterations, and
// opening RocksDB each time would dominate the short runs), one with the
// write-ahead log and one without, in temporary directories that
// CloseStores() removes.
struct ScratchStore {
  fs::path dir;
  std::unique_ptr<StateStore> store;
};

std::map<bool, ScratchStore>& Stores() {
  static auto* stores = new std::map<bool, ScratchStore>;
  return *stores;
}

StateStore* SharedStore(bool wal) {
  ScratchStore& s = Stores()[wal];
  if (s.store == nullptr) {
    s.dir = fs::temp_directory_path() / absl::StrCat("sluice-state-bench-", std::random_device()());
    StateStoreOptions options;
    options.disable_wal = !wal;
    auto store = StateStore::Open(s.dir.string(), options);
    if (!store.ok()) Die(store.status().ToString());
    s.store = *std::move(store);
  }
  return s.store.get();
}

void CloseStores() {
  for (auto& [wal, s] : Stores()) {
    s.store.reset();
    fs::remove_all(s.dir);
  }
  Stores().clear();
}

// Tasks of the aggregate plan on the shared store, each on a partition no
// task used before, so it starts without state.
class AggregateJob {
 public:
  explicit AggregateJob(size_t state_cache_bytes) : state_cache_bytes_(state_cache_bytes) {
    RegisterBuiltinOperators(&registry_);
  }
  std::unique_ptr<Task> NewTask(Sink* sink) {
    static uint32_t next_partition = 0;
    TaskEnvironment env;
    env.registry = &registry_;
    env.store = store();
    env.job_name = "bench";
    env.partition = next_partition++;
    env.sinks.assign(AggregatePlan().outputs_size(), sink);
    env.state_cache_bytes = state_cache_bytes_;
    auto task = Task::Create(AggregatePlan(), env);
    if (!task.ok()) Die(task.status().ToString());
    return *std::move(task);
  }
  StateStore* store() const { return SharedStore(true); }

 private:
  size_t state_cache_bytes_;
  OperatorRegistry registry_;
};

// Group lookup + update with the whole state in memory (the default 256 MiB
// cache): every event goes through key encoding, the per-window hash table
// and the COUNT/AVG/MAX accumulators; windows close as the watermark moves.
// Items are events; groups_per_window is the table size each window reached.
void BM_WindowAggregateGroups(benchmark::State& state) {
  const std::vector<Batch>& batches = Batches(state.range(0));
  const int64_t events = CountEvents(batches);
  AggregateJob job(TaskEnvironment().state_cache_bytes);
  std::unique_ptr<CountingSink> sink;
  std::unique_ptr<Task> task;
  for (auto _ : state) {
    state.PauseTiming();
    task.reset();
    sink = std::make_unique<CountingSink>();
    task = job.NewTask(sink.get());
    state.ResumeTiming();
    for (const Batch& b : batches) Check(task->Push(0, b));
    Check(task->EndOfInput());
  }
  if (task->metrics().state_written_back.load() > 0) state.SkipWithError("the cache spilled");
  state.counters["groups_per_window"] =
      sink->windows > 0 ? static_cast<double>(sink->rows) / sink->windows : 0;
  state.SetItemsProcessed(state.iterations() * events);
}
BENCHMARK(BM_WindowAggregateGroups)
    ->ArgName("devices")
    ->Arg(1000)
    ->Arg(100000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

constexpr size_t kSpillBatches = 128;
constexpr size_t kCheckpointEveryBatches = 32;

// The same job with a cache that holds about half of a window's groups
// (entries are ~125 bytes), so entries are written back to the store and
// read again on their next event, with a checkpoint (Task::Checkpoint +
// StateStore::Commit) every 32 batches and after the last. Only the first
// 128 batches (about 65 s of event time): a thrashing cache runs at a
// tenth of the in-memory rate. Items are entries written: evicted by the
// cache plus put by checkpoints; events/s is the job's rate under this
// pressure.
void BM_AggregateSpillAndCheckpoint(benchmark::State& state) {
  const std::vector<Batch>& all = Batches(state.range(0));
  const std::vector<Batch> batches(all.begin(), all.begin() + std::min(all.size(), kSpillBatches));
  const int64_t events = CountEvents(batches);
  AggregateJob job(static_cast<size_t>(state.range(1)) << 10);
  CountingSink sink;
  std::unique_ptr<Task> task;
  int64_t evicted = 0;
  int64_t checkpointed = 0;
  for (auto _ : state) {
    state.PauseTiming();
    task.reset();
    task = job.NewTask(&sink);
    state.ResumeTiming();
    for (size_t i = 0; i < batches.size(); ++i) {
      Check(task->Push(0, batches[i]));
      if ((i + 1) % kCheckpointEveryBatches == 0 || i + 1 == batches.size()) {
        StateWriteBatch batch;
        Check(task->Checkpoint(batch));
        checkpointed += static_cast<int64_t>(batch.count());
        Check(job.store()->Commit(batch));
      }
    }
    Check(task->EndOfInput());
    evicted += task->metrics().state_written_back.load();
  }
  const double runs = static_cast<double>(state.iterations());
  state.counters["evicted_per_run"] = evicted / runs;
  state.counters["checkpointed_per_run"] = checkpointed / runs;
  state.counters["events"] =
      benchmark::Counter(static_cast<double>(events) * runs, benchmark::Counter::kIsRate);
  state.SetItemsProcessed(evicted + checkpointed);
}
BENCHMARK(BM_AggregateSpillAndCheckpoint)
    ->ArgNames({"devices", "cache_kib"})
    ->Args({1000, 64})
    ->Args({100000, 1024})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// One checkpoint of a cache full of dirty groups: the first 16 batches
// (about 8 s of event time, inside the first window) are pushed untimed,
// then Task::Checkpoint encodes every dirty group into a StateWriteBatch
// and StateStore::Commit writes it. Items are entries in the batch.
void BM_CheckpointDirtyGroups(benchmark::State& state) {
  const std::vector<Batch>& all = Batches(state.range(0));
  const std::vector<Batch> batches(all.begin(), all.begin() + std::min<size_t>(all.size(), 16));
  AggregateJob job(TaskEnvironment().state_cache_bytes);
  CountingSink sink;
  std::unique_ptr<Task> task;
  int64_t entries = 0;
  for (auto _ : state) {
    state.PauseTiming();
    task.reset();
    task = job.NewTask(&sink);
    for (const Batch& b : batches) Check(task->Push(0, b));
    state.ResumeTiming();
    StateWriteBatch batch;
    Check(task->Checkpoint(batch));
    Check(job.store()->Commit(batch));
    entries += static_cast<int64_t>(batch.count());
  }
  state.counters["entries_per_checkpoint"] =
      state.iterations() > 0 ? static_cast<double>(entries) / state.iterations() : 0;
  state.SetItemsProcessed(entries);
}
BENCHMARK(BM_CheckpointDirtyGroups)
    ->ArgName("devices")
    ->Arg(1000)
    ->Arg(100000)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// N distinct (window end, group key) keys with 32-byte values, the shape of
// window state entries. Scaled down with SLUICE_BENCH_EVENTS.
std::vector<std::string> StateKeys(int64_t n) {
  n = std::min(n, EventCount(n));
  std::vector<std::string> keys;
  keys.reserve(static_cast<size_t>(n));
  char device[32];
  for (int64_t i = 0; i < n; ++i) {
    std::string key;
    AppendBigEndian64(1704067210LL * 10'000'000, &key);
    std::snprintf(device, sizeof(device), "dev-%07lld", static_cast<long long>(i));
    key.append(device);
    keys.push_back(std::move(key));
  }
  return keys;
}

// Baseline: StateWriteBatch::Put of every key, without the commit.
void BM_StateWriteBatchPut(benchmark::State& state) {
  const std::vector<std::string> keys = StateKeys(state.range(0));
  auto table = SharedStore(true)->OpenTable("bench-keys", "p0001");
  if (!table.ok()) Die(table.status().ToString());
  std::string value(32, 'v');
  for (auto _ : state) {
    StateWriteBatch batch;
    for (const std::string& key : keys) batch.Put(*table, key, value);
    benchmark::DoNotOptimize(batch.data_size());
  }
  state.SetItemsProcessed(state.iterations() * keys.size());
}
BENCHMARK(BM_StateWriteBatchPut)
    ->ArgName("keys")
    ->Arg(1000)
    ->Arg(10000)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// StateWriteBatch::Put of every key, then StateStore::Commit, overwriting
// the same keys each iteration with new values (a task checkpointing the
// same groups again), with the write-ahead log on or off.
void BM_StateWriteBatchCommit(benchmark::State& state) {
  const std::vector<std::string> keys = StateKeys(state.range(0));
  StateStore* store = SharedStore(state.range(1) != 0);
  auto table = store->OpenTable("bench-keys", "p0001");
  if (!table.ok()) Die(table.status().ToString());
  std::string value(32, 'v');
  int64_t round = 0;
  for (auto _ : state) {
    ++round;
    std::memcpy(value.data(), &round, sizeof(round));
    StateWriteBatch batch;
    for (const std::string& key : keys) batch.Put(*table, key, value);
    Check(store->Commit(batch));
  }
  state.SetItemsProcessed(state.iterations() * keys.size());
}
BENCHMARK(BM_StateWriteBatchCommit)
    ->ArgNames({"keys", "wal"})
    ->Args({1000, 1})
    ->Args({1000, 0})
    ->Args({10000, 1})
    ->Args({10000, 0})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

}  // namespace
}  // namespace sluice::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  sluice::bench::CloseStores();
  return 0;
}

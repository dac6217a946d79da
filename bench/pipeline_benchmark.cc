// Compiled plans running in a task, single thread: filtering, the per-device
// tumbling aggregate with a HAVING alert, and the same job end to end from
// JSON bytes. Each reports events per second; the decode-only and
// column-scan baselines sit beside them so the ratios can be read on a
// shared machine.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <random>

#include "bench/telemetry_data.h"
#include "connectors/json_decoder.h"
#include "engine/exec/task.h"
#include "engine/state/state_store.h"
#include "operators/builtin_operators.h"
#include "sql/compiler.h"

namespace sluice::bench {
namespace {

namespace fs = std::filesystem;

class CountingSink final : public Sink {
 public:
  absl::Status Write(const std::vector<OutputRow>& rows) override {
    this->rows += static_cast<int64_t>(rows.size());
    return absl::OkStatus();
  }
  absl::Status Flush() override { return absl::OkStatus(); }
  int64_t rows = 0;
};

const TelemetryBuffer& Data() {
  static const TelemetryBuffer* data =
      new TelemetryBuffer(MakeTelemetry(EventCount(1000000), 10000));
  return *data;
}

// Decodes the telemetry once into 1024-row batches for `plan`'s input.
std::vector<Batch> Decode(const v1::Plan& plan) {
  JsonDecoderOptions options;
  options.fields.assign(plan.inputs(0).fields().begin(), plan.inputs(0).fields().end());
  options.needs_record = plan.inputs(0).needs_record();
  JsonDecoder decoder(options);
  const TelemetryBuffer& data = Data();
  std::vector<Batch> batches;
  BatchBuilder builder(decoder.num_columns(), 1024);
  std::string error;
  for (const auto& [offset, length] : data.lines) {
    decoder.Decode(std::string_view(data.text.data() + offset, length),
                   data.text.size() - offset - length, 0, builder, &error);
    if (builder.num_rows() == 1024) batches.push_back(builder.Finish());
  }
  if (builder.num_rows() > 0) batches.push_back(builder.Finish());
  return batches;
}

struct Job {
  explicit Job(const char* query) {
    sql::CompileResult r = sql::CompileQuery(query);
    if (!r.ok) std::abort();
    plan = r.plan;
    RegisterBuiltinOperators(&registry);
    dir = fs::temp_directory_path() / ("sluice-bench-" + std::to_string(std::random_device()()));
    store = *StateStore::Open(dir.string());
  }
  ~Job() {
    store.reset();
    fs::remove_all(dir);
  }
  std::unique_ptr<Task> NewTask(CountingSink* sink) {
    TaskEnvironment env;
    env.registry = &registry;
    env.store = store.get();
    env.job_name = "bench" + std::to_string(++tasks);
    env.sinks.assign(plan.outputs_size(), sink);
    return *Task::Create(plan, env);
  }
  v1::Plan plan;
  OperatorRegistry registry;
  fs::path dir;
  std::unique_ptr<StateStore> store;
  int tasks = 0;
};

constexpr char kFilter[] =
    "SELECT deviceId, temperature INTO alerts FROM telemetry TIMESTAMP BY eventTime "
    "WHERE temperature > 75";
constexpr char kTumbling[] =
    "SELECT deviceId, AVG(temperature) AS avgTemp, MAX(temperature) AS maxTemp, "
    "System.Timestamp() AS windowEnd INTO alerts FROM telemetry TIMESTAMP BY eventTime "
    "GROUP BY deviceId, TumblingWindow(second, 10) HAVING AVG(temperature) > 75";

void RunPlan(benchmark::State& state, const char* query) {
  Job job(query);
  const std::vector<Batch> batches = Decode(job.plan);
  int64_t events = 0;
  for (const Batch& b : batches) events += b.num_rows;
  int64_t rows = 0;
  for (auto _ : state) {
    CountingSink sink;
    auto task = job.NewTask(&sink);
    for (const Batch& b : batches) {
      if (!task->Push(0, b).ok()) state.SkipWithError("push failed");
    }
    if (!task->EndOfInput().ok()) state.SkipWithError("end of input failed");
    rows = sink.rows;
  }
  state.counters["output_rows"] = static_cast<double>(rows);
  state.SetItemsProcessed(state.iterations() * events);
}

// Baseline for filtering: a bare loop over the decoded temperature column.
void BM_ColumnScanBaseline(benchmark::State& state) {
  Job job(kFilter);
  const std::vector<Batch> batches = Decode(job.plan);
  int column = 0;
  for (int i = 0; i < job.plan.inputs(0).fields_size(); ++i) {
    if (job.plan.inputs(0).fields(i) == "temperature") column = i;
  }
  int64_t events = 0;
  for (const Batch& b : batches) events += b.num_rows;
  for (auto _ : state) {
    int64_t hot = 0;
    for (const Batch& b : batches) {
      for (const Value& v : *b.columns[column]) hot += v.AsDouble() > 75 ? 1 : 0;
    }
    benchmark::DoNotOptimize(hot);
  }
  state.SetItemsProcessed(state.iterations() * events);
}
BENCHMARK(BM_ColumnScanBaseline)->Unit(benchmark::kMillisecond);

void BM_FilterThreshold(benchmark::State& state) { RunPlan(state, kFilter); }
BENCHMARK(BM_FilterThreshold)->Unit(benchmark::kMillisecond);

void BM_TumblingAvgMaxHaving(benchmark::State& state) { RunPlan(state, kTumbling); }
BENCHMARK(BM_TumblingAvgMaxHaving)->Unit(benchmark::kMillisecond);

// The whole path a worker runs per batch: JSON bytes -> decode -> plan ->
// sink (rows formatted as JSON, counted instead of written).
void BM_TumblingEndToEndFromJson(benchmark::State& state) {
  Job job(kTumbling);
  const TelemetryBuffer& data = Data();
  JsonDecoderOptions options;
  options.fields.assign(job.plan.inputs(0).fields().begin(), job.plan.inputs(0).fields().end());
  JsonDecoder decoder(options);
  std::string error;
  for (auto _ : state) {
    CountingSink sink;
    auto task = job.NewTask(&sink);
    BatchBuilder builder(decoder.num_columns(), 1024);
    for (const auto& [offset, length] : data.lines) {
      decoder.Decode(std::string_view(data.text.data() + offset, length),
                     data.text.size() - offset - length, 0, builder, &error);
      if (builder.num_rows() == 1024) {
        if (!task->Push(0, builder.Finish()).ok()) state.SkipWithError("push failed");
      }
    }
    if (!task->Push(0, builder.Finish()).ok()) state.SkipWithError("push failed");
    if (!task->EndOfInput().ok()) state.SkipWithError("end of input failed");
    benchmark::DoNotOptimize(sink.rows);
  }
  state.SetItemsProcessed(state.iterations() * data.lines.size());
  state.SetBytesProcessed(state.iterations() * (data.text.size() - 64));
}
BENCHMARK(BM_TumblingEndToEndFromJson)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace sluice::bench

BENCHMARK_MAIN();

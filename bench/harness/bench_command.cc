#include "bench/harness/bench_command.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "bench/harness/bench_common.h"
#include "bench/harness/bench_kafka.h"
#include "connectors/device_simulator.h"
#include "connectors/json_decoder.h"
#include "connectors/kafka_consumer.h"
#include "connectors/reference_file.h"
#include "engine/app/base/command_line.h"
#include "engine/core/datetime.h"
#include "engine/core/murmur2.h"
#include "engine/exec/staged_job.h"
#include "engine/runtime/input_driver.h"
#include "engine/state/state_store.h"
#include "operators/builtin_operators.h"
#include "simdjson.h"
#include "sql/compiler.h"

namespace sluice {
namespace fs = std::filesystem;

namespace {

// ---------------------------------------------------------------------------
// Core mode.

struct CoreSettings {
  int64_t events = 2'000'000;
  int devices = 10'000;
  double rate = 10'000;  // events per second of event time
  double out_of_order = 0.01;
  double skew = 0;
  int threads = 0;
  int repeat = 3;
  size_t state_cache_mb = 256;
};

// The simulator's events as a Kafka consumer would hold them: per
// partition (split by device key with Kafka's partitioner), in polls of up
// to 10,000 records, payloads back to back with padding.
struct PartitionedInput {
  std::vector<std::vector<RecordBatch>> partitions;
  int64_t events = 0;
  int64_t bytes = 0;
};

SimulatorOptions SimulatorFor(const CoreSettings& s) {
  SimulatorOptions o;
  o.seed = 42;
  o.devices = s.devices;
  o.rate = s.rate;
  o.count = s.events;
  o.start_ticks = *ParseDatetime("2024-01-01T00:00:00Z");
  o.out_of_order_share = s.out_of_order;
  o.out_of_order_max_ticks = kTicksPerSecond / 2;
  o.spiking_devices = std::max(1, s.devices / 1000);
  o.skew = s.skew;
  return o;
}

void AppendRecord(RecordBatch* batch, const SimulatedEvent& e, int64_t offset) {
  if (!batch->data.empty()) batch->data.resize(batch->data.size() - RecordBatch::kPadding);
  RecordBatch::Record r;
  r.offset = offset;
  r.timestamp_ms = e.arrival_ticks / kTicksPerMillisecond;
  r.begin = static_cast<uint32_t>(batch->data.size());
  r.size = static_cast<uint32_t>(e.json.size());
  batch->data += e.json;
  batch->data.append(RecordBatch::kPadding, ' ');
  batch->records.push_back(r);
}

PartitionedInput Generate(const CoreSettings& s, int partitions) {
  constexpr size_t kPoll = 10'000;
  PartitionedInput in;
  in.partitions.resize(partitions);
  std::vector<int64_t> offsets(partitions, 0);
  DeviceSimulator simulator(SimulatorFor(s));
  SimulatedEvent e;
  while (simulator.Next(&e)) {
    const int p = KafkaPartitionForKey(e.device, partitions);
    auto& batches = in.partitions[p];
    if (batches.empty() || batches.back().records.size() >= kPoll) {
      batches.emplace_back();
      batches.back().partition = TopicPartition{"telemetry", p};
      batches.back().data.reserve(kPoll * 110);
    }
    AppendRecord(&batches.back(), e, offsets[p]++);
    ++in.events;
    in.bytes += static_cast<int64_t>(e.json.size());
  }
  return in;
}

// Decode only: simdjson reading the fields the workloads read, from the
// same bytes, one thread per partition.
double RunBaseline(const PartitionedInput& in, BenchProgress& progress) {
  const int threads = static_cast<int>(in.partitions.size());
  std::atomic<int64_t> fields{0};
  const double start = Now();
  std::vector<std::thread> workers;
  for (int p = 0; p < threads; ++p) {
    workers.emplace_back([&, p] {
      simdjson::ondemand::parser parser;
      int64_t found = 0;
      for (const RecordBatch& batch : in.partitions[p]) {
        for (const RecordBatch::Record& r : batch.records) {
          simdjson::ondemand::document doc;
          if (parser.iterate(batch.data.data() + r.begin, r.size, r.size + batch.readable_after(r))
                  .get(doc) != simdjson::SUCCESS) {
            continue;
          }
          simdjson::ondemand::object object;
          if (doc.get_object().get(object) != simdjson::SUCCESS) continue;
          for (auto field : object) {
            std::string_view key;
            if (field.unescaped_key().get(key) != simdjson::SUCCESS) break;
            if (key == "deviceId" || key == "eventTime") {
              std::string_view v;
              found += field.value().get_string().get(v) == simdjson::SUCCESS ? 1 : 0;
            } else if (key == "temperature") {
              double d;
              found += field.value().get_double().get(d) == simdjson::SUCCESS ? 1 : 0;
            }
          }
        }
        progress.events.fetch_add(static_cast<int64_t>(batch.records.size()));
      }
      fields.fetch_add(found);
    });
  }
  for (auto& t : workers) t.join();
  const double elapsed = Now() - start;
  if (fields.load() < in.events) std::fprintf(stderr, "\nbaseline: fields missing\n");
  return static_cast<double>(in.events) / elapsed / threads;
}

class CountingSink final : public Sink {
 public:
  absl::Status Write(const std::vector<OutputRow>& rows) override {
    rows_.fetch_add(static_cast<int64_t>(rows.size()), std::memory_order_relaxed);
    for (const OutputRow& row : rows) bytes_.fetch_add(static_cast<int64_t>(row.json.size()));
    return absl::OkStatus();
  }
  absl::Status Flush() override { return absl::OkStatus(); }
  int64_t rows() const { return rows_.load(); }

 private:
  std::atomic<int64_t> rows_{0};
  std::atomic<int64_t> bytes_{0};
};

struct CoreRun {
  double per_core = 0;  // events/s per core
  int64_t rows = 0;
  int64_t rejected = 0;
  int64_t exchanged = 0;
};

class ScratchDir {
 public:
  ScratchDir() {
    path_ = (fs::temp_directory_path() / absl::StrCat("sluice-bench-", ::getpid(), "-", ++count_))
                .string();
    fs::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  static inline int count_ = 0;
  std::string path_;
};

absl::StatusOr<CoreRun> RunSluice(const v1::Plan& plan, const PartitionedInput& in, size_t cache_mb,
                                  int devices, BenchProgress& progress) {
  const int partitions = static_cast<int>(in.partitions.size());
  ScratchDir dir;
  auto store = StateStore::Open(dir.path());
  if (!store.ok()) return store.status();
  OperatorRegistry registry;
  RegisterBuiltinOperators(&registry);
  std::vector<std::unique_ptr<CountingSink>> sinks;
  TaskEnvironment env;
  for (int o = 0; o < plan.outputs_size(); ++o) {
    sinks.push_back(std::make_unique<CountingSink>());
    env.sinks.push_back(sinks.back().get());
  }
  std::atomic<int64_t> rejected{0};
  env.registry = &registry;
  env.store = store->get();
  env.job_name = "bench";
  env.state_cache_bytes = cache_mb << 20;
  env.reject = [&](const RejectedRow&) {
    rejected.fetch_add(1);
    return absl::OkStatus();
  };
  // Reference data, loaded once and shared by the tasks, as a process does.
  StaticReferenceProvider references;
  for (int i = 0; i < plan.inputs_size(); ++i) {
    if (!plan.inputs(i).reference()) continue;
    const std::string path = dir.path() + "/thresholds.jsonl";
    if (absl::Status s = WriteBenchThresholds(path, devices); !s.ok()) return s;
    ReferenceLoadReport report;
    auto versions = LoadReference(plan.inputs(i), path, &report);
    if (!versions.ok()) return versions.status();
    references.Set(i, *std::move(versions));
    env.references = &references;
  }
  auto job = StagedJob::Create(plan, partitions, env);
  if (!job.ok()) return job.status();
  const JsonDecoderOptions decoder_options = JsonDecoderOptionsFor(plan.inputs(0));
  std::vector<absl::Status> results(partitions);
  const double start = Now();
  std::vector<std::thread> threads;
  for (int p = 0; p < partitions; ++p) {
    threads.emplace_back([&, p] {
      JsonDecoder decoder(decoder_options);
      InputDriver driver({{0, &decoder}}, [&](const SourceRecord&, std::string_view) {
        rejected.fetch_add(1);
        return absl::OkStatus();
      });
      Task* task = (*job)->source_task(p);
      std::vector<SourceRecord> records;
      for (const RecordBatch& batch : in.partitions[p]) {
        // Micro-batches of about a thousand rows, as a worker forms them.
        for (size_t first = 0; first < batch.records.size(); first += 1024) {
          records.clear();
          batch.AppendTo(&records, first, 1024);
          if (absl::Status s = driver.Push(*task, records); !s.ok()) {
            results[p] = s;
            return;
          }
          progress.events.fetch_add(static_cast<int64_t>(records.size()));
        }
      }
      results[p] = (*job)->EndSource(p);
    });
  }
  for (auto& t : threads) t.join();
  for (const absl::Status& s : results) {
    if (!s.ok()) return s;
  }
  if (absl::Status s = (*job)->Finish(); !s.ok()) return s;
  const double elapsed = Now() - start;
  CoreRun run;
  run.per_core = static_cast<double>(in.events) / elapsed / partitions;
  for (const auto& sink : sinks) run.rows += sink->rows();
  run.rejected = rejected.load();
  run.exchanged = (*job)->exchanged_rows();
  return run;
}

struct CoreResult {
  BenchWorkload workload;
  BenchStats sluice;
  BenchStats baseline;
  int64_t rows = 0;
  int64_t exchanged = 0;
};

std::string CoreChart(const std::vector<CoreResult>& results, const std::string& png,
                      const std::string& title) {
  std::string data;
  for (const CoreResult& r : results) {
    absl::StrAppend(&data, r.workload.name, " ", r.sluice.median / 1e6, " ",
                    r.baseline.median / 1e6, " ", r.workload.flink_per_core / 1e6, "\n");
  }
  return absl::StrCat("set terminal png size 1000,560\n", "set output '", png, "'\n", "set title '",
                      title, "'\n",
                      "set ylabel 'million events/s per core'\n"
                      "set style data histogram\nset style histogram cluster gap 1\n"
                      "set style fill solid 0.8 border -1\nset boxwidth 0.9\nset grid ytics\n"
                      "set key top right\nset yrange [0:*]\n"
                      "$data << EOD\n",
                      data,
                      "EOD\n"
                      "plot $data using 2:xtic(1) title 'sluice (median)' lc rgb '#1f77b4', "
                      "'' using 3 title 'decode only (simdjson baseline)' lc rgb '#bbbbbb', "
                      "'' using 4 title 'Flink 1.13 NEXMark (published)' lc rgb '#d62728'\n");
}

const std::vector<FlagSpec>& CoreFlags() {
  static const auto* flags = new std::vector<FlagSpec>{
      {"workloads", true, false, "comma-separated (default: all)", "NAMES"},
      {"events", true, false, "events per run (default 2000000)", "N"},
      {"devices", true, false, "distinct devices (default 10000)", "N"},
      {"rate", true, false, "events per second of event time (default 10000)", "N"},
      {"out-of-order", true, false, "share of events delayed up to 0.5 s (default 0.01)", "SHARE"},
      {"skew", true, false, "Zipf skew of device activity (default 0: uniform)", "S"},
      {"threads", true, false, "partitions and threads (default: one per core)", "N"},
      {"repeat", true, false, "runs per workload; min/median/max are reported (default 3)", "N"},
      {"state-cache-mb", true, false, "window state kept in memory per task (default 256)", "MB"},
      {"state-scale", false, false,
       "instead: the tumbling job with 10k, 100k and 1M devices and a bounded state cache; "
       "reports peak RSS"},
      {"scale-devices", true, false,
       "with --state-scale: the device counts (default "
       "10000,100000,1000000)",
       "N,N,..."},
      {"workloads-dir", true, false, "where the workload .sql files are (default bench/workloads)",
       "DIR"},
      {"results-dir", true, false, "where results go (default bench/results)", "DIR"},
      {"no-chart", false, false, "do not render the PNG chart"},
      {"help", false, false, "show this help"},
  };
  return *flags;
}

bool ParseCoreSettings(const CommandLine& cl, CoreSettings* s) {
  auto number = [&](const char* flag, auto* target) {
    if (auto v = cl.Get(flag)) return absl::SimpleAtoi(*v, target) && *target > 0;
    return true;
  };
  auto real = [&](const char* flag, double* target) {
    if (auto v = cl.Get(flag)) return absl::SimpleAtod(*v, target) && *target >= 0;
    return true;
  };
  if (!number("events", &s->events) || !number("devices", &s->devices) ||
      !number("threads", &s->threads) || !number("repeat", &s->repeat) ||
      !number("state-cache-mb", &s->state_cache_mb) || !real("rate", &s->rate) ||
      !real("out-of-order", &s->out_of_order) || !real("skew", &s->skew) || s->rate <= 0 ||
      s->out_of_order > 1) {
    std::fprintf(stderr, "sluice bench core: numeric flags take positive numbers\n");
    return false;
  }
  if (s->threads == 0)
    s->threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return true;
}

// One state-scale point, run in a child process so that its peak RSS is its
// own: prints "events_per_sec rss_kb rows".
int StateScalePoint(const CoreSettings& s, const std::string& workloads_dir) {
  auto plan = CompileWorkload(workloads_dir, "tumbling");
  if (!plan.ok()) {
    std::fprintf(stderr, "%s\n", std::string(plan.status().message()).c_str());
    return 1;
  }
  // Events are generated while the task runs, a poll at a time, so the
  // input does not count in the memory figure.
  ScratchDir dir;
  auto store = StateStore::Open(dir.path());
  if (!store.ok()) return 1;
  OperatorRegistry registry;
  RegisterBuiltinOperators(&registry);
  CountingSink sink;
  TaskEnvironment env;
  env.registry = &registry;
  env.store = store->get();
  env.job_name = "scale";
  env.sinks = {&sink};
  env.state_cache_bytes = s.state_cache_mb << 20;
  env.reject = [](const RejectedRow&) { return absl::OkStatus(); };
  auto task = Task::Create(*plan, env);
  if (!task.ok()) return 1;
  JsonDecoder decoder(JsonDecoderOptionsFor(plan->inputs(0)));
  InputDriver driver({{0, &decoder}}, nullptr);
  std::vector<SourceRecord> records;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<RecordBatch> queue;
  bool done = false;
  std::thread producer([&] {
    DeviceSimulator simulator(SimulatorFor(s));
    SimulatedEvent e;
    RecordBatch batch;
    int64_t offset = 0;
    auto hand_over = [&] {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return queue.size() < 4; });
      queue.push_back(std::move(batch));
      batch = RecordBatch();
      cv.notify_all();
    };
    while (simulator.Next(&e)) {
      AppendRecord(&batch, e, offset++);
      if (batch.records.size() >= 1024) hand_over();
    }
    if (!batch.records.empty()) hand_over();
    std::lock_guard<std::mutex> lock(mu);
    done = true;
    cv.notify_all();
  });
  const double start = Now();
  std::string error;
  int64_t events = 0;
  while (true) {
    RecordBatch batch;
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return !queue.empty() || done; });
      if (queue.empty()) break;
      batch = std::move(queue.front());
      queue.pop_front();
      cv.notify_all();
    }
    records.clear();
    batch.AppendTo(&records);
    events += static_cast<int64_t>(batch.records.size());
    if (!driver.Push(**task, records).ok()) return 1;
  }
  producer.join();
  if (!(*task)->EndOfInput().ok()) return 1;
  const double elapsed = Now() - start;
  std::printf("%.1f %lld %lld\n", static_cast<double>(events) / elapsed,
              static_cast<long long>(PeakRssKb()), static_cast<long long>(sink.rows()));
  return 0;
}

int StateScale(const CommandLine& cl, const CoreSettings& base, const std::string& workloads_dir,
               const std::string& results_dir) {
  std::vector<int> scales = {10'000, 100'000, 1'000'000};
  if (auto v = cl.Get("scale-devices")) {
    scales.clear();
    for (const std::string& part : std::vector<std::string>(absl::StrSplit(*v, ','))) {
      int n = 0;
      if (!absl::SimpleAtoi(part, &n) || n < 1) {
        std::fprintf(stderr, "sluice bench core: --scale-devices takes N,N,...\n");
        return 2;
      }
      scales.push_back(n);
    }
  }
  const size_t cache_mb = cl.Has("state-cache-mb") ? base.state_cache_mb : 64;
  std::printf("state scale: the tumbling job (10 s windows), one task, state cache %zu MiB\n\n",
              cache_mb);
  std::printf("%-10s %-10s %-14s %-12s %s\n", "devices", "events", "events/s", "peak RSS", "rows");
  std::string json_points;
  for (int devices : scales) {
    // Two full windows' worth of distinct devices: events at 2 x devices
    // per 10 s of event time, so a window holds ~86% of them.
    const double rate = std::max(10'000.0, devices / 5.0);
    const int64_t events = static_cast<int64_t>(rate * 25);
    const std::string command =
        absl::StrCat("'", SelfDir(), "/sluice' bench core --state-scale-point --devices ", devices,
                     " --events ", events, " --rate ", static_cast<int64_t>(rate),
                     " --state-cache-mb ", cache_mb, " --workloads-dir '", workloads_dir, "'");
    const std::string out = CommandOutput(command);
    double eps = 0;
    long long rss = 0, rows = 0;
    if (std::sscanf(out.c_str(), "%lf %lld %lld", &eps, &rss, &rows) != 3) {
      std::fprintf(stderr, "state-scale point %d failed: %s\n", devices, out.c_str());
      return 1;
    }
    std::printf("%-10d %-10lld %-14s %-12s %lld\n", devices, static_cast<long long>(events),
                Human(eps).c_str(), absl::StrFormat("%.0f MiB", rss / 1024.0).c_str(), rows);
    std::fflush(stdout);
    if (!json_points.empty()) json_points += ",\n    ";
    absl::StrAppendFormat(&json_points,
                          "{\"devices\": %d, \"events\": %lld, \"events_per_sec\": %.1f, "
                          "\"peak_rss_mb\": %.1f, \"rows\": %lld}",
                          devices, static_cast<long long>(events), eps, rss / 1024.0, rows);
  }
  std::error_code ec;
  fs::create_directories(results_dir, ec);
  const std::string path = ResultsPath(results_dir, "state-scale", ".json");
  std::ofstream out(path);
  out << "{\n  \"mode\": \"core --state-scale\",\n  \"machine\": " << MachineJson()
      << ",\n  \"commit\": " << JsonString(GitCommit()) << ",\n  \"state_cache_mb\": " << cache_mb
      << ",\n  \"points\": [\n    " << json_points << "\n  ]\n}\n";
  std::printf("\nwrote %s\n", path.c_str());
  return 0;
}

int CoreMode(const std::vector<std::string>& args) {
  std::vector<FlagSpec> flags = CoreFlags();
  flags.push_back({"state-scale-point", false, false, "(internal)"});
  CommandLine cl;
  int exit = 0;
  if (!CommandLine::ParseOrHelp("bench core", "[flags]",
                                "The engine alone: the simulator's events as Kafka would deliver "
                                "them, through decode and the compiled plan, a task per core. "
                                "Baseline: simdjson over the same bytes.",
                                flags, args, &cl, &exit, &CoreFlags())) {
    return exit;
  }
  CoreSettings settings;
  if (!ParseCoreSettings(cl, &settings)) return 2;
  const std::string root = RepoRoot();
  const std::string workloads_dir = cl.GetOr("workloads-dir", root + "/bench/workloads");
  const std::string results_dir = cl.GetOr("results-dir", root + "/bench/results");
  if (cl.Has("state-scale-point")) return StateScalePoint(settings, workloads_dir);
  if (cl.Has("state-scale")) return StateScale(cl, settings, workloads_dir, results_dir);

  std::vector<BenchWorkload> workloads;
  if (auto v = cl.Get("workloads")) {
    for (const std::string& name : std::vector<std::string>(absl::StrSplit(*v, ','))) {
      auto it = std::find_if(BenchWorkloads().begin(), BenchWorkloads().end(),
                             [&](const BenchWorkload& w) { return w.name == name; });
      if (it == BenchWorkloads().end()) {
        std::fprintf(stderr, "sluice bench core: no workload '%.*s'\n",
                     static_cast<int>(name.size()), name.data());
        return 2;
      }
      workloads.push_back(*it);
    }
  } else {
    workloads = BenchWorkloads();
  }
  std::vector<std::pair<BenchWorkload, v1::Plan>> plans;
  for (const BenchWorkload& w : workloads) {
    auto plan = CompileWorkload(workloads_dir, w.name);
    if (!plan.ok()) {
      std::fprintf(stderr, "sluice bench core: %s\n", std::string(plan.status().message()).c_str());
      return 1;
    }
    plans.emplace_back(w, *std::move(plan));
  }

  std::printf(
      "sluice bench core: %lld events from %d devices (%.0f%% out of order, skew %.2f), "
      "%d partitions on %d threads, %d runs per workload\n",
      static_cast<long long>(settings.events), settings.devices, settings.out_of_order * 100,
      settings.skew, settings.threads, settings.threads, settings.repeat);
  std::fflush(stdout);
  std::vector<CoreResult> results;
  {
    BenchProgress progress("core");
    progress.Phase("input", "generating events");
    const PartitionedInput input = Generate(settings, settings.threads);
    for (const auto& [workload, plan] : plans) {
      CoreResult result;
      result.workload = workload;
      std::vector<double> sluice, baseline;
      for (int r = 1; r <= settings.repeat; ++r) {
        progress.Phase(workload.name,
                       absl::StrCat("run ", r, "/", settings.repeat, ": decode only"));
        baseline.push_back(RunBaseline(input, progress));
        progress.Phase(workload.name, absl::StrCat("run ", r, "/", settings.repeat, ": sluice"));
        auto run = RunSluice(plan, input, settings.state_cache_mb, settings.devices, progress);
        if (!run.ok()) {
          std::fprintf(stderr, "\nsluice bench core: %s failed: %s\n", workload.name.c_str(),
                       std::string(run.status().message()).c_str());
          return 1;
        }
        sluice.push_back(run->per_core);
        result.rows = run->rows;
        result.exchanged = run->exchanged;
      }
      result.sluice = Summarize(sluice);
      result.baseline = Summarize(baseline);
      results.push_back(result);
    }
  }

  std::printf("\n%-12s %-7s %-26s %-14s %-8s %-12s %-9s %s\n", "workload", "NEXMark",
              "sluice ev/s/core (min/med/max)", "decode-only", "ratio", "Flink/core", "x Flink",
              "rows out");
  for (const CoreResult& r : results) {
    std::printf(
        "%-12s %-7s %-26s %-14s %-8s %-12s %-9s %lld%s\n", r.workload.name.c_str(),
        r.workload.nexmark.c_str(),
        absl::StrCat(Human(r.sluice.min), " / ", Human(r.sluice.median), " / ", Human(r.sluice.max))
            .c_str(),
        Human(r.baseline.median).c_str(),
        absl::StrFormat("%.2f", r.sluice.median / r.baseline.median).c_str(),
        r.workload.flink_per_core > 0 ? Human(r.workload.flink_per_core).c_str() : "-",
        r.workload.flink_per_core > 0
            ? absl::StrFormat("%.0fx", r.sluice.median / r.workload.flink_per_core).c_str()
            : "-",
        static_cast<long long>(r.rows),
        r.exchanged > 0 ? absl::StrCat(" (", r.exchanged, " crossed an exchange)").c_str() : "");
  }
  std::printf(
      "\nratio: sluice / decode-only in the same run (both per core). Flink: NEXMark on Flink "
      "1.13, published per-core figures (different machine; read as orders of magnitude).\n");

  std::error_code ec;
  fs::create_directories(results_dir, ec);
  const std::string path = ResultsPath(results_dir, "core", ".json");
  std::ofstream out(path);
  out << "{\n  \"mode\": \"core\",\n  \"machine\": " << MachineJson()
      << ",\n  \"commit\": " << JsonString(GitCommit()) << ",\n  \"settings\": "
      << absl::StrFormat(
             "{\"events\": %lld, \"devices\": %d, \"rate\": %.0f, \"out_of_order\": %.3f, "
             "\"skew\": %.2f, \"threads\": %d, \"repeat\": %d, \"state_cache_mb\": %zu}",
             static_cast<long long>(settings.events), settings.devices, settings.rate,
             settings.out_of_order, settings.skew, settings.threads, settings.repeat,
             settings.state_cache_mb)
      << ",\n  \"workloads\": [";
  for (size_t i = 0; i < results.size(); ++i) {
    const CoreResult& r = results[i];
    out << (i ? "," : "") << "\n    {\"name\": " << JsonString(r.workload.name)
        << ", \"nexmark\": " << JsonString(r.workload.nexmark)
        << ", \"events_per_sec_per_core\": " << StatsJson(r.sluice)
        << ", \"baseline\": {\"name\": \"decode only (simdjson)\", \"events_per_sec_per_core\": "
        << StatsJson(r.baseline) << "}"
        << absl::StrFormat(", \"ratio_to_baseline\": %.3f", r.sluice.median / r.baseline.median)
        // No published Flink figure (no NEXMark query of that shape): null.
        << (r.workload.flink_per_core > 0
                ? absl::StrFormat(", \"flink_per_core\": %.0f, \"ratio_to_flink\": %.1f",
                                  r.workload.flink_per_core,
                                  r.sluice.median / r.workload.flink_per_core)
                : std::string(", \"flink_per_core\": null, \"ratio_to_flink\": null"))
        << absl::StrFormat(", \"rows_out\": %lld, \"exchanged_rows\": %lld}",
                           static_cast<long long>(r.rows), static_cast<long long>(r.exchanged));
  }
  out << "\n  ]\n}\n";
  out.close();
  std::printf("wrote %s\n", path.c_str());
  if (!cl.Has("no-chart")) {
    // Beside the JSON, with its name: a new timestamp could be a second later.
    const std::string png = absl::StrCat(path.substr(0, path.size() - 5), ".png");
    if (RenderChart(
            CoreChart(results, png,
                      absl::StrFormat("sluice bench core: %d threads, %lld events",
                                      settings.threads, static_cast<long long>(settings.events))),
            png)) {
      std::printf("wrote %s\n", png.c_str());
    } else {
      std::fprintf(stderr, "could not render %s (is gnuplot installed?)\n", png.c_str());
    }
  }
  return 0;
}

}  // namespace

int BenchCommand(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::fprintf(args.empty() ? stderr : stdout,
                 "usage: sluice bench core [flags]    the engine in one process\n"
                 "       sluice bench kafka [flags]   on Kafka: sustained throughput, latency\n"
                 "\nRun 'sluice bench MODE --help' for the flags. bench/README.md explains "
                 "the workloads and how to read the figures.\n");
    return args.empty() ? 2 : 0;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "core") return CoreMode(rest);
  if (args[0] == "kafka") return KafkaBenchMode(rest);
  std::fprintf(stderr, "sluice bench: unknown mode '%s' (core or kafka)\n", args[0].c_str());
  return 2;
}

}  // namespace sluice

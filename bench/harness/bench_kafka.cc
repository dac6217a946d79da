// `sluice bench kafka`: the workloads on Kafka, end to end.
//
// For each workload, against the embedded broker (or --brokers):
//   capacity   the topic holds --events events already; a worker (this
//              process, --threads task threads) reads them all. Events per
//              second from its first event to its last: what it can
//              sustain, since a consumer that keeps up with this rate never
//              builds lag.
//   check      a producer writes live at 90% of that rate for a few
//              seconds; the lag must stay bounded (else the rate it did keep
//              up with is reported).
//   latency    the producer writes live at --latency-fraction of the
//              sustained rate; each output record's arrival minus its
//              System.Timestamp() (the event's creation for stateless
//              jobs, the window's end for windowed ones) gives p50, p99,
//              p99.9.
// Baseline, in the same run: a bare librdkafka consumer with the worker's
// consumer settings reading the same preloaded topic.
#include "bench/harness/bench_kafka.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "bench/harness/bench_common.h"
#include "connectors/device_simulator.h"
#include "connectors/embedded_broker.h"
#include "connectors/kafka_client.h"
#include "connectors/kafka_producer.h"
#include "connectors/kafka_reader.h"
#include "engine/app/base/command_line.h"
#include "engine/app/base/job_loader.h"
#include "engine/app/worker/worker.h"
#include "engine/core/datetime.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct KafkaSettings {
  int64_t events = 1'000'000;
  int devices = 10'000;
  int partitions = 4;
  int threads = 0;
  double latency_fraction = 0.5;
  int repeat = 3;  // capacity runs per workload
  double check_seconds = 5;
  double latency_seconds = 8;
  std::string brokers;
  KafkaProperties kafka;
};

// The consumer settings every Sluice worker uses (KafkaGroupConsumer), for
// the baseline to match.
const KafkaProperties& ConsumerSettings() {
  static const KafkaProperties kSettings = {{"queued.min.messages", "1000000"},
                                            {"fetch.wait.max.ms", "10"}};
  return kSettings;
}

SimulatorOptions Simulator(const KafkaSettings& s, double rate, int64_t start_ticks, int64_t count,
                           int64_t duration_ticks, uint64_t seed) {
  SimulatorOptions o;
  o.seed = seed;
  o.devices = s.devices;
  o.rate = rate;
  o.count = count;
  o.duration_ticks = duration_ticks;
  o.start_ticks = start_ticks;
  o.spiking_devices = std::max(1, s.devices / 200);
  return o;
}

// Produces simulator events to `topic`, paced at their arrival times when
// `realtime`, else as fast as possible. Returns the events produced.
int64_t Produce(KafkaProducer* producer, const std::string& topic, SimulatorOptions options,
                bool realtime, std::atomic<int64_t>* produced, const std::atomic<bool>* stop) {
  DeviceSimulator simulator(options);
  SimulatedEvent e;
  DeliveryTracker tracker;
  const auto started = std::chrono::steady_clock::now();
  int64_t n = 0;
  while (simulator.Next(&e)) {
    if (stop != nullptr && stop->load()) break;
    if (realtime && (n & 15) == 0) {
      const auto due = started + std::chrono::microseconds((e.arrival_ticks - options.start_ticks) /
                                                           kTicksPerMicrosecond);
      if (due > std::chrono::steady_clock::now() + std::chrono::milliseconds(1)) {
        std::this_thread::sleep_until(due);
      }
    }
    if (!producer
             ->Produce(topic, e.device, e.json, e.arrival_ticks / kTicksPerMillisecond, &tracker)
             .ok()) {
      break;
    }
    ++n;
    if (produced != nullptr) produced->store(n, std::memory_order_relaxed);
  }
  producer->Flush(60'000).IgnoreError();
  return n;
}

// Events the job's first stage has taken in, over every task here.
int64_t EventsIn(Worker* worker, const std::string& input_topic) {
  int64_t n = 0;
  for (const v1::JobOnWorker& job : worker->CollectStatus()) {
    for (const v1::TaskStatus& t : job.tasks()) {
      if (t.topic() == input_topic) n += t.events_in() + t.dead_lettered();
    }
  }
  return n;
}

struct KafkaResult {
  BenchWorkload workload;
  double capacity = 0;  // events/s, all threads: the median of the runs
  BenchStats capacity_runs;
  double sustained = 0;  // the rate the live check kept up with
  bool producer_limited = false;
  double latency_rate = 0;
  int64_t latency_samples = 0;
  double p50 = 0, p99 = 0, p999 = 0;  // ms
};

class BenchCluster {
 public:
  static absl::StatusOr<std::unique_ptr<BenchCluster>> Start(const KafkaSettings& s) {
    std::unique_ptr<BenchCluster> c(new BenchCluster());
    c->settings_ = s;
    if (s.brokers.empty()) {
      auto broker = EmbeddedBroker::Start(1);
      if (!broker.ok()) return broker.status();
      c->broker_ = *std::move(broker);
      c->bootstrap_ = c->broker_->bootstrap();
    } else {
      c->bootstrap_ = s.brokers;
    }
    c->state_dir_ =
        (fs::temp_directory_path() / absl::StrCat("sluice-bench-kafka-", ::getpid())).string();
    fs::create_directories(c->state_dir_);
    KafkaProperties properties = {{"compression.type", "zstd"}, {"linger.ms", "20"}};
    properties.insert(properties.end(), s.kafka.begin(), s.kafka.end());
    auto producer = KafkaProducer::Create(c->bootstrap_, properties);
    if (!producer.ok()) return producer.status();
    c->bulk_producer_ = *std::move(producer);
    // Live phases: no batching delay beyond a millisecond.
    properties = {{"compression.type", "zstd"}, {"linger.ms", "1"}};
    properties.insert(properties.end(), s.kafka.begin(), s.kafka.end());
    producer = KafkaProducer::Create(c->bootstrap_, properties);
    if (!producer.ok()) return producer.status();
    c->live_producer_ = *std::move(producer);
    return c;
  }
  ~BenchCluster() {
    bulk_producer_.reset();
    live_producer_.reset();
    broker_.reset();
    std::error_code ec;
    fs::remove_all(state_dir_, ec);
  }

  absl::Status CreateTopic(const std::string& name, int partitions) {
    if (broker_) return broker_->CreateTopic(name, partitions);
    absl::Status s =
        CreateTopicsIfMissing(bootstrap_, settings_.kafka, {{name, partitions, {}}}, 10'000);
    return s.code() == absl::StatusCode::kUnimplemented ? absl::OkStatus() : s;
  }

  absl::StatusOr<std::unique_ptr<Worker>> NewWorker(int n) {
    WorkerOptions options;
    options.name = absl::StrCat("bench-worker-", n);
    options.bootstrap = bootstrap_;
    options.state_dir = absl::StrCat(state_dir_, "/", n);
    options.kafka = settings_.kafka;
    options.threads = settings_.threads;
    options.status_interval_ms = 0;
    fs::create_directories(options.state_dir);
    return Worker::Create(options);
  }

  const std::string& bootstrap() const { return bootstrap_; }
  KafkaProducer* bulk() { return bulk_producer_.get(); }
  KafkaProducer* live() { return live_producer_.get(); }

 private:
  BenchCluster() = default;
  KafkaSettings settings_;
  std::unique_ptr<EmbeddedBroker> broker_;
  std::string bootstrap_;
  std::string state_dir_;
  std::unique_ptr<KafkaProducer> bulk_producer_;
  std::unique_ptr<KafkaProducer> live_producer_;
};

// The bare consumer: every record of `topic` from the beginning, counted.
absl::StatusOr<double> BareConsumer(const std::string& bootstrap, const KafkaSettings& s,
                                    const std::string& topic, BenchProgress& progress) {
  KafkaProperties properties = ConsumerSettings();
  properties.insert(properties.end(), s.kafka.begin(), s.kafka.end());
  auto reader = KafkaTopicReader::Create(bootstrap, properties);
  if (!reader.ok()) return reader.status();
  auto ends = (*reader)->Add(topic, {}, 10'000);
  if (!ends.ok()) return ends.status();
  int64_t total = 0;
  for (int64_t e : *ends) total += e;
  std::vector<KafkaMessage> messages;
  int64_t n = 0;
  double first = 0;
  const double deadline = Now() + 120;
  while (n < total && Now() < deadline) {
    messages.clear();
    (*reader)->Poll(100, 100'000, &messages).IgnoreError();
    if (!messages.empty() && first == 0) first = Now();
    n += static_cast<int64_t>(messages.size());
    progress.events.store(n);
  }
  if (n < total) return absl::DeadlineExceededError("the bare consumer did not finish");
  return static_cast<double>(n) / (Now() - first);
}

v1::JobSpec Spec(const std::string& name, const std::string& query, const std::string& input,
                 const v1::Plan& plan, bool from_latest) {
  v1::JobSpec spec;
  spec.set_name(name);
  spec.set_query(query);
  v1::InputBinding* in = spec.add_inputs();
  in->set_alias(plan.inputs(0).name());
  in->set_topic(input);
  for (const v1::Output& o : plan.outputs()) {
    v1::OutputBinding* out = spec.add_outputs();
    out->set_name(o.name());
    out->set_topic(absl::StrCat(name, ".", o.name()));
  }
  spec.set_start_from(from_latest ? "latest" : "earliest");
  return spec;
}

std::string ReadQuery(const std::string& dir, const std::string& name) {
  std::ifstream in(absl::StrCat(dir, "/", name, ".sql"));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Waits until the worker has tasks for every input partition.
bool WaitAssigned(Worker* worker, const std::string& topic, int partitions, double seconds) {
  const double deadline = Now() + seconds;
  while (Now() < deadline) {
    int n = 0;
    for (const v1::JobOnWorker& job : worker->CollectStatus()) {
      for (const v1::TaskStatus& t : job.tasks()) n += t.topic() == topic ? 1 : 0;
    }
    if (n >= partitions) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

absl::StatusOr<KafkaResult> RunWorkload(BenchCluster& cluster, const KafkaSettings& s,
                                        const BenchWorkload& workload, const std::string& query,
                                        const v1::Plan& plan, const std::string& preloaded, int run,
                                        BenchProgress& progress) {
  KafkaResult result;
  result.workload = workload;
  auto worker = cluster.NewWorker(run);
  if (!worker.ok()) return worker.status();

  // Capacity: the preloaded topic from the beginning, --repeat times (a
  // new consumer group each time).
  std::vector<double> capacities;
  for (int r = 1; r <= s.repeat; ++r) {
    const std::string name = absl::StrCat("bench-", workload.name, "-cap", r);
    progress.Phase(workload.name, absl::StrCat("capacity ", r, "/", s.repeat, ": joining"));
    auto job = LoadJob(Spec(name, query, preloaded, plan, false));
    if (!job.ok()) return job.status();
    if (absl::Status st = (*worker)->AddJob(*std::move(job)); !st.ok()) return st;
    double first = 0;
    const double deadline = Now() + 120;
    int64_t in = 0;
    while (in < s.events && Now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      in = EventsIn(worker->get(), preloaded);
      if (in > 0 && first == 0) {
        first = Now();
        progress.Phase(workload.name, absl::StrCat("capacity ", r, "/", s.repeat, ": reading"));
      }
      progress.events.store(in);
    }
    if (in < s.events) {
      return absl::DeadlineExceededError(
          absl::StrCat(workload.name, ": the worker read ", in, " of ", s.events, " events"));
    }
    capacities.push_back(static_cast<double>(in) / (Now() - first));
    (*worker)->StopJob(name);
  }
  result.capacity_runs = Summarize(capacities);
  result.capacity = result.capacity_runs.median;

  // Check: live at 90% of capacity; the lag must not grow.
  const std::string live_topic = absl::StrCat("bench.", workload.name, ".live");
  if (absl::Status st = cluster.CreateTopic(live_topic, s.partitions); !st.ok()) return st;
  {
    const std::string name = absl::StrCat("bench-", workload.name, "-live");
    auto job = LoadJob(Spec(name, query, live_topic, plan, true));
    if (!job.ok()) return job.status();
    progress.Phase(workload.name, "check: joining");
    if (absl::Status st = (*worker)->AddJob(*std::move(job)); !st.ok()) return st;
    if (!WaitAssigned(worker->get(), live_topic, s.partitions, 30)) {
      return absl::DeadlineExceededError("the live job got no partitions");
    }
    // A tiny preloaded topic read in one poll gives an absurd capacity;
    // the producer stops at the end of the check whatever the rate.
    const double rate = std::min(result.capacity * 0.9, 20e6);
    progress.Phase(workload.name, absl::StrCat("check: live at ", Human(rate), "/s"));
    std::atomic<int64_t> produced{0};
    std::atomic<bool> stop_producing{false};
    const int64_t start = (WallMs() / 1000) * kTicksPerSecond;
    const double started = Now();
    std::thread producer([&] {
      Produce(cluster.live(), live_topic,
              Simulator(s, rate, start, -1, static_cast<int64_t>(s.check_seconds * kTicksPerSecond),
                        11),
              true, &produced, &stop_producing);
    });
    // Lag halfway and at the end of production.
    int64_t lag_half = -1;
    while (Now() - started < s.check_seconds) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      progress.events.store(EventsIn(worker->get(), live_topic));
      if (lag_half < 0 && Now() - started >= s.check_seconds / 2) {
        lag_half = produced.load() - EventsIn(worker->get(), live_topic);
      }
    }
    stop_producing.store(true);
    producer.join();
    const double produce_seconds = Now() - started;
    const int64_t total = produced.load();
    const int64_t lag_end = total - EventsIn(worker->get(), live_topic);
    // Then let it drain, to see how fast it catches up.
    const double drain_start = Now();
    while (EventsIn(worker->get(), live_topic) < total && Now() - drain_start < 60) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    const double achieved = static_cast<double>(total) / produce_seconds;
    result.producer_limited = achieved < rate * 0.95;
    // Kept up: the lag at the end is within a quarter second of production
    // and not much above the lag halfway.
    const bool kept_up = lag_end <= std::max<int64_t>(achieved / 4, lag_half * 2);
    result.sustained = kept_up ? achieved : static_cast<double>(total) / (Now() - started);
    (*worker)->StopJob(name);
  }

  // Latency at a fraction of the sustained rate.
  const std::string latency_topic = absl::StrCat("bench.", workload.name, ".latency");
  if (absl::Status st = cluster.CreateTopic(latency_topic, s.partitions); !st.ok()) return st;
  {
    const std::string name = absl::StrCat("bench-", workload.name, "-lat");
    auto job = LoadJob(Spec(name, query, latency_topic, plan, true));
    if (!job.ok()) return job.status();
    progress.Phase(workload.name, "latency: joining");
    if (absl::Status st = (*worker)->AddJob(*std::move(job)); !st.ok()) return st;
    if (!WaitAssigned(worker->get(), latency_topic, s.partitions, 30)) {
      return absl::DeadlineExceededError("the latency job got no partitions");
    }
    auto reader = KafkaTopicReader::Create(cluster.bootstrap(), s.kafka);
    if (!reader.ok()) return reader.status();
    for (const v1::Output& o : plan.outputs()) {
      const std::string topic = absl::StrCat(name, ".", o.name());
      if (absl::Status st = cluster.CreateTopic(topic, s.partitions); !st.ok()) return st;
      auto added = (*reader)->Add(topic, {}, 10'000);
      if (!added.ok()) return added.status();
    }
    const double rate = result.sustained * s.latency_fraction;
    result.latency_rate = rate;
    progress.Phase(workload.name, absl::StrCat("latency: live at ", Human(rate), "/s"));
    std::atomic<bool> stop{false};
    // The first seconds warm up (the output topics' metadata, the fetch
    // sessions, the caches); rows stamped before `measured_from` are not
    // counted.
    constexpr int64_t kWarmupMs = 2000;
    const int64_t start_ms = WallMs();
    const int64_t measured_from = start_ms + kWarmupMs;
    std::thread producer([&] {
      Produce(cluster.live(), latency_topic,
              Simulator(s, rate, start_ms * kTicksPerMillisecond, -1,
                        static_cast<int64_t>((s.latency_seconds * 1000 + kWarmupMs) *
                                             kTicksPerMillisecond),
                        13),
              true, nullptr, &stop);
    });
    std::vector<double> latencies;
    std::vector<KafkaMessage> messages;
    const double started = Now();
    // Rows keep coming for a while after production ends (the last windows).
    while (Now() - started < s.latency_seconds + kWarmupMs / 1000.0 + 3) {
      messages.clear();
      (*reader)->Poll(20, 10'000, &messages).IgnoreError();
      const int64_t now = WallMs();
      for (const KafkaMessage& m : messages) {
        if (m.timestamp_ms < measured_from) continue;
        latencies.push_back(static_cast<double>(now - m.timestamp_ms));
      }
      progress.events.store(static_cast<int64_t>(latencies.size()));
    }
    stop.store(true);
    producer.join();
    (*worker)->StopJob(name);
    std::sort(latencies.begin(), latencies.end());
    result.latency_samples = static_cast<int64_t>(latencies.size());
    auto at = [&](double q) {
      if (latencies.empty()) return 0.0;
      return latencies[std::min(latencies.size() - 1,
                                static_cast<size_t>(q * static_cast<double>(latencies.size())))];
    };
    result.p50 = at(0.5);
    result.p99 = at(0.99);
    result.p999 = at(0.999);
  }
  (*worker)->Stop();
  return result;
}

const std::vector<FlagSpec>& KafkaFlags() {
  static const auto* flags = new std::vector<FlagSpec>{
      {"brokers", true, false, "a real Kafka (default: the embedded broker, in this process)",
       "HOST:PORT,..."},
      {"X", true, true, "a librdkafka property for every client", "KEY=VALUE"},
      {"workloads", true, false, "comma-separated (default: all)", "NAMES"},
      {"events", true, false, "events preloaded for the capacity runs (default 1000000)", "N"},
      {"repeat", true, false, "capacity runs per workload; min/median/max are reported (default 3)",
       "N"},
      {"devices", true, false, "distinct devices (default 10000)", "N"},
      {"partitions", true, false, "partitions of the input topics (default 4)", "N"},
      {"threads", true, false, "the worker's task threads (default: one per core)", "N"},
      {"latency-fraction", true, false,
       "latency is measured at this share of the sustained rate (default 0.5)", "SHARE"},
      {"latency-seconds", true, false,
       "how long the latency run measures, after 2 s of warm-up (default 8)", "S"},
      {"check-seconds", true, false, "how long the sustained-rate check produces (default 5)", "S"},
      {"workloads-dir", true, false, "where the workload .sql files are", "DIR"},
      {"results-dir", true, false, "where results go (default bench/results)", "DIR"},
      {"no-chart", false, false, "do not render the PNG chart"},
      {"help", false, false, "show this help"},
  };
  return *flags;
}

// The results as a table on standard output.
void PrintKafkaTable(const KafkaSettings& s, double bare, const std::vector<double>& bare_runs,
                     const std::vector<KafkaResult>& results) {
  std::printf(
      "\nbare librdkafka consumer (same topic, same consumer settings): %s events/s (median of "
      "3: %s..%s)\n\n",
      Human(bare).c_str(), Human(bare_runs.front()).c_str(), Human(bare_runs.back()).c_str());
  std::printf("%-12s %-12s %-9s %-12s %-10s %-22s %s\n", "workload", "capacity", "/bare",
              "per core", "sustained", "latency at", "p50 / p99 / p99.9 ms (rows)");
  for (const KafkaResult& r : results) {
    const std::string latency =
        r.latency_samples == 0 ? std::string("n/a (no row closed during the run)")
                               : absl::StrFormat("%.1f / %.1f / %.1f (%d)", r.p50, r.p99, r.p999,
                                                 static_cast<long long>(r.latency_samples));
    std::printf("%-12s %-12s %-9s %-12s %-10s %-22s %s\n", r.workload.name.c_str(),
                Human(r.capacity).c_str(), absl::StrFormat("%.2f", r.capacity / bare).c_str(),
                Human(r.capacity / s.threads).c_str(),
                absl::StrCat(Human(r.sustained), r.producer_limited ? "*" : "").c_str(),
                absl::StrCat(Human(r.latency_rate), " ev/s").c_str(), latency.c_str());
  }
  std::printf(
      "\ncapacity: events/s reading a preloaded topic (group join excluded); /bare: over the "
      "bare consumer's rate; sustained: the live rate the check kept up with (* the producer "
      "on this machine could not go faster). Latency: output arrival minus the row's "
      "System.Timestamp() (event creation for stateless jobs, window end for windowed ones).\n");
}

// The results as JSON in `results_dir`; returns the file's path.
std::string WriteKafkaJson(const std::string& results_dir, const KafkaSettings& s, double bare,
                           const std::vector<double>& bare_runs,
                           const std::vector<KafkaResult>& results) {
  std::error_code ec;
  fs::create_directories(results_dir, ec);
  const std::string path = ResultsPath(results_dir, "kafka", ".json");
  std::ofstream out(path);
  out << "{\n  \"mode\": \"kafka\",\n  \"machine\": " << MachineJson() << ",\n  \"commit\": \""
      << GitCommit() << "\",\n  \"settings\": "
      << absl::StrFormat(
             "{\"broker\": \"%s\", \"events\": %lld, \"devices\": %d, "
             "\"partitions\": %d, \"threads\": %d, \"repeat\": %d, \"latency_fraction\": %.2f, "
             "\"latency_seconds\": %.1f, \"check_seconds\": %.1f}",
             s.brokers.empty() ? "embedded" : s.brokers, static_cast<long long>(s.events),
             s.devices, s.partitions, s.threads, s.repeat, s.latency_fraction, s.latency_seconds,
             s.check_seconds)
      << ",\n  \"baseline\": "
      << absl::StrFormat(
             "{\"name\": \"bare librdkafka consumer\", \"events_per_sec\": %.1f, "
             "\"min\": %.1f, \"median\": %.1f, \"max\": %.1f, \"runs\": 3}",
             bare, bare_runs.front(), bare, bare_runs.back())
      << ",\n  \"workloads\": [";
  for (size_t i = 0; i < results.size(); ++i) {
    const KafkaResult& r = results[i];
    out << (i ? "," : "") << "\n    "
        << absl::StrFormat(
               "{\"name\": \"%s\", \"nexmark\": \"%s\", \"events_per_sec\": %s, "
               "\"events_per_sec_per_core\": %s, \"ratio_to_baseline\": %.3f, "
               "\"sustained_events_per_sec\": %.1f, \"producer_limited\": %s, "
               "\"latency\": {\"at_events_per_sec\": %.1f, \"samples\": %lld, \"p50_ms\": %.1f, "
               "\"p99_ms\": %.1f, \"p999_ms\": %.1f}}",
               r.workload.name, r.workload.nexmark, StatsJson(r.capacity_runs),
               StatsJson(BenchStats{r.capacity_runs.min / s.threads,
                                    r.capacity_runs.median / s.threads,
                                    r.capacity_runs.max / s.threads}),
               r.capacity / bare, r.sustained, r.producer_limited ? "true" : "false",
               r.latency_rate, static_cast<long long>(r.latency_samples), r.p50, r.p99, r.p999);
  }
  out << "\n  ]\n}\n";
  out.close();
  std::printf("wrote %s\n", path.c_str());
  return path;
}

// A PNG chart beside the JSON at `path`.
void RenderKafkaChart(const std::string& path, double bare,
                      const std::vector<KafkaResult>& results) {
  // Beside the JSON, with its name: a new timestamp could be a second later.
  const std::string png = absl::StrCat(path.substr(0, path.size() - 5), ".png");
  std::string data;
  for (const KafkaResult& r : results) {
    absl::StrAppend(&data, r.workload.name, " ", r.capacity / 1e6, " ", bare / 1e6, " ",
                    std::max(r.p50, 0.1), " ", std::max(r.p99, 0.1), " ", std::max(r.p999, 0.1),
                    "\n");
  }
  const std::string script = absl::StrCat(
      "set terminal png size 1200,520\nset output '", png, "'\n", "$data << EOD\n", data,
      "EOD\n"
      "set multiplot layout 1,2 title 'sluice bench kafka'\n"
      "set style data histogram\nset style histogram cluster gap 1\n"
      "set style fill solid 0.8 border -1\nset boxwidth 0.9\nset grid ytics\nset yrange [0:*]\n"
      "set title 'throughput'\nset ylabel 'million events/s'\nset xtics rotate by -30\n"
      "plot $data using 2:xtic(1) title 'sluice worker' lc rgb '#1f77b4', '' using 3 title "
      "'bare librdkafka consumer' lc rgb '#bbbbbb'\n"
      "set title 'latency (output arrival - System.Timestamp())'\nset ylabel 'ms'\n"
      "set logscale y\nset yrange [0.1:*]\n"
      "plot $data using 4:xtic(1) title 'p50' lc rgb '#2ca02c', '' using 5 title 'p99' lc rgb "
      "'#ff7f0e', '' using 6 title 'p99.9' lc rgb '#d62728'\n"
      "unset multiplot\n");
  if (RenderChart(script, png)) {
    std::printf("wrote %s\n", png.c_str());
  } else {
    std::fprintf(stderr, "could not render %s (is gnuplot installed?)\n", png.c_str());
  }
}

}  // namespace

int KafkaBenchMode(const std::vector<std::string>& args) {
  CommandLine cl;
  int exit = 0;
  if (!CommandLine::ParseOrHelp("bench kafka", "[flags]",
                                "The workloads on Kafka: capacity from a preloaded topic, a live "
                                "check of the sustained rate, and latency percentiles at a "
                                "fraction of it. Baseline: a bare librdkafka consumer on the same "
                                "topic.",
                                KafkaFlags(), args, &cl, &exit)) {
    return exit;
  }
  KafkaSettings s;
  auto number = [&](const char* flag, auto* target) {
    if (auto v = cl.Get(flag)) return absl::SimpleAtoi(*v, target) && *target > 0;
    return true;
  };
  auto real = [&](const char* flag, double* target) {
    if (auto v = cl.Get(flag)) return absl::SimpleAtod(*v, target) && *target > 0;
    return true;
  };
  if (!number("events", &s.events) || !number("devices", &s.devices) ||
      !number("partitions", &s.partitions) || !number("threads", &s.threads) ||
      !number("repeat", &s.repeat) || !real("latency-fraction", &s.latency_fraction) ||
      !real("latency-seconds", &s.latency_seconds) || !real("check-seconds", &s.check_seconds)) {
    std::fprintf(stderr, "sluice bench kafka: numeric flags take positive numbers\n");
    return 2;
  }
  if (s.threads == 0)
    s.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  s.brokers = cl.GetOr("brokers", "");
  for (const std::string& text : cl.GetAll("X")) {
    auto kv = ParseKafkaProperty(text);
    if (!kv.ok()) {
      std::fprintf(stderr, "sluice bench kafka: %s\n", std::string(kv.status().message()).c_str());
      return 2;
    }
    s.kafka.push_back(*kv);
  }
  const std::string root = RepoRoot();
  const std::string workloads_dir = cl.GetOr("workloads-dir", root + "/bench/workloads");
  const std::string results_dir = cl.GetOr("results-dir", root + "/bench/results");
  std::vector<BenchWorkload> workloads;
  if (auto v = cl.Get("workloads")) {
    for (const std::string& name : std::vector<std::string>(absl::StrSplit(*v, ','))) {
      auto it = std::find_if(BenchWorkloads().begin(), BenchWorkloads().end(),
                             [&](const BenchWorkload& w) { return w.name == name; });
      if (it == BenchWorkloads().end()) {
        std::fprintf(stderr, "sluice bench kafka: no workload '%s'\n", name.c_str());
        return 2;
      }
      if (!it->on_workers) {
        std::fprintf(stderr, "sluice bench kafka: workload '%s' does not run on workers yet\n",
                     name.c_str());
        return 2;
      }
      workloads.push_back(*it);
    }
  } else {
    for (const BenchWorkload& w : BenchWorkloads()) {
      if (w.on_workers) workloads.push_back(w);
    }
  }

  auto cluster = BenchCluster::Start(s);
  if (!cluster.ok()) {
    std::fprintf(stderr, "sluice bench kafka: %s\n",
                 std::string(cluster.status().message()).c_str());
    return 1;
  }
  std::printf(
      "sluice bench kafka: %s; %lld events from %d devices preloaded on %d partitions; "
      "worker with %d task threads\n",
      s.brokers.empty() ? "embedded broker (librdkafka mock) in this process"
                        : absl::StrCat("Kafka at ", s.brokers).c_str(),
      static_cast<long long>(s.events), s.devices, s.partitions, s.threads);
  std::fflush(stdout);
  const std::string preloaded = "bench.telemetry";
  double bare = 0;
  std::vector<double> bare_runs;
  std::vector<KafkaResult> results;
  {
    BenchProgress progress("kafka");
    if (absl::Status st = (*cluster)->CreateTopic(preloaded, s.partitions); !st.ok()) {
      std::fprintf(stderr, "sluice bench kafka: %s\n", std::string(st.message()).c_str());
      return 1;
    }
    progress.Phase("input", "preloading the topic");
    std::atomic<int64_t> produced{0};
    std::thread watcher([&] {
      while (produced.load() < s.events) {
        progress.events.store(produced.load());
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
    const int64_t start = *ParseDatetime("2024-01-01T00:00:00Z");
    Produce((*cluster)->bulk(), preloaded, Simulator(s, 10'000, start, s.events, -1, 42), false,
            &produced, nullptr);
    produced.store(s.events);
    watcher.join();
    // The baseline is the median of three reads: a single one on a shared
    // machine swings by a third.
    for (int i = 0; i < 3; ++i) {
      progress.Phase("baseline", absl::StrCat("bare librdkafka consumer, read ", i + 1, "/3"));
      auto baseline = BareConsumer((*cluster)->bootstrap(), s, preloaded, progress);
      if (!baseline.ok()) {
        std::fprintf(stderr, "\nsluice bench kafka: %s\n",
                     std::string(baseline.status().message()).c_str());
        return 1;
      }
      bare_runs.push_back(*baseline);
    }
    std::sort(bare_runs.begin(), bare_runs.end());
    bare = bare_runs[1];
    int run = 0;
    for (const BenchWorkload& w : workloads) {
      auto plan = CompileWorkload(workloads_dir, w.name);
      if (!plan.ok()) {
        std::fprintf(stderr, "\nsluice bench kafka: %s\n",
                     std::string(plan.status().message()).c_str());
        return 1;
      }
      auto result = RunWorkload(**cluster, s, w, ReadQuery(workloads_dir, w.name), *plan, preloaded,
                                ++run, progress);
      if (!result.ok()) {
        std::fprintf(stderr, "\nsluice bench kafka: %s: %s\n", w.name.c_str(),
                     std::string(result.status().message()).c_str());
        return 1;
      }
      results.push_back(*result);
    }
  }

  PrintKafkaTable(s, bare, bare_runs, results);
  const std::string path = WriteKafkaJson(results_dir, s, bare, bare_runs, results);
  if (!cl.Has("no-chart")) RenderKafkaChart(path, bare, results);
  return 0;
}

}  // namespace sluice

// `sluice broker`, `sluice simulate` and `sluice worker`: the Kafka side of
// Sluice.
#include "engine/app/stream_commands.h"

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "connectors/device_simulator.h"
#include "connectors/embedded_broker.h"
#include "connectors/file_sink.h"
#include "connectors/kafka_client.h"
#include "connectors/kafka_producer.h"
#include "engine/app/base/command_line.h"
#include "engine/app/base/job_loader.h"
#include "engine/app/base/job_policy.h"
#include "engine/app/control/api_audit.h"
#include "engine/app/control/api_security.h"
#include "engine/app/control/api_server.h"
#include "engine/app/control/control_plane.h"
#include "engine/app/worker/worker.h"
#include "engine/core/datetime.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;

int Fail(const char* command, const std::string& message, int code = 1) {
  std::fprintf(stderr, "sluice %s: %s\n", command, message.c_str());
  return code;
}

// Blocks SIGINT and SIGTERM in every thread started after this, so that
// WaitForSignal can take them synchronously.
sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

int WaitForSignal(const sigset_t& set) {
  int signal = 0;
  sigwait(&set, &signal);
  return signal;
}

bool StopRequested(const sigset_t& set) {
  timespec zero{0, 0};
  siginfo_t info;
  return sigtimedwait(&set, &info, &zero) > 0;
}

// Writes `text` to `path` atomically (readers never see half a file).
absl::Status WriteFileAtomically(const std::string& path, const std::string& text) {
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", temp));
    out << text << "\n";
  }
  std::error_code ec;
  fs::rename(temp, path, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot write ", path, ": ", ec.message()));
  return absl::OkStatus();
}

absl::StatusOr<KafkaProperties> KafkaFlags(const CommandLine& cl) {
  KafkaProperties properties;
  for (const std::string& text : cl.GetAll("X")) {
    auto kv = ParseKafkaProperty(text);
    if (!kv.ok()) return kv.status();
    properties.push_back(*kv);
  }
  return properties;
}

const FlagSpec kKafkaFlags[] = {
    {"brokers", true, false, "Kafka bootstrap servers", "HOST:PORT,..."},
    {"bootstrap-file", true, false,
     "read the bootstrap servers from this file (sluice broker writes it)", "PATH"},
    {"X", true, true, "any librdkafka property, e.g. -X security.protocol=SASL_SSL", "KEY=VALUE"},
};

std::vector<FlagSpec> WithKafkaFlags(std::vector<FlagSpec> flags) {
  flags.insert(flags.begin(), std::begin(kKafkaFlags), std::end(kKafkaFlags));
  return flags;
}

}  // namespace

int BrokerCommand(const std::vector<std::string>& args) {
  const std::vector<FlagSpec> flags = {
      {"brokers", true, false, "number of mock brokers (default 1)", "N"},
      {"topic", true, true, "create a topic with this many partitions", "NAME:PARTITIONS"},
      {"default-partitions", true, false, "partitions of auto-created topics (the mock fixes 4)",
       "N"},
      {"bootstrap-file", true, false, "write the bootstrap address to this file", "PATH"},
      {"help", false, false, "show this help"},
  };
  auto parsed = CommandLine::Parse(flags, args);
  if (!parsed.ok() || parsed->Has("help")) {
    std::fprintf(parsed.ok() ? stdout : stderr,
                 "%s%susage: sluice broker [flags]\n\nRuns the embedded Kafka (librdkafka's mock "
                 "cluster) on loopback until SIGINT or SIGTERM.\n\n%s",
                 parsed.ok() ? "" : std::string(parsed.status().message()).c_str(),
                 parsed.ok() ? "" : "\n\n", CommandLine::Help(flags).c_str());
    return parsed.ok() ? 0 : 2;
  }
  int brokers = 1;
  if (auto v = parsed->Get("brokers"); v && !absl::SimpleAtoi(*v, &brokers)) {
    return Fail("broker", "--brokers takes a number", 2);
  }
  if (auto v = parsed->Get("default-partitions")) {
    int n = 0;
    if (!absl::SimpleAtoi(*v, &n) || n != EmbeddedBroker::kAutoCreatedPartitions) {
      return Fail("broker",
                  absl::StrCat("--default-partitions: librdkafka 2.0.2's mock cluster always gives "
                               "auto-created topics ",
                               EmbeddedBroker::kAutoCreatedPartitions,
                               " partitions and has no setting for it; create topics with other "
                               "counts with --topic NAME:PARTITIONS"),
                  2);
    }
  }
  std::vector<std::pair<std::string, int>> topics;
  for (const std::string& spec : parsed->GetAll("topic")) {
    const size_t colon = spec.rfind(':');
    int partitions = 0;
    if (colon == std::string::npos || colon == 0 ||
        !absl::SimpleAtoi(spec.substr(colon + 1), &partitions)) {
      return Fail("broker", absl::StrCat("--topic takes NAME:PARTITIONS, not '", spec, "'"), 2);
    }
    topics.emplace_back(spec.substr(0, colon), partitions);
  }
  // The control plane's topics, with one partition each (a total order),
  // unless given: the mock has no Admin API for the workers to create them.
  for (const char* control : {kCatalogTopic, kStatusTopic, kAuditTopic}) {
    if (std::none_of(topics.begin(), topics.end(),
                     [&](const auto& t) { return t.first == control; })) {
      topics.emplace_back(control, 1);
    }
  }
  const sigset_t stop = BlockStopSignals();
  auto broker = EmbeddedBroker::Start(brokers);
  if (!broker.ok()) return Fail("broker", std::string(broker.status().message()));
  for (const auto& [name, partitions] : topics) {
    if (absl::Status s = (*broker)->CreateTopic(name, partitions); !s.ok()) {
      return Fail("broker", std::string(s.message()));
    }
  }
  std::printf("sluice broker: listening on %s\n", (*broker)->bootstrap().c_str());
  for (const auto& [name, partitions] : topics) {
    std::printf("sluice broker: topic %s with %d partitions\n", name.c_str(), partitions);
  }
  std::printf("sluice broker: %s\n", EmbeddedBroker::kLimits);
  std::fflush(stdout);
  if (auto path = parsed->Get("bootstrap-file")) {
    if (absl::Status s = WriteFileAtomically(*path, (*broker)->bootstrap()); !s.ok()) {
      return Fail("broker", std::string(s.message()));
    }
  }
  const int signal = WaitForSignal(stop);
  std::printf("sluice broker: %s, shutting down\n",
              signal == SIGINT ? "interrupted" : "terminated");
  std::fflush(stdout);
  broker->reset();
  if (auto path = parsed->Get("bootstrap-file")) {
    std::error_code ec;
    fs::remove(*path, ec);
  }
  return 0;
}

namespace {

// The simulator's options from `sluice simulate`'s flags.
absl::StatusOr<SimulatorOptions> SimulatorOptionsFrom(const CommandLine& cl) {
  SimulatorOptions options;
  auto number = [&](const char* flag, auto* target) -> bool {
    if (auto v = cl.Get(flag)) return absl::SimpleAtoi(*v, target);
    return true;
  };
  auto share = [&](const char* flag, double* target) -> bool {
    if (auto v = cl.Get(flag)) return absl::SimpleAtod(*v, target) && *target >= 0 && *target <= 1;
    return true;
  };
  auto duration = [&](const char* flag, int64_t* target) -> bool {
    if (auto v = cl.Get(flag)) {
      auto t = ParseDurationTicks(*v);
      if (!t.ok()) return false;
      *target = *t;
    }
    return true;
  };
  if (!number("devices", &options.devices) || !number("count", &options.count) ||
      !number("seed", &options.seed) || !number("spiking-devices", &options.spiking_devices)) {
    return absl::InvalidArgumentError(
        "--devices, --count, --seed and --spiking-devices take whole numbers");
  }
  if (auto v = cl.Get("rate"); v && (!absl::SimpleAtod(*v, &options.rate) || options.rate <= 0)) {
    return absl::InvalidArgumentError("--rate takes a positive number");
  }
  if (auto v = cl.Get("skew"); v && (!absl::SimpleAtod(*v, &options.skew) || options.skew < 0)) {
    return absl::InvalidArgumentError("--skew takes a number >= 0");
  }
  if (!share("out-of-order", &options.out_of_order_share) || !share("late", &options.late_share) ||
      !share("bad", &options.bad_share)) {
    return absl::InvalidArgumentError("--out-of-order, --late and --bad take a share from 0 to 1");
  }
  if (!duration("duration", &options.duration_ticks) ||
      !duration("out-of-order-max", &options.out_of_order_max_ticks) ||
      !duration("late-delay", &options.late_delay_ticks) ||
      !duration("clock-lag-max", &options.clock_lag_max_ticks)) {
    return absl::InvalidArgumentError(
        "--duration, --out-of-order-max, --late-delay and --clock-lag-max take durations like 5s");
  }
  if (options.count < 0 && options.duration_ticks < 0) {
    return absl::InvalidArgumentError("give --count N or --duration D");
  }
  const int64_t now_ticks = std::chrono::duration_cast<std::chrono::seconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count() *
                            kTicksPerSecond;
  options.start_ticks = now_ticks;
  if (auto v = cl.Get("start-time")) {
    auto t = ParseDatetime(*v);
    if (!t)
      return absl::InvalidArgumentError(
          absl::StrCat("--start-time is not an ISO 8601 datetime: ", *v));
    options.start_ticks = *t;
  }
  return options;
}

}  // namespace

int SimulateCommand(const std::vector<std::string>& args) {
  const std::vector<FlagSpec> flags = WithKafkaFlags({
      {"topic", true, false, "produce to this Kafka topic (key: deviceId)", "NAME"},
      {"output", true, false, "write JSON lines to this file instead ('-' for stdout)", "PATH"},
      {"devices", true, false, "number of devices (default 100)", "N"},
      {"rate", true, false, "events per second (default 1000)", "N"},
      {"count", true, false, "stop after N events", "N"},
      {"duration", true, false, "stop after this much event time (e.g. 60s)", "DURATION"},
      {"seed", true, false, "random seed: the same seed gives the same events (default 1)", "N"},
      {"start-time", true, false, "event time of the first reading (default: now)", "ISO8601"},
      {"out-of-order", true, false, "share of events delayed within --out-of-order-max (default 0)",
       "SHARE"},
      {"out-of-order-max", true, false, "largest delay of an out-of-order event (default 2s)",
       "DURATION"},
      {"late", true, false, "share of events delayed by --late-delay (default 0)", "SHARE"},
      {"clock-lag-max", true, false,
       "slow device clocks: each device's eventTime lags by a fixed amount up to this (default 0)",
       "DURATION"},
      {"late-delay", true, false, "delay of a late event (default 10s)", "DURATION"},
      {"bad", true, false, "share of malformed records (default 0)", "SHARE"},
      {"spiking-devices", true, false, "devices that overheat now and then (default 1)", "N"},
      {"skew", true, false,
       "0: devices report equally often (default); s > 0: Zipf, device k in proportion to "
       "1/(k+1)^s",
       "S"},
      {"realtime", false, false,
       "pace events at --rate in wall-clock time (default for --topic without --start-time)"},
      {"no-pace", false, false, "produce as fast as possible"},
      {"help", false, false, "show this help"},
  });
  auto parsed = CommandLine::Parse(flags, args);
  if (!parsed.ok() || parsed->Has("help")) {
    std::fprintf(parsed.ok() ? stdout : stderr,
                 "%s%susage: sluice simulate (--topic NAME | --output PATH) [flags]\n\nProduces "
                 "deterministic device telemetry.\n\n%s",
                 parsed.ok() ? "" : std::string(parsed.status().message()).c_str(),
                 parsed.ok() ? "" : "\n\n", CommandLine::Help(flags).c_str());
    return parsed.ok() ? 0 : 2;
  }
  const CommandLine& cl = *parsed;
  auto parsed_options = SimulatorOptionsFrom(cl);
  if (!parsed_options.ok()) {
    return Fail("simulate", std::string(parsed_options.status().message()), 2);
  }
  const SimulatorOptions options = *std::move(parsed_options);
  const bool to_topic = cl.Has("topic");
  if (to_topic == cl.Has("output"))
    return Fail("simulate", "give exactly one of --topic and --output", 2);
  const bool pace =
      !cl.Has("no-pace") && (cl.Has("realtime") || (to_topic && !cl.Has("start-time")));

  std::unique_ptr<KafkaProducer> producer;
  std::unique_ptr<JsonLinesSink> file;
  DeliveryTracker tracker;
  if (to_topic) {
    auto bootstrap = ResolveBootstrap(cl.GetOr("brokers", ""), cl.GetOr("bootstrap-file", ""), 30);
    if (!bootstrap.ok()) return Fail("simulate", std::string(bootstrap.status().message()));
    auto kafka = KafkaFlags(cl);
    if (!kafka.ok()) return Fail("simulate", std::string(kafka.status().message()), 2);
    // zstd keeps every message within the embedded broker's 5 MiB retention.
    KafkaProperties properties = {{"compression.type", "zstd"}, {"linger.ms", "20"}};
    properties.insert(properties.end(), kafka->begin(), kafka->end());
    auto created = KafkaProducer::Create(*bootstrap, properties);
    if (!created.ok()) return Fail("simulate", std::string(created.status().message()));
    producer = *std::move(created);
  } else if (*cl.Get("output") == "-") {
    file = JsonLinesSink::Stdout("");
  } else {
    auto created = JsonLinesSink::Create(*cl.Get("output"));
    if (!created.ok()) return Fail("simulate", std::string(created.status().message()));
    file = *std::move(created);
  }
  const sigset_t stop = BlockStopSignals();
  DeviceSimulator simulator(options);
  SimulatedEvent event;
  const std::string topic = cl.GetOr("topic", "");
  const auto started = std::chrono::steady_clock::now();
  int64_t produced = 0;
  int64_t bad = 0;
  while (simulator.Next(&event)) {
    if (pace) {
      // Release each event when its arrival time comes.
      const auto due =
          started + std::chrono::microseconds((event.arrival_ticks - options.start_ticks) / 10);
      std::this_thread::sleep_until(due);
      if ((produced & 63) == 0 && StopRequested(stop)) break;
    }
    bad += event.bad ? 1 : 0;
    if (producer) {
      if (absl::Status s = producer->Produce(topic, event.device, event.json,
                                             event.arrival_ticks / kTicksPerMillisecond, &tracker);
          !s.ok()) {
        return Fail("simulate", std::string(s.message()));
      }
    } else if (absl::Status s = file->WriteLine(event.json); !s.ok()) {
      return Fail("simulate", std::string(s.message()));
    }
    ++produced;
  }
  if (producer) {
    if (absl::Status s = producer->Flush(60'000); !s.ok())
      return Fail("simulate", std::string(s.message()));
    if (tracker.failed() > 0) return Fail("simulate", tracker.last_error());
  } else if (absl::Status s = file->Flush(); !s.ok()) {
    return Fail("simulate", std::string(s.message()));
  }
  std::fprintf(stderr, "sluice simulate: %lld events (%lld bad) from %d devices%s%s\n",
               static_cast<long long>(produced), static_cast<long long>(bad), options.devices,
               to_topic ? " to topic " : "", topic.c_str());
  return 0;
}

namespace {

// `sluice worker`'s flags: its own, Kafka's and the API's security.
std::vector<FlagSpec> WorkerFlags() {
  std::vector<FlagSpec> flags = WithKafkaFlags({
      {"grpc-listen", true, false,
       "serve the JobService API here (default localhost:9750; 'none' for no API)", "HOST:PORT"},
      {"job", true, true,
       "submit this job (JSON JobSpec file) to the catalog at start, updating the catalog's "
       "copy if it differs",
       "FILE"},
      {"heartbeat-interval", true, false,
       "how often this worker publishes its status to the cluster (default 1s)", "DURATION"},
      {"max-jobs", true, false, "refuse submissions beyond this many running jobs (default 100)",
       "N"},
      {"max-tails", true, false,
       "refuse output tails beyond this many open on this worker (default 32)", "N"},
      {"state-dir", true, false, "RocksDB state directory (default: a temporary one)", "DIR"},
      {"reference-root", true, false,
       "jobs may read reference data files, as relative paths below this directory (default: "
       "none; reference data then comes from topics only)",
       "DIR"},
      {"output-root", true, false,
       "jobs may write file outputs, as relative paths below this directory (default: no "
       "file outputs)",
       "DIR"},
      {"secrets-dir", true, false,
       "jobs may name files here as ${file:NAME} in their Kafka properties (default: none)", "DIR"},
      {"name", true, false, "name shown in logs (default worker-<pid>)", "NAME"},
      {"threads", true, false, "task threads (default: one per core)", "N"},
      {"commit-interval", true, false,
       "how often each task checkpoints its state and input position (default 1s)", "DURATION"},
      {"status-interval", true, false,
       "how often a status line is printed (default 5s, 0 for never)", "DURATION"},
      {"help", false, false, "show this help"},
  });
  flags.insert(flags.end() - 1, ApiSecurityFlags().begin(), ApiSecurityFlags().end());
  return flags;
}

// The --job files, each checked against the worker's policy; false (the
// error printed) when one is not allowed.
bool ReadStaticJobs(const CommandLine& cl, const JobPolicy& policy,
                    std::vector<v1::JobSpec>* jobs) {
  for (const std::string& path : cl.GetAll("job")) {
    auto spec = ReadJobFile(path);
    if (!spec.ok()) {
      Fail("worker", std::string(spec.status().message()), 2);
      return false;
    }
    auto job = LoadJob(*spec);
    absl::Status allowed = job.ok() ? CheckJobPolicy(*job, policy) : job.status();
    if (!allowed.ok()) {
      std::fprintf(stderr, "%s:%s\n", path.c_str(), std::string(allowed.message()).c_str());
      return false;
    }
    spec->clear_query_file();  // the text is inline now
    jobs->push_back(*std::move(spec));
  }
  return true;
}

}  // namespace

int WorkerCommand(const std::vector<std::string>& args) {
  const std::vector<FlagSpec> flags = WorkerFlags();
  auto parsed = CommandLine::Parse(flags, args);
  if (!parsed.ok() || parsed->Has("help")) {
    std::fprintf(parsed.ok() ? stdout : stderr,
                 "%s%susage: sluice worker (--brokers B | --bootstrap-file F) [flags]\n\nJoins "
                 "the cluster: runs every job of the catalog on the Kafka partitions assigned to "
                 "this worker and serves the JobService API, until SIGINT or SIGTERM.\n\n%s",
                 parsed.ok() ? "" : std::string(parsed.status().message()).c_str(),
                 parsed.ok() ? "" : "\n\n", CommandLine::Help(flags).c_str());
    return parsed.ok() ? 0 : 2;
  }
  const CommandLine& cl = *parsed;
  JobPolicy policy;
  for (auto [flag, dir] : {std::pair<const char*, std::string*>{"output-root", &policy.output_root},
                           {"reference-root", &policy.reference_root},
                           {"secrets-dir", &policy.secrets_dir}}) {
    if (auto v = cl.Get(flag)) {
      std::error_code ec;
      const fs::path absolute = fs::absolute(*v, ec);
      if (ec || !fs::is_directory(absolute, ec)) {
        return Fail("worker", absl::StrCat("--", flag, " is not a directory: ", *v), 2);
      }
      *dir = absolute.lexically_normal().string();
    }
  }
  std::vector<v1::JobSpec> jobs;
  if (!ReadStaticJobs(cl, policy, &jobs)) return 2;
  ServiceLimits limits;
  if (auto v = cl.Get("max-jobs");
      v && (!absl::SimpleAtoi(*v, &limits.max_jobs) || limits.max_jobs < 1)) {
    return Fail("worker", "--max-jobs takes a positive number", 2);
  }
  if (auto v = cl.Get("max-tails");
      v && (!absl::SimpleAtoi(*v, &limits.max_tails) || limits.max_tails < 1)) {
    return Fail("worker", "--max-tails takes a positive number", 2);
  }
  int64_t heartbeat_ms = 1000;
  if (auto v = cl.Get("heartbeat-interval")) {
    auto t = ParseDurationTicks(*v);
    if (!t.ok() || *t < kTicksPerMillisecond * 10) {
      return Fail("worker", "--heartbeat-interval takes a duration of at least 10ms", 2);
    }
    heartbeat_ms = *t / kTicksPerMillisecond;
  }
  const bool listen_given = cl.Has("grpc-listen");
  const std::string listen = cl.GetOr("grpc-listen", "localhost:9750");
  WorkerOptions options;
  options.name = cl.GetOr("name", absl::StrCat("worker-", ::getpid()));
  auto security_options = ApiSecurityOptionsFromFlags(cl);
  if (!security_options.ok()) {
    return Fail("worker", std::string(security_options.status().message()), 2);
  }
  absl::StatusOr<ApiSecurity> security;
  if (listen != "none") {
    security = PrepareApiSecurity(*security_options, listen, [name = options.name](auto& line) {
      std::printf("%s | %s\n", name.c_str(), line.c_str());
      std::fflush(stdout);
    });
    if (!security.ok()) return Fail("worker", std::string(security.status().message()), 2);
    if (!security->warning.empty()) {
      std::printf("%s | WARNING: %s\n", options.name.c_str(), security->warning.c_str());
    }
  }
  auto bootstrap = ResolveBootstrap(cl.GetOr("brokers", ""), cl.GetOr("bootstrap-file", ""), 30);
  if (!bootstrap.ok()) return Fail("worker", std::string(bootstrap.status().message()));
  options.bootstrap = *bootstrap;
  auto kafka = KafkaFlags(cl);
  if (!kafka.ok()) return Fail("worker", std::string(kafka.status().message()), 2);
  options.kafka = *kafka;
  if (auto v = cl.Get("threads"); v && !absl::SimpleAtoi(*v, &options.threads)) {
    return Fail("worker", "--threads takes a number", 2);
  }
  for (auto [flag, target] :
       {std::pair<const char*, int64_t*>{"commit-interval", &options.commit_interval_ms},
        {"status-interval", &options.status_interval_ms}}) {
    if (auto v = cl.Get(flag)) {
      auto t = ParseDurationTicks(*v);
      if (!t.ok()) return Fail("worker", absl::StrCat("--", flag, ": ", t.status().message()), 2);
      *target = *t / kTicksPerMillisecond;
    }
  }
  std::string temp_dir;
  options.state_dir = cl.GetOr("state-dir", "");
  if (options.state_dir.empty()) {
    temp_dir = (fs::temp_directory_path() / absl::StrCat("sluice-worker-", ::getpid())).string();
    options.state_dir = temp_dir;
  }
  std::error_code ec;
  fs::create_directories(options.state_dir, ec);
  const sigset_t stop = BlockStopSignals();
  auto worker = Worker::Create(options);
  if (!worker.ok()) return Fail("worker", std::string(worker.status().message()));
  std::printf("%s | started: Kafka at %s, state in %s\n", options.name.c_str(),
              options.bootstrap.c_str(), options.state_dir.c_str());
  std::fflush(stdout);

  ControlPlaneOptions plane_options;
  plane_options.worker_name = options.name;
  plane_options.bootstrap = options.bootstrap;
  plane_options.kafka = options.kafka;
  plane_options.heartbeat_ms = heartbeat_ms;
  plane_options.static_jobs = std::move(jobs);
  plane_options.policy = policy;
  if (security.ok()) plane_options.api_warning = security->warning;
  auto plane = ControlPlane::Start(std::move(plane_options), worker->get());
  if (!plane.ok()) return Fail("worker", std::string(plane.status().message()));
  std::unique_ptr<ApiServer> api;
  if (listen != "none") {
    const std::string described = security->Describe();
    auto started = ApiServer::Start(listen, limits, plane->get(), *std::move(security));
    if (!started.ok()) {
      if (listen_given) return Fail("worker", std::string(started.status().message()));
      std::printf("%s | no API: %s (give --grpc-listen HOST:PORT)\n", options.name.c_str(),
                  std::string(started.status().message()).c_str());
    } else {
      api = *std::move(started);
      (*plane)->SetGrpcAddress(api->address());
      std::printf("%s | serving the JobService API on %s (%s)\n", options.name.c_str(),
                  api->address().c_str(), described.c_str());
    }
    std::fflush(stdout);
  }
  const int signal = WaitForSignal(stop);
  std::printf("%s | %s: leaving the groups, committing finished work\n", options.name.c_str(),
              signal == SIGINT ? "interrupted" : "terminated");
  std::fflush(stdout);
  if (api) api->Shutdown();
  (*plane)->Stop();
  (*worker)->Stop();
  worker->reset();
  if (!temp_dir.empty()) fs::remove_all(temp_dir, ec);
  std::printf("%s | stopped\n", options.name.c_str());
  return 0;
}

}  // namespace sluice

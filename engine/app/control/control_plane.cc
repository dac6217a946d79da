#include "engine/app/control/control_plane.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "connectors/kafka_reader.h"
#include "engine/app/base/job_loader.h"
#include "engine/app/base/job_policy.h"
#include "engine/app/base/log_line.h"
#include "engine/app/control/api_audit.h"
#include "google/protobuf/util/json_util.h"

namespace sluice {
namespace {

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void Log(std::string_view line) { LogLine(line); }

std::string NewRequestId() {
  static absl::Mutex mu(absl::kConstInit);
  static std::mt19937_64* random = nullptr;
  absl::MutexLock lock(&mu);
  if (random == nullptr) random = new std::mt19937_64(std::random_device{}());
  return absl::StrFormat("%016x%016x", (*random)(), (*random)());
}

std::string ToJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = false;
  // Only fails for messages with unset required fields (proto2): never here.
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

const char* KindName(v1::CatalogCommand::Kind kind) {
  switch (kind) {
    case v1::CatalogCommand::SUBMIT:
      return "submit";
    case v1::CatalogCommand::UPDATE:
      return "update";
    case v1::CatalogCommand::STOP:
      return "stop";
    default:
      return "unknown command";
  }
}

}  // namespace

ControlPlane::ControlPlane(ControlPlaneOptions options, Worker* worker)
    : options_(std::move(options)), worker_(worker), started_at_ms_(WallMs()) {
  grpc_address_ = options_.grpc_address;
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  id_ = absl::StrCat(options_.worker_name, "@", host, ":", ::getpid(), ":", started_at_ms_);
}

absl::StatusOr<std::unique_ptr<ControlPlane>> ControlPlane::Start(ControlPlaneOptions options,
                                                                  Worker* worker) {
  std::unique_ptr<ControlPlane> plane(new ControlPlane(std::move(options), worker));
  const ControlPlaneOptions& o = plane->options_;
  KafkaProperties properties = {
      {"linger.ms", "0"},
      {"compression.type", "none"},
      // A catalog write that Kafka does not take within 10 s fails, and the
      // request with it; nothing is half-done.
      {"message.timeout.ms", "10000"},
  };
  properties.insert(properties.end(), o.kafka.begin(), o.kafka.end());
  auto producer = KafkaProducer::Create(o.bootstrap, properties);
  if (!producer.ok()) return producer.status();
  plane->producer_ = *std::move(producer);
  plane->starters_ = std::make_unique<ThreadPool>(kConcurrentStarts);
  plane->stoppers_ = std::make_unique<ThreadPool>(kConcurrentStops);
  ControlPlane* raw = plane.get();
  plane->follower_ = std::thread([raw] { raw->Follow(); });
  plane->heartbeat_ = std::thread([raw] { raw->Heartbeat(); });
  plane->reconciler_ = std::thread([raw] { raw->Reconcile(); });
  return plane;
}

ControlPlane::~ControlPlane() { Stop(); }

void ControlPlane::Stop() {
  if (stop_.exchange(true)) return;
  {
    absl::MutexLock lock(&mu_);  // wake the reconciler
    ++catalog_changes_;
  }
  if (reconciler_.joinable()) reconciler_.join();
  if (static_submitter_.joinable()) static_submitter_.join();
  // Queued starts see stop_ and do nothing; running ones and stops finish.
  starters_.reset();
  stoppers_.reset();
  if (heartbeat_.joinable()) heartbeat_.join();
  if (follower_.joinable()) follower_.join();
  // Tell the others this worker is gone, rather than letting them wait for
  // its status to age.
  const std::string json = ToJson(OwnStatus(true));
  if (producer_->Produce(kStatusTopic, id_, json, WallMs(), nullptr).ok()) {
    producer_->Flush(2000).IgnoreError();
  }
}

void ControlPlane::SetHealth(bool kafka_ok, const std::string& problem) {
  {
    absl::MutexLock lock(&mu_);
    kafka_ok_ = kafka_ok;
    if (!kafka_ok) {
      problem_ = problem;
    } else if (caught_up_) {
      problem_.clear();
    }
  }
  PublishHealth();
}

void ControlPlane::PublishHealth() {
  // One at a time, so that the log and the health service see the changes
  // in the order they happened.
  absl::MutexLock publishing(&health_mu_);
  bool healthy = false;
  std::string problem;
  std::function<void(bool)> callback;
  {
    absl::MutexLock lock(&mu_);
    healthy = caught_up_ && kafka_ok_;
    problem = problem_;
    callback = on_health_;
  }
  if (healthy != logged_healthy_) {
    // Starting up unhealthy (reading the catalog) is not news.
    if (healthy || logged_once_) {
      Log(absl::StrCat(options_.worker_name, " | ",
                       healthy ? "healthy: Kafka answers and the job catalog is read"
                               : absl::StrCat("degraded: ", problem,
                                              " (serving what it knows; jobs keep retrying)")));
    }
    logged_healthy_ = healthy;
    logged_once_ = true;
  }
  if (callback && (!callback_told_ || healthy != told_healthy_)) {
    callback(healthy);
    callback_told_ = true;
    told_healthy_ = healthy;
  }
}

void ControlPlane::SetGrpcAddress(std::string address) {
  absl::MutexLock lock(&mu_);
  grpc_address_ = std::move(address);
}

bool ControlPlane::healthy() {
  absl::MutexLock lock(&mu_);
  return caught_up_ && kafka_ok_;
}

void ControlPlane::OnHealthChange(std::function<void(bool)> callback) {
  {
    absl::MutexLock publishing(&health_mu_);
    absl::MutexLock lock(&mu_);
    on_health_ = std::move(callback);
    callback_told_ = false;
  }
  PublishHealth();  // the current state, right away
}

// On a real cluster, creates missing control topics with one partition
// each (a total order): the catalog and status compacted, the audit trail
// not. The embedded broker has no Admin API:
// `sluice broker` creates them; elsewhere they are auto-created on first use.
void ControlPlane::EnsureControlTopics(KafkaTopicReader* reader) {
  std::vector<TopicToCreate> missing;
  for (const char* topic : {kCatalogTopic, kStatusTopic, kAuditTopic}) {
    auto partitions = reader->Partitions(topic, 5000);
    if (partitions.ok() || partitions.status().code() != absl::StatusCode::kNotFound) continue;
    if (std::string_view(topic) == kCatalogTopic) {
      missing.push_back({topic, 1, {{"cleanup.policy", "compact"}}});
    } else if (std::string_view(topic) == kAuditTopic) {
      missing.push_back({topic, 1, {}});  // a trail: never compacted; the broker's retention
    } else {
      missing.push_back(
          {topic, 1, {{"cleanup.policy", "compact,delete"}, {"retention.ms", "86400000"}}});
    }
  }
  if (missing.empty()) return;
  absl::Status created = CreateTopicsIfMissing(options_.bootstrap, options_.kafka, missing, 5000);
  if (!created.ok()) {
    Log(absl::StrCat(options_.worker_name, " | cannot create the control topics (",
                     created.message(), "); they will be auto-created"));
  }
}

void ControlPlane::Follow() {
  std::unique_ptr<KafkaTopicReader> reader;
  bool reading_catalog = false;
  bool reading_status = false;
  std::map<int32_t, int64_t> catalog_ends;
  int64_t last_ping = 0;
  int64_t last_attempt = 0;
  int64_t quiet_since = SteadyMs();
  std::vector<KafkaMessage> messages;
  while (!stop_.load()) {
    const int64_t now = SteadyMs();
    if (reader == nullptr) {
      auto created = KafkaTopicReader::Create(options_.bootstrap, options_.kafka);
      if (!created.ok()) {
        SetHealth(false, std::string(created.status().message()));
        std::this_thread::sleep_for(std::chrono::seconds(1));
        continue;
      }
      reader = *std::move(created);
      EnsureControlTopics(reader.get());
    }
    if ((!reading_catalog || !reading_status) && now - last_attempt >= 1000) {
      last_attempt = now;
      if (!reading_catalog) {
        auto ends = reader->Add(kCatalogTopic, {}, 5000);
        if (ends.ok()) {
          reading_catalog = true;
          absl::MutexLock lock(&mu_);
          for (size_t p = 0; p < ends->size(); ++p) {
            catalog_ends[static_cast<int32_t>(p)] = (*ends)[p];
            catalog_read_.emplace(static_cast<int32_t>(p), 0);
          }
        } else if (ends.status().code() == absl::StatusCode::kNotFound) {
          // No catalog yet: nothing was ever submitted. Read it once the
          // first command creates it.
        } else {
          SetHealth(false, std::string(ends.status().message()));
        }
        if (ends.ok() || ends.status().code() == absl::StatusCode::kNotFound) {
          bool done = true;
          {
            absl::MutexLock lock(&mu_);
            for (const auto& [p, end] : catalog_ends) done = done && catalog_read_[p] >= end;
          }
          if (done) {
            {
              absl::MutexLock lock(&mu_);
              caught_up_ = true;
              if (kafka_ok_) problem_.clear();
            }
            PublishHealth();
          }
        }
      }
      if (!reading_status) {
        // The latest statuses are enough: a few per worker.
        auto ends = reader->Add(kStatusTopic, {KafkaTopicReader::Start::Kind::kLast, 1000}, 5000);
        reading_status = ends.ok();
      }
    }
    messages.clear();
    absl::Status polled = reader->Poll(200, 2000, &messages);
    for (const KafkaMessage& m : messages) {
      if (m.topic == kCatalogTopic) {
        Apply(m.key, m.has_value ? m.value : std::string(), m.partition, m.offset);
      } else if (m.topic == kStatusTopic && m.has_value) {
        auto decoded = DecodeWorkerStatus(m.value);
        if (!decoded.ok()) continue;
        v1::WorkerStatus status = *std::move(decoded);
        const std::string id = status.worker().id();
        absl::MutexLock lock(&mu_);
        if (status.leaving()) {
          workers_.erase(id);
        } else {
          workers_[id] = RemoteStatus{std::move(status), SteadyMs()};
        }
      }
    }
    if (!messages.empty()) quiet_since = SteadyMs();
    bool newly_caught_up = false;
    {
      absl::MutexLock lock(&mu_);
      if (reading_catalog && !caught_up_) {
        bool done = true;
        for (const auto& [p, end] : catalog_ends) done = done && catalog_read_[p] >= end;
        // Compaction can leave the last offsets empty: a quiet topic after
        // reading is caught up too.
        if (done || SteadyMs() - quiet_since > 3000) {
          caught_up_ = true;
          if (kafka_ok_) problem_.clear();
          newly_caught_up = true;
        }
      }
    }
    if (newly_caught_up) {
      Log(absl::StrCat(options_.worker_name, " | job catalog read: ", Jobs().size(), " job(s)"));
      PublishHealth();
    }
    // Errors of the connection show in the next ping.
    polled.IgnoreError();
    if (SteadyMs() - last_ping >= 2000) {
      last_ping = SteadyMs();
      absl::Status ping = reader->Ping(1500);
      if (ping.ok()) {
        SetHealth(true, "");
      } else {
        SetHealth(false, absl::StrCat("Kafka does not answer at ", options_.bootstrap, " (",
                                      ping.message(), ")"));
      }
    }
  }
}

void ControlPlane::Apply(const std::string& key, const std::string& value, int32_t partition,
                         int64_t offset) {
  absl::StatusOr<v1::CatalogCommand> decoded =
      value.empty() ? absl::InvalidArgumentError("an empty record") : DecodeCatalogCommand(value);
  const bool readable = decoded.ok();
  const v1::CatalogCommand command = readable ? *std::move(decoded) : v1::CatalogCommand();
  std::string line;
  {
    absl::MutexLock lock(&mu_);
    catalog_read_[partition] = offset + 1;
    if (!readable) {
      line =
          absl::StrCat(options_.worker_name, " | catalog: skipping an unreadable record at ",
                       kCatalogTopic, "[", partition, "]@", offset, " (key ",
                       absl::CHexEscape(key.substr(0, 100)), ": ", decoded.status().message(), ")");
    } else {
      const CommandOutcome outcome = catalog_.Apply(command);
      if (outcome.changed) ++catalog_changes_;
      if (!outcome.status.ok()) {
        line = absl::StrCat(options_.worker_name, " | catalog: ", KindName(command.kind()), " of ",
                            command.name(), " from ", command.worker(),
                            " rejected: ", outcome.status.message());
      } else if (outcome.changed) {
        line = absl::StrCat(options_.worker_name, " | catalog: ", KindName(command.kind()), " of ",
                            command.name(), " from ", command.worker(), " -> version ",
                            outcome.version,
                            command.kind() == v1::CatalogCommand::STOP ? " stopped" : " running");
      }
    }
  }
  if (!line.empty()) Log(line);
}

absl::StatusOr<CommandResult> ControlPlane::Execute(v1::CatalogCommand command,
                                                    absl::Duration timeout) {
  {
    absl::MutexLock lock(&mu_);
    if (!caught_up_) {
      return absl::UnavailableError(
          "this worker has not read the job catalog yet; nothing was changed, retry shortly");
    }
    if (!kafka_ok_) {
      return absl::UnavailableError(
          absl::StrCat("this worker cannot reach Kafka (", problem_, "); nothing was changed"));
    }
  }
  command.set_request_id(NewRequestId());
  command.set_worker(options_.worker_name);
  command.set_issued_at_ms(WallMs());
  auto record = EncodeCatalogCommand(command);
  if (!record.ok()) return record.status();
  auto written = producer_->ProduceAndWait(kCatalogTopic, command.name(), *record);
  if (!written.ok()) {
    return absl::UnavailableError(absl::StrCat("cannot write the job catalog (", kCatalogTopic,
                                               "): ", written.status().message(),
                                               "; nothing was changed"));
  }
  struct Waiting {
    ControlPlane* plane;
    int32_t partition;
    int64_t offset;
  } waiting{this, written->partition, written->offset};
  absl::MutexLock lock(&mu_);
  const bool read_back = mu_.AwaitWithTimeout(
      absl::Condition(
          +[](Waiting* w) ABSL_NO_THREAD_SAFETY_ANALYSIS {
            auto it = w->plane->catalog_read_.find(w->partition);
            return w->plane->stop_.load() ||
                   (it != w->plane->catalog_read_.end() && it->second > w->offset);
          },
          &waiting),
      timeout);
  const CommandOutcome* outcome = catalog_.Outcome(command.request_id());
  if (!read_back || outcome == nullptr) {
    return absl::DeadlineExceededError(absl::StrCat(
        "the command was written to ", kCatalogTopic, " at offset ", written->offset,
        " but this worker did not read it back in time; check the job with DescribeJob"));
  }
  CommandResult result;
  result.outcome = *outcome;
  if (const CatalogEntry* entry = catalog_.Find(command.name())) result.entry = *entry;
  return result;
}

std::map<std::string, CatalogEntry> ControlPlane::Jobs() {
  absl::MutexLock lock(&mu_);
  return catalog_.entries();
}

std::optional<CatalogEntry> ControlPlane::Job(const std::string& name) {
  absl::MutexLock lock(&mu_);
  const CatalogEntry* entry = catalog_.Find(name);
  if (entry == nullptr) return std::nullopt;
  return *entry;
}

CommandOutcome ControlPlane::Check(const v1::CatalogCommand& command) {
  absl::MutexLock lock(&mu_);
  return catalog_.Check(command);
}

v1::WorkerInfo ControlPlane::Self() {
  v1::WorkerInfo info;
  info.set_name(options_.worker_name);
  info.set_id(id_);
  info.set_started_at_ms(started_at_ms_);
  info.set_updated_at_ms(WallMs());
  absl::MutexLock lock(&mu_);
  info.set_grpc_address(grpc_address_);
  info.set_healthy(caught_up_ && kafka_ok_);
  std::string health = caught_up_ && kafka_ok_ ? "ok" : problem_;
  if (!options_.api_warning.empty()) absl::StrAppend(&health, "; ", options_.api_warning);
  info.set_health(std::move(health));
  info.set_catalog_version(catalog_.applied());
  return info;
}

v1::WorkerStatus ControlPlane::OwnStatus(bool leaving) {
  v1::WorkerStatus status;
  *status.mutable_worker() = Self();
  status.set_leaving(leaving);
  if (!leaving) {
    for (v1::JobOnWorker& job : worker_->CollectStatus()) *status.add_jobs() = std::move(job);
  }
  return status;
}

std::vector<v1::WorkerStatus> ControlPlane::LiveWorkers() {
  std::vector<v1::WorkerStatus> live;
  live.push_back(OwnStatus(false));
  const int64_t max_age = std::max<int64_t>(5000, 3 * options_.heartbeat_ms);
  absl::MutexLock lock(&mu_);
  for (const auto& [id, remote] : workers_) {
    if (id == id_) continue;
    // A degraded worker cannot tell who is gone: it shows what it last saw.
    if (kafka_ok_ && SteadyMs() - remote.received_ms > max_age) continue;
    live.push_back(remote.status);
  }
  return live;
}

void ControlPlane::Audit(const std::string& job, const std::string& json) {
  Log(absl::StrCat(options_.worker_name, " | audit ", json));
  // Straight to librdkafka, without KafkaProducer::Produce's wait for room
  // in a full queue: a request never waits on the audit trail.
  const RdKafka::ErrorCode err = producer_->handle()->produce(
      kAuditTopic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
      const_cast<char*>(json.data()), json.size(), job.data(), job.size(), WallMs(), nullptr);
  if (err != RdKafka::ERR_NO_ERROR) {
    Log(absl::StrCat(options_.worker_name, " | audit record not sent to ", kAuditTopic, ": ",
                     RdKafka::err2str(err)));
  }
}

void ControlPlane::Heartbeat() {
  int64_t next = SteadyMs();
  while (!stop_.load()) {
    if (SteadyMs() >= next) {
      next = SteadyMs() + options_.heartbeat_ms;
      const std::string json = ToJson(OwnStatus(false));
      // Best effort: a status that cannot be written is replaced by the next.
      producer_->Produce(kStatusTopic, id_, json, WallMs(), nullptr).IgnoreError();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void ControlPlane::SubmitStaticJobs() {
  for (const v1::JobSpec& spec : options_.static_jobs) {
    auto job = LoadJob(spec);
    absl::Status allowed = job.ok() ? CheckJobPolicy(*job, options_.policy) : job.status();
    if (!allowed.ok()) {
      Log(absl::StrCat(options_.worker_name, " | ", spec.name(),
                       " | not submitted: ", allowed.message()));
      continue;
    }
    for (int attempt = 0; !stop_.load(); ++attempt) {
      v1::CatalogCommand command;
      command.set_kind(v1::CatalogCommand::SUBMIT);
      command.set_name(spec.name());
      *command.mutable_spec() = spec;
      *command.mutable_plan() = job->plan;
      auto result = Execute(command, absl::Seconds(15));
      if (result.ok() && result->outcome.status.code() == absl::StatusCode::kAlreadyExists) {
        // The job file is this worker's word on the job: replace the
        // catalog's other spec.
        Log(absl::StrCat(options_.worker_name, " | ", spec.name(),
                         " | the catalog holds another spec; updating it from the job file"));
        command.set_kind(v1::CatalogCommand::UPDATE);
        result = Execute(command, absl::Seconds(15));
      }
      if (result.ok() && result->outcome.status.ok()) break;
      const std::string why = result.ok() ? std::string(result->outcome.status.message())
                                          : std::string(result.status().message());
      if (result.ok() && !result->outcome.status.ok() &&
          result->outcome.status.code() != absl::StatusCode::kAlreadyExists) {
        Log(absl::StrCat(options_.worker_name, " | ", spec.name(), " | not submitted: ", why));
        break;
      }
      Log(absl::StrCat(options_.worker_name, " | ", spec.name(), " | submitting: ", why,
                       " (retrying)"));
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(5000, 500 << attempt)));
    }
  }
}

// Brings the jobs running here in line with the catalog. Stops (a job
// stopped, or replaced by a newer version) go to their own pool and starts
// to another, each a few at a time: a flood of submissions cannot hold up a
// stop, and one slow start (a group join, topic metadata) does not hold up
// the others. A name has at most one operation in flight; when one ends,
// the next pass looks again.
void ControlPlane::Reconcile() {
  int64_t seen = -1;
  int64_t ops_seen = -1;
  bool submitted_static = false;
  // (name, version) pairs that cannot run here, reported once.
  std::set<std::pair<std::string, int64_t>> broken;
  while (!stop_.load()) {
    std::map<std::string, CatalogEntry> desired;
    std::set<std::string> busy;
    {
      absl::MutexLock lock(&mu_);
      struct Waiting {
        ControlPlane* plane;
        int64_t seen;
        int64_t ops_seen;
      } waiting{this, seen, ops_seen};
      mu_.AwaitWithTimeout(absl::Condition(
                               +[](Waiting* w) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                                 return w->plane->caught_up_ &&
                                        (w->plane->catalog_changes_ != w->seen ||
                                         w->plane->reconcile_ops_done_ != w->ops_seen);
                               },
                               &waiting),
                           absl::Seconds(1));
      if (!caught_up_ || stop_.load()) continue;
      seen = catalog_changes_;
      ops_seen = reconcile_ops_done_;
      for (const auto& [name, entry] : catalog_.entries()) {
        if (entry.state == v1::JOB_STATE_RUNNING) desired.emplace(name, entry);
      }
      busy = reconciling_;
    }
    const std::map<std::string, int64_t> running = worker_->JobVersions();
    for (const auto& [name, version] : running) {
      auto it = desired.find(name);
      if (busy.count(name) > 0 || (it != desired.end() && it->second.version == version)) continue;
      busy.insert(name);
      StartReconcileOp(stoppers_.get(), name, [this, name = name] { worker_->StopJob(name); });
    }
    for (const auto& [name, entry] : desired) {
      if (running.count(name) > 0 || busy.count(name) > 0 ||
          broken.count({name, entry.version}) > 0) {
        continue;
      }
      auto job = BindJob(entry.spec, entry.plan);
      absl::Status allowed = job.ok() ? ApplyJobPolicy(options_.policy, &*job) : job.status();
      if (!allowed.ok()) {
        broken.insert({name, entry.version});
        Log(absl::StrCat(options_.worker_name, " | ", name, " | cannot run version ", entry.version,
                         ": ", allowed.message()));
        continue;
      }
      job->version = entry.version;
      busy.insert(name);
      StartReconcileOp(
          starters_.get(), name,
          [this, name = name, version = entry.version,
           job = std::make_shared<LoadedJob>(*std::move(job))]() mutable {
            if (stop_.load()) return;
            if (absl::Status s = worker_->AddJob(std::move(*job)); !s.ok()) {
              // Tried again on a later pass (every second).
              Log(absl::StrCat(options_.worker_name, " | ", name, " | cannot start version ",
                               version, ": ", s.message(), " (retrying)"));
            }
          });
    }
    if (!submitted_static) {
      submitted_static = true;
      static_submitter_ = std::thread([this] { SubmitStaticJobs(); });
    }
  }
}

void ControlPlane::StartReconcileOp(ThreadPool* pool, const std::string& name,
                                    std::function<void()> op) {
  {
    absl::MutexLock lock(&mu_);
    reconciling_.insert(name);
  }
  pool->Submit([this, name, op = std::move(op)] {
    op();
    absl::MutexLock lock(&mu_);
    reconciling_.erase(name);
    ++reconcile_ops_done_;
  });
}

}  // namespace sluice

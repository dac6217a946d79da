#include "engine/app/worker/worker.h"

#include "engine/app/worker/worker_parts.h"

namespace sluice {

absl::Status Worker::JobRunner::Start() {
  for (int o = 0; o < job_.plan.outputs_size(); ++o) {
    auto output = worker_->sinks_.Open(SinkTargetFor(job_, o));
    if (!output.ok()) return output.status();
    outputs_.push_back(*std::move(output));
  }
  std::set<std::string> topics;
  if (stage_ == 0) {
    for (int i = 0; i < job_.plan.inputs_size(); ++i) {
      if (!job_.plan.inputs(i).reference()) topics.insert(job_.input_topics[i]);
    }
  } else {
    for (const auto& [node, x] : topology_->exchanges) {
      if (x.to_stage == stage_) topics.insert(x.topic);
    }
  }
  const std::string group = stage_ == 0
                                ? absl::StrCat("sluice.", job_.spec.name())
                                : absl::StrCat("sluice.", job_.spec.name(), ".stage", stage_);
  KafkaProperties properties = worker_->options_.kafka;
  properties.insert(properties.end(), job_.kafka.begin(), job_.kafka.end());
  KafkaGroupConsumer::Callbacks callbacks;
  callbacks.assigned = [this](const std::vector<TopicPartition>& p) { return OnAssigned(p); };
  callbacks.revoked = [this](const std::vector<TopicPartition>& p, bool lost) {
    OnRevoked(p, lost);
  };
  auto consumer = KafkaGroupConsumer::Create(worker_->options_.bootstrap, group,
                                             std::vector<std::string>(topics.begin(), topics.end()),
                                             properties, std::move(callbacks));
  if (!consumer.ok()) return consumer.status();
  consumer_ = *std::move(consumer);
  Log(absl::StrCat(worker_->options_.name, " | ", label_, " | joined group ", group, " on ",
                   absl::StrJoin(topics, ", ")));
  thread_ = std::thread([this] { Loop(); });
  return absl::OkStatus();
}

void Worker::JobRunner::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

void Worker::JobRunner::Loop() {
  int64_t last_tick = SteadyMs();
  int64_t last_commit = last_tick;
  last_status_ms_ = last_tick;
  std::vector<RecordBatch> batches;
  absl::Status last_error;
  while (!stop_.load()) {
    batches.clear();
    absl::Status s = consumer_->Poll(100, 10000, &batches);
    if (!s.ok() && s.ToString() != last_error.ToString()) {
      Log(absl::StrCat(worker_->options_.name, " | ", label_, " | Kafka: ", s.message(),
                       " (retrying)"));
    }
    last_error = s;
    for (RecordBatch& batch : batches) {
      auto it = tasks_.find(Key(batch.partition));
      if (it != tasks_.end()) it->second->Enqueue(std::move(batch));
    }
    const int64_t now = SteadyMs();
    RetryFailedTasks(now);
    if (now - last_tick >= 200) {
      last_tick = now;
      for (auto& [key, task] : tasks_) task->RequestTick();
    }
    if (now - last_commit >= worker_->options_.commit_interval_ms) {
      last_commit = now;
      // Only checkpoints here. The group's offsets are committed when
      // partitions leave (OnRevoked) and when the job stops: tasks resume
      // from their checkpointed positions, and librdkafka 2.0.2 loses the
      // whole assignment when a commit meets a rebalance (librdkafka #4059),
      // which periodic commits kept doing.
      for (auto& [key, task] : tasks_) task->RequestCheckpoint();
    }
    if (worker_->options_.status_interval_ms > 0 &&
        now - last_status_ms_ >= worker_->options_.status_interval_ms) {
      ReportStatus();
      last_status_ms_ = now;
    }
  }
  // Leaving the group revokes every partition through OnRevoked, which
  // drains and commits.
  consumer_->Close();
  if (!retired_.empty()) {
    // Their messages' reports must come before their trackers go.
    if (absl::Status s = worker_->producer_->Flush(10'000); !s.ok()) {
      Log(absl::StrCat(worker_->options_.name, " | ", label_, " | ", s.message()));
    }
    std::erase_if(retired_, [](const std::unique_ptr<PartitionTask>& t) { return t->Settled(); });
    // Whatever Kafka never reported on keeps its tracker: the task is
    // leaked rather than freed under a delivery report.
    for (auto& task : retired_) (void)task.release();
    retired_.clear();
  }
}

uint32_t Worker::JobRunner::TaskId(const TopicPartition& tp) const {
  if (stage_ == 0) {
    const auto topic_it = std::find(job_.input_topics.begin(), job_.input_topics.end(), tp.topic);
    return (static_cast<uint32_t>(topic_it - job_.input_topics.begin()) << 16) |
           static_cast<uint32_t>(tp.partition);
  }
  // Later stages' state keys must not meet stage 0's.
  return ((0x4000u + static_cast<uint32_t>(stage_)) << 16) | static_cast<uint32_t>(tp.partition);
}

std::unique_ptr<Worker::PartitionTask> Worker::JobRunner::StartTask(const TopicPartition& tp,
                                                                    std::string* error) {
  auto task = std::make_unique<PartitionTask>(worker_, this, tp, TaskId(tp), stage_);
  if (absl::Status s = task->Init(); !s.ok()) {
    *error = std::string(s.message());
    return nullptr;
  }
  return task;
}

std::vector<int64_t> Worker::JobRunner::OnAssigned(const std::vector<TopicPartition>& partitions) {
  std::vector<int64_t> starts;
  for (const TopicPartition& tp : partitions) {
    starts.push_back(-1);
    // Restoring reads Kafka: a hiccup is retried at once, a lasting
    // problem by RetryFailedTasks (the task reads and commits nothing
    // until then).
    std::unique_ptr<PartitionTask> task;
    std::string error;
    for (int attempt = 0; attempt < 3 && task == nullptr; ++attempt) {
      if (attempt > 0) std::this_thread::sleep_for(std::chrono::seconds(1));
      task = StartTask(tp, &error);
      if (task == nullptr) {
        Log(absl::StrCat(worker_->options_.name, " | ", label_, " | cannot start task for ",
                         tp.topic, "[", tp.partition, "]: ", error, " (retrying)"));
      }
    }
    if (task == nullptr) {
      retries_[Key(tp)] = Retry{tp, 1, SteadyMs() + 2000};
      continue;
    }
    starts.back() = task->start_offset();
    absl::MutexLock lock(&tasks_mu_);
    tasks_[Key(tp)] = std::move(task);
  }
  std::vector<TopicPartition> now;
  for (const auto& [key, task] : tasks_) now.push_back(task->partition());
  Log(absl::StrCat(worker_->options_.name, " | ", label_, " | assigned ", Describe(partitions),
                   ", now owns ", Describe(now)));
  return starts;
}

void Worker::JobRunner::RetryFailedTasks(int64_t now_ms) {
  std::erase_if(retired_, [](const std::unique_ptr<PartitionTask>& t) { return t->Settled(); });
  for (auto& [key, task] : tasks_) {
    if (!task->failed() || retries_.contains(key)) continue;
    retries_[key] = Retry{task->partition(), 0, now_ms + 1000};
    Log(absl::StrCat(worker_->options_.name, " | ", label_, " | ", task->partition().topic, "[",
                     task->partition().partition, "] | task failed (", task->error(),
                     "); restarting it from its last checkpoint in 1 s"));
  }
  for (auto it = retries_.begin(); it != retries_.end();) {
    Retry& retry = it->second;
    if (retry.next_ms > now_ms) {
      ++it;
      continue;
    }
    // The failed task goes: what it did after its last checkpoint is done
    // again by the new one, from that checkpoint's position.
    if (auto old = tasks_.find(it->first); old != tasks_.end()) {
      old->second->Drain();
      if (TaskMetrics* m = old->second->metrics()) {
        finished_events_ += m->events_in.load();
        finished_rows_ += m->rows_out.load();
        finished_rejected_ += m->rejected.load();
      }
      retired_.push_back(std::move(old->second));
      absl::MutexLock lock(&tasks_mu_);
      tasks_.erase(old);
    }
    std::string error;
    std::unique_ptr<PartitionTask> task = StartTask(retry.tp, &error);
    if (task != nullptr) {
      // Before it takes work: from its checkpoint, or from the group's
      // commit when it has none.
      absl::Status s = task->start_offset() >= 0
                           ? task->source().SeekAfter(task->start_offset() - 1)
                           : consumer_->Seek(retry.tp, -1, 10'000);
      if (!s.ok()) {
        error = std::string(s.message());
        task.reset();
      }
    }
    const std::string where = absl::StrCat(worker_->options_.name, " | ", label_, " | ",
                                           retry.tp.topic, "[", retry.tp.partition, "] | ");
    if (task == nullptr) {
      // 1, 2, 4 ... up to 30 s between attempts while it keeps failing.
      ++retry.attempts;
      const int64_t pause = std::min<int64_t>(30'000, int64_t{1000} << std::min(retry.attempts, 5));
      retry.next_ms = now_ms + pause;
      Log(absl::StrCat(where, "cannot restart the task: ", error, " (attempt ", retry.attempts,
                       "; again in ", pause / 1000, " s)"));
      ++it;
      continue;
    }
    Log(absl::StrCat(where, "task restarted, reading again from offset ",
                     task->start_offset() >= 0 ? absl::StrCat(task->start_offset())
                                               : std::string("the group's commit")));
    {
      absl::MutexLock lock(&tasks_mu_);
      tasks_[it->first] = std::move(task);
    }
    it = retries_.erase(it);
  }
}

void Worker::JobRunner::OnRevoked(const std::vector<TopicPartition>& partitions, bool lost) {
  std::vector<PartitionTask*> leaving;
  for (const TopicPartition& tp : partitions) {
    retries_.erase(Key(tp));
    auto it = tasks_.find(Key(tp));
    if (it == tasks_.end()) continue;
    it->second->Drain();
    leaving.push_back(it->second.get());
  }
  if (!lost && !leaving.empty()) {
    // A last checkpoint, so that the next owner starts exactly here; then
    // commit it.
    for (PartitionTask* task : leaving) {
      if (absl::Status s = task->Checkpoint(/*wait=*/true); !s.ok()) {
        Log(absl::StrCat(worker_->options_.name, " | ", label_, " | ", task->partition().topic, "[",
                         task->partition().partition, "] | last checkpoint: ", s.message()));
      }
    }
    if (absl::Status s = worker_->producer_->Flush(10'000); !s.ok()) {
      Log(absl::StrCat(worker_->options_.name, " | ", label_, " | ", s.message()));
    }
    std::vector<std::pair<TopicPartition, int64_t>> offsets;
    for (PartitionTask* task : leaving) {
      const int64_t offset = task->CommittableOffset();
      if (offset >= 0) offsets.emplace_back(task->partition(), offset);
    }
    if (absl::Status s = consumer_->Commit(offsets, /*sync=*/true); !s.ok()) {
      Log(absl::StrCat(worker_->options_.name, " | ", label_, " | ", s.message()));
    }
  }
  for (const TopicPartition& tp : partitions) {
    auto it = tasks_.find(Key(tp));
    if (it == tasks_.end()) continue;
    if (TaskMetrics* m = it->second->metrics()) {
      finished_events_ += m->events_in.load();
      finished_rows_ += m->rows_out.load();
      finished_rejected_ += m->rejected.load();
    }
    {
      absl::MutexLock lock(&tasks_mu_);
      tasks_.erase(it);
    }
  }
  std::vector<TopicPartition> now;
  for (const auto& [key, task] : tasks_) now.push_back(task->partition());
  Log(absl::StrCat(worker_->options_.name, " | ", label_, lost ? " | lost " : " | revoked ",
                   Describe(partitions), ", now owns ", Describe(now)));
}

void Worker::JobRunner::FillStatus(v1::JobOnWorker* status) {
  status->set_name(job_.spec.name());
  status->set_worker(worker_->options_.name);
  status->set_version(job_.version);
  status->set_started_at_ms(started_at_ms_);
  absl::MutexLock lock(&tasks_mu_);
  for (auto& [key, task] : tasks_) {
    v1::TaskStatus* t = status->add_tasks();
    t->set_worker(worker_->options_.name);
    task->FillStatus(t);
  }
}

void Worker::JobRunner::ReportStatus() {
  int64_t events = finished_events_;
  int64_t rows = finished_rows_;
  int64_t rejected = finished_rejected_;
  std::vector<TopicPartition> owned;
  for (auto& [key, task] : tasks_) {
    owned.push_back(task->partition());
    if (TaskMetrics* m = task->metrics()) {
      events += m->events_in.load();
      rows += m->rows_out.load();
      rejected += m->rejected.load();
    }
  }
  const double seconds = static_cast<double>(worker_->options_.status_interval_ms) / 1000.0;
  Log(absl::StrCat(worker_->options_.name, " | ", label_, " | owns ", Describe(owned), " | ",
                   static_cast<int64_t>((events - last_events_) / seconds), " events/s in, ",
                   static_cast<int64_t>((rows - last_rows_) / seconds), " rows/s out | ", events,
                   " events, ", rows, " rows, ", rejected, " rejected in all"));
  last_events_ = events;
  last_rows_ = rows;
}

Worker::Worker(WorkerOptions options) : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<Worker>> Worker::Create(WorkerOptions options) {
  std::unique_ptr<Worker> worker(new Worker(std::move(options)));
  RegisterBuiltinOperators(&worker->registry_);
  RegisterWorkerOutputs(&worker->sinks_);
  auto store = StateStore::Open(worker->options_.state_dir);
  if (!store.ok()) return store.status();
  worker->store_ = *std::move(store);
  auto producer = KafkaProducer::Create(worker->options_.bootstrap, worker->options_.kafka);
  if (!producer.ok()) return producer.status();
  worker->producer_ = *std::move(producer);
  int threads = worker->options_.threads;
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  worker->pool_ = std::make_unique<ThreadPool>(threads);
  return worker;
}

Worker::~Worker() { Stop(); }

absl::Status Worker::AddJob(LoadedJob job) {
  const std::string name = job.spec.name();
  {
    absl::MutexLock lock(&mu_);
    if (jobs_.count(name) > 0) {
      return absl::AlreadyExistsError(absl::StrCat("job ", name, " already runs here"));
    }
  }
  if (!job.plan.distributed_error().empty()) {
    return absl::FailedPreconditionError(job.plan.distributed_error());
  }
  for (const v1::Node& node : job.plan.nodes()) {
    // A task reads one topic-partition: a join in the input tasks must read
    // one input on both sides (a self-join). The compiler puts an exchange
    // before any other join (sql/optimizer.cc); a plan that does not came
    // from somewhere else and would join half of what it should.
    if (node.has_join() && node.stage() == 0) {
      std::set<int> sides[2];
      for (int side = 0; side < 2 && side < node.inputs_size(); ++side) {
        std::vector<int> todo = {node.inputs(side)};
        std::set<int> seen;
        while (!todo.empty()) {
          const int at = todo.back();
          todo.pop_back();
          if (at < 0 || at >= job.plan.nodes_size() || !seen.insert(at).second) continue;
          const v1::Node& up = job.plan.nodes(at);
          if (up.has_source()) sides[side].insert(up.source().input());
          for (int32_t in : up.inputs()) {
            if (in < at) todo.push_back(in);
          }
        }
      }
      if (sides[0].size() != 1 || sides[0] != sides[1]) {
        return absl::FailedPreconditionError(absl::StrCat(
            "step ", node.step(),
            " joins two inputs in the input tasks, but a worker's task reads "
            "one topic-partition; recompile the job (the compiler puts an exchange before it)"));
      }
    }
  }
  auto topology = BuildTopology(job);
  if (!topology.ok()) return topology.status();
  auto references = StartReferences(job);
  if (!references.ok()) return references.status();
  std::vector<std::unique_ptr<JobRunner>> runners;
  // Later stages first, so that they are reading when the first rows come.
  for (int stage = std::max(job.plan.stages(), 1) - 1; stage >= 0; --stage) {
    auto runner = std::make_unique<JobRunner>(this, job, stage, *topology, *references);
    if (absl::Status s = runner->Start(); !s.ok()) {
      for (auto& r : runners) r->Stop();
      return s;
    }
    runners.push_back(std::move(runner));
  }
  absl::MutexLock lock(&mu_);
  jobs_[name] = std::move(runners);
  return absl::OkStatus();
}

namespace {

// A job's reference inputs on a worker: those read from topics and those
// read from files.
class JobReferences final : public ReferenceProvider {
 public:
  JobReferences(std::unique_ptr<KafkaReferenceTables> topics,
                std::unique_ptr<RefreshingReferenceFiles> files)
      : topics_(std::move(topics)), files_(std::move(files)) {}
  std::shared_ptr<const ReferenceVersions> Versions(int input) const override {
    std::shared_ptr<const ReferenceVersions> v = topics_ ? topics_->Versions(input) : nullptr;
    return v != nullptr || files_ == nullptr ? v : files_->Versions(input);
  }

 private:
  std::unique_ptr<KafkaReferenceTables> topics_;
  std::unique_ptr<RefreshingReferenceFiles> files_;
};

}  // namespace

// The job's reference inputs: files (under --reference-root) are read, and
// topics read to their end, before any task starts; both are then followed
// (files every refreshInterval). One table per input, shared by every task
// of the job here. Topic records that are not rows go to the job's
// dead-letter topic.
absl::StatusOr<std::shared_ptr<const ReferenceProvider>> Worker::StartReferences(
    const LoadedJob& job) {
  const std::string name = job.spec.name();
  std::vector<KafkaReferenceTables::Binding> topics;
  std::vector<RefreshingReferenceFiles::Binding> files;
  for (int i = 0; i < job.plan.inputs_size(); ++i) {
    if (!job.plan.inputs(i).reference()) continue;
    auto file = job.reference_files.find(i);
    if (file == job.reference_files.end()) {
      topics.push_back({i, job.plan.inputs(i), job.input_topics[i]});
      continue;
    }
    // The path is under the worker's --reference-root (ApplyJobPolicy).
    files.push_back({i, job.plan.inputs(i), file->second.path, file->second.refresh_ms});
  }
  if (topics.empty() && files.empty()) return std::shared_ptr<const ReferenceProvider>();
  std::unique_ptr<RefreshingReferenceFiles> file_tables;
  if (!files.empty()) {
    const std::string prefix = absl::StrCat(options_.name, " | ", name, " | ");
    auto loaded = RefreshingReferenceFiles::Start(
        std::move(files), [prefix](const std::string& line) { Log(prefix + line); });
    if (!loaded.ok()) return loaded.status();
    file_tables = *std::move(loaded);
    Log(absl::StrCat(options_.name, " | ", name, " | reference files: ", file_tables->rows(),
                     " rows, ", file_tables->bad_rows(), " left out"));
  }
  std::unique_ptr<KafkaReferenceTables> topic_tables;
  if (!topics.empty()) {
    KafkaProperties properties = options_.kafka;
    properties.insert(properties.end(), job.kafka.begin(), job.kafka.end());
    const std::string dead_letters = job.dead_letter_topic;
    auto tables = KafkaReferenceTables::Start(
        options_.bootstrap, properties, std::move(topics),
        [this, name, dead_letters](std::string_view reason, const KafkaMessage& m) {
          Log(absl::StrCat(name, " | reference ", m.topic, "[", m.partition, "]@", m.offset, ": ",
                           std::string(reason)));
          producer_
              ->Produce(dead_letters, m.key,
                        DeadLetterValue(name, reason, m.topic, m.partition, m.offset, m.value),
                        WallTicks() / kTicksPerMillisecond, &reference_tracker_,
                        DeadLetterHeaders(reason, m.topic, m.partition, m.offset))
              .IgnoreError();  // the log line above says it too
        },
        KafkaReferenceTables::Options{});
    if (!tables.ok()) return tables.status();
    topic_tables = *std::move(tables);
    Log(absl::StrCat(options_.name, " | ", name, " | reference data: ", topic_tables->rows(),
                     " rows, ", topic_tables->bad_records(), " refused, ~",
                     topic_tables->MemoryBytes() / 1024, " KiB"));
  }
  return std::shared_ptr<const ReferenceProvider>(
      std::make_shared<JobReferences>(std::move(topic_tables), std::move(file_tables)));
}

// The repartition topic of every exchange, created with as many partitions
// as the inputs have (one for a keyless exchange), and how the tasks of each
// stage are numbered.
absl::StatusOr<std::shared_ptr<const JobTopology>> Worker::BuildTopology(const LoadedJob& job) {
  auto topology = std::make_shared<JobTopology>();
  topology->stages = std::max(job.plan.stages(), 1);
  topology->job = job.spec.name();
  // Asking for a topic's metadata creates it on a broker that auto-creates
  // topics (the embedded one has no Admin API).
  KafkaProperties properties = options_.kafka;
  properties.emplace_back("allow.auto.create.topics", "true");
  auto reader = KafkaTopicReader::Create(options_.bootstrap, properties);
  if (!reader.ok()) return reader.status();
  std::set<std::string> seen;
  int input_partitions = 0;
  for (size_t i = 0; i < job.input_topics.size(); ++i) {
    const std::string& topic = job.input_topics[i];
    if (job.plan.inputs(static_cast<int>(i)).reference() || !seen.insert(topic).second) continue;
    auto partitions = (*reader)->Partitions(topic, 10'000);
    if (!partitions.ok()) {
      return absl::UnavailableError(absl::StrCat("cannot read the partitions of input topic ",
                                                 topic, ": ", partitions.status().message()));
    }
    topology->topic_base[topic] = topology->stage0_tasks;
    topology->stage0_tasks += *partitions;
    input_partitions = std::max(input_partitions, *partitions);
  }
  std::vector<TopicToCreate> missing;
  // The exchanges into one stage (a join's two sides) share the topic of
  // the first, so that each of the stage's tasks reads one partition.
  std::map<int, int> into_stage;  // to_stage -> how many exchanges feed it
  for (const v1::Node& node : job.plan.nodes()) {
    if (node.has_exchange()) ++into_stage[node.exchange().to_stage()];
  }
  std::map<int, std::string> stage_topic;
  for (const v1::Node& node : job.plan.nodes()) {
    if (!node.has_exchange()) continue;
    JobTopology::Exchange x;
    x.from_stage = node.stage();
    x.to_stage = node.exchange().to_stage();
    x.partitions = node.exchange().keys_size() > 0 ? input_partitions : 1;
    x.tagged = into_stage[x.to_stage] > 1;
    auto [shared, first] = stage_topic.try_emplace(
        x.to_stage, absl::StrCat("sluice.", job.spec.name(), ".", node.id(), ".repartition"));
    x.topic = shared->second;
    topology->exchanges[node.id()] = x;
    if (first) missing.push_back({x.topic, x.partitions, {}});
  }
  // A changelog per stateful operator, partitioned like its stage's tasks,
  // and one for the tasks' positions; compacted on a real cluster.
  int most_tasks = std::max(input_partitions, 1);
  for (const auto& [node, x] : topology->exchanges) most_tasks = std::max(most_tasks, x.partitions);
  const std::vector<std::pair<std::string, std::string>> compact = {{"cleanup.policy", "compact"}};
  for (const v1::Node& node : job.plan.nodes()) {
    auto op = registry_.Create(node, job.plan);
    if (!op.ok() || (*op)->DeclareState().empty()) continue;
    JobTopology::Changelog c;
    c.topic = absl::StrCat("sluice.", job.spec.name(), ".", node.id(), ".changelog");
    c.stage = node.stage();
    c.partitions =
        node.stage() == 0 ? std::max(input_partitions, 1) : topology->Tasks(node.stage());
    topology->changelogs[node.id()] = c;
    missing.push_back({c.topic, c.partitions, compact});
  }
  topology->task_changelog.topic = absl::StrCat("sluice.", job.spec.name(), ".task.changelog");
  topology->task_changelog.partitions = most_tasks;
  missing.push_back({topology->task_changelog.topic, most_tasks, compact});
  // On a real cluster this creates them with the right partition count; the
  // embedded broker has no Admin API and auto-creates them below.
  if (!no_admin_api_.load()) {
    absl::Status created = CreateTopicsIfMissing(options_.bootstrap, options_.kafka, missing, 5000);
    if (absl::IsDeadlineExceeded(created) || absl::IsUnimplemented(created)) {
      no_admin_api_.store(true);
    }
  }
  // What the topics really have (an auto-created one has the broker's
  // default): a task writes partition (its own mod that).
  std::vector<JobTopology::Changelog*> changelogs = {&topology->task_changelog};
  for (auto& [node, c] : topology->changelogs) changelogs.push_back(&c);
  for (JobTopology::Changelog* c : changelogs) {
    auto partitions = (*reader)->Partitions(c->topic, 10'000);
    for (int attempt = 0; !partitions.ok() && attempt < 20; ++attempt) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      partitions = (*reader)->Partitions(c->topic, 10'000);
    }
    if (!partitions.ok()) {
      return absl::UnavailableError(absl::StrCat("cannot create changelog topic ", c->topic, ": ",
                                                 partitions.status().message()));
    }
    c->partitions = std::max(*partitions, 1);
  }
  for (auto& [node, x] : topology->exchanges) {
    auto partitions = (*reader)->Partitions(x.topic, 10'000);
    for (int attempt = 0; !partitions.ok() && attempt < 20; ++attempt) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      partitions = (*reader)->Partitions(x.topic, 10'000);
    }
    if (!partitions.ok()) {
      return absl::UnavailableError(absl::StrCat("cannot create repartition topic ", x.topic, ": ",
                                                 partitions.status().message()));
    }
    // A keyed exchange spreads over every partition the topic has.
    if (job.plan.nodes(node).exchange().keys_size() > 0) x.partitions = *partitions;
  }
  return topology;
}

bool Worker::StopJob(const std::string& name) {
  std::vector<std::unique_ptr<JobRunner>> runners;
  {
    absl::MutexLock lock(&mu_);
    auto it = jobs_.find(name);
    if (it == jobs_.end()) return false;
    runners = std::move(it->second);
    jobs_.erase(it);
  }
  // Upstream stages first: what they flush on the way out still reaches the
  // later stages' topics (read again when the job next runs).
  for (auto it = runners.rbegin(); it != runners.rend(); ++it) (*it)->Stop();
  if (producer_) producer_->Flush(10'000).IgnoreError();
  Log(absl::StrCat(options_.name, " | ", name, " | stopped (version ",
                   runners.front()->job().version, ")"));
  return true;
}

std::map<std::string, int64_t> Worker::JobVersions() {
  std::map<std::string, int64_t> versions;
  absl::MutexLock lock(&mu_);
  for (const auto& [name, runners] : jobs_) versions[name] = runners.front()->job().version;
  return versions;
}

std::vector<v1::JobOnWorker> Worker::CollectStatus() {
  std::vector<v1::JobOnWorker> jobs;
  absl::MutexLock lock(&mu_);
  for (const auto& [name, runners] : jobs_) {
    v1::JobOnWorker& job = jobs.emplace_back();
    // Stage 0 last: its start time is the job's.
    for (const auto& runner : runners) runner->FillStatus(&job);
  }
  return jobs;
}

void Worker::Stop() {
  std::map<std::string, std::vector<std::unique_ptr<JobRunner>>> jobs;
  {
    absl::MutexLock lock(&mu_);
    jobs.swap(jobs_);
  }
  for (auto& [name, runners] : jobs) {
    for (auto it = runners.rbegin(); it != runners.rend(); ++it) (*it)->Stop();
  }
  jobs.clear();
  if (producer_) producer_->Flush(10'000).IgnoreError();
}

}  // namespace sluice

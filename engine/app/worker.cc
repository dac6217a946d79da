#include "engine/app/worker.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <set>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "connectors/file_sink.h"
#include "connectors/json_decoder.h"
#include "connectors/kafka_consumer.h"
#include "connectors/kafka_reader.h"
#include "engine/app/log_line.h"
#include "engine/changelog_record.h"
#include "engine/checkpoint_progress.h"
#include "engine/checkpoint_protocol.h"
#include "engine/datetime.h"
#include "engine/exchange.h"
#include "engine/input_driver.h"
#include "engine/task.h"
#include "engine/value.h"
#include "engine/value_codec.h"
#include "operators/builtin_operators.h"

namespace sluice {

// Where a job's stages meet (jobs with exchanges): the repartition topic of
// each exchange and how many tasks send into and read from it.
struct JobTopology {
  int stages = 1;
  // Stage 0 tasks, numbered densely: the task of input topic t, partition
  // p is number topic_base[t] + p.
  std::map<std::string, int> topic_base;
  int stage0_tasks = 0;
  struct Exchange {
    std::string topic;
    int partitions = 1;  // used partitions of the topic (1 for a keyless exchange)
    int from_stage = 0;
    int to_stage = 1;
  };
  std::map<int, Exchange> exchanges;  // by exchange node id

  // Changelogs: where each stateful operator's checkpointed changes go
  // (sluice.<job>.<node>.changelog), and the tasks' own bookkeeping (input
  // positions, sequence numbers: sluice.<job>.task.changelog). A task
  // writes partition (its partition mod the topic's partitions).
  struct Changelog {
    std::string topic;
    int partitions = 1;
    int stage = 0;
  };
  std::string job;
  std::map<int, Changelog> changelogs;  // by node id
  Changelog task_changelog;

  // The changelog a state family ("<job>/<node>.<state>", "<job>/task")
  // belongs to.
  const Changelog* ChangelogOf(std::string_view family) const {
    if (family.size() <= job.size() + 1 || family.substr(0, job.size()) != job ||
        family[job.size()] != '/') {
      return nullptr;
    }
    std::string_view rest = family.substr(job.size() + 1);
    if (rest == "task") return &task_changelog;
    int node = 0;
    if (!absl::SimpleAtoi(std::string(rest.substr(0, rest.find('.'))), &node)) return nullptr;
    auto it = changelogs.find(node);
    return it == changelogs.end() ? nullptr : &it->second;
  }
  std::vector<const Changelog*> StageChangelogs(int stage) const {
    std::vector<const Changelog*> out = {&task_changelog};
    for (const auto& [node, c] : changelogs) {
      if (c.stage == stage) out.push_back(&c);
    }
    return out;
  }

  int Tasks(int stage) const {
    if (stage == 0) return stage0_tasks;
    for (const auto& [node, x] : exchanges) {
      if (x.to_stage == stage) return x.partitions;
    }
    return 1;
  }
};

namespace {

int64_t WallTicks() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
             .count() *
         kTicksPerMicrosecond;
}

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void Log(std::string_view line) { LogLine(line); }

std::string Describe(const std::vector<TopicPartition>& partitions) {
  std::map<std::string, std::vector<int32_t>> by_topic;
  for (const TopicPartition& tp : partitions) by_topic[tp.topic].push_back(tp.partition);
  std::vector<std::string> parts;
  for (auto& [topic, ids] : by_topic) {
    std::sort(ids.begin(), ids.end());
    parts.push_back(absl::StrCat(topic, "[", absl::StrJoin(ids, ","), "]"));
  }
  return parts.empty() ? std::string("none") : absl::StrJoin(parts, " ");
}

// An output several tasks write (a file, standard output): serialized, and
// rows a replay produced again (an identity already written; see
// RowIdentifier) are dropped. A file remembers the identities it holds in
// "<file>.ids", one per line, so that a restarted worker still knows them;
// the rows are written before their identities, so a crash between the two
// can repeat a row but never lose one.
class SharedSink {
 public:
  static constexpr size_t kRemembered = 1'000'000;

  static absl::StatusOr<std::unique_ptr<SharedSink>> Create(std::unique_ptr<JsonLinesSink> sink,
                                                            const std::string& ids_path) {
    std::unique_ptr<SharedSink> shared(new SharedSink(std::move(sink)));
    if (ids_path.empty()) return shared;
    {
      std::ifstream in(ids_path);
      std::string line;
      while (std::getline(in, line)) shared->Remember(line);
    }
    shared->ids_ = std::fopen(ids_path.c_str(), "ab");
    if (shared->ids_ == nullptr) {
      return absl::UnavailableError(
          absl::StrCat("cannot open ", ids_path, ": ", std::strerror(errno)));
    }
    return shared;
  }
  ~SharedSink() {
    Flush().IgnoreError();
    if (ids_ != nullptr) std::fclose(ids_);
  }

  absl::Status Write(const std::vector<OutputRow>& rows, const std::vector<std::string>& ids) {
    absl::MutexLock lock(&mu_);
    kept_.clear();
    for (size_t i = 0; i < rows.size(); ++i) {
      if (!Remember(ids[i])) continue;
      kept_.push_back(rows[i]);
      if (ids_ != nullptr) absl::StrAppend(&pending_ids_, ids[i], "\n");
    }
    return sink_->Write(kept_);
  }
  absl::Status Flush() {
    absl::MutexLock lock(&mu_);
    if (absl::Status s = sink_->Flush(); !s.ok()) return s;
    if (ids_ == nullptr || pending_ids_.empty()) return absl::OkStatus();
    if (std::fwrite(pending_ids_.data(), 1, pending_ids_.size(), ids_) != pending_ids_.size() ||
        std::fflush(ids_) != 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot write the row identities: ", std::strerror(errno)));
    }
    pending_ids_.clear();
    return absl::OkStatus();
  }

 private:
  explicit SharedSink(std::unique_ptr<JsonLinesSink> sink) : sink_(std::move(sink)) {}
  // False when `id` was seen already.
  bool Remember(const std::string& id) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    if (!seen_.insert(id).second) return false;
    order_.push_back(id);
    if (order_.size() > kRemembered) {
      seen_.erase(order_.front());
      order_.pop_front();
    }
    return true;
  }

  absl::Mutex mu_;
  std::unique_ptr<JsonLinesSink> sink_ ABSL_GUARDED_BY(mu_);
  std::FILE* ids_ = nullptr;
  std::string pending_ids_ ABSL_GUARDED_BY(mu_);
  std::vector<OutputRow> kept_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> seen_;
  std::deque<std::string> order_;
};

// A task's handle on a shared output: names its rows.
class SharedSinkRef final : public Sink {
 public:
  SharedSinkRef(SharedSink* shared, std::string identity, std::string source)
      : shared_(shared), identifier_(std::move(identity), std::move(source)) {}
  absl::Status Write(const std::vector<OutputRow>& rows) override {
    identifier_.Reset();
    ids_.clear();
    for (const OutputRow& row : rows) ids_.push_back(identifier_.Next(row));
    return shared_->Write(rows, ids_);
  }
  absl::Status Flush() override { return shared_->Flush(); }

 private:
  SharedSink* shared_;
  RowIdentifier identifier_;
  std::vector<std::string> ids_;
};

// The sending side of a task's exchanges: rows go to the repartition
// topic's partition that owns their key, watermarks to every partition.
// Messages count in the task's delivery tracker, so input offsets are
// committed only once they are in Kafka.
class KafkaExchangeSender final : public ExchangeSender {
 public:
  KafkaExchangeSender(KafkaProducer* producer, DeliveryTracker* tracker,
                      const JobTopology* topology, int sender)
      : producer_(producer), tracker_(tracker), topology_(topology), sender_(sender) {}

  absl::Status SendRows(int node, const Batch& batch, const std::vector<uint32_t>& rows,
                        const std::vector<uint64_t>& hashes) override {
    const JobTopology::Exchange& x = topology_->exchanges.at(node);
    int64_t& seq = seq_[node];
    std::string value;
    const int64_t now_ms = WallTicks() / kTicksPerMillisecond;
    for (size_t i = 0; i < rows.size(); ++i) {
      value.clear();
      EncodeExchangeRowRecord(sender_, seq++, batch, rows[i], &value);
      if (absl::Status s = producer_->Produce(x.topic, "", value, now_ms, tracker_, {},
                                              ExchangePartition(hashes[i], x.partitions));
          !s.ok()) {
        return s;
      }
    }
    return absl::OkStatus();
  }

  absl::Status SendWatermark(int node, int64_t watermark) override {
    int64_t& last = last_watermark_[node];
    if (last != 0 && watermark <= last) return absl::OkStatus();
    last = watermark;
    const JobTopology::Exchange& x = topology_->exchanges.at(node);
    std::string value;
    EncodeExchangeWatermarkRecord(sender_, watermark, &value);
    const int64_t now_ms = WallTicks() / kTicksPerMillisecond;
    for (int d = 0; d < x.partitions; ++d) {
      if (absl::Status s = producer_->Produce(x.topic, "", value, now_ms, tracker_, {}, d);
          !s.ok()) {
        return s;
      }
    }
    return absl::OkStatus();
  }

  // The next sequence number by exchange node: part of the task's state, so
  // that rows sent again after a restore carry the numbers they had.
  std::map<int, int64_t>& seqs() { return seq_; }

 private:
  KafkaProducer* producer_;
  DeliveryTracker* tracker_;
  const JobTopology* topology_;
  int sender_;
  std::map<int, int64_t> seq_;
  std::map<int, int64_t> last_watermark_;
};

}  // namespace

// One assigned partition running the job's plan. Work is submitted to the
// pool one closure at a time (`scheduled_`), so the task runs on one thread
// at a time; the consumer thread only enqueues and reads commit positions.
class Worker::PartitionTask {
 public:
  PartitionTask(Worker* worker, JobRunner* job, TopicPartition tp, uint32_t id, int stage)
      : worker_(worker), job_(job), tp_(std::move(tp)), id_(id), stage_(stage) {}

  absl::Status Init();

  void Enqueue(RecordBatch batch) {
    absl::MutexLock lock(&mu_);
    if (closing_) return;
    inbox_.push_back(std::move(batch));
    ScheduleLocked();
  }
  void RequestTick() {
    absl::MutexLock lock(&mu_);
    if (closing_) return;
    tick_ = true;
    ScheduleLocked();
  }
  void RequestCheckpoint() {
    absl::MutexLock lock(&mu_);
    if (closing_) return;
    checkpoint_ = true;
    ScheduleLocked();
  }
  // Where the consumer starts reading: the position in the restored state,
  // or -1 (where the group committed) when there was none.
  int64_t start_offset() const { return start_offset_; }

  // A checkpoint (Checkpoint above): on the task's thread, or on any
  // thread once Drain() returned.
  absl::Status Checkpoint();
  // Stops taking work and waits for what is queued to be done.
  void Drain() {
    absl::MutexLock lock(&mu_);
    closing_ = true;
    mu_.Await(absl::Condition(
        +[](PartitionTask* t) ABSL_EXCLUSIVE_LOCKS_REQUIRED(t->mu_) { return !t->scheduled_; },
        this));
  }

  // The input position of the latest durable checkpoint (every message
  // before it acknowledged), or -1: what the group may commit. Nothing
  // once a message failed. Under exactly_once the transaction commits it,
  // and this returns -1.
  int64_t CommittableOffset() {
    if (txn_) return -1;
    absl::MutexLock lock(&commit_mu_);
    if (tracker_.failed() > 0) {
      if (!reported_failure_) {
        reported_failure_ = true;
        Log(absl::StrCat(job_name(), " | ", tp_.topic, "[", tp_.partition,
                         "] | not committing: ", tracker_.last_error()));
      }
      return -1;
    }
    return progress_.Acknowledged(tracker_.acked());
  }
  // The input position of the latest durable checkpoint, or -1 (any
  // thread): where the task resumes after a crash.
  int64_t DurableOffset() {
    absl::MutexLock lock(&commit_mu_);
    if (tracker_.failed() == 0) progress_.Acknowledged(tracker_.acked());
    return progress_.durable();
  }

  const TopicPartition& partition() const { return tp_; }
  TaskMetrics* metrics() { return task_ ? &task_->metrics() : nullptr; }
  bool failed() const { return failed_.load(); }

  // A snapshot for status reports (any thread).
  void FillStatus(v1::TaskStatus* status);

 private:
  absl::Status Restore(const TaskEnvironment& env, bool* restored);
  // Read to the end of its partition, as far as the last fetch tells.
  bool CaughtUp();
  // Where the task's messages go: its own transactional producer under
  // exactly_once, else the worker's.
  KafkaProducer* producer() { return txn_ ? txn_.get() : worker_->producer_.get(); }
  absl::Status WaitAcknowledged(int timeout_ms);
  std::string MetaKey(std::string_view what) const { return absl::StrCat("w.", std::string(what)); }

  void ScheduleLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (scheduled_) return;
    scheduled_ = true;
    worker_->pool_->Submit([this] { Run(); });
  }
  void Run();
  void Process(const RecordBatch& batch);
  void ProcessExchange(const RecordBatch& batch);
  void ReleaseExchange();
  void Fail(const absl::Status& status);
  // A dead-letter record for the event at `offset` of `topic`/`partition`.
  absl::Status DeadLetter(std::string_view reason, const std::string& topic, int32_t partition,
                          int64_t offset, std::string_view data);
  const std::string& job_name() const;

  Worker* worker_;
  JobRunner* job_;
  TopicPartition tp_;
  uint32_t id_;
  int stage_;
  std::unique_ptr<Task> task_;
  std::unique_ptr<KafkaExchangeSender> sender_;
  // Later stages: the exchange this task reads and its merged input.
  int entry_ = -1;
  std::unique_ptr<ExchangeReceiver> receiver_;
  int64_t receiver_parts_ = 0;  // the receiver's parts beyond the first, in the store
  std::vector<int> inputs_;     // plan inputs this topic feeds
  std::vector<std::unique_ptr<JsonDecoder>> decoders_;  // by position in inputs_
  std::unique_ptr<InputDriver> driver_;                 // decodes into inputs_
  std::vector<SourceRecord> records_;                   // the batch being processed
  std::vector<std::unique_ptr<Sink>> sinks_;
  DeliveryTracker tracker_;
  std::atomic<bool> failed_{false};
  std::atomic<int64_t> next_offset_{-1};
  const int64_t started_at_ms_ = WallTicks() / kTicksPerMillisecond;
  absl::Mutex error_mu_;
  std::string error_ ABSL_GUARDED_BY(error_mu_);
  const RecordBatch* current_ = nullptr;  // the batch being processed (pool thread)
  // Checkpoints (task thread): the protocol (engine/checkpoint_protocol.h),
  // the next input position to read, where the consumer starts.
  std::unique_ptr<CheckpointProtocol> checkpoints_;
  class KafkaChangelogWriter;
  std::map<std::string, int> changelog_partition_;  // by changelog topic
  bool end_checked_ = false;                        // CaughtUp asked the broker once
  // This instance of the task, among all that ever ran it (random).
  const uint64_t incarnation_ = std::random_device{}() * 0x100000000ull ^ std::random_device{}();
  // How long a later stage waits for an upstream task that sends nothing.
  // Long enough that tasks being moved or restored at the start of a run do
  // not count as silent: ignoring an upstream makes its first rows late.
  static constexpr int64_t kSilentUpstreamMs = 30'000;
  bool ignoring_silent_ = false;
  int64_t position_ = -1;
  int64_t start_offset_ = -1;
  std::string prefix_;                  // the task's state key prefix
  std::unique_ptr<KafkaProducer> txn_;  // exactly_once only

  absl::Mutex mu_;
  std::deque<RecordBatch> inbox_ ABSL_GUARDED_BY(mu_);
  bool tick_ ABSL_GUARDED_BY(mu_) = false;
  bool checkpoint_ ABSL_GUARDED_BY(mu_) = false;
  bool scheduled_ ABSL_GUARDED_BY(mu_) = false;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;

  absl::Mutex commit_mu_;
  CheckpointProgress progress_ ABSL_GUARDED_BY(commit_mu_);
  bool reported_failure_ ABSL_GUARDED_BY(commit_mu_) = false;
};

// One stage of a job on this worker: a consumer group (the job's inputs for
// stage 0, the repartition topics feeding a later stage) and a task per
// assigned partition.
class Worker::JobRunner {
 public:
  JobRunner(Worker* worker, LoadedJob job, int stage, std::shared_ptr<const JobTopology> topology)
      : worker_(worker), job_(std::move(job)), stage_(stage), topology_(std::move(topology)) {
    label_ = stage_ == 0 ? job_.spec.name() : absl::StrCat(job_.spec.name(), "/stage", stage_);
  }
  ~JobRunner() { Stop(); }

  absl::Status Start();
  void Stop();

  const LoadedJob& job() const { return job_; }
  Worker* worker() { return worker_; }
  KafkaGroupConsumer* consumer() { return consumer_.get(); }
  const JobTopology* topology() const { return topology_.get(); }
  const std::string& label() const { return label_; }
  // A snapshot of the job's tasks here (any thread).
  void FillStatus(v1::JobOnWorker* status);
  SharedSink* shared_sink(int output) { return shared_[output].get(); }

 private:
  void Loop();
  std::vector<int64_t> OnAssigned(const std::vector<TopicPartition>& partitions);
  void OnRevoked(const std::vector<TopicPartition>& partitions, bool lost);
  void ReportStatus();
  static std::string Key(const TopicPartition& tp) {
    return absl::StrCat(tp.topic, "/", tp.partition);
  }

  Worker* worker_;
  LoadedJob job_;
  int stage_;
  std::shared_ptr<const JobTopology> topology_;  // null for a single-stage job
  std::string label_;                            // the job, and its stage after the first
  std::unique_ptr<KafkaGroupConsumer> consumer_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  const int64_t started_at_ms_ = WallTicks() / kTicksPerMillisecond;
  // Changed on the consumer thread only, under tasks_mu_ so that status
  // reports (other threads) can read it.
  absl::Mutex tasks_mu_;
  std::map<std::string, std::unique_ptr<PartitionTask>> tasks_;
  // Consumer thread only:
  int64_t finished_events_ = 0;  // from tasks that are gone
  int64_t finished_rows_ = 0;
  int64_t finished_rejected_ = 0;
  int64_t last_events_ = 0;
  int64_t last_rows_ = 0;
  int64_t last_status_ms_ = 0;
  // Outputs tasks share (files, standard output), by plan output.
  std::vector<std::unique_ptr<SharedSink>> shared_;
};

const std::string& Worker::PartitionTask::job_name() const { return job_->label(); }

bool Worker::PartitionTask::CaughtUp() {
  // The cached end can be stale right after an assignment (librdkafka keeps
  // it from when this consumer last had the partition): ask the broker the
  // first time.
  const int64_t end = end_checked_ ? job_->consumer()->CachedEndOffset(tp_)
                                   : job_->consumer()->QueryEndOffset(tp_, 2000);
  if (end >= 0) end_checked_ = true;
  return end >= 0 && position_ >= end;
}

absl::Status Worker::PartitionTask::Init() {
  const LoadedJob& job = job_->job();
  const JobTopology* topology = job_->topology();
  const bool staged = topology != nullptr && topology->stages > 1;
  for (int i = 0; i < job.plan.inputs_size() && stage_ == 0; ++i) {
    if (job.input_topics[i] != tp_.topic) continue;
    inputs_.push_back(i);
    decoders_.push_back(std::make_unique<JsonDecoder>(JsonDecoderOptionsFor(job.plan.inputs(i))));
  }
  if (job.exactly_once) {
    // One transactional producer per task. Its id names the task, so a new
    // owner of the partition fences an old one that is still around.
    KafkaProperties properties = worker_->options_.kafka;
    properties.insert(properties.end(), job.kafka.begin(), job.kafka.end());
    properties.emplace_back("transactional.id", absl::StrCat("sluice.", job_name(), ".", tp_.topic,
                                                             ".", tp_.partition));
    auto txn = KafkaProducer::Create(worker_->options_.bootstrap, properties);
    if (!txn.ok()) return txn.status();
    txn_ = *std::move(txn);
    if (absl::Status s = txn_->InitTransactions(30'000); !s.ok()) return s;
    if (absl::Status s = txn_->BeginTransaction(); !s.ok()) return s;
  }
  std::vector<Sink*> sinks;
  for (int o = 0; o < job.plan.outputs_size(); ++o) {
    // Rows are named the same however often they are produced (sluice.id),
    // so that readers (and the file outputs themselves) can drop the copies
    // a replay makes.
    std::string identity = absl::StrCat(job.spec.name(), "/", job.plan.outputs(o).name());
    std::string source = stage_ == 0 ? absl::StrCat(tp_.topic, ":", tp_.partition)
                                     : absl::StrCat("stage", stage_, ":", tp_.partition);
    if (SharedSink* shared = job_->shared_sink(o)) {
      sinks_.push_back(
          std::make_unique<SharedSinkRef>(shared, std::move(identity), std::move(source)));
    } else {
      sinks_.push_back(std::make_unique<KafkaSink>(producer(), job.outputs[o].name, &tracker_,
                                                   std::move(identity), std::move(source)));
    }
    sinks.push_back(sinks_.back().get());
  }
  TaskEnvironment env;
  env.registry = &worker_->registry_;
  env.store = worker_->store_.get();
  env.job_name = job.spec.name();
  env.partition = id_;
  env.sinks = sinks;
  if (staged) {
    env.stage = stage_;
    const int sender =
        stage_ == 0 ? topology->topic_base.at(tp_.topic) + tp_.partition : tp_.partition;
    sender_ = std::make_unique<KafkaExchangeSender>(producer(), &tracker_, topology, sender);
    env.exchange_sender = sender_.get();
  }
  env.reject = [this](const RejectedRow& row) {
    std::string_view data;
    if (current_ != nullptr && row.origin.position >= 0) {
      const auto& records = current_->records;
      auto it = std::lower_bound(
          records.begin(), records.end(), row.origin.position,
          [](const RecordBatch::Record& r, int64_t offset) { return r.offset < offset; });
      if (it != records.end() && it->offset == row.origin.position) data = current_->payload(*it);
    }
    if (stage_ > 0 && row.origin.input >= 0 && row.origin.partition >= 0 &&
        row.origin.input < static_cast<int>(job_->job().input_topics.size())) {
      // A row rejected after an exchange names the event it came from.
      return DeadLetter(row.reason, job_->job().input_topics[row.origin.input],
                        row.origin.partition, row.origin.position, row.data);
    }
    return DeadLetter(row.reason, tp_.topic, tp_.partition, row.origin.position,
                      data.empty() ? row.data : data);
  };
  prefix_.clear();
  AppendBigEndian32(id_, &prefix_);
  // The state of the last checkpoint: from the local store when it is
  // current, else rebuilt from the changelog; none for a task that never ran.
  bool restored = false;
  if (absl::Status s = Restore(env, &restored); !s.ok()) return s;
  env.fresh_state = !restored;
  auto task = Task::Create(job.plan, env);
  if (!task.ok()) return task.status();
  task_ = *std::move(task);
  {
    std::vector<InputDriver::Feed> feeds;
    for (size_t k = 0; k < inputs_.size(); ++k) feeds.push_back({inputs_[k], decoders_[k].get()});
    driver_ = std::make_unique<InputDriver>(
        std::move(feeds), [this](const SourceRecord& r, std::string_view reason) {
          return DeadLetter(reason, tp_.topic, tp_.partition, r.position, r.data);
        });
    driver_->set_partition(tp_.partition);
  }
  if (stage_ > 0) {
    if (task_->entry_exchanges().empty()) {
      return absl::InternalError(absl::StrCat("stage ", stage_, " has no exchange to read"));
    }
    entry_ = task_->entry_exchanges().front();
    const JobTopology::Exchange& x = topology->exchanges.at(entry_);
    receiver_ = std::make_unique<ExchangeReceiver>(
        topology->Tasks(x.from_stage),
        static_cast<size_t>(job.plan.nodes(entry_).schema().columns_size()));
  }
  if (restored) {
    std::string value;
    auto meta = [&](std::string_view what, int64_t* out) -> absl::Status {
      auto found = task_->meta_table().Get(MetaKey(what), &value);
      if (!found.ok()) return found.status();
      std::string_view in = value;
      uint64_t v = 0;
      if (*found && DecodeFixed64(&in, &v)) *out = static_cast<int64_t>(v);
      return absl::OkStatus();
    };
    if (absl::Status s = meta("position", &position_); !s.ok()) return s;
    start_offset_ = position_;
    next_offset_.store(position_);
    if (sender_) {
      for (const auto& [node, x] : topology->exchanges) {
        if (x.from_stage != stage_) continue;
        int64_t seq = 0;
        if (absl::Status s = meta(absl::StrCat("seq.", node), &seq); !s.ok()) return s;
        sender_->seqs()[node] = seq;
      }
    }
    if (receiver_) {
      auto parts = RestoreReceiver(*receiver_, task_->meta_table(), MetaKey("receiver"));
      if (!parts.ok()) return parts.status();
      receiver_parts_ = *parts;
    }
  }
  if (stage_ > 0) return absl::OkStatus();
  // Inputs this partition does not carry are over from the start, so that
  // a UNION over several topics is not held back by them.
  for (int i = 0; i < job.plan.inputs_size(); ++i) {
    if (std::find(inputs_.begin(), inputs_.end(), i) == inputs_.end()) {
      if (absl::Status s = task_->EndInput(i); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

void Worker::PartitionTask::Run() {
  while (true) {
    RecordBatch batch;
    bool have_batch = false;
    bool tick = false;
    bool checkpoint = false;
    {
      absl::MutexLock lock(&mu_);
      if (checkpoint_) {
        checkpoint_ = false;
        checkpoint = true;
      } else if (!inbox_.empty()) {
        batch = std::move(inbox_.front());
        inbox_.pop_front();
        have_batch = true;
      } else if (tick_) {
        tick_ = false;
        tick = true;
      } else {
        scheduled_ = false;
        return;
      }
    }
    if (failed_.load()) continue;  // drop work after a failure; nothing gets committed
    if (have_batch) {
      if (stage_ > 0) {
        ProcessExchange(batch);
      } else {
        Process(batch);
      }
    }
    // The clock moves an idle input's watermark only when the partition is
    // read to its end: a task with a backlog (just restored, or behind) is
    // not idle, and moving its watermark by the clock would make the
    // backlog late and the result differ from a run without the pause.
    if (tick && (stage_ > 0 || CaughtUp())) {
      if (absl::Status s = task_->Tick(WallTicks()); !s.ok()) Fail(s);
      // An upstream partition that has never had an event must not stall
      // this stage forever (see ExchangeReceiver::IgnoreSilentUpstreams).
      if (receiver_ && !ignoring_silent_ && !receiver_->ignoring_silent() &&
          WallTicks() / kTicksPerMillisecond - started_at_ms_ >= kSilentUpstreamMs &&
          receiver_->silent_upstreams() > 0) {
        ignoring_silent_ = true;
        Log(absl::StrCat(job_name(), " | ", tp_.topic, "[", tp_.partition, "] | ",
                         receiver_->silent_upstreams(), " upstream task(s) sent nothing in ",
                         kSilentUpstreamMs / 1000, " s; the watermark no longer waits for them"));
        receiver_->IgnoreSilentUpstreams();
        ReleaseExchange();
      }
    }
    if (checkpoint) {
      if (absl::Status s = Checkpoint(); !s.ok()) Fail(s);
    }
    TaskMetrics::Set(task_->metrics().memory_state_bytes,
                     static_cast<int64_t>(task_->MemoryStateBytes()));
  }
}

namespace {

// The task's partitions of its changelog topics, read to their ends.
class KafkaChangelogReader final : public ChangelogReader {
 public:
  KafkaChangelogReader(KafkaTopicReader* reader, const std::map<std::string, int>* partition_of,
                       std::string task, std::chrono::steady_clock::time_point deadline)
      : reader_(reader), partition_of_(partition_of), task_(std::move(task)), deadline_(deadline) {}

  absl::Status ReadAll(const std::vector<std::string>& logs, const RecordFn& fn) override {
    struct Progress {
      int64_t end = 0;
      int64_t next = 0;
    };
    std::map<std::string, Progress> progress;
    for (const std::string& topic : logs) {
      auto end = reader_->AddPartition(topic, partition_of_->at(topic), 10'000);
      if (absl::IsNotFound(end.status())) continue;  // never written: empty
      if (!end.ok()) return end.status();
      progress[topic].end = *end;
    }
    auto behind = [&] {
      for (auto& [topic, p] : progress) {
        if (p.next >= p.end) continue;
        // Transaction markers take offsets but are never returned: the
        // reader's position tells when it is past them.
        p.next = std::max(p.next, reader_->Position(topic, partition_of_->at(topic)));
        if (p.next < p.end) return true;
      }
      return false;
    };
    // A failed poll is retried (the reader reconnects); if the deadline
    // passes, the last failure is the cause the error gives.
    std::vector<KafkaMessage> messages;
    absl::Status last_poll;
    while (behind()) {
      if (std::chrono::steady_clock::now() > deadline_) {
        return absl::DeadlineExceededError(
            absl::StrCat("reading the changelogs of ", task_,
                         last_poll.ok() ? "" : absl::StrCat(": ", last_poll.message())));
      }
      messages.clear();
      if (absl::Status s = reader_->Poll(100, 10'000, &messages); !s.ok()) last_poll = s;
      for (const KafkaMessage& m : messages) {
        auto it = progress.find(m.topic);
        if (it == progress.end()) continue;
        it->second.next = std::max(it->second.next, m.offset + 1);
        fn(m.topic, m.key, m.value);
      }
    }
    return absl::OkStatus();
  }

 private:
  KafkaTopicReader* reader_;
  const std::map<std::string, int>* partition_of_;
  std::string task_;
  std::chrono::steady_clock::time_point deadline_;
};

}  // namespace

// The task's partition of each changelog topic; the producer keeps the
// count of what is sent, to wait for its acknowledgement.
class Worker::PartitionTask::KafkaChangelogWriter final : public ChangelogWriter {
 public:
  explicit KafkaChangelogWriter(PartitionTask* task)
      : task_(task), now_ms_(WallTicks() / kTicksPerMillisecond) {}
  absl::Status Append(const std::string& log, std::string_view key,
                      std::string_view value) override {
    return task_->producer()->Produce(log, key, value, now_ms_, &task_->tracker_, {},
                                      task_->changelog_partition_.at(log));
  }

 private:
  PartitionTask* task_;
  int64_t now_ms_;
};

absl::Status Worker::PartitionTask::Restore(const TaskEnvironment& env, bool* restored) {
  *restored = false;
  const JobTopology* topology = job_->topology();
  const auto started = std::chrono::steady_clock::now();
  CheckpointProtocol::Options options;
  options.store = worker_->store_.get();
  options.task_prefix = prefix_;
  options.meta_family = absl::StrCat(job_->job().spec.name(), "/task");
  options.incarnation = incarnation_;
  for (const JobTopology::Changelog* c : topology->StageChangelogs(stage_)) {
    options.logs.push_back(c->topic);
    changelog_partition_[c->topic] = tp_.partition % c->partitions;
  }
  options.log_of = [topology](std::string_view family) -> const std::string* {
    const JobTopology::Changelog* c = topology->ChangelogOf(family);
    return c == nullptr ? nullptr : &c->topic;
  };
  checkpoints_ = std::make_unique<CheckpointProtocol>(std::move(options));

  KafkaProperties properties = worker_->options_.kafka;
  properties.insert(properties.end(), job_->job().kafka.begin(), job_->job().kafka.end());
  auto reader = KafkaTopicReader::Create(worker_->options_.bootstrap, properties);
  if (!reader.ok()) return reader.status();
  KafkaChangelogReader in(reader->get(), &changelog_partition_,
                          absl::StrCat(tp_.topic, "[", tp_.partition, "]"),
                          started + std::chrono::seconds(120));
  auto result = checkpoints_->Restore(in, [&]() -> absl::Status {
    TaskEnvironment wipe = env;
    wipe.fresh_state = true;
    return Task::Create(job_->job().plan, wipe).status();
  });
  if (!result.ok()) return result.status();
  if (!result->checkpoint) return absl::OkStatus();  // never checkpointed: start fresh
  *restored = true;
  if (!result->from_log) {
    Log(absl::StrCat(job_name(), " | ", tp_.topic, "[", tp_.partition, "] | state of checkpoint ",
                     result->checkpoint->number, " is here already"));
    return absl::OkStatus();
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
  Log(absl::StrCat(job_name(), " | ", tp_.topic, "[", tp_.partition, "] | restored checkpoint ",
                   result->checkpoint->number, " from the changelog: ", result->changes,
                   " changes in ", ms, " ms"));
  return absl::OkStatus();
}

absl::Status Worker::PartitionTask::WaitAcknowledged(int timeout_ms) {
  // Only this task produces with its tracker, and it is not producing now:
  // once the reports catch up with the count, everything is acknowledged.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (tracker_.acked() + tracker_.failed() < tracker_.produced()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return absl::UnavailableError("Kafka did not acknowledge the task's messages in time");
    }
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  if (tracker_.failed() > 0) {
    return absl::UnavailableError(
        absl::StrCat("Kafka refused the task's messages: ", tracker_.last_error()));
  }
  return absl::OkStatus();
}

absl::Status Worker::PartitionTask::Checkpoint() {
  if (task_ == nullptr || position_ < 0 || failed_.load()) return absl::OkStatus();
  StateWriteBatch batch;
  if (absl::Status s = task_->Checkpoint(batch); !s.ok()) return s;
  const CheckpointId id = checkpoints_->Begin(batch, task_->meta_table());
  auto put = [&](std::string_view what, int64_t v) {
    std::string value;
    EncodeFixed64(static_cast<uint64_t>(v), &value);
    batch.Put(task_->meta_table(), MetaKey(what), value);
  };
  put("position", position_);
  if (sender_) {
    for (const auto& [node, seq] : sender_->seqs()) put(absl::StrCat("seq.", node), seq);
  }
  int64_t receiver_parts = 0;
  if (receiver_) {
    if (absl::Status s = CheckpointReceiver(*receiver_, task_->meta_table(), MetaKey("receiver"),
                                            receiver_parts_, batch, &receiver_parts);
        !s.ok()) {
      return s;
    }
  }
  // The changes, to their operators' changelogs; once they are all
  // acknowledged the checkpoint is complete: mark it.
  KafkaChangelogWriter out(this);
  if (absl::Status s = checkpoints_->WriteChanges(id, batch, out); !s.ok()) return s;
  if (absl::Status s = WaitAcknowledged(60'000); !s.ok()) return s;
  if (absl::Status s = checkpoints_->WriteMarkers(id, out); !s.ok()) return s;
  if (txn_) {
    // Outputs, exchange rows, changelog and the input position in one
    // transaction: all visible to read_committed readers, or none.
    auto group = job_->consumer()->GroupMetadata();
    absl::Status s = txn_->CommitTransaction({{tp_, position_}}, group.get(), 60'000);
    if (absl::IsAborted(s)) txn_->AbortTransaction(30'000).IgnoreError();
    if (!s.ok()) return s;
    if (absl::Status b = txn_->BeginTransaction(); !b.ok()) return b;
  }
  if (absl::Status s = worker_->store_->Commit(batch); !s.ok()) return s;
  checkpoints_->Completed(id);
  receiver_parts_ = receiver_parts;
  // Durable: at once under exactly_once (the transaction committed the
  // group's offset too), else once the checkpoint's messages are
  // acknowledged (the consumer commits it when the partition leaves).
  absl::MutexLock lock(&commit_mu_);
  if (txn_) {
    progress_.Durable(position_);
  } else {
    progress_.Taken(position_, tracker_.produced());
  }
  return absl::OkStatus();
}

void Worker::PartitionTask::Fail(const absl::Status& status) {
  failed_.store(true);
  {
    absl::MutexLock lock(&error_mu_);
    if (error_.empty()) error_ = std::string(status.message());
  }
  Log(absl::StrCat(job_name(), " | ", tp_.topic, "[", tp_.partition,
                   "] | failed: ", status.message()));
}

void Worker::PartitionTask::FillStatus(v1::TaskStatus* status) {
  status->set_topic(tp_.topic);
  status->set_partition(tp_.partition);
  status->set_next_offset(next_offset_.load());
  status->set_committed_offset(DurableOffset());
  const int64_t end = job_->consumer()->CachedEndOffset(tp_);
  status->set_end_offset(end);
  const int64_t next = next_offset_.load();
  // Before the first batch the position is unknown; the lag then is the
  // whole partition as far as the task can tell.
  status->set_lag(end < 0 ? -1 : std::max<int64_t>(0, end - std::max<int64_t>(0, next)));
  status->set_started_at_ms(started_at_ms_);
  status->set_failed(failed_.load());
  {
    absl::MutexLock lock(&error_mu_);
    status->set_error(error_);
  }
  if (task_ == nullptr) return;
  const TaskMetrics& m = task_->metrics();
  const int64_t watermark = m.watermark.load();
  if (watermark != INT64_MIN) status->set_watermark(FormatDatetime(watermark));
  status->set_events_in(m.events_in.load());
  status->set_rows_out(m.rows_out.load());
  status->set_late_adjusted(m.late_adjusted.load());
  status->set_late_dropped(m.late_dropped.load());
  status->set_out_of_order_adjusted(m.out_of_order_adjusted.load());
  status->set_out_of_order_dropped(m.out_of_order_dropped.load());
  status->set_early_dropped(m.early_dropped.load());
  status->set_dead_lettered(m.rejected.load());
  status->set_state_bytes(m.memory_state_bytes.load() + task_->StoredStateBytes());
}

void Worker::PartitionTask::Process(const RecordBatch& batch) {
  current_ = &batch;
  records_.clear();
  batch.AppendTo(&records_);
  if (absl::Status s = driver_->Push(*task_, records_); !s.ok()) Fail(s);
  current_ = nullptr;
  if (failed_.load() || batch.records.empty()) return;
  position_ = batch.records.back().offset + 1;
  next_offset_.store(position_);
}

void Worker::PartitionTask::ReleaseExchange() {
  if (receiver_->watermark() <= receiver_->released()) return;
  Batch ready = receiver_->TakeReady();
  TaskMetrics::Add(task_->metrics().events_in, ready.num_rows);
  absl::Status s = task_->PushExchange(entry_, ready);
  if (s.ok()) s = task_->AdvanceExchange(entry_, receiver_->released());
  if (!s.ok()) Fail(s);
}

// A later stage: repartition records from the tasks of the stage before,
// merged by the receiver and released to the plan as its watermark (the
// slowest sender's) passes them.
void Worker::PartitionTask::ProcessExchange(const RecordBatch& batch) {
  for (const RecordBatch::Record& r : batch.records) {
    ExchangeRecord record;
    bool ok = DecodeExchangeRecord(batch.payload(r), &record);
    if (ok && record.kind == ExchangeRecord::Kind::kRow) {
      ok = receiver_->AddRow(record.sender, record.seq, r.offset, record.row);
    } else if (ok) {
      receiver_->SetWatermark(record.sender, record.watermark);
    }
    if (!ok) {
      TaskMetrics::Add(task_->metrics().rejected, 1);
      if (absl::Status s =
              DeadLetter("malformed repartition record", tp_.topic, tp_.partition, r.offset, "");
          !s.ok()) {
        Fail(s);
      }
    }
  }
  ReleaseExchange();
  if (failed_.load() || batch.records.empty()) return;
  position_ = batch.records.back().offset + 1;
  next_offset_.store(position_);
}

absl::Status Worker::PartitionTask::DeadLetter(std::string_view reason, const std::string& topic,
                                               int32_t partition, int64_t offset,
                                               std::string_view data) {
  const LoadedJob& job = job_->job();
  std::string value = "{\"job\":";
  AppendJsonString(job.spec.name(), &value);
  value += ",\"reason\":";
  AppendJsonString(reason, &value);
  value += ",\"topic\":";
  AppendJsonString(topic, &value);
  absl::StrAppend(&value, ",\"partition\":", partition, ",\"offset\":", offset);
  if (!data.empty()) AppendRawTextField("data", data, &value);
  value += "}";
  const std::vector<KafkaHeader> headers = {
      {"sluice.reason", std::string(reason)},
      {"sluice.source.topic", topic},
      {"sluice.source.partition", absl::StrCat(partition)},
      {"sluice.source.offset", absl::StrCat(offset)},
  };
  const int64_t now_ms = WallTicks() / kTicksPerMillisecond;
  return producer()->Produce(job.dead_letter_topic, "", value, now_ms, &tracker_, headers);
}

absl::Status Worker::JobRunner::Start() {
  const int outputs = job_.plan.outputs_size();
  shared_.resize(outputs);
  for (int o = 0; o < outputs; ++o) {
    const OutputTarget& target = job_.outputs[o];
    absl::StatusOr<std::unique_ptr<SharedSink>> shared;
    if (target.kind == OutputTarget::Kind::kFile) {
      auto sink = JsonLinesSink::Create(target.name, /*append=*/true);
      if (!sink.ok()) return sink.status();
      shared = SharedSink::Create(*std::move(sink), target.name + ".ids");
    } else if (target.kind == OutputTarget::Kind::kStdout) {
      shared = SharedSink::Create(
          JsonLinesSink::Stdout(absl::StrCat(job_.spec.name(), " | ", target.name, " | ")), "");
    } else {
      continue;
    }
    if (!shared.ok()) return shared.status();
    shared_[o] = *std::move(shared);
  }
  std::set<std::string> topics;
  if (stage_ == 0) {
    topics.insert(job_.input_topics.begin(), job_.input_topics.end());
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
}

std::vector<int64_t> Worker::JobRunner::OnAssigned(const std::vector<TopicPartition>& partitions) {
  std::vector<int64_t> starts;
  for (const TopicPartition& tp : partitions) {
    starts.push_back(-1);
    uint32_t id;
    if (stage_ == 0) {
      const auto topic_it = std::find(job_.input_topics.begin(), job_.input_topics.end(), tp.topic);
      id = (static_cast<uint32_t>(topic_it - job_.input_topics.begin()) << 16) |
           static_cast<uint32_t>(tp.partition);
    } else {
      // Later stages' state keys must not meet stage 0's.
      id = ((0x4000u + static_cast<uint32_t>(stage_)) << 16) | static_cast<uint32_t>(tp.partition);
    }
    // Restoring reads Kafka: a hiccup is retried. A task that cannot start
    // reads nothing and commits nothing; its partition is retried when it
    // is next assigned.
    std::unique_ptr<PartitionTask> task;
    absl::Status s;
    for (int attempt = 0; attempt < 3; ++attempt) {
      if (attempt > 0) std::this_thread::sleep_for(std::chrono::seconds(1));
      task = std::make_unique<PartitionTask>(worker_, this, tp, id, stage_);
      s = task->Init();
      if (s.ok()) break;
      Log(absl::StrCat(worker_->options_.name, " | ", label_, " | cannot start task for ", tp.topic,
                       "[", tp.partition, "]: ", s.message(), attempt < 2 ? " (retrying)" : ""));
    }
    if (!s.ok()) continue;
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

void Worker::JobRunner::OnRevoked(const std::vector<TopicPartition>& partitions, bool lost) {
  std::vector<PartitionTask*> leaving;
  for (const TopicPartition& tp : partitions) {
    auto it = tasks_.find(Key(tp));
    if (it == tasks_.end()) continue;
    it->second->Drain();
    leaving.push_back(it->second.get());
  }
  if (!lost && !leaving.empty()) {
    // A last checkpoint, so that the next owner starts exactly here; then
    // commit it.
    for (PartitionTask* task : leaving) {
      if (absl::Status s = task->Checkpoint(); !s.ok()) {
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
  auto topology = BuildTopology(job);
  if (!topology.ok()) return topology.status();
  std::vector<std::unique_ptr<JobRunner>> runners;
  // Later stages first, so that they are reading when the first rows come.
  for (int stage = std::max(job.plan.stages(), 1) - 1; stage >= 0; --stage) {
    auto runner = std::make_unique<JobRunner>(this, job, stage, *topology);
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
  for (const std::string& topic : job.input_topics) {
    if (!seen.insert(topic).second) continue;
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
  for (const v1::Node& node : job.plan.nodes()) {
    if (!node.has_exchange()) continue;
    JobTopology::Exchange x;
    x.topic = absl::StrCat("sluice.", job.spec.name(), ".", node.id(), ".repartition");
    x.from_stage = node.stage();
    x.to_stage = node.exchange().to_stage();
    x.partitions = node.exchange().keys_size() > 0 ? input_partitions : 1;
    topology->exchanges[node.id()] = x;
    missing.push_back({x.topic, x.partitions, {}});
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

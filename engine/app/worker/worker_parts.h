// The worker's parts, shared by worker.cc (the worker and its job runners),
// partition_task.cc (a task on one assigned partition) and nothing else:
// how a job's stages meet (JobTopology), the exchange sender, and the two
// classes' definitions. The outputs tasks write are in outputs.h.
#ifndef SLUICE_ENGINE_APP_WORKER_WORKER_PARTS_H_
#define SLUICE_ENGINE_APP_WORKER_WORKER_PARTS_H_

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <iterator>
#include <map>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "connectors/json_decoder.h"
#include "connectors/kafka_consumer.h"
#include "connectors/kafka_partition_source.h"
#include "connectors/kafka_reader.h"
#include "connectors/reference_file.h"
#include "connectors/reference_topic.h"
#include "engine/app/base/log_line.h"
#include "engine/app/worker/outputs.h"
#include "engine/app/worker/worker.h"
#include "engine/core/datetime.h"
#include "engine/core/failpoint.h"
#include "engine/core/value.h"
#include "engine/core/value_codec.h"
#include "engine/exec/exchange.h"
#include "engine/exec/task.h"
#include "engine/runtime/async_checkpoints.h"
#include "engine/runtime/checkpoint_protocol.h"
#include "engine/runtime/input_driver.h"
#include "engine/state/changelog_record.h"
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
    // Several exchanges feed to_stage (a join's two sides) and share one
    // topic: records carry the exchange's node (EncodeExchangeTag).
    bool tagged = false;
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

inline int64_t WallTicks() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
             .count() *
         kTicksPerMicrosecond;
}

inline int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline void Log(std::string_view line) { LogLine(line); }

inline std::string Describe(const std::vector<TopicPartition>& partitions) {
  std::map<std::string, std::vector<int32_t>> by_topic;
  for (const TopicPartition& tp : partitions) by_topic[tp.topic].push_back(tp.partition);
  std::vector<std::string> parts;
  for (auto& [topic, ids] : by_topic) {
    std::sort(ids.begin(), ids.end());
    parts.push_back(absl::StrCat(topic, "[", absl::StrJoin(ids, ","), "]"));
  }
  return parts.empty() ? std::string("none") : absl::StrJoin(parts, " ");
}

// A dead-letter record: the job, the reason, where the record was read
// and, when there is one, its text.
inline std::string DeadLetterValue(std::string_view job, std::string_view reason,
                                   std::string_view topic, int32_t partition, int64_t offset,
                                   std::string_view data) {
  std::string value = "{\"job\":";
  AppendJsonString(job, &value);
  value += ",\"reason\":";
  AppendJsonString(reason, &value);
  value += ",\"topic\":";
  AppendJsonString(topic, &value);
  absl::StrAppend(&value, ",\"partition\":", partition, ",\"offset\":", offset);
  if (!data.empty()) AppendRawTextField("data", data, &value);
  value += "}";
  return value;
}

inline std::vector<KafkaHeader> DeadLetterHeaders(std::string_view reason, const std::string& topic,
                                                  int32_t partition, int64_t offset) {
  return {
      {"sluice.reason", std::string(reason)},
      {"sluice.source.topic", topic},
      {"sluice.source.partition", absl::StrCat(partition)},
      {"sluice.source.offset", absl::StrCat(offset)},
  };
}

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
      if (x.tagged) EncodeExchangeTag(node, &value);
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
    if (x.tagged) EncodeExchangeTag(node, &value);
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

// One assigned partition running the job's plan. Its input is the
// partition as a source (connectors/kafka_partition_source.h): the input
// topic's for stage 0, the repartition topic's for later stages. Work is
// submitted to the pool one closure at a time (`scheduled_`), so the task
// runs on one thread at a time; the consumer thread only offers records
// and reads commit positions.
class Worker::PartitionTask {
 public:
  PartitionTask(Worker* worker, JobRunner* job, TopicPartition tp, uint32_t id, int stage);
  ~PartitionTask();

  absl::Status Init();

  void Enqueue(RecordBatch batch) {
    absl::MutexLock lock(&mu_);
    if (closing_) return;
    source_->Offer(std::move(batch));
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
  // True once the task failed: it takes no more work and commits nothing;
  // its runner replaces it (RetryFailedTasks).
  bool failed() const { return failed_.load(); }
  std::string error();
  // True once Kafka reported on every message the task produced: the
  // producer's delivery reports point at its tracker, so it may go only then.
  bool Settled() const { return tracker_.Settled(); }

  // Starts a checkpoint (engine/runtime/async_checkpoints.h), unless one is
  // in flight; the task goes on while Kafka acknowledges it. With `wait`
  // (the partition is leaving) or under exactly_once, first completes the
  // one in flight, then takes one and returns once it is complete. On the
  // task's thread, or on any thread once Drain() returned.
  absl::Status Checkpoint(bool wait);
  // Stops taking work and waits for what is queued to be done.
  void Drain() {
    absl::MutexLock lock(&mu_);
    closing_ = true;
    mu_.Await(absl::Condition(
        +[](PartitionTask* t) ABSL_EXCLUSIVE_LOCKS_REQUIRED(t->mu_) { return !t->scheduled_; },
        this));
  }

  // The input position of the latest complete checkpoint (every message
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
    return durable_;
  }
  // The input position of the latest complete checkpoint, or -1 (any
  // thread): where the task resumes after a crash.
  int64_t DurableOffset() {
    absl::MutexLock lock(&commit_mu_);
    return durable_;
  }

  const TopicPartition& partition() const { return tp_; }
  // The task's input. Seek it only before the task takes work.
  KafkaPartitionSource& source() { return *source_; }
  TaskMetrics* metrics() { return task_ ? &task_->metrics() : nullptr; }

  // A snapshot for status reports (any thread).
  void FillStatus(v1::TaskStatus* status);

 private:
  // Later stages: an exchange the task reads (see entries_).
  struct Entry {
    int node = -1;
    std::unique_ptr<ExchangeReceiver> receiver;
    int64_t parts = 0;  // the receiver's parts beyond the first, in the store
    // Its checkpoint's key: "receiver" for the first, as before joins.
    std::string meta_key;
  };

  absl::Status Restore(const TaskEnvironment& env, bool* restored);
  // Where the task's messages go: its own transactional producer under
  // exactly_once, else the worker's.
  KafkaProducer* producer() { return txn_ ? txn_.get() : worker_->producer_.get(); }
  // The next step of the checkpoint in flight, and what follows its
  // completion (the transaction's commit, the sinks' commit, the durable
  // position).
  absl::Status AdvanceCheckpoint();
  // Advances the checkpoint in flight until it is complete.
  absl::Status FinishCheckpoint();
  std::string MetaKey(std::string_view what) const { return absl::StrCat("w.", std::string(what)); }

  void ScheduleLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (scheduled_) return;
    scheduled_ = true;
    worker_->pool_->Submit([this] { Run(); });
  }
  void Run();
  // What the source has, decoded and pushed into the task (stage 0) or
  // merged by the exchange receiver (later stages).
  void Process();
  void ProcessExchange();
  void ReleaseExchange(Entry& entry);
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
  // Later stages: the exchanges this task reads (one, or a join's two,
  // sharing one topic) and their merged inputs.
  std::vector<Entry> entries_;
  Entry* EntryOf(int exchange);
  std::vector<int> inputs_;                             // plan inputs this topic feeds
  std::vector<std::unique_ptr<JsonDecoder>> decoders_;  // by position in inputs_
  std::unique_ptr<InputDriver> driver_;                 // decodes into inputs_
  std::unique_ptr<KafkaPartitionSource> source_;
  std::vector<SourceRecord> records_;  // the records being processed
  std::vector<std::unique_ptr<Sink>> sinks_;
  EpochDeliveryTracker tracker_;
  std::unique_ptr<WorkerSinkServices> sink_services_;  // what sinks_ write through
  std::atomic<bool> failed_{false};
  std::atomic<int64_t> next_offset_{-1};
  const int64_t started_at_ms_ = WallTicks() / kTicksPerMillisecond;
  absl::Mutex error_mu_;
  std::string error_ ABSL_GUARDED_BY(error_mu_);
  // Checkpoints (task thread): the protocol (engine/runtime/checkpoint_protocol.h),
  // the next input position to read, where the consumer starts.
  std::unique_ptr<CheckpointProtocol> checkpoints_;
  std::unique_ptr<AsyncCheckpoints> async_;  // over checkpoints_ and tracker_
  class KafkaChangelogWriter;
  std::unique_ptr<KafkaChangelogWriter> changelog_out_;
  // How long a checkpoint may wait for Kafka's acknowledgements.
  static constexpr int64_t kCheckpointTimeoutMs = 60'000;
  std::map<std::string, int> changelog_partition_;  // by changelog topic
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
  bool tick_ ABSL_GUARDED_BY(mu_) = false;
  bool checkpoint_ ABSL_GUARDED_BY(mu_) = false;
  bool scheduled_ ABSL_GUARDED_BY(mu_) = false;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;

  absl::Mutex commit_mu_;
  int64_t durable_ ABSL_GUARDED_BY(commit_mu_) = -1;
  bool reported_failure_ ABSL_GUARDED_BY(commit_mu_) = false;
};

// One stage of a job on this worker: a consumer group (the job's inputs for
// stage 0, the repartition topics feeding a later stage) and a task per
// assigned partition.
class Worker::JobRunner {
 public:
  JobRunner(Worker* worker, LoadedJob job, int stage, std::shared_ptr<const JobTopology> topology,
            std::shared_ptr<const ReferenceProvider> references)
      : worker_(worker),
        job_(std::move(job)),
        stage_(stage),
        topology_(std::move(topology)),
        references_(std::move(references)) {
    label_ = stage_ == 0 ? job_.spec.name() : absl::StrCat(job_.spec.name(), "/stage", stage_);
  }
  ~JobRunner() { Stop(); }

  absl::Status Start();
  void Stop();

  const LoadedJob& job() const { return job_; }
  Worker* worker() { return worker_; }
  KafkaGroupConsumer* consumer() { return consumer_.get(); }
  const JobTopology* topology() const { return topology_.get(); }
  // The job's reference tables on this worker (null when it has none).
  const ReferenceProvider* references() const { return references_.get(); }
  const std::string& label() const { return label_; }
  // A snapshot of the job's tasks here (any thread).
  void FillStatus(v1::JobOnWorker* status);
  // Plan output `o`, opened for the job (the tasks open their sinks on it).
  JobOutput* output(int o) { return outputs_[o].get(); }

 private:
  void Loop();
  std::vector<int64_t> OnAssigned(const std::vector<TopicPartition>& partitions);
  void OnRevoked(const std::vector<TopicPartition>& partitions, bool lost);
  void ReportStatus();
  static std::string Key(const TopicPartition& tp) {
    return absl::StrCat(tp.topic, "/", tp.partition);
  }
  // The task id (state key prefix) of partition `tp` in this stage.
  uint32_t TaskId(const TopicPartition& tp) const;
  // A task for `tp`, restored from its latest complete checkpoint; null
  // (and logged) when it cannot start.
  std::unique_ptr<PartitionTask> StartTask(const TopicPartition& tp, std::string* error);
  // Replaces failed tasks (and starts tasks that could not start) with
  // new ones restored from their last checkpoint, reading their partition
  // again from there; retried with a growing pause while they keep failing.
  void RetryFailedTasks(int64_t now_ms);

  Worker* worker_;
  LoadedJob job_;
  int stage_;
  std::shared_ptr<const JobTopology> topology_;  // null for a single-stage job
  std::shared_ptr<const ReferenceProvider> references_;
  std::string label_;  // the job, and its stage after the first
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
  // By plan output, from the worker's SinkRegistry.
  std::vector<std::unique_ptr<JobOutput>> outputs_;
  // Consumer thread only: partitions owned here whose task failed or could
  // not start, by Key(), and when to try again.
  struct Retry {
    TopicPartition tp;
    int attempts = 0;
    int64_t next_ms = 0;
  };
  std::map<std::string, Retry> retries_;
  // Replaced tasks whose messages Kafka has not reported on yet.
  std::vector<std::unique_ptr<PartitionTask>> retired_;
};

}  // namespace sluice

#endif  // SLUICE_ENGINE_APP_WORKER_WORKER_PARTS_H_

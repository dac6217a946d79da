// A task on one assigned partition: start and restore, the input loop,
// checkpoints through the changelog protocol, dead letters, status.
#include "engine/app/worker/worker_parts.h"

namespace sluice {

const std::string& Worker::PartitionTask::job_name() const { return job_->label(); }

absl::Status Worker::PartitionTask::Init() {
  const LoadedJob& job = job_->job();
  const JobTopology* topology = job_->topology();
  const bool staged = topology != nullptr && topology->stages > 1;
  for (int i = 0; i < job.plan.inputs_size() && stage_ == 0; ++i) {
    if (job.input_topics[i] != tp_.topic || job.plan.inputs(i).reference()) continue;
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
  sink_services_ = std::make_unique<WorkerSinkServices>(producer(), &tracker_);
  std::vector<Sink*> sinks;
  for (int o = 0; o < job.plan.outputs_size(); ++o) {
    // Rows are named the same however often they are produced (sluice.id),
    // so that readers (and the file outputs themselves) can drop the copies
    // a replay makes.
    SinkTask sink_task;
    sink_task.identity = absl::StrCat(job.spec.name(), "/", job.plan.outputs(o).name());
    sink_task.source = stage_ == 0 ? absl::StrCat(tp_.topic, ":", tp_.partition)
                                   : absl::StrCat("stage", stage_, ":", tp_.partition);
    sink_task.services = sink_services_.get();
    auto sink = job_->output(o)->OpenForTask(sink_task);
    if (!sink.ok()) return sink.status();
    sinks_.push_back(*std::move(sink));
    sinks.push_back(sinks_.back().get());
  }
  TaskEnvironment env;
  env.registry = &worker_->registry_;
  env.store = worker_->store_.get();
  env.job_name = job.spec.name();
  env.partition = id_;
  env.sinks = sinks;
  env.references = job_->references();
  if (staged) {
    env.stage = stage_;
    const int sender =
        stage_ == 0 ? topology->topic_base.at(tp_.topic) + tp_.partition : tp_.partition;
    sender_ = std::make_unique<KafkaExchangeSender>(producer(), &tracker_, topology, sender);
    env.exchange_sender = sender_.get();
  }
  env.reject = [this](const RejectedRow& row) {
    std::string_view data;
    // The event's text while the source holds it; a later stage's source
    // holds repartition records, whose offsets are not the event's.
    if (stage_ == 0 && row.origin.position >= 0) data = source_->RecordText(row.origin.position);
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
    for (int node : task_->entry_exchanges()) {
      const JobTopology::Exchange& x = topology->exchanges.at(node);
      Entry entry;
      entry.node = node;
      entry.receiver = std::make_unique<ExchangeReceiver>(
          topology->Tasks(x.from_stage),
          static_cast<size_t>(job.plan.nodes(node).schema().columns_size()));
      entry.meta_key = MetaKey(entries_.empty() ? "receiver" : absl::StrCat("receiver.", node));
      entries_.push_back(std::move(entry));
    }
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
    for (Entry& entry : entries_) {
      auto parts = RestoreReceiver(*entry.receiver, task_->meta_table(), entry.meta_key);
      if (!parts.ok()) return parts.status();
      entry.parts = *parts;
    }
  }
  source_ = std::make_unique<KafkaPartitionSource>(
      tp_, KafkaPartitionSource::Of(job_->consumer(), tp_), position_);
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
    bool have_records = false;
    bool tick = false;
    bool checkpoint = false;
    {
      absl::MutexLock lock(&mu_);
      if (checkpoint_) {
        checkpoint_ = false;
        checkpoint = true;
      } else if (source_->HasRecords()) {
        have_records = true;
      } else if (tick_) {
        tick_ = false;
        tick = true;
      } else {
        scheduled_ = false;
        return;
      }
    }
    if (failed_.load()) {
      // Work after a failure is dropped (nothing gets committed); the
      // records too, or they would be "waiting" forever.
      if (have_records) {
        records_.clear();
        source_->Read(SIZE_MAX, &records_).IgnoreError();
      }
      continue;
    }
    if (have_records) {
      if (stage_ > 0) {
        ProcessExchange();
      } else {
        Process();
      }
    }
    // The clock moves an input's watermark only while its source is idle
    // (Source::Idle): a task with a backlog (just restored, or behind) is
    // not idle, and moving its watermark by the clock would make the
    // backlog late and the result differ from a run without the pause.
    if (tick && (stage_ > 0 || source_->Idle())) {
      if (absl::Status s = task_->Tick(WallTicks()); !s.ok()) Fail(s);
      // An upstream partition that has never had an event must not stall
      // this stage forever (see ExchangeReceiver::IgnoreSilentUpstreams).
      int silent = 0;
      for (const Entry& entry : entries_) {
        if (!entry.receiver->ignoring_silent()) silent += entry.receiver->silent_upstreams();
      }
      if (!ignoring_silent_ && silent > 0 &&
          WallTicks() / kTicksPerMillisecond - started_at_ms_ >= kSilentUpstreamMs) {
        ignoring_silent_ = true;
        Log(absl::StrCat(job_name(), " | ", tp_.topic, "[", tp_.partition, "] | ", silent,
                         " upstream task(s) sent nothing in ", kSilentUpstreamMs / 1000,
                         " s; the watermark no longer waits for them"));
        for (Entry& entry : entries_) {
          entry.receiver->IgnoreSilentUpstreams();
          ReleaseExchange(entry);
        }
      }
    }
    if (checkpoint) {
      if (absl::Status s = Checkpoint(/*wait=*/false); !s.ok()) Fail(s);
    }
    if (!failed_.load()) {
      if (absl::Status s = AdvanceCheckpoint(); !s.ok()) Fail(s);
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
      auto partition = partition_of_->find(topic);
      if (partition == partition_of_->end()) continue;
      auto end = reader_->AddPartition(topic, partition->second, 10'000);
      if (absl::IsNotFound(end.status())) continue;  // never written: empty
      if (!end.ok()) return end.status();
      progress[topic].end = *end;
    }
    auto behind = [&] {
      for (auto& [topic, p] : progress) {
        if (p.next >= p.end) continue;
        // Transaction markers take offsets but are never returned: the
        // reader's position tells when it is past them.
        p.next = std::max(p.next, reader_->Position(topic, partition_of_->find(topic)->second));
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
  explicit KafkaChangelogWriter(PartitionTask* task) : task_(task) {}
  absl::Status Append(const std::string& log, std::string_view key,
                      std::string_view value) override {
    auto partition = task_->changelog_partition_.find(log);
    if (partition == task_->changelog_partition_.end()) {
      return absl::InternalError(absl::StrCat("no changelog ", log, " for this task"));
    }
    return task_->producer()->Produce(log, key, value, WallTicks() / kTicksPerMillisecond,
                                      &task_->tracker_, {}, partition->second);
  }

 private:
  PartitionTask* task_;
};

Worker::PartitionTask::PartitionTask(Worker* worker, JobRunner* job, TopicPartition tp, uint32_t id,
                                     int stage)
    : worker_(worker), job_(job), tp_(std::move(tp)), id_(id), stage_(stage) {}

Worker::PartitionTask::~PartitionTask() = default;

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
  async_ = std::make_unique<AsyncCheckpoints>(checkpoints_.get(), &tracker_, kCheckpointTimeoutMs);
  changelog_out_ = std::make_unique<KafkaChangelogWriter>(this);

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

absl::Status Worker::PartitionTask::Checkpoint(bool wait) {
  if (task_ == nullptr || position_ < 0 || failed_.load()) return absl::OkStatus();
  wait = wait || txn_ != nullptr;
  if (async_->in_flight()) {
    // The next request takes one; unless this one must wait for its own.
    if (!wait) return absl::OkStatus();
    if (absl::Status s = FinishCheckpoint(); !s.ok()) return s;
  }
  if (FailpointHit("task.checkpoint")) {
    return absl::UnavailableError("the failpoint task.checkpoint failed this checkpoint");
  }
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
  std::vector<int64_t> receiver_parts(entries_.size(), 0);
  for (size_t e = 0; e < entries_.size(); ++e) {
    if (absl::Status s =
            CheckpointReceiver(*entries_[e].receiver, task_->meta_table(), entries_[e].meta_key,
                               entries_[e].parts, batch, &receiver_parts[e]);
        !s.ok()) {
      return s;
    }
  }
  // The changes go to their operators' changelogs and the batch to the
  // local store; the markers follow once Kafka has the changes
  // (AdvanceCheckpoint), while the task goes on.
  if (absl::Status s = async_->Start(id, batch, position_, changelog_out_.get(),
                                     WallTicks() / kTicksPerMillisecond);
      !s.ok()) {
    return s;
  }
  for (size_t e = 0; e < entries_.size(); ++e) entries_[e].parts = receiver_parts[e];
  return wait ? FinishCheckpoint() : absl::OkStatus();
}

absl::Status Worker::PartitionTask::AdvanceCheckpoint() {
  auto done = async_->Advance(WallTicks() / kTicksPerMillisecond);
  if (!done.ok()) return done.status();
  if (!done->has_value()) return absl::OkStatus();
  const int64_t position = (*done)->position;
  if (txn_) {
    // Outputs, exchange rows, changelog and the input position in one
    // transaction: all visible to read_committed readers, or none. Nothing
    // was produced since the checkpoint started (Checkpoint waits).
    auto group = job_->consumer()->GroupMetadata();
    absl::Status s = txn_->CommitTransaction({{tp_, position}}, group.get(), 60'000);
    if (absl::IsAborted(s)) txn_->AbortTransaction(30'000).IgnoreError();
    if (!s.ok()) return s;
    if (absl::Status b = txn_->BeginTransaction(); !b.ok()) return b;
  }
  // The checkpoint is complete: sinks that staged their rows publish them,
  // and its position is the one to resume from and to commit.
  if (absl::Status s = task_->CommitSinks(); !s.ok()) return s;
  absl::MutexLock lock(&commit_mu_);
  durable_ = position;
  return absl::OkStatus();
}

absl::Status Worker::PartitionTask::FinishCheckpoint() {
  while (async_->in_flight()) {
    if (absl::Status s = AdvanceCheckpoint(); !s.ok()) return s;
    if (async_->in_flight()) std::this_thread::sleep_for(std::chrono::microseconds(500));
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

std::string Worker::PartitionTask::error() {
  absl::MutexLock lock(&error_mu_);
  return error_;
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

void Worker::PartitionTask::Process() {
  records_.clear();
  if (auto read = source_->Read(SIZE_MAX, &records_); !read.ok()) {
    Fail(read.status());
    return;
  }
  if (records_.empty()) return;
  if (absl::Status s = driver_->Push(*task_, records_); !s.ok()) Fail(s);
  if (failed_.load()) return;
  position_ = records_.back().position + 1;
  next_offset_.store(position_);
}

Worker::PartitionTask::Entry* Worker::PartitionTask::EntryOf(int exchange) {
  // An untagged record belongs to the stage's only exchange.
  if (exchange < 0) return entries_.size() == 1 ? &entries_[0] : nullptr;
  for (Entry& entry : entries_) {
    if (entry.node == exchange) return &entry;
  }
  return nullptr;
}

void Worker::PartitionTask::ReleaseExchange(Entry& entry) {
  ExchangeReceiver& receiver = *entry.receiver;
  if (receiver.watermark() <= receiver.released()) return;
  Batch ready = receiver.TakeReady();
  TaskMetrics::Add(task_->metrics().events_in, ready.num_rows);
  absl::Status s = task_->PushExchange(entry.node, ready);
  if (s.ok()) s = task_->AdvanceExchange(entry.node, receiver.released());
  if (!s.ok()) Fail(s);
}

// A later stage: repartition records from the tasks of the stage before,
// merged by the receiver and released to the plan as its watermark (the
// slowest sender's) passes them.
void Worker::PartitionTask::ProcessExchange() {
  records_.clear();
  if (auto read = source_->Read(SIZE_MAX, &records_); !read.ok()) {
    Fail(read.status());
    return;
  }
  for (const SourceRecord& r : records_) {
    ExchangeRecord record;
    bool ok = DecodeExchangeRecord(r.data, &record);
    Entry* entry = ok ? EntryOf(record.exchange) : nullptr;
    ok = entry != nullptr;
    if (ok && record.kind == ExchangeRecord::Kind::kRow) {
      ok = entry->receiver->AddRow(record.sender, record.seq, r.position, record.row);
    } else if (ok) {
      entry->receiver->SetWatermark(record.sender, record.watermark);
    }
    if (!ok) {
      TaskMetrics::Add(task_->metrics().rejected, 1);
      if (absl::Status s =
              DeadLetter("malformed repartition record", tp_.topic, tp_.partition, r.position, "");
          !s.ok()) {
        Fail(s);
      }
    }
  }
  for (Entry& entry : entries_) {
    if (!failed_.load()) ReleaseExchange(entry);
  }
  if (failed_.load() || records_.empty()) return;
  position_ = records_.back().position + 1;
  next_offset_.store(position_);
}

absl::Status Worker::PartitionTask::DeadLetter(std::string_view reason, const std::string& topic,
                                               int32_t partition, int64_t offset,
                                               std::string_view data) {
  const LoadedJob& job = job_->job();
  const std::string value =
      DeadLetterValue(job.spec.name(), reason, topic, partition, offset, data);
  const std::vector<KafkaHeader> headers = DeadLetterHeaders(reason, topic, partition, offset);
  const int64_t now_ms = WallTicks() / kTicksPerMillisecond;
  return producer()->Produce(job.dead_letter_topic, "", value, now_ms, &tracker_, headers);
}

}  // namespace sluice

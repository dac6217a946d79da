#include "engine/exec/staged_job.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace sluice {

class StagedJob::Outbox final : public ExchangeSender {
 public:
  Outbox(StagedJob* job, int sender) : job_(job), sender_(sender) {}

  absl::Status SendRows(int node, const Batch& batch, const std::vector<uint32_t>& rows,
                        const std::vector<uint64_t>& hashes) override {
    auto& queues = job_->queues_[node];
    const int n = static_cast<int>(queues.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      Message m{kBeginningOfTime, {}};
      EncodeExchangeRow(batch, rows[i], &m.row);
      queues[ExchangePartition(hashes[i], n)][sender_].push_back(std::move(m));
    }
    sent_ += static_cast<int64_t>(rows.size());
    return absl::OkStatus();
  }

  absl::Status SendWatermark(int node, int64_t watermark) override {
    for (auto& by_sender : job_->queues_[node]) {
      by_sender[sender_].push_back(Message{watermark, {}});
    }
    return absl::OkStatus();
  }

  int64_t sent() const { return sent_; }

 private:
  StagedJob* job_;
  int sender_;
  int64_t sent_ = 0;
};

StagedJob::~StagedJob() = default;

int StagedJob::StagePartitions(int stage) const {
  if (stage == 0) return partitions_;
  for (const v1::Node& node : plan_.nodes()) {
    if (node.has_exchange() && node.exchange().to_stage() == stage &&
        node.exchange().keys_size() > 0) {
      return partitions_;
    }
  }
  return 1;
}

absl::StatusOr<std::unique_ptr<StagedJob>> StagedJob::Create(const v1::Plan& plan, int partitions,
                                                             const TaskEnvironment& base) {
  if (partitions < 1) return absl::InvalidArgumentError("a job needs at least one partition");
  std::unique_ptr<StagedJob> job(new StagedJob(plan, partitions, base));
  const int stages = std::max(plan.stages(), 1);
  job->queues_.resize(plan.nodes_size());
  for (const v1::Node& node : plan.nodes()) {
    if (!node.has_exchange()) continue;
    job->queues_[node.id()].assign(
        job->StagePartitions(node.exchange().to_stage()),
        std::vector<std::vector<Message>>(job->StagePartitions(node.stage())));
  }
  job->stages_.resize(stages);
  for (int s = 0; s < stages; ++s) {
    const int n = job->StagePartitions(s);
    for (int p = 0; p < n; ++p) {
      StageTask st;
      st.outbox = std::make_shared<Outbox>(job.get(), p);
      auto task = Task::Create(job->plan_, job->EnvironmentOf(s, p, st.outbox.get()));
      if (!task.ok()) return task.status();
      st.task = *std::move(task);
      job->stages_[s].push_back(std::move(st));
    }
  }
  return job;
}

TaskEnvironment StagedJob::EnvironmentOf(int s, int p, ExchangeSender* outbox) const {
  TaskEnvironment env = base_;
  env.stage = s;
  env.partition = s == 0 ? static_cast<uint32_t>(p) : (static_cast<uint32_t>(s) << 20) | p;
  env.exchange_sender = outbox;
  return env;
}

absl::Status StagedJob::RecreateSource(int p, bool fresh_state) {
  if (p < 0 || p >= partitions_) return absl::InvalidArgumentError("no such partition");
  StageTask& st = stages_[0][p];
  st.task.reset();
  TaskEnvironment env = EnvironmentOf(0, p, st.outbox.get());
  env.fresh_state = fresh_state;
  auto task = Task::Create(plan_, std::move(env));
  if (!task.ok()) return task.status();
  st.task = *std::move(task);
  return absl::OkStatus();
}

absl::Status StagedJob::EndSource(int p) { return stages_[0][p].task->EndOfInput(); }

absl::Status StagedJob::RunStage(int stage) {
  constexpr size_t kChunk = 4096;
  for (size_t d = 0; d < stages_[stage].size(); ++d) {
    Task* task = stages_[stage][d].task.get();
    for (int x : task->entry_exchanges()) {
      const v1::Node& node = plan_.nodes(x);
      auto& by_sender = queues_[x][d];
      ExchangeReceiver receiver(static_cast<int>(by_sender.size()),
                                static_cast<size_t>(node.schema().columns_size()));
      std::vector<size_t> next(by_sender.size(), 0);
      std::vector<int64_t> seq(by_sender.size(), 0);
      bool more = true;
      // Round-robin over the senders, as messages from several tasks would
      // interleave; the receiver's order does not depend on it.
      while (more) {
        more = false;
        for (size_t u = 0; u < by_sender.size(); ++u) {
          auto& queue = by_sender[u];
          const size_t end = std::min(queue.size(), next[u] + kChunk);
          for (; next[u] < end; ++next[u]) {
            Message& m = queue[next[u]];
            if (m.watermark == kBeginningOfTime) {
              if (!receiver.AddRow(static_cast<int>(u), seq[u]++, -1, m.row)) {
                return absl::InternalError("a malformed row crossed an exchange");
              }
            } else {
              receiver.SetWatermark(static_cast<int>(u), m.watermark);
            }
          }
          more = more || next[u] < queue.size();
          if (receiver.watermark() > receiver.released()) {
            Batch ready = receiver.TakeReady();
            if (absl::Status s = task->PushExchange(x, ready); !s.ok()) return s;
            if (absl::Status s = task->AdvanceExchange(x, receiver.released()); !s.ok()) {
              return s;
            }
          }
        }
      }
      for (auto& queue : by_sender) std::vector<Message>().swap(queue);
      // Whatever is left waits for a watermark that never came: the end of
      // the input is the end of time.
      receiver.SetWatermark(0, kEndOfTime);
      for (size_t u = 0; u < by_sender.size(); ++u) {
        receiver.SetWatermark(static_cast<int>(u), kEndOfTime);
      }
      Batch rest = receiver.TakeReady();
      if (absl::Status s = task->PushExchange(x, rest); !s.ok()) return s;
    }
    if (absl::Status s = task->EndOfInput(); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status StagedJob::Finish() {
  for (size_t s = 1; s < stages_.size(); ++s) {
    if (absl::Status st = RunStage(static_cast<int>(s)); !st.ok()) return st;
  }
  return absl::OkStatus();
}

int64_t StagedJob::exchanged_rows() const {
  int64_t n = 0;
  for (const auto& stage : stages_) {
    for (const StageTask& st : stage) n += st.outbox->sent();
  }
  return n;
}

std::vector<const TaskMetrics*> StagedJob::metrics() const {
  std::vector<const TaskMetrics*> all;
  for (const auto& stage : stages_) {
    for (const StageTask& st : stage) all.push_back(&st.task->metrics());
  }
  return all;
}

}  // namespace sluice

// StagedJob: a partitioned job inside one process.
//
// Stage 0 has a task per input partition, as a cluster would run it; each
// later stage (after an exchange) has a task per partition of that stage
// (one when its exchanges have no key). Exchanges are in-process: a stage-0
// task's exchange output is queued per receiving task, and Finish() then
// runs the later stages, each task merging its upstream queues with an
// ExchangeReceiver exactly as a task reading a repartition topic does.
// `sluice run --partitions N` uses it to compute what a cluster computes,
// and `sluice bench core` to measure it.
//
// Threads: each stage-0 task may be driven by its own thread (they share
// nothing but the sinks, which must then be thread-safe); Finish() runs on
// one thread after every stage-0 task is done.
#ifndef SLUICE_ENGINE_EXEC_STAGED_JOB_H_
#define SLUICE_ENGINE_EXEC_STAGED_JOB_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/exec/exchange.h"
#include "engine/exec/task.h"

namespace sluice {

class StagedJob {
 public:
  // `base` gives the registry, store, job name, sinks, error output and
  // cache size; partition ids and stages are set per task.
  static absl::StatusOr<std::unique_ptr<StagedJob>> Create(const v1::Plan& plan, int partitions,
                                                           const TaskEnvironment& base);
  ~StagedJob();

  int partitions() const { return partitions_; }
  // The stage-0 task of input partition `p`: push its input here.
  Task* source_task(int p) { return stages_[0][p].task.get(); }

  // Replaces stage-0 task `p` with a new one over the store (what a
  // worker taking over the partition does), keeping what it sent through
  // its exchanges; with `fresh_state` the new task first clears the old
  // one's state. Call from the thread that drives the partition.
  absl::Status RecreateSource(int p, bool fresh_state);

  // Ends the input of stage-0 task `p` (its windows close). Call once per
  // partition, from the thread that drives it.
  absl::Status EndSource(int p);

  // Runs every later stage to its end. Call after EndSource for all.
  absl::Status Finish();

  // Rows that crossed exchanges, for reports.
  int64_t exchanged_rows() const;

  // Counters of every task.
  std::vector<const TaskMetrics*> metrics() const;

 private:
  // What one task sent through one exchange to one receiving task, in order.
  struct Message {
    int64_t watermark;  // kBeginningOfTime for a row
    std::string row;    // encoded (EncodeExchangeRow)
  };
  class Outbox;
  struct StageTask {
    std::shared_ptr<Outbox> outbox;  // shared_ptr: Outbox is complete only in the .cc
    std::unique_ptr<Task> task;
  };

  StagedJob(const v1::Plan& plan, int partitions, const TaskEnvironment& base)
      : plan_(plan), partitions_(partitions), base_(base) {}
  int StagePartitions(int stage) const;
  // The environment of stage `s`'s task `p`.
  TaskEnvironment EnvironmentOf(int s, int p, ExchangeSender* outbox) const;
  absl::Status RunStage(int stage);

  v1::Plan plan_;
  int partitions_;
  TaskEnvironment base_;
  std::vector<std::vector<StageTask>> stages_;  // [stage][partition]
  // queues_[exchange node][receiving partition][sending partition]
  std::vector<std::vector<std::vector<std::vector<Message>>>> queues_;
};

}  // namespace sluice

#endif  // SLUICE_ENGINE_EXEC_STAGED_JOB_H_

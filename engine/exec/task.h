// Task: one job running on one input partition.
//
// A task instantiates every node of the compiled plan as an operator and
// moves micro-batches through them depth-first, on one thread, with no
// locks: upstream nodes push to downstream ones through Emitters, and
// watermarks travel the same edges (a node with several inputs sees the
// minimum of their watermarks). Tasks never share mutable state; a worker
// runs many of them on a thread pool, `sluice run` runs one.
//
// The task owns its operators' state tables (in the shared StateStore) and a
// metadata table where its driver keeps input positions, so that
// Checkpoint() captures everything needed to resume in one atomic write.
#ifndef SLUICE_ENGINE_EXEC_TASK_H_
#define SLUICE_ENGINE_EXEC_TASK_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/core/batch.h"
#include "engine/exec/operator.h"
#include "engine/exec/operator_registry.h"
#include "engine/exec/task_metrics.h"
#include "engine/state/state_store.h"
#include "proto/plan.pb.h"

namespace sluice {

struct TaskEnvironment {
  const OperatorRegistry* registry = nullptr;
  StateStore* store = nullptr;
  std::string job_name;
  uint32_t partition = 0;
  // One sink per plan output, by index.
  std::vector<Sink*> sinks;
  // The job's error output.
  std::function<absl::Status(const RejectedRow&)> reject;
  size_t state_cache_bytes = size_t{256} << 20;
  // Drop whatever state the store holds for this task before starting.
  bool fresh_state = false;
  // -1: the task runs every stage of the plan (exchanges pass rows
  // through). Otherwise it runs the nodes of this stage: stage 0 reads the
  // inputs, later stages read what exchanges receive (PushExchange), and
  // the stage's own exchanges send through `exchange_sender`.
  int stage = -1;
  ExchangeSender* exchange_sender = nullptr;
  // Reference data (JOIN with a reference input); shared, may be null when
  // the plan has none.
  const ReferenceProvider* references = nullptr;
};

class Task {
 public:
  static absl::StatusOr<std::unique_ptr<Task>> Create(const v1::Plan& plan, TaskEnvironment env);
  ~Task();

  // Feeds a batch read from plan input `input` (decoded into that input's
  // columns).
  absl::Status Push(int input, const Batch& batch);

  // End of every input: advances all watermarks to the end of time, which
  // closes every open window, then finishes the operators and flushes and
  // commits the sinks.
  absl::Status EndOfInput();

  // Declares that plan input `input` will never deliver anything (this task
  // does not carry it): its watermark jumps to the end of time.
  absl::Status EndInput(int input);

  // The exchange nodes that feed this task's stage (stage > 0).
  const std::vector<int>& entry_exchanges() const { return entry_exchanges_; }
  // Rows and watermarks received through exchange node `node`.
  absl::Status PushExchange(int node, const Batch& batch);
  absl::Status AdvanceExchange(int node, int64_t watermark);

  // Lets wall-clock time advance idle inputs' watermarks (streaming).
  absl::Status Tick(int64_t wall_now);

  // State held by the operators: in memory (caches, buffers; call on the
  // task's thread) and in the state store (RocksDB's estimate; any thread).
  size_t MemoryStateBytes() const;
  int64_t StoredStateBytes() const;

  // Writes every operator's state into `batch` and flushes the sinks. The
  // caller adds its input positions (meta_table()) and commits the batch.
  absl::Status Checkpoint(StateWriteBatch& batch);
  // The checkpoint whose Checkpoint() flushed the sinks is complete:
  // commits every sink (Sink::Commit). EndOfInput commits by itself.
  absl::Status CommitSinks();

  // A table for the driver's own bookkeeping (input positions).
  const StateTable& meta_table() const { return meta_table_; }

  TaskMetrics& metrics() { return metrics_; }
  const v1::Plan& plan() const { return plan_; }

 private:
  struct Node;
  class NodeEmitter;
  class NodeContext;

  Task(const v1::Plan& plan, TaskEnvironment env);
  absl::Status Build();
  // Refuses checkpointed state written under another layout version.
  absl::Status CheckStateVersion(int node, const StateSpec& spec);
  absl::Status DeliverBatch(int node, int port, const Batch& batch);
  absl::Status DeliverWatermark(int node, int port, int64_t watermark);

  v1::Plan plan_;
  TaskEnvironment env_;
  TaskMetrics metrics_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<std::vector<int>> source_nodes_;  // by plan input
  std::vector<int> entry_exchanges_;
  StateTable meta_table_;
  // (meta key, version) of every declared state table; written with the
  // first checkpoint.
  std::vector<std::pair<std::string, std::string>> versions_;
  bool versions_written_ = false;
};

}  // namespace sluice

#endif  // SLUICE_ENGINE_EXEC_TASK_H_

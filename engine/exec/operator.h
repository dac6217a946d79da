// The runtime side of a plan node.
//
// An Operator is built from an immutable plan node (proto) by the
// OperatorRegistry and owns the mutable state of one node in one task. It is
// pushed micro-batches and watermarks in order, on the task's thread, and
// pushes its results to an Emitter. Operators declare the state they keep;
// the task opens a state table for each declaration and hands it over in
// Open(), so checkpoints and restores work the same for every operator.
//
// Lifecycle (one thread, the task's):
//   DeclareState() -> Open() -> { ProcessBatch() | ProcessWatermark() |
//   Checkpoint() }* -> Finish()
#ifndef SLUICE_ENGINE_EXEC_OPERATOR_H_
#define SLUICE_ENGINE_EXEC_OPERATOR_H_

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "engine/core/batch.h"
#include "engine/exec/reference_data.h"
#include "engine/exec/task_metrics.h"
#include "engine/state/state_store.h"

namespace sluice {

class ExchangeSender;

// The watermark that closes everything: end of input.
inline constexpr int64_t kEndOfTime = std::numeric_limits<int64_t>::max();
// The watermark before any event.
inline constexpr int64_t kBeginningOfTime = std::numeric_limits<int64_t>::min();

// An event the job could not process, for its error output.
struct RejectedRow {
  RowOrigin origin;
  std::string reason;
  std::string data;  // the raw event when the source still has it
};

// Receives what an operator produces. Implemented by the task, which routes
// batches and watermarks downstream and rejected rows to the error output.
class Emitter {
 public:
  virtual ~Emitter() = default;
  virtual absl::Status Emit(const Batch& batch) = 0;
  // Promises that every later row has a timestamp >= `watermark`.
  virtual absl::Status EmitWatermark(int64_t watermark) = 0;
  virtual absl::Status Reject(RejectedRow row) = 0;
};

// A piece of state an operator keeps, named so that explain can show it and
// so that it maps to one state table. The task opens the declared tables
// before Open(); asking OperatorContext::table() for any other name fails
// the task at start. `version` names the table's key and value layout: a
// change to it must bump the version, and a task whose checkpointed state
// was written under another version refuses to start rather than misread it.
struct StateSpec {
  std::string name;         // e.g. "windows"; unique within the operator
  std::string description;  // e.g. "accumulators per (window end, key)"
  int version = 1;
};

// One formatted output row, handed to a sink.
struct OutputRow {
  std::string_view key;   // the group key as text; empty for ungrouped rows
  std::string_view json;  // the row as a JSON object
  int64_t timestamp;      // System.Timestamp() of the row
  // The input position (e.g. Kafka offset) of the event the row came from,
  // for rows that come from one event; -1 for aggregates.
  int64_t position = -1;
  // Rows of stream joins: the first side's event and the others'
  // (Batch::paired), which name the row for its identity; null otherwise.
  const RowOrigin* origin = nullptr;
  const JoinedOrigins* paired = nullptr;
};

// Where a job output goes (file, stdout, Kafka topic; the kinds are in a
// SinkRegistry, engine/runtime/sink_registry.h). Owned by the task's
// environment; called on the task thread.
//
// The commit phase: rows are written, then at each checkpoint (and at the
// end of input) Flush prepares them, making everything written so far
// durable or staged; once the checkpoint is complete (its state, input
// positions and changelog durable) Commit is called. A sink that stages
// (a transaction) makes the rows visible in Commit; if the task fails
// between the two, Commit never comes and the replay writes the rows
// again, so such a sink must drop or replace what it staged when it is
// opened again. Sinks that make rows visible at once (and drop a replay's
// copies by row identity) need no Commit.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual absl::Status Write(const std::vector<OutputRow>& rows) = 0;
  // Prepares everything written so far: durable, or staged for Commit.
  virtual absl::Status Flush() = 0;
  // Everything flushed so far is covered by a complete checkpoint (or the
  // input ended): a staging sink publishes it.
  virtual absl::Status Commit() { return absl::OkStatus(); }
};

// Everything an operator may touch besides its input. Owned by the task.
class OperatorContext {
 public:
  virtual ~OperatorContext() = default;
  // The table opened for the declared state `name`. For a name the
  // operator did not declare: a handle that names no table (its reads and
  // writes fail), and the task fails to start if Open() asked for it.
  virtual const StateTable& table(std::string_view name) const = 0;
  // Writes state immediately (cache eviction under memory pressure).
  virtual absl::Status CommitState(StateWriteBatch& batch) = 0;
  // The sink bound to plan output `index`.
  virtual Sink* sink(int index) = 0;
  virtual TaskMetrics& metrics() = 0;
  // How many bytes of state the operator may keep in memory before it
  // writes entries back to the state store and drops them.
  virtual size_t state_cache_bytes() const = 0;
  // Plan input names, for messages.
  virtual std::string_view input_name(int index) const = 0;
  // The operator's plan node id.
  virtual int node_id() const = 0;
  // For an exchange node on the sending side of a task that runs one stage
  // of a partitioned job: where its rows go. Null otherwise.
  virtual ExchangeSender* exchange_sender() { return nullptr; }
  // The current versions of reference input `input` (a plan input index);
  // null when the runtime has none loaded for it.
  virtual std::shared_ptr<const ReferenceVersions> reference(int input) const {
    (void)input;
    return nullptr;
  }
};

class Operator {
 public:
  virtual ~Operator() = default;

  virtual std::vector<StateSpec> DeclareState() const { return {}; }

  // Called once before any input. Restores state from the tables when they
  // hold a checkpoint.
  virtual absl::Status Open(OperatorContext& ctx) {
    ctx_ = &ctx;
    return absl::OkStatus();
  }

  // `port` is the index of the input edge (0 unless the node has several).
  virtual absl::Status ProcessBatch(int port, const Batch& batch, Emitter& out) = 0;

  // Called when the minimum watermark over all inputs advances.
  virtual absl::Status ProcessWatermark(int64_t watermark, Emitter& out) {
    return out.EmitWatermark(watermark);
  }

  // Puts everything needed to resume after a restart into `batch`.
  virtual absl::Status Checkpoint(StateWriteBatch& batch) {
    (void)batch;
    return absl::OkStatus();
  }

  // End of input, after the final watermark.
  virtual absl::Status Finish(Emitter& out) {
    (void)out;
    return absl::OkStatus();
  }

  // Wall-clock time passes (streaming only): operators that move time
  // forward while their input is idle do it here. `wall_now` is in ticks.
  virtual absl::Status OnTick(int64_t wall_now, Emitter& out) {
    (void)wall_now;
    (void)out;
    return absl::OkStatus();
  }

  // Bytes of state the operator holds in memory (caches, buffers): an
  // estimate for status reports.
  virtual size_t MemoryBytes() const { return 0; }

 protected:
  OperatorContext* ctx_ = nullptr;
};

struct RowError;

// Reports every row that failed during expression evaluation (errors in
// `errors`, possibly several per row) to `out`, once per row, and returns the
// failed physical rows in ascending order.
// Rows without an origin (the output of an aggregation) are described by
// their values, formatted with `describe` when given.
class RowJsonWriter;
absl::Status RejectFailedRows(const Batch& batch, const std::vector<RowError>& errors, Emitter& out,
                              std::vector<uint32_t>* failed,
                              const RowJsonWriter* describe = nullptr);

// A copy of `batch` whose selection is `rows` (ascending physical rows).
Batch WithSelection(const Batch& batch, std::vector<uint32_t> rows);

}  // namespace sluice

#endif  // SLUICE_ENGINE_EXEC_OPERATOR_H_

// `sluice run`'s engine room (internal to engine/app): a job over local
// JSON-lines files, bound and ready, run as one task with checkpoints and
// restarts (local_run.cc) or as a cluster would run it over N partitions
// (local_run_partitioned.cc). run_command.cc parses the command line and
// builds the LocalRun.
#ifndef SLUICE_ENGINE_APP_LOCAL_RUN_H_
#define SLUICE_ENGINE_APP_LOCAL_RUN_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "connectors/file_sink.h"
#include "connectors/json_decoder.h"
#include "connectors/json_lines_file.h"
#include "engine/exec/operator_registry.h"
#include "engine/exec/task.h"
#include "engine/runtime/async_checkpoints.h"
#include "engine/state/state_store.h"
#include "proto/plan.pb.h"

namespace sluice::local_run {

// Prints "sluice run: <message>" and returns `code`.
int Fail(const std::string& message, int code = 1);

// Writes rejected events as JSON lines: input, line (or element), reason,
// and the raw event when it is still at hand.
class ErrorOutput {
 public:
  explicit ErrorOutput(std::unique_ptr<JsonLinesSink> sink) : sink_(std::move(sink)) {}
  absl::Status Write(std::string_view input, bool array_mode, int64_t position,
                     std::string_view reason, std::string_view data);
  absl::Status Flush() { return sink_->Flush(); }
  int64_t count() const { return count_; }

 private:
  std::unique_ptr<JsonLinesSink> sink_;
  int64_t count_ = 0;
};

struct InputBinding {
  std::string alias;
  std::string path;
  std::unique_ptr<JsonLinesFile> file;
  std::unique_ptr<JsonDecoder> decoder;
  bool by_arrival = false;  // some step reads it without TIMESTAMP BY
  bool done = false;
};

// A directory under $TMPDIR (or /tmp), removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }  // empty: not created

 private:
  std::string path_;
};

// What the command line decided.
struct RunSettings {
  uint32_t batch_size = 1024;
  int64_t checkpoint_every = 0;  // events; 0: only at the end
  int64_t restart_after = 0;     // events; 0: no restart
  int partitions = 0;            // 0: one task over the whole input
  uint64_t cache_mb = 256;
  std::string arrival_field;
  std::string state_dir;  // never empty once bound
  std::string out_dir;
  bool quiet = false;
};

// A job bound to its files, outputs and state.
struct LocalRun {
  RunSettings settings;
  v1::Plan plan;
  std::vector<InputBinding> inputs;                   // by plan input
  std::vector<std::unique_ptr<JsonLinesSink>> sinks;  // by plan output
  std::unique_ptr<ErrorOutput> errors;
  OperatorRegistry registry;
  std::unique_ptr<StateStore> store;
  // Registry, store, sinks and cache size; the reject callback is each
  // runner's (it knows where an event came from).
  TaskEnvironment env;
};

// One task's checkpoints, by the worker's protocol
// (engine/runtime/checkpoint_protocol.h), over a changelog in memory that
// a restart rebuilds the task's state from. The task's input positions
// are kept in its metadata table.
class LocalCheckpoints {
 public:
  LocalCheckpoints(LocalRun& run, uint32_t partition, InMemoryChangelog* log);

  // A checkpoint of `task` at `positions` (by input). Unless `keep_log`,
  // the changes go nowhere: no restart will read them, and memory does not
  // grow with them. Commits the task's sinks once it is complete.
  absl::Status Checkpoint(Task& task, const std::vector<int64_t>& positions, bool keep_log);
  // What a worker taking over the partition with an empty local store
  // does: `wipe` clears the task's state (creates it with fresh_state),
  // then the latest complete checkpoint is rebuilt from the changelog
  // (an error if there is none there). A new incarnation follows.
  absl::Status RestoreFromLog(const std::function<absl::Status()>& wipe);
  // The positions `task` checkpointed (by input; 0 where none).
  static absl::StatusOr<std::vector<int64_t>> Positions(const Task& task, size_t inputs);

 private:
  void NewIncarnation();

  LocalRun& run_;
  const uint32_t partition_;
  InMemoryChangelog* log_;
  std::unique_ptr<CheckpointProtocol> protocol_;
  ImmediateEpochs epochs_;
  std::unique_ptr<AsyncCheckpoints> async_;
  uint64_t incarnation_ = 0;
};

// Opens (again, after a restart) every input's file and decoder.
absl::Status OpenInputs(LocalRun& run);
// "a 3 rows, b 1 row"
std::string OutputsSummary(const LocalRun& run);
// Prints where the rejected events are, if there are any.
void ReportRejects(const LocalRun& run);

// One task over every input; checkpoints every --checkpoint-every events
// and, with --restart-after, restores from the changelog into an empty
// store half-way, as a worker taking over the partition does.
int RunOneTask(LocalRun& run);
// `--partitions N`: each input split by its partition key as Kafka's
// default partitioner splits a topic keyed by it, a task per partition,
// in-process exchanges between stages.
int RunPartitioned(LocalRun& run);

}  // namespace sluice::local_run

#endif  // SLUICE_ENGINE_APP_LOCAL_RUN_H_

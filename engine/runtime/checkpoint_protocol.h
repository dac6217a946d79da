// CheckpointProtocol: how a task's state becomes durable in its changelogs
// and comes back, the same for the worker (Kafka) and `sluice run` (a log in
// memory). design.md, "State and recovery".
//
// A checkpoint is named by its number and the incarnation of the task that
// took it (CheckpointId). Taking one:
//   1. Begin: the next id goes into the checkpoint's write batch (the task's
//      meta table), with everything the operators and the driver put there.
//   2. WriteChanges: every change of the batch, to the changelog of its
//      state family (engine/state/changelog_record.h).
//   3. once the log has acknowledged them: WriteMarkers, a marker in every
//      changelog of the task. Only then is the checkpoint complete.
//   4. the caller commits the batch to the local store; Completed.
// Restoring: the latest checkpoint whose marker is in every changelog is
// the one; if the local store holds it already nothing is read into it,
// else the task's state is wiped and rebuilt from that checkpoint's changes
// (and the ones before it). Changes under a number that a task which died
// before its markers left are told apart by their incarnation and ignored.
//
// The logs are small interfaces: Kafka implements them in the worker, and
// InMemoryChangelog serves `sluice run` and the tests.
#ifndef SLUICE_ENGINE_RUNTIME_CHECKPOINT_PROTOCOL_H_
#define SLUICE_ENGINE_RUNTIME_CHECKPOINT_PROTOCOL_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/state/state_store.h"

namespace sluice {

struct CheckpointId {
  int64_t number = 0;
  uint64_t incarnation = 0;
  bool operator==(const CheckpointId& o) const {
    return number == o.number && incarnation == o.incarnation;
  }
};

// Where a task's checkpoint records go: one log per changelog, the task's
// own partition of it.
class ChangelogWriter {
 public:
  virtual ~ChangelogWriter() = default;
  virtual absl::Status Append(const std::string& log, std::string_view key,
                              std::string_view value) = 0;
};

// Reads back every record of the task's partition of each log, in order. A
// log that does not exist reads as empty.
class ChangelogReader {
 public:
  using RecordFn =
      std::function<void(const std::string& log, std::string_view key, std::string_view value)>;
  virtual ~ChangelogReader() = default;
  virtual absl::Status ReadAll(const std::vector<std::string>& logs, const RecordFn& fn) = 0;
};

// Both, in memory: for `sluice run` and for tests (which can also tamper
// with the records).
class InMemoryChangelog final : public ChangelogWriter, public ChangelogReader {
 public:
  using Records = std::vector<std::pair<std::string, std::string>>;
  absl::Status Append(const std::string& log, std::string_view key,
                      std::string_view value) override {
    logs_[log].emplace_back(std::string(key), std::string(value));
    return absl::OkStatus();
  }
  absl::Status ReadAll(const std::vector<std::string>& logs, const RecordFn& fn) override {
    for (const std::string& log : logs) {
      auto it = logs_.find(log);
      if (it == logs_.end()) continue;
      for (const auto& [key, value] : it->second) fn(log, key, value);
    }
    return absl::OkStatus();
  }
  Records& records(const std::string& log) { return logs_[log]; }
  // What a compacted topic's cleaner leaves: the last record of each key,
  // in log order (tests use it to prove restores from compacted logs).
  void Compact() {
    for (auto& [log, records] : logs_) {
      std::map<std::string, size_t> last;
      for (size_t i = 0; i < records.size(); ++i) last[records[i].first] = i;
      Records kept;
      for (size_t i = 0; i < records.size(); ++i) {
        if (last[records[i].first] == i) kept.push_back(std::move(records[i]));
      }
      records = std::move(kept);
    }
  }
  size_t size() const {
    size_t n = 0;
    for (const auto& [log, records] : logs_) n += records.size();
    return n;
  }

 private:
  std::map<std::string, Records> logs_;
};

class CheckpointProtocol {
 public:
  struct Options {
    StateStore* store = nullptr;
    // The task's key prefix and the family of its meta table
    // ("<job>/task"), where the protocol keeps the id of the checkpoint the
    // local store holds.
    std::string task_prefix;
    std::string meta_family;
    // Tells this task's checkpoints from those of its earlier lives.
    uint64_t incarnation = 0;
    // Every changelog of the task, and the one each state family's changes
    // go to (null: the family is not logged).
    std::vector<std::string> logs;
    std::function<const std::string*(std::string_view family)> log_of;
  };

  struct Restored {
    std::optional<CheckpointId> checkpoint;  // none: the task never checkpointed
    bool from_log = false;                   // rebuilt from the changelog (else the store had it)
    int64_t changes = 0;                     // changes applied from the log
  };

  explicit CheckpointProtocol(Options options) : options_(std::move(options)) {}

  // Finds the latest complete checkpoint and brings the local store to it.
  // `wipe` clears the task's state in the store (every table it declares)
  // before a rebuild. Sets the number the next checkpoint follows.
  absl::StatusOr<Restored> Restore(ChangelogReader& in, const std::function<absl::Status()>& wipe);

  // Step 1: the next checkpoint's id, recorded in `batch` under the meta
  // table `meta`.
  CheckpointId Begin(StateWriteBatch& batch, const StateTable& meta);
  // Step 2: the batch's changes, to their changelogs. The first
  // checkpoint after a restore also writes, before them, the current value
  // (or a delete) of every key that changes of an incomplete checkpoint
  // left in the log: on a compacted topic such a change may be the only
  // record of its key that remains, and the restore skips it, so the key's
  // complete value must be written again.
  absl::Status WriteChanges(const CheckpointId& id, const StateWriteBatch& batch,
                            ChangelogWriter& out);
  // Step 3: the markers that complete it.
  absl::Status WriteMarkers(const CheckpointId& id, ChangelogWriter& out);
  // Step 4, after the batch is committed locally.
  void Completed(const CheckpointId& id) {
    last_number_ = id.number;
    orphans_.clear();
  }

  int64_t last_number() const { return last_number_; }
  const Options& options() const { return options_; }

  // The meta-table key of the local checkpoint's id.
  static constexpr char kIdKey[] = "checkpoint";

 private:
  const std::string* LogOfFamily(uint32_t family);

  Options options_;
  int64_t last_number_ = 0;
  std::map<uint32_t, std::pair<std::string, const std::string*>> families_;  // id -> name, log
  // (family, key) of the changes the restore skipped (an incomplete
  // checkpoint's), to be written again by the next checkpoint.
  std::set<std::pair<std::string, std::string>> orphans_;
};

}  // namespace sluice

#endif  // SLUICE_ENGINE_RUNTIME_CHECKPOINT_PROTOCOL_H_

// The window aggregate operator's class and the pieces its files share;
// internal to operators/ (MakeWindowAggregateOperator in builtin_operators.h
// is the way in). window_aggregate_operator.cc holds what every window kind
// does and the fixed windows (tumbling, hopping); window_aggregate_buffered.cc
// the buffered kinds (sliding, session) and their incremental checkpoints.
#ifndef SLUICE_OPERATORS_WINDOW_AGGREGATE_INTERNAL_H_
#define SLUICE_OPERATORS_WINDOW_AGGREGATE_INTERNAL_H_

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "engine/core/value_codec.h"
#include "engine/exec/operator.h"
#include "engine/expr/expression.h"
#include "operators/aggregate_functions.h"
#include "operators/window_policy.h"

namespace sluice::window_aggregate_internal {

constexpr uint32_t kOutputBatchRows = 4096;

// The state blob of one group: every aggregate's state at its offset.
class AccumulatorLayout {
 public:
  explicit AccumulatorLayout(std::vector<std::unique_ptr<AggregateFunction>> fns)
      : fns_(std::move(fns)) {
    for (const auto& f : fns_) {
      offsets_.push_back(size_);
      size_ += f->state_size();
    }
    if (size_ == 0) size_ = 16;
  }

  ~AccumulatorLayout() {
    for (void* blob : free_) ::operator delete(blob, std::align_val_t(16));
  }

  // Blobs are recycled: a window closes and the next one opens with about as
  // many groups, so most allocations are a pop from the free list.
  void* New() {
    char* blob;
    if (!free_.empty()) {
      blob = static_cast<char*>(free_.back());
      free_.pop_back();
    } else {
      blob = static_cast<char*>(::operator new(size_, std::align_val_t(16)));
    }
    for (size_t j = 0; j < fns_.size(); ++j) fns_[j]->Init(blob + offsets_[j]);
    return blob;
  }
  void Free(void* blob) {
    char* p = static_cast<char*>(blob);
    for (size_t j = 0; j < fns_.size(); ++j) fns_[j]->Destroy(p + offsets_[j]);
    if (free_.size() < kMaxFreeBlobs) {
      free_.push_back(blob);
    } else {
      ::operator delete(blob, std::align_val_t(16));
    }
  }
  void Encode(const void* blob, std::string* out) const {
    const char* p = static_cast<const char*>(blob);
    for (size_t j = 0; j < fns_.size(); ++j) fns_[j]->Encode(p + offsets_[j], out);
  }
  bool Decode(std::string_view in, void* blob) const {
    char* p = static_cast<char*>(blob);
    for (size_t j = 0; j < fns_.size(); ++j) {
      if (!fns_[j]->Decode(&in, p + offsets_[j])) return false;
    }
    return in.empty();
  }
  Value Finalize(const void* blob, size_t j, Arena* arena) const {
    return fns_[j]->Finalize(static_cast<const char*>(blob) + offsets_[j], arena);
  }

  size_t size() const { return size_; }
  size_t count() const { return fns_.size(); }
  const AggregateFunction& fn(size_t j) const { return *fns_[j]; }
  size_t offset(size_t j) const { return offsets_[j]; }

 private:
  static constexpr size_t kMaxFreeBlobs = 1 << 16;

  std::vector<std::unique_ptr<AggregateFunction>> fns_;
  std::vector<size_t> offsets_;
  size_t size_ = 0;
  std::vector<void*> free_;
};

struct Group {
  void* acc = nullptr;
  uint32_t seq = 0;  // creation order within its window, for output order
  bool dirty = false;
  bool persisted = false;  // a version exists in the committed table
  bool in_spill = false;   // its newest stored version is in the spill table
};

using GroupMap = absl::flat_hash_map<std::string, Group>;

// One closed group, ready to become an output row. Rows leave ordered by
// time, then `order` (first appearance of the group; groups read back from
// the state store come after, by key), then key: the same input gives the
// same output in the same order.
struct ClosedGroup {
  int64_t timestamp;
  int64_t order;
  std::string key;
  const void* acc;
  int64_t low_position = -1;  // oldest input position behind it
};

// Folds `p` (-1: unknown) into a running minimum.
inline void KeepOldest(int64_t* oldest, int64_t p) {
  if (p >= 0 && (*oldest < 0 || p < *oldest)) *oldest = p;
}

class WindowAggregateOperator final : public Operator {
 public:
  WindowAggregateOperator(const v1::WindowAggregateNode& spec,
                          std::vector<std::unique_ptr<Expression>> keys,
                          std::vector<std::unique_ptr<Expression>> partition,
                          std::vector<std::unique_ptr<Expression>> args,
                          std::vector<std::unique_ptr<AggregateFunction>> fns)
      : spec_(spec),
        kind_(spec.window().kind()),
        fixed_(MakeFixedWindowPolicy(spec.window())),
        session_{spec.window().timeout_ticks(), spec.window().max_duration_ticks()},
        keys_(std::move(keys)),
        partition_(std::move(partition)),
        args_(std::move(args)),
        layout_(std::move(fns)),
        key_spans_(keys_.size()),
        partition_spans_(partition_.size()),
        coerced_(layout_.count()) {}

  ~WindowAggregateOperator() override {
    for (auto& [end, window] : windows_) FreeGroups(window.groups);
    for (auto& [key, session] : sessions_) FreeGroups(session.groups);
  }

  std::vector<StateSpec> DeclareState() const override;
  absl::Status Open(OperatorContext& ctx) override;
  absl::Status ProcessBatch(int port, const Batch& batch, Emitter& out) override;
  absl::Status ProcessWatermark(int64_t watermark, Emitter& out) override;
  absl::Status Checkpoint(StateWriteBatch& batch) override;
  size_t MemoryBytes() const override {
    size_t bytes = cached_bytes_;
    for (const BufferedRow& row : buffered_) {
      bytes += sizeof(BufferedRow) + row.key.size() + row.partition.size() + row.args.size();
    }
    return bytes;
  }

 private:
  struct Window {
    GroupMap groups;
    uint32_t next_seq = 0;
    bool spilled = false;       // some groups may be only in the state store (either table)
    int64_t low_position = -1;  // oldest input position folded into it
  };
  // A row of a sliding or session window waiting for the watermark.
  struct BufferedRow {
    int64_t timestamp;
    uint64_t seq;
    std::string key;
    std::string partition;
    std::string args;  // encoded coerced aggregate arguments
    int64_t position = -1;
  };
  struct SlidingEvent {
    int64_t timestamp;
    std::string args;
    int64_t position = -1;
  };
  struct Session {
    int64_t start;
    int64_t last;
    GroupMap groups;
    int64_t low_position = -1;
  };

  bool is_fixed() const { return fixed_ != nullptr; }

  void FreeGroups(GroupMap& groups) {
    for (auto& [k, g] : groups) layout_.Free(g.acc);
    groups.clear();
  }
  size_t EntryBytes(const std::string& key) const { return key.size() + layout_.size() + 64; }

  // Fixed windows.
  absl::StatusOr<Group*> FindOrCreate(int64_t end, Window& window, const std::string& key);
  absl::Status CloseFixedWindows(int64_t watermark, Emitter& out);
  absl::Status Spill();
  std::string WindowKey(int64_t end, std::string_view key) const {
    std::string k;
    AppendBigEndian64(end, &k);
    k.append(key);
    return k;
  }

  // Sliding and session windows.
  absl::Status SweepBuffered(int64_t watermark, Emitter& out);
  void Accumulate(GroupMap& groups, const std::string& key, std::string_view encoded_args);
  void EmitSlidingInstant(int64_t instant, const std::string& key, std::vector<ClosedGroup>* closed,
                          std::vector<void*>* to_free);
  void CloseSession(const std::string& partition, Session& session,
                    std::vector<ClosedGroup>* closed, std::vector<void*>* to_free, bool* erased);
  absl::Status RestoreBuffered(const StateTable& table);
  // Writes what changed since the last checkpoint.
  absl::Status CheckpointBuffered(StateWriteBatch& batch);

  // Builds output batches from closed groups (sorted by time, then key).
  absl::Status EmitClosed(std::vector<ClosedGroup>& closed, Emitter& out);

  const v1::WindowAggregateNode spec_;
  const v1::WindowSpec::Kind kind_;
  std::unique_ptr<FixedWindowPolicy> fixed_;
  const SessionPolicy session_;
  std::vector<std::unique_ptr<Expression>> keys_;
  std::vector<std::unique_ptr<Expression>> partition_;
  std::vector<std::unique_ptr<Expression>> args_;  // null for COUNT(*)
  AccumulatorLayout layout_;

  // Scratch, reused per batch.
  EvalContext eval_;
  std::vector<ValueSpan> key_spans_;
  std::vector<ValueSpan> partition_spans_;
  std::vector<std::vector<Value>> coerced_;
  std::vector<uint32_t> failed_;
  std::vector<void*> pair_accs_;
  std::vector<uint32_t> pair_rows_;
  std::vector<Value> pair_values_;
  std::vector<int64_t> ends_;

  // Fixed windows. A node-based map: cached_window_ must survive inserts.
  std::map<int64_t, Window> windows_;
  int64_t cached_end_ = kBeginningOfTime;
  Window* cached_window_ = nullptr;
  size_t cached_bytes_ = 0;
  size_t last_window_groups_ = 0;
  std::vector<int64_t> deleted_windows_;

  // Sliding and session windows.
  std::vector<BufferedRow> buffered_;
  uint64_t next_seq_ = 0;
  absl::flat_hash_map<std::string, std::deque<SlidingEvent>> sliding_;
  absl::btree_set<std::pair<int64_t, std::string>> instants_;
  absl::flat_hash_map<std::string, Session> sessions_;
  // What changed since the last checkpoint, which writes only that: rows
  // buffered from persisted_seq_ on are new; the others were stored, and
  // those released since are listed by (timestamp, seq). Sliding keys,
  // instants and session partitions are listed when touched; each is
  // written as it now stands, or deleted when gone.
  uint64_t persisted_seq_ = 0;
  std::vector<std::pair<int64_t, uint64_t>> released_;
  // Each touched entry maps to whether it was stored at the last checkpoint
  // (so one created and gone since is not written at all).
  absl::flat_hash_map<std::string, bool> touched_keys_;
  absl::btree_map<std::pair<int64_t, std::string>, bool> touched_instants_;
  absl::flat_hash_map<std::string, bool> touched_sessions_;
  // Set when the lists outgrow the state itself (a long run without
  // checkpoints): tracking stops and the next checkpoint rewrites it all.
  bool rewrite_all_ = false;
  static constexpr size_t kMinTracked = 4096;
  void BoundTracking() {
    if (rewrite_all_) return;
    const size_t tracked = released_.size() + touched_keys_.size() + touched_instants_.size() +
                           touched_sessions_.size();
    const size_t live = buffered_.size() + sliding_.size() + instants_.size() + sessions_.size();
    if (tracked <= std::max(kMinTracked, live)) return;
    rewrite_all_ = true;
    released_.clear();
    touched_keys_.clear();
    touched_instants_.clear();
    touched_sessions_.clear();
  }
};

}  // namespace sluice::window_aggregate_internal

#endif  // SLUICE_OPERATORS_WINDOW_AGGREGATE_INTERNAL_H_

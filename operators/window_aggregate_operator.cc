// Window aggregate: GROUP BY keys and a window, with aggregates, for every
// window kind (the kind is a policy, see window_policy.h).
//
// Per batch, the key expressions and aggregate arguments are evaluated
// column-wise, arguments are coerced (failures reject the row from every
// aggregate), and rows are either accumulated at once (fixed windows) or
// buffered until the watermark (sliding and session windows, which need
// their input in timestamp order).
//
// State lives in a write-back cache over the operator's state table:
//  - fixed windows: accumulators per (window end, group key), in memory
//    while hot; under memory pressure entries are written back and dropped,
//    and a window that lost entries is marked "spilled" so a miss reads the
//    store. Checkpoints write dirty entries; closed windows are deleted.
//  - sliding/session: buffered rows, per-key event lists or open sessions,
//    written whole at each checkpoint.
// Output rows (keys..., aggregates...) are stamped with their window end and
// emitted in (time, key) order, so a run's output never depends on hash
// order or on restarts.
#include <algorithm>
#include <deque>
#include <map>
#include <new>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "engine/core/value_codec.h"
#include "engine/expr/expression.h"
#include "operators/aggregate_functions.h"
#include "operators/builtin_operators.h"
#include "operators/window_policy.h"

namespace sluice {
namespace {

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
void KeepOldest(int64_t* oldest, int64_t p) {
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

std::vector<StateSpec> WindowAggregateOperator::DeclareState() const {
  switch (kind_) {
    case v1::WindowSpec::KIND_SLIDING:
      return {{"sliding",
               "per group key: the events of the last window length; rows "
               "waiting for the watermark",
               1}};
    case v1::WindowSpec::KIND_SESSION:
      return {{"sessions",
               "per partition key: the open session and its accumulators per "
               "group key; rows waiting for the watermark",
               1}};
    default:
      return {{"windows", "accumulators per (window end, group key), as of the last checkpoint", 1},
              {"spill",
               "accumulators written back under memory pressure since the last checkpoint; "
               "folded into 'windows' at the next checkpoint, dropped on restore",
               1}};
  }
}

absl::Status WindowAggregateOperator::Open(OperatorContext& ctx) {
  ctx_ = &ctx;
  if (!is_fixed()) {
    return RestoreBuffered(
        ctx.table(kind_ == v1::WindowSpec::KIND_SLIDING ? "sliding" : "sessions"));
  }
  // Entries written back after the last checkpoint reflect events that the
  // input will replay: drop them, so a restore sees exactly the checkpoint.
  StateWriteBatch discard;
  discard.DeletePrefix(ctx.table("spill"), "");
  if (absl::Status s = ctx.CommitState(discard); !s.ok()) return s;
  // Every window with entries in the store is open; its groups load lazily.
  return ctx.table("windows").Scan("", [&](std::string_view key, std::string_view) {
    if (key.size() >= 8) windows_[ReadBigEndian64(key.substr(0, 8))].spilled = true;
    return true;
  });
}

absl::StatusOr<Group*> WindowAggregateOperator::FindOrCreate(int64_t end, Window& window,
                                                             const std::string& key) {
  auto it = window.groups.find(key);
  if (it != window.groups.end()) return &it->second;
  Group g;
  g.acc = layout_.New();
  if (window.spilled) {
    // The newest version: written back since the checkpoint, else committed.
    std::string stored;
    const std::string full_key = WindowKey(end, key);
    bool found = false;
    for (const char* table : {"spill", "windows"}) {
      auto got = ctx_->table(table).Get(full_key, &stored);
      if (!got.ok()) {
        layout_.Free(g.acc);
        return got.status();
      }
      if (!*got) continue;
      found = true;
      if (std::string_view(table) == "spill") {
        g.in_spill = true;
        // Whether a committed version exists too is unknown; assume so, so
        // that closing the window deletes it.
      }
      g.persisted = true;
      break;
    }
    if (found) {
      layout_.Free(g.acc);
      g.acc = layout_.New();
      if (!layout_.Decode(stored, g.acc)) {
        layout_.Free(g.acc);
        return absl::DataLossError("window state entry is malformed");
      }
    }
  }
  cached_bytes_ += EntryBytes(key);
  g.seq = window.next_seq++;
  return &window.groups.emplace(key, g).first->second;
}

absl::Status WindowAggregateOperator::ProcessBatch(int, const Batch& batch, Emitter& out) {
  const RowSet rows = batch.active_rows();
  Arena scratch(1024);
  eval_.Reset(&scratch);
  for (size_t k = 0; k < keys_.size(); ++k) {
    key_spans_[k] = keys_[k]->Evaluate(batch, rows, eval_);
  }
  for (size_t k = 0; k < partition_.size(); ++k) {
    partition_spans_[k] = partition_[k]->Evaluate(batch, rows, eval_);
  }
  std::string error;
  for (size_t j = 0; j < layout_.count(); ++j) {
    if (!args_[j]) continue;
    ValueSpan span = args_[j]->Evaluate(batch, rows, eval_);
    std::vector<Value>& coerced = coerced_[j];
    if (coerced.size() < batch.num_rows) coerced.resize(batch.num_rows);
    const AggregateFunction& fn = layout_.fn(j);
    for (uint32_t r : rows) {
      if (!fn.Coerce(span[r], &coerced[r], &error)) {
        eval_.AddError(r, std::move(error));
        error.clear();
      }
    }
  }
  if (absl::Status s = RejectFailedRows(batch, eval_.errors(), out, &failed_); !s.ok()) {
    return s;
  }

  std::string key;
  std::string partition;
  size_t f = 0;
  if (is_fixed()) {
    pair_accs_.clear();
    pair_rows_.clear();
    for (uint32_t r : rows) {
      while (f < failed_.size() && failed_[f] < r) ++f;
      if (f < failed_.size() && failed_[f] == r) continue;
      key.clear();
      for (const ValueSpan& s : key_spans_) EncodeValue(s[r], &key);
      ends_.clear();
      fixed_->AssignWindows(batch.timestamp(r), &ends_);
      for (int64_t end : ends_) {
        if (end != cached_end_ || cached_window_ == nullptr) {
          auto [it, inserted] = windows_.try_emplace(end);
          // A new window will likely hold as many groups as the last one.
          if (inserted) it->second.groups.reserve(last_window_groups_);
          cached_window_ = &it->second;
          cached_end_ = end;
        }
        auto group = FindOrCreate(end, *cached_window_, key);
        if (!group.ok()) return group.status();
        (*group)->dirty = true;
        KeepOldest(&cached_window_->low_position, batch.LowPosition(r));
        pair_accs_.push_back((*group)->acc);
        pair_rows_.push_back(r);
      }
    }
    for (size_t j = 0; j < layout_.count(); ++j) {
      const Value* values = nullptr;
      if (args_[j]) {
        pair_values_.resize(pair_rows_.size());
        const std::vector<Value>& coerced = coerced_[j];
        for (size_t i = 0; i < pair_rows_.size(); ++i) {
          pair_values_[i] = coerced[pair_rows_[i]];
        }
        values = pair_values_.data();
      }
      layout_.fn(j).Update(pair_accs_.data(), layout_.offset(j), values, pair_accs_.size());
    }
    if (cached_bytes_ > ctx_->state_cache_bytes()) return Spill();
    return absl::OkStatus();
  }

  // Sliding and session windows: buffer until the watermark.
  for (uint32_t r : rows) {
    while (f < failed_.size() && failed_[f] < r) ++f;
    if (f < failed_.size() && failed_[f] == r) continue;
    BufferedRow row;
    row.timestamp = batch.timestamp(r);
    row.seq = next_seq_++;
    row.position = batch.LowPosition(r);
    for (const ValueSpan& s : key_spans_) EncodeValue(s[r], &row.key);
    for (const ValueSpan& s : partition_spans_) EncodeValue(s[r], &row.partition);
    for (size_t j = 0; j < layout_.count(); ++j) {
      if (args_[j]) EncodeValue(coerced_[j][r], &row.args);
    }
    buffered_.push_back(std::move(row));
  }
  return absl::OkStatus();
}

absl::Status WindowAggregateOperator::ProcessWatermark(int64_t watermark, Emitter& out) {
  absl::Status s = is_fixed() ? CloseFixedWindows(watermark, out) : SweepBuffered(watermark, out);
  if (!s.ok()) return s;
  return out.EmitWatermark(watermark);
}

absl::Status WindowAggregateOperator::CloseFixedWindows(int64_t watermark, Emitter& out) {
  // A window (start, end] is final once the watermark is past its end: every
  // later row has a timestamp >= watermark > end.
  while (!windows_.empty() && windows_.begin()->first < watermark) {
    auto it = windows_.begin();
    const int64_t end = it->first;
    Window& window = it->second;
    std::vector<ClosedGroup> closed;
    closed.reserve(window.groups.size());
    GroupMap loaded;
    if (window.spilled) {
      // Groups not in memory: the spill table holds the newer versions.
      std::string prefix;
      AppendBigEndian64(end, &prefix);
      bool ok = true;
      for (const char* table : {"spill", "windows"}) {
        absl::Status s =
            ctx_->table(table).Scan(prefix, [&](std::string_view k, std::string_view v) {
              std::string key(k.substr(8));
              if (window.groups.contains(key) || loaded.contains(key)) return true;
              Group g;
              g.acc = layout_.New();
              if (!layout_.Decode(v, g.acc)) {
                layout_.Free(g.acc);
                ok = false;
                return false;
              }
              loaded.emplace(std::move(key), g);
              return true;
            });
        if (s.ok() && !ok) s = absl::DataLossError("window state entry is malformed");
        if (!s.ok()) {
          FreeGroups(loaded);  // the groups read before the bad entry
          return s;
        }
      }
    }
    bool persisted = window.spilled;
    last_window_groups_ = window.groups.size();
    for (const auto& [k, g] : window.groups) {
      closed.push_back(
          ClosedGroup{end, g.persisted ? INT64_MAX : g.seq, k, g.acc, window.low_position});
      persisted = persisted || g.persisted || g.in_spill;
      cached_bytes_ -= std::min(cached_bytes_, EntryBytes(k));
    }
    for (const auto& [k, g] : loaded) {
      closed.push_back(ClosedGroup{end, INT64_MAX, k, g.acc, window.low_position});
    }
    absl::Status s = EmitClosed(closed, out);
    FreeGroups(window.groups);
    FreeGroups(loaded);
    if (persisted) deleted_windows_.push_back(end);
    if (cached_window_ == &window) cached_window_ = nullptr;
    windows_.erase(it);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status WindowAggregateOperator::Spill() {
  // Write back and drop groups, latest windows first (the earliest close
  // soonest), until half the budget is free.
  const size_t target = ctx_->state_cache_bytes() / 2;
  // Written to the spill table: the committed table must keep matching the
  // last checkpoint until the next one.
  StateWriteBatch batch;
  const StateTable& table = ctx_->table("spill");
  std::string value;
  for (auto it = windows_.rbegin(); it != windows_.rend() && cached_bytes_ > target; ++it) {
    Window& window = it->second;
    for (auto g = window.groups.begin(); g != window.groups.end() && cached_bytes_ > target;) {
      if (g->second.dirty || (!g->second.persisted && !g->second.in_spill)) {
        value.clear();
        layout_.Encode(g->second.acc, &value);
        batch.Put(table, WindowKey(it->first, g->first), value);
      }
      cached_bytes_ -= std::min(cached_bytes_, EntryBytes(g->first));
      TaskMetrics::Add(ctx_->metrics().state_written_back, 1);
      layout_.Free(g->second.acc);
      window.groups.erase(g++);
      window.spilled = true;
    }
  }
  return ctx_->CommitState(batch);
}

absl::Status WindowAggregateOperator::Checkpoint(StateWriteBatch& batch) {
  if (!is_fixed()) return CheckpointBuffered(batch);
  const StateTable& table = ctx_->table("windows");
  const StateTable& spill = ctx_->table("spill");
  for (int64_t end : deleted_windows_) {
    std::string prefix;
    AppendBigEndian64(end, &prefix);
    batch.DeletePrefix(table, prefix);
  }
  deleted_windows_.clear();
  std::string value;
  for (auto& [end, window] : windows_) {
    for (auto& [key, g] : window.groups) {
      if (!g.dirty && !g.in_spill) continue;
      value.clear();
      layout_.Encode(g.acc, &value);
      batch.Put(table, WindowKey(end, key), value);
      g.dirty = false;
      g.in_spill = false;
      g.persisted = true;
    }
  }
  // Fold what was written back since the last checkpoint (and is not in
  // memory) into the committed table, then empty the spill table: the
  // checkpoint's one atomic write moves it all.
  absl::Status s = spill.Scan("", [&](std::string_view k, std::string_view v) {
    if (k.size() < 8) return true;
    auto w = windows_.find(ReadBigEndian64(k.substr(0, 8)));
    if (w == windows_.end()) return true;                                  // closed since
    if (w->second.groups.contains(std::string(k.substr(8)))) return true;  // memory is newer
    batch.Put(table, k, v);
    return true;
  });
  if (!s.ok()) return s;
  batch.DeletePrefix(spill, "");
  return absl::OkStatus();
}

void WindowAggregateOperator::Accumulate(GroupMap& groups, const std::string& key,
                                         std::string_view encoded_args) {
  auto [it, inserted] = groups.try_emplace(key);
  if (inserted) it->second.acc = layout_.New();
  Arena arena(256);
  void* acc = it->second.acc;
  for (size_t j = 0; j < layout_.count(); ++j) {
    if (!args_[j]) {
      layout_.fn(j).Update(&acc, layout_.offset(j), nullptr, 1);
      continue;
    }
    Value v;
    DecodeValue(&encoded_args, &arena, &v);
    layout_.fn(j).Update(&acc, layout_.offset(j), &v, 1);
  }
}

absl::Status WindowAggregateOperator::SweepBuffered(int64_t watermark, Emitter& out) {
  // Rows strictly before the watermark are complete: no later row can share
  // their timestamp.
  std::vector<BufferedRow> ready;
  std::vector<BufferedRow> waiting;
  for (BufferedRow& row : buffered_) {
    const bool is_ready = row.timestamp < watermark;
    if (is_ready && row.seq < persisted_seq_ && !rewrite_all_) {
      released_.emplace_back(row.timestamp, row.seq);
    }
    (is_ready ? ready : waiting).push_back(std::move(row));
  }
  buffered_ = std::move(waiting);
  std::sort(ready.begin(), ready.end(), [](const BufferedRow& a, const BufferedRow& b) {
    return a.timestamp != b.timestamp ? a.timestamp < b.timestamp : a.seq < b.seq;
  });

  std::vector<ClosedGroup> closed;
  std::vector<void*> to_free;

  if (kind_ == v1::WindowSpec::KIND_SLIDING) {
    const int64_t size = spec_.window().size_ticks();
    auto emit_until = [&](int64_t limit) {
      while (!instants_.empty() && instants_.begin()->first < limit) {
        auto [instant, key] = *instants_.begin();
        if (!rewrite_all_) touched_instants_.try_emplace(*instants_.begin(), true);
        instants_.erase(instants_.begin());
        EmitSlidingInstant(instant, key, &closed, &to_free);
      }
    };
    for (const BufferedRow& row : ready) {
      // Instants before this row's time are final before it enters.
      emit_until(row.timestamp);
      auto [events, new_key] = sliding_.try_emplace(row.key);
      if (!rewrite_all_) touched_keys_.try_emplace(row.key, !new_key);
      events->second.push_back(SlidingEvent{row.timestamp, row.args, row.position});
      for (int64_t instant : {row.timestamp, row.timestamp + size}) {
        auto [it, added] = instants_.emplace(instant, row.key);
        if (added && !rewrite_all_) touched_instants_.try_emplace(*it, false);
      }
    }
    emit_until(watermark);
    BoundTracking();
    absl::Status s = EmitClosed(closed, out);
    for (void* acc : to_free) layout_.Free(acc);
    return s;
  }

  // Session windows.
  auto close_until = [&](const std::string& partition, int64_t limit) {
    auto it = sessions_.find(partition);
    if (it != sessions_.end() && !rewrite_all_) touched_sessions_.try_emplace(partition, true);
    while (it != sessions_.end() && session_.CloseTime(it->second.start, it->second.last) < limit) {
      Session& session = it->second;
      if (session.groups.empty()) {
        // Reopened at a check point, no event since: it emits nothing, so
        // skip to where it stands at `limit` in one step.
        if (session.last + session_.timeout < limit) {
          sessions_.erase(it);
          break;
        }
        session.start = session_.StartAfterEmptyCheckPoints(session.start, limit);
        continue;
      }
      bool erased = false;
      CloseSession(partition, it->second, &closed, &to_free, &erased);
      if (erased) {
        sessions_.erase(it);
        it = sessions_.end();
      }
    }
  };
  for (const BufferedRow& row : ready) {
    close_until(row.partition, row.timestamp);
    auto [it, inserted] = sessions_.try_emplace(row.partition);
    if (!rewrite_all_) touched_sessions_.try_emplace(row.partition, !inserted);
    Session& session = it->second;
    if (inserted) {
      session.start = row.timestamp;
      session.last = row.timestamp;
    }
    session.last = std::max(session.last, row.timestamp);
    KeepOldest(&session.low_position, row.position);
    Accumulate(session.groups, row.key, row.args);
  }
  std::vector<std::string> partitions;
  for (const auto& [partition, session] : sessions_) {
    if (session_.CloseTime(session.start, session.last) < watermark) {
      partitions.push_back(partition);
    }
  }
  for (const std::string& p : partitions) close_until(p, watermark);
  BoundTracking();
  absl::Status s = EmitClosed(closed, out);
  for (void* acc : to_free) layout_.Free(acc);
  return s;
}

void WindowAggregateOperator::CloseSession(const std::string& partition, Session& session,
                                           std::vector<ClosedGroup>* closed,
                                           std::vector<void*>* to_free, bool* erased) {
  (void)partition;
  const int64_t close = session_.CloseTime(session.start, session.last);
  for (auto& [key, g] : session.groups) {
    closed->push_back(ClosedGroup{close, 0, key, g.acc, session.low_position});
    to_free->push_back(g.acc);
  }
  session.groups.clear();
  session.low_position = -1;
  if (session_.ClosesAtCheckPoint(session.start, session.last)) {
    // A new session opens at the check point, on the same timeout clock.
    session.start = close;
    *erased = false;
  } else {
    *erased = true;
  }
}

void WindowAggregateOperator::EmitSlidingInstant(int64_t instant, const std::string& key,
                                                 std::vector<ClosedGroup>* closed,
                                                 std::vector<void*>* to_free) {
  auto it = sliding_.find(key);
  if (it == sliding_.end()) return;
  if (!rewrite_all_) touched_keys_.try_emplace(key, true);
  const int64_t size = spec_.window().size_ticks();
  std::deque<SlidingEvent>& events = it->second;
  // Events at or before instant - size have left the window (start-exclusive).
  while (!events.empty() && events.front().timestamp <= instant - size) {
    events.pop_front();
  }
  void* acc = nullptr;
  int64_t low_position = -1;
  for (const SlidingEvent& e : events) {
    if (e.timestamp > instant) break;
    if (acc == nullptr) acc = layout_.New();
    KeepOldest(&low_position, e.position);
    Arena arena(256);
    std::string_view in(e.args);
    for (size_t j = 0; j < layout_.count(); ++j) {
      if (!args_[j]) {
        layout_.fn(j).Update(&acc, layout_.offset(j), nullptr, 1);
        continue;
      }
      Value v;
      DecodeValue(&in, &arena, &v);
      layout_.fn(j).Update(&acc, layout_.offset(j), &v, 1);
    }
  }
  if (acc != nullptr) {
    closed->push_back(ClosedGroup{instant, 0, key, acc, low_position});
    to_free->push_back(acc);
  }
  if (events.empty()) sliding_.erase(it);
}

absl::Status WindowAggregateOperator::EmitClosed(std::vector<ClosedGroup>& closed, Emitter& out) {
  if (closed.empty()) return absl::OkStatus();
  // A fixed window whose groups never went through the store has orders
  // 0..n-1: place each row at its order instead of sorting.
  const size_t n = closed.size();
  std::vector<uint32_t> at(n, UINT32_MAX);
  bool dense = true;
  for (size_t i = 0; i < n && dense; ++i) {
    const ClosedGroup& g = closed[i];
    dense = g.timestamp == closed.front().timestamp && g.order >= 0 &&
            g.order < static_cast<int64_t>(n) && at[g.order] == UINT32_MAX;
    if (dense) at[g.order] = static_cast<uint32_t>(i);
  }
  if (dense) {
    std::vector<ClosedGroup> ordered;
    ordered.reserve(n);
    for (uint32_t i : at) ordered.push_back(std::move(closed[i]));
    closed.swap(ordered);
  } else {
    std::sort(closed.begin(), closed.end(), [](const ClosedGroup& a, const ClosedGroup& b) {
      if (a.timestamp != b.timestamp) return a.timestamp < b.timestamp;
      if (a.order != b.order) return a.order < b.order;
      return a.key < b.key;
    });
  }
  const size_t num_keys = keys_.size();
  const size_t num_columns = num_keys + layout_.count();
  for (size_t start = 0; start < closed.size(); start += kOutputBatchRows) {
    const size_t end = std::min(closed.size(), start + kOutputBatchRows);
    BatchBuilder builder(num_columns, static_cast<uint32_t>(end - start));
    for (size_t i = start; i < end; ++i) {
      const ClosedGroup& g = closed[i];
      const uint32_t row = builder.AddRow(g.timestamp);
      if (g.low_position >= 0) builder.SetLowPosition(row, g.low_position);
      std::string_view key = g.key;
      for (size_t k = 0; k < num_keys; ++k) {
        Value v;
        if (!DecodeValue(&key, builder.arena(), &v)) {
          return absl::InternalError("group key is malformed");
        }
        builder.Set(k, row, v);
      }
      for (size_t j = 0; j < layout_.count(); ++j) {
        builder.Set(num_keys + j, row, layout_.Finalize(g.acc, j, builder.arena()));
      }
    }
    if (absl::Status s = out.Emit(builder.Finish()); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status WindowAggregateOperator::CheckpointBuffered(StateWriteBatch& batch) {
  const StateTable& table =
      ctx_->table(kind_ == v1::WindowSpec::KIND_SLIDING ? "sliding" : "sessions");
  std::string key;
  std::string value;
  auto row_key = [&](int64_t timestamp, uint64_t seq) {
    key.assign("p");
    AppendBigEndian64(timestamp, &key);
    AppendBigEndian64(static_cast<int64_t>(seq), &key);
  };
  if (rewrite_all_) {
    // Everything, as it stands: every entry counts as new.
    batch.DeletePrefix(table, "");
    persisted_seq_ = 0;
    for (const auto& [group_key, events] : sliding_) touched_keys_.emplace(group_key, false);
    for (const auto& instant : instants_) touched_instants_.emplace(instant, false);
    for (const auto& [partition, session] : sessions_) touched_sessions_.emplace(partition, false);
    rewrite_all_ = false;
  }
  for (const auto& [timestamp, seq] : released_) {
    row_key(timestamp, seq);
    batch.Delete(table, key);
  }
  released_.clear();
  for (const BufferedRow& row : buffered_) {
    if (row.seq < persisted_seq_) continue;
    row_key(row.timestamp, row.seq);
    value.clear();
    EncodeBytes(row.key, &value);
    EncodeBytes(row.partition, &value);
    EncodeBytes(row.args, &value);
    batch.Put(table, key, value);
  }
  if (next_seq_ != persisted_seq_) {
    key.assign("n");
    value.clear();
    EncodeFixed64(next_seq_, &value);
    batch.Put(table, key, value);
    persisted_seq_ = next_seq_;
  }
  for (const auto& [group_key, stored] : touched_keys_) {
    key.assign("g");
    key.append(group_key);
    auto it = sliding_.find(group_key);
    if (it == sliding_.end()) {
      if (stored) batch.Delete(table, key);
      continue;
    }
    value.clear();
    EncodeVarint(it->second.size(), &value);
    for (const SlidingEvent& e : it->second) {
      EncodeFixed64(static_cast<uint64_t>(e.timestamp), &value);
      EncodeBytes(e.args, &value);
    }
    batch.Put(table, key, value);
  }
  touched_keys_.clear();
  for (const auto& [instant, stored] : touched_instants_) {
    const bool now = instants_.contains(instant);
    if (now == stored) continue;  // an instant never changes, only comes and goes
    key.assign("i");
    AppendBigEndian64(instant.first, &key);
    key.append(instant.second);
    if (now) {
      batch.Put(table, key, "");
    } else {
      batch.Delete(table, key);
    }
  }
  touched_instants_.clear();
  std::string acc;
  for (const auto& [partition, stored] : touched_sessions_) {
    key.assign("s");
    key.append(partition);
    auto it = sessions_.find(partition);
    if (it == sessions_.end()) {
      if (stored) batch.Delete(table, key);
      continue;
    }
    const Session& session = it->second;
    value.clear();
    EncodeFixed64(static_cast<uint64_t>(session.start), &value);
    EncodeFixed64(static_cast<uint64_t>(session.last), &value);
    EncodeVarint(session.groups.size(), &value);
    for (const auto& [group_key, g] : session.groups) {
      EncodeBytes(group_key, &value);
      acc.clear();
      layout_.Encode(g.acc, &acc);
      EncodeBytes(acc, &value);
    }
    batch.Put(table, key, value);
  }
  touched_sessions_.clear();
  return absl::OkStatus();
}

absl::Status WindowAggregateOperator::RestoreBuffered(const StateTable& table) {
  bool ok = true;
  absl::Status s = table.Scan("", [&](std::string_view key, std::string_view value) {
    const char tag = key.empty() ? '\0' : key[0];
    key.remove_prefix(1);
    if (tag == 'p' && key.size() == 16) {
      BufferedRow row;
      row.timestamp = ReadBigEndian64(key.substr(0, 8));
      row.seq = static_cast<uint64_t>(ReadBigEndian64(key.substr(8, 8)));
      std::string_view k, p, a;
      if (!DecodeBytes(&value, &k) || !DecodeBytes(&value, &p) || !DecodeBytes(&value, &a)) {
        ok = false;
        return false;
      }
      row.key.assign(k);
      row.partition.assign(p);
      row.args.assign(a);
      buffered_.push_back(std::move(row));
    } else if (tag == 'n') {
      uint64_t seq;
      if (!DecodeFixed64(&value, &seq)) {
        ok = false;
        return false;
      }
      next_seq_ = seq;
    } else if (tag == 'g') {
      uint64_t n;
      if (!DecodeVarint(&value, &n)) {
        ok = false;
        return false;
      }
      auto& events = sliding_[std::string(key)];
      for (uint64_t i = 0; i < n; ++i) {
        uint64_t ts;
        std::string_view args;
        if (!DecodeFixed64(&value, &ts) || !DecodeBytes(&value, &args)) {
          ok = false;
          return false;
        }
        events.push_back(SlidingEvent{static_cast<int64_t>(ts), std::string(args)});
      }
    } else if (tag == 'i' && key.size() >= 8) {
      instants_.emplace(ReadBigEndian64(key.substr(0, 8)), std::string(key.substr(8)));
    } else if (tag == 's') {
      uint64_t start, last, n;
      if (!DecodeFixed64(&value, &start) || !DecodeFixed64(&value, &last) ||
          !DecodeVarint(&value, &n)) {
        ok = false;
        return false;
      }
      Session& session = sessions_[std::string(key)];
      session.start = static_cast<int64_t>(start);
      session.last = static_cast<int64_t>(last);
      for (uint64_t i = 0; i < n; ++i) {
        std::string_view group_key, acc;
        if (!DecodeBytes(&value, &group_key) || !DecodeBytes(&value, &acc)) {
          ok = false;
          return false;
        }
        Group g;
        g.acc = layout_.New();
        if (!layout_.Decode(acc, g.acc)) {
          layout_.Free(g.acc);
          ok = false;
          return false;
        }
        if (!session.groups.emplace(std::string(group_key), g).second) {
          layout_.Free(g.acc);  // a group twice in one session: not ours
          ok = false;
          return false;
        }
      }
    } else {
      ok = false;
      return false;
    }
    return true;
  });
  if (!s.ok()) return s;
  if (!ok) return absl::DataLossError("window state is malformed");
  // All of it is stored as it stands.
  persisted_seq_ = next_seq_;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Operator>> MakeWindowAggregateOperator(const v1::Node& node,
                                                                      const v1::Plan&) {
  const v1::WindowAggregateNode& spec = node.window_aggregate();
  std::vector<std::unique_ptr<Expression>> keys;
  for (const v1::Expr& e : spec.keys()) {
    auto k = CompileExpression(e);
    if (!k.ok()) return k.status();
    keys.push_back(*std::move(k));
  }
  std::vector<std::unique_ptr<Expression>> partition;
  for (const v1::Expr& e : spec.window().partition_by()) {
    auto p = CompileExpression(e);
    if (!p.ok()) return p.status();
    partition.push_back(*std::move(p));
  }
  std::vector<std::unique_ptr<Expression>> args;
  std::vector<std::unique_ptr<AggregateFunction>> fns;
  for (const v1::Aggregate& a : spec.aggregates()) {
    auto fn = MakeAggregateFunction(a);
    if (!fn.ok()) return fn.status();
    if ((*fn)->takes_argument()) {
      if (!a.has_arg()) {
        return absl::InternalError("plan aggregate is missing its argument");
      }
      auto arg = CompileExpression(a.arg());
      if (!arg.ok()) return arg.status();
      args.push_back(*std::move(arg));
    } else {
      args.push_back(nullptr);
    }
    fns.push_back(*std::move(fn));
  }
  const v1::WindowSpec& w = spec.window();
  switch (w.kind()) {
    case v1::WindowSpec::KIND_TUMBLING:
    case v1::WindowSpec::KIND_SLIDING:
      if (w.size_ticks() <= 0) return absl::InternalError("window size must be positive");
      break;
    case v1::WindowSpec::KIND_HOPPING:
      if (w.size_ticks() <= 0 || w.hop_ticks() <= 0) {
        return absl::InternalError("hopping window size and hop must be positive");
      }
      if ((w.size_ticks() - 1) / w.hop_ticks() + 1 > kMaxWindowsPerEvent) {
        return absl::InvalidArgumentError(absl::StrCat(
            "hopping window puts each event in more windows than ", kMaxWindowsPerEvent,
            " (size / hop): ", w.size_ticks(), " / ", w.hop_ticks(), " ticks"));
      }
      break;
    case v1::WindowSpec::KIND_SESSION:
      if (w.timeout_ticks() <= 0 || w.max_duration_ticks() <= 0) {
        return absl::InternalError("session timeout and max duration must be positive");
      }
      break;
    case v1::WindowSpec::KIND_SNAPSHOT:
      break;
    default:
      return absl::InternalError("plan window has no kind");
  }
  return std::make_unique<WindowAggregateOperator>(spec, std::move(keys), std::move(partition),
                                                   std::move(args), std::move(fns));
}

}  // namespace sluice

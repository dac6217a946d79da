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
//  - sliding/session: buffered rows, per-key event lists or open sessions;
//    each checkpoint writes what changed since the last
//    (window_aggregate_buffered.cc).
// Output rows (keys..., aggregates...) are stamped with their window end and
// emitted in (time, key) order, so a run's output never depends on hash
#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "operators/builtin_operators.h"
#include "operators/window_aggregate_internal.h"

namespace sluice {
namespace window_aggregate_internal {

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

}  // namespace window_aggregate_internal

using window_aggregate_internal::WindowAggregateOperator;

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
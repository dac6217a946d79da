// Stream-stream JOIN (JoinNode in proto/plan.proto): ASA's time-bounded
// inner and left outer join.
//
// Each side keeps the rows that a later row of the other side could still
// match, indexed by join key and time. A row arriving on one side probes
// the other side's rows whose times fall within the bound, the pairs that
// also pass the rest of ON are emitted at once (stamped with the later of
// the two times), and the row joins its own side's buffer. When the
// watermark passes a row's last possible match it leaves its buffer; under
// LEFT, a left row that matched nothing is emitted then, stamped with its
// time plus the upper bound and NULL right columns. A negative upper bound
// holds the watermark passed on back by that much, so such a row is never
// late downstream.
//
// Rows are buffered encoded (value_codec.h). Each checkpoint writes the
// rows added, changed (a left row's first match) and dropped since the last
// one; Open rebuilds the buffers from the table.
#include <algorithm>
#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/strings/str_cat.h"
#include "engine/core/row_json.h"
#include "engine/core/saturating.h"
#include "engine/core/value_codec.h"
#include "engine/expr/expression.h"
#include "operators/builtin_operators.h"

namespace sluice {
namespace {

using RowId = std::pair<int64_t, uint64_t>;  // (event time, arrival sequence)

struct BufferedRow {
  std::string values;  // the side's columns, encoded one after another
  bool has_key = false;
  bool matched = false;
  RowOrigin origin;  // the event it came from (names the join's rows)
  // For a row of an earlier join, its other events (null for a row of one
  // event, the common case, which keeps buffered rows small).
  std::unique_ptr<JoinedOrigins> others;
  bool persisted = false;  // a checkpoint wrote it (not part of the state value)
};

struct Entry {
  RowId id;
  BufferedRow row;
};

// A match found: row `row` of the arriving batch (buffered as `mine`) and
// the other side's buffered row `other`.
struct Pair {
  uint32_t row;
  RowId mine;
  Entry* other;
};

// One side's buffer: per join key, its rows in time order, so that a probe
// reads one contiguous range; and every row by time, for eviction. Rows
// with a NULL key (never probed) are under the empty key, which no
// encoded key equals (a join without key equalities keys every row so).
class Side {
 public:
  struct Found {
    const std::string* key = nullptr;
    Entry* entry = nullptr;
  };

  void Add(RowId id, std::string key, BufferedRow row) {
    bytes_ += key.size() + row.values.size() + 96;
    auto [it, inserted] = by_key_.try_emplace(std::move(key));
    std::deque<Entry>& rows = it->second;
    if (rows.empty() || rows.back().id < id) {
      rows.push_back(Entry{id, std::move(row)});
    } else {
      auto at = std::upper_bound(rows.begin(), rows.end(), id,
                                 [](const RowId& a, const Entry& e) { return a < e.id; });
      rows.insert(at, Entry{id, std::move(row)});
    }
    by_time_.emplace(id, &it->first);
  }

  // Calls fn(Entry&) for the rows of `key` with times in [from, to].
  template <typename Fn>
  void ForRange(const std::string& key, int64_t from, int64_t to, Fn fn) {
    auto it = by_key_.find(key);
    if (it == by_key_.end()) return;
    std::deque<Entry>& rows = it->second;
    auto at = std::lower_bound(rows.begin(), rows.end(), RowId{from, 0},
                               [](const Entry& e, const RowId& a) { return e.id < a; });
    for (; at != rows.end() && at->id.first <= to; ++at) fn(*at);
  }

  Found Find(RowId id) {
    auto t = by_time_.find(id);
    if (t == by_time_.end()) return {};
    std::deque<Entry>& rows = by_key_.find(*t->second)->second;
    auto at = std::lower_bound(rows.begin(), rows.end(), id,
                               [](const Entry& e, const RowId& a) { return e.id < a; });
    if (at == rows.end() || at->id != id) return {};
    return {t->second, &*at};
  }

  // The oldest row (it leads its key's rows), or an empty Found.
  Found Oldest() {
    if (by_time_.empty()) return {};
    const std::string* key = by_time_.begin()->second;
    return {key, &by_key_.find(*key)->second.front()};
  }

  // Removes the oldest row and returns it.
  Entry TakeOldest() {
    const std::string* key = by_time_.begin()->second;
    by_time_.erase(by_time_.begin());
    auto it = by_key_.find(*key);
    bytes_ -= key->size() + it->second.front().row.values.size() + 96;
    Entry oldest = std::move(it->second.front());
    it->second.pop_front();
    if (it->second.empty()) by_key_.erase(it);
    return oldest;
  }

  size_t bytes() const { return bytes_; }

 private:
  // Node-based: the by_time_ index points at the keys.
  absl::node_hash_map<std::string, std::deque<Entry>> by_key_;
  absl::btree_map<RowId, const std::string*> by_time_;
  size_t bytes_ = 0;
};

// State key: side ('L' or 'R'), time, sequence.
std::string StateKey(int side, RowId id) {
  std::string key(1, side == 0 ? 'L' : 'R');
  AppendBigEndian64(id.first, &key);
  AppendBigEndian64(static_cast<int64_t>(id.second), &key);
  return key;
}

// State value: varint flags (bit 0: has key, bit 1: matched, bit 2: has
// origin, bit 3: has other events), key, values, then with bit 2 the origin
// and with bit 3 a varint count and that many origins.
std::string StateValue(const std::string& key, const BufferedRow& row) {
  std::string out;
  const bool has_origin = row.origin.position >= 0;
  const bool has_others = row.others != nullptr && !row.others->empty();
  EncodeVarint((row.has_key ? 1u : 0u) | (row.matched ? 2u : 0u) | (has_origin ? 4u : 0u) |
                   (has_others ? 8u : 0u),
               &out);
  EncodeBytes(key, &out);
  EncodeBytes(row.values, &out);
  if (has_origin) EncodeRowOrigin(row.origin, &out);
  if (has_others) EncodeJoinedOrigins(*row.others, &out);
  return out;
}

bool ParseStateValue(std::string_view in, std::string* key_out, BufferedRow* row) {
  uint64_t flags = 0;
  std::string_view key;
  std::string_view values;
  if (!DecodeVarint(&in, &flags) || !DecodeBytes(&in, &key) || !DecodeBytes(&in, &values) ||
      flags > 15) {
    return false;
  }
  row->has_key = (flags & 1) != 0;
  row->matched = (flags & 2) != 0;
  row->origin = RowOrigin{};
  row->others.reset();
  if ((flags & 4) != 0 &&
      (!DecodeRowOrigin(&in, &row->origin) || row->origin.input < 0 || row->origin.position < 0)) {
    return false;
  }
  if ((flags & 8) != 0) {
    row->others = std::make_unique<JoinedOrigins>();
    if (!DecodeJoinedOrigins(&in, row->others.get())) return false;
  }
  if (!in.empty()) return false;
  if (!row->has_key && !key.empty()) return false;
  key_out->assign(key);
  row->values.assign(values);
  return true;
}

// One stream pair's own bound in a join of three or more streams
// (JoinNode.time_checks): later - earlier in [low, high].
struct TimeCheck {
  std::unique_ptr<Expression> earlier;
  std::unique_ptr<Expression> later;
  int64_t low;
  int64_t high;
};

class JoinOperator final : public Operator {
 public:
  JoinOperator(const v1::JoinNode& spec, size_t left_width, size_t right_width,
               std::vector<std::unique_ptr<Expression>> left_keys,
               std::vector<std::unique_ptr<Expression>> right_keys,
               std::unique_ptr<Expression> condition, std::vector<TimeCheck> checks,
               const v1::Schema& output)
      : left_outer_(spec.kind() == v1::JoinNode::KIND_LEFT),
        low_(spec.min_delta_ticks()),
        high_(spec.max_delta_ticks()),
        width_{left_width, right_width},
        condition_(std::move(condition)),
        checks_(std::move(checks)),
        describe_(output) {
    keys_[0] = std::move(left_keys);
    keys_[1] = std::move(right_keys);
  }

  std::vector<StateSpec> DeclareState() const override {
    return {{"rows",
             "per side: the rows a later row of the other side could still match, by time; "
             "for left rows, whether they matched",
             1}};
  }

  absl::Status Open(OperatorContext& ctx) override {
    ctx_ = &ctx;
    table_ = ctx.table("rows");
    absl::Status bad;
    absl::Status scanned = table_.Scan("", [&](std::string_view key, std::string_view value) {
      BufferedRow row;
      std::string join_key;
      if (key.size() != 17 || (key[0] != 'L' && key[0] != 'R') ||
          !ParseStateValue(value, &join_key, &row)) {
        bad = absl::DataLossError("a join state entry is malformed");
        return false;
      }
      const int side = key[0] == 'L' ? 0 : 1;
      const RowId id{ReadBigEndian64(key.substr(1, 8)),
                     static_cast<uint64_t>(ReadBigEndian64(key.substr(9, 8)))};
      if (sides_[side].Find(id).entry != nullptr) {
        bad = absl::DataLossError("a join state entry is there twice");
        return false;
      }
      next_seq_ = std::max(next_seq_, id.second + 1);
      row.persisted = true;
      sides_[side].Add(id, std::move(join_key), std::move(row));
      return true;
    });
    if (!scanned.ok()) return scanned;
    return bad;
  }

  absl::Status ProcessBatch(int port, const Batch& batch, Emitter& out) override {
    const int side = port == 0 ? 0 : 1;
    const RowSet rows = batch.active_rows();
    Arena scratch(1024);
    eval_.Reset(&scratch);
    std::vector<ValueSpan> keys;
    for (auto& k : keys_[side]) keys.push_back(k->Evaluate(batch, rows, eval_));
    if (absl::Status s = RejectFailedRows(batch, eval_.errors(), out, &failed_); !s.ok()) return s;
    std::vector<Pair> pairs;
    size_t f = 0;
    for (uint32_t r : rows) {
      while (f < failed_.size() && failed_[f] < r) ++f;
      if (f < failed_.size() && failed_[f] == r) continue;
      BufferedRow row;
      std::string key;
      row.has_key = true;
      for (const ValueSpan& k : keys) {
        if (k[r].is_null()) row.has_key = false;
        EncodeValue(k[r], &key);
      }
      if (!row.has_key) key.clear();
      const int64_t ts = batch.timestamp(r);
      const RowId id{ts, next_seq_++};
      if (row.has_key) {
        // Left time tl and right time tr match when low <= tr - tl <= high.
        const int64_t from = side == 0 ? SaturatingAdd(ts, low_) : SaturatingSubtract(ts, high_);
        const int64_t to = side == 0 ? SaturatingAdd(ts, high_) : SaturatingSubtract(ts, low_);
        sides_[1 - side].ForRange(key, from, to, [&](Entry& other) {
          pairs.push_back(Pair{r, id, &other});
        });
      }
      for (size_t c = 0; c < width_[side]; ++c) EncodeValue(batch.value(c, r), &row.values);
      if (const RowOrigin* origin = batch.origin(r)) row.origin = *origin;
      if (const JoinedOrigins* others = batch.paired_origins(r); others && !others->empty()) {
        row.others = std::make_unique<JoinedOrigins>(*others);
      }
      sides_[side].Add(id, std::move(key), std::move(row));
      dirty_.insert({side, id});
    }
    if (pairs.empty()) return absl::OkStatus();
    return EmitPairs(side, batch, pairs, out);
  }

  absl::Status ProcessWatermark(int64_t watermark, Emitter& out) override {
    // A left row can match right rows up to tl + high; a right row, left
    // rows up to tr - low. Every later row has a time >= watermark.
    Side& left = sides_[0];
    std::vector<Entry> unmatched;
    for (Side::Found oldest = left.Oldest();
         oldest.entry != nullptr && SaturatingAdd(oldest.entry->id.first, high_) < watermark;
         oldest = left.Oldest()) {
      Forget(0, *oldest.entry);
      Entry gone = left.TakeOldest();
      if (left_outer_ && !gone.row.matched) unmatched.push_back(std::move(gone));
    }
    if (!unmatched.empty()) {
      if (absl::Status s = EmitUnmatched(unmatched, out); !s.ok()) return s;
    }
    Side& right = sides_[1];
    for (Side::Found oldest = right.Oldest();
         oldest.entry != nullptr && SaturatingSubtract(oldest.entry->id.first, low_) < watermark;
         oldest = right.Oldest()) {
      Forget(1, *oldest.entry);
      right.TakeOldest();
    }
    // With a negative upper bound, a left row still to come may leave
    // unmatched at a time before the watermark: hold it back by that much.
    const int64_t held =
        watermark == kEndOfTime ? watermark : SaturatingAdd(watermark, std::min<int64_t>(high_, 0));
    if (held <= watermark_) return absl::OkStatus();
    watermark_ = held;
    return out.EmitWatermark(held);
  }

  absl::Status Checkpoint(StateWriteBatch& batch) override {
    for (const auto& [side, id] : dirty_) {
      const Side::Found found = sides_[side].Find(id);
      if (found.entry == nullptr) {
        batch.Delete(table_, StateKey(side, id));
      } else {
        batch.Put(table_, StateKey(side, id), StateValue(*found.key, found.entry->row));
        found.entry->row.persisted = true;
      }
    }
    dirty_.clear();
    return absl::OkStatus();
  }

  // A row leaves its buffer: the next checkpoint deletes it if one wrote
  // it; otherwise it never reaches the state (so a run without checkpoints
  // keeps no record of the rows it saw).
  void Forget(int side, const Entry& e) {
    if (e.row.persisted) {
      dirty_.insert({side, e.id});
    } else {
      dirty_.erase({side, e.id});
    }
  }

  size_t MemoryBytes() const override { return sides_[0].bytes() + sides_[1].bytes(); }

 private:
  // Decodes `count` encoded values into columns [first, first + count) of
  // row `row`.
  static absl::Status DecodeInto(std::string_view values, size_t first, size_t count, uint32_t row,
                                 BatchBuilder& builder) {
    for (size_t c = 0; c < count; ++c) {
      Value v;
      if (!DecodeValue(&values, builder.arena(), &v)) {
        return absl::DataLossError("a buffered join row is malformed");
      }
      builder.Set(first + c, row, v);
    }
    return absl::OkStatus();
  }

  absl::Status EmitPairs(int side, const Batch& batch, const std::vector<Pair>& pairs,
                         Emitter& out) {
    const size_t lw = width_[0];
    BatchBuilder builder(lw + width_[1], static_cast<uint32_t>(pairs.size()));
    for (const auto& arena : batch.arenas) builder.AddArena(arena);
    for (const Pair& p : pairs) {
      const uint32_t row = builder.AddRow(std::max(p.mine.first, p.other->id.first));
      const size_t mine = side == 0 ? 0 : lw;
      for (size_t c = 0; c < width_[side]; ++c) builder.Set(mine + c, row, batch.value(c, p.row));
      const size_t theirs = side == 0 ? lw : 0;
      if (absl::Status s = DecodeInto(p.other->row.values, theirs, width_[1 - side], row, builder);
          !s.ok()) {
        return s;
      }
      // The row is named by its events: the left row's, then the right's.
      const RowOrigin* origin = batch.origin(p.row);
      const JoinedOrigins* others = batch.paired_origins(p.row);
      const RowOrigin mine_origin = origin ? *origin : RowOrigin{};
      const bool left_is_mine = side == 0;
      const JoinedOrigins* theirs_others = p.other->row.others.get();
      const RowOrigin& l = left_is_mine ? mine_origin : p.other->row.origin;
      const JoinedOrigins* lx = left_is_mine ? others : theirs_others;
      const RowOrigin& r = left_is_mine ? p.other->row.origin : mine_origin;
      const JoinedOrigins* rx = left_is_mine ? theirs_others : others;
      JoinedOrigins events;
      if (lx != nullptr) events.assign(lx->begin(), lx->end());
      events.push_back(r);
      if (rx != nullptr) events.insert(events.end(), rx->begin(), rx->end());
      builder.SetOrigin(row, l);
      builder.SetPaired(row, std::move(events));
      builder.SetLowPosition(row, -1);
    }
    Batch joined = builder.Finish();
    // Without time checks every pair is a candidate.
    std::vector<uint32_t> candidates = InTime(joined);
    if (!checks_.empty() && candidates.empty()) return absl::OkStatus();
    std::vector<uint32_t> keep;
    if (condition_) {
      Arena scratch(256);
      eval_.Reset(&scratch);
      const RowSet all = checks_.empty()
                             ? joined.active_rows()
                             : RowSet{candidates.data(), static_cast<uint32_t>(candidates.size())};
      ValueSpan result = condition_->Evaluate(joined, all, eval_);
      for (uint32_t r : all) {
        if (TruthValue(result[r]) == -2) {
          eval_.AddError(r, "JOIN's ON condition is not a boolean: " + DebugString(result[r]));
        }
      }
      if (absl::Status s = RejectFailedRows(joined, eval_.errors(), out, &failed_, &describe_);
          !s.ok()) {
        return s;
      }
      size_t f = 0;
      for (uint32_t r : all) {
        while (f < failed_.size() && failed_[f] < r) ++f;
        if (f < failed_.size() && failed_[f] == r) continue;
        if (TruthValue(result[r]) == 1) keep.push_back(r);
      }
    } else if (checks_.empty()) {
      keep.resize(joined.num_rows);
      for (uint32_t r = 0; r < joined.num_rows; ++r) keep[r] = r;
    } else {
      keep = std::move(candidates);
    }
    if (keep.empty()) return absl::OkStatus();
    if (left_outer_) {
      for (uint32_t k : keep) {
        Entry* left = side == 0 ? sides_[0].Find(pairs[k].mine).entry : pairs[k].other;
        if (left != nullptr && !left->row.matched) {
          left->row.matched = true;
          dirty_.insert({0, left->id});
        }
      }
    }
    if (keep.size() == joined.num_rows) return out.Emit(joined);
    return out.Emit(WithSelection(joined, std::move(keep)));
  }

  // The pairs of `joined` within every time check (none without checks). A
  // stream time that is not there (an earlier LEFT's unmatched side) meets
  // no bound.
  std::vector<uint32_t> InTime(const Batch& joined) {
    std::vector<uint32_t> rows;
    if (checks_.empty()) return rows;
    Arena scratch(256);
    eval_.Reset(&scratch);
    const RowSet all = joined.active_rows();
    std::vector<bool> in_time(joined.num_rows, true);
    for (const TimeCheck& c : checks_) {
      ValueSpan earlier = c.earlier->Evaluate(joined, all, eval_);
      ValueSpan later = c.later->Evaluate(joined, all, eval_);
      for (uint32_t r : all) {
        const Value& a = earlier[r];
        const Value& b = later[r];
        int64_t delta = 0;
        if (a.type() != ValueType::kDatetime || b.type() != ValueType::kDatetime ||
            __builtin_sub_overflow(b.ticks(), a.ticks(), &delta) || delta < c.low ||
            delta > c.high) {
          in_time[r] = false;
        }
      }
    }
    for (uint32_t r = 0; r < joined.num_rows; ++r) {
      if (in_time[r]) rows.push_back(r);
    }
    return rows;
  }

  absl::Status EmitUnmatched(const std::vector<Entry>& rows, Emitter& out) {
    const size_t lw = width_[0];
    BatchBuilder builder(lw + width_[1], static_cast<uint32_t>(rows.size()));
    for (const Entry& e : rows) {
      // At the time a match could last have come (never before the
      // watermark passed on: see ProcessWatermark).
      const uint32_t row = builder.AddRow(SaturatingAdd(e.id.first, high_));
      if (absl::Status s = DecodeInto(e.row.values, 0, lw, row, builder); !s.ok()) {
        return s;
      }
      for (size_t c = 0; c < width_[1]; ++c) builder.Set(lw + c, row, Value::Null());
      builder.SetOrigin(row, e.row.origin);
      JoinedOrigins events;
      if (e.row.others != nullptr) events = *e.row.others;
      events.push_back(RowOrigin{});
      builder.SetPaired(row, std::move(events));
      builder.SetLowPosition(row, -1);
    }
    return out.Emit(builder.Finish());
  }

  const bool left_outer_;
  const int64_t low_;
  const int64_t high_;
  const size_t width_[2];
  std::vector<std::unique_ptr<Expression>> keys_[2];
  std::unique_ptr<Expression> condition_;
  std::vector<TimeCheck> checks_;
  RowJsonWriter describe_;
  EvalContext eval_;
  std::vector<uint32_t> failed_;
  StateTable table_;
  Side sides_[2];
  uint64_t next_seq_ = 0;
  int64_t watermark_ = std::numeric_limits<int64_t>::min();  // the last one passed on
  absl::btree_set<std::pair<int, RowId>> dirty_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Operator>> MakeJoinOperator(const v1::Node& node,
                                                           const v1::Plan& plan) {
  const v1::JoinNode& spec = node.join();
  if (node.inputs_size() != 2 || spec.left_keys_size() != spec.right_keys_size() ||
      spec.min_delta_ticks() > spec.max_delta_ticks()) {
    return absl::InvalidArgumentError("malformed join node");
  }
  std::vector<std::unique_ptr<Expression>> keys[2];
  for (int side = 0; side < 2; ++side) {
    for (const v1::Expr& e : side == 0 ? spec.left_keys() : spec.right_keys()) {
      auto compiled = CompileExpression(e);
      if (!compiled.ok()) return compiled.status();
      keys[side].push_back(*std::move(compiled));
    }
  }
  std::unique_ptr<Expression> condition;
  if (spec.has_condition()) {
    auto compiled = CompileExpression(spec.condition());
    if (!compiled.ok()) return compiled.status();
    condition = *std::move(compiled);
  }
  std::vector<TimeCheck> checks;
  for (const v1::JoinNode::TimeCheck& c : spec.time_checks()) {
    if (c.min_delta_ticks() > c.max_delta_ticks()) {
      return absl::InvalidArgumentError("malformed join node: a time check with no time");
    }
    auto earlier = CompileExpression(c.earlier());
    if (!earlier.ok()) return earlier.status();
    auto later = CompileExpression(c.later());
    if (!later.ok()) return later.status();
    checks.push_back(TimeCheck{*std::move(earlier), *std::move(later), c.min_delta_ticks(),
                               c.max_delta_ticks()});
  }
  return std::make_unique<JoinOperator>(
      spec, static_cast<size_t>(plan.nodes(node.inputs(0)).schema().columns_size()),
      static_cast<size_t>(plan.nodes(node.inputs(1)).schema().columns_size()), std::move(keys[0]),
      std::move(keys[1]), std::move(condition), std::move(checks), node.schema());
}

}  // namespace sluice

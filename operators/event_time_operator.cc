// Event time (TIMESTAMP BY) and the input's time policy.
//
// Assigns every event its timestamp, polices it, and turns arrival order
// into timestamp order with a watermark (design.md, "Time"):
//   1. The timestamp is the TIMESTAMP BY value (a datetime, or a string in
//      ISO 8601), else the arrival time. An unreadable value rejects the
//      event to the error output.
//   2. Arrival time is the source's when it knows one (Kafka timestamp,
//      --arrival-time-field), else the largest event time seen so far.
//   3. Early: an event more than 5 minutes ahead of its arrival is dropped
//      (ASA's fixed early-arrival limit; needs a known arrival time).
//   4. Late: an event older than arrival - late-arrival tolerance is dropped
//      or re-timestamped to arrival - tolerance.
//   5. Out of order: the watermark is the largest event time seen minus the
//      out-of-order tolerance; an event below the watermark is dropped or
//      re-timestamped to the watermark. Events within the tolerance wait in
//      a reorder buffer and leave in timestamp order once the watermark
//      passes them. (ASA's docs also show an adjustment to arrival -
//      tolerance; Sluice follows the watermark rule of the time-handling
//      page, pinned by tests/sql/time_policy/out_of_order_adjust_target.test.)
// Without TIMESTAMP BY the policies do not apply (ASA ignores them for
// arrival time), and only ordering is enforced.
//
// Substreams (TIMESTAMP BY ... OVER k): each key keeps its largest event
// time, and the out-of-order rule of step 5 judges an event against its own
// key's (and never below the watermark). As a key not seen yet may start as
// far back as the late-arrival tolerance allows, the watermark is the
// largest event time of all minus the late-arrival tolerance (or the
// out-of-order tolerance if larger); a key whose own clock falls further
// behind is forgotten and its events are late (step 4). So a device with a
// slow clock keeps its own timestamps instead of being re-timestamped or
// dropped by the fleet's out-of-order rule, at the price of windows closing
// the late-arrival tolerance after the latest event. A NULL key rejects the
// event.
//
// Guarantee to downstream operators: rows leave in non-decreasing timestamp
// order, and after a watermark W every later row has a timestamp >= W.
#include <algorithm>
#include <chrono>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "engine/core/datetime.h"
#include "engine/core/saturating.h"
#include "engine/core/value_codec.h"
#include "engine/expr/expression.h"
#include "operators/builtin_operators.h"

namespace sluice {
namespace {

constexpr int64_t kEarlyArrivalLimit = 5 * kTicksPerMinute;

struct Pending {
  int64_t timestamp;
  uint64_t seq;   // arrival order, to keep ties stable
  uint32_t held;  // index into held_ batches
  uint32_t row;
};

// Min-heap order on (timestamp, seq).
bool Later(const Pending& a, const Pending& b) {
  return a.timestamp != b.timestamp ? a.timestamp > b.timestamp : a.seq > b.seq;
}

int64_t WallClockTicks() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
             .count() *
         kTicksPerMicrosecond;
}

class EventTimeOperator final : public Operator {
 public:
  EventTimeOperator(std::unique_ptr<Expression> timestamp_by,
                    std::vector<std::unique_ptr<Expression>> substream_keys,
                    const v1::TimePolicy& policy, int num_columns, int input)
      : timestamp_by_(std::move(timestamp_by)),
        substream_keys_(std::move(substream_keys)),
        ooo_tolerance_(timestamp_by_ ? policy.out_of_order_tolerance_ticks() : 0),
        late_tolerance_(policy.late_arrival_tolerance_ticks()),
        drop_(policy.action() == v1::TimePolicy::ACTION_DROP),
        num_columns_(num_columns),
        input_(input) {}

  std::vector<StateSpec> DeclareState() const override {
    return {{"clock",
             "largest event time, watermark, events waiting in the reorder buffer "
             "(out-of-order tolerance), and with substreams each key's largest event time",
             1}};
  }

  absl::Status Open(OperatorContext& ctx) override;
  absl::Status ProcessBatch(int port, const Batch& batch, Emitter& out) override;
  absl::Status ProcessWatermark(int64_t watermark, Emitter& out) override;
  absl::Status Checkpoint(StateWriteBatch& batch) override;
  absl::Status OnTick(int64_t wall_now, Emitter& out) override;
  size_t MemoryBytes() const override {
    // Held rows live in their batches' columns; count a typical row's worth.
    return pending_.size() * (sizeof(Pending) + 128) + key_max_.size() * 128;
  }

 private:
  // Releases buffered rows with timestamp <= `up_to`, in order.
  absl::Status Release(int64_t up_to, Emitter& out);
  void Hold(const Batch& batch, uint32_t row, int64_t timestamp);
  // Substreams: records `t` on `key`'s clock and moves the watermark.
  void AdvanceSubstream(const std::string& key, int64_t t);
  void SetKeyMax(const std::string& key, int64_t t) {
    auto [it, added] = key_max_.try_emplace(key, t);
    if (!added) {
      by_time_.erase({it->second, key});
      it->second = t;
    }
    by_time_.insert({t, key});
    dirty_keys_.insert(key);
  }

  std::unique_ptr<Expression> timestamp_by_;
  std::vector<std::unique_ptr<Expression>> substream_keys_;
  // Substreams: each key's largest event time, the same ordered by time,
  // and the keys changed since the last checkpoint.
  absl::flat_hash_map<std::string, int64_t> key_max_;
  absl::btree_set<std::pair<int64_t, std::string>> by_time_;
  absl::flat_hash_set<std::string> dirty_keys_;
  const int64_t ooo_tolerance_;
  const int64_t late_tolerance_;
  const bool drop_;
  const int num_columns_;
  const int input_;

  int64_t max_event_time_ = kBeginningOfTime;
  int64_t watermark_ = kBeginningOfTime;
  int64_t emitted_watermark_ = kBeginningOfTime;
  uint64_t next_seq_ = 0;
  // For idle inputs (ASA: "the watermark is the current estimated arrival
  // time minus the late arrival tolerance"): the last arrival time seen and
  // the wall-clock time it was seen at.
  int64_t last_arrival_ = kBeginningOfTime;
  int64_t last_arrival_wall_ = 0;
  std::vector<Pending> pending_;  // heap
  std::vector<Batch> held_;
  EvalContext eval_;
  std::vector<uint32_t> failed_;
};

absl::Status EventTimeOperator::Open(OperatorContext& ctx) {
  ctx_ = &ctx;
  const StateTable& table = ctx.table("clock");
  std::string meta;
  auto found = table.Get("m", &meta);
  if (!found.ok()) return found.status();
  if (!*found) return absl::OkStatus();
  std::string_view in(meta);
  uint64_t max_time, watermark, seq;
  if (!DecodeFixed64(&in, &max_time) || !DecodeFixed64(&in, &watermark) ||
      !DecodeFixed64(&in, &seq)) {
    return absl::DataLossError("event time state is malformed");
  }
  max_event_time_ = static_cast<int64_t>(max_time);
  watermark_ = static_cast<int64_t>(watermark);
  emitted_watermark_ = watermark_;
  next_seq_ = seq;
  // The latest arrival time and the wall-clock time it was seen at, so that
  // a restored task's watermark keeps moving with the clock from where the
  // last owner saw the last event: a partition that changes hands more
  // often than the late-arrival tolerance still closes its last windows.
  uint64_t last_arrival = 0, last_arrival_wall = 0;
  if (DecodeFixed64(&in, &last_arrival)) {
    last_arrival_ = static_cast<int64_t>(last_arrival);
    last_arrival_wall_ = DecodeFixed64(&in, &last_arrival_wall)
                             ? std::min(static_cast<int64_t>(last_arrival_wall), WallClockTicks())
                             : WallClockTicks();
  }
  BatchBuilder builder(num_columns_);
  std::vector<Pending> restored;
  bool ok = true;
  absl::Status s = table.Scan("r", [&](std::string_view key, std::string_view value) {
    if (key.size() != 17) {
      ok = false;
      return false;
    }
    Pending p;
    p.timestamp = ReadBigEndian64(key.substr(1, 8));
    p.seq = static_cast<uint64_t>(ReadBigEndian64(key.substr(9, 8)));
    p.held = 0;
    const uint32_t row = builder.AddRow(p.timestamp);
    p.row = row;
    uint64_t origin_input, origin_position;
    if (!DecodeVarint(&value, &origin_input) || !DecodeFixed64(&value, &origin_position)) {
      ok = false;
      return false;
    }
    RowOrigin origin{origin_input <= static_cast<uint64_t>(INT32_MAX)
                         ? static_cast<int32_t>(origin_input) - 1
                         : -1,
                     -1, static_cast<int64_t>(origin_position)};
    for (int c = 0; c < num_columns_; ++c) {
      Value v;
      if (!DecodeValue(&value, builder.arena(), &v)) {
        ok = false;
        return false;
      }
      builder.Set(c, row, v);
    }
    // The origin's partition follows the values (absent in older state).
    uint64_t origin_partition = 0;
    if (!value.empty() && DecodeVarint(&value, &origin_partition) &&
        origin_partition <= static_cast<uint64_t>(INT32_MAX)) {
      origin.partition = static_cast<int32_t>(origin_partition) - 1;
    }
    builder.SetOrigin(row, origin);
    restored.push_back(p);
    return true;
  });
  if (!s.ok()) return s;
  if (!ok) return absl::DataLossError("event time reorder buffer is malformed");
  if (!restored.empty()) {
    held_.push_back(builder.Finish());
    pending_ = std::move(restored);
    std::make_heap(pending_.begin(), pending_.end(), Later);
  }
  if (substream_keys_.empty()) return absl::OkStatus();
  s = table.Scan("k", [&](std::string_view key, std::string_view value) {
    uint64_t time = 0;
    if (!DecodeFixed64(&value, &time) || !value.empty()) {
      ok = false;
      return false;
    }
    std::string k(key.substr(1));
    key_max_[k] = static_cast<int64_t>(time);
    by_time_.insert({static_cast<int64_t>(time), std::move(k)});
    return true;
  });
  if (!s.ok()) return s;
  if (!ok) return absl::DataLossError("event time substream clock is malformed");
  return absl::OkStatus();
}

void EventTimeOperator::AdvanceSubstream(const std::string& key, int64_t t) {
  auto it = key_max_.find(key);
  if (it == key_max_.end() || it->second < t) SetKeyMax(key, t);
  // A key not seen yet may still start as far back as the late-arrival
  // tolerance allows: that is the watermark. Keys whose own clock is
  // further behind are judged by it alone, so they are forgotten.
  const int64_t drift =
      SaturatingSubtract(max_event_time_, std::max(late_tolerance_, ooo_tolerance_));
  while (!by_time_.empty() && SaturatingSubtract(by_time_.begin()->first, ooo_tolerance_) < drift) {
    key_max_.erase(by_time_.begin()->second);
    dirty_keys_.insert(by_time_.begin()->second);
    by_time_.erase(by_time_.begin());
  }
  watermark_ = std::max(watermark_, drift);
}

void EventTimeOperator::Hold(const Batch& batch, uint32_t row, int64_t timestamp) {
  if (held_.empty() || held_.back().columns != batch.columns) {
    held_.push_back(batch);
  }
  pending_.push_back(Pending{timestamp, next_seq_++, static_cast<uint32_t>(held_.size() - 1), row});
  std::push_heap(pending_.begin(), pending_.end(), Later);
}

absl::Status EventTimeOperator::ProcessBatch(int, const Batch& batch, Emitter& out) {
  const RowSet rows = batch.active_rows();
  ValueSpan values;
  Arena scratch(256);
  eval_.Reset(&scratch);
  if (timestamp_by_) values = timestamp_by_->Evaluate(batch, rows, eval_);
  std::vector<ValueSpan> keys;
  for (auto& k : substream_keys_) keys.push_back(k->Evaluate(batch, rows, eval_));
  std::string key;
  if (absl::Status s = RejectFailedRows(batch, eval_.errors(), out, &failed_); !s.ok()) {
    return s;
  }
  const std::vector<int64_t>* arrivals = batch.arrival_times.get();
  // Policies judge lateness against real arrival times only.
  const std::vector<int64_t>* policy_arrivals = batch.estimated_arrival ? nullptr : arrivals;
  if (!timestamp_by_ && arrivals == nullptr) {
    return absl::InternalError(absl::StrCat("input '", std::string(ctx_->input_name(input_)),
                                            "' is read by arrival time but its source gives none"));
  }
  TaskMetrics& metrics = ctx_->metrics();
  auto timestamps = std::make_shared<std::vector<int64_t>>(batch.num_rows, 0);
  std::vector<uint32_t> immediate;
  immediate.reserve(rows.count);
  size_t f = 0;
  for (uint32_t r : rows) {
    while (f < failed_.size() && failed_[f] < r) ++f;
    if (f < failed_.size() && failed_[f] == r) continue;
    int64_t t;
    if (timestamp_by_) {
      const Value& v = values[r];
      if (v.type() == ValueType::kDatetime) {
        t = v.ticks();
      } else if (v.type() == ValueType::kString) {
        auto parsed = ParseDatetime(v.string());
        if (!parsed) {
          RejectedRow rejected;
          if (const RowOrigin* o = batch.origin(r)) rejected.origin = *o;
          rejected.reason =
              absl::StrCat("TIMESTAMP BY value is not an ISO 8601 datetime: ", DebugString(v));
          if (absl::Status s = out.Reject(std::move(rejected)); !s.ok()) return s;
          continue;
        }
        t = *parsed;
      } else {
        RejectedRow rejected;
        if (const RowOrigin* o = batch.origin(r)) rejected.origin = *o;
        rejected.reason =
            v.is_null() ? std::string("TIMESTAMP BY value is missing (NULL)")
                        : absl::StrCat("TIMESTAMP BY value is not a datetime: ", TypeName(v.type()),
                                       " ", DebugString(v));
        if (absl::Status s = out.Reject(std::move(rejected)); !s.ok()) return s;
        continue;
      }
      if (!keys.empty()) {
        key.clear();
        bool null_key = false;
        for (const ValueSpan& k : keys) {
          null_key = null_key || k[r].is_null();
          EncodeValue(k[r], &key);
        }
        if (null_key) {
          // ASA's InvalidInputTimeStampKey.
          RejectedRow rejected;
          if (const RowOrigin* o = batch.origin(r)) rejected.origin = *o;
          rejected.reason = "TIMESTAMP BY ... OVER key is NULL";
          if (absl::Status s = out.Reject(std::move(rejected)); !s.ok()) return s;
          continue;
        }
      }
      if (policy_arrivals != nullptr) {
        const int64_t arrival = (*policy_arrivals)[r];
        if (t - arrival > kEarlyArrivalLimit) {
          TaskMetrics::Add(metrics.early_dropped, 1);
          continue;
        }
        if (t < SaturatingSubtract(arrival, late_tolerance_)) {
          if (drop_) {
            TaskMetrics::Add(metrics.late_dropped, 1);
            continue;
          }
          t = arrival - late_tolerance_;
          TaskMetrics::Add(metrics.late_adjusted, 1);
        }
      } else if (t < SaturatingSubtract(max_event_time_, late_tolerance_)) {
        // Arrival is the largest event time so far.
        if (drop_) {
          TaskMetrics::Add(metrics.late_dropped, 1);
          continue;
        }
        t = max_event_time_ - late_tolerance_;
        TaskMetrics::Add(metrics.late_adjusted, 1);
      }
      // Out of order: against the key's own clock with substreams.
      int64_t floor = watermark_;
      if (!keys.empty()) {
        if (auto it = key_max_.find(key); it != key_max_.end()) {
          floor = std::max(floor, SaturatingSubtract(it->second, ooo_tolerance_));
        }
      }
      if (t < floor) {
        if (drop_) {
          TaskMetrics::Add(metrics.out_of_order_dropped, 1);
          continue;
        }
        t = floor;
        TaskMetrics::Add(metrics.out_of_order_adjusted, 1);
      }
    } else {
      // Arrival time: policies do not apply; keep time from going back.
      t = std::max((*arrivals)[r], watermark_);
    }
    max_event_time_ = std::max(max_event_time_, t);
    const int64_t arrival = arrivals != nullptr ? (*arrivals)[r] : max_event_time_;
    if (arrival > last_arrival_) last_arrival_ = arrival;
    if (keys.empty()) {
      watermark_ = std::max(watermark_, SaturatingSubtract(max_event_time_, ooo_tolerance_));
    } else {
      AdvanceSubstream(key, t);
    }
    if (pending_.empty() && t <= watermark_) {
      (*timestamps)[r] = t;
      immediate.push_back(r);
    } else {
      Hold(batch, r, t);
    }
  }
  last_arrival_wall_ = WallClockTicks();
  if (!immediate.empty()) {
    Batch b = WithSelection(batch, std::move(immediate));
    b.timestamps = std::move(timestamps);
    if (absl::Status s = out.Emit(b); !s.ok()) return s;
  }
  if (absl::Status s = Release(watermark_, out); !s.ok()) return s;
  if (watermark_ > emitted_watermark_) {
    emitted_watermark_ = watermark_;
    metrics.watermark.store(watermark_, std::memory_order_relaxed);
    return out.EmitWatermark(watermark_);
  }
  return absl::OkStatus();
}

absl::Status EventTimeOperator::Release(int64_t up_to, Emitter& out) {
  if (pending_.empty() || pending_.front().timestamp > up_to) return absl::OkStatus();
  std::vector<Pending> ready;
  while (!pending_.empty() && pending_.front().timestamp <= up_to) {
    std::pop_heap(pending_.begin(), pending_.end(), Later);
    ready.push_back(pending_.back());
    pending_.pop_back();
  }
  Batch result;
  result.num_rows = static_cast<uint32_t>(ready.size());
  for (int c = 0; c < num_columns_; ++c) {
    auto column = std::make_shared<ValueVector>();
    column->reserve(ready.size());
    for (const Pending& p : ready) column->push_back(held_[p.held].value(c, p.row));
    result.columns.push_back(std::move(column));
  }
  auto timestamps = std::make_shared<std::vector<int64_t>>();
  auto origins = std::make_shared<std::vector<RowOrigin>>();
  timestamps->reserve(ready.size());
  origins->reserve(ready.size());
  for (const Pending& p : ready) {
    timestamps->push_back(p.timestamp);
    const RowOrigin* o = held_[p.held].origin(p.row);
    origins->push_back(o ? *o : RowOrigin{});
  }
  result.timestamps = std::move(timestamps);
  result.origins = std::move(origins);
  for (const Batch& h : held_) {
    for (const auto& arena : h.arenas) {
      if (std::find(result.arenas.begin(), result.arenas.end(), arena) == result.arenas.end()) {
        result.arenas.push_back(arena);
      }
    }
  }
  if (pending_.empty()) {
    held_.clear();
  } else if (held_.size() > 32) {
    // Compact: copy the rows still waiting into one batch so that released
    // batches can be freed.
    std::vector<Pending> rest = std::move(pending_);
    pending_.clear();
    std::vector<uint32_t> unused;
    Batch compact;
    compact.num_rows = static_cast<uint32_t>(rest.size());
    for (int c = 0; c < num_columns_; ++c) {
      auto column = std::make_shared<ValueVector>();
      for (const Pending& p : rest) column->push_back(held_[p.held].value(c, p.row));
      compact.columns.push_back(std::move(column));
    }
    auto origins2 = std::make_shared<std::vector<RowOrigin>>();
    for (const Pending& p : rest) {
      const RowOrigin* o = held_[p.held].origin(p.row);
      origins2->push_back(o ? *o : RowOrigin{});
    }
    compact.origins = std::move(origins2);
    compact.timestamps = std::make_shared<std::vector<int64_t>>(rest.size(), 0);
    compact.arenas = result.arenas;
    held_.clear();
    held_.push_back(std::move(compact));
    for (uint32_t i = 0; i < rest.size(); ++i) {
      rest[i].held = 0;
      rest[i].row = i;
    }
    pending_ = std::move(rest);
    std::make_heap(pending_.begin(), pending_.end(), Later);
  }
  return out.Emit(result);
}

absl::Status EventTimeOperator::OnTick(int64_t wall_now, Emitter& out) {
  if (last_arrival_ == kBeginningOfTime || watermark_ == kEndOfTime) return absl::OkStatus();
  const int64_t estimated_arrival =
      last_arrival_ + std::max<int64_t>(0, wall_now - last_arrival_wall_);
  const int64_t candidate = SaturatingSubtract(estimated_arrival, late_tolerance_);
  if (candidate <= watermark_) return absl::OkStatus();
  watermark_ = candidate;
  if (absl::Status s = Release(watermark_, out); !s.ok()) return s;
  emitted_watermark_ = watermark_;
  ctx_->metrics().watermark.store(watermark_, std::memory_order_relaxed);
  return out.EmitWatermark(watermark_);
}

absl::Status EventTimeOperator::ProcessWatermark(int64_t watermark, Emitter& out) {
  // Upstream watermarks only mark the end of input; event time makes its own.
  if (watermark != kEndOfTime) return absl::OkStatus();
  if (absl::Status s = Release(kEndOfTime, out); !s.ok()) return s;
  watermark_ = kEndOfTime;
  emitted_watermark_ = kEndOfTime;
  return out.EmitWatermark(kEndOfTime);
}

absl::Status EventTimeOperator::Checkpoint(StateWriteBatch& batch) {
  const StateTable& table = ctx_->table("clock");
  std::string meta;
  EncodeFixed64(static_cast<uint64_t>(max_event_time_), &meta);
  EncodeFixed64(static_cast<uint64_t>(watermark_), &meta);
  EncodeFixed64(next_seq_, &meta);
  EncodeFixed64(static_cast<uint64_t>(last_arrival_), &meta);
  EncodeFixed64(static_cast<uint64_t>(last_arrival_wall_), &meta);
  batch.Put(table, "m", meta);
  batch.DeletePrefix(table, "r");
  std::string key;
  std::string value;
  for (const Pending& p : pending_) {
    key.assign("r");
    AppendBigEndian64(p.timestamp, &key);
    AppendBigEndian64(static_cast<int64_t>(p.seq), &key);
    value.clear();
    const RowOrigin* o = held_[p.held].origin(p.row);
    EncodeVarint(static_cast<uint64_t>((o ? o->input : -1) + 1), &value);
    EncodeFixed64(static_cast<uint64_t>(o ? o->position : -1), &value);
    for (int c = 0; c < num_columns_; ++c) {
      EncodeValue(held_[p.held].value(c, p.row), &value);
    }
    EncodeVarint(static_cast<uint64_t>((o ? o->partition : -1) + 1), &value);
    batch.Put(table, key, value);
  }
  for (const std::string& k : dirty_keys_) {
    key.assign("k");
    key.append(k);
    if (auto it = key_max_.find(k); it != key_max_.end()) {
      value.clear();
      EncodeFixed64(static_cast<uint64_t>(it->second), &value);
      batch.Put(table, key, value);
    } else {
      batch.Delete(table, key);
    }
  }
  dirty_keys_.clear();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Operator>> MakeEventTimeOperator(const v1::Node& node,
                                                                const v1::Plan& plan) {
  std::unique_ptr<Expression> timestamp_by;
  if (node.event_time().has_timestamp_by()) {
    auto e = CompileExpression(node.event_time().timestamp_by());
    if (!e.ok()) return e.status();
    timestamp_by = *std::move(e);
  }
  std::vector<std::unique_ptr<Expression>> substream_keys;
  for (const v1::Expr& k : node.event_time().substream_keys()) {
    auto e = CompileExpression(k);
    if (!e.ok()) return e.status();
    substream_keys.push_back(*std::move(e));
  }
  if (!substream_keys.empty() && !timestamp_by) {
    return absl::InvalidArgumentError("substreams need TIMESTAMP BY");
  }
  int input = 0;
  if (node.inputs_size() == 1) {
    const v1::Node& up = plan.nodes(node.inputs(0));
    if (up.has_source()) input = up.source().input();
  }
  return std::make_unique<EventTimeOperator>(std::move(timestamp_by), std::move(substream_keys),
                                             node.event_time().policy(),
                                             node.schema().columns_size(), input);
}

}  // namespace sluice

// Analytic functions (AnalyticNode in proto/plan.proto): LAG, LAST, ISFIRST
// and the analytic aggregates over the rows of one PARTITION BY key, in the
// order the task reads them (time order; ties in arrival order).
//
// Per function and key: LAG and LAST keep the last `offset` (LAST: one)
// matching rows' times and values, encoded; a row older than LIMIT DURATION
// before the current one no longer counts, and leaves once the watermark
// is that far past it. An aggregate keeps every matching row within LIMIT
// DURATION (its argument coerced as the window aggregate does) and folds
// them afresh for each row, so a restored task computes bit-identical
// floats. ISFIRST keeps the end of the interval its last
// matching row fell in, until the watermark passes that end.
//
// State: per (function, key) one entry, written at each checkpoint for the
// keys that changed since the last one; Open reads them back.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "engine/core/row_json.h"
#include "engine/core/saturating.h"
#include "engine/core/value_codec.h"
#include "engine/expr/expression.h"
#include "operators/aggregate_functions.h"
#include "operators/anomaly_detection.h"
#include "operators/builtin_operators.h"

namespace sluice {
namespace {

using Kind = v1::AnalyticNode::Function::Kind;
constexpr Kind kAggregate = v1::AnalyticNode::Function::KIND_AGGREGATE;
constexpr Kind kSpikeAndDip = v1::AnalyticNode::Function::KIND_SPIKE_AND_DIP;
constexpr Kind kChangePoint = v1::AnalyticNode::Function::KIND_CHANGE_POINT;

bool IsAnomaly(Kind kind) { return kind == kSpikeAndDip || kind == kChangePoint; }

// One key's anomaly detector and the time of its last matching row.
struct Detector {
  std::unique_ptr<SpikeAndDipDetector> spikes;
  std::unique_ptr<ChangePointDetector> changes;
  int64_t last = 0;

  AnomalyResult Update(double x) { return spikes ? spikes->Update(x) : changes->Update(x); }
  std::string Save() const { return spikes ? spikes->SaveState() : changes->SaveState(); }
  bool Restore(std::string_view bytes) {
    return spikes ? spikes->RestoreState(bytes) : changes->RestoreState(bytes);
  }
};

struct Seen {
  int64_t time;
  std::string value;  // encoded (value_codec.h)
};

struct AlignedDelete {
  void operator()(std::byte* p) const { ::operator delete[](p, std::align_val_t(16)); }
};

struct Function {
  Kind kind;
  std::unique_ptr<Expression> value;
  std::unique_ptr<Expression> default_value;
  std::unique_ptr<Expression> when;
  int64_t offset = 0;
  int64_t duration = 0;
  int64_t interval = 0;
  // LAG, LAST: per key, the matching rows that may still be looked up,
  // oldest first.
  absl::flat_hash_map<std::string, std::deque<Seen>> history;
  // ISFIRST: per key, the end of the interval of its last matching row.
  absl::flat_hash_map<std::string, int64_t> interval_end;
  // (time, key) in the order they were added, for eviction by watermark:
  // a row's time (LAG, LAST) or an interval's end (ISFIRST).
  std::deque<std::pair<int64_t, std::string>> expiry;
  // AGGREGATE: the function, a state to fold into and the folded values.
  std::unique_ptr<AggregateFunction> aggregate;
  std::unique_ptr<std::byte[], AlignedDelete> state;
  std::vector<Value> values;
  std::vector<void*> states;
  // Anomaly detection: the arguments and a detector per key.
  double confidence = 0;
  int history_size = 0;
  SpikeMode spike_mode = SpikeMode::kSpikes;
  absl::flat_hash_map<std::string, Detector> detectors;

  Detector NewDetector() const {
    Detector d;
    if (kind == kSpikeAndDip) {
      d.spikes = std::make_unique<SpikeAndDipDetector>(confidence, history_size, spike_mode);
    } else {
      d.changes = std::make_unique<ChangePointDetector>(confidence, history_size);
    }
    return d;
  }
};

// The end of the (end - interval, end] interval that holds `t`, aligned as
// tumbling windows are.
int64_t IntervalEnd(int64_t t, int64_t interval) {
  int64_t q = t / interval;
  if (q * interval < t) ++q;  // ceiling, also for negative times
  int64_t end = 0;
  if (__builtin_mul_overflow(q, interval, &end)) return t < 0 ? INT64_MIN : INT64_MAX;
  return end;
}

class AnalyticOperator final : public Operator {
 public:
  AnalyticOperator(std::vector<std::unique_ptr<Expression>> keys, std::vector<Function> functions,
                   size_t width, const v1::Schema& input)
      : keys_(std::move(keys)), functions_(std::move(functions)), width_(width), describe_(input) {}

  std::vector<StateSpec> DeclareState() const override {
    return {{"analytic",
             "per function and PARTITION BY key: LAG and LAST the matching rows still within "
             "LIMIT DURATION, ISFIRST the interval of its last matching row",
             1}};
  }

  absl::Status Open(OperatorContext& ctx) override {
    ctx_ = &ctx;
    table_ = ctx.table("analytic");
    absl::Status bad;
    absl::Status scanned = table_.Scan("", [&](std::string_view key, std::string_view value) {
      std::string_view rest = key;
      uint64_t index = 0;
      if (!DecodeVarint(&rest, &index) || index >= functions_.size() ||
          !Restore(index, rest, value)) {
        bad = absl::DataLossError("an analytic function's state entry is malformed");
        return false;
      }
      return true;
    });
    if (!scanned.ok()) return scanned;
    for (Function& f : functions_) {
      std::sort(f.expiry.begin(), f.expiry.end());
    }
    return bad;
  }

  absl::Status ProcessBatch(int, const Batch& batch, Emitter& out) override {
    const RowSet rows = batch.active_rows();
    // Values may live in the scratch arena (computed strings): the output
    // batch keeps it.
    auto scratch = std::make_shared<Arena>(1024);
    eval_.Reset(scratch.get());
    std::vector<ValueSpan> keys;
    for (auto& k : keys_) keys.push_back(k->Evaluate(batch, rows, eval_));
    struct Spans {
      ValueSpan value, default_value, when;
    };
    std::vector<Spans> spans(functions_.size());
    for (size_t i = 0; i < functions_.size(); ++i) {
      Function& f = functions_[i];
      if (f.value) spans[i].value = f.value->Evaluate(batch, rows, eval_);
      if (f.default_value) spans[i].default_value = f.default_value->Evaluate(batch, rows, eval_);
      if (f.when) spans[i].when = f.when->Evaluate(batch, rows, eval_);
    }
    // An aggregate's argument as the window aggregate reads it: a row whose
    // value it cannot take is rejected.
    std::vector<std::vector<Value>> coerced(functions_.size());
    std::string error;
    for (size_t i = 0; i < functions_.size(); ++i) {
      Function& f = functions_[i];
      if (IsAnomaly(f.kind)) {
        for (uint32_t r : rows) {
          if (f.when && TruthValue(spans[i].when[r]) != 1) continue;
          const Value& v = spans[i].value[r];
          if (!v.is_null() && v.type() != ValueType::kBigint && v.type() != ValueType::kFloat) {
            eval_.AddError(
                r, absl::StrCat(f.kind == kSpikeAndDip ? "AnomalyDetection_SpikeAndDip"
                                                       : "AnomalyDetection_ChangePoint",
                                " expects a number: ", TypeName(v.type()), " ", DebugString(v)));
          }
        }
        continue;
      }
      if (f.kind != kAggregate || !f.value) continue;
      coerced[i].resize(batch.num_rows);
      for (uint32_t r : rows) {
        if (f.when && TruthValue(spans[i].when[r]) != 1) continue;
        if (!f.aggregate->Coerce(spans[i].value[r], &coerced[i][r], &error)) {
          eval_.AddError(r, error);
        }
      }
    }
    if (absl::Status s = RejectFailedRows(batch, eval_.errors(), out, &failed_, &describe_);
        !s.ok()) {
      return s;
    }
    BatchBuilder builder(width_ + functions_.size(), rows.count);
    for (const auto& arena : batch.arenas) builder.AddArena(arena);
    builder.AddArena(scratch);
    std::string key;
    std::string encoded;
    size_t f_at = 0;
    for (uint32_t r : rows) {
      while (f_at < failed_.size() && failed_[f_at] < r) ++f_at;
      if (f_at < failed_.size() && failed_[f_at] == r) continue;
      key.clear();
      for (const ValueSpan& k : keys) EncodeValue(k[r], &key);
      const int64_t t = batch.timestamp(r);
      const uint32_t row = builder.AddRow(t);
      for (size_t c = 0; c < width_; ++c) builder.Set(c, row, batch.value(c, r));
      for (size_t i = 0; i < functions_.size(); ++i) {
        Function& f = functions_[i];
        const bool matches = !f.when || TruthValue(spans[i].when[r]) == 1;
        Value result;
        if (IsAnomaly(f.kind)) {
          // {IsAnomaly, Score} for a matching row with a value; NULL else.
          const Value& v = spans[i].value[r];
          if (matches && !v.is_null()) {
            auto [it, added] = f.detectors.try_emplace(key);
            // A key quiet for longer than LIMIT DURATION starts afresh, as
            // the watermark would have made it (whatever the batching).
            if (added || it->second.last < SaturatingSubtract(t, f.duration)) {
              it->second = f.NewDetector();
            }
            const AnomalyResult a = it->second.Update(
                v.type() == ValueType::kBigint ? static_cast<double>(v.bigint()) : v.float_value());
            it->second.last = t;
            f.expiry.emplace_back(t, key);
            dirty_.insert({i, key});
            RecordField* fields = builder.arena()->AllocateArray<RecordField>(2);
            fields[0] = RecordField{"IsAnomaly", Value::Bigint(a.is_anomaly ? 1 : 0)};
            fields[1] = RecordField{
                "Score", Value::Float(std::isfinite(a.score) ? a.score
                                                             : std::numeric_limits<double>::max())};
            result = Value::Record(fields, 2);
          }
        } else if (f.kind == kAggregate) {
          std::deque<Seen>* seen = nullptr;
          if (auto it = f.history.find(key); it != f.history.end()) seen = &it->second;
          const int64_t oldest = SaturatingSubtract(t, f.duration);
          while (seen != nullptr && !seen->empty() && seen->front().time < oldest) {
            seen->pop_front();
            dirty_.insert({i, key});
          }
          if (matches) {
            if (seen == nullptr) seen = &f.history[key];
            encoded.clear();
            if (f.value) EncodeValue(coerced[i][r], &encoded);
            seen->push_back(Seen{t, encoded});
            f.expiry.emplace_back(t, key);
            dirty_.insert({i, key});
          }
          if (!Fold(f, seen, builder.arena(), &result)) {
            return absl::DataLossError("an analytic aggregate's remembered value is malformed");
          }
        } else if (f.kind == v1::AnalyticNode::Function::KIND_ISFIRST) {
          result = Value::Bigint(0);
          if (matches) {
            const int64_t end = IntervalEnd(t, f.interval);
            auto [it, added] = f.interval_end.try_emplace(key, end);
            if (added || it->second != end) {
              it->second = end;
              result = Value::Bigint(1);
              f.expiry.emplace_back(end, key);
              dirty_.insert({i, key});
            }
          }
        } else {
          std::deque<Seen>* seen = nullptr;
          if (auto it = f.history.find(key); it != f.history.end()) seen = &it->second;
          // Rows more than LIMIT DURATION before this one no longer count.
          const int64_t oldest = SaturatingSubtract(t, f.duration);
          while (seen != nullptr && !seen->empty() && seen->front().time < oldest) {
            seen->pop_front();
            dirty_.insert({i, key});
          }
          const size_t back = static_cast<size_t>(f.offset);  // 0 for LAST: this row
          if (f.kind == v1::AnalyticNode::Function::KIND_LAST && matches) {
            result = spans[i].value[r];
          } else {
            const size_t have = seen == nullptr ? 0 : seen->size();
            const size_t need = std::max<size_t>(back, 1);
            if (have >= need) {
              std::string_view in = (*seen)[have - need].value;
              if (!DecodeValue(&in, builder.arena(), &result)) {
                return absl::DataLossError("an analytic function's remembered value is malformed");
              }
            } else {
              result = f.default_value ? spans[i].default_value[r] : Value::Null();
            }
          }
          if (matches) {
            if (seen == nullptr) seen = &f.history[key];
            encoded.clear();
            EncodeValue(spans[i].value[r], &encoded);
            seen->push_back(Seen{t, encoded});
            while (seen->size() > std::max<size_t>(back, 1)) seen->pop_front();
            f.expiry.emplace_back(t, key);
            dirty_.insert({i, key});
          }
        }
        builder.Set(width_ + i, row, result);
      }
      if (const RowOrigin* origin = batch.origin(r)) builder.SetOrigin(row, *origin);
      if (const JoinedOrigins* others = batch.paired_origins(r)) builder.SetPaired(row, *others);
      const int64_t low = batch.LowPosition(r);
      if (low >= 0 && batch.low_positions) builder.SetLowPosition(row, low);
    }
    if (builder.num_rows() == 0) return absl::OkStatus();
    return out.Emit(builder.Finish());
  }

  absl::Status ProcessWatermark(int64_t watermark, Emitter& out) override {
    // Every later row has a time >= watermark.
    for (size_t i = 0; i < functions_.size(); ++i) {
      Function& f = functions_[i];
      const bool isfirst = f.kind == v1::AnalyticNode::Function::KIND_ISFIRST;
      const int64_t before = isfirst ? watermark : SaturatingSubtract(watermark, f.duration);
      while (!f.expiry.empty() && f.expiry.front().first < before) {
        const std::string key = std::move(f.expiry.front().second);
        f.expiry.pop_front();
        if (IsAnomaly(f.kind)) {
          // A key quiet for LIMIT DURATION starts a new history.
          auto it = f.detectors.find(key);
          if (it != f.detectors.end() && it->second.last < before) {
            f.detectors.erase(it);
            dirty_.insert({i, key});
          }
          continue;
        }
        if (isfirst) {
          auto it = f.interval_end.find(key);
          if (it != f.interval_end.end() && it->second < before) {
            f.interval_end.erase(it);
            dirty_.insert({i, key});
          }
          continue;
        }
        auto it = f.history.find(key);
        if (it == f.history.end()) continue;
        std::deque<Seen>& seen = it->second;
        while (!seen.empty() && seen.front().time < before) seen.pop_front();
        if (seen.empty()) f.history.erase(it);
        dirty_.insert({i, key});
      }
    }
    return out.EmitWatermark(watermark);
  }

  absl::Status Checkpoint(StateWriteBatch& batch) override {
    std::string key;
    std::string value;
    for (const auto& [i, partition] : dirty_) {
      const Function& f = functions_[i];
      key.clear();
      EncodeVarint(i, &key);
      key.append(partition);
      value.clear();
      bool present = false;
      if (IsAnomaly(f.kind)) {
        if (auto it = f.detectors.find(partition); it != f.detectors.end()) {
          EncodeFixed64(static_cast<uint64_t>(it->second.last), &value);
          value.append(it->second.Save());
          present = true;
        }
      } else if (f.kind == v1::AnalyticNode::Function::KIND_ISFIRST) {
        if (auto it = f.interval_end.find(partition); it != f.interval_end.end()) {
          EncodeFixed64(static_cast<uint64_t>(it->second), &value);
          present = true;
        }
      } else if (auto it = f.history.find(partition);
                 it != f.history.end() && !it->second.empty()) {
        EncodeVarint(it->second.size(), &value);
        for (const Seen& s : it->second) {
          EncodeFixed64(static_cast<uint64_t>(s.time), &value);
          EncodeBytes(s.value, &value);
        }
        present = true;
      }
      if (present) {
        batch.Put(table_, key, value);
      } else {
        batch.Delete(table_, key);
      }
    }
    dirty_.clear();
    return absl::OkStatus();
  }

  size_t MemoryBytes() const override {
    size_t bytes = 0;
    for (const Function& f : functions_) {
      for (const auto& [key, seen] : f.history) {
        bytes += key.size() + 64;
        for (const Seen& s : seen) bytes += s.value.size() + 24;
      }
      bytes += f.interval_end.size() * 48 + f.expiry.size() * 40;
      bytes += f.detectors.size() * (static_cast<size_t>(f.history_size) * 8 + 96);
    }
    return bytes;
  }

 private:
  // The aggregate of the rows in `seen` (none: the empty aggregate).
  static bool Fold(Function& f, const std::deque<Seen>* seen, Arena* arena, Value* result) {
    const size_t n = seen == nullptr ? 0 : seen->size();
    f.values.resize(n);
    f.states.assign(n, f.state.get());
    if (f.value) {
      for (size_t k = 0; k < n; ++k) {
        std::string_view in = (*seen)[k].value;
        if (!DecodeValue(&in, arena, &f.values[k])) return false;
      }
    }
    f.aggregate->Init(f.state.get());
    f.aggregate->Update(f.states.data(), 0, f.value ? f.values.data() : nullptr, n);
    *result = f.aggregate->Finalize(f.state.get(), arena);
    f.aggregate->Destroy(f.state.get());
    return true;
  }

  bool Restore(size_t index, std::string_view key, std::string_view value) {
    Function& f = functions_[index];
    if (IsAnomaly(f.kind)) {
      uint64_t last = 0;
      if (!DecodeFixed64(&value, &last)) return false;
      Detector d = f.NewDetector();
      if (!d.Restore(value)) return false;
      d.last = static_cast<int64_t>(last);
      f.detectors[std::string(key)] = std::move(d);
      f.expiry.emplace_back(static_cast<int64_t>(last), std::string(key));
      return true;
    }
    if (f.kind == v1::AnalyticNode::Function::KIND_ISFIRST) {
      uint64_t end = 0;
      if (!DecodeFixed64(&value, &end) || !value.empty()) return false;
      f.interval_end[std::string(key)] = static_cast<int64_t>(end);
      f.expiry.emplace_back(static_cast<int64_t>(end), std::string(key));
      return true;
    }
    uint64_t count = 0;
    // Each remembered row takes at least nine bytes.
    if (!DecodeVarint(&value, &count) || count == 0 || count > value.size() / 9) return false;
    std::deque<Seen>& seen = f.history[std::string(key)];
    for (uint64_t n = 0; n < count; ++n) {
      uint64_t time = 0;
      std::string_view bytes;
      if (!DecodeFixed64(&value, &time) || !DecodeBytes(&value, &bytes)) return false;
      seen.push_back(Seen{static_cast<int64_t>(time), std::string(bytes)});
      f.expiry.emplace_back(static_cast<int64_t>(time), std::string(key));
    }
    return value.empty();
  }

  std::vector<std::unique_ptr<Expression>> keys_;
  std::vector<Function> functions_;
  const size_t width_;
  RowJsonWriter describe_;
  EvalContext eval_;
  std::vector<uint32_t> failed_;
  StateTable table_;
  absl::btree_set<std::pair<size_t, std::string>> dirty_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Operator>> MakeAnalyticOperator(const v1::Node& node,
                                                               const v1::Plan& plan) {
  const v1::AnalyticNode& spec = node.analytic();
  if (node.inputs_size() != 1 || spec.functions().empty()) {
    return absl::InvalidArgumentError("malformed analytic node");
  }
  std::vector<std::unique_ptr<Expression>> keys;
  for (const v1::Expr& e : spec.partition_by()) {
    auto compiled = CompileExpression(e);
    if (!compiled.ok()) return compiled.status();
    keys.push_back(*std::move(compiled));
  }
  std::vector<Function> functions;
  for (const v1::AnalyticNode::Function& spec_f : spec.functions()) {
    Function f;
    f.kind = spec_f.kind();
    const bool isfirst = f.kind == v1::AnalyticNode::Function::KIND_ISFIRST;
    if (IsAnomaly(f.kind)) {
      const std::string invalid =
          f.kind == kSpikeAndDip
              ? SpikeAndDipDetector::Validate(spec_f.confidence(), spec_f.history_size())
              : ChangePointDetector::Validate(spec_f.confidence(), spec_f.history_size());
      if (!invalid.empty() || spec_f.duration_ticks() <= 0 || !spec_f.has_value() ||
          spec_f.spike_mode() < 0 || spec_f.spike_mode() > 2) {
        return absl::InvalidArgumentError(
            absl::StrCat("malformed anomaly detection function: ", invalid));
      }
      f.confidence = spec_f.confidence();
      f.history_size = static_cast<int>(spec_f.history_size());
      f.spike_mode = static_cast<SpikeMode>(spec_f.spike_mode());
    } else if (f.kind == kAggregate) {
      auto aggregate = MakeAggregateFunction(spec_f.aggregate());
      if (!aggregate.ok()) return aggregate.status();
      f.aggregate = *std::move(aggregate);
      if (spec_f.duration_ticks() <= 0 || spec_f.has_value() != f.aggregate->takes_argument()) {
        return absl::InvalidArgumentError("malformed analytic aggregate");
      }
      f.state.reset(new (std::align_val_t(16)) std::byte[f.aggregate->state_size()]);
    } else if ((isfirst && spec_f.interval_ticks() <= 0) ||
               (!isfirst &&
                (spec_f.duration_ticks() <= 0 || !spec_f.has_value() || spec_f.offset() < 0 ||
                 spec_f.offset() > 10'000 ||
                 (f.kind == v1::AnalyticNode::Function::KIND_LAG && spec_f.offset() < 1)))) {
      return absl::InvalidArgumentError("malformed analytic function");
    }
    f.offset = spec_f.offset();
    f.duration = spec_f.duration_ticks();
    f.interval = spec_f.interval_ticks();
    for (auto [has, source, target] :
         {std::tuple{spec_f.has_value(), &spec_f.value(), &f.value},
          std::tuple{spec_f.has_default_value(), &spec_f.default_value(), &f.default_value},
          std::tuple{spec_f.has_when(), &spec_f.when(), &f.when}}) {
      if (!has) continue;
      auto compiled = CompileExpression(*source);
      if (!compiled.ok()) return compiled.status();
      *target = *std::move(compiled);
    }
    functions.push_back(std::move(f));
  }
  const v1::Schema& input = plan.nodes(node.inputs(0)).schema();
  return std::make_unique<AnalyticOperator>(std::move(keys), std::move(functions),
                                            static_cast<size_t>(input.columns_size()), input);
}

}  // namespace sluice

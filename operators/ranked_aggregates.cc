// Aggregates that rank or keep their group's rows: TopOne, Collect,
// CollectTop, PERCENTILE_CONT and PERCENTILE_DISC (the counting and summing
// ones are in aggregate_functions.cc).
#include <algorithm>
#include <cmath>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/core/conversion.h"
#include "engine/core/datetime.h"
#include "engine/core/value_codec.h"
#include "operators/aggregate_internal.h"

namespace sluice::aggregate_internal {
namespace {

// An ordering value of TopOne, CollectTop and the percentiles.
struct Key {
  bool is_datetime;
  bool is_float;
  int64_t i;
  double f;
};

// Text that holds a number or an ISO 8601 datetime counts as one, as in
// MIN and MAX (JSON has no datetime type).
bool ToKey(const Value& v, Key* key) {
  switch (v.type()) {
    case ValueType::kBigint:
      *key = Key{false, false, v.bigint(), 0.0};
      return true;
    case ValueType::kDatetime:
      *key = Key{true, false, v.ticks(), 0.0};
      return true;
    case ValueType::kFloat:
      *key = Key{false, true, 0, v.float_value()};
      return true;
    case ValueType::kString:
      if (auto d = NumericValue(v)) {
        *key = Key{false, true, 0, *d};
        return true;
      }
      if (auto t = ParseDatetime(v.string())) {
        *key = Key{true, false, *t, 0.0};
        return true;
      }
      return false;
    default:
      return false;
  }
}

// -1, 0, 1 as a ranks before, with or after b (ascending).
int CompareKeys(const Key& a, const Key& b) {
  if (!a.is_float && !b.is_float) return a.i < b.i ? -1 : (a.i > b.i ? 1 : 0);
  const double x = a.is_float ? a.f : static_cast<double>(a.i);
  const double y = b.is_float ? b.f : static_cast<double>(b.i);
  return x < y ? -1 : (x > y ? 1 : 0);
}

void EncodeKey(const Key& k, std::string* out) {
  out->push_back(static_cast<char>((k.is_datetime ? 1 : 0) | (k.is_float ? 2 : 0)));
  if (k.is_float) {
    EncodeDouble(k.f, out);
  } else {
    EncodeFixed64(static_cast<uint64_t>(k.i), out);
  }
}

bool DecodeKey(std::string_view* in, Key* k) {
  if (in->empty()) return false;
  const int tag = (*in)[0];
  in->remove_prefix(1);
  k->is_datetime = (tag & 1) != 0;
  k->is_float = (tag & 2) != 0;
  uint64_t u = 0;
  if (k->is_float ? !DecodeDouble(in, &k->f) : !DecodeFixed64(in, &u)) return false;
  k->i = static_cast<int64_t>(u);
  return true;
}

// The argument of TopOne, Collect and CollectTop: [ordering values...,
// payload]. An ordering value that is not NULL must read as a Key.
bool CoerceRanked(const char* fn, size_t keys, const Value& in, Value* out, std::string* error) {
  if (in.type() != ValueType::kArray || in.size() != keys + 1) {
    *error = absl::StrCat(fn, ": internal error: malformed argument");
    return false;
  }
  Key key;
  for (size_t k = 0; k < keys; ++k) {
    const Value& v = in.items()[k];
    if (v.is_null() || ToKey(v, &key)) continue;
    *error = absl::StrCat(fn, " orders by bigint, float or datetime values, not ",
                          TypeName(v.type()), " ", DebugString(v));
    return false;
  }
  *out = in;
  return true;
}

// TopOne([expr]) OVER (ORDER BY a [DESC], ...): the payload of the row that
// ranks first. The argument is an array [a, ..., payload]. Ordering values
// must be bigint, float or datetime (ASA); rows with a NULL ordering value
// are skipped. Ties go to the payload whose encoding is smaller, so the
// answer does not depend on the order rows arrive in.
class TopOne final : public AggregateFunction {
  struct State {
    bool has = false;
    std::vector<Key> keys;
    std::string payload;  // EncodeValue of the payload
  };

 public:
  explicit TopOne(std::vector<bool> descending) : descending_(std::move(descending)) {}

  size_t state_size() const override { return RoundUp16(sizeof(State)); }
  void Init(void* s) const override { new (s) State(); }
  void Destroy(void* s) const override { As<State>(s)->~State(); }

  bool Coerce(const Value& in, Value* out, std::string* error) const override {
    return CoerceRanked("TopOne", descending_.size(), in, out, error);
  }

  void Update(void* const* states, size_t offset, const Value* values, size_t n) const override {
    std::vector<Key> keys(descending_.size());
    std::string payload;
    for (size_t i = 0; i < n; ++i) {
      const Value& row = values[i];
      if (row.type() != ValueType::kArray) continue;
      bool skip = false;
      for (size_t k = 0; k < keys.size(); ++k) {
        const Value& v = row.items()[k];
        if (v.is_null() || !ToKey(v, &keys[k])) {
          skip = true;
          break;
        }
      }
      if (skip) continue;
      payload.clear();
      EncodeValue(row.items()[keys.size()], &payload);
      State* st = As<State>(static_cast<char*>(states[i]) + offset);
      if (!st->has || Better(keys, payload, st->keys, st->payload)) {
        st->has = true;
        st->keys = keys;
        st->payload = payload;
      }
    }
  }

  Value Finalize(const void* s, Arena* arena) const override {
    const State* st = As<State>(s);
    if (!st->has) return Value::Null();
    std::string_view in = st->payload;
    Value v;
    if (!DecodeValue(&in, arena, &v)) return Value::Null();
    return v;
  }

  void Encode(const void* s, std::string* out) const override {
    const State* st = As<State>(s);
    out->push_back(st->has ? 1 : 0);
    if (!st->has) return;
    for (const Key& k : st->keys) EncodeKey(k, out);
    EncodeBytes(st->payload, out);
  }

  bool Decode(std::string_view* in, void* s) const override {
    State* st = As<State>(s);
    if (in->empty()) return false;
    st->has = (*in)[0] != 0;
    in->remove_prefix(1);
    if (!st->has) return true;
    st->keys.resize(descending_.size());
    for (Key& k : st->keys) {
      if (!DecodeKey(in, &k)) return false;
    }
    std::string_view payload;
    if (!DecodeBytes(in, &payload)) return false;
    st->payload.assign(payload);
    return true;
  }

 private:
  bool Better(const std::vector<Key>& keys, const std::string& payload,
              const std::vector<Key>& best_keys, const std::string& best_payload) const {
    for (size_t k = 0; k < keys.size(); ++k) {
      int c = CompareKeys(keys[k], best_keys[k]);
      if (descending_[k]) c = -c;
      if (c != 0) return c < 0;
    }
    return payload < best_payload;
  }

  std::vector<bool> descending_;
};

// Collect([expr]) and CollectTop(n[, expr]) OVER (ORDER BY ...): `arg` is
// [ordering values..., payload] as TopOne's. Collect keeps every row (no
// ordering values; the array is ordered by the payloads' encoding, so it is
// the same however the rows were split or replayed); CollectTop keeps the
// `limit` best rows, a NULL ordering value ranking as the least (ASA), and
// returns [{rank, value}, ...] best first, equal rows sharing a rank.
class Collector final : public AggregateFunction {
  struct Entry {
    std::vector<Key> keys;
    std::vector<bool> nulls;
    std::string payload;  // EncodeValue of the payload
  };
  struct State {
    std::vector<Entry> entries;  // best first
  };

 public:
  Collector(std::vector<bool> descending, int64_t limit)
      : descending_(std::move(descending)), limit_(limit) {}

  size_t state_size() const override { return RoundUp16(sizeof(State)); }
  void Init(void* s) const override { new (s) State(); }
  void Destroy(void* s) const override { As<State>(s)->~State(); }

  bool Coerce(const Value& in, Value* out, std::string* error) const override {
    return CoerceRanked(limit_ > 0 ? "CollectTop" : "Collect", descending_.size(), in, out, error);
  }

  void Update(void* const* states, size_t offset, const Value* values, size_t n) const override {
    for (size_t i = 0; i < n; ++i) {
      const Value& row = values[i];
      if (row.type() != ValueType::kArray) continue;
      Entry e;
      e.keys.resize(descending_.size());
      e.nulls.resize(descending_.size());
      for (size_t k = 0; k < descending_.size(); ++k) {
        const Value& v = row.items()[k];
        e.nulls[k] = v.is_null() || !ToKey(v, &e.keys[k]);
      }
      EncodeValue(row.items()[descending_.size()], &e.payload);
      State* st = As<State>(static_cast<char*>(states[i]) + offset);
      auto at = std::upper_bound(st->entries.begin(), st->entries.end(), e,
                                 [&](const Entry& a, const Entry& b) { return Before(a, b); });
      if (limit_ > 0 && at - st->entries.begin() >= limit_) continue;
      st->entries.insert(at, std::move(e));
      if (limit_ > 0 && static_cast<int64_t>(st->entries.size()) > limit_) st->entries.pop_back();
    }
  }

  Value Finalize(const void* s, Arena* arena) const override {
    const State* st = As<State>(s);
    const size_t n = st->entries.size();
    Value* items = arena->AllocateArray<Value>(n);
    size_t rank = 1;
    for (size_t i = 0; i < n; ++i) {
      std::string_view in = st->entries[i].payload;
      Value v;
      if (!DecodeValue(&in, arena, &v)) v = Value::Null();
      if (limit_ <= 0) {
        items[i] = v;
        continue;
      }
      if (i > 0 && Tied(st->entries[i - 1], st->entries[i])) {
        // equal ordering values: the same rank
      } else {
        rank = i + 1;
      }
      RecordField* fields = arena->AllocateArray<RecordField>(2);
      fields[0] = RecordField{"rank", Value::Bigint(static_cast<int64_t>(rank))};
      fields[1] = RecordField{"value", v};
      items[i] = Value::Record(fields, 2);
    }
    return Value::Array(items, static_cast<uint32_t>(n));
  }

  void Encode(const void* s, std::string* out) const override {
    const State* st = As<State>(s);
    EncodeVarint(st->entries.size(), out);
    for (const Entry& e : st->entries) {
      for (size_t k = 0; k < descending_.size(); ++k) {
        out->push_back(e.nulls[k] ? 1 : 0);
        if (!e.nulls[k]) EncodeKey(e.keys[k], out);
      }
      EncodeBytes(e.payload, out);
    }
  }

  bool Decode(std::string_view* in, void* s) const override {
    State* st = As<State>(s);
    uint64_t count = 0;
    // Each entry takes at least a byte.
    if (!DecodeVarint(in, &count) || count > in->size()) return false;
    st->entries.clear();
    st->entries.reserve(count);
    for (uint64_t i = 0; i < count; ++i) {
      Entry e;
      e.keys.resize(descending_.size());
      e.nulls.resize(descending_.size());
      for (size_t k = 0; k < descending_.size(); ++k) {
        if (in->empty()) return false;
        e.nulls[k] = (*in)[0] != 0;
        in->remove_prefix(1);
        if (!e.nulls[k] && !DecodeKey(in, &e.keys[k])) return false;
      }
      std::string_view payload;
      if (!DecodeBytes(in, &payload)) return false;
      e.payload.assign(payload);
      st->entries.push_back(std::move(e));
    }
    return true;
  }

 private:
  // -1, 0, 1 by the ordering values alone (NULL the least, then ASC/DESC).
  int CompareOrder(const Entry& a, const Entry& b) const {
    for (size_t k = 0; k < descending_.size(); ++k) {
      int c;
      if (a.nulls[k] || b.nulls[k]) {
        c = a.nulls[k] == b.nulls[k] ? 0 : (a.nulls[k] ? -1 : 1);
      } else {
        c = CompareKeys(a.keys[k], b.keys[k]);
      }
      if (descending_[k]) c = -c;
      if (c != 0) return c;
    }
    return 0;
  }
  bool Tied(const Entry& a, const Entry& b) const { return CompareOrder(a, b) == 0; }
  bool Before(const Entry& a, const Entry& b) const {
    const int c = CompareOrder(a, b);
    return c != 0 ? c < 0 : a.payload < b.payload;
  }

  std::vector<bool> descending_;
  int64_t limit_;  // <= 0: every row
};

// PERCENTILE_CONT(p) / PERCENTILE_DISC(p) OVER (ORDER BY x [ASC|DESC]): the
// non-NULL x of every row; CONT interpolates between the two values around
// position p * (n - 1) and returns a float, DISC returns the first value
// whose cumulative share reaches p (its own type).
class Percentile final : public AggregateFunction {
  struct State {
    std::vector<std::pair<double, bool>> values;  // (value, was a bigint)
  };

 public:
  Percentile(bool continuous, double p, bool descending)
      : continuous_(continuous), p_(p), descending_(descending) {}

  size_t state_size() const override { return RoundUp16(sizeof(State)); }
  void Init(void* s) const override { new (s) State(); }
  void Destroy(void* s) const override { As<State>(s)->~State(); }

  bool Coerce(const Value& in, Value* out, std::string* error) const override {
    if (in.is_null() || in.type() == ValueType::kBigint || in.type() == ValueType::kFloat) {
      *out = in;
      return true;
    }
    if (in.type() == ValueType::kString) {
      if (auto d = NumericValue(in)) {
        *out = Value::Float(*d);
        return true;
      }
    }
    *error = absl::StrCat(continuous_ ? "PERCENTILE_CONT" : "PERCENTILE_DISC",
                          " orders by numbers, not ", TypeName(in.type()), " ", DebugString(in));
    return false;
  }

  void Update(void* const* states, size_t offset, const Value* values, size_t n) const override {
    for (size_t i = 0; i < n; ++i) {
      const Value& v = values[i];
      if (v.is_null()) continue;
      const bool integer = v.type() == ValueType::kBigint;
      const double x = integer ? static_cast<double>(v.bigint()) : v.float_value();
      if (std::isnan(x)) continue;
      As<State>(static_cast<char*>(states[i]) + offset)->values.emplace_back(x, integer);
    }
  }

  Value Finalize(const void* s, Arena* arena) const override {
    (void)arena;
    std::vector<std::pair<double, bool>> v = As<State>(s)->values;
    if (v.empty()) return Value::Null();
    std::sort(v.begin(), v.end(), [&](const auto& a, const auto& b) {
      return descending_ ? a.first > b.first : a.first < b.first;
    });
    const size_t n = v.size();
    if (continuous_) {
      const double position = p_ * static_cast<double>(n - 1);
      const size_t lo = static_cast<size_t>(std::floor(position));
      const size_t hi = std::min(n - 1, lo + 1);
      const double f = position - static_cast<double>(lo);
      return Value::Float(v[lo].first + f * (v[hi].first - v[lo].first));
    }
    size_t index = static_cast<size_t>(std::ceil(p_ * static_cast<double>(n)));
    index = index == 0 ? 0 : std::min(n, index) - 1;
    return v[index].second ? Value::Bigint(static_cast<int64_t>(v[index].first))
                           : Value::Float(v[index].first);
  }

  void Encode(const void* s, std::string* out) const override {
    const State* st = As<State>(s);
    EncodeVarint(st->values.size(), out);
    for (const auto& [x, integer] : st->values) {
      out->push_back(integer ? 1 : 0);
      EncodeDouble(x, out);
    }
  }

  bool Decode(std::string_view* in, void* s) const override {
    State* st = As<State>(s);
    uint64_t count = 0;
    if (!DecodeVarint(in, &count) || count > in->size() / 9) return false;
    st->values.clear();
    st->values.reserve(count);
    for (uint64_t i = 0; i < count; ++i) {
      if (in->empty()) return false;
      const bool integer = (*in)[0] != 0;
      in->remove_prefix(1);
      double x = 0;
      if (!DecodeDouble(in, &x)) return false;
      st->values.emplace_back(x, integer);
    }
    return true;
  }

 private:
  bool continuous_;
  double p_;
  bool descending_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<AggregateFunction>> MakeRankedAggregate(const v1::Aggregate& spec) {
  const std::vector<bool> descending(spec.descending().begin(), spec.descending().end());
  switch (spec.function()) {
    case v1::Aggregate::FUNCTION_TOP_ONE:
      if (spec.order_keys() < 1 || spec.descending_size() != spec.order_keys()) {
        return absl::InternalError("plan has a TopOne without ordering");
      }
      return std::make_unique<TopOne>(descending);
    case v1::Aggregate::FUNCTION_COLLECT:
      if (spec.order_keys() != 0) return absl::InternalError("plan has a Collect with ordering");
      return std::make_unique<Collector>(std::vector<bool>(), 0);
    case v1::Aggregate::FUNCTION_COLLECT_TOP:
      if (spec.order_keys() < 1 || spec.descending_size() != spec.order_keys() ||
          spec.top_count() < 1 || spec.top_count() > kMaxCollectTop) {
        return absl::InternalError("plan has a malformed CollectTop");
      }
      return std::make_unique<Collector>(descending, spec.top_count());
    case v1::Aggregate::FUNCTION_PERCENTILE_CONT:
    case v1::Aggregate::FUNCTION_PERCENTILE_DISC:
      if (spec.descending_size() != 1 || !(spec.percentile() >= 0 && spec.percentile() <= 1)) {
        return absl::InternalError("plan has a malformed percentile");
      }
      return std::make_unique<Percentile>(
          spec.function() == v1::Aggregate::FUNCTION_PERCENTILE_CONT, spec.percentile(),
          spec.descending(0));
    default:
      return absl::InternalError(absl::StrCat("not a ranked aggregate: ", spec.function()));
  }
}

}  // namespace sluice::aggregate_internal

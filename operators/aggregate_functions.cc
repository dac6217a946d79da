#include "operators/aggregate_functions.h"

#include <algorithm>
#include <cmath>
#include <new>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "engine/core/conversion.h"
#include "engine/core/datetime.h"
#include "engine/core/value_codec.h"

namespace sluice {
namespace {

template <typename T>
T* As(void* p) {
  return static_cast<T*>(p);
}
template <typename T>
const T* As(const void* p) {
  return static_cast<const T*>(p);
}

constexpr size_t RoundUp16(size_t n) { return (n + 15) & ~size_t{15}; }

// CollectTop keeps at most this many rows per group (the SQL compiler's
// bound, sql/planner_aggregates.cc).
constexpr int64_t kMaxCollectTop = 10'000;

// Numbers for SUM, AVG and the variance family: bigint, float and bit are
// taken as they are; a string holding a number is read as a float (ASA's
// implicit conversion); anything else is rejected.
bool CoerceNumber(const char* fn, const Value& in, Value* out, std::string* error) {
  switch (in.type()) {
    case ValueType::kNull:
    case ValueType::kBigint:
    case ValueType::kFloat:
      *out = in;
      return true;
    case ValueType::kBit:
      *out = Value::Bigint(in.bit() ? 1 : 0);
      return true;
    case ValueType::kString:
      if (auto d = NumericValue(in)) {
        *out = Value::Float(*d);
        return true;
      }
      break;
    default:
      break;
  }
  *error = absl::StrCat(fn, " expects a number: ", TypeName(in.type()), " ", DebugString(in));
  return false;
}

// ---------------------------------------------------------------------------

class CountStar final : public AggregateFunction {
 public:
  size_t state_size() const override { return 16; }
  void Init(void* s) const override { *As<int64_t>(s) = 0; }
  bool takes_argument() const override { return false; }
  void Update(void* const* states, size_t offset, const Value*, size_t n) const override {
    for (size_t i = 0; i < n; ++i) {
      ++*As<int64_t>(static_cast<char*>(states[i]) + offset);
    }
  }
  Value Finalize(const void* s, Arena*) const override { return Value::Bigint(*As<int64_t>(s)); }
  void Encode(const void* s, std::string* out) const override {
    EncodeFixed64(static_cast<uint64_t>(*As<int64_t>(s)), out);
  }
  bool Decode(std::string_view* in, void* s) const override {
    uint64_t v;
    if (!DecodeFixed64(in, &v)) return false;
    *As<int64_t>(s) = static_cast<int64_t>(v);
    return true;
  }
};

class Count final : public AggregateFunction {
 public:
  size_t state_size() const override { return 16; }
  void Init(void* s) const override { *As<int64_t>(s) = 0; }
  void Update(void* const* states, size_t offset, const Value* values, size_t n) const override {
    for (size_t i = 0; i < n; ++i) {
      if (!values[i].is_null()) {
        ++*As<int64_t>(static_cast<char*>(states[i]) + offset);
      }
    }
  }
  Value Finalize(const void* s, Arena*) const override { return Value::Bigint(*As<int64_t>(s)); }
  void Encode(const void* s, std::string* out) const override {
    EncodeFixed64(static_cast<uint64_t>(*As<int64_t>(s)), out);
  }
  bool Decode(std::string_view* in, void* s) const override {
    uint64_t v;
    if (!DecodeFixed64(in, &v)) return false;
    *As<int64_t>(s) = static_cast<int64_t>(v);
    return true;
  }
};

// Distinct non-null values, kept as their exact encodings.
class CountDistinct final : public AggregateFunction {
  using Set = absl::flat_hash_set<std::string>;

 public:
  size_t state_size() const override { return RoundUp16(sizeof(Set)); }
  void Init(void* s) const override { new (s) Set(); }
  void Destroy(void* s) const override { As<Set>(s)->~Set(); }
  void Update(void* const* states, size_t offset, const Value* values, size_t n) const override {
    std::string key;
    for (size_t i = 0; i < n; ++i) {
      if (values[i].is_null()) continue;
      key.clear();
      EncodeValue(values[i], &key);
      As<Set>(static_cast<char*>(states[i]) + offset)->insert(key);
    }
  }
  Value Finalize(const void* s, Arena*) const override {
    return Value::Bigint(static_cast<int64_t>(As<Set>(s)->size()));
  }
  void Encode(const void* s, std::string* out) const override {
    EncodeVarint(As<Set>(s)->size(), out);
    for (const std::string& k : *As<Set>(s)) EncodeBytes(k, out);
  }
  bool Decode(std::string_view* in, void* s) const override {
    uint64_t n;
    if (!DecodeVarint(in, &n)) return false;
    for (uint64_t i = 0; i < n; ++i) {
      std::string_view k;
      if (!DecodeBytes(in, &k)) return false;
      As<Set>(s)->insert(std::string(k));
    }
    return true;
  }
};

// SUM and AVG share this state: an exact integer part, a float part and a
// count of non-null values.
struct SumState {
  __int128 int_sum;
  double float_sum;
  int64_t count;
  bool has_float;
};

class SumBase : public AggregateFunction {
 public:
  size_t state_size() const override { return RoundUp16(sizeof(SumState)); }
  void Init(void* s) const override { new (s) SumState{0, 0.0, 0, false}; }
  void Update(void* const* states, size_t offset, const Value* values, size_t n) const override {
    for (size_t i = 0; i < n; ++i) {
      const Value& v = values[i];
      SumState* st = As<SumState>(static_cast<char*>(states[i]) + offset);
      if (v.type() == ValueType::kBigint) {
        st->int_sum += v.bigint();
        ++st->count;
      } else if (v.type() == ValueType::kFloat) {
        st->float_sum += v.float_value();
        st->has_float = true;
        ++st->count;
      }
    }
  }
  void Encode(const void* s, std::string* out) const override {
    const SumState* st = As<SumState>(s);
    const unsigned __int128 u = static_cast<unsigned __int128>(st->int_sum);
    EncodeFixed64(static_cast<uint64_t>(u), out);
    EncodeFixed64(static_cast<uint64_t>(u >> 64), out);
    EncodeDouble(st->float_sum, out);
    EncodeFixed64(static_cast<uint64_t>(st->count), out);
    out->push_back(st->has_float ? 1 : 0);
  }
  bool Decode(std::string_view* in, void* s) const override {
    SumState* st = As<SumState>(s);
    uint64_t lo, hi, count;
    if (!DecodeFixed64(in, &lo) || !DecodeFixed64(in, &hi) || !DecodeDouble(in, &st->float_sum) ||
        !DecodeFixed64(in, &count) || in->empty()) {
      return false;
    }
    st->int_sum = static_cast<__int128>((static_cast<unsigned __int128>(hi) << 64) | lo);
    st->count = static_cast<int64_t>(count);
    st->has_float = in->front() != 0;
    in->remove_prefix(1);
    return true;
  }
};

class Sum final : public SumBase {
 public:
  bool Coerce(const Value& in, Value* out, std::string* error) const override {
    return CoerceNumber("SUM", in, out, error);
  }
  // bigint inputs give a bigint (a float if the total leaves the bigint
  // range); any float input makes the result a float; all NULL gives NULL.
  Value Finalize(const void* s, Arena*) const override {
    const SumState* st = As<SumState>(s);
    if (st->count == 0) return Value::Null();
    if (!st->has_float && st->int_sum >= INT64_MIN && st->int_sum <= INT64_MAX) {
      return Value::Bigint(static_cast<int64_t>(st->int_sum));
    }
    return Value::Float(static_cast<double>(st->int_sum) + st->float_sum);
  }
};

class Avg final : public SumBase {
 public:
  bool Coerce(const Value& in, Value* out, std::string* error) const override {
    return CoerceNumber("AVG", in, out, error);
  }
  // Always a float (AVG of 50, 60 and 100 is 70.0).
  Value Finalize(const void* s, Arena*) const override {
    const SumState* st = As<SumState>(s);
    if (st->count == 0) return Value::Null();
    return Value::Float((static_cast<double>(st->int_sum) + st->float_sum) / st->count);
  }
};

// MIN and MAX over bigint, float, datetime and bit; over strings only when
// the argument was explicitly cast to nvarchar(max).
struct ExtremeState {
  ValueType type;  // kNull while empty
  int64_t i;
  double f;
  std::string s;
};

class Extreme final : public AggregateFunction {
 public:
  Extreme(bool is_max, bool compare_as_string) : is_max_(is_max), strings_(compare_as_string) {}

  size_t state_size() const override { return RoundUp16(sizeof(ExtremeState)); }
  void Init(void* s) const override {
    new (s) ExtremeState{ValueType::kNull, 0, 0.0, std::string()};
  }
  void Destroy(void* s) const override { As<ExtremeState>(s)->~ExtremeState(); }

  bool Coerce(const Value& in, Value* out, std::string* error) const override {
    const char* fn = is_max_ ? "MAX" : "MIN";
    switch (in.type()) {
      case ValueType::kNull:
      case ValueType::kBigint:
      case ValueType::kFloat:
      case ValueType::kDatetime:
      case ValueType::kBit:
        *out = in;
        return true;
      case ValueType::kString:
        if (strings_) {
          *out = in;
          return true;
        }
        if (auto d = NumericValue(in)) {
          *out = Value::Float(*d);
          return true;
        }
        // Datetimes arrive as text in JSON; ASA's own session example takes
        // MIN(time) and MAX(time) of such fields.
        if (auto t = ParseDatetime(in.string())) {
          *out = Value::Datetime(*t);
          return true;
        }
        *error = absl::StrCat(fn,
                              " reads strings as numbers or datetimes unless the argument is "
                              "CAST to nvarchar(max): ",
                              DebugString(in));
        return false;
      default:
        *error = absl::StrCat(fn, " expects bigint, float, datetime or bit: ", TypeName(in.type()),
                              " ", DebugString(in));
        return false;
    }
  }

  void Update(void* const* states, size_t offset, const Value* values, size_t n) const override {
    for (size_t i = 0; i < n; ++i) {
      const Value& v = values[i];
      if (v.is_null()) continue;
      ExtremeState* st = As<ExtremeState>(static_cast<char*>(states[i]) + offset);
      if (v.type() == ValueType::kFloat && st->type == ValueType::kFloat) {
        // The common case: floats folding into a float.
        const double d = v.float_value();
        if (is_max_ ? d > st->f : d < st->f) st->f = d;
        continue;
      }
      Fold(st, v);
    }
  }

  Value Finalize(const void* s, Arena* arena) const override {
    const ExtremeState* st = As<ExtremeState>(s);
    Value v = ToValue(*st);
    if (v.type() == ValueType::kString) {
      return Value::String(arena->CopyString(v.string()));
    }
    return v;
  }

  void Encode(const void* s, std::string* out) const override {
    EncodeValue(ToValue(*As<ExtremeState>(s)), out);
  }
  bool Decode(std::string_view* in, void* s) const override {
    Arena arena(256);
    Value v;
    if (!DecodeValue(in, &arena, &v)) return false;
    Store(As<ExtremeState>(s), v);
    return true;
  }

 private:
  static Value ToValue(const ExtremeState& st) {
    switch (st.type) {
      case ValueType::kBigint:
        return Value::Bigint(st.i);
      case ValueType::kFloat:
        return Value::Float(st.f);
      case ValueType::kDatetime:
        return Value::Datetime(st.i);
      case ValueType::kBit:
        return Value::Bit(st.i != 0);
      case ValueType::kString:
        return Value::String(st.s);
      default:
        return Value::Null();
    }
  }

  static void Store(ExtremeState* st, const Value& v) {
    st->type = v.type();
    switch (v.type()) {
      case ValueType::kFloat:
        st->f = v.float_value();
        break;
      case ValueType::kString:
        st->s.assign(v.string());
        break;
      default:
        st->i = v.bigint();
    }
  }

  // Orders values of different types by a fixed type rank so that the
  // result never depends on arrival order.
  static int Rank(ValueType t) {
    switch (t) {
      case ValueType::kBit:
        return 0;
      case ValueType::kBigint:
      case ValueType::kFloat:
        return 1;
      case ValueType::kDatetime:
        return 2;
      default:
        return 3;
    }
  }

  void Fold(ExtremeState* st, const Value& v) const {
    if (st->type == ValueType::kNull) {
      Store(st, v);
      return;
    }
    const Value cur = ToValue(*st);
    int c = 0;
    if (Rank(cur.type()) != Rank(v.type())) {
      c = Rank(v.type()) < Rank(cur.type()) ? -1 : 1;
    } else if (cur.is_numeric() && v.is_numeric()) {
      if (cur.type() == ValueType::kBigint && v.type() == ValueType::kBigint) {
        c = v.bigint() < cur.bigint() ? -1 : (v.bigint() > cur.bigint() ? 1 : 0);
      } else {
        const double a = v.AsDouble();
        const double b = cur.AsDouble();
        c = a < b ? -1 : (a > b ? 1 : 0);
      }
    } else if (v.type() == ValueType::kString) {
      const int r = v.string().compare(cur.string());
      c = r < 0 ? -1 : (r > 0 ? 1 : 0);
    } else {
      c = v.bigint() < cur.bigint() ? -1 : (v.bigint() > cur.bigint() ? 1 : 0);
    }
    if (is_max_ ? c > 0 : c < 0) Store(st, v);
  }

  bool is_max_;
  bool strings_;
};

// Welford's running mean and sum of squared deviations.
struct MomentsState {
  int64_t n;
  double mean;
  double m2;
};

class Variance final : public AggregateFunction {
 public:
  Variance(const char* name, bool sample, bool root) : name_(name), sample_(sample), root_(root) {}

  size_t state_size() const override { return RoundUp16(sizeof(MomentsState)); }
  void Init(void* s) const override { new (s) MomentsState{0, 0.0, 0.0}; }
  bool Coerce(const Value& in, Value* out, std::string* error) const override {
    return CoerceNumber(name_, in, out, error);
  }
  void Update(void* const* states, size_t offset, const Value* values, size_t n) const override {
    for (size_t i = 0; i < n; ++i) {
      if (!values[i].is_numeric()) continue;
      MomentsState* st = As<MomentsState>(static_cast<char*>(states[i]) + offset);
      const double x = values[i].AsDouble();
      ++st->n;
      const double delta = x - st->mean;
      st->mean += delta / st->n;
      st->m2 += delta * (x - st->mean);
    }
  }
  // T-SQL's rules: the sample statistics need two values, the population
  // statistics one; otherwise NULL.
  Value Finalize(const void* s, Arena*) const override {
    const MomentsState* st = As<MomentsState>(s);
    const int64_t needed = sample_ ? 2 : 1;
    if (st->n < needed) return Value::Null();
    double var = st->m2 / (sample_ ? st->n - 1 : st->n);
    if (var < 0) var = 0;
    return Value::Float(root_ ? std::sqrt(var) : var);
  }
  void Encode(const void* s, std::string* out) const override {
    const MomentsState* st = As<MomentsState>(s);
    EncodeFixed64(static_cast<uint64_t>(st->n), out);
    EncodeDouble(st->mean, out);
    EncodeDouble(st->m2, out);
  }
  bool Decode(std::string_view* in, void* s) const override {
    MomentsState* st = As<MomentsState>(s);
    uint64_t n;
    if (!DecodeFixed64(in, &n) || !DecodeDouble(in, &st->mean) || !DecodeDouble(in, &st->m2)) {
      return false;
    }
    st->n = static_cast<int64_t>(n);
    return true;
  }

 private:
  const char* name_;
  bool sample_;
  bool root_;
};

// TopOne([expr]) OVER (ORDER BY a [DESC], ...): the payload of the row that
// ranks first. The argument is an array [a, ..., payload]. Ordering values
// must be bigint, float or datetime (ASA); rows with a NULL ordering value
// are skipped. Ties go to the payload whose encoding is smaller, so the
// answer does not depend on the order rows arrive in.
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

absl::StatusOr<std::unique_ptr<AggregateFunction>> MakeAggregateFunction(
    const v1::Aggregate& spec) {
  switch (spec.function()) {
    case v1::Aggregate::FUNCTION_COUNT_STAR:
      return std::make_unique<CountStar>();
    case v1::Aggregate::FUNCTION_COUNT:
      return std::make_unique<Count>();
    case v1::Aggregate::FUNCTION_COUNT_DISTINCT:
      return std::make_unique<CountDistinct>();
    case v1::Aggregate::FUNCTION_SUM:
      return std::make_unique<Sum>();
    case v1::Aggregate::FUNCTION_AVG:
      return std::make_unique<Avg>();
    case v1::Aggregate::FUNCTION_MIN:
      return std::make_unique<Extreme>(false, spec.compare_as_string());
    case v1::Aggregate::FUNCTION_MAX:
      return std::make_unique<Extreme>(true, spec.compare_as_string());
    case v1::Aggregate::FUNCTION_STDEV:
      return std::make_unique<Variance>("STDEV", true, true);
    case v1::Aggregate::FUNCTION_STDEVP:
      return std::make_unique<Variance>("STDEVP", false, true);
    case v1::Aggregate::FUNCTION_VAR:
      return std::make_unique<Variance>("VAR", true, false);
    case v1::Aggregate::FUNCTION_VARP:
      return std::make_unique<Variance>("VARP", false, false);
    case v1::Aggregate::FUNCTION_TOP_ONE:
      if (spec.order_keys() < 1 || spec.descending_size() != spec.order_keys()) {
        return absl::InternalError("plan has a TopOne without ordering");
      }
      return std::make_unique<TopOne>(
          std::vector<bool>(spec.descending().begin(), spec.descending().end()));
    case v1::Aggregate::FUNCTION_COLLECT:
      if (spec.order_keys() != 0) return absl::InternalError("plan has a Collect with ordering");
      return std::make_unique<Collector>(std::vector<bool>(), 0);
    case v1::Aggregate::FUNCTION_COLLECT_TOP:
      if (spec.order_keys() < 1 || spec.descending_size() != spec.order_keys() ||
          spec.top_count() < 1 || spec.top_count() > kMaxCollectTop) {
        return absl::InternalError("plan has a malformed CollectTop");
      }
      return std::make_unique<Collector>(
          std::vector<bool>(spec.descending().begin(), spec.descending().end()), spec.top_count());
    case v1::Aggregate::FUNCTION_PERCENTILE_CONT:
    case v1::Aggregate::FUNCTION_PERCENTILE_DISC:
      if (spec.descending_size() != 1 || !(spec.percentile() >= 0 && spec.percentile() <= 1)) {
        return absl::InternalError("plan has a malformed percentile");
      }
      return std::make_unique<Percentile>(
          spec.function() == v1::Aggregate::FUNCTION_PERCENTILE_CONT, spec.percentile(),
          spec.descending(0));
    default:
      return absl::InternalError(absl::StrCat("plan has an unknown aggregate: ", spec.function()));
  }
}

}  // namespace sluice

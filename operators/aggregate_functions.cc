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
#include "operators/aggregate_internal.h"

namespace sluice {
namespace {

using aggregate_internal::As;
using aggregate_internal::MakeRankedAggregate;
using aggregate_internal::RoundUp16;

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
    case v1::Aggregate::FUNCTION_COLLECT:
    case v1::Aggregate::FUNCTION_COLLECT_TOP:
    case v1::Aggregate::FUNCTION_PERCENTILE_CONT:
    case v1::Aggregate::FUNCTION_PERCENTILE_DISC:
      return MakeRankedAggregate(spec);
    default:
      return absl::InternalError(absl::StrCat("plan has an unknown aggregate: ", spec.function()));
  }
}

}  // namespace sluice

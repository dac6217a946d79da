#include "engine/expr/expression.h"

#include <charconv>
#include <cmath>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/core/conversion.h"
#include "engine/core/datetime.h"
#include "engine/expr/functions/like_pattern.h"

namespace sluice {
namespace {

// A node's reusable output buffer, indexed by physical row.
class OutputBuffer {
 public:
  Value* Prepare(const Batch& batch) {
    if (values_.size() < batch.num_rows) values_.resize(batch.num_rows);
    return values_.data();
  }
  ValueSpan span() const { return ValueSpan::Column(values_.data()); }

 private:
  std::vector<Value> values_;
};

std::string Describe(const Value& v) {
  return absl::StrCat(TypeName(v.type()), " ", DebugString(v));
}

std::optional<double> ParseNumber(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  double d = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) {
    return std::nullopt;
  }
  return d;
}

// ---------------------------------------------------------------------------
// Leaves

class ConstantExpr final : public Expression {
 public:
  explicit ConstantExpr(Value v) : value_(v) {}
  ConstantExpr(const v1::Literal& literal) {
    switch (literal.value_case()) {
      case v1::Literal::kBigintValue:
        value_ = Value::Bigint(literal.bigint_value());
        break;
      case v1::Literal::kFloatValue:
        value_ = Value::Float(literal.float_value());
        break;
      case v1::Literal::kStringValue:
        value_ = Value::String(arena_.CopyString(literal.string_value()));
        break;
      case v1::Literal::kBitValue:
        value_ = Value::Bit(literal.bit_value());
        break;
      case v1::Literal::kDatetimeTicks:
        value_ = Value::Datetime(literal.datetime_ticks());
        break;
      default:
        value_ = Value::Null();
    }
  }
  ValueSpan Evaluate(const Batch&, RowSet, EvalContext&) override {
    return ValueSpan::Constant(&value_);
  }
  bool is_constant() const override { return true; }
  const Value& value() const { return value_; }

 private:
  Arena arena_{64};
  Value value_;
};

class ColumnExpr final : public Expression {
 public:
  explicit ColumnExpr(int index) : index_(index) {}
  ValueSpan Evaluate(const Batch& batch, RowSet, EvalContext&) override {
    return ValueSpan::Column(batch.columns[index_]->data());
  }

 private:
  int index_;
};

class FieldLookupExpr final : public Expression {
 public:
  FieldLookupExpr(std::unique_ptr<Expression> record, std::string name)
      : record_(std::move(record)), name_(std::move(name)) {}
  ValueSpan Evaluate(const Batch& batch, RowSet rows, EvalContext& ctx) override {
    ValueSpan in = record_->Evaluate(batch, rows, ctx);
    Value* out = out_.Prepare(batch);
    for (uint32_t r : rows) out[r] = in[r].Field(name_);
    return out_.span();
  }

 private:
  std::unique_ptr<Expression> record_;
  std::string name_;
  OutputBuffer out_;
};

class SystemTimestampExpr final : public Expression {
 public:
  ValueSpan Evaluate(const Batch& batch, RowSet rows, EvalContext&) override {
    Value* out = out_.Prepare(batch);
    const int64_t* ts = batch.timestamps->data();
    for (uint32_t r : rows) out[r] = Value::Datetime(ts[r]);
    return out_.span();
  }

 private:
  OutputBuffer out_;
};

// ---------------------------------------------------------------------------
// Generic scalar function call

class FunctionCallExpr final : public Expression {
 public:
  FunctionCallExpr(const ScalarFunction* fn, std::vector<std::unique_ptr<Expression>> args)
      : fn_(fn), args_(std::move(args)), spans_(args_.size()), arg_values_(args_.size()) {}

  ValueSpan Evaluate(const Batch& batch, RowSet rows, EvalContext& ctx) override {
    for (size_t i = 0; i < args_.size(); ++i) {
      spans_[i] = args_[i]->Evaluate(batch, rows, ctx);
    }
    Value* out = out_.Prepare(batch);
    CallContext& call = ctx.call();
    const int n = static_cast<int>(args_.size());
    for (uint32_t r : rows) {
      for (int i = 0; i < n; ++i) arg_values_[i] = spans_[i][r];
      out[r] = fn_->impl(arg_values_.data(), n, call);
      if (call.failed()) {
        ctx.AddError(r, call.error());
        call.ClearError();
      }
    }
    return out_.span();
  }

 private:
  const ScalarFunction* fn_;
  std::vector<std::unique_ptr<Expression>> args_;
  std::vector<ValueSpan> spans_;
  std::vector<Value> arg_values_;
  OutputBuffer out_;
};

// ---------------------------------------------------------------------------
// Arithmetic

enum class ArithOp { kAdd, kSubtract, kMultiply, kDivide, kModulo };

const char* ArithSymbol(ArithOp op) {
  switch (op) {
    case ArithOp::kAdd:
      return "+";
    case ArithOp::kSubtract:
      return "-";
    case ArithOp::kMultiply:
      return "*";
    case ArithOp::kDivide:
      return "/";
    case ArithOp::kModulo:
      return "%";
  }
  return "?";
}

bool AsArithmeticInt(const Value& v, int64_t* out) {
  if (v.type() == ValueType::kBigint || v.type() == ValueType::kBit) {
    *out = v.bigint();
    return true;
  }
  return false;
}

Value Arithmetic(ArithOp op, const Value& a, const Value& b, Arena* arena, std::string* error) {
  if (a.is_null() || b.is_null()) return Value::Null();
  int64_t x = 0;
  int64_t y = 0;
  if (AsArithmeticInt(a, &x) && AsArithmeticInt(b, &y)) {
    int64_t r = 0;
    switch (op) {
      case ArithOp::kAdd:
        if (__builtin_add_overflow(x, y, &r)) break;
        return Value::Bigint(r);
      case ArithOp::kSubtract:
        if (__builtin_sub_overflow(x, y, &r)) break;
        return Value::Bigint(r);
      case ArithOp::kMultiply:
        if (__builtin_mul_overflow(x, y, &r)) break;
        return Value::Bigint(r);
      case ArithOp::kDivide:
        // bigint / bigint is a float division (5 / 2 = 2.5): see
        // tests/sql/expressions/division.test for why.
        if (y == 0) {
          *error = absl::StrCat("division by zero: ", x, " / 0");
          return Value::Null();
        }
        return Value::Float(static_cast<double>(x) / static_cast<double>(y));
      case ArithOp::kModulo:
        if (y == 0) {
          *error = absl::StrCat("division by zero: ", x, " % 0");
          return Value::Null();
        }
        if (y == -1) return Value::Bigint(0);
        return Value::Bigint(x % y);
    }
    *error = absl::StrCat("bigint overflow: ", x, " ", ArithSymbol(op), " ", y);
    return Value::Null();
  }
  const bool a_num = a.is_numeric() || a.type() == ValueType::kBit;
  const bool b_num = b.is_numeric() || b.type() == ValueType::kBit;
  if (a_num && b_num) {
    const double p = a.type() == ValueType::kBit ? a.bigint() : a.AsDouble();
    const double q = b.type() == ValueType::kBit ? b.bigint() : b.AsDouble();
    double r = 0;
    switch (op) {
      case ArithOp::kAdd:
        r = p + q;
        break;
      case ArithOp::kSubtract:
        r = p - q;
        break;
      case ArithOp::kMultiply:
        r = p * q;
        break;
      case ArithOp::kDivide:
        if (q == 0) {
          *error = absl::StrCat("division by zero: ", DebugString(a), " / 0");
          return Value::Null();
        }
        r = p / q;
        break;
      case ArithOp::kModulo:
        if (q == 0) {
          *error = absl::StrCat("division by zero: ", DebugString(a), " % 0");
          return Value::Null();
        }
        r = std::fmod(p, q);
        break;
    }
    if (!std::isfinite(r)) {
      *error = absl::StrCat("float overflow: ", DebugString(a), " ", ArithSymbol(op), " ",
                            DebugString(b));
      return Value::Null();
    }
    return Value::Float(r);
  }
  if (op == ArithOp::kAdd && a.type() == ValueType::kString && b.type() == ValueType::kString) {
    char* buf = static_cast<char*>(arena->Allocate(a.size() + b.size() + 1, 1));
    if (a.size() > 0) std::memcpy(buf, a.string().data(), a.size());
    if (b.size() > 0) std::memcpy(buf + a.size(), b.string().data(), b.size());
    return Value::String(std::string_view(buf, a.size() + b.size()));
  }
  *error = absl::StrCat("operator ", ArithSymbol(op), " cannot be applied to ", Describe(a),
                        " and ", Describe(b));
  return Value::Null();
}

class ArithmeticExpr final : public Expression {
 public:
  ArithmeticExpr(ArithOp op, std::unique_ptr<Expression> left, std::unique_ptr<Expression> right)
      : op_(op), left_(std::move(left)), right_(std::move(right)) {}

  ValueSpan Evaluate(const Batch& batch, RowSet rows, EvalContext& ctx) override {
    ValueSpan a = left_->Evaluate(batch, rows, ctx);
    ValueSpan b = right_->Evaluate(batch, rows, ctx);
    Value* out = out_.Prepare(batch);
    std::string error;
    for (uint32_t r : rows) {
      const Value& x = a[r];
      const Value& y = b[r];
      // Fast paths for the common numeric cases.
      if (x.type() == ValueType::kFloat && y.type() == ValueType::kFloat &&
          op_ != ArithOp::kDivide && op_ != ArithOp::kModulo) {
        double v = op_ == ArithOp::kAdd        ? x.float_value() + y.float_value()
                   : op_ == ArithOp::kSubtract ? x.float_value() - y.float_value()
                                               : x.float_value() * y.float_value();
        if (std::isfinite(v)) {
          out[r] = Value::Float(v);
          continue;
        }
      }
      out[r] = Arithmetic(op_, x, y, ctx.arena(), &error);
      if (!error.empty()) {
        ctx.AddError(r, std::move(error));
        error.clear();
      }
    }
    return out_.span();
  }

 private:
  ArithOp op_;
  std::unique_ptr<Expression> left_;
  std::unique_ptr<Expression> right_;
  OutputBuffer out_;
};

class NegateExpr final : public Expression {
 public:
  explicit NegateExpr(std::unique_ptr<Expression> arg) : arg_(std::move(arg)) {}
  ValueSpan Evaluate(const Batch& batch, RowSet rows, EvalContext& ctx) override {
    ValueSpan a = arg_->Evaluate(batch, rows, ctx);
    Value* out = out_.Prepare(batch);
    for (uint32_t r : rows) {
      const Value& v = a[r];
      switch (v.type()) {
        case ValueType::kNull:
          out[r] = v;
          break;
        case ValueType::kBigint:
          if (v.bigint() == INT64_MIN) {
            out[r] = Value::Null();
            ctx.AddError(r, absl::StrCat("bigint overflow: -(", v.bigint(), ")"));
          } else {
            out[r] = Value::Bigint(-v.bigint());
          }
          break;
        case ValueType::kFloat:
          out[r] = Value::Float(-v.float_value());
          break;
        default:
          out[r] = Value::Null();
          ctx.AddError(r, absl::StrCat("operator - cannot be applied to ", Describe(v)));
      }
    }
    return out_.span();
  }

 private:
  std::unique_ptr<Expression> arg_;
  OutputBuffer out_;
};

enum class BitOp { kAnd, kOr, kXor };

class BitwiseExpr final : public Expression {
 public:
  BitwiseExpr(BitOp op, std::unique_ptr<Expression> left, std::unique_ptr<Expression> right)
      : op_(op), left_(std::move(left)), right_(std::move(right)) {}
  ValueSpan Evaluate(const Batch& batch, RowSet rows, EvalContext& ctx) override {
    ValueSpan a = left_->Evaluate(batch, rows, ctx);
    ValueSpan b = right_->Evaluate(batch, rows, ctx);
    Value* out = out_.Prepare(batch);
    for (uint32_t r : rows) {
      const Value& x = a[r];
      const Value& y = b[r];
      if (x.is_null() || y.is_null()) {
        out[r] = Value::Null();
        continue;
      }
      const bool ok_x = x.type() == ValueType::kBigint || x.type() == ValueType::kBit;
      const bool ok_y = y.type() == ValueType::kBigint || y.type() == ValueType::kBit;
      if (!ok_x || !ok_y) {
        out[r] = Value::Null();
        ctx.AddError(r, absl::StrCat("bitwise operators need bigint or bit: ", Describe(x), ", ",
                                     Describe(y)));
        continue;
      }
      int64_t v = op_ == BitOp::kAnd  ? (x.bigint() & y.bigint())
                  : op_ == BitOp::kOr ? (x.bigint() | y.bigint())
                                      : (x.bigint() ^ y.bigint());
      out[r] = (x.type() == ValueType::kBit && y.type() == ValueType::kBit) ? Value::Bit(v != 0)
                                                                            : Value::Bigint(v);
    }
    return out_.span();
  }

 private:
  BitOp op_;
  std::unique_ptr<Expression> left_;
  std::unique_ptr<Expression> right_;
  OutputBuffer out_;
};

class BitwiseNotExpr final : public Expression {
 public:
  explicit BitwiseNotExpr(std::unique_ptr<Expression> arg) : arg_(std::move(arg)) {}
  ValueSpan Evaluate(const Batch& batch, RowSet rows, EvalContext& ctx) override {
    ValueSpan a = arg_->Evaluate(batch, rows, ctx);
    Value* out = out_.Prepare(batch);
    for (uint32_t r : rows) {
      const Value& v = a[r];
      if (v.type() == ValueType::kBigint) {
        out[r] = Value::Bigint(~v.bigint());
      } else if (v.type() == ValueType::kBit) {
        out[r] = Value::Bit(!v.bit());
      } else if (v.is_null()) {
        out[r] = v;
      } else {
        out[r] = Value::Null();
        ctx.AddError(r, absl::StrCat("operator ~ needs bigint or bit: ", Describe(v)));
      }
    }
    return out_.span();
  }

 private:
  std::unique_ptr<Expression> arg_;
  OutputBuffer out_;
};

// ---------------------------------------------------------------------------
// Comparisons and predicates

enum class CompareOp { kEq, kNe, kLt, kLe, kGt, kGe };

bool ApplyCompare(CompareOp op, int c) {
  switch (op) {
    case CompareOp::kEq:
      return c == 0;
    case CompareOp::kNe:
      return c != 0;
    case CompareOp::kLt:
      return c < 0;
    case CompareOp::kLe:
      return c <= 0;
    case CompareOp::kGt:
      return c > 0;
    case CompareOp::kGe:
      return c >= 0;
  }
  return false;
}

class CompareExpr final : public Expression {
 public:
  CompareExpr(CompareOp op, std::unique_ptr<Expression> left, std::unique_ptr<Expression> right)
      : op_(op), left_(std::move(left)), right_(std::move(right)) {}

  ValueSpan Evaluate(const Batch& batch, RowSet rows, EvalContext& ctx) override {
    ValueSpan a = left_->Evaluate(batch, rows, ctx);
    ValueSpan b = right_->Evaluate(batch, rows, ctx);
    Value* out = out_.Prepare(batch);
    const bool equality = op_ == CompareOp::kEq || op_ == CompareOp::kNe;
    std::string error;
    for (uint32_t r : rows) {
      const Value& x = a[r];
      const Value& y = b[r];
      if (x.type() == ValueType::kFloat && y.type() == ValueType::kFloat) {
        const double p = x.float_value();
        const double q = y.float_value();
        out[r] = Value::Bit(ApplyCompare(op_, p < q ? -1 : (p > q ? 1 : 0)));
        continue;
      }
      if (x.is_null() || y.is_null()) {
        out[r] = Value::Null();
        continue;
      }
      int c = 0;
      if (!CompareForPredicate(x, y, equality, &c, &error)) {
        out[r] = Value::Null();
        ctx.AddError(r, std::move(error));
        error.clear();
        continue;
      }
      out[r] = Value::Bit(ApplyCompare(op_, c));
    }
    return out_.span();
  }

 private:
  CompareOp op_;
  std::unique_ptr<Expression> left_;
  std::unique_ptr<Expression> right_;
  OutputBuffer out_;
};

// AND / OR over any number of operands, with three-valued logic, as the
// chain (((a AND b) AND c) AND ...) would compute it: each operand is
// evaluated only on the rows the ones before it leave undecided (for AND,
// not yet false; for OR, not yet true). A row whose operand is not a truth
// value becomes NULL with an error and is decided: the operator rejects it
// with that first error, so later operands are not evaluated for it.
class LogicalExpr final : public Expression {
 public:
  LogicalExpr(bool is_and, std::vector<std::unique_ptr<Expression>> args)
      : is_and_(is_and), args_(std::move(args)) {}

  ValueSpan Evaluate(const Batch& batch, RowSet rows, EvalContext& ctx) override {
    Value* out = out_.Prepare(batch);
    // The first operand sees every row; each later one the rows still
    // undecided.
    RowSet sub = rows;
    for (size_t k = 0; k < args_.size() && sub.count > 0; ++k) {
      ValueSpan b = args_[k]->Evaluate(batch, sub, ctx);
      next_.clear();
      for (uint32_t r : sub) {
        const int u = TruthValue(b[r]);
        if (u == -2) {
          out[r] = Value::Null();
          ctx.AddError(
              r, absl::StrCat(is_and_ ? "AND" : "OR", " needs boolean operands: ", Describe(b[r])));
          continue;
        }
        // t: the value so far (k == 0: the identity, true for AND, false
        // for OR).
        const int t = k == 0 ? (is_and_ ? 1 : 0) : (out[r].is_null() ? -1 : (out[r].bit() ? 1 : 0));
        int result;
        if (is_and_) {
          result = (u == 0 || t == 0) ? 0 : ((t == -1 || u == -1) ? -1 : 1);
        } else {
          result = (u == 1 || t == 1) ? 1 : ((t == -1 || u == -1) ? -1 : 0);
        }
        out[r] = result == -1 ? Value::Null() : Value::Bit(result == 1);
        if (is_and_ ? result != 0 : result != 1) next_.push_back(r);
      }
      pending_.swap(next_);
      sub = RowSet{pending_.data(), static_cast<uint32_t>(pending_.size())};
    }
    return out_.span();
  }

 private:
  bool is_and_;
  std::vector<std::unique_ptr<Expression>> args_;
  std::vector<uint32_t> pending_;
  std::vector<uint32_t> next_;
  OutputBuffer out_;
};

class NotExpr final : public Expression {
 public:
  explicit NotExpr(std::unique_ptr<Expression> arg) : arg_(std::move(arg)) {}
  ValueSpan Evaluate(const Batch& batch, RowSet rows, EvalContext& ctx) override {
    ValueSpan a = arg_->Evaluate(batch, rows, ctx);
    Value* out = out_.Prepare(batch);
    for (uint32_t r : rows) {
      const int t = TruthValue(a[r]);
      if (t == -2) {
        out[r] = Value::Null();
        ctx.AddError(r, absl::StrCat("NOT needs a boolean operand: ", Describe(a[r])));
      } else {
        out[r] = t == -1 ? Value::Null() : Value::Bit(t == 0);
      }
    }
    return out_.span();
  }

 private:
  std::unique_ptr<Expression> arg_;
  OutputBuffer out_;
};

class IsNullExpr final : public Expression {
 public:
  IsNullExpr(std::unique_ptr<Expression> arg, bool negated)
      : arg_(std::move(arg)), negated_(negated) {}
  ValueSpan Evaluate(const Batch& batch, RowSet rows, EvalContext& ctx) override {
    ValueSpan a = arg_->Evaluate(batch, rows, ctx);
    Value* out = out_.Prepare(batch);
    for (uint32_t r : rows) out[r] = Value::Bit(a[r].is_null() != negated_);
    return out_.span();
  }

 private:
  std::unique_ptr<Expression> arg_;
  bool negated_;
  OutputBuffer out_;
};

class LikeExpr final : public Expression {
 public:
  LikeExpr(std::unique_ptr<Expression> value, std::unique_ptr<Expression> pattern, bool negated)
      : value_(std::move(value)), pattern_(std::move(pattern)), negated_(negated) {}

  ValueSpan Evaluate(const Batch& batch, RowSet rows, EvalContext& ctx) override {
    ValueSpan v = value_->Evaluate(batch, rows, ctx);
    ValueSpan p = pattern_->Evaluate(batch, rows, ctx);
    Value* out = out_.Prepare(batch);
    for (uint32_t r : rows) {
      const Value& s = v[r];
      const Value& pat = p[r];
      if (s.is_null() || pat.is_null()) {
        out[r] = Value::Null();
        continue;
      }
      if (s.type() != ValueType::kString || pat.type() != ValueType::kString) {
        out[r] = Value::Null();
        ctx.AddError(r, absl::StrCat("LIKE needs nvarchar(max) operands: ", Describe(s), ", ",
                                     Describe(pat)));
        continue;
      }
      if (!compiled_ || compiled_text_ != pat.string()) {
        compiled_text_ = std::string(pat.string());
        compiled_ = std::make_unique<LikePattern>(LikePattern::Compile(compiled_text_));
      }
      out[r] = Value::Bit(compiled_->Matches(s.string()) != negated_);
    }
    return out_.span();
  }

 private:
  std::unique_ptr<Expression> value_;
  std::unique_ptr<Expression> pattern_;
  bool negated_;
  std::string compiled_text_;
  std::unique_ptr<LikePattern> compiled_;
  OutputBuffer out_;
};

class BetweenExpr final : public Expression {
 public:
  BetweenExpr(std::unique_ptr<Expression> value, std::unique_ptr<Expression> low,
              std::unique_ptr<Expression> high, bool negated)
      : value_(std::move(value)), low_(std::move(low)), high_(std::move(high)), negated_(negated) {}

  ValueSpan Evaluate(const Batch& batch, RowSet rows, EvalContext& ctx) override {
    ValueSpan v = value_->Evaluate(batch, rows, ctx);
    ValueSpan lo = low_->Evaluate(batch, rows, ctx);
    ValueSpan hi = high_->Evaluate(batch, rows, ctx);
    Value* out = out_.Prepare(batch);
    std::string error;
    for (uint32_t r : rows) {
      if (v[r].is_null() || lo[r].is_null() || hi[r].is_null()) {
        out[r] = Value::Null();
        continue;
      }
      int c1 = 0;
      int c2 = 0;
      if (!CompareForPredicate(v[r], lo[r], false, &c1, &error) ||
          !CompareForPredicate(v[r], hi[r], false, &c2, &error)) {
        out[r] = Value::Null();
        ctx.AddError(r, std::move(error));
        error.clear();
        continue;
      }
      out[r] = Value::Bit((c1 >= 0 && c2 <= 0) != negated_);
    }
    return out_.span();
  }

 private:
  std::unique_ptr<Expression> value_;
  std::unique_ptr<Expression> low_;
  std::unique_ptr<Expression> high_;
  bool negated_;
  OutputBuffer out_;
};

class InExpr final : public Expression {
 public:
  InExpr(std::unique_ptr<Expression> value, std::vector<std::unique_ptr<Expression>> list,
         bool negated)
      : value_(std::move(value)), list_(std::move(list)), spans_(list_.size()), negated_(negated) {}

  ValueSpan Evaluate(const Batch& batch, RowSet rows, EvalContext& ctx) override {
    ValueSpan v = value_->Evaluate(batch, rows, ctx);
    for (size_t i = 0; i < list_.size(); ++i) {
      spans_[i] = list_[i]->Evaluate(batch, rows, ctx);
    }
    Value* out = out_.Prepare(batch);
    std::string error;
    for (uint32_t r : rows) {
      const Value& x = v[r];
      if (x.is_null()) {
        out[r] = Value::Null();
        continue;
      }
      bool found = false;
      bool saw_null = false;
      bool failed = false;
      for (const ValueSpan& s : spans_) {
        const Value& y = s[r];
        if (y.is_null()) {
          saw_null = true;
          continue;
        }
        int c = 0;
        if (!CompareForPredicate(x, y, true, &c, &error)) {
          failed = true;
          break;
        }
        if (c == 0) {
          found = true;
          break;
        }
      }
      if (failed) {
        out[r] = Value::Null();
        ctx.AddError(r, std::move(error));
        error.clear();
      } else if (found) {
        out[r] = Value::Bit(!negated_);
      } else {
        out[r] = saw_null ? Value::Null() : Value::Bit(negated_);
      }
    }
    return out_.span();
  }

 private:
  std::unique_ptr<Expression> value_;
  std::vector<std::unique_ptr<Expression>> list_;
  std::vector<ValueSpan> spans_;
  bool negated_;
  OutputBuffer out_;
};

// ---------------------------------------------------------------------------
// Conditional expressions

class CaseExpr final : public Expression {
 public:
  CaseExpr(std::vector<std::unique_ptr<Expression>> when,
           std::vector<std::unique_ptr<Expression>> then, std::unique_ptr<Expression> else_value)
      : when_(std::move(when)), then_(std::move(then)), else_(std::move(else_value)) {}

  ValueSpan Evaluate(const Batch& batch, RowSet rows, EvalContext& ctx) override {
    Value* out = out_.Prepare(batch);
    remaining_.assign(rows.begin(), rows.end());
    for (size_t i = 0; i < when_.size() && !remaining_.empty(); ++i) {
      RowSet candidates{remaining_.data(), static_cast<uint32_t>(remaining_.size())};
      ValueSpan cond = when_[i]->Evaluate(batch, candidates, ctx);
      matched_.clear();
      next_.clear();
      for (uint32_t r : candidates) {
        const int t = TruthValue(cond[r]);
        if (t == -2) {
          out[r] = Value::Null();
          ctx.AddError(r, absl::StrCat("CASE WHEN needs a boolean condition: ", Describe(cond[r])));
        } else if (t == 1) {
          matched_.push_back(r);
        } else {
          next_.push_back(r);
        }
      }
      if (!matched_.empty()) {
        RowSet m{matched_.data(), static_cast<uint32_t>(matched_.size())};
        ValueSpan v = then_[i]->Evaluate(batch, m, ctx);
        for (uint32_t r : m) out[r] = v[r];
      }
      remaining_.swap(next_);
    }
    if (!remaining_.empty()) {
      RowSet rest{remaining_.data(), static_cast<uint32_t>(remaining_.size())};
      if (else_) {
        ValueSpan v = else_->Evaluate(batch, rest, ctx);
        for (uint32_t r : rest) out[r] = v[r];
      } else {
        for (uint32_t r : rest) out[r] = Value::Null();
      }
    }
    return out_.span();
  }

 private:
  std::vector<std::unique_ptr<Expression>> when_;
  std::vector<std::unique_ptr<Expression>> then_;
  std::unique_ptr<Expression> else_;
  std::vector<uint32_t> remaining_;
  std::vector<uint32_t> matched_;
  std::vector<uint32_t> next_;
  OutputBuffer out_;
};

class CoalesceExpr final : public Expression {
 public:
  explicit CoalesceExpr(std::vector<std::unique_ptr<Expression>> args) : args_(std::move(args)) {}

  ValueSpan Evaluate(const Batch& batch, RowSet rows, EvalContext& ctx) override {
    Value* out = out_.Prepare(batch);
    remaining_.assign(rows.begin(), rows.end());
    for (auto& arg : args_) {
      if (remaining_.empty()) break;
      RowSet sub{remaining_.data(), static_cast<uint32_t>(remaining_.size())};
      ValueSpan v = arg->Evaluate(batch, sub, ctx);
      next_.clear();
      for (uint32_t r : sub) {
        if (v[r].is_null()) {
          next_.push_back(r);
        } else {
          out[r] = v[r];
        }
      }
      remaining_.swap(next_);
    }
    for (uint32_t r : remaining_) out[r] = Value::Null();
    return out_.span();
  }

 private:
  std::vector<std::unique_ptr<Expression>> args_;
  std::vector<uint32_t> remaining_;
  std::vector<uint32_t> next_;
  OutputBuffer out_;
};

class NullIfExpr final : public Expression {
 public:
  NullIfExpr(std::unique_ptr<Expression> a, std::unique_ptr<Expression> b)
      : a_(std::move(a)), b_(std::move(b)) {}
  ValueSpan Evaluate(const Batch& batch, RowSet rows, EvalContext& ctx) override {
    ValueSpan x = a_->Evaluate(batch, rows, ctx);
    ValueSpan y = b_->Evaluate(batch, rows, ctx);
    Value* out = out_.Prepare(batch);
    std::string error;
    for (uint32_t r : rows) {
      if (x[r].is_null() || y[r].is_null()) {
        out[r] = x[r];
        continue;
      }
      int c = 0;
      if (!CompareForPredicate(x[r], y[r], true, &c, &error)) {
        out[r] = Value::Null();
        ctx.AddError(r, std::move(error));
        error.clear();
        continue;
      }
      out[r] = c == 0 ? Value::Null() : x[r];
    }
    return out_.span();
  }

 private:
  std::unique_ptr<Expression> a_;
  std::unique_ptr<Expression> b_;
  OutputBuffer out_;
};

ValueType FromProtoType(v1::ValueType t) {
  switch (t) {
    case v1::VALUE_TYPE_BIGINT:
      return ValueType::kBigint;
    case v1::VALUE_TYPE_FLOAT:
      return ValueType::kFloat;
    case v1::VALUE_TYPE_NVARCHAR:
      return ValueType::kString;
    case v1::VALUE_TYPE_DATETIME:
      return ValueType::kDatetime;
    case v1::VALUE_TYPE_BIT:
      return ValueType::kBit;
    case v1::VALUE_TYPE_RECORD:
      return ValueType::kRecord;
    case v1::VALUE_TYPE_ARRAY:
      return ValueType::kArray;
    default:
      return ValueType::kNull;
  }
}

class CastExpr final : public Expression {
 public:
  CastExpr(std::unique_ptr<Expression> arg, ValueType type, bool try_cast)
      : arg_(std::move(arg)), type_(type), try_cast_(try_cast) {}
  ValueSpan Evaluate(const Batch& batch, RowSet rows, EvalContext& ctx) override {
    ValueSpan a = arg_->Evaluate(batch, rows, ctx);
    Value* out = out_.Prepare(batch);
    std::string error;
    for (uint32_t r : rows) {
      if (!CastValue(a[r], type_, ctx.arena(), &out[r], &error)) {
        out[r] = Value::Null();
        if (!try_cast_) ctx.AddError(r, std::move(error));
        error.clear();
      }
    }
    return out_.span();
  }

 private:
  std::unique_ptr<Expression> arg_;
  ValueType type_;
  bool try_cast_;
  OutputBuffer out_;
};

// ---------------------------------------------------------------------------
// Compilation

using Args = std::vector<std::unique_ptr<Expression>>;

absl::StatusOr<std::unique_ptr<Expression>> CompileNested(const v1::Expr& expr, int depth);

absl::StatusOr<Args> CompileArgs(const v1::Call& call, int depth) {
  Args args;
  for (const v1::Expr& e : call.args()) {
    auto compiled = CompileNested(e, depth);
    if (!compiled.ok()) return compiled.status();
    args.push_back(*std::move(compiled));
  }
  return args;
}

absl::Status ArgCount(const v1::Call& call, size_t n) {
  if (static_cast<size_t>(call.args_size()) != n) {
    return absl::InternalError(absl::StrCat("plan calls ", call.function(), " with ",
                                            call.args_size(), " arguments, expected ", n));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Expression>> CompileCall(const v1::Call& call, int depth) {
  auto args_or = CompileArgs(call, depth);
  if (!args_or.ok()) return args_or.status();
  Args args = *std::move(args_or);
  const std::string& f = call.function();

  static const absl::flat_hash_map<std::string, ArithOp> kArith = {{"+", ArithOp::kAdd},
                                                                   {"-", ArithOp::kSubtract},
                                                                   {"*", ArithOp::kMultiply},
                                                                   {"/", ArithOp::kDivide},
                                                                   {"%", ArithOp::kModulo}};
  static const absl::flat_hash_map<std::string, CompareOp> kCompare = {
      {"=", CompareOp::kEq},  {"<>", CompareOp::kNe}, {"<", CompareOp::kLt},
      {"<=", CompareOp::kLe}, {">", CompareOp::kGt},  {">=", CompareOp::kGe}};

  if (auto it = kArith.find(f); it != kArith.end()) {
    if (auto s = ArgCount(call, 2); !s.ok()) return s;
    return std::make_unique<ArithmeticExpr>(it->second, std::move(args[0]), std::move(args[1]));
  }
  if (auto it = kCompare.find(f); it != kCompare.end()) {
    if (auto s = ArgCount(call, 2); !s.ok()) return s;
    return std::make_unique<CompareExpr>(it->second, std::move(args[0]), std::move(args[1]));
  }
  if (f == "neg") {
    if (auto s = ArgCount(call, 1); !s.ok()) return s;
    return std::make_unique<NegateExpr>(std::move(args[0]));
  }
  if (f == "&" || f == "|" || f == "^") {
    if (auto s = ArgCount(call, 2); !s.ok()) return s;
    BitOp op = f == "&" ? BitOp::kAnd : (f == "|" ? BitOp::kOr : BitOp::kXor);
    return std::make_unique<BitwiseExpr>(op, std::move(args[0]), std::move(args[1]));
  }
  if (f == "~") {
    if (auto s = ArgCount(call, 1); !s.ok()) return s;
    return std::make_unique<BitwiseNotExpr>(std::move(args[0]));
  }
  if (f == "and" || f == "or") {
    if (args.size() < 2) {
      return absl::InternalError(
          absl::StrCat("plan calls ", f, " with ", args.size(), " arguments, expected at least 2"));
    }
    return std::make_unique<LogicalExpr>(f == "and", std::move(args));
  }
  if (f == "not") {
    if (auto s = ArgCount(call, 1); !s.ok()) return s;
    return std::make_unique<NotExpr>(std::move(args[0]));
  }
  if (f == "is_null" || f == "is_not_null") {
    if (auto s = ArgCount(call, 1); !s.ok()) return s;
    return std::make_unique<IsNullExpr>(std::move(args[0]), f == "is_not_null");
  }
  if (f == "like" || f == "not_like") {
    if (auto s = ArgCount(call, 2); !s.ok()) return s;
    return std::make_unique<LikeExpr>(std::move(args[0]), std::move(args[1]), f == "not_like");
  }
  if (f == "between" || f == "not_between") {
    if (auto s = ArgCount(call, 3); !s.ok()) return s;
    return std::make_unique<BetweenExpr>(std::move(args[0]), std::move(args[1]), std::move(args[2]),
                                         f == "not_between");
  }
  if (f == "in" || f == "not_in") {
    if (args.size() < 2) return absl::InternalError("IN needs a list");
    auto value = std::move(args[0]);
    args.erase(args.begin());
    return std::make_unique<InExpr>(std::move(value), std::move(args), f == "not_in");
  }
  if (f == "coalesce") {
    if (args.empty()) return absl::InternalError("COALESCE needs arguments");
    return std::make_unique<CoalesceExpr>(std::move(args));
  }
  if (f == "nullif") {
    if (auto s = ArgCount(call, 2); !s.ok()) return s;
    return std::make_unique<NullIfExpr>(std::move(args[0]), std::move(args[1]));
  }
  const ScalarFunction* fn = FindScalarFunction(f);
  if (fn == nullptr) {
    return absl::InternalError(absl::StrCat("plan calls unknown function: ", f));
  }
  const int n = static_cast<int>(args.size());
  if (n < fn->min_args || (fn->max_args >= 0 && n > fn->max_args)) {
    return absl::InternalError(absl::StrCat("plan calls ", f, " with ", n, " arguments"));
  }
  return std::make_unique<FunctionCallExpr>(fn, std::move(args));
}

}  // namespace

int TruthValue(const Value& v) {
  switch (v.type()) {
    case ValueType::kNull:
      return -1;
    case ValueType::kBit:
    case ValueType::kBigint:
      return v.bigint() != 0 ? 1 : 0;
    case ValueType::kFloat:
      return v.float_value() != 0 ? 1 : 0;
    default:
      return -2;
  }
}

bool CompareForPredicate(const Value& a, const Value& b, bool equality_only, int* result,
                         std::string* error) {
  auto numeric_like = [](const Value& v) { return v.is_numeric() || v.type() == ValueType::kBit; };
  if (numeric_like(a) && numeric_like(b)) {
    if (a.type() != ValueType::kFloat && b.type() != ValueType::kFloat) {
      *result = a.bigint() < b.bigint() ? -1 : (a.bigint() > b.bigint() ? 1 : 0);
    } else {
      const double x =
          a.type() == ValueType::kFloat ? a.float_value() : static_cast<double>(a.bigint());
      const double y =
          b.type() == ValueType::kFloat ? b.float_value() : static_cast<double>(b.bigint());
      *result = x < y ? -1 : (x > y ? 1 : 0);
    }
    return true;
  }
  if (a.type() == b.type()) {
    switch (a.type()) {
      case ValueType::kString: {
        const int c = a.string().compare(b.string());
        *result = c < 0 ? -1 : (c > 0 ? 1 : 0);
        return true;
      }
      case ValueType::kDatetime:
        *result = a.ticks() < b.ticks() ? -1 : (a.ticks() > b.ticks() ? 1 : 0);
        return true;
      case ValueType::kRecord:
      case ValueType::kArray:
        if (equality_only) {
          *result = GroupEquals(a, b) ? 0 : 1;
          return true;
        }
        break;
      default:
        break;
    }
  }
  // Implicit conversions of text to the other side's type.
  if (a.type() == ValueType::kString || b.type() == ValueType::kString) {
    const Value& text = a.type() == ValueType::kString ? a : b;
    const Value& other = a.type() == ValueType::kString ? b : a;
    const int sign = a.type() == ValueType::kString ? 1 : -1;
    if (other.type() == ValueType::kDatetime) {
      if (auto t = ParseDatetime(text.string())) {
        *result = sign * (*t < other.ticks() ? -1 : (*t > other.ticks() ? 1 : 0));
        return true;
      }
    } else if (numeric_like(other)) {
      if (auto d = ParseNumber(text.string())) {
        const double o = other.type() == ValueType::kFloat ? other.float_value()
                                                           : static_cast<double>(other.bigint());
        *result = sign * (*d < o ? -1 : (*d > o ? 1 : 0));
        return true;
      }
    }
  }
  *error = absl::StrCat("cannot compare ", Describe(a), " with ", Describe(b));
  return false;
}

absl::StatusOr<std::unique_ptr<Expression>> CompileExpression(const v1::Expr& expr) {
  return CompileNested(expr, 1);
}

namespace {

// `depth`: the expression's level in the tree, the root's being 1.
absl::StatusOr<std::unique_ptr<Expression>> CompileNested(const v1::Expr& expr, int depth) {
  if (depth > kMaxCompiledExpressionDepth) {
    return absl::InternalError(
        absl::StrCat("plan expression nests deeper than ", kMaxCompiledExpressionDepth, " levels"));
  }
  ++depth;  // for the children
  switch (expr.kind_case()) {
    case v1::Expr::kLiteral:
      return std::make_unique<ConstantExpr>(expr.literal());
    case v1::Expr::kColumn:
      return std::make_unique<ColumnExpr>(expr.column());
    case v1::Expr::kField: {
      auto record = CompileNested(expr.field().record(), depth);
      if (!record.ok()) return record.status();
      return std::make_unique<FieldLookupExpr>(*std::move(record), expr.field().name());
    }
    case v1::Expr::kCall:
      return CompileCall(expr.call(), depth);
    case v1::Expr::kCaseExpr: {
      const v1::CaseExpr& c = expr.case_expr();
      if (c.when_size() != c.then_size()) {
        return absl::InternalError("CASE with unmatched WHEN/THEN");
      }
      Args when;
      Args then;
      for (int i = 0; i < c.when_size(); ++i) {
        auto w = CompileNested(c.when(i), depth);
        if (!w.ok()) return w.status();
        auto t = CompileNested(c.then(i), depth);
        if (!t.ok()) return t.status();
        when.push_back(*std::move(w));
        then.push_back(*std::move(t));
      }
      std::unique_ptr<Expression> else_value;
      if (c.has_else_value()) {
        auto e = CompileNested(c.else_value(), depth);
        if (!e.ok()) return e.status();
        else_value = *std::move(e);
      }
      return std::make_unique<CaseExpr>(std::move(when), std::move(then), std::move(else_value));
    }
    case v1::Expr::kCast: {
      auto arg = CompileNested(expr.cast().arg(), depth);
      if (!arg.ok()) return arg.status();
      const ValueType type = FromProtoType(expr.cast().type());
      if (type == ValueType::kNull) {
        return absl::InternalError("CAST to an unspecified type");
      }
      return std::make_unique<CastExpr>(*std::move(arg), type, expr.cast().try_cast());
    }
    case v1::Expr::kSystemTimestamp:
      return std::make_unique<SystemTimestampExpr>();
    case v1::Expr::KIND_NOT_SET:
      break;
  }
  return absl::InternalError("plan has an empty expression");
}

}  // namespace

}  // namespace sluice

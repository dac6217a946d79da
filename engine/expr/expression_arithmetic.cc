// Arithmetic and bitwise operators: + - * / % on bigint, float and bit
// (and + on strings), unary minus, and & | ^ ~ on bigint and bit. Overflow
// and division by zero are per-row errors.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/core/arena.h"
#include "engine/core/batch.h"
#include "engine/core/value.h"
#include "engine/expr/expression.h"
#include "engine/expr/expression_internal.h"

namespace sluice::expr_internal {
namespace {

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

}  // namespace

std::unique_ptr<Expression> MakeArithmetic(ArithOp op, std::unique_ptr<Expression> left,
                                           std::unique_ptr<Expression> right) {
  return std::make_unique<ArithmeticExpr>(op, std::move(left), std::move(right));
}

std::unique_ptr<Expression> MakeNegate(std::unique_ptr<Expression> arg) {
  return std::make_unique<NegateExpr>(std::move(arg));
}

std::unique_ptr<Expression> MakeBitwise(BitOp op, std::unique_ptr<Expression> left,
                                        std::unique_ptr<Expression> right) {
  return std::make_unique<BitwiseExpr>(op, std::move(left), std::move(right));
}

std::unique_ptr<Expression> MakeBitwiseNot(std::unique_ptr<Expression> arg) {
  return std::make_unique<BitwiseNotExpr>(std::move(arg));
}

}  // namespace sluice::expr_internal

#include "engine/expr/expression.h"

#include <charconv>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/core/arena.h"
#include "engine/core/batch.h"
#include "engine/core/datetime.h"
#include "engine/core/value.h"
#include "engine/expr/expression_internal.h"
#include "engine/expr/scalar_function.h"
#include "proto/plan.pb.h"

namespace sluice {
namespace expr_internal {
namespace {

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

}  // namespace

std::string Describe(const Value& v) {
  return absl::StrCat(TypeName(v.type()), " ", DebugString(v));
}

std::unique_ptr<Expression> MakeConstant(const v1::Literal& literal) {
  return std::make_unique<ConstantExpr>(literal);
}

std::unique_ptr<Expression> MakeColumn(int index) { return std::make_unique<ColumnExpr>(index); }

std::unique_ptr<Expression> MakeFieldLookup(std::unique_ptr<Expression> record, std::string name) {
  return std::make_unique<FieldLookupExpr>(std::move(record), std::move(name));
}

std::unique_ptr<Expression> MakeSystemTimestamp() {
  return std::make_unique<SystemTimestampExpr>();
}

std::unique_ptr<Expression> MakeFunctionCall(const ScalarFunction* fn, Args args) {
  return std::make_unique<FunctionCallExpr>(fn, std::move(args));
}

}  // namespace expr_internal

namespace {

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
  *error = absl::StrCat("cannot compare ", expr_internal::Describe(a), " with ",
                        expr_internal::Describe(b));
  return false;
}

}  // namespace sluice

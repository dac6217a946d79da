// Comparisons and predicates: = <> < <= > >=, AND and OR chains and NOT
// with three-valued logic, IS [NOT] NULL, [NOT] LIKE, [NOT] BETWEEN and
// [NOT] IN. Values that cannot be compared are per-row errors.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/core/batch.h"
#include "engine/core/value.h"
#include "engine/expr/expression.h"
#include "engine/expr/expression_internal.h"
#include "engine/expr/functions/like_pattern.h"

namespace sluice::expr_internal {
namespace {

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

}  // namespace

std::unique_ptr<Expression> MakeCompare(CompareOp op, std::unique_ptr<Expression> left,
                                        std::unique_ptr<Expression> right) {
  return std::make_unique<CompareExpr>(op, std::move(left), std::move(right));
}

std::unique_ptr<Expression> MakeLogical(bool is_and, Args args) {
  return std::make_unique<LogicalExpr>(is_and, std::move(args));
}

std::unique_ptr<Expression> MakeNot(std::unique_ptr<Expression> arg) {
  return std::make_unique<NotExpr>(std::move(arg));
}

std::unique_ptr<Expression> MakeIsNull(std::unique_ptr<Expression> arg, bool negated) {
  return std::make_unique<IsNullExpr>(std::move(arg), negated);
}

std::unique_ptr<Expression> MakeLike(std::unique_ptr<Expression> value,
                                     std::unique_ptr<Expression> pattern, bool negated) {
  return std::make_unique<LikeExpr>(std::move(value), std::move(pattern), negated);
}

std::unique_ptr<Expression> MakeBetween(std::unique_ptr<Expression> value,
                                        std::unique_ptr<Expression> low,
                                        std::unique_ptr<Expression> high, bool negated) {
  return std::make_unique<BetweenExpr>(std::move(value), std::move(low), std::move(high), negated);
}

std::unique_ptr<Expression> MakeIn(std::unique_ptr<Expression> value, Args list, bool negated) {
  return std::make_unique<InExpr>(std::move(value), std::move(list), negated);
}

}  // namespace sluice::expr_internal

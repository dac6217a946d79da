// Conditional expressions: CASE and COALESCE, which evaluate each later
// operand only on the rows still undecided, NULLIF, and CAST / TRY_CAST.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/core/batch.h"
#include "engine/core/conversion.h"
#include "engine/core/value.h"
#include "engine/expr/expression.h"
#include "engine/expr/expression_internal.h"

namespace sluice::expr_internal {
namespace {

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

}  // namespace

std::unique_ptr<Expression> MakeCase(Args when, Args then, std::unique_ptr<Expression> else_value) {
  return std::make_unique<CaseExpr>(std::move(when), std::move(then), std::move(else_value));
}

std::unique_ptr<Expression> MakeCoalesce(Args args) {
  return std::make_unique<CoalesceExpr>(std::move(args));
}

std::unique_ptr<Expression> MakeNullIf(std::unique_ptr<Expression> a,
                                       std::unique_ptr<Expression> b) {
  return std::make_unique<NullIfExpr>(std::move(a), std::move(b));
}

std::unique_ptr<Expression> MakeCast(std::unique_ptr<Expression> arg, ValueType type,
                                     bool try_cast) {
  return std::make_unique<CastExpr>(std::move(arg), type, try_cast);
}

}  // namespace sluice::expr_internal

// `udf.name(args)`: a JavaScript user-defined function, called a batch at a
// time through the node's own host process (javascript/javascript_host.h).
// A row whose call throws, runs too long or needs too much memory gets NULL
// and goes to the job's error output with the message.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/expr/expression_internal.h"
#include "engine/expr/javascript/javascript_host.h"

namespace sluice::expr_internal {
namespace {

class UserFunctionExpr final : public Expression {
 public:
  UserFunctionExpr(const v1::UserFunctionCall& call, Args args)
      : host_(call.name(), call.source(), call.time_limit_ms(), call.memory_limit_bytes()),
        args_(std::move(args)),
        spans_(args_.size()) {}

  ValueSpan Evaluate(const Batch& batch, RowSet rows, EvalContext& ctx) override {
    for (size_t i = 0; i < args_.size(); ++i) spans_[i] = args_[i]->Evaluate(batch, rows, ctx);
    Value* out = out_.Prepare(batch);
    row_ids_.clear();
    values_.clear();
    for (uint32_t r : rows) {
      row_ids_.push_back(r);
      for (const ValueSpan& s : spans_) values_.push_back(s[r]);
    }
    if (row_ids_.empty()) return out_.span();
    host_.CallBatch(values_, static_cast<int>(args_.size()), static_cast<int>(row_ids_.size()),
                    ctx.arena(), &results_);
    for (size_t k = 0; k < row_ids_.size(); ++k) {
      javascript::JavaScriptResult& result = results_[k];
      out[row_ids_[k]] = result.ok ? result.value : Value();
      if (!result.ok) ctx.AddError(row_ids_[k], std::move(result.error));
    }
    return out_.span();
  }

 private:
  javascript::JavaScriptHost host_;
  Args args_;
  std::vector<ValueSpan> spans_;
  std::vector<uint32_t> row_ids_;
  std::vector<Value> values_;  // row-major arguments of the rows asked for
  std::vector<javascript::JavaScriptResult> results_;
  OutputBuffer out_;
};

}  // namespace

std::unique_ptr<Expression> MakeUserFunctionCall(const v1::UserFunctionCall& call, Args args) {
  return std::make_unique<UserFunctionExpr>(call, std::move(args));
}

}  // namespace sluice::expr_internal

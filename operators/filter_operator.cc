// Filter (WHERE, HAVING): narrows a batch's selection to the rows whose
// predicate is true; NULL and false drop the row. Rows whose predicate fails
// to evaluate go to the job's error output.
#include "engine/core/row_json.h"
#include "engine/expr/expression.h"
#include "operators/builtin_operators.h"

namespace sluice {
namespace {

class FilterOperator final : public Operator {
 public:
  FilterOperator(std::unique_ptr<Expression> predicate, const v1::Schema& input)
      : predicate_(std::move(predicate)), describe_(input) {}

  absl::Status ProcessBatch(int, const Batch& batch, Emitter& out) override {
    Arena scratch(256);
    eval_.Reset(&scratch);
    const RowSet rows = batch.active_rows();
    ValueSpan result = predicate_->Evaluate(batch, rows, eval_);
    for (uint32_t r : rows) {
      if (TruthValue(result[r]) == -2) {
        eval_.AddError(r, "WHERE/HAVING condition is not a boolean: " + DebugString(result[r]));
      }
    }
    if (absl::Status s = RejectFailedRows(batch, eval_.errors(), out, &failed_, &describe_);
        !s.ok()) {
      return s;
    }
    std::vector<uint32_t> keep;
    keep.reserve(rows.count);
    size_t f = 0;
    for (uint32_t r : rows) {
      while (f < failed_.size() && failed_[f] < r) ++f;
      if (f < failed_.size() && failed_[f] == r) continue;
      if (TruthValue(result[r]) == 1) keep.push_back(r);
    }
    if (keep.size() == rows.count) return out.Emit(batch);
    if (keep.empty()) return absl::OkStatus();
    return out.Emit(WithSelection(batch, std::move(keep)));
  }

 private:
  std::unique_ptr<Expression> predicate_;
  RowJsonWriter describe_;  // for rejected rows that have no origin
  EvalContext eval_;
  std::vector<uint32_t> failed_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Operator>> MakeFilterOperator(const v1::Node& node,
                                                             const v1::Plan& plan) {
  auto predicate = CompileExpression(node.filter().predicate());
  if (!predicate.ok()) return predicate.status();
  return std::make_unique<FilterOperator>(*std::move(predicate),
                                          plan.nodes(node.inputs(0)).schema());
}

}  // namespace sluice

// Project (SELECT list): computes one column per output column. Columns that
// are plain references to input columns are shared, not copied; computed
// columns are materialized for the active rows. Rows whose expressions fail
// go to the job's error output.
#include "engine/core/row_json.h"
#include "engine/expr/expression.h"
#include "operators/builtin_operators.h"

namespace sluice {
namespace {

class ProjectOperator final : public Operator {
 public:
  struct Item {
    std::unique_ptr<Expression> expr;
    int passthrough_column = -1;  // >= 0: share this input column
  };

  ProjectOperator(std::vector<Item> items, const v1::Schema& input)
      : items_(std::move(items)), describe_(input) {}

  absl::Status ProcessBatch(int, const Batch& batch, Emitter& out) override {
    auto arena = std::make_shared<Arena>(1024);
    eval_.Reset(arena.get());
    const RowSet rows = batch.active_rows();
    Batch result;
    result.num_rows = batch.num_rows;
    result.timestamps = batch.timestamps;
    result.selection = batch.selection;
    result.origins = batch.origins;
    result.paired = batch.paired;
    result.low_positions = batch.low_positions;
    result.arenas = batch.arenas;
    result.columns.reserve(items_.size());
    for (Item& item : items_) {
      if (item.passthrough_column >= 0) {
        result.columns.push_back(batch.columns[item.passthrough_column]);
        continue;
      }
      ValueSpan span = item.expr->Evaluate(batch, rows, eval_);
      auto column = std::make_shared<ValueVector>(batch.num_rows);
      Value* dst = column->data();
      for (uint32_t r : rows) dst[r] = span[r];
      result.columns.push_back(std::move(column));
    }
    if (arena->bytes_reserved() > 0) result.arenas.push_back(arena);
    if (!eval_.has_errors()) return out.Emit(result);
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
      keep.push_back(r);
    }
    if (keep.empty()) return absl::OkStatus();
    return out.Emit(WithSelection(result, std::move(keep)));
  }

 private:
  std::vector<Item> items_;
  RowJsonWriter describe_;  // for rejected rows that have no origin
  EvalContext eval_;
  std::vector<uint32_t> failed_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Operator>> MakeProjectOperator(const v1::Node& node,
                                                              const v1::Plan& plan) {
  std::vector<ProjectOperator::Item> items;
  for (const v1::Expr& e : node.project().exprs()) {
    ProjectOperator::Item item;
    if (e.kind_case() == v1::Expr::kColumn) {
      item.passthrough_column = e.column();
    } else {
      auto expr = CompileExpression(e);
      if (!expr.ok()) return expr.status();
      item.expr = *std::move(expr);
    }
    items.push_back(std::move(item));
  }
  return std::make_unique<ProjectOperator>(std::move(items), plan.nodes(node.inputs(0)).schema());
}

}  // namespace sluice

// CROSS APPLY / OUTER APPLY (ApplyNode in proto/plan.proto): a row per
// element of an array (GetArrayElements) or per field of a record
// (GetRecordProperties), each carrying the input row's columns, time and
// origin. Stateless.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/core/row_json.h"
#include "engine/expr/expression.h"
#include "operators/builtin_operators.h"

namespace sluice {
namespace {

class ApplyOperator final : public Operator {
 public:
  ApplyOperator(const v1::ApplyNode& spec, std::unique_ptr<Expression> arg, size_t width,
                const v1::Schema& input)
      : array_(spec.function() == v1::ApplyNode::FUNCTION_ARRAY_ELEMENTS),
        outer_(spec.outer()),
        name_(array_ ? "GetArrayElements" : "GetRecordProperties"),
        arg_(std::move(arg)),
        width_(width),
        describe_(input) {}

  absl::Status ProcessBatch(int, const Batch& batch, Emitter& out) override {
    const RowSet rows = batch.active_rows();
    // The argument's values may live in the scratch arena (a computed
    // array): the output batch keeps it.
    auto scratch = std::make_shared<Arena>(256);
    eval_.Reset(scratch.get());
    ValueSpan values = arg_->Evaluate(batch, rows, eval_);
    for (uint32_t r : rows) {
      const Value& v = values[r];
      const ValueType wanted = array_ ? ValueType::kArray : ValueType::kRecord;
      if (!v.is_null() && v.type() != wanted) {
        eval_.AddError(r, absl::StrCat(name_, " needs ", array_ ? "an array" : "a record", ", got ",
                                       DebugString(v)));
      }
    }
    if (absl::Status s = RejectFailedRows(batch, eval_.errors(), out, &failed_, &describe_);
        !s.ok()) {
      return s;
    }
    BatchBuilder builder(width_ + 2);
    for (const auto& arena : batch.arenas) builder.AddArena(arena);
    builder.AddArena(scratch);
    size_t f = 0;
    auto add = [&](uint32_t r, const Value& first, const Value& second) {
      const uint32_t row = builder.AddRow(batch.timestamp(r));
      for (size_t c = 0; c < width_; ++c) builder.Set(c, row, batch.value(c, r));
      builder.Set(width_, row, first);
      builder.Set(width_ + 1, row, second);
      if (const RowOrigin* origin = batch.origin(r)) builder.SetOrigin(row, *origin);
      if (const JoinedOrigins* others = batch.paired_origins(r)) builder.SetPaired(row, *others);
      const int64_t low = batch.LowPosition(r);
      if (low >= 0 && batch.low_positions) builder.SetLowPosition(row, low);
    };
    for (uint32_t r : rows) {
      while (f < failed_.size() && failed_[f] < r) ++f;
      if (f < failed_.size() && failed_[f] == r) continue;
      const Value& v = values[r];
      const uint32_t count = v.is_null() ? 0 : v.size();
      if (count == 0) {
        if (outer_) add(r, Value::Null(), Value::Null());
        continue;
      }
      for (uint32_t i = 0; i < count; ++i) {
        if (array_) {
          add(r, Value::Bigint(i), v.items()[i]);
        } else {
          add(r, Value::String(v.fields()[i].name), v.fields()[i].value);
        }
      }
    }
    if (builder.num_rows() == 0) return absl::OkStatus();
    return out.Emit(builder.Finish());
  }

 private:
  const bool array_;
  const bool outer_;
  const char* name_;
  std::unique_ptr<Expression> arg_;
  const size_t width_;
  RowJsonWriter describe_;
  EvalContext eval_;
  std::vector<uint32_t> failed_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Operator>> MakeApplyOperator(const v1::Node& node,
                                                            const v1::Plan& plan) {
  if (node.inputs_size() != 1) return absl::InvalidArgumentError("malformed apply node");
  auto arg = CompileExpression(node.apply().arg());
  if (!arg.ok()) return arg.status();
  const v1::Schema& input = plan.nodes(node.inputs(0)).schema();
  return std::make_unique<ApplyOperator>(node.apply(), *std::move(arg),
                                         static_cast<size_t>(input.columns_size()), input);
}

}  // namespace sluice

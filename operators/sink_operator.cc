// Sink: formats each row as JSON and hands it to the job output's Sink
// (a file, stdout or a Kafka topic, bound by the task's environment).
#include "absl/strings/str_cat.h"
#include "engine/row_json.h"
#include "operators/builtin_operators.h"

namespace sluice {
namespace {

class SinkOperator final : public Operator {
 public:
  SinkOperator(int output, const v1::Schema& schema) : output_(output), writer_(schema) {}

  absl::Status Open(OperatorContext& ctx) override {
    ctx_ = &ctx;
    sink_ = ctx.sink(output_);
    if (sink_ == nullptr) {
      return absl::InternalError(absl::StrCat("no sink bound to plan output ", output_));
    }
    return absl::OkStatus();
  }

  absl::Status ProcessBatch(int, const Batch& batch, Emitter&) override {
    const RowSet rows = batch.active_rows();
    text_.clear();
    offsets_.clear();
    for (uint32_t r : rows) {
      offsets_.push_back(text_.size());
      writer_.Append(batch, r, &text_);
    }
    offsets_.push_back(text_.size());
    rows_.clear();
    for (uint32_t i = 0; i < rows.count; ++i) {
      rows_.push_back(
          OutputRow{std::string_view(),
                    std::string_view(text_.data() + offsets_[i], offsets_[i + 1] - offsets_[i]),
                    batch.timestamp(rows[i])});
    }
    TaskMetrics::Add(ctx_->metrics().rows_out, rows.count);
    return sink_->Write(rows_);
  }

  absl::Status ProcessWatermark(int64_t, Emitter&) override { return absl::OkStatus(); }

 private:
  int output_;
  RowJsonWriter writer_;
  Sink* sink_ = nullptr;
  std::string text_;
  std::vector<size_t> offsets_;
  std::vector<OutputRow> rows_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Operator>> MakeSinkOperator(const v1::Node& node, const v1::Plan&) {
  return std::make_unique<SinkOperator>(node.sink().output(), node.schema());
}

}  // namespace sluice

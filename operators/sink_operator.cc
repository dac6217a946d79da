// Sink: formats each row as JSON and hands it to the job output's Sink
// (a file, stdout or a Kafka topic, bound by the task's environment), with
// the row's group key as text: the key's value for one key column (strings
// as they are), a JSON array for several, empty for rows without keys.
#include "absl/strings/str_cat.h"
#include "engine/core/row_json.h"
#include "operators/builtin_operators.h"

namespace sluice {
namespace {

class SinkOperator final : public Operator {
 public:
  SinkOperator(int output, const v1::Schema& schema, std::vector<int> key_columns)
      : output_(output), writer_(schema), key_columns_(std::move(key_columns)) {}

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
      offsets_.push_back(text_.size());
      AppendKey(batch, r, &text_);
    }
    offsets_.push_back(text_.size());
    rows_.clear();
    for (uint32_t i = 0; i < rows.count; ++i) {
      const size_t json_start = offsets_[2 * i];
      const size_t key_start = offsets_[2 * i + 1];
      const size_t key_end = offsets_[2 * i + 2];
      const RowOrigin* origin = batch.origin(rows[i]);
      const JoinedOrigins* paired = batch.paired_origins(rows[i]);
      if (paired != nullptr && paired->empty()) paired = nullptr;  // not a joined row
      rows_.push_back(OutputRow{std::string_view(text_.data() + key_start, key_end - key_start),
                                std::string_view(text_.data() + json_start, key_start - json_start),
                                batch.timestamp(rows[i]), origin ? origin->position : -1,
                                paired ? origin : nullptr, paired});
    }
    TaskMetrics::Add(ctx_->metrics().rows_out, rows.count);
    return sink_->Write(rows_);
  }

  absl::Status ProcessWatermark(int64_t, Emitter&) override { return absl::OkStatus(); }

 private:
  void AppendKey(const Batch& batch, uint32_t row, std::string* out) const {
    if (key_columns_.size() == 1) {
      const Value& v = batch.value(key_columns_[0], row);
      if (v.type() == ValueType::kString) {
        out->append(v.string());
      } else if (!v.is_null()) {
        AppendJson(v, out);
      }
      return;
    }
    if (key_columns_.empty()) return;
    out->push_back('[');
    for (size_t i = 0; i < key_columns_.size(); ++i) {
      if (i > 0) out->push_back(',');
      AppendJson(batch.value(key_columns_[i], row), out);
    }
    out->push_back(']');
  }

  int output_;
  RowJsonWriter writer_;
  std::vector<int> key_columns_;
  Sink* sink_ = nullptr;
  std::string text_;
  std::vector<size_t> offsets_;
  std::vector<OutputRow> rows_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Operator>> MakeSinkOperator(const v1::Node& node, const v1::Plan&) {
  return std::make_unique<SinkOperator>(
      node.sink().output(), node.schema(),
      std::vector<int>(node.sink().key_columns().begin(), node.sink().key_columns().end()));
}

}  // namespace sluice

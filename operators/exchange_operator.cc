// Exchange: where rows leave for the next stage (design.md, "Steps that
// cross partitions"). In a task that runs one stage of a partitioned job,
// the task gives the operator an ExchangeSender: each row goes with the hash
// of its key (the group key of the step after the exchange), and each
// watermark goes too. Anywhere else (a single task running every stage, or
// the receiving side of the exchange) rows and watermarks pass through.
// Rows whose key cannot be evaluated go to the job's error output.
#include "engine/core/murmur2.h"
#include "engine/core/row_json.h"
#include "engine/core/value_codec.h"
#include "engine/exec/exchange.h"
#include "engine/expr/expression.h"
#include "operators/builtin_operators.h"

namespace sluice {
namespace {

class ExchangeOperator final : public Operator {
 public:
  ExchangeOperator(std::vector<std::unique_ptr<Expression>> keys, const v1::Schema& input)
      : keys_(std::move(keys)), describe_(input) {}

  absl::Status Open(OperatorContext& ctx) override {
    sender_ = ctx.exchange_sender();
    node_ = ctx.node_id();
    return absl::OkStatus();
  }

  absl::Status ProcessBatch(int, const Batch& batch, Emitter& out) override {
    if (sender_ == nullptr) return out.Emit(batch);
    Arena scratch(256);
    eval_.Reset(&scratch);
    const RowSet rows = batch.active_rows();
    std::vector<ValueSpan> keys;
    for (auto& key : keys_) keys.push_back(key->Evaluate(batch, rows, eval_));
    if (absl::Status s = RejectFailedRows(batch, eval_.errors(), out, &failed_, &describe_);
        !s.ok()) {
      return s;
    }
    rows_.clear();
    hashes_.clear();
    size_t f = 0;
    std::string encoded;
    for (uint32_t r : rows) {
      while (f < failed_.size() && failed_[f] < r) ++f;
      if (f < failed_.size() && failed_[f] == r) continue;
      encoded.clear();
      for (const ValueSpan& k : keys) EncodeValue(k[r], &encoded);
      rows_.push_back(r);
      hashes_.push_back(keys.empty() ? 0 : (Murmur2(encoded) & 0x7fffffffu));
    }
    if (rows_.empty()) return absl::OkStatus();
    return sender_->SendRows(node_, batch, rows_, hashes_);
  }

  absl::Status ProcessWatermark(int64_t watermark, Emitter& out) override {
    if (sender_ == nullptr) return out.EmitWatermark(watermark);
    return sender_->SendWatermark(node_, watermark);
  }

 private:
  std::vector<std::unique_ptr<Expression>> keys_;
  RowJsonWriter describe_;
  ExchangeSender* sender_ = nullptr;
  int node_ = -1;
  EvalContext eval_;
  std::vector<uint32_t> failed_;
  std::vector<uint32_t> rows_;
  std::vector<uint64_t> hashes_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Operator>> MakeExchangeOperator(const v1::Node& node,
                                                               const v1::Plan& plan) {
  std::vector<std::unique_ptr<Expression>> keys;
  for (const v1::Expr& k : node.exchange().keys()) {
    auto e = CompileExpression(k);
    if (!e.ok()) return e.status();
    keys.push_back(*std::move(e));
  }
  return std::make_unique<ExchangeOperator>(std::move(keys), plan.nodes(node.inputs(0)).schema());
}

}  // namespace sluice

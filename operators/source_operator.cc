// Source: the entry of one job input into the task. The driver (file reader
// or Kafka consumer) has already decoded events into the input's columns;
// the source passes batches and the end-of-input watermark on.
#include "operators/builtin_operators.h"

namespace sluice {
namespace {

class SourceOperator final : public Operator {
 public:
  absl::Status ProcessBatch(int, const Batch& batch, Emitter& out) override {
    return out.Emit(batch);
  }
};

}  // namespace

absl::StatusOr<std::unique_ptr<Operator>> MakeSourceOperator(const v1::Node&, const v1::Plan&) {
  return std::make_unique<SourceOperator>();
}

}  // namespace sluice

// UNION: merges its inputs, keeping duplicates. The task already delivers
// the minimum watermark over the inputs, so batches just pass through; the
// compiler guarantees every input has the same number of columns.
#include "operators/builtin_operators.h"

namespace sluice {
namespace {

class UnionOperator final : public Operator {
 public:
  absl::Status ProcessBatch(int, const Batch& batch, Emitter& out) override {
    return out.Emit(batch);
  }
};

}  // namespace

absl::StatusOr<std::unique_ptr<Operator>> MakeUnionOperator(const v1::Node&, const v1::Plan&) {
  return std::make_unique<UnionOperator>();
}

}  // namespace sluice

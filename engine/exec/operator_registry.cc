#include "engine/exec/operator_registry.h"

#include "absl/strings/str_cat.h"

namespace sluice {

void OperatorRegistry::Register(v1::Node::OpCase kind, Factory factory) {
  factories_[static_cast<int>(kind)] = std::move(factory);
}

absl::StatusOr<std::unique_ptr<Operator>> OperatorRegistry::Create(const v1::Node& node,
                                                                   const v1::Plan& plan) const {
  auto it = factories_.find(static_cast<int>(node.op_case()));
  if (it == factories_.end()) {
    return absl::InternalError(absl::StrCat("no operator registered for plan node kind ",
                                            node.op_case(), " (node ", node.id(), ")"));
  }
  return it->second(node, plan);
}

}  // namespace sluice

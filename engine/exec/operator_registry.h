// OperatorRegistry: maps plan node kinds to the factories that build their
// runtime operators.
//
// The engine knows no concrete operator: operators/ registers the built-in
// ones (RegisterBuiltinOperators) and the composition root (engine/app)
// hands the registry to every task. Read-only once built, so tasks on
// several threads can share it.
#ifndef SLUICE_ENGINE_EXEC_OPERATOR_REGISTRY_H_
#define SLUICE_ENGINE_EXEC_OPERATOR_REGISTRY_H_

#include <functional>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "engine/exec/operator.h"
#include "proto/plan.pb.h"

namespace sluice {

class OperatorRegistry {
 public:
  using Factory = std::function<absl::StatusOr<std::unique_ptr<Operator>>(const v1::Node& node,
                                                                          const v1::Plan& plan)>;

  void Register(v1::Node::OpCase kind, Factory factory);

  absl::StatusOr<std::unique_ptr<Operator>> Create(const v1::Node& node,
                                                   const v1::Plan& plan) const;

 private:
  absl::flat_hash_map<int, Factory> factories_;
};

}  // namespace sluice

#endif  // SLUICE_ENGINE_EXEC_OPERATOR_REGISTRY_H_

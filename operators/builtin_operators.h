// The built-in operators and their registration.
//
// One file per operator kind; each exposes a factory that builds the
// operator from its plan node. RegisterBuiltinOperators puts them all in an
// OperatorRegistry; the composition root calls it once.
#ifndef SLUICE_OPERATORS_BUILTIN_OPERATORS_H_
#define SLUICE_OPERATORS_BUILTIN_OPERATORS_H_

#include <memory>

#include "absl/status/statusor.h"
#include "engine/exec/operator.h"
#include "engine/exec/operator_registry.h"
#include "proto/plan.pb.h"

namespace sluice {

void RegisterBuiltinOperators(OperatorRegistry* registry);

absl::StatusOr<std::unique_ptr<Operator>> MakeSourceOperator(const v1::Node& node,
                                                             const v1::Plan& plan);
absl::StatusOr<std::unique_ptr<Operator>> MakeEventTimeOperator(const v1::Node& node,
                                                                const v1::Plan& plan);
absl::StatusOr<std::unique_ptr<Operator>> MakeFilterOperator(const v1::Node& node,
                                                             const v1::Plan& plan);
absl::StatusOr<std::unique_ptr<Operator>> MakeProjectOperator(const v1::Node& node,
                                                              const v1::Plan& plan);
absl::StatusOr<std::unique_ptr<Operator>> MakeWindowAggregateOperator(const v1::Node& node,
                                                                      const v1::Plan& plan);
absl::StatusOr<std::unique_ptr<Operator>> MakeExchangeOperator(const v1::Node& node,
                                                               const v1::Plan& plan);
absl::StatusOr<std::unique_ptr<Operator>> MakeUnionOperator(const v1::Node& node,
                                                            const v1::Plan& plan);
absl::StatusOr<std::unique_ptr<Operator>> MakeApplyOperator(const v1::Node& node,
                                                            const v1::Plan& plan);
absl::StatusOr<std::unique_ptr<Operator>> MakeReferenceJoinOperator(const v1::Node& node,
                                                                    const v1::Plan& plan);
absl::StatusOr<std::unique_ptr<Operator>> MakeJoinOperator(const v1::Node& node,
                                                           const v1::Plan& plan);
absl::StatusOr<std::unique_ptr<Operator>> MakeAnalyticOperator(const v1::Node& node,
                                                               const v1::Plan& plan);
absl::StatusOr<std::unique_ptr<Operator>> MakeSinkOperator(const v1::Node& node,
                                                           const v1::Plan& plan);

}  // namespace sluice

#endif  // SLUICE_OPERATORS_BUILTIN_OPERATORS_H_

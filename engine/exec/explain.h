// Renders a compiled plan as text for `sluice explain`: the operator DAG in
// topological order with each node's step, inputs, keys, window, aggregates,
// columns and the state its operator keeps (asked of the operator itself).
#ifndef SLUICE_ENGINE_EXEC_EXPLAIN_H_
#define SLUICE_ENGINE_EXEC_EXPLAIN_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/exec/operator_registry.h"
#include "proto/plan.pb.h"

namespace sluice {

absl::StatusOr<std::string> ExplainPlan(const v1::Plan& plan, const OperatorRegistry& registry,
                                        const std::vector<std::string>& passes);

// A readable form of a plan expression; columns are named from `input`.
std::string RenderExpr(const v1::Expr& expr, const v1::Schema& input);

}  // namespace sluice

#endif  // SLUICE_ENGINE_EXEC_EXPLAIN_H_

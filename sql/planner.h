// The binder and planner: resolves names against inputs and WITH steps,
// checks GROUP BY rules, reads windows and aggregates, and lowers the script
// to plan nodes (a DAG: a step read by several statements is planned once).
#ifndef SLUICE_SQL_PLANNER_H_
#define SLUICE_SQL_PLANNER_H_

#include "proto/plan.pb.h"
#include "sql/ast.h"
#include "sql/compiler.h"
#include "sql/query_error.h"

namespace sluice::sql {

// Column index standing for "the whole event as a record" of an input until
// the layout pass knows how many fields the input has.
inline constexpr int32_t kRecordColumnPlaceholder = 1 << 29;

bool PlanScript(const Script& script, const CompileOptions& options, v1::Plan* plan,
                QueryError* error);

}  // namespace sluice::sql

#endif  // SLUICE_SQL_PLANNER_H_

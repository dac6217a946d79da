// Walks over the expressions of plan nodes, for the planner's and the
// optimizer's passes that rewrite column references.
#ifndef SLUICE_SQL_PLAN_WALK_H_
#define SLUICE_SQL_PLAN_WALK_H_

#include <functional>

#include "proto/plan.pb.h"

namespace sluice::sql {

// Calls `fn` on every expression tree a node holds.
void ForEachExpr(v1::Node* node, const std::function<void(v1::Expr*)>& fn);

// Calls `fn` on `e` and every expression below it.
void ForEachSubExpr(v1::Expr* e, const std::function<void(v1::Expr*)>& fn);

}  // namespace sluice::sql

#endif  // SLUICE_SQL_PLAN_WALK_H_

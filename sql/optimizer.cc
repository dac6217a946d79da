#include "sql/optimizer.h"

#include <algorithm>
#include <functional>

#include "sql/planner.h"

namespace sluice::sql {
namespace {

// Calls `fn` on every expression tree a node holds.
void ForEachExpr(v1::Node* node, const std::function<void(v1::Expr*)>& fn) {
  switch (node->op_case()) {
    case v1::Node::kEventTime:
      if (node->event_time().has_timestamp_by()) {
        fn(node->mutable_event_time()->mutable_timestamp_by());
      }
      break;
    case v1::Node::kFilter:
      fn(node->mutable_filter()->mutable_predicate());
      break;
    case v1::Node::kProject:
      for (v1::Expr& e : *node->mutable_project()->mutable_exprs()) fn(&e);
      break;
    case v1::Node::kWindowAggregate: {
      v1::WindowAggregateNode* w = node->mutable_window_aggregate();
      for (v1::Expr& e : *w->mutable_keys()) fn(&e);
      for (v1::Expr& e : *w->mutable_window()->mutable_partition_by()) fn(&e);
      for (v1::Aggregate& a : *w->mutable_aggregates()) {
        if (a.has_arg()) fn(a.mutable_arg());
      }
      break;
    }
    default:
      break;
  }
}

void ForEachSubExpr(v1::Expr* e, const std::function<void(v1::Expr*)>& fn) {
  fn(e);
  switch (e->kind_case()) {
    case v1::Expr::kField:
      ForEachSubExpr(e->mutable_field()->mutable_record(), fn);
      break;
    case v1::Expr::kCall:
      for (v1::Expr& a : *e->mutable_call()->mutable_args()) ForEachSubExpr(&a, fn);
      break;
    case v1::Expr::kCaseExpr:
      for (v1::Expr& a : *e->mutable_case_expr()->mutable_when()) ForEachSubExpr(&a, fn);
      for (v1::Expr& a : *e->mutable_case_expr()->mutable_then()) ForEachSubExpr(&a, fn);
      if (e->case_expr().has_else_value()) {
        ForEachSubExpr(e->mutable_case_expr()->mutable_else_value(), fn);
      }
      break;
    case v1::Expr::kCast:
      ForEachSubExpr(e->mutable_cast()->mutable_arg(), fn);
      break;
    default:
      break;
  }
}

int ConsumerCount(const v1::Plan& plan, int id) {
  int n = 0;
  for (const v1::Node& node : plan.nodes()) {
    for (int i : node.inputs()) n += i == id ? 1 : 0;
  }
  return n;
}

// Removes single-input node `id`, connecting its consumers to its input and
// renumbering the nodes after it.
void RemoveNode(v1::Plan* plan, int id) {
  const int replacement = plan->nodes(id).inputs(0);
  for (v1::Node& node : *plan->mutable_nodes()) {
    for (int& i : *node.mutable_inputs()) {
      if (i == id) i = replacement;
      if (i > id) --i;
    }
    if (node.id() > id) node.set_id(node.id() - 1);
  }
  plan->mutable_nodes()->DeleteSubrange(id, 1);
}

// Inputs are decoded into their referenced fields, in order of first use,
// then (only if some step uses `*` or the whole event) the event as a
// record. Nodes that read an input's rows directly refer to that record
// through a placeholder until the field count is known; this pass fixes the
// placeholder and gives source-layout nodes their schema.
void LayoutInputColumns(v1::Plan* plan) {
  std::vector<int> layout(plan->nodes_size(), -1);  // input whose layout a node has
  for (int n = 0; n < plan->nodes_size(); ++n) {
    const v1::Node& node = plan->nodes(n);
    if (node.has_source()) {
      layout[n] = node.source().input();
    } else if ((node.has_event_time() || node.has_filter()) && node.inputs_size() == 1) {
      layout[n] = layout[node.inputs(0)];
    }
  }
  for (int n = 0; n < plan->nodes_size(); ++n) {
    v1::Node* node = plan->mutable_nodes(n);
    if (layout[n] >= 0) {
      const v1::Input& input = plan->inputs(layout[n]);
      v1::Schema* schema = node->mutable_schema();
      schema->Clear();
      for (const std::string& f : input.fields()) schema->add_columns()->set_name(f);
      if (input.needs_record()) {
        v1::Column* c = schema->add_columns();
        c->set_name("*");
        c->set_splice(true);
      }
    }
    if (node->inputs_size() != 1 || layout[node->inputs(0)] < 0) continue;
    const int record_column = plan->inputs(layout[node->inputs(0)]).fields_size();
    ForEachExpr(node, [&](v1::Expr* root) {
      ForEachSubExpr(root, [&](v1::Expr* e) {
        if (e->kind_case() == v1::Expr::kColumn && e->column() == kRecordColumnPlaceholder) {
          e->set_column(record_column);
        }
      });
    });
  }
}

// `SELECT * FROM step` projects every column unchanged: drop the project.
void RemoveIdentityProjects(v1::Plan* plan) {
  for (int n = plan->nodes_size() - 1; n >= 0; --n) {
    const v1::Node& node = plan->nodes(n);
    if (!node.has_project() || node.inputs_size() != 1) continue;
    const v1::Schema& in = plan->nodes(node.inputs(0)).schema();
    const v1::Schema& out = node.schema();
    if (in.columns_size() != out.columns_size()) continue;
    bool identity = true;
    for (int c = 0; c < out.columns_size() && identity; ++c) {
      const v1::Expr& e = node.project().exprs(c);
      identity = e.kind_case() == v1::Expr::kColumn && e.column() == c &&
                 in.columns(c).name() == out.columns(c).name() &&
                 in.columns(c).splice() == out.columns(c).splice();
    }
    if (identity) RemoveNode(plan, n);
  }
}

// WHERE followed by another filter on the same rows (HAVING without GROUP
// BY): one predicate, one pass over the batch. AND evaluates its right side
// only where the left is not false, so errors are unchanged.
void MergeAdjacentFilters(v1::Plan* plan) {
  for (int n = plan->nodes_size() - 1; n >= 0; --n) {
    const v1::Node& node = plan->nodes(n);
    if (!node.has_filter() || node.inputs_size() != 1) continue;
    const int up = node.inputs(0);
    if (!plan->nodes(up).has_filter() || ConsumerCount(*plan, up) != 1) continue;
    v1::Expr merged;
    merged.mutable_call()->set_function("and");
    *merged.mutable_call()->add_args() = plan->nodes(up).filter().predicate();
    *merged.mutable_call()->add_args() = node.filter().predicate();
    v1::Node* down = plan->mutable_nodes(n);
    *down->mutable_filter()->mutable_predicate() = std::move(merged);
    down->set_inputs(0, plan->nodes(up).inputs(0));
    // `up` now has no consumer; remove it by rewiring nothing.
    RemoveNode(plan, up);
    n = std::min(n, plan->nodes_size());
  }
}

}  // namespace

const std::vector<OptimizerPass>& OptimizerPasses() {
  static const auto* passes = new std::vector<OptimizerPass>{
      {"merge_adjacent_filters", "WHERE and HAVING without GROUP BY become one filter",
       &MergeAdjacentFilters},
      {"remove_identity_projects", "SELECT * FROM <step> passes rows through",
       &RemoveIdentityProjects},
      {"layout_input_columns", "decode only the fields the query reads; the whole event only for *",
       &LayoutInputColumns},
  };
  return *passes;
}

}  // namespace sluice::sql

#include "sql/plan_walk.h"

namespace sluice::sql {

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
    case v1::Node::kExchange:
      for (v1::Expr& e : *node->mutable_exchange()->mutable_keys()) fn(&e);
      break;
    case v1::Node::kReferenceJoin: {
      v1::ReferenceJoinNode* j = node->mutable_reference_join();
      for (v1::Expr& e : *j->mutable_stream_keys()) fn(&e);
      if (j->has_condition()) fn(j->mutable_condition());
      break;
    }
    case v1::Node::kApply:
      fn(node->mutable_apply()->mutable_arg());
      break;
    case v1::Node::kAnalytic: {
      v1::AnalyticNode* a = node->mutable_analytic();
      for (v1::Expr& e : *a->mutable_partition_by()) fn(&e);
      for (v1::AnalyticNode::Function& f : *a->mutable_functions()) {
        if (f.has_value()) fn(f.mutable_value());
        if (f.has_default_value()) fn(f.mutable_default_value());
        if (f.has_when()) fn(f.mutable_when());
      }
      break;
    }
    case v1::Node::kJoin: {
      v1::JoinNode* j = node->mutable_join();
      for (v1::Expr& e : *j->mutable_left_keys()) fn(&e);
      for (v1::Expr& e : *j->mutable_right_keys()) fn(&e);
      if (j->has_condition()) fn(j->mutable_condition());
      for (v1::JoinNode::TimeCheck& c : *j->mutable_time_checks()) {
        fn(c.mutable_earlier());
        fn(c.mutable_later());
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
    case v1::Expr::kUserFunction:
      for (v1::Expr& a : *e->mutable_user_function()->mutable_args()) ForEachSubExpr(&a, fn);
      break;
    default:
      break;
  }
}

}  // namespace sluice::sql

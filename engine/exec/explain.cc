#include "engine/exec/explain.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/core/datetime.h"
#include "engine/core/value.h"

namespace sluice {
namespace {

std::string Ticks(int64_t ticks) {
  if (ticks == 0) return "0s";
  if (ticks % kTicksPerDay == 0) return absl::StrCat(ticks / kTicksPerDay, "d");
  if (ticks % kTicksPerHour == 0) return absl::StrCat(ticks / kTicksPerHour, "h");
  if (ticks % kTicksPerMinute == 0) return absl::StrCat(ticks / kTicksPerMinute, "min");
  if (ticks % kTicksPerSecond == 0) return absl::StrCat(ticks / kTicksPerSecond, "s");
  if (ticks % kTicksPerMillisecond == 0) {
    return absl::StrCat(ticks / kTicksPerMillisecond, "ms");
  }
  if (ticks % kTicksPerMicrosecond == 0) {
    return absl::StrCat(ticks / kTicksPerMicrosecond, "us");
  }
  return absl::StrCat(ticks * 100, "ns");
}

bool IsInfix(const std::string& f) {
  static const char* kInfix[] = {"+",  "-", "*",  "/", "%", "=", "<>",  "<",
                                 "<=", ">", ">=", "&", "|", "^", "and", "or"};
  for (const char* op : kInfix) {
    if (f == op) return true;
  }
  return false;
}

std::string AggregateName(v1::Aggregate::Function f) {
  switch (f) {
    case v1::Aggregate::FUNCTION_COUNT_STAR:
      return "COUNT(*)";
    case v1::Aggregate::FUNCTION_COUNT:
      return "COUNT";
    case v1::Aggregate::FUNCTION_COUNT_DISTINCT:
      return "COUNT DISTINCT";
    case v1::Aggregate::FUNCTION_SUM:
      return "SUM";
    case v1::Aggregate::FUNCTION_AVG:
      return "AVG";
    case v1::Aggregate::FUNCTION_MIN:
      return "MIN";
    case v1::Aggregate::FUNCTION_MAX:
      return "MAX";
    case v1::Aggregate::FUNCTION_STDEV:
      return "STDEV";
    case v1::Aggregate::FUNCTION_STDEVP:
      return "STDEVP";
    case v1::Aggregate::FUNCTION_VAR:
      return "VAR";
    case v1::Aggregate::FUNCTION_VARP:
      return "VARP";
    default:
      return "?";
  }
}

std::string ColumnNames(const v1::Schema& schema) {
  std::vector<std::string> names;
  for (const v1::Column& c : schema.columns()) names.push_back(c.name());
  return absl::StrJoin(names, ", ");
}

}  // namespace

std::string RenderExpr(const v1::Expr& root, const v1::Schema& input) {
  // Pending work on an explicit stack, so that a plan of any depth renders
  // without recursion: an expression to render, or text to append.
  struct Work {
    const v1::Expr* expr = nullptr;
    std::string text;
  };
  std::string out;
  std::vector<Work> stack;
  stack.push_back(Work{&root, {}});
  std::vector<Work> parts;  // one node's pieces, in reading order
  auto text = [&](std::string t) { parts.push_back(Work{nullptr, std::move(t)}); };
  auto expr = [&](const v1::Expr& x) { parts.push_back(Work{&x, {}}); };
  while (!stack.empty()) {
    Work work = std::move(stack.back());
    stack.pop_back();
    if (work.expr == nullptr) {
      out += work.text;
      continue;
    }
    const v1::Expr& e = *work.expr;
    parts.clear();
    switch (e.kind_case()) {
      case v1::Expr::kLiteral: {
        const v1::Literal& l = e.literal();
        switch (l.value_case()) {
          case v1::Literal::kBigintValue:
            absl::StrAppend(&out, l.bigint_value());
            break;
          case v1::Literal::kFloatValue:
            AppendJsonFloat(l.float_value(), &out);
            break;
          case v1::Literal::kStringValue:
            absl::StrAppend(&out, "'", l.string_value(), "'");
            break;
          case v1::Literal::kBitValue:
            out += l.bit_value() ? "1" : "0";
            break;
          case v1::Literal::kDatetimeTicks:
            out += FormatDatetime(l.datetime_ticks());
            break;
          default:
            out += "NULL";
        }
        break;
      }
      case v1::Expr::kColumn:
        if (e.column() >= 0 && e.column() < input.columns_size()) {
          out += input.columns(e.column()).name();
        } else {
          absl::StrAppend(&out, "#", e.column());
        }
        break;
      case v1::Expr::kField:
        expr(e.field().record());
        text(absl::StrCat(".", e.field().name()));
        break;
      case v1::Expr::kCall: {
        const v1::Call& c = e.call();
        const std::string& f = c.function();
        const bool n_ary = f == "and" || f == "or";
        if (IsInfix(f) && (c.args_size() == 2 || (n_ary && c.args_size() > 2))) {
          const std::string op =
              absl::StrCat(" ", f == "and" ? "AND" : (f == "or" ? "OR" : f), " ");
          text("(");
          for (int i = 0; i < c.args_size(); ++i) {
            if (i > 0) text(op);
            expr(c.args(i));
          }
          text(")");
        } else if ((f == "neg" || f == "not") && c.args_size() == 1) {
          text(f == "neg" ? "-" : "NOT ");
          expr(c.args(0));
        } else if ((f == "is_null" || f == "is_not_null") && c.args_size() == 1) {
          expr(c.args(0));
          text(f == "is_null" ? " IS NULL" : " IS NOT NULL");
        } else {
          text(absl::StrCat(f, "("));
          for (int i = 0; i < c.args_size(); ++i) {
            if (i > 0) text(", ");
            expr(c.args(i));
          }
          text(")");
        }
        break;
      }
      case v1::Expr::kCaseExpr: {
        const v1::CaseExpr& c = e.case_expr();
        text("CASE");
        for (int i = 0; i < c.when_size(); ++i) {
          text(" WHEN ");
          expr(c.when(i));
          if (i < c.then_size()) {
            text(" THEN ");
            expr(c.then(i));
          }
        }
        if (c.has_else_value()) {
          text(" ELSE ");
          expr(c.else_value());
        }
        text(" END");
        break;
      }
      case v1::Expr::kCast:
        text(e.cast().try_cast() ? "TRY_CAST(" : "CAST(");
        expr(e.cast().arg());
        {
          // VALUE_TYPE_BIGINT -> BIGINT; a value this build does not know -> ?
          const std::string& type = v1::ValueType_Name(e.cast().type());
          text(absl::StrCat(" AS ", type.size() > 11 ? type.substr(11) : "?", ")"));
        }
        break;
      case v1::Expr::kSystemTimestamp:
        out += "System.Timestamp()";
        break;
      case v1::Expr::kUserFunction: {
        const v1::UserFunctionCall& u = e.user_function();
        text(absl::StrCat("udf.", u.name(), "("));
        for (int i = 0; i < u.args_size(); ++i) {
          if (i > 0) text(", ");
          expr(u.args(i));
        }
        text(")");
        break;
      }
      default:
        out += "?";
    }
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) stack.push_back(std::move(*it));
  }
  return out;
}

absl::StatusOr<std::string> ExplainPlan(const v1::Plan& plan, const OperatorRegistry& registry,
                                        const std::vector<std::string>& passes) {
  std::string out;
  absl::StrAppend(&out, "plan version ", plan.version(),
                  ", optimizer passes: ", passes.empty() ? "none" : absl::StrJoin(passes, ", "),
                  "\n");
  absl::StrAppend(&out, "inputs:\n");
  for (const v1::Input& input : plan.inputs()) {
    absl::StrAppend(&out, "  ", input.name(), "  reads fields: ",
                    input.fields().empty() ? "(none)" : absl::StrJoin(input.fields(), ", "),
                    input.needs_record() ? "  + whole event" : "",
                    input.reference() ? "  (reference data, broadcast to every task)"
                    : input.partition_key().empty()
                        ? "  (partitioning unknown)"
                        : absl::StrCat("  (partitioned by ", input.partition_key(), ")"),
                    "\n");
  }
  absl::StrAppend(&out, "outputs:\n");
  for (const v1::Output& output : plan.outputs()) {
    absl::StrAppend(&out, "  ", output.name(), "\n");
  }
  if (plan.stages() <= 1) {
    absl::StrAppend(&out, "operators (one task per input partition runs them all):\n");
  } else {
    absl::StrAppend(&out, "operators in ", plan.stages(),
                    " stages (stage 0: a task per input partition; each exchange feeds the tasks "
                    "of a later stage):\n");
  }
  if (!plan.distributed_error().empty()) {
    absl::StrAppend(&out, "note: ", plan.distributed_error(), "\n");
  }
  std::string current_step;
  int current_stage = -1;
  for (const v1::Node& node : plan.nodes()) {
    if (plan.stages() > 1 && node.stage() != current_stage) {
      current_stage = node.stage();
      current_step.clear();
      absl::StrAppend(&out, " stage ", current_stage, ":\n");
    }
    if (node.step() != current_step) {
      current_step = node.step();
      absl::StrAppend(&out, "  step ", current_step, ":\n");
    }
    const v1::Schema empty;
    const v1::Schema& input = node.inputs_size() > 0 ? plan.nodes(node.inputs(0)).schema() : empty;
    std::vector<std::string> ups;
    for (int i : node.inputs()) ups.push_back(absl::StrCat("#", i));
    std::string head = absl::StrCat("    #", node.id(), " ");
    const std::string from = ups.empty() ? "" : absl::StrCat(" <- ", absl::StrJoin(ups, ", "));
    std::vector<std::string> details;
    switch (node.op_case()) {
      case v1::Node::kSource:
        absl::StrAppend(&head, "Source ", plan.inputs(node.source().input()).name());
        details.push_back(absl::StrCat("columns: ", ColumnNames(node.schema())));
        break;
      case v1::Node::kEventTime: {
        const v1::EventTimeNode& et = node.event_time();
        absl::StrAppend(&head, "EventTime");
        details.push_back(et.has_timestamp_by()
                              ? absl::StrCat("TIMESTAMP BY ", RenderExpr(et.timestamp_by(), input))
                              : std::string("arrival time (no TIMESTAMP BY)"));
        details.push_back(absl::StrCat(
            "out-of-order tolerance ", Ticks(et.policy().out_of_order_tolerance_ticks()),
            ", late-arrival tolerance ", Ticks(et.policy().late_arrival_tolerance_ticks()), ", ",
            et.policy().action() == v1::TimePolicy::ACTION_DROP ? "drop" : "adjust"));
        break;
      }
      case v1::Node::kFilter:
        absl::StrAppend(&head, "Filter");
        details.push_back(RenderExpr(node.filter().predicate(), input));
        break;
      case v1::Node::kProject: {
        absl::StrAppend(&head, "Project");
        std::vector<std::string> cols;
        for (int i = 0; i < node.project().exprs_size(); ++i) {
          const v1::Column& c = node.schema().columns(i);
          const std::string rendered = RenderExpr(node.project().exprs(i), input);
          if (c.splice()) {
            cols.push_back(absl::StrCat(rendered, ".*"));
          } else if (rendered == c.name()) {
            cols.push_back(c.name());
          } else {
            cols.push_back(absl::StrCat(c.name(), " = ", rendered));
          }
        }
        details.push_back(absl::StrJoin(cols, ", "));
        break;
      }
      case v1::Node::kWindowAggregate: {
        const v1::WindowAggregateNode& w = node.window_aggregate();
        absl::StrAppend(&head, "WindowAggregate");
        std::string window = w.window().text();
        const v1::WindowSpec& s = w.window();
        switch (s.kind()) {
          case v1::WindowSpec::KIND_TUMBLING:
            absl::StrAppend(
                &window, "  [tumbling ", Ticks(s.size_ticks()),
                s.offset_ticks() ? absl::StrCat(", offset ", Ticks(s.offset_ticks())) : "", "]");
            break;
          case v1::WindowSpec::KIND_HOPPING:
            absl::StrAppend(
                &window, "  [hopping ", Ticks(s.size_ticks()), " every ", Ticks(s.hop_ticks()),
                s.offset_ticks() ? absl::StrCat(", offset ", Ticks(s.offset_ticks())) : "", "]");
            break;
          case v1::WindowSpec::KIND_SLIDING:
            absl::StrAppend(&window, "  [sliding ", Ticks(s.size_ticks()), "]");
            break;
          case v1::WindowSpec::KIND_SESSION:
            absl::StrAppend(&window, "  [session timeout ", Ticks(s.timeout_ticks()),
                            ", max duration ", Ticks(s.max_duration_ticks()), "]");
            break;
          case v1::WindowSpec::KIND_SNAPSHOT:
            absl::StrAppend(&window, "  [snapshot: equal timestamps]");
            break;
          default:
            break;
        }
        details.push_back(absl::StrCat("window: ", window));
        details.push_back(absl::StrCat(
            "keys: ", w.key_text().empty() ? "(none)" : absl::StrJoin(w.key_text(), ", ")));
        std::vector<std::string> aggs;
        for (const v1::Aggregate& a : w.aggregates()) {
          aggs.push_back(a.text().empty() ? AggregateName(a.function()) : a.text());
        }
        details.push_back(
            absl::StrCat("aggregates: ", aggs.empty() ? "(none)" : absl::StrJoin(aggs, ", ")));
        break;
      }
      case v1::Node::kUnionAll:
        absl::StrAppend(&head, "Union");
        break;
      case v1::Node::kExchange: {
        const v1::ExchangeNode& x = node.exchange();
        absl::StrAppend(&head, "Exchange -> stage ", x.to_stage());
        std::vector<std::string> keys;
        for (const v1::Expr& k : x.keys()) keys.push_back(RenderExpr(k, input));
        details.push_back(keys.empty()
                              ? std::string("all rows to one task (no key)")
                              : absl::StrCat("repartition by: ", absl::StrJoin(keys, ", ")));
        break;
      }
      case v1::Node::kJoin: {
        const v1::JoinNode& j = node.join();
        const v1::Schema& right = plan.nodes(node.inputs(1)).schema();
        absl::StrAppend(&head, j.kind() == v1::JoinNode::KIND_LEFT ? "LeftOuterJoin " : "Join ",
                        j.left_name(), " with ", j.right_name(), " (stream-stream)");
        std::vector<std::string> keys;
        for (int i = 0; i < j.left_keys_size(); ++i) {
          keys.push_back(absl::StrCat(RenderExpr(j.left_keys(i), input), " = ",
                                      RenderExpr(j.right_keys(i), right)));
        }
        details.push_back(absl::StrCat("keys: ", keys.empty()
                                                     ? "(none: every pair within the bound)"
                                                     : absl::StrJoin(keys, ", ")));
        if (j.time_checks().empty()) {
          details.push_back(absl::StrCat("time bound: ", j.bound_text(), "  [", j.right_name(),
                                         " from ", Ticks(j.min_delta_ticks()), " to ",
                                         Ticks(j.max_delta_ticks()), " after ", j.left_name(),
                                         "]"));
        } else {
          // A join with the rows of earlier joins: each stream pair's bound.
          std::vector<std::string> pairs;
          for (const v1::JoinNode::TimeCheck& c : j.time_checks()) {
            pairs.push_back(absl::StrCat(c.later_name(), " from ", Ticks(c.min_delta_ticks()),
                                         " to ", Ticks(c.max_delta_ticks()), " after ",
                                         c.earlier_name()));
          }
          details.push_back(absl::StrCat(
              "time bound: ", j.bound_text(), "  [", absl::StrJoin(pairs, "; "), "; so ",
              j.right_name(), " from ", Ticks(j.min_delta_ticks()), " to ",
              Ticks(j.max_delta_ticks()), " after the latest of ", j.left_name(), "]"));
        }
        if (j.has_condition()) {
          details.push_back(absl::StrCat("also: ", RenderExpr(j.condition(), node.schema())));
        }
        details.push_back(absl::StrCat("columns: ", ColumnNames(node.schema())));
        break;
      }
      case v1::Node::kReferenceJoin: {
        const v1::ReferenceJoinNode& j = node.reference_join();
        const v1::Input& ref = plan.inputs(j.reference_input());
        absl::StrAppend(&head, j.kind() == v1::JoinNode::KIND_LEFT ? "LeftOuterJoin " : "Join ",
                        j.stream_name(), " with reference data ", ref.name(), " AS ",
                        j.reference_name());
        details.push_back(absl::StrCat("keys: ", j.key_text().empty()
                                                     ? "(none: every reference row is a candidate)"
                                                     : absl::StrJoin(j.key_text(), ", ")));
        details.push_back(absl::StrCat(
            "broadcast: every task joins with the whole table (shared in the process); reads ",
            ref.fields().empty() ? "(no field)" : absl::StrJoin(ref.fields(), ", "),
            ref.needs_record() ? " and the whole row" : ""));
        if (j.has_condition()) {
          details.push_back(absl::StrCat("also: ", RenderExpr(j.condition(), node.schema())));
        }
        details.push_back(absl::StrCat("columns: ", ColumnNames(node.schema())));
        break;
      }
      case v1::Node::kApply: {
        const v1::ApplyNode& a = node.apply();
        absl::StrAppend(&head, a.outer() ? "OuterApply " : "CrossApply ", a.text(), " AS ",
                        a.alias());
        details.push_back(absl::StrCat(
            "one row per ",
            a.function() == v1::ApplyNode::FUNCTION_ARRAY_ELEMENTS ? "array element" : "field",
            " of ", RenderExpr(a.arg(), input),
            a.outer() ? "; a row with NULLs when there is none" : ""));
        details.push_back(absl::StrCat("columns: ", ColumnNames(node.schema())));
        break;
      }
      case v1::Node::kAnalytic: {
        const v1::AnalyticNode& a = node.analytic();
        absl::StrAppend(&head, "Analytic");
        details.push_back(
            a.partition_text().empty()
                ? std::string("partition: none (one timeline over every row)")
                : absl::StrCat("partition by: ", absl::StrJoin(a.partition_text(), ", ")));
        for (const v1::AnalyticNode::Function& f : a.functions()) {
          details.push_back(absl::StrCat("computes ", f.text()));
        }
        details.push_back("in time order; ties in arrival order; before WHERE and GROUP BY");
        details.push_back(absl::StrCat("columns: ", ColumnNames(node.schema())));
        break;
      }
      case v1::Node::kSink:
        absl::StrAppend(&head, "Sink -> output ", plan.outputs(node.sink().output()).name());
        details.push_back(absl::StrCat("columns: ", ColumnNames(node.schema())));
        break;
      default:
        absl::StrAppend(&head, "?");
    }
    absl::StrAppend(&out, head, from, "\n");
    for (const std::string& d : details) absl::StrAppend(&out, "        ", d, "\n");
    auto op = registry.Create(node, plan);
    if (!op.ok()) return op.status();
    for (const StateSpec& spec : (*op)->DeclareState()) {
      absl::StrAppend(&out, "        state '", spec.name, "': ", spec.description, "\n");
    }
  }
  return out;
}

}  // namespace sluice

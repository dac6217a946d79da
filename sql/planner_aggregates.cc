// Grouped SELECTs: finds the GROUP BY window, binds the keys, HAVING and the
// SELECT items against the keys and aggregates, and builds the window
// aggregate node; binds the aggregate calls (COUNT, SUM, ..., TopOne).
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "sql/function_catalog.h"
#include "sql/limits.h"
#include "sql/planner.h"
#include "sql/planner_internal.h"

namespace sluice::sql::planner_internal {
namespace {

bool IsSystemTimestamp(const Expr& e) {
  return (e.kind == Expr::Kind::kCall || e.kind == Expr::Kind::kName) &&
         IsSystemTimestampPath(e.path) && e.args.empty();
}

}  // namespace

bool Planner::FindGroupWindow(const Select& select, const Expr** window, const Expr** snapshot) {
  // System.Timestamp() is a snapshot window when alone and a key beside
  // another window.
  for (const ExprPtr& item : select.group_by) {
    if (item->kind == Expr::Kind::kCall && item->path.size() == 1) {
      const FunctionInfo* info = FindFunction(item->path[0]);
      if (info != nullptr && info->kind == FunctionKind::kWindow) {
        if (*window != nullptr) {
          return Fail(item->location,
                      "GROUP BY can have only one window (multiple windows with "
                      "Windows() are not supported yet)");
        }
        *window = item.get();
        continue;
      }
    }
    if (IsSystemTimestamp(*item) && *snapshot == nullptr) *snapshot = item.get();
  }
  return true;
}

bool Planner::PlanGroupedSelect(const Select& select, const std::string& step, const Relation& rel,
                                int* current, SelectColumns* columns) {
  const Expr* window = nullptr;
  const Expr* snapshot = nullptr;
  if (!FindGroupWindow(select, &window, &snapshot)) return false;
  v1::WindowSpec spec;
  if (window != nullptr) {
    if (!ReadWindow(*window, rel, &spec)) return false;
  } else if (snapshot != nullptr) {
    spec.set_kind(v1::WindowSpec::KIND_SNAPSHOT);
    spec.set_text("System.Timestamp()");
  } else {
    return Fail(select.group_by_location,
                "GROUP BY needs a window: add TumblingWindow(...), HoppingWindow(...), "
                "SlidingWindow(...), SessionWindow(...) or System.Timestamp()");
  }
  v1::Node* agg_node = AddNode({*current}, step);
  v1::WindowAggregateNode* agg = agg_node->mutable_window_aggregate();
  *agg->mutable_window() = spec;
  Scope grouped;
  grouped.mode = Scope::Mode::kGrouped;
  grouped.rel = &rel;
  grouped.agg = agg;
  absl::flat_hash_map<std::string, int> agg_canon;
  grouped.agg_canon = &agg_canon;
  for (const ExprPtr& item : select.group_by) {
    if (item.get() == window) continue;
    if (window == nullptr && item.get() == snapshot) continue;
    Scope key_scope;
    key_scope.rel = &rel;
    key_scope.clause = "GROUP BY";
    if (!BindExpr(*item, key_scope, agg->add_keys())) return false;
    agg->add_key_text(Render(*item));
    grouped.key_canon.try_emplace(Canonical(*item, &rel), agg->keys_size() - 1);
  }
  // Substreams have a timeline each: a group may not mix them (ASA: the
  // OVER columns must be GROUP BY keys).
  const Relation& from = rel.join && rel.join->analytic ? rel.join->sides[0].rel : rel;
  for (const std::string& column : from.substream_columns) {
    bool keyed = false;
    for (const ExprPtr& item : select.group_by) {
      keyed = keyed || (item->kind == Expr::Kind::kName && SameName(item->path.back(), column));
    }
    if (!keyed) {
      return Fail(select.group_by_location,
                  absl::StrCat("GROUP BY over TIMESTAMP BY ... OVER ", column, " must group by ",
                               column, ": each has its own timeline"));
    }
  }
  v1::Expr predicate;
  if (select.having) {
    const AliasIndex aliases = IndexAliases(select.items);
    grouped.clause = "HAVING";
    grouped.select_items = &select.items;
    grouped.aliases = &aliases;
    grouped.alias_busy.assign(select.items.size(), false);
    if (!BindExpr(*select.having, grouped, &predicate)) return false;
    grouped.select_items = nullptr;
    grouped.aliases = nullptr;
  }
  grouped.clause = "SELECT";
  for (size_t i = 0; i < select.items.size(); ++i) {
    const SelectItem& item = select.items[i];
    if (item.kind == SelectItem::Kind::kStar) {
      return Fail(item.location,
                  "SELECT * cannot be combined with GROUP BY; list the keys and "
                  "aggregates");
    }
    v1::Expr e;
    if (!BindExpr(*item.expr, grouped, &e)) return false;
    columns->Add(std::move(e), OutputName(item, i), false, item);
  }
  columns->key_count = agg->keys_size();
  // The aggregate's columns are final once HAVING and SELECT are bound.
  // Internal column names, as explain shows them: the keys and
  // aggregates as written.
  for (int k = 0; k < agg->keys_size(); ++k) {
    agg_node->mutable_schema()->add_columns()->set_name(agg->key_text(k));
  }
  for (int j = 0; j < agg->aggregates_size(); ++j) {
    agg_node->mutable_schema()->add_columns()->set_name(agg->aggregates(j).text());
  }
  *current = agg_node->id();
  if (select.having) {
    v1::Node* filter = AddNode({*current}, step);
    *filter->mutable_filter()->mutable_predicate() = std::move(predicate);
    *filter->mutable_schema() = agg_node->schema();
    *current = filter->id();
  }
  return true;
}

bool Planner::BindAggregate(const Expr& e, Scope& scope, v1::Expr* out) {
  const std::string upper = absl::AsciiStrToUpper(e.path[0]);
  // SUM(x) OVER (LIMIT DURATION ...) and the like: per event, not per group.
  if (IsAnalyticCall(e)) return BindAnalyticCall(e, scope, out);
  const std::string lower = Lower(e.path[0]);
  const bool top_one = lower == "topone";
  const bool collect = lower == "collect";
  const bool collect_top = lower == "collecttop";
  const bool percentile = lower == "percentile_cont" || lower == "percentile_disc";
  if (top_one && (!e.has_over || e.over_order.empty() || e.analytic_over)) {
    return Fail(e.location,
                "TopOne needs OVER (ORDER BY column [ASC|DESC], ...) in a GROUP BY with a window");
  }
  if ((collect_top || percentile) && (!e.has_over || e.over_order.empty() || e.analytic_over)) {
    return Fail(e.location,
                absl::StrCat(upper, " needs OVER (ORDER BY x [ASC|DESC]", percentile ? "" : ", ...",
                             ") in a GROUP BY with a window"));
  }
  if (e.has_over && !top_one && !collect_top && !percentile) {
    return Fail(e.location, absl::StrCat(upper,
                                         " OVER (...) needs LIMIT DURATION(unit, length): "
                                         "the analytic form looks back that far from each event"));
  }
  if (scope.in_aggregate) {
    return Fail(e.location, "aggregate functions cannot be nested");
  }
  if (scope.mode != Scope::Mode::kGrouped) {
    if (scope.clause == "SELECT" || scope.clause == "HAVING") {
      return Fail(e.location,
                  absl::StrCat("aggregate function ", upper, " needs a GROUP BY with a window"));
    }
    return Fail(e.location, absl::StrCat("aggregate functions are not allowed in ", scope.clause));
  }
  const std::string canon = Canonical(e, scope.rel);
  if (auto seen = scope.agg_canon->find(canon); seen != scope.agg_canon->end()) {
    out->set_column(scope.agg->keys_size() + seen->second);
    return true;
  }
  const std::string name = Lower(e.path[0]);
  v1::Aggregate spec;
  spec.set_text(Render(e));
  // COUNT(input) counts events (ASA: "equivalent to COUNT() and COUNT(*)");
  // COUNT(DISTINCT input) counts distinct events.
  const bool names_input = e.args.size() == 1 && e.args[0]->kind == Expr::Kind::kName &&
                           e.args[0]->path.size() == 1 &&
                           scope.rel->IsQualifier(e.args[0]->path[0]);
  const bool count_star = name == "count" && (e.star_arg || (e.args.empty() && !e.distinct) ||
                                              (names_input && !e.distinct));
  if (top_one || collect || collect_top) return BindTopOne(e, scope, std::move(spec), canon, out);
  if (percentile) {
    const Expr* p = e.args.size() == 1 ? e.args[0].get() : nullptr;
    const double value = p == nullptr                      ? -1
                         : p->kind == Expr::Kind::kInteger ? static_cast<double>(p->int_value)
                         : p->kind == Expr::Kind::kFloat   ? p->float_value
                                                           : -1;
    if (e.star_arg || e.distinct || !(value >= 0 && value <= 1)) {
      return Fail(p != nullptr ? p->location : e.location,
                  absl::StrCat(upper, " takes one number from 0 to 1: the percentile"));
    }
    if (e.over_order.size() != 1) {
      return Fail(e.location, absl::StrCat(upper, " orders by one value: OVER (ORDER BY x)"));
    }
    spec.set_function(lower == "percentile_cont" ? v1::Aggregate::FUNCTION_PERCENTILE_CONT
                                                 : v1::Aggregate::FUNCTION_PERCENTILE_DISC);
    spec.set_percentile(value);
    spec.add_descending(e.over_descending[0]);
    Scope arg_scope;
    arg_scope.rel = scope.rel;
    arg_scope.clause = scope.clause;
    arg_scope.in_aggregate = true;
    if (!BindExpr(*e.over_order[0], arg_scope, spec.mutable_arg())) return false;
    *scope.agg->add_aggregates() = std::move(spec);
    scope.agg_canon->try_emplace(canon, scope.agg->aggregates_size() - 1);
    out->set_column(scope.agg->keys_size() + scope.agg->aggregates_size() - 1);
    return true;
  }
  if (name == "count" && !count_star && e.args.empty()) {
    return Fail(e.location, "COUNT(DISTINCT) needs an argument");
  }
  if (name != "count" && e.distinct) {
    return Fail(e.location, absl::StrCat("DISTINCT is only supported in COUNT, not in ", upper));
  }
  if (name != "count" && (e.star_arg || e.args.size() != 1)) {
    return Fail(e.location, absl::StrCat(upper, " takes one argument"));
  }
  if (e.args.size() > 1) {
    return Fail(e.location, absl::StrCat(upper, " takes one argument"));
  }
  static const auto* kFunctions = new absl::flat_hash_map<std::string, v1::Aggregate::Function>{
      {"count", v1::Aggregate::FUNCTION_COUNT},   {"sum", v1::Aggregate::FUNCTION_SUM},
      {"avg", v1::Aggregate::FUNCTION_AVG},       {"min", v1::Aggregate::FUNCTION_MIN},
      {"max", v1::Aggregate::FUNCTION_MAX},       {"stdev", v1::Aggregate::FUNCTION_STDEV},
      {"stdevp", v1::Aggregate::FUNCTION_STDEVP}, {"var", v1::Aggregate::FUNCTION_VAR},
      {"varp", v1::Aggregate::FUNCTION_VARP}};
  if (count_star) {
    spec.set_function(v1::Aggregate::FUNCTION_COUNT_STAR);
  } else {
    spec.set_function(e.distinct ? v1::Aggregate::FUNCTION_COUNT_DISTINCT : kFunctions->at(name));
    Scope arg_scope;
    arg_scope.rel = scope.rel;
    arg_scope.clause = scope.clause;
    arg_scope.in_aggregate = true;
    if (names_input && e.distinct) {
      if (!scope.rel->is_input) {
        return Fail(e.args[0]->location,
                    "COUNT(DISTINCT <source>) needs an input, not a WITH step; list the columns");
      }
      plan_->mutable_inputs(scope.rel->input)->set_needs_record(true);
      spec.mutable_arg()->set_column(kRecordColumnPlaceholder);
    } else if (!BindExpr(*e.args[0], arg_scope, spec.mutable_arg())) {
      return false;
    }
    const Expr& arg = *e.args[0];
    spec.set_compare_as_string(arg.kind == Expr::Kind::kCast && arg.type_name == "nvarchar(max)");
  }
  *scope.agg->add_aggregates() = std::move(spec);
  scope.agg_canon->try_emplace(canon, scope.agg->aggregates_size() - 1);
  out->set_column(scope.agg->keys_size() + scope.agg->aggregates_size() - 1);
  return true;
}

// TopOne([expr]) OVER (ORDER BY a [DESC], ...), CollectTop(n[, expr]) OVER
// (ORDER BY ...) and Collect([expr]): the aggregate's argument packs the
// ordering values and the payload (expr, or the whole row as a record) into
// one array: [a, ..., payload].
bool Planner::BindTopOne(const Expr& e, Scope& scope, v1::Aggregate spec, const std::string& canon,
                         v1::Expr* out) {
  const std::string lower = Lower(e.path[0]);
  const Expr* payload_expr = nullptr;
  if (lower == "collecttop") {
    const Expr* n = e.args.empty() ? nullptr : e.args[0].get();
    if (e.distinct || e.star_arg || n == nullptr || e.args.size() > 2 ||
        n->kind != Expr::Kind::kInteger || n->int_value < 1 || n->int_value > kMaxCollectTop) {
      return Fail(n != nullptr ? n->location : e.location,
                  absl::StrCat("CollectTop takes a whole number from 1 to ", kMaxCollectTop,
                               " (how many rows) and optionally an expression"));
    }
    spec.set_function(v1::Aggregate::FUNCTION_COLLECT_TOP);
    spec.set_top_count(n->int_value);
    if (e.args.size() == 2) payload_expr = e.args[1].get();
  } else {
    if (e.distinct || e.star_arg || e.args.size() > 1) {
      return Fail(e.location, absl::StrCat(lower == "collect" ? "Collect" : "TopOne",
                                           " takes no argument (the whole event) or one "
                                           "expression"));
    }
    spec.set_function(lower == "collect" ? v1::Aggregate::FUNCTION_COLLECT
                                         : v1::Aggregate::FUNCTION_TOP_ONE);
    if (!e.args.empty()) payload_expr = e.args[0].get();
  }
  Scope arg_scope;
  arg_scope.rel = scope.rel;
  arg_scope.clause = scope.clause;
  arg_scope.in_aggregate = true;
  v1::Call* pack = spec.mutable_arg()->mutable_call();
  pack->set_function("$array");
  for (size_t i = 0; i < e.over_order.size(); ++i) {
    if (!BindExpr(*e.over_order[i], arg_scope, pack->add_args())) return false;
    spec.add_descending(e.over_descending[i]);
  }
  spec.set_order_keys(static_cast<int32_t>(e.over_order.size()));
  v1::Expr* payload = pack->add_args();
  const Relation& rel = *scope.rel;
  if (payload_expr != nullptr) {
    if (!BindExpr(*payload_expr, arg_scope, payload)) return false;
  } else if (rel.join) {
    return Fail(e.location, rel.join->analytic
                                ? "TopOne() beside analytic functions needs an expression: "
                                  "TopOne(x) or a record"
                                : "TopOne() over a JOIN needs an expression: TopOne(a.x) or a "
                                  "record");
  } else if (rel.is_input) {
    plan_->mutable_inputs(rel.input)->set_needs_record(true);
    payload->set_column(kRecordColumnPlaceholder);
  } else {
    v1::Call* record = payload->mutable_call();
    record->set_function("$record");
    for (size_t c = 0; c < rel.columns.size(); ++c) {
      if (rel.splice[c]) {
        return Fail(e.location, absl::StrCat("TopOne() over step ", rel.source,
                                             ", which selects *, cannot build its row; name the "
                                             "step's columns or pass TopOne an expression"));
      }
      record->add_args()->mutable_literal()->set_string_value(rel.columns[c]);
      record->add_args()->set_column(static_cast<int32_t>(c));
    }
  }
  *scope.agg->add_aggregates() = std::move(spec);
  scope.agg_canon->try_emplace(canon, scope.agg->aggregates_size() - 1);
  out->set_column(scope.agg->keys_size() + scope.agg->aggregates_size() - 1);
  return true;
}

}  // namespace sluice::sql::planner_internal

// Analytic functions: LAG, LAST, ISFIRST and the analytic aggregates (SUM,
// AVG, MIN, MAX, COUNT, STDEV..., TopOne) with OVER ([PARTITION BY ...]
// [ORDER BY ...] [LIMIT DURATION(unit, length)] [WHEN cond]). ASA evaluates them first,
// over every event of the step, before WHERE and GROUP BY; so the planner
// puts one analytic node per PARTITION BY right after FROM, each adding a
// column per call, and a call anywhere in the SELECT reads its column.
// The nodes are the sides of a JoinScope after FROM's (as an APPLY's
// elements are), so names resolve to FROM's columns through the join's
// slots and FinishJoin lays the columns out.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "sql/function_catalog.h"
#include "sql/limits.h"
#include "sql/planner.h"
#include "sql/planner_internal.h"

namespace sluice::sql::planner_internal {
namespace {

// Calls `fn` for `e` and every expression below it.
void ForEachNode(const Expr& e, const std::function<void(const Expr&)>& fn) {
  fn(e);
  for (const ExprPtr& a : e.args) ForEachNode(*a, fn);
  for (const ExprPtr& p : e.over_partition) ForEachNode(*p, fn);
  for (const ExprPtr& o : e.over_order) ForEachNode(*o, fn);
  if (e.over_when) ForEachNode(*e.over_when, fn);
}

// Each key keeps this many rows for a LAG: a bound on the state a query
// can ask for.
constexpr int64_t kMaxLagOffset = 10'000;

bool PositiveInteger(const Expr& e, int64_t* value) {
  if (e.kind != Expr::Kind::kInteger || e.int_value < 1) return false;
  *value = e.int_value;
  return true;
}

// The aggregates that take an analytic OVER, and their window function.
const absl::flat_hash_map<std::string, v1::Aggregate::Function>& AnalyticAggregates() {
  static const auto* map = new absl::flat_hash_map<std::string, v1::Aggregate::Function>{
      {"count", v1::Aggregate::FUNCTION_COUNT},
      {"sum", v1::Aggregate::FUNCTION_SUM},
      {"avg", v1::Aggregate::FUNCTION_AVG},
      {"min", v1::Aggregate::FUNCTION_MIN},
      {"max", v1::Aggregate::FUNCTION_MAX},
      {"stdev", v1::Aggregate::FUNCTION_STDEV},
      {"stdevp", v1::Aggregate::FUNCTION_STDEVP},
      {"var", v1::Aggregate::FUNCTION_VAR},
      {"varp", v1::Aggregate::FUNCTION_VARP},
      {"topone", v1::Aggregate::FUNCTION_TOP_ONE},
      {"collect", v1::Aggregate::FUNCTION_COLLECT},
      {"collecttop", v1::Aggregate::FUNCTION_COLLECT_TOP}};
  return *map;
}

}  // namespace

bool IsAnalyticCall(const Expr& e) {
  if (e.kind != Expr::Kind::kCall || e.path.size() != 1) return false;
  if (SameName(e.path[0], "lag") || SameName(e.path[0], "last") || SameName(e.path[0], "isfirst") ||
      SameName(e.path[0], "anomalydetection_spikeanddip") ||
      SameName(e.path[0], "anomalydetection_changepoint")) {
    return true;
  }
  // TopOne() OVER (ORDER BY ...) alone is the windowed aggregate.
  return e.has_over && (e.analytic_over || !e.over_partition.empty()) &&
         AnalyticAggregates().contains(Lower(e.path[0]));
}

std::vector<const Expr*> Planner::AnalyticCalls(const Select& select) const {
  std::vector<const Expr*> calls;
  auto collect = [&](const Expr& root) {
    ForEachNode(root, [&](const Expr& e) {
      if (IsAnalyticCall(e)) calls.push_back(&e);
    });
  };
  for (const SelectItem& item : select.items) {
    if (item.expr) collect(*item.expr);
  }
  if (select.where) collect(*select.where);
  for (const ExprPtr& g : select.group_by) collect(*g);
  if (select.having) collect(*select.having);
  for (const JoinClause& j : select.joins) {
    if (j.on) collect(*j.on);
  }
  return calls;
}

bool Planner::PlanAnalytic(const Select& select, const std::vector<const Expr*>& calls,
                           const std::string& step, Relation* rel) {
  // A call inside another's arguments would need the first's result before
  // its own rows are read.
  for (const Expr* call : calls) {
    for (const ExprPtr& a : call->args) {
      bool nested = false;
      ForEachNode(*a, [&](const Expr& e) { nested = nested || IsAnalyticCall(e); });
      if (nested) {
        return Fail(a->location,
                    absl::StrCat("the arguments of ", absl::AsciiStrToUpper(call->path[0]),
                                 " cannot hold another analytic function"));
      }
    }
    if (call->over_when) {
      bool nested = false;
      ForEachNode(*call->over_when, [&](const Expr& e) { nested = nested || IsAnalyticCall(e); });
      if (nested) {
        return Fail(call->over_when->location,
                    "WHEN in OVER (...) cannot hold another analytic function");
      }
    }
  }
  if (!select.joins.empty()) {
    return Fail(calls[0]->location,
                absl::StrCat(absl::AsciiStrToUpper(calls[0]->path[0]),
                             " in a SELECT with JOIN or APPLY is not supported yet: compute it in "
                             "a WITH step over one stream, then join that step"));
  }
  auto join = std::make_shared<JoinScope>();
  join->analytic = true;
  join->sides.resize(1);
  Relation& from = join->sides[0].rel;
  if (!ResolveFrom(select.from, step, &from)) return false;
  if (from.alias.empty()) from.alias = from.source;
  rel->join = join;
  rel->is_input = false;
  int current = ProjectSide(join->sides[0], step);
  std::vector<std::string> partitions(1);  // per side: its PARTITION BY as written
  for (const Expr* call : calls) {
    const std::string text = Render(*call);
    if (join->analytic_columns.contains(text)) continue;
    std::vector<std::string> keys;
    for (const ExprPtr& p : call->over_partition) keys.push_back(Render(*p));
    const std::string partition = absl::StrJoin(keys, ", ");
    int side = -1;
    for (size_t s = 1; s < partitions.size(); ++s) {
      if (partitions[s] == partition) side = static_cast<int>(s);
    }
    if (side < 0) {
      if (static_cast<int>(partitions.size()) > kMaxJoins) {
        return Fail(call->location, absl::StrCat("a SELECT's analytic functions may use at most ",
                                                 kMaxJoins, " different PARTITION BY lists"));
      }
      side = static_cast<int>(join->sides.size());
      join->sides.emplace_back();
      partitions.push_back(partition);
      JoinSide& added = join->sides.back();
      added.analytic = true;
      added.rel.source = absl::StrCat("$", side);
      added.rel.alias = added.rel.source;
      v1::Node* node = AddNode({current}, step);
      added.node = node->id();
      current = node->id();
      Scope scope;
      scope.rel = rel;
      scope.clause = "PARTITION BY";
      for (const ExprPtr& p : call->over_partition) {
        if (!BindExpr(*p, scope, node->mutable_analytic()->add_partition_by())) return false;
        node->mutable_analytic()->add_partition_text(Render(*p));
      }
    }
    v1::AnalyticNode::Function f;
    if (!AnalyticFunction(*call, *rel, &f)) return false;
    v1::AnalyticNode* spec = plan_->mutable_nodes(join->sides[side].node)->mutable_analytic();
    *spec->add_functions() = std::move(f);
    const int32_t column = spec->functions_size() - 1;
    Relation& results = join->sides[side].rel;
    results.columns.push_back(text);
    results.splice.push_back(false);
    results.key.push_back(false);
    // The function's column is its slot: it is taken now, in order.
    JoinSlot(*join, side, column);
    join->analytic_columns.try_emplace(text, std::pair{side, column});
  }
  join->join_node = current;
  rel->node = current;
  return true;
}

bool Planner::AnalyticFunction(const Expr& call, Relation& rel, v1::AnalyticNode::Function* f) {
  const std::string name = Lower(call.path[0]);
  const std::string upper = absl::AsciiStrToUpper(call.path[0]);
  f->set_text(Render(call));
  Scope scope;
  scope.rel = &rel;
  scope.clause = upper;
  const int n = static_cast<int>(call.args.size());
  if (call.distinct) {
    return Fail(call.location, AnalyticAggregates().contains(name)
                                   ? absl::StrCat(upper, "(DISTINCT ...) cannot be used with OVER")
                                   : absl::StrCat(upper, " does not take DISTINCT"));
  }
  const bool top_one = name == "topone" || name == "collecttop";
  if (!call.over_order.empty() && !top_one) {
    return Fail(call.location, absl::StrCat(upper,
                                            " takes no ORDER BY in OVER: rows count in "
                                            "time order"));
  }
  // LIMIT DURATION(unit, length): how far back the function looks.
  auto limit_duration = [&]() {
    if (!call.limit_unit) {
      return Fail(call.location,
                  absl::StrCat(upper,
                               " needs OVER ([PARTITION BY ...] LIMIT DURATION(unit, "
                               "length) [WHEN ...]): how far back it may look"));
    }
    const Expr& unit = *call.limit_unit;
    const long long per_unit = unit.kind == Expr::Kind::kName && unit.path.size() == 1
                                   ? TicksPerTimeUnit(unit.path[0])
                                   : 0;
    if (per_unit <= 0) {
      return Fail(unit.location,
                  absl::StrCat("LIMIT DURATION needs a fixed-length unit (day, hour, minute, "
                               "second, millisecond) but found '",
                               Render(unit), "'"));
    }
    int64_t length = 0;
    int64_t ticks = 0;
    if (!PositiveInteger(*call.limit_length, &length) ||
        __builtin_mul_overflow(length, static_cast<int64_t>(per_unit), &ticks)) {
      return Fail(call.limit_length->location,
                  "the length in LIMIT DURATION must be a whole number above 0");
    }
    f->set_duration_ticks(ticks);
    return true;
  };
  if (auto aggregate = AnalyticAggregates().find(name); aggregate != AnalyticAggregates().end()) {
    f->set_kind(v1::AnalyticNode::Function::KIND_AGGREGATE);
    if (!limit_duration() || !AnalyticAggregate(call, scope, aggregate->second, f)) return false;
  } else if (name == "anomalydetection_spikeanddip" || name == "anomalydetection_changepoint") {
    if (!AnomalyDetection(call, scope, f) || !limit_duration()) return false;
  } else if (name == "isfirst") {
    f->set_kind(v1::AnalyticNode::Function::KIND_ISFIRST);
    if (n != 2 || call.star_arg) {
      return Fail(call.location, "ISFIRST takes 2 arguments: ISFIRST(unit, length)");
    }
    if (call.limit_unit) {
      return Fail(call.limit_location,
                  "ISFIRST takes no LIMIT DURATION: its interval is its own arguments");
    }
    const Expr& unit = *call.args[0];
    const long long per_unit = unit.kind == Expr::Kind::kName && unit.path.size() == 1
                                   ? TicksPerTimeUnit(unit.path[0])
                                   : 0;
    if (per_unit <= 0) {
      return Fail(unit.location,
                  absl::StrCat("ISFIRST needs a fixed-length unit (day, hour, minute, second, "
                               "millisecond) but found '",
                               Render(unit), "'"));
    }
    int64_t length = 0;
    int64_t ticks = 0;
    if (!PositiveInteger(*call.args[1], &length) ||
        __builtin_mul_overflow(length, static_cast<int64_t>(per_unit), &ticks)) {
      return Fail(call.args[1]->location,
                  "the length of ISFIRST's interval must be a whole number above 0");
    }
    f->set_interval_ticks(ticks);
  } else {
    const bool lag = name == "lag";
    f->set_kind(lag ? v1::AnalyticNode::Function::KIND_LAG : v1::AnalyticNode::Function::KIND_LAST);
    const int max_args = lag ? 3 : 2;
    if ((n < 1 && !call.star_arg) || n > max_args || (call.star_arg && n > 0)) {
      return Fail(call.location,
                  lag ? "LAG takes 1 to 3 arguments: LAG(expr | *[, offset[, default]])"
                      : "LAST takes 1 or 2 arguments: LAST(expr | *[, default])");
    }
    if (!limit_duration()) return false;
    // The value: an expression, or the whole event as a record (*).
    if (call.star_arg) {
      if (!FromRecord(call, rel, f->mutable_value())) return false;
    } else if (!BindExpr(*call.args[0], scope, f->mutable_value())) {
      return false;
    }
    int next = call.star_arg ? 0 : 1;
    f->set_offset(lag ? 1 : 0);
    if (lag && n > next) {
      int64_t offset = 0;
      if (!PositiveInteger(*call.args[next], &offset)) {
        return Fail(call.args[next]->location, "LAG's offset must be a whole number of 1 or more");
      }
      if (offset > kMaxLagOffset) {
        return Fail(call.args[next]->location,
                    absl::StrCat("LAG's offset can be at most ", kMaxLagOffset,
                                 " (each key keeps that many rows)"));
      }
      f->set_offset(offset);
      ++next;
    }
    if (n > next && !BindExpr(*call.args[next], scope, f->mutable_default_value())) return false;
  }
  if (call.over_when) {
    Scope when_scope = scope;
    when_scope.clause = "WHEN";
    if (!BindExpr(*call.over_when, when_scope, f->mutable_when())) return false;
  }
  return true;
}

// The whole FROM event as a record (LAG(*), LAST(*), TopOne()).
bool Planner::FromRecord(const Expr& call, const Relation& rel, v1::Expr* out) {
  const Relation& from = rel.join->sides[0].rel;
  if (from.is_input) {
    plan_->mutable_inputs(from.input)->set_needs_record(true);
    out->set_column(JoinSlot(*rel.join, 0, kRecordColumnPlaceholder));
    return true;
  }
  v1::Call* record = out->mutable_call();
  record->set_function("$record");
  for (size_t c = 0; c < from.columns.size(); ++c) {
    if (from.splice[c]) {
      return Fail(call.location,
                  absl::StrCat(absl::AsciiStrToUpper(call.path[0]), "(", call.star_arg ? "*" : "",
                               ") over step ", from.source,
                               ", which selects *, cannot build its row; name the step's columns"));
    }
    record->add_args()->mutable_literal()->set_string_value(from.columns[c]);
    record->add_args()->set_column(JoinSlot(*rel.join, 0, static_cast<int32_t>(c)));
  }
  return true;
}

// SUM(x) OVER (... LIMIT DURATION ...) and the other analytic aggregates:
// the window aggregate's function over the rows the OVER keeps.
bool Planner::AnalyticAggregate(const Expr& call, Scope& scope, v1::Aggregate::Function function,
                                v1::AnalyticNode::Function* f) {
  const std::string upper = absl::AsciiStrToUpper(call.path[0]);
  v1::Aggregate* spec = f->mutable_aggregate();
  spec->set_text(Render(call));
  const bool names_input = call.args.size() == 1 && call.args[0]->kind == Expr::Kind::kName &&
                           call.args[0]->path.size() == 1 &&
                           scope.rel->join->sides[0].rel.IsQualifier(call.args[0]->path[0]);
  if (function == v1::Aggregate::FUNCTION_TOP_ONE || function == v1::Aggregate::FUNCTION_COLLECT ||
      function == v1::Aggregate::FUNCTION_COLLECT_TOP) {
    // [ordering values..., payload], as the windowed forms pack them.
    const bool collect = function == v1::Aggregate::FUNCTION_COLLECT;
    if (call.over_order.empty() != collect) {
      return Fail(call.location,
                  collect ? "Collect takes no ORDER BY: it keeps every row"
                          : absl::StrCat(call.path[0],
                                         " needs ORDER BY in its OVER: OVER ([PARTITION BY ...] "
                                         "ORDER BY x [ASC|DESC] LIMIT DURATION(unit, length))"));
    }
    size_t first = 0;
    if (function == v1::Aggregate::FUNCTION_COLLECT_TOP) {
      const Expr* n = call.args.empty() ? nullptr : call.args[0].get();
      if (n == nullptr || n->kind != Expr::Kind::kInteger || n->int_value < 1 ||
          n->int_value > kMaxCollectTop) {
        return Fail(n != nullptr ? n->location : call.location,
                    absl::StrCat("CollectTop takes a whole number from 1 to ", kMaxCollectTop,
                                 " (how many rows) and optionally an expression"));
      }
      spec->set_top_count(n->int_value);
      first = 1;
    }
    if (call.star_arg || call.distinct || call.args.size() > first + 1) {
      return Fail(call.location, absl::StrCat(upper, " takes ", first == 1 ? "n and " : "",
                                              "no argument (the whole event) or one expression"));
    }
    spec->set_function(function);
    v1::Call* pack = f->mutable_value()->mutable_call();
    pack->set_function("$array");
    for (size_t i = 0; i < call.over_order.size(); ++i) {
      if (!BindExpr(*call.over_order[i], scope, pack->add_args())) return false;
      spec->add_descending(call.over_descending[i]);
    }
    spec->set_order_keys(static_cast<int32_t>(call.over_order.size()));
    if (call.args.size() == first) return FromRecord(call, *scope.rel, pack->add_args());
    return BindExpr(*call.args[first], scope, pack->add_args());
  }
  if (call.distinct) {
    return Fail(call.location, absl::StrCat(upper, "(DISTINCT ...) cannot be used with OVER"));
  }
  if (function == v1::Aggregate::FUNCTION_COUNT &&
      (call.star_arg || call.args.empty() || names_input)) {
    // COUNT(*), COUNT() and COUNT(input) count rows.
    spec->set_function(v1::Aggregate::FUNCTION_COUNT_STAR);
    return true;
  }
  if (call.star_arg || call.args.size() != 1) {
    return Fail(call.location, absl::StrCat(upper, " takes one argument"));
  }
  spec->set_function(function);
  const Expr& arg = *call.args[0];
  spec->set_compare_as_string(arg.kind == Expr::Kind::kCast && arg.type_name == "nvarchar(max)");
  return BindExpr(arg, scope, f->mutable_value());
}

// AnomalyDetection_SpikeAndDip(x, confidence, historySize, mode) and
// AnomalyDetection_ChangePoint(x, confidence, historySize): the detector's
// arguments are constants, checked here (operators/anomaly_detection.h
// checks them again when the plan is loaded).
bool Planner::AnomalyDetection(const Expr& call, Scope& scope, v1::AnalyticNode::Function* f) {
  const bool spikes = SameName(call.path[0], "anomalydetection_spikeanddip");
  const std::string written =
      spikes ? "AnomalyDetection_SpikeAndDip" : "AnomalyDetection_ChangePoint";
  f->set_kind(spikes ? v1::AnalyticNode::Function::KIND_SPIKE_AND_DIP
                     : v1::AnalyticNode::Function::KIND_CHANGE_POINT);
  const size_t n = spikes ? 4 : 3;
  if (call.star_arg || call.args.size() != n) {
    return Fail(call.location,
                spikes ? "AnomalyDetection_SpikeAndDip takes 4 arguments: (expr, confidence, "
                         "historySize, 'spikes' | 'dips' | 'spikesanddips')"
                       : "AnomalyDetection_ChangePoint takes 3 arguments: (expr, confidence, "
                         "historySize)");
  }
  const Expr& confidence = *call.args[1];
  const double c = confidence.kind == Expr::Kind::kInteger
                       ? static_cast<double>(confidence.int_value)
                       : (confidence.kind == Expr::Kind::kFloat ? confidence.float_value : -1);
  if (!(c >= kMinAnomalyConfidence && c <= kMaxAnomalyConfidence)) {
    return Fail(confidence.location,
                absl::StrCat(written, "'s confidence must be a number from ", kMinAnomalyConfidence,
                             " to ", kMaxAnomalyConfidence));
  }
  f->set_confidence(c);
  const Expr& history = *call.args[2];
  if (history.kind != Expr::Kind::kInteger || history.int_value < kMinAnomalyHistorySize ||
      history.int_value > kMaxAnomalyHistorySize) {
    return Fail(
        history.location,
        absl::StrCat(written, "'s historySize must be a whole number from ", kMinAnomalyHistorySize,
                     " to ", kMaxAnomalyHistorySize, " (events the detector keeps per key)"));
  }
  f->set_history_size(history.int_value);
  if (spikes) {
    const Expr& mode = *call.args[3];
    const std::string m = mode.kind == Expr::Kind::kString ? Lower(mode.string_value) : "";
    if (m != "spikes" && m != "dips" && m != "spikesanddips") {
      return Fail(mode.location,
                  "AnomalyDetection_SpikeAndDip's mode must be 'spikes', 'dips' or "
                  "'spikesanddips'");
    }
    f->set_spike_mode(m == "spikes" ? 0 : (m == "dips" ? 1 : 2));
  }
  return BindExpr(*call.args[0], scope, f->mutable_value());
}

bool Planner::BindAnalyticCall(const Expr& e, Scope& scope, v1::Expr* out) {
  const std::string upper = absl::AsciiStrToUpper(e.path[0]);
  if (scope.mode == Scope::Mode::kGrouped && !scope.in_aggregate) {
    return Fail(e.location, absl::StrCat(upper,
                                         " in a SELECT with GROUP BY must be a GROUP BY "
                                         "key or inside an aggregate: it is one event's "
                                         "value"));
  }
  JoinScope* join = scope.rel != nullptr ? scope.rel->join.get() : nullptr;
  if (join != nullptr && join->analytic) {
    auto it = join->analytic_columns.find(Render(e));
    if (it != join->analytic_columns.end()) {
      out->set_column(JoinSlot(*join, it->second.first, it->second.second));
      return true;
    }
  }
  return Fail(e.location, absl::StrCat(upper, " cannot be used in ", scope.clause));
}

}  // namespace sluice::sql::planner_internal

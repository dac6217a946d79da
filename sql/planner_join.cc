// JOIN and APPLY: the sides of a SELECT's FROM, the projections that pack
// what the SELECT reads of each, and a chain of join nodes (stream join,
// reference join or APPLY), each ON split into key equalities, DATEDIFF
// time bounds and the rest. How names resolve over the sides and how the
// sides are laid out is planner_scope.cc.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "sql/function_catalog.h"
#include "sql/limits.h"
#include "sql/plan_walk.h"
#include "sql/planner.h"
#include "sql/planner_internal.h"

namespace sluice::sql::planner_internal {
namespace {

constexpr int64_t kTicksPerDay = 864'000'000'000LL;
constexpr int64_t kMaxJoinBoundTicks = 7 * kTicksPerDay;

// The terms of a top-level AND chain (or the expression itself).
std::vector<const Expr*> Conjuncts(const Expr& e) {
  std::vector<const Expr*> terms;
  if (e.kind == Expr::Kind::kBinary && e.op == "and") {
    for (const ExprPtr& a : e.args) terms.push_back(a.get());
  } else {
    terms.push_back(&e);
  }
  return terms;
}

// Which sides' slots `e` reads, as a bit set (bit s for side s).
unsigned SidesOf(v1::Expr e) {
  unsigned sides = 0;
  ForEachSubExpr(&e, [&](v1::Expr* sub) {
    if (sub->kind_case() == v1::Expr::kColumn && sub->column() >= kJoinSlotStride) {
      sides |= 1u << (sub->column() / kJoinSlotStride - 1);
    }
  });
  return sides;
}

// An integer literal, possibly negated.
bool IntegerLiteral(const Expr& e, int64_t* value) {
  if (e.kind == Expr::Kind::kInteger) {
    *value = e.int_value;
    return true;
  }
  if (e.kind == Expr::Kind::kUnary && e.op == "-" && e.args[0]->kind == Expr::Kind::kInteger) {
    *value = -e.args[0]->int_value;
    return true;
  }
  return false;
}

// The conjunction of `terms` (at least one): the term itself, or an AND.
void AllOf(std::vector<v1::Expr> terms, v1::Expr* out) {
  if (terms.size() == 1) {
    *out = std::move(terms[0]);
    return;
  }
  v1::Call* all = out->mutable_call();
  all->set_function("and");
  for (v1::Expr& e : terms) *all->add_args() = std::move(e);
}

bool IsDatediffCall(const Expr& e) {
  return e.kind == Expr::Kind::kCall && e.path.size() == 1 && SameName(e.path[0], "datediff");
}

}  // namespace

bool Planner::PlanJoin(const Select& select, const std::string& step, Relation* rel) {
  auto is_apply = [](const JoinClause& c) {
    return c.kind == JoinClause::Kind::kCrossApply || c.kind == JoinClause::Kind::kOuterApply;
  };
  const int n = static_cast<int>(select.joins.size()) + 1;
  auto join = std::make_shared<JoinScope>();
  join->sides.resize(n);
  join->apply = n == 2 && is_apply(select.joins[0]);
  for (int s = 0; s < n; ++s) {
    const FromClause& from = s == 0 ? select.from : select.joins[s - 1].right;
    JoinSide& side = join->sides[s];
    Relation& r = side.rel;
    if (s > 0 && is_apply(select.joins[s - 1])) {
      if (!ApplySide(select.joins[s - 1], side)) return false;
      for (int e = 0; e < s; ++e) {
        if (SameName(join->sides[e].rel.alias, r.alias)) {
          return Fail(select.joins[s - 1].location,
                      absl::StrCat("the APPLY's alias '", r.alias, "' is already the name of ",
                                   e == 0 ? "FROM's stream" : "an earlier side of the JOIN"));
        }
      }
      continue;
    }
    if (s > 0 && !steps_.contains(Lower(from.source)) && IsReferenceInput(from.source)) {
      if (from.timestamp_by) {
        return Fail(from.timestamp_by_location,
                    absl::StrCat("reference data has no time: TIMESTAMP BY cannot apply to '",
                                 from.source, "'"));
      }
      side.reference = true;
      r.source = from.source;
      r.alias = from.alias;
      r.is_input = true;
      r.input = InputIndex(from.source, from.location);
      plan_->mutable_inputs(r.input)->set_reference(true);
    } else if (!ResolveFrom(from, step, &r)) {
      return false;
    }
    if (r.alias.empty()) r.alias = r.source;
    for (int e = 0; e < s; ++e) {
      if (SameName(join->sides[e].rel.alias, r.alias)) {
        return Fail(
            from.location,
            absl::StrCat(n == 2 ? "both" : "two", " sides of the JOIN are called '", r.alias,
                         "': give one of them another alias (FROM s a JOIN s b ...)"));
      }
    }
  }
  rel->join = join;
  rel->is_input = false;
  int current = ProjectSide(join->sides[0], step);
  std::vector<std::string> joined = {join->sides[0].rel.alias};
  for (int k = 1; k < n; ++k) {
    const JoinClause& clause = select.joins[k - 1];
    JoinSide& side = join->sides[k];
    // What the rows so far are called in `sluice explain`.
    const std::string left_name =
        k == 1 ? joined[0] : absl::StrCat("(", absl::StrJoin(joined, ", "), ")");
    joined.push_back(side.rel.alias);
    v1::Node* node = nullptr;
    if (side.apply) {
      if (!PlanApply(clause, *rel, k, current, step)) return false;
      current = side.node;
      continue;
    }
    if (side.reference) {
      node = AddNode({current}, step);
      v1::ReferenceJoinNode* spec = node->mutable_reference_join();
      spec->set_kind(clause.kind == JoinClause::Kind::kLeft ? v1::JoinNode::KIND_LEFT
                                                            : v1::JoinNode::KIND_INNER);
      spec->set_reference_input(side.rel.input);
      spec->set_stream_name(left_name);
      spec->set_reference_name(side.rel.alias);
      side.node = node->id();
      if (!ReadReferenceCondition(clause, *rel, k, spec)) return false;
    } else {
      ProjectSide(side, step);
      v1::JoinNode spec;
      spec.set_kind(clause.kind == JoinClause::Kind::kLeft ? v1::JoinNode::KIND_LEFT
                                                           : v1::JoinNode::KIND_INNER);
      spec.set_left_name(left_name);
      spec.set_right_name(side.rel.alias);
      std::vector<v1::Expr> side_filters[2];
      if (!ReadJoinCondition(clause, *rel, k, &spec, side_filters)) return false;
      // Conditions on one side only filter that side before the join, so
      // its rows that cannot match are neither buffered nor probed.
      int inputs[2] = {current, side.project_node};
      JoinSide* filtered[2] = {&join->sides[0], &side};
      for (int i = 0; i < 2; ++i) {
        if (side_filters[i].empty()) continue;
        v1::Node* filter = AddNode({inputs[i]}, step);
        AllOf(std::move(side_filters[i]), filter->mutable_filter()->mutable_predicate());
        filtered[i]->filter_node = filter->id();
        inputs[i] = filter->id();
      }
      node = AddNode({inputs[0], inputs[1]}, step);
      *node->mutable_join() = std::move(spec);
      side.node = node->id();
    }
    current = node->id();
  }
  join->join_node = current;
  rel->node = current;
  return true;
}

int Planner::ProjectSide(JoinSide& side, const std::string& step) {
  v1::Node* project = AddNode({side.rel.node}, step);
  project->mutable_project();  // FinishJoin fills it
  side.project_node = project->id();
  return side.project_node;
}

bool Planner::IsReferenceInput(const std::string& name) const {
  for (const std::string& r : options_.reference_inputs) {
    if (SameName(r, name)) return true;
  }
  return false;
}

bool Planner::ReadsLaterSide(const v1::Expr& e, const Relation& rel, int k, SourceLocation at) {
  const unsigned later = SidesOf(e) >> (k + 1);
  if (later == 0) return false;
  int side = k + 1;
  while ((later & (1u << (side - k - 1))) == 0) ++side;
  Fail(at, absl::StrCat("this ON reads '", rel.join->sides[side].rel.alias,
                        "', which is joined after it: move the condition to the ON of its JOIN"));
  return true;
}

bool Planner::ReadReferenceCondition(const JoinClause& clause, Relation& rel, int k,
                                     v1::ReferenceJoinNode* join) {
  const unsigned mine = 1u << k;
  const unsigned before = mine - 1;
  std::vector<v1::Expr> rest;
  Scope scope;
  scope.rel = &rel;
  scope.clause = "ON";
  scope.allow_system_timestamp = false;
  for (const Expr* term : Conjuncts(*clause.on)) {
    const Expr* inner = term->kind == Expr::Kind::kBetween || term->kind == Expr::Kind::kBinary
                            ? (term->args.empty() ? nullptr : term->args[0].get())
                            : nullptr;
    if (inner != nullptr && IsDatediffCall(*inner)) {
      return Fail(inner->location,
                  "reference data has no time: a JOIN with it takes no DATEDIFF bound");
    }
    if (term->kind == Expr::Kind::kBinary && term->op == "=" && term->args.size() == 2) {
      v1::Expr a;
      v1::Expr b;
      if (!BindExpr(*term->args[0], scope, &a) || !BindExpr(*term->args[1], scope, &b)) {
        return false;
      }
      if (ReadsLaterSide(a, rel, k, term->location) || ReadsLaterSide(b, rel, k, term->location)) {
        return false;
      }
      if (SidesOf(a) == mine) std::swap(a, b);
      // The reference side of a key is one of its columns (r.field), so
      // that the table can be indexed once and shared.
      const unsigned sa = SidesOf(a);
      if (sa != 0 && (sa & ~before) == 0 && b.kind_case() == v1::Expr::kColumn &&
          b.column() / kJoinSlotStride == k + 1) {
        *join->add_stream_keys() = std::move(a);
        join->add_reference_keys(b.column() % kJoinSlotStride);
        join->add_key_text(Render(*term));
        continue;
      }
    }
    v1::Expr e;
    if (!BindExpr(*term, scope, &e)) return false;
    if (ReadsLaterSide(e, rel, k, term->location)) return false;
    rest.push_back(std::move(e));
  }
  if (!rest.empty()) AllOf(std::move(rest), join->mutable_condition());
  return true;
}

bool Planner::ApplySide(const JoinClause& clause, JoinSide& side) {
  const Expr& call = *clause.apply;
  const bool array = call.kind == Expr::Kind::kCall && call.path.size() == 1 &&
                     SameName(call.path[0], "GetArrayElements");
  const bool record = call.kind == Expr::Kind::kCall && call.path.size() == 1 &&
                      SameName(call.path[0], "GetRecordProperties");
  if (!array && !record) {
    return Fail(call.location, absl::StrCat("APPLY takes GetArrayElements(array) or "
                                            "GetRecordProperties(record), not ",
                                            Render(call)));
  }
  if (call.args.size() != 1 || call.star_arg || call.distinct || call.has_over) {
    return Fail(call.location, absl::StrCat(call.path[0], " takes one argument"));
  }
  side.apply = true;
  Relation& elements = side.rel;
  elements.source = clause.apply_alias;
  elements.alias = clause.apply_alias;
  elements.columns = array ? std::vector<std::string>{"ArrayIndex", "ArrayValue"}
                           : std::vector<std::string>{"PropertyName", "PropertyValue"};
  elements.splice = {false, false};
  elements.key = {false, false};
  elements.IndexColumns();
  return true;
}

bool Planner::PlanApply(const JoinClause& clause, Relation& rel, int k, int input,
                        const std::string& step) {
  JoinScope& join = *rel.join;
  const Expr& call = *clause.apply;
  v1::Node* node = AddNode({input}, step);
  join.sides[k].node = node->id();
  v1::ApplyNode* spec = node->mutable_apply();
  spec->set_function(SameName(call.path[0], "GetArrayElements")
                         ? v1::ApplyNode::FUNCTION_ARRAY_ELEMENTS
                         : v1::ApplyNode::FUNCTION_RECORD_PROPERTIES);
  spec->set_outer(clause.kind == JoinClause::Kind::kOuterApply);
  spec->set_alias(clause.apply_alias);
  spec->set_text(Render(call));
  // The element's columns always come after the rows so far, in this order.
  JoinSlot(join, k, 0);
  JoinSlot(join, k, 1);
  Scope scope;
  scope.rel = &rel;
  scope.clause = "APPLY";
  if (!BindExpr(*call.args[0], scope, spec->mutable_arg())) return false;
  if (ReadsLaterSide(spec->arg(), rel, k, call.args[0]->location)) return false;
  if (SidesOf(spec->arg()) & (1u << k)) {
    return Fail(call.args[0]->location,
                absl::StrCat("the argument of ", call.path[0], " reads ",
                             k == 1 ? "FROM's stream" : "the rows joined before it", ", not ",
                             clause.apply_alias));
  }
  return true;
}

bool Planner::ReadJoinCondition(const JoinClause& clause, Relation& rel, int k, v1::JoinNode* join,
                                std::vector<v1::Expr>* side_filters) {
  constexpr int64_t kNoLow = std::numeric_limits<int64_t>::min();
  constexpr int64_t kNoHigh = std::numeric_limits<int64_t>::max();
  JoinScope& scope_join = *rel.join;
  const unsigned mine = 1u << k;
  const unsigned before = mine - 1;
  // Per earlier side j: the bound on ts(k) - ts(j), and whether ON has one.
  std::vector<int64_t> low(k, kNoLow);
  std::vector<int64_t> high(k, kNoHigh);
  std::vector<bool> bounded(k, false);
  std::vector<std::string> bound_text;
  std::vector<v1::Expr> rest;
  Scope scope;
  scope.rel = &rel;
  scope.clause = "ON";
  scope.allow_system_timestamp = false;
  for (const Expr* term : Conjuncts(*clause.on)) {
    bool is_bound = false;
    int other = -1;
    int64_t lo = kNoLow;
    int64_t hi = kNoHigh;
    if (!ReadJoinBound(*term, rel, k, &other, &lo, &hi, &is_bound)) return false;
    if (is_bound) {
      bounded[other] = true;
      low[other] = std::max(low[other], lo);
      high[other] = std::min(high[other], hi);
      bound_text.push_back(Render(*term));
      continue;
    }
    if (term->kind == Expr::Kind::kBinary && term->op == "=" && term->args.size() == 2) {
      v1::Expr a;
      v1::Expr b;
      if (!BindExpr(*term->args[0], scope, &a) || !BindExpr(*term->args[1], scope, &b)) {
        return false;
      }
      if (ReadsLaterSide(a, rel, k, term->location) || ReadsLaterSide(b, rel, k, term->location)) {
        return false;
      }
      const unsigned sa = SidesOf(a);
      const unsigned sb = SidesOf(b);
      auto earlier = [&](unsigned s) { return s != 0 && (s & ~before) == 0; };
      if ((earlier(sa) && sb == mine) || (sa == mine && earlier(sb))) {
        if (sa == mine) std::swap(a, b);
        *join->add_left_keys() = std::move(a);
        *join->add_right_keys() = std::move(b);
        join->add_key_text(Render(*term));
        continue;
      }
    }
    v1::Expr e;
    if (!BindExpr(*term, scope, &e)) return false;
    if (ReadsLaterSide(e, rel, k, term->location)) return false;
    // One side's own condition: under LEFT only the right side's (a left
    // row failing its own still comes out, unmatched).
    const unsigned sides = SidesOf(e);
    if (sides == mine || (k == 1 && sides == 1u && join->kind() == v1::JoinNode::KIND_INNER)) {
      side_filters[sides == mine ? 1 : 0].push_back(std::move(e));
      continue;
    }
    rest.push_back(std::move(e));
  }
  // Every stream before this one needs a bound with it (ASA: a three-way
  // join has bounds between every pair); reference data has no time.
  std::vector<int> streams;
  for (int j = 0; j < k; ++j) {
    if (!scope_join.sides[j].reference && !scope_join.sides[j].apply) streams.push_back(j);
  }
  const std::string& name = scope_join.sides[k].rel.alias;
  for (int j : streams) {
    const std::string& other = scope_join.sides[j].rel.alias;
    if (!bounded[j]) {
      if (k == 1) {
        return Fail(clause.on_location,
                    absl::StrCat("a JOIN of two streams needs a time bound in ON, e.g. AND "
                                 "DATEDIFF(minute, ",
                                 other, ", ", name, ") BETWEEN 0 AND 5; if '",
                                 scope_join.sides[k].rel.source,
                                 "' is reference data, declare it so (sluice run --reference ",
                                 scope_join.sides[k].rel.source,
                                 "=FILE, or \"reference\": true in a job spec) and it needs none"));
      }
      return Fail(clause.on_location,
                  absl::StrCat("a JOIN of three or more streams needs a time bound between every "
                               "pair (as in ASA): this ON has none between ",
                               other, " and ", name, "; add e.g. DATEDIFF(minute, ", other, ", ",
                               name, ") BETWEEN 0 AND 5"));
    }
    if (low[j] == kNoLow || high[j] == kNoHigh) {
      return Fail(clause.on_location,
                  absl::StrCat("the time bound in ON",
                               k == 1 ? "" : absl::StrCat(" between ", other, " and ", name),
                               " must limit both ways: add DATEDIFF(...) ",
                               low[j] == kNoLow ? ">= <low>" : "<= <high>",
                               ", or write DATEDIFF(...) BETWEEN <low> AND <high>"));
    }
    if (low[j] > high[j]) {
      return Fail(clause.on_location,
                  absl::StrCat("the DATEDIFF bounds in ON",
                               k == 1 ? "" : absl::StrCat(" between ", other, " and ", name),
                               " leave no time at all: the lower bound is above the upper one"));
    }
  }
  if (streams.size() == 1) {
    // The rows so far carry that one stream's time: the bound is exact.
    join->set_min_delta_ticks(low[streams[0]]);
    join->set_max_delta_ticks(high[streams[0]]);
  } else {
    // The rows so far carry the latest of their streams' times, T. Since
    // ts(k) - T is the least of the ts(k) - ts(j), it lies between the
    // least lower and the least upper bound: the join finds the pairs
    // there, and checks each pair's own bound on the streams' times.
    int64_t lo = kNoHigh;
    int64_t hi = kNoHigh;
    for (int j : streams) {
      lo = std::min(lo, low[j]);
      hi = std::min(hi, high[j]);
      v1::JoinNode::TimeCheck* check = join->add_time_checks();
      check->mutable_earlier()->set_column(JoinSlot(scope_join, j, kSideTimeColumn));
      check->mutable_later()->set_column(JoinSlot(scope_join, k, kSideTimeColumn));
      check->set_min_delta_ticks(low[j]);
      check->set_max_delta_ticks(high[j]);
      check->set_earlier_name(scope_join.sides[j].rel.alias);
      check->set_later_name(scope_join.sides[k].rel.alias);
    }
    join->set_min_delta_ticks(lo);
    join->set_max_delta_ticks(hi);
  }
  join->set_bound_text(absl::StrJoin(bound_text, " AND "));
  if (!rest.empty()) AllOf(std::move(rest), join->mutable_condition());
  return true;
}

bool Planner::ReadJoinBound(const Expr& term, const Relation& rel, int k, int* other, int64_t* low,
                            int64_t* high, bool* is_bound) {
  *is_bound = false;
  const Expr* call = nullptr;
  int64_t lo = 0;
  int64_t hi = 0;
  if (term.kind == Expr::Kind::kBetween && !term.args.empty() && IsDatediffCall(*term.args[0])) {
    call = term.args[0].get();
    if (term.negated) {
      return Fail(term.location, "a JOIN's time bound cannot be NOT BETWEEN");
    }
    for (int i = 1; i <= 2; ++i) {
      if (!IntegerLiteral(*term.args[i], i == 1 ? &lo : &hi)) {
        return Fail(term.args[i]->location, "the bounds of DATEDIFF in ON must be whole numbers");
      }
    }
  } else if (term.kind == Expr::Kind::kBinary && term.args.size() == 2 &&
             IsDatediffCall(*term.args[0])) {
    call = term.args[0].get();
    int64_t n = 0;
    if (!IntegerLiteral(*term.args[1], &n)) {
      return Fail(term.args[1]->location, "the bound of DATEDIFF in ON must be a whole number");
    }
    lo = std::numeric_limits<int32_t>::min();
    hi = std::numeric_limits<int32_t>::max();
    if (term.op == "<=" || term.op == "!>") {
      hi = n;
    } else if (term.op == "<") {
      hi = n - 1;
    } else if (term.op == ">=" || term.op == "!<") {
      lo = n;
    } else if (term.op == ">") {
      lo = n + 1;
    } else if (term.op == "=") {
      lo = hi = n;
    } else {
      return Fail(term.location, absl::StrCat("DATEDIFF in ON cannot be compared with ", term.op));
    }
  } else {
    return true;
  }
  if (call->args.size() != 3) {
    return Fail(call->location, "DATEDIFF takes 3 arguments: DATEDIFF(unit, a, b)");
  }
  const JoinScope& join = *rel.join;
  int sides[2] = {-1, -1};
  for (int i = 0; i < 2; ++i) {
    const Expr& a = *call->args[i + 1];
    if (a.kind == Expr::Kind::kName && a.path.size() == 1) {
      for (int s = 0; s <= k; ++s) {
        if (join.sides[s].rel.IsQualifier(a.path[0])) sides[i] = s;
      }
    }
    if (sides[i] >= 0 && join.sides[sides[i]].reference) {
      return Fail(a.location, absl::StrCat("reference data has no time: '", Render(a),
                                           "' cannot be in a DATEDIFF bound"));
    }
    if (sides[i] >= 0 && join.sides[sides[i]].apply) {
      return Fail(a.location, absl::StrCat("'", Render(a),
                                           "' is an APPLY's elements, which have their stream's "
                                           "time: name that stream in DATEDIFF"));
    }
    if (sides[i] < 0) {
      std::vector<std::string> aliases;
      for (int s = 0; s <= k; ++s) {
        if (!join.sides[s].reference && !join.sides[s].apply) {
          aliases.push_back(join.sides[s].rel.alias);
        }
      }
      return Fail(a.location,
                  absl::StrCat("DATEDIFF in a JOIN's ON compares the joined streams' "
                               "times: name their aliases (",
                               absl::StrJoin(aliases, ", "), "), not '", Render(a), "'"));
    }
  }
  if (sides[0] == sides[1]) {
    return Fail(call->location, "DATEDIFF in ON must compare the two sides of the JOIN");
  }
  if (sides[0] != k && sides[1] != k) {
    return Fail(call->location,
                absl::StrCat("a DATEDIFF bound in this ON must compare '", join.sides[k].rel.alias,
                             "', the stream it joins, with one before it; put the bound between ",
                             join.sides[sides[0]].rel.alias, " and ",
                             join.sides[sides[1]].rel.alias, " in the ON of their JOIN"));
  }
  const Expr& unit = *call->args[0];
  const long long per_unit =
      unit.kind == Expr::Kind::kName && unit.path.size() == 1 ? TicksPerTimeUnit(unit.path[0]) : 0;
  if (per_unit <= 0) {
    return Fail(unit.location,
                absl::StrCat("a JOIN's time bound needs a fixed-length unit (day, hour, minute, "
                             "second, millisecond) but found '",
                             Render(unit), "'"));
  }
  const int64_t limit = kMaxJoinBoundTicks / per_unit;
  const bool open_low = lo == std::numeric_limits<int32_t>::min();
  const bool open_high = hi == std::numeric_limits<int32_t>::max();
  const bool low_over = !open_low && (lo > limit || lo < -limit);
  if (low_over || (!open_high && (hi > limit || hi < -limit))) {
    const Expr& bound =
        term.kind == Expr::Kind::kBetween ? *term.args[low_over ? 1 : 2] : *term.args[1];
    return Fail(bound.location,
                absl::StrCat("a JOIN's time bound can be at most 7 days either way: ",
                             low_over ? lo : hi, " ", Render(unit), " is beyond it"));
  }
  // DATEDIFF(u, a, b) is ts(b) - ts(a) in units; the node bounds
  // ts(right) - ts(left).
  int64_t lo_ticks = open_low ? std::numeric_limits<int64_t>::min() : lo * per_unit;
  int64_t hi_ticks = open_high ? std::numeric_limits<int64_t>::max() : hi * per_unit;
  *other = sides[0] == k ? sides[1] : sides[0];
  if (sides[0] == k) {
    const int64_t l = lo_ticks;
    lo_ticks = hi_ticks == std::numeric_limits<int64_t>::max() ? std::numeric_limits<int64_t>::min()
                                                               : -hi_ticks;
    hi_ticks = l == std::numeric_limits<int64_t>::min() ? std::numeric_limits<int64_t>::max() : -l;
  }
  *low = lo_ticks;
  *high = hi_ticks;
  *is_bound = true;
  return true;
}

}  // namespace sluice::sql::planner_internal

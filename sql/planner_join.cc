// JOIN: both sides, the projections that pack what the SELECT reads of
// each, and the join node with ON split into key equalities, DATEDIFF time
// bounds and the rest. Names over a join resolve to a side by their
// qualifier (BindJoinName); FinishJoin lays the sides out once the whole
// SELECT is bound.
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
  if (select.joins.size() > 1) {
    return Fail(select.joins[1].location,
                "only one JOIN or APPLY per SELECT is supported yet: put the first in a WITH "
                "step and join or apply to that step");
  }
  const JoinClause& clause = select.joins[0];
  if (clause.kind == JoinClause::Kind::kCrossApply ||
      clause.kind == JoinClause::Kind::kOuterApply) {
    return PlanApply(select, clause, step, rel);
  }
  if (!steps_.contains(Lower(clause.right.source)) && IsReferenceInput(clause.right.source)) {
    return PlanReferenceJoin(select, clause, step, rel);
  }
  auto join = std::make_shared<JoinScope>();
  join->sides.resize(2);
  for (int s = 0; s < 2; ++s) {
    const FromClause& from = s == 0 ? select.from : clause.right;
    Relation& side = join->sides[s].rel;
    if (!ResolveFrom(from, step, &side)) return false;
    if (side.alias.empty()) side.alias = side.source;
  }
  if (SameName(join->sides[0].rel.alias, join->sides[1].rel.alias)) {
    return Fail(clause.right.location,
                absl::StrCat("both sides of the JOIN are called '", join->sides[1].rel.alias,
                             "': give one of them another alias (FROM s a JOIN s b ...)"));
  }
  for (JoinSide& side : join->sides) ProjectSide(side, step);
  v1::JoinNode spec;
  spec.set_kind(clause.kind == JoinClause::Kind::kLeft ? v1::JoinNode::KIND_LEFT
                                                       : v1::JoinNode::KIND_INNER);
  spec.set_left_name(join->sides[0].rel.alias);
  spec.set_right_name(join->sides[1].rel.alias);
  rel->join = join;
  rel->is_input = false;
  std::vector<v1::Expr> side_filters[2];
  if (!ReadJoinCondition(clause, *rel, &spec, side_filters)) return false;
  // Conditions on one side only filter that side before the join, so its
  // rows that cannot match are neither buffered nor probed.
  int inputs[2];
  for (int s = 0; s < 2; ++s) {
    JoinSide& side = join->sides[s];
    inputs[s] = side.project_node;
    if (side_filters[s].empty()) continue;
    v1::Node* filter = AddNode({side.project_node}, step);
    AllOf(std::move(side_filters[s]), filter->mutable_filter()->mutable_predicate());
    side.filter_node = filter->id();
    inputs[s] = filter->id();
  }
  v1::Node* node = AddNode({inputs[0], inputs[1]}, step);
  *node->mutable_join() = std::move(spec);
  join->join_node = node->id();
  rel->node = node->id();
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

bool Planner::PlanReferenceJoin(const Select& select, const JoinClause& clause,
                                const std::string& step, Relation* rel) {
  const FromClause& right = clause.right;
  if (right.timestamp_by) {
    return Fail(right.timestamp_by_location,
                absl::StrCat("reference data has no time: TIMESTAMP BY cannot apply to '",
                             right.source, "'"));
  }
  auto join = std::make_shared<JoinScope>();
  join->sides.resize(2);
  Relation& stream = join->sides[0].rel;
  if (!ResolveFrom(select.from, step, &stream)) return false;
  if (stream.alias.empty()) stream.alias = stream.source;
  Relation& table = join->sides[1].rel;
  table.source = right.source;
  table.alias = right.alias.empty() ? right.source : right.alias;
  table.is_input = true;
  table.input = InputIndex(right.source, right.location);
  plan_->mutable_inputs(table.input)->set_reference(true);
  if (SameName(stream.alias, table.alias)) {
    return Fail(right.location, absl::StrCat("both sides of the JOIN are called '", table.alias,
                                             "': give one of them another alias"));
  }
  v1::Node* node = AddNode({ProjectSide(join->sides[0], step)}, step);
  join->join_node = node->id();
  v1::ReferenceJoinNode* spec = node->mutable_reference_join();
  spec->set_kind(clause.kind == JoinClause::Kind::kLeft ? v1::JoinNode::KIND_LEFT
                                                        : v1::JoinNode::KIND_INNER);
  spec->set_reference_input(table.input);
  spec->set_stream_name(stream.alias);
  spec->set_reference_name(table.alias);
  rel->join = join;
  rel->node = node->id();
  rel->is_input = false;
  return ReadReferenceCondition(clause, *rel, spec);
}

bool Planner::ReadReferenceCondition(const JoinClause& clause, Relation& rel,
                                     v1::ReferenceJoinNode* join) {
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
      if (SidesOf(a) == 2u) std::swap(a, b);
      // The reference side of a key is one of its columns (r.field), so
      // that the table can be indexed once and shared.
      if (SidesOf(a) == 1u && b.kind_case() == v1::Expr::kColumn &&
          b.column() / kJoinSlotStride == 2) {
        *join->add_stream_keys() = std::move(a);
        join->add_reference_keys(b.column() % kJoinSlotStride);
        join->add_key_text(Render(*term));
        continue;
      }
    }
    v1::Expr e;
    if (!BindExpr(*term, scope, &e)) return false;
    rest.push_back(std::move(e));
  }
  if (!rest.empty()) AllOf(std::move(rest), join->mutable_condition());
  return true;
}

bool Planner::PlanApply(const Select& select, const JoinClause& clause, const std::string& step,
                        Relation* rel) {
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
  auto join = std::make_shared<JoinScope>();
  join->apply = true;
  join->sides.resize(2);
  Relation& from = join->sides[0].rel;
  if (!ResolveFrom(select.from, step, &from)) return false;
  if (from.alias.empty()) from.alias = from.source;
  if (SameName(from.alias, clause.apply_alias)) {
    return Fail(clause.location, absl::StrCat("the APPLY's alias '", clause.apply_alias,
                                              "' is already the name of FROM's stream"));
  }
  Relation& elements = join->sides[1].rel;
  elements.source = clause.apply_alias;
  elements.alias = clause.apply_alias;
  elements.columns = array ? std::vector<std::string>{"ArrayIndex", "ArrayValue"}
                           : std::vector<std::string>{"PropertyName", "PropertyValue"};
  elements.splice = {false, false};
  elements.key = {false, false};
  elements.IndexColumns();
  v1::Node* node = AddNode({ProjectSide(join->sides[0], step)}, step);
  join->join_node = node->id();
  v1::ApplyNode* spec = node->mutable_apply();
  spec->set_function(array ? v1::ApplyNode::FUNCTION_ARRAY_ELEMENTS
                           : v1::ApplyNode::FUNCTION_RECORD_PROPERTIES);
  spec->set_outer(clause.kind == JoinClause::Kind::kOuterApply);
  spec->set_alias(clause.apply_alias);
  spec->set_text(Render(call));
  // The element's columns always come after FROM's, in this order.
  JoinSlot(*join, 1, 0);
  JoinSlot(*join, 1, 1);
  rel->join = join;
  rel->node = node->id();
  rel->is_input = false;
  Scope scope;
  scope.rel = rel;
  scope.clause = "APPLY";
  if (!BindExpr(*call.args[0], scope, spec->mutable_arg())) return false;
  if (SidesOf(spec->arg()) & 2u) {
    return Fail(call.args[0]->location,
                absl::StrCat("the argument of ", call.path[0], " reads FROM's stream, not ",
                             clause.apply_alias));
  }
  return true;
}

bool Planner::ReadJoinCondition(const JoinClause& clause, Relation& rel, v1::JoinNode* join,
                                std::vector<v1::Expr>* side_filters) {
  int64_t low = std::numeric_limits<int64_t>::min();
  int64_t high = std::numeric_limits<int64_t>::max();
  bool bounded = false;
  std::vector<std::string> bound_text;
  std::vector<v1::Expr> rest;
  Scope scope;
  scope.rel = &rel;
  scope.clause = "ON";
  scope.allow_system_timestamp = false;
  for (const Expr* term : Conjuncts(*clause.on)) {
    bool is_bound = false;
    if (!ReadJoinBound(*term, rel, &low, &high, &is_bound)) return false;
    if (is_bound) {
      bounded = true;
      bound_text.push_back(Render(*term));
      continue;
    }
    if (term->kind == Expr::Kind::kBinary && term->op == "=" && term->args.size() == 2) {
      v1::Expr a;
      v1::Expr b;
      if (!BindExpr(*term->args[0], scope, &a) || !BindExpr(*term->args[1], scope, &b)) {
        return false;
      }
      const unsigned sa = SidesOf(a);
      const unsigned sb = SidesOf(b);
      if ((sa == 1u && sb == 2u) || (sa == 2u && sb == 1u)) {
        if (sa == 2u) std::swap(a, b);
        *join->add_left_keys() = std::move(a);
        *join->add_right_keys() = std::move(b);
        join->add_key_text(Render(*term));
        continue;
      }
    }
    v1::Expr e;
    if (!BindExpr(*term, scope, &e)) return false;
    // One side's own condition: under LEFT only the right side's (a left
    // row failing its own still comes out, unmatched).
    const unsigned sides = SidesOf(e);
    if (sides == 2u || (sides == 1u && join->kind() == v1::JoinNode::KIND_INNER)) {
      side_filters[sides == 1u ? 0 : 1].push_back(std::move(e));
      continue;
    }
    rest.push_back(std::move(e));
  }
  if (!bounded) {
    const JoinSide& l = rel.join->sides[0];
    const JoinSide& r = rel.join->sides[1];
    return Fail(
        clause.on_location,
        absl::StrCat("a JOIN of two streams needs a time bound in ON, e.g. AND "
                     "DATEDIFF(minute, ",
                     l.rel.alias, ", ", r.rel.alias, ") BETWEEN 0 AND 5; if '", r.rel.source,
                     "' is reference data, declare it so (sluice run --reference ", r.rel.source,
                     "=FILE) and it needs none"));
  }
  if (low == std::numeric_limits<int64_t>::min() || high == std::numeric_limits<int64_t>::max()) {
    return Fail(clause.on_location,
                absl::StrCat("the time bound in ON must limit both ways: add DATEDIFF(...) ",
                             low == std::numeric_limits<int64_t>::min() ? ">= <low>" : "<= <high>",
                             ", or write DATEDIFF(...) BETWEEN <low> AND <high>"));
  }
  if (low > high) {
    return Fail(clause.on_location,
                "the DATEDIFF bounds in ON leave no time at all: the lower bound is above the "
                "upper one");
  }
  join->set_min_delta_ticks(low);
  join->set_max_delta_ticks(high);
  join->set_bound_text(absl::StrJoin(bound_text, " AND "));
  if (!rest.empty()) AllOf(std::move(rest), join->mutable_condition());
  return true;
}

bool Planner::ReadJoinBound(const Expr& term, const Relation& rel, int64_t* low, int64_t* high,
                            bool* is_bound) {
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
      for (int s = 0; s < 2; ++s) {
        if (join.sides[s].rel.IsQualifier(a.path[0])) sides[i] = s;
      }
    }
    if (sides[i] < 0) {
      return Fail(a.location, absl::StrCat("DATEDIFF in a JOIN's ON compares the joined streams' "
                                           "times: name their aliases (",
                                           join.sides[0].rel.alias, ", ", join.sides[1].rel.alias,
                                           "), not '", Render(a), "'"));
    }
  }
  if (sides[0] == sides[1]) {
    return Fail(call->location, "DATEDIFF in ON must compare the two sides of the JOIN");
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
  if (sides[0] == 1) {
    const int64_t l = lo_ticks;
    lo_ticks = hi_ticks == std::numeric_limits<int64_t>::max() ? std::numeric_limits<int64_t>::min()
                                                               : -hi_ticks;
    hi_ticks = l == std::numeric_limits<int64_t>::min() ? std::numeric_limits<int64_t>::max() : -l;
  }
  *low = std::max(*low, lo_ticks);
  *high = std::min(*high, hi_ticks);
  *is_bound = true;
  return true;
}

bool Planner::BindJoinName(const Expr& e, Scope& scope, v1::Expr* out) {
  JoinScope& join = *scope.rel->join;
  int side = -1;
  if (e.path.size() > 1) {
    for (int s = 0; s < static_cast<int>(join.sides.size()); ++s) {
      if (join.sides[s].rel.IsQualifier(e.path[0])) side = s;
    }
  }
  if (side < 0) {
    if (join.apply && e.path.size() == 1 && join.sides[1].rel.IsQualifier(e.path[0])) {
      // The APPLY's alias alone is its element as a record (ASA: "a record
      // 'element_name' containing the result").
      ApplyElementRecord(join, out);
      return true;
    }
    for (const JoinSide& s : join.sides) {
      if (e.path.size() == 1 && s.rel.IsQualifier(e.path[0])) {
        return Fail(
            e.location,
            absl::StrCat("'", e.path[0],
                         "' is a joined stream, not a value: name one of its fields (", e.path[0],
                         ".field), or use DATEDIFF(unit, ", join.sides[0].rel.alias, ", ",
                         join.sides[1].rel.alias, ") as a time bound in ON"));
      }
    }
    // Under APPLY, the element's column names are the element's, and any
    // other name is FROM's.
    if (join.apply) {
      side = join.sides[1].rel.column_index.contains(Lower(e.path[0])) ? 1 : 0;
    }
  }
  if (side < 0) {
    // An unqualified name must belong to exactly one side, which only a
    // step's known columns can show.
    std::vector<int> owners;
    bool any_input = false;
    for (int s = 0; s < static_cast<int>(join.sides.size()); ++s) {
      const Relation& r = join.sides[s].rel;
      any_input = any_input || r.is_input;
      if (!r.is_input && r.column_index.contains(Lower(e.path[0]))) owners.push_back(s);
    }
    if (any_input || owners.size() != 1) {
      std::vector<std::string> options;
      for (const JoinSide& s : join.sides) {
        options.push_back(absl::StrCat(s.rel.alias, ".", e.path[0]));
      }
      return Fail(e.location, absl::StrCat("'", absl::StrJoin(e.path, "."), "' in ", scope.clause,
                                           " could come from either side of the JOIN: write ",
                                           absl::StrJoin(options, " or ")));
    }
    side = owners[0];
  }
  Scope sub = scope;
  sub.rel = &join.sides[side].rel;
  v1::Expr local;
  if (!BindName(e, sub, &local)) return false;
  ForEachSubExpr(&local, [&](v1::Expr* sub_expr) {
    if (sub_expr->kind_case() == v1::Expr::kColumn) {
      sub_expr->set_column(JoinSlot(join, side, sub_expr->column()));
    }
  });
  *out = std::move(local);
  return true;
}

void Planner::ApplyElementRecord(JoinScope& join, v1::Expr* out) {
  // NULL for OUTER APPLY's row without an element (its index or name is
  // NULL only then).
  v1::CaseExpr* choice = out->mutable_case_expr();
  v1::Call* none = choice->add_when()->mutable_call();
  none->set_function("is_null");
  none->add_args()->set_column(JoinSlot(join, 1, 0));
  choice->add_then()->mutable_literal()->set_null_value(true);
  v1::Call* record = choice->mutable_else_value()->mutable_call();
  record->set_function("$record");
  const Relation& elements = join.sides[1].rel;
  for (int32_t c = 0; c < 2; ++c) {
    record->add_args()->mutable_literal()->set_string_value(elements.columns[c]);
    record->add_args()->set_column(JoinSlot(join, 1, c));
  }
}

int32_t Planner::JoinSlot(JoinScope& join, int s, int32_t column) {
  JoinSide& side = join.sides[s];
  auto [it, inserted] = side.slot_of.try_emplace(column, static_cast<int>(side.slots.size()));
  if (inserted) {
    v1::Expr e;
    e.set_column(column);
    side.slots.push_back(std::move(e));
    const Relation& r = side.rel;
    if (column == kRecordColumnPlaceholder) {
      side.slot_names.push_back(absl::StrCat(r.alias, ".*"));
      side.slot_splice.push_back(true);
    } else if (r.is_input) {
      side.slot_names.push_back(absl::StrCat(r.alias, ".", plan_->inputs(r.input).fields(column)));
      side.slot_splice.push_back(false);
    } else {
      side.slot_names.push_back(absl::StrCat(r.alias, ".", r.columns[column]));
      side.slot_splice.push_back(r.splice[column]);
    }
  }
  return (s + 1) * kJoinSlotStride + it->second;
}

bool Planner::ExpandJoinStar(const SelectItem& item, const Relation& rel, SelectColumns* columns) {
  JoinScope& join = *rel.join;
  if (item.star_path.empty() && join.apply) {
    // FROM's fields, then the element as a record named after the alias.
    SelectItem from_star;
    from_star.kind = SelectItem::Kind::kStar;
    from_star.location = item.location;
    from_star.star_path = {join.sides[0].rel.alias};
    if (!ExpandJoinStar(from_star, rel, columns)) return false;
    v1::Expr e;
    ApplyElementRecord(join, &e);
    columns->Add(std::move(e), join.sides[1].rel.alias, false, item);
    return true;
  }
  if (item.star_path.empty()) {
    return Fail(item.location,
                absl::StrCat("SELECT * cannot be used with ", join.apply ? "APPLY" : "JOIN",
                             " (as in ASA): name the columns, or select ", join.sides[0].rel.alias,
                             ".* and ", join.sides[1].rel.alias, ".*"));
  }
  int side = -1;
  if (item.star_path.size() == 1) {
    for (int s = 0; s < static_cast<int>(join.sides.size()); ++s) {
      if (join.sides[s].rel.IsQualifier(item.star_path[0])) side = s;
    }
  }
  if (side < 0) {
    // record.* : the fields of a record value, spliced.
    Expr path_expr(Expr::Kind::kName, item.location);
    path_expr.path = item.star_path;
    Scope scope;
    scope.rel = &rel;
    scope.clause = "SELECT";
    v1::Expr e;
    if (!BindExpr(path_expr, scope, &e)) return false;
    columns->Add(std::move(e), item.star_path.back(), true, item);
    return true;
  }
  const Relation& r = join.sides[side].rel;
  if (r.is_input) {
    plan_->mutable_inputs(r.input)->set_needs_record(true);
    v1::Expr e;
    e.set_column(JoinSlot(join, side, kRecordColumnPlaceholder));
    columns->Add(std::move(e), "*", true, item);
    return true;
  }
  for (size_t c = 0; c < r.columns.size(); ++c) {
    v1::Expr e;
    e.set_column(JoinSlot(join, side, static_cast<int32_t>(c)));
    columns->Add(std::move(e), r.columns[c], r.splice[c], item);
  }
  return true;
}

void Planner::FinishJoin(const JoinScope& join) {
  std::vector<int32_t> offset;
  int32_t width = 0;
  v1::Node* node = plan_->mutable_nodes(join.join_node);
  node->mutable_schema()->Clear();
  for (const JoinSide& side : join.sides) {
    offset.push_back(width);
    v1::Node* project = side.project_node >= 0 ? plan_->mutable_nodes(side.project_node) : nullptr;
    for (size_t j = 0; j < side.slots.size(); ++j) {
      if (project != nullptr) *project->mutable_project()->add_exprs() = side.slots[j];
      for (v1::Schema* schema :
           {project ? project->mutable_schema() : nullptr, node->mutable_schema()}) {
        if (schema == nullptr) continue;
        v1::Column* c = schema->add_columns();
        c->set_name(side.slot_names[j]);
        c->set_splice(side.slot_splice[j]);
      }
    }
    width += static_cast<int32_t>(side.slots.size());
  }
  auto renumber = [&](bool local) {
    return [&, local](v1::Expr* root) {
      ForEachSubExpr(root, [&](v1::Expr* e) {
        if (e->kind_case() != v1::Expr::kColumn || e->column() < kJoinSlotStride ||
            e->column() == kRecordColumnPlaceholder) {
          return;
        }
        const int32_t s = e->column() / kJoinSlotStride - 1;
        const int32_t slot = e->column() % kJoinSlotStride;
        e->set_column(local ? slot : offset[s] + slot);
      });
    };
  };
  for (const JoinSide& side : join.sides) {
    if (side.filter_node < 0) continue;
    v1::Node* filter = plan_->mutable_nodes(side.filter_node);
    renumber(true)(filter->mutable_filter()->mutable_predicate());
    *filter->mutable_schema() = plan_->nodes(side.project_node).schema();
  }
  if (node->has_apply()) {
    renumber(true)(node->mutable_apply()->mutable_arg());
  } else if (node->has_reference_join()) {
    v1::ReferenceJoinNode* spec = node->mutable_reference_join();
    for (v1::Expr& e : *spec->mutable_stream_keys()) renumber(true)(&e);
    if (spec->has_condition()) renumber(false)(spec->mutable_condition());
    for (const v1::Expr& e : join.sides[1].slots) spec->add_reference_columns(e.column());
  } else {
    v1::JoinNode* spec = node->mutable_join();
    for (v1::Expr& e : *spec->mutable_left_keys()) renumber(true)(&e);
    for (v1::Expr& e : *spec->mutable_right_keys()) renumber(true)(&e);
    if (spec->has_condition()) renumber(false)(spec->mutable_condition());
  }
  for (int n = join.join_node + 1; n < plan_->nodes_size(); ++n) {
    v1::Node* later = plan_->mutable_nodes(n);
    ForEachExpr(later, renumber(false));
    // Filters pass their input's columns: they copied the join's schema
    // before it was laid out.
    if (later->has_filter()) *later->mutable_schema() = plan_->nodes(later->inputs(0)).schema();
  }
}

}  // namespace sluice::sql::planner_internal

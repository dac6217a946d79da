// Binding expressions: resolves names against the relation (input fields,
// step columns, spliced records) or HAVING's SELECT aliases, and lowers
// literals, operators, predicates, CASE, CAST and scalar function calls to
// plan expressions. Aggregate calls go to planner_aggregates.cc.
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "sql/function_catalog.h"
#include "sql/limits.h"
#include "sql/planner_internal.h"

namespace sluice::sql::planner_internal {

bool Planner::BindExpr(const Expr& e, Scope& scope, v1::Expr* out) {
  if (++bound_exprs_ > kMaxPlanExpressions) {
    return Fail(
        e.location,
        absl::StrCat("the query expands to too many expressions (limit ", kMaxPlanExpressions,
                     "): HAVING repeats the expression of every SELECT alias it names, "
                     "a simple CASE its operand for every WHEN"));
  }
  // The parser bounds nesting; a HAVING alias adds the depth of the
  // expression it stands for.
  if (bind_depth_ >= kMaxExpressionDepth) {
    return Fail(e.location, absl::StrCat("expression is nested too deeply once HAVING aliases "
                                         "are expanded (limit ",
                                         kMaxExpressionDepth, ")"));
  }
  ++bind_depth_;
  const bool ok = BindExprNode(e, scope, out);
  --bind_depth_;
  return ok;
}

bool Planner::BindAlias(const Expr& e, Scope& scope, v1::Expr* out, bool* found) {
  *found = false;
  if (scope.aliases == nullptr || e.path.size() != 1) return true;
  auto it = scope.aliases->find(Lower(e.path[0]));
  if (it == scope.aliases->end()) return true;
  for (size_t i : it->second) {
    if (scope.alias_busy[i]) continue;
    // HAVING may name a SELECT alias (ASA's own examples do, e.g. HAVING
    // [Count] >= 3); see tests/sql/grouping/having_alias.test.
    *found = true;
    scope.alias_busy[i] = true;
    const bool ok = BindExpr(*(*scope.select_items)[i].expr, scope, out);
    scope.alias_busy[i] = false;
    return ok;
  }
  return true;
}

bool Planner::BindExprNode(const Expr& e, Scope& scope, v1::Expr* out) {
  out->mutable_span()->set_line(e.location.line);
  out->mutable_span()->set_column(e.location.column);
  if (scope.mode == Scope::Mode::kGrouped && !scope.in_aggregate && e.kind != Expr::Kind::kNull &&
      e.kind != Expr::Kind::kInteger && e.kind != Expr::Kind::kFloat &&
      e.kind != Expr::Kind::kString) {
    auto key = scope.key_canon.find(Canonical(e, scope.rel));
    if (key != scope.key_canon.end()) {
      out->set_column(key->second);
      return true;
    }
  }
  switch (e.kind) {
    case Expr::Kind::kNull:
      out->mutable_literal()->set_null_value(true);
      return true;
    case Expr::Kind::kInteger:
      out->mutable_literal()->set_bigint_value(e.int_value);
      return true;
    case Expr::Kind::kFloat:
      out->mutable_literal()->set_float_value(e.float_value);
      return true;
    case Expr::Kind::kString:
      out->mutable_literal()->set_string_value(e.string_value);
      return true;
    case Expr::Kind::kName:
      return BindNameNode(e, scope, out);
    case Expr::Kind::kCall:
      return BindCall(e, scope, out);
    case Expr::Kind::kUnary: {
      v1::Call* call = out->mutable_call();
      call->set_function(e.op == "-" ? "neg" : e.op);
      if (e.op == "+") {
        out->clear_call();
        return BindExpr(*e.args[0], scope, out);
      }
      return BindExpr(*e.args[0], scope, call->add_args());
    }
    case Expr::Kind::kBinary: {
      // Two arguments, or any number for an AND or OR chain.
      v1::Call* call = out->mutable_call();
      call->set_function(e.op);
      for (const ExprPtr& a : e.args) {
        if (!BindExpr(*a, scope, call->add_args())) return false;
      }
      return true;
    }
    case Expr::Kind::kBetween:
    case Expr::Kind::kIn:
    case Expr::Kind::kLike:
    case Expr::Kind::kIsNull: {
      v1::Call* call = out->mutable_call();
      std::string name = e.kind == Expr::Kind::kBetween ? "between"
                         : e.kind == Expr::Kind::kIn    ? "in"
                         : e.kind == Expr::Kind::kLike  ? "like"
                                                        : "is_null";
      if (e.negated) name = e.kind == Expr::Kind::kIsNull ? "is_not_null" : "not_" + name;
      call->set_function(name);
      for (const ExprPtr& a : e.args) {
        if (!BindExpr(*a, scope, call->add_args())) return false;
      }
      return true;
    }
    case Expr::Kind::kCase:
      return BindCase(e, scope, out);
    case Expr::Kind::kCast:
      return BindCast(e, scope, out);
  }
  return Fail(e.location, "unsupported expression");
}

bool Planner::BindNameNode(const Expr& e, Scope& scope, v1::Expr* out) {
  if (scope.mode == Scope::Mode::kGrouped && !scope.in_aggregate) {
    if (IsSystemTimestampPath(e.path)) {
      out->mutable_system_timestamp();
      return true;
    }
    bool found = false;
    const bool ok = BindAlias(e, scope, out, &found);
    if (found || !ok) return ok;
    return Fail(e.location,
                absl::StrCat("'", absl::StrJoin(e.path, "."), "' in ", scope.clause,
                             " must be a GROUP BY key or inside an aggregate function"));
  }
  // HAVING without GROUP BY: a SELECT alias first, then a field.
  bool found = false;
  const bool ok = BindAlias(e, scope, out, &found);
  if (found || !ok) return ok;
  return BindName(e, scope, out);
}

bool Planner::BindCase(const Expr& e, Scope& scope, v1::Expr* out) {
  v1::CaseExpr* c = out->mutable_case_expr();
  size_t i = 0;
  const Expr* operand = nullptr;
  if (e.has_operand) operand = e.args[i++].get();
  const size_t pairs_end = e.args.size() - (e.has_else ? 1 : 0);
  for (; i < pairs_end; i += 2) {
    v1::Expr* when = c->add_when();
    if (operand != nullptr) {
      // Simple CASE: x WHEN v  ==>  x = v
      when->mutable_call()->set_function("=");
      if (!BindExpr(*operand, scope, when->mutable_call()->add_args()) ||
          !BindExpr(*e.args[i], scope, when->mutable_call()->add_args())) {
        return false;
      }
    } else if (!BindExpr(*e.args[i], scope, when)) {
      return false;
    }
    if (!BindExpr(*e.args[i + 1], scope, c->add_then())) return false;
  }
  if (e.has_else && !BindExpr(*e.args.back(), scope, c->mutable_else_value())) {
    return false;
  }
  return true;
}

bool Planner::BindCast(const Expr& e, Scope& scope, v1::Expr* out) {
  static const auto* kTypes = new absl::flat_hash_map<std::string, v1::ValueType>{
      {"bigint", v1::VALUE_TYPE_BIGINT},
      {"float", v1::VALUE_TYPE_FLOAT},
      {"nvarchar(max)", v1::VALUE_TYPE_NVARCHAR},
      {"datetime", v1::VALUE_TYPE_DATETIME},
      {"bit", v1::VALUE_TYPE_BIT},
      {"record", v1::VALUE_TYPE_RECORD},
      {"array", v1::VALUE_TYPE_ARRAY}};
  auto it = kTypes->find(e.type_name);
  if (it == kTypes->end()) {
    return Fail(e.type_location, absl::StrCat("unknown type '", e.type_name,
                                              "': use bigint, float, nvarchar(max), datetime, bit, "
                                              "record or array"));
  }
  v1::CastExpr* cast = out->mutable_cast();
  cast->set_type(it->second);
  cast->set_try_cast(e.try_cast);
  return BindExpr(*e.args[0], scope, cast->mutable_arg());
}

bool Planner::BindName(const Expr& e, Scope& scope, v1::Expr* out) {
  const Relation& rel = *scope.rel;
  if (IsSystemTimestampPath(e.path)) {
    if (!scope.allow_system_timestamp) {
      return Fail(e.location, absl::StrCat("System.Timestamp() cannot be used in ", scope.clause));
    }
    out->mutable_system_timestamp();
    return true;
  }
  if (rel.join) return BindJoinName(e, scope, out);
  size_t start = 0;
  if (e.path.size() > 1 && rel.IsQualifier(e.path[0])) start = 1;
  const std::string& first = e.path[start];
  v1::Expr base;
  if (rel.is_input) {
    const int column = FieldColumn(rel.input, first);
    if (column < 0) {
      return Fail(e.location, absl::StrCat("the query reads too many fields of input '", rel.source,
                                           "' (limit ", kMaxInputFields, ")"));
    }
    base.set_column(column);
  } else {
    auto found = rel.column_index.find(Lower(first));
    if (found != rel.column_index.end()) {
      base.set_column(found->second);
    } else {
      std::vector<int> splices;
      for (size_t c = 0; c < rel.columns.size(); ++c) {
        if (rel.splice[c]) splices.push_back(static_cast<int>(c));
      }
      if (splices.empty()) {
        std::vector<std::string> known;
        for (size_t c = 0; c < rel.columns.size(); ++c) known.push_back(rel.columns[c]);
        return Fail(e.location,
                    absl::StrCat("column '", first, "' is not produced by '", rel.source,
                                 "' (it has: ", absl::StrJoin(known, ", "), ")"));
      }
      // Look the name up in the spliced record(s) at run time.
      std::vector<v1::Expr> lookups;
      for (int c : splices) {
        v1::Expr lookup;
        lookup.mutable_field()->mutable_record()->set_column(c);
        lookup.mutable_field()->set_name(first);
        lookups.push_back(std::move(lookup));
      }
      if (lookups.size() == 1) {
        base = std::move(lookups[0]);
      } else {
        base.mutable_call()->set_function("coalesce");
        for (auto& l : lookups) *base.mutable_call()->add_args() = std::move(l);
      }
    }
  }
  for (size_t i = start + 1; i < e.path.size(); ++i) {
    v1::Expr lookup;
    *lookup.mutable_field()->mutable_record() = std::move(base);
    lookup.mutable_field()->set_name(e.path[i]);
    base = std::move(lookup);
  }
  *out = std::move(base);
  out->mutable_span()->set_line(e.location.line);
  out->mutable_span()->set_column(e.location.column);
  return true;
}

bool Planner::BindCall(const Expr& e, Scope& scope, v1::Expr* out) {
  if (IsSystemTimestampPath(e.path)) {
    if (!e.args.empty() || e.star_arg) {
      return Fail(e.location, "System.Timestamp() takes no arguments");
    }
    if (!scope.allow_system_timestamp) {
      return Fail(e.location, absl::StrCat("System.Timestamp() cannot be used in ", scope.clause));
    }
    out->mutable_system_timestamp();
    return true;
  }
  if (e.path.size() == 1 && e.path[0] == "$field") {
    v1::FieldLookup* lookup = out->mutable_field();
    lookup->set_name(e.args[1]->string_value);
    return BindExpr(*e.args[0], scope, lookup->mutable_record());
  }
  const std::string written = absl::StrJoin(e.path, ".");
  if (e.path.size() > 1) {
    if (SameName(e.path[0], "udf")) return BindUserFunction(e, scope, out);
    if (SameName(e.path[0], "uda")) {
      return Fail(e.location,
                  absl::StrCat("user-defined aggregates are not supported yet: ", written));
    }
    return Fail(e.location, absl::StrCat("unknown function '", written, "'"));
  }
  if (SameName(e.path[0], "GetArrayElements") || SameName(e.path[0], "GetRecordProperties")) {
    return Fail(e.location, absl::StrCat(written, " returns rows: use it as FROM s CROSS APPLY ",
                                         written, "(s.field) AS e, then e's columns"));
  }
  const FunctionInfo* info = FindFunction(e.path[0]);
  if (info == nullptr) {
    return Fail(e.location, absl::StrCat("unknown function '", written, "'"));
  }
  const std::string upper = absl::AsciiStrToUpper(written);
  switch (info->kind) {
    case FunctionKind::kUnsupported:
      return Fail(e.location, absl::StrCat(upper, " is not supported yet"));
    case FunctionKind::kAnalytic:
      return BindAnalyticCall(e, scope, out);
    case FunctionKind::kWindow:
      return Fail(e.location, absl::StrCat(written, " can only be used in GROUP BY"));
    case FunctionKind::kWindowPart:
      return Fail(e.location, absl::StrCat(written, " can only be used inside a window function"));
    case FunctionKind::kAggregate:
      return BindAggregate(e, scope, out);
    case FunctionKind::kScalar:
      break;
  }
  if (e.star_arg || e.distinct) {
    return Fail(e.location, absl::StrCat(upper, " does not take ", e.star_arg ? "*" : "DISTINCT"));
  }
  if (e.has_over) {
    return Fail(e.location, absl::StrCat(upper, " does not take OVER"));
  }
  const int n = static_cast<int>(e.args.size());
  if (n < info->min_args || (info->max_args >= 0 && n > info->max_args)) {
    std::string expected =
        info->min_args == info->max_args
            ? absl::StrCat(info->min_args)
            : (info->max_args < 0 ? absl::StrCat("at least ", info->min_args)
                                  : absl::StrCat(info->min_args, " to ", info->max_args));
    return Fail(e.location, absl::StrCat(upper, " takes ", expected, " argument",
                                         expected == "1" ? "" : "s", ", got ", n));
  }
  v1::Call* call = out->mutable_call();
  call->set_function(std::string(info->name));
  size_t first = 0;
  if (info->datepart_first) {
    const Expr& part = *e.args[0];
    std::string written_part;
    if (part.kind == Expr::Kind::kName && part.path.size() == 1) {
      written_part = part.path[0];
    } else if (part.kind == Expr::Kind::kString) {
      written_part = part.string_value;
    }
    std::string_view canonical = CanonicalDatepart(written_part);
    if (canonical.empty()) {
      return Fail(part.location,
                  absl::StrCat("expected a datepart (year, quarter, month, dayofyear, day, "
                               "week, weekday, hour, minute, second, millisecond, "
                               "microsecond, nanosecond) but found '",
                               written_part.empty() ? Render(part) : written_part, "'"));
    }
    call->add_args()->mutable_literal()->set_string_value(std::string(canonical));
    first = 1;
  }
  for (size_t i = first; i < e.args.size(); ++i) {
    if (!BindExpr(*e.args[i], scope, call->add_args())) return false;
  }
  return true;
}

}  // namespace sluice::sql::planner_internal

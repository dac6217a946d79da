// The planner's text forms of an expression: Render, as explain and plan
// labels show it, and Canonical, the case-insensitive form that matches a
// SELECT expression with a GROUP BY key or an aggregate seen before; and the
// case-insensitive name helpers Lower and SameName.
#include <charconv>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "sql/ast.h"
#include "sql/planner_internal.h"

namespace sluice::sql::planner_internal {
namespace {

std::string FormatNumber(double d) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), d);
  (void)ec;
  return std::string(buf, end - buf);
}

}  // namespace

std::string Lower(std::string_view s) {
  return absl::AsciiStrToLower(absl::string_view(s.data(), s.size()));
}

bool SameName(std::string_view a, std::string_view b) {
  return a.size() == b.size() && Lower(a) == Lower(b);
}

// A readable rendering of an expression, for explain and plan labels.
std::string Render(const Expr& e) {
  switch (e.kind) {
    case Expr::Kind::kNull:
      return "NULL";
    case Expr::Kind::kInteger:
      return absl::StrCat(e.int_value);
    case Expr::Kind::kFloat:
      return FormatNumber(e.float_value);
    case Expr::Kind::kString:
      return absl::StrCat("'", e.string_value, "'");
    case Expr::Kind::kName:
      return absl::StrJoin(e.path, ".");
    case Expr::Kind::kCall: {
      if (e.path.size() == 1 && e.path[0] == "$field") {
        return absl::StrCat(Render(*e.args[0]), ".", e.args[1]->string_value);
      }
      std::string s = absl::StrCat(absl::StrJoin(e.path, "."), "(");
      if (e.distinct) s += "DISTINCT ";
      if (e.star_arg) s += "*";
      for (size_t i = 0; i < e.args.size(); ++i) {
        if (i > 0) s += ", ";
        s += Render(*e.args[i]);
      }
      s += ")";
      if (e.has_over && !e.over_order.empty()) {
        s += " OVER (ORDER BY ";
        for (size_t i = 0; i < e.over_order.size(); ++i) {
          if (i > 0) s += ", ";
          s += Render(*e.over_order[i]);
          if (e.over_descending[i]) s += " DESC";
        }
        s += ")";
      } else if (e.has_over) {
        std::vector<std::string> parts;
        if (!e.over_partition.empty()) {
          std::vector<std::string> keys;
          for (const ExprPtr& p : e.over_partition) keys.push_back(Render(*p));
          parts.push_back(absl::StrCat("PARTITION BY ", absl::StrJoin(keys, ", ")));
        }
        if (e.limit_unit) {
          parts.push_back(absl::StrCat("LIMIT DURATION(", Render(*e.limit_unit), ", ",
                                       Render(*e.limit_length), ")"));
        }
        if (e.over_when) parts.push_back(absl::StrCat("WHEN ", Render(*e.over_when)));
        s += absl::StrCat(" OVER (", absl::StrJoin(parts, " "), ")");
      }
      return s;
    }
    case Expr::Kind::kUnary:
      return e.op == "not" ? absl::StrCat("NOT ", Render(*e.args[0]))
                           : absl::StrCat(e.op, Render(*e.args[0]));
    case Expr::Kind::kBinary: {
      const std::string op =
          absl::StrCat(" ", e.op == "and" ? "AND" : (e.op == "or" ? "OR" : e.op), " ");
      std::string s;
      for (size_t i = 0; i < e.args.size(); ++i) {
        if (i > 0) s += op;
        s += Render(*e.args[i]);
      }
      return s;
    }
    case Expr::Kind::kBetween:
      return absl::StrCat(Render(*e.args[0]), e.negated ? " NOT" : "", " BETWEEN ",
                          Render(*e.args[1]), " AND ", Render(*e.args[2]));
    case Expr::Kind::kIn: {
      std::string s = absl::StrCat(Render(*e.args[0]), e.negated ? " NOT" : "", " IN (");
      for (size_t i = 1; i < e.args.size(); ++i) {
        if (i > 1) s += ", ";
        s += Render(*e.args[i]);
      }
      return s + ")";
    }
    case Expr::Kind::kLike:
      return absl::StrCat(Render(*e.args[0]), e.negated ? " NOT" : "", " LIKE ",
                          Render(*e.args[1]));
    case Expr::Kind::kIsNull:
      return absl::StrCat(Render(*e.args[0]), " IS ", e.negated ? "NOT " : "", "NULL");
    case Expr::Kind::kCase:
      return "CASE ... END";
    case Expr::Kind::kCast:
      return absl::StrCat(e.try_cast ? "TRY_CAST(" : "CAST(", Render(*e.args[0]), " AS ",
                          e.type_name, ")");
  }
  return "?";
}

bool IsSystemTimestampPath(const std::vector<std::string>& path) {
  return path.size() == 2 && SameName(path[0], "system") && SameName(path[1], "timestamp");
}

std::string Planner::Canonical(const Expr& e, const Relation* rel) const {
  switch (e.kind) {
    case Expr::Kind::kNull:
      return "null";
    case Expr::Kind::kInteger:
      return absl::StrCat("i", e.int_value);
    case Expr::Kind::kFloat:
      return absl::StrCat("f", FormatNumber(e.float_value));
    case Expr::Kind::kString:
      return absl::StrCat("s'", e.string_value, "'");
    case Expr::Kind::kName: {
      size_t start = 0;
      if (rel != nullptr && e.path.size() > 1 && rel->IsQualifier(e.path[0])) start = 1;
      std::string s = "n";
      for (size_t i = start; i < e.path.size(); ++i) {
        s += ".";
        s += Lower(e.path[i]);
      }
      if (IsSystemTimestampPath(e.path)) return "system.timestamp()";
      return s;
    }
    case Expr::Kind::kCall: {
      if (IsSystemTimestampPath(e.path)) return "system.timestamp()";
      std::vector<std::string> parts;
      for (const std::string& p : e.path) parts.push_back(Lower(p));
      std::string s = absl::StrCat(absl::StrJoin(parts, "."), "(");
      if (e.distinct) s += "distinct ";
      if (e.star_arg) s += "*";
      for (const ExprPtr& a : e.args) s += Canonical(*a, rel) + ",";
      s += ")";
      for (const ExprPtr& p : e.over_partition) s += Canonical(*p, rel) + ";";
      for (size_t i = 0; i < e.over_order.size(); ++i) {
        s += Canonical(*e.over_order[i], rel) + (e.over_descending[i] ? " desc|" : " asc|");
      }
      if (e.limit_unit) {
        s += "limit(" + Canonical(*e.limit_unit, rel) + "," + Canonical(*e.limit_length, rel) + ")";
      }
      if (e.over_when) s += "when(" + Canonical(*e.over_when, rel) + ")";
      return s;
    }
    default: {
      std::string s =
          absl::StrCat("k", static_cast<int>(e.kind), e.op, e.negated ? "!" : "", e.type_name,
                       e.try_cast ? "?" : "", e.has_operand ? "o" : "", e.has_else ? "e" : "", "(");
      for (const ExprPtr& a : e.args) s += Canonical(*a, rel) + ",";
      return s + ")";
    }
  }
}

}  // namespace sluice::sql::planner_internal

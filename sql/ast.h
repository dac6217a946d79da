// The syntax tree of an ASA-dialect query, with source positions.
//
// The parser builds it; the binder resolves names and lowers it to the plan.
// Nothing here is resolved: a name is just the dotted path as written.
#ifndef SLUICE_SQL_AST_H_
#define SLUICE_SQL_AST_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sql/query_error.h"

namespace sluice::sql {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    kNull,
    kInteger,
    kFloat,
    kString,
    kName,     // path: a, a.b, input.a.b, [x] (System.Timestamp without ())
    kCall,     // name (possibly dotted: System.Timestamp, UDF.x) + args
    kUnary,    // op: "-", "+", "~", "not"
    kBinary,   // op: arithmetic, comparison, bitwise (two args); "and", "or"
               // (two or more: a flat chain is one node)
    kBetween,  // args: value, low, high; negated
    kIn,       // args: value, list...; negated
    kLike,     // args: value, pattern; negated
    kIsNull,   // args: value; negated
    kCase,     // args: [operand] when/then pairs [else]
    kCast,     // args: value; type_name; try_cast
  };

  Kind kind;
  SourceLocation location;
  // Levels from this node to its deepest leaf, 1 for a leaf, as the parser
  // counts them against kMaxExpressionDepth (sql/limits.h): parentheses
  // count, and a dotted name counts one level per part.
  int height = 1;
  std::string op;                 // operator for unary/binary
  std::vector<std::string> path;  // kName parts; kCall function name parts
  int64_t int_value = 0;
  double float_value = 0;
  std::string string_value;  // kString
  std::vector<ExprPtr> args;
  bool negated = false;
  // kCall
  bool distinct = false;                // COUNT(DISTINCT x)
  bool star_arg = false;                // COUNT(*)
  std::vector<ExprPtr> over_partition;  // SessionWindow(...) OVER (PARTITION BY ...)
  bool has_over = false;
  // TopOne() OVER (ORDER BY a [ASC|DESC], ...)
  std::vector<ExprPtr> over_order;
  std::vector<bool> over_descending;
  // kCase
  bool has_operand = false;
  bool has_else = false;
  // kCall: an analytic OVER (... LIMIT DURATION ...) clause was written
  bool analytic_over = false;
  // OVER ([PARTITION BY ...] LIMIT DURATION(unit, length) [WHEN cond]):
  // `limit_unit` and `limit_length` as written (null without LIMIT
  // DURATION), `over_when` (null without WHEN).
  ExprPtr limit_unit;
  ExprPtr limit_length;
  SourceLocation limit_location;
  ExprPtr over_when;
  // kCast
  std::string type_name;
  SourceLocation type_location;
  bool try_cast = false;

  Expr(Kind k, SourceLocation loc) : kind(k), location(loc) {}
};

struct SelectItem {
  enum class Kind { kExpr, kStar };
  Kind kind = Kind::kExpr;
  ExprPtr expr;                        // kExpr
  std::vector<std::string> star_path;  // kStar: qualifier/record path before .*
  std::string alias;                   // empty if none
  SourceLocation location;
};

struct FromClause {
  std::string source;  // input or step name
  std::string alias;   // empty if none
  SourceLocation location;
  ExprPtr timestamp_by;
  SourceLocation timestamp_by_location;
  std::vector<ExprPtr> timestamp_over;  // TIMESTAMP BY ... OVER k
  std::vector<ExprPtr> partition_by;    // PARTITION BY k
};

// `[INNER | LEFT [OUTER]] JOIN <from> ON <condition>` after the first FROM
// item, or `CROSS | OUTER APPLY <function call> AS alias`.
struct JoinClause {
  enum class Kind { kInner, kLeft, kCrossApply, kOuterApply };
  Kind kind = Kind::kInner;
  SourceLocation location;     // of the first keyword
  FromClause right;            // joins: the joined input or step
  ExprPtr on;                  // joins
  SourceLocation on_location;  // of ON
  ExprPtr apply;               // APPLY: the function call
  std::string apply_alias;     // APPLY
};

struct Select {
  SourceLocation location;  // of SELECT
  std::vector<SelectItem> items;
  std::string into;
  SourceLocation into_location;          // of the output name
  SourceLocation into_keyword_location;  // of INTO
  FromClause from;
  std::vector<JoinClause> joins;
  ExprPtr where;
  std::vector<ExprPtr> group_by;
  SourceLocation group_by_location;
  bool has_group_by = false;
  ExprPtr having;
};

// A SELECT, or several joined by UNION.
struct Query {
  std::vector<std::unique_ptr<Select>> parts;
};

struct Step {
  std::string name;
  SourceLocation location;
  Query query;
};

struct Script {
  std::vector<Step> steps;
  std::vector<Query> statements;
};

}  // namespace sluice::sql

#endif  // SLUICE_SQL_AST_H_

// Recursive-descent parser for the ASA query dialect.
//
//   script    := [WITH step {, step}] query {[;] query} [;]
//   step      := name AS ( query )
//   query     := select {UNION select}
//   select    := SELECT items [INTO name] FROM source [[AS] alias]
//                [TIMESTAMP BY expr [OVER expr {, expr}]] [PARTITION BY expr]
//                [WHERE expr] [GROUP BY expr {, expr}] [HAVING expr]
//
// Expressions follow T-SQL precedence: unary (- + ~), (* / %),
// (+ - & | ^), comparisons and predicates (LIKE, BETWEEN, IN, IS NULL), NOT,
// AND, OR. A chain of AND (or of OR) is one node with every term as an
// argument. Expressions nest at most kMaxExpressionDepth levels and a query
// has at most kMaxSelects SELECTs, kMaxSelectColumns columns in each and
// kMaxGroupByItems GROUP BY items (sql/limits.h), so the parser's recursion
// and everything after it stay bounded. The first error stops parsing and
// points at its token.
#ifndef SLUICE_SQL_PARSER_H_
#define SLUICE_SQL_PARSER_H_

#include <string_view>

#include "sql/ast.h"
#include "sql/query_error.h"

namespace sluice::sql {

bool ParseScript(std::string_view text, Script* script, QueryError* error);

}  // namespace sluice::sql

#endif  // SLUICE_SQL_PARSER_H_

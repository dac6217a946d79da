#include "sql/parser.h"

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "sql/lexer.h"
#include "sql/limits.h"
#include "sql/parser_internal.h"

namespace sluice::sql {
namespace parser_internal {

bool EqualsUpper(const std::string& text, std::string_view upper) {
  if (text.size() != upper.size()) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    if (absl::ascii_toupper(static_cast<unsigned char>(text[i])) != upper[i]) return false;
  }
  return true;
}

bool Parser::ParseScript(Script* script) {
  if (AcceptKeyword("WITH")) {
    do {
      Step step;
      if (!ParseStep(&step)) return false;
      script->steps.push_back(std::move(step));
    } while (AcceptSymbol(","));
  }
  while (AcceptSymbol(";")) {
  }
  if (Peek().kind == TokenKind::kEnd) {
    return Fail(Peek(), script->steps.empty() ? "the query is empty: expected SELECT"
                                              : "expected a SELECT statement after the WITH steps");
  }
  while (Peek().kind != TokenKind::kEnd) {
    if (!AtKeyword("SELECT")) {
      if (AtKeyword("WITH")) {
        return Fail(Peek(), "WITH must come first, before every SELECT statement");
      }
      return Fail(Peek(), absl::StrCat("expected SELECT but found ", Describe(Peek())));
    }
    Query query;
    if (!ParseQuery(&query)) return false;
    script->statements.push_back(std::move(query));
    while (AcceptSymbol(";")) {
    }
  }
  return !failed_;
}

bool Parser::ParseStep(Step* step) {
  if (!ExpectName("a step name", &step->name, &step->location)) return false;
  if (!ExpectKeyword("AS")) return false;
  if (!ExpectSymbol("(")) return false;
  if (!AtKeyword("SELECT")) return FailExpected("SELECT");
  if (!ParseQuery(&step->query)) return false;
  return ExpectSymbol(")");
}

bool Parser::ParseQuery(Query* query) {
  do {
    bool parenthesized = false;
    if (AtSymbol("(") && AtKeyword("SELECT", 1)) {
      Next();
      parenthesized = true;
    }
    auto select = ParseSelect();
    if (!select) return false;
    query->parts.push_back(std::move(select));
    if (parenthesized && !ExpectSymbol(")")) return false;
  } while (AcceptKeyword("UNION"));
  return true;
}

std::unique_ptr<Select> Parser::ParseSelect() {
  auto select = std::make_unique<Select>();
  select->location = Peek().location;
  if (AtKeyword("SELECT") && ++selects_ > kMaxSelects) {
    Fail(Peek(), absl::StrCat("too many SELECT clauses (limit ", kMaxSelects,
                              ", counting WITH steps, statements and UNION parts)"));
    return nullptr;
  }
  if (!ExpectKeyword("SELECT")) return nullptr;
  if (AtKeyword("DISTINCT")) {
    Fail(Peek(), "SELECT DISTINCT is not supported; use GROUP BY with a window");
    return nullptr;
  }
  AcceptKeyword("ALL");
  do {
    if (select->items.size() == static_cast<size_t>(kMaxSelectColumns)) {
      Fail(Peek(), absl::StrCat("too many columns in one SELECT (limit ", kMaxSelectColumns, ")"));
      return nullptr;
    }
    SelectItem item;
    if (!ParseSelectItem(&item)) return nullptr;
    select->items.push_back(std::move(item));
  } while (AcceptSymbol(","));
  select->into_keyword_location = Peek().location;
  if (AcceptKeyword("INTO")) {
    if (Peek().kind == TokenKind::kInteger) {
      Fail(Peek(), "INTO <shard count> is not supported");
      return nullptr;
    }
    if (!ExpectName("an output name after INTO", &select->into, &select->into_location)) {
      return nullptr;
    }
  }
  if (!AtKeyword("FROM")) {
    FailExpected("FROM (every SELECT needs a FROM clause)");
    return nullptr;
  }
  Next();
  if (!ParseFrom(&select->from)) return nullptr;
  if ((AtWord("RIGHT") || AtWord("FULL")) && (AtKeyword("JOIN", 1) || AtKeyword("OUTER", 1))) {
    Fail(Peek(),
         "only INNER and LEFT [OUTER] joins exist (as in ASA): put the stream whose rows "
         "must all appear on the left");
    return nullptr;
  }
  while (AtKeyword("JOIN") || AtKeyword("INNER") || AtKeyword("LEFT") || AtKeyword("CROSS") ||
         AtKeyword("OUTER")) {
    if (select->joins.size() == static_cast<size_t>(kMaxJoins)) {
      Fail(Peek(),
           absl::StrCat("too many JOIN and APPLY clauses in one SELECT (limit ", kMaxJoins, ")"));
      return nullptr;
    }
    JoinClause join;
    if (!ParseJoin(&join)) return nullptr;
    select->joins.push_back(std::move(join));
  }
  if (AcceptKeyword("WHERE")) {
    select->where = ParseExpr();
    if (!select->where) return nullptr;
  }
  if (AtKeyword("GROUP")) {
    select->group_by_location = Peek().location;
    Next();
    if (!ExpectKeyword("BY")) return nullptr;
    select->has_group_by = true;
    do {
      if (select->group_by.size() == static_cast<size_t>(kMaxGroupByItems)) {
        Fail(Peek(), absl::StrCat("too many GROUP BY items (limit ", kMaxGroupByItems, ")"));
        return nullptr;
      }
      ExprPtr item = ParseExpr();
      if (!item) return nullptr;
      select->group_by.push_back(std::move(item));
    } while (AcceptSymbol(","));
  }
  if (AcceptKeyword("HAVING")) {
    select->having = ParseExpr();
    if (!select->having) return nullptr;
  }
  return select;
}

bool Parser::ParseSelectItem(SelectItem* item) {
  item->location = Peek().location;
  if (AcceptSymbol("*")) {
    item->kind = SelectItem::Kind::kStar;
    return true;
  }
  // name.* or name.name.*
  {
    size_t k = 0;
    while (IsName(Peek(k)) && AtSymbol(".", k + 1)) k += 2;
    if (k > 0 && AtSymbol("*", k)) {
      item->kind = SelectItem::Kind::kStar;
      for (size_t i = 0; i < k; i += 2) item->star_path.push_back(Peek(i).text);
      for (size_t i = 0; i <= k; ++i) Next();
      return true;
    }
  }
  // alias = expr
  if (IsName(Peek()) && AtSymbol("=", 1)) {
    item->alias = Peek().text;
    Next();
    Next();
    item->expr = ParseExpr();
    return item->expr != nullptr;
  }
  item->expr = ParseExpr();
  if (!item->expr) return false;
  if (AcceptKeyword("AS")) {
    if (Peek().kind == TokenKind::kString) {
      item->alias = Next().text;  // AS 'alias' appears in ASA's docs
      return true;
    }
    return ExpectName("an alias after AS", &item->alias, nullptr);
  }
  if (IsName(Peek()) && !(AtWord("TIMESTAMP") || AtWord("PARTITION"))) {
    item->alias = Next().text;
  }
  return true;
}

bool Parser::ParseFrom(FromClause* from) {
  from->location = Peek().location;
  if (AtSymbol("(")) {
    return Fail(Peek(), "subqueries in FROM are not supported; define a WITH step");
  }
  if (!ExpectName("an input or step name after FROM", &from->source, nullptr)) return false;
  if (AtSymbol(".")) {
    return Fail(Peek(), "FROM takes a plain input or step name");
  }
  if ((AtWord("RIGHT") || AtWord("FULL")) && (AtKeyword("JOIN", 1) || AtKeyword("OUTER", 1))) {
    return Fail(Peek(),
                "only INNER and LEFT [OUTER] joins exist (as in ASA): put the stream "
                "whose rows must all appear on the left");
  }
  if (AcceptKeyword("AS")) {
    if (!ExpectName("an alias after AS", &from->alias, nullptr)) return false;
  } else if (IsName(Peek()) &&
             !((AtWord("TIMESTAMP") || AtWord("PARTITION")) && AtKeyword("BY", 1))) {
    from->alias = Next().text;
  }
  // TIMESTAMP BY and PARTITION BY, in either order.
  for (int i = 0; i < 2; ++i) {
    if (AtWord("TIMESTAMP") && AtKeyword("BY", 1)) {
      if (from->timestamp_by) return Fail(Peek(), "TIMESTAMP BY appears twice");
      from->timestamp_by_location = Peek().location;
      Next();
      Next();
      from->timestamp_by = ParseExpr();
      if (!from->timestamp_by) return false;
      if (AtWord("OVER")) {
        Next();
        if (!ParseExprList(&from->timestamp_over)) return false;
      }
    } else if (AtWord("PARTITION") && AtKeyword("BY", 1)) {
      if (!from->partition_by.empty()) return Fail(Peek(), "PARTITION BY appears twice");
      Next();
      Next();
      if (!ParseExprList(&from->partition_by)) return false;
    }
  }
  return true;
}

bool Parser::ParseJoin(JoinClause* join) {
  join->location = Peek().location;
  if (AtKeyword("CROSS") || AtKeyword("OUTER")) {
    const bool outer = AtKeyword("OUTER");
    Next();
    if (!outer && AtKeyword("JOIN")) {
      return Fail(Peek(),
                  "CROSS JOIN is not supported: a join of streams needs ON with a time "
                  "bound (DATEDIFF)");
    }
    if (!ExpectKeyword("APPLY")) return false;
    join->kind = outer ? JoinClause::Kind::kOuterApply : JoinClause::Kind::kCrossApply;
    if (!IsName(Peek()) || !AtSymbol("(", 1)) {
      return FailExpected("a function call after APPLY, e.g. GetArrayElements(e.readings)");
    }
    join->apply = ParseExpr();
    if (!join->apply) return false;
    AcceptKeyword("AS");
    return ExpectName("an alias for the APPLY's rows (AS name)", &join->apply_alias, nullptr);
  }
  if (AcceptKeyword("LEFT")) {
    join->kind = JoinClause::Kind::kLeft;
    AcceptKeyword("OUTER");
  } else {
    AcceptKeyword("INNER");
  }
  if (!ExpectKeyword("JOIN")) return false;
  if (!ParseFrom(&join->right)) return false;
  join->on_location = Peek().location;
  if (!ExpectKeyword("ON")) return false;
  join->on = ParseExpr();
  return join->on != nullptr;
}

}  // namespace parser_internal

bool ParseScript(std::string_view text, Script* script, QueryError* error) {
  std::vector<Token> tokens;
  if (!Tokenize(text, &tokens, error)) return false;
  parser_internal::Parser parser(std::move(tokens), error);
  return parser.ParseScript(script);
}

}  // namespace sluice::sql

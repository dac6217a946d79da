// The expression half of the parser: T-SQL precedence from OR down to
// literals, names, calls (with OVER), CASE and CAST, tracking each node's
// height against kMaxExpressionDepth (see the Parser class).
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "sql/ast.h"
#include "sql/lexer.h"
#include "sql/parser_internal.h"

namespace sluice::sql::parser_internal {

bool Parser::ParseExprList(std::vector<ExprPtr>* list, int* height) {
  do {
    ExprPtr e = ParseExpr();
    if (!e) return false;
    if (height != nullptr) *height = std::max(*height, e->height);
    list->push_back(std::move(e));
  } while (AcceptSymbol(","));
  return true;
}

// AND and OR chains become one node whose terms sit one level down, built
// in a loop: a long chain costs no depth.
ExprPtr Parser::ParseLogicalChain(std::string_view keyword, ExprPtr (Parser::*term)()) {
  ExprPtr first = (this->*term)();
  if (!first || !AtKeyword(keyword)) return first;
  if (!Fits(Peek(), first->height + 1)) return nullptr;
  auto chain = std::make_unique<Expr>(Expr::Kind::kBinary, Peek().location);
  chain->op = keyword == "AND" ? "and" : "or";
  chain->height = first->height + 1;
  chain->args.push_back(std::move(first));
  Nested nested(this, 1);
  while (AcceptKeyword(keyword)) {
    ExprPtr next = (this->*term)();
    if (!next) return nullptr;
    chain->height = std::max(chain->height, next->height + 1);
    chain->args.push_back(std::move(next));
  }
  return chain;
}

ExprPtr Parser::ParseOr() { return ParseLogicalChain("OR", &Parser::ParseAnd); }

ExprPtr Parser::ParseAnd() { return ParseLogicalChain("AND", &Parser::ParseNot); }

ExprPtr Parser::ParseNot() {
  if (AtKeyword("NOT")) {
    if (!Fits(Peek(), 2)) return nullptr;
    auto e = std::make_unique<Expr>(Expr::Kind::kUnary, Peek().location);
    Next();
    e->op = "not";
    ExprPtr arg;
    {
      Nested nested(this, 1);
      arg = ParseNot();
    }
    if (!arg) return nullptr;
    e->height = arg->height + 1;
    e->args.push_back(std::move(arg));
    return e;
  }
  return ParsePredicate();
}

ExprPtr Parser::ParseBinaryRight(ExprPtr left, Expr::Kind kind, SourceLocation at,
                                 ExprPtr (Parser::*right)()) {
  auto e = std::make_unique<Expr>(kind, at);
  ExprPtr r;
  {
    Nested nested(this, 1);
    r = (this->*right)();
  }
  if (!r) return nullptr;
  e->height = std::max(left->height, r->height) + 1;
  e->args.push_back(std::move(left));
  e->args.push_back(std::move(r));
  return e;
}

ExprPtr Parser::ParsePredicate() {
  ExprPtr left = ParseAdditive();
  if (!left) return nullptr;
  static constexpr std::string_view kComparisons[] = {
      "=", "<>", "!=", "<", "<=", ">", ">=", "!<", "!>"};
  for (std::string_view op : kComparisons) {
    if (AtSymbol(op)) {
      if (!Fits(Peek(), left->height + 1)) return nullptr;
      const SourceLocation at = Next().location;
      ExprPtr e =
          ParseBinaryRight(std::move(left), Expr::Kind::kBinary, at, &Parser::ParseAdditive);
      if (e) {
        e->op = op == "!=" ? "<>" : (op == "!<" ? ">=" : (op == "!>" ? "<=" : std::string(op)));
      }
      return e;
    }
  }
  const SourceLocation at = Peek().location;
  const bool negated =
      AtKeyword("NOT") && (AtKeyword("LIKE", 1) || AtKeyword("BETWEEN", 1) || AtKeyword("IN", 1));
  const bool predicate =
      negated || AtKeyword("LIKE") || AtKeyword("BETWEEN") || AtKeyword("IN") || AtKeyword("IS");
  if (!predicate) return left;
  if (!Fits(Peek(), left->height + 1)) return nullptr;
  if (negated) Next();
  Nested nested(this, 1);  // the operands below the predicate's node
  if (AcceptKeyword("LIKE")) {
    auto e = std::make_unique<Expr>(Expr::Kind::kLike, at);
    e->negated = negated;
    ExprPtr pattern = ParseAdditive();
    if (!pattern) return nullptr;
    e->height = std::max(left->height, pattern->height) + 1;
    e->args.push_back(std::move(left));
    e->args.push_back(std::move(pattern));
    return e;
  }
  if (AcceptKeyword("BETWEEN")) {
    auto e = std::make_unique<Expr>(Expr::Kind::kBetween, at);
    e->negated = negated;
    ExprPtr low = ParseAdditive();
    if (!low) return nullptr;
    if (!ExpectKeyword("AND")) return nullptr;
    ExprPtr high = ParseAdditive();
    if (!high) return nullptr;
    e->height = std::max({left->height, low->height, high->height}) + 1;
    e->args.push_back(std::move(left));
    e->args.push_back(std::move(low));
    e->args.push_back(std::move(high));
    return e;
  }
  if (AcceptKeyword("IN")) {
    auto e = std::make_unique<Expr>(Expr::Kind::kIn, at);
    e->negated = negated;
    if (!ExpectSymbol("(")) return nullptr;
    if (AtKeyword("SELECT")) {
      Fail(Peek(), "subqueries in IN are not supported");
      return nullptr;
    }
    int height = left->height;
    e->args.push_back(std::move(left));
    if (!ParseExprList(&e->args, &height)) return nullptr;
    if (!ExpectSymbol(")")) return nullptr;
    e->height = height + 1;
    return e;
  }
  if (AcceptKeyword("IS")) {
    auto e = std::make_unique<Expr>(Expr::Kind::kIsNull, at);
    e->negated = AcceptKeyword("NOT");
    if (!ExpectKeyword("NULL")) return nullptr;
    e->height = left->height + 1;
    e->args.push_back(std::move(left));
    return e;
  }
  return left;
}

ExprPtr Parser::ParseAdditive() {
  ExprPtr left = ParseMultiplicative();
  while (left &&
         (AtSymbol("+") || AtSymbol("-") || AtSymbol("&") || AtSymbol("|") || AtSymbol("^"))) {
    // Each term of the chain puts the ones before it a level deeper.
    if (!Fits(Peek(), left->height + 1)) return nullptr;
    const Token& op = Next();
    left = ParseBinaryRight(std::move(left), Expr::Kind::kBinary, op.location,
                            &Parser::ParseMultiplicative);
    if (left) left->op = op.text;
  }
  return left;
}

ExprPtr Parser::ParseMultiplicative() {
  ExprPtr left = ParseUnary();
  while (left && (AtSymbol("*") || AtSymbol("/") || AtSymbol("%"))) {
    if (!Fits(Peek(), left->height + 1)) return nullptr;
    const Token& op = Next();
    left = ParseBinaryRight(std::move(left), Expr::Kind::kBinary, op.location, &Parser::ParseUnary);
    if (left) left->op = op.text;
  }
  return left;
}

ExprPtr Parser::ParseUnary() {
  if (AtSymbol("-") || AtSymbol("+") || AtSymbol("~")) {
    const Token& t = Next();
    // Fold a minus into a numeric literal so that -9223372036854775808 and
    // negative window offsets are plain literals.
    if (t.text == "-" && (Peek().kind == TokenKind::kInteger || Peek().kind == TokenKind::kFloat)) {
      const Token& n = Next();
      auto e = std::make_unique<Expr>(
          n.kind == TokenKind::kInteger ? Expr::Kind::kInteger : Expr::Kind::kFloat, t.location);
      // -9223372036854775808 is the smallest bigint: its magnitude token
      // already holds INT64_MIN.
      e->int_value = n.bigint_min_magnitude ? INT64_MIN : -n.int_value;
      e->float_value = -n.float_value;
      return e;
    }
    if (!Fits(t, 2)) return nullptr;
    auto e = std::make_unique<Expr>(Expr::Kind::kUnary, t.location);
    e->op = t.text;
    ExprPtr arg;
    {
      Nested nested(this, 1);
      arg = ParseUnary();
    }
    if (!arg) return nullptr;
    e->height = arg->height + 1;
    e->args.push_back(std::move(arg));
    return e;
  }
  return ParsePostfix();
}

ExprPtr Parser::ParsePostfix() {
  ExprPtr e = ParsePrimary();
  // Field access on a call or parenthesized expression: f(x).field
  while (e && e->kind != Expr::Kind::kName && AtSymbol(".") && IsName(Peek(1))) {
    if (!Fits(Peek(), e->height + 1)) return nullptr;
    Next();
    const Token& name = Next();
    auto access = std::make_unique<Expr>(Expr::Kind::kCall, name.location);
    access->path = {"$field"};
    access->height = e->height + 1;
    auto literal = std::make_unique<Expr>(Expr::Kind::kString, name.location);
    literal->string_value = name.text;
    access->args.push_back(std::move(e));
    access->args.push_back(std::move(literal));
    e = std::move(access);
  }
  return e;
}

ExprPtr Parser::ParsePrimary() {
  const Token& t = Peek();
  switch (t.kind) {
    case TokenKind::kInteger: {
      if (t.bigint_min_magnitude) {
        Fail(t, absl::StrCat("integer out of the bigint range: ", t.text));
        return nullptr;
      }
      auto e = std::make_unique<Expr>(Expr::Kind::kInteger, t.location);
      e->int_value = t.int_value;
      Next();
      return e;
    }
    case TokenKind::kFloat: {
      auto e = std::make_unique<Expr>(Expr::Kind::kFloat, t.location);
      e->float_value = t.float_value;
      Next();
      return e;
    }
    case TokenKind::kString: {
      auto e = std::make_unique<Expr>(Expr::Kind::kString, t.location);
      e->string_value = t.text;
      Next();
      return e;
    }
    case TokenKind::kIdentifier:
    case TokenKind::kQuotedIdentifier:
      return ParseNameOrCall();
    case TokenKind::kSymbol:
      if (t.text == "(") {
        if (!Fits(t, 2)) return nullptr;
        Next();
        if (AtKeyword("SELECT")) {
          Fail(Peek(), "subqueries are not supported; define a WITH step");
          return nullptr;
        }
        ExprPtr e;
        {
          Nested nested(this, 1);
          e = ParseExpr();
        }
        if (!e || !ExpectSymbol(")")) return nullptr;
        ++e->height;  // parentheses count as a level
        return e;
      }
      break;
    case TokenKind::kKeyword:
      if (t.text == "NULL") {
        auto e = std::make_unique<Expr>(Expr::Kind::kNull, t.location);
        Next();
        return e;
      }
      if (t.text == "CASE") return ParseCase();
      if (t.text == "LEFT" && AtSymbol("(", 1)) return ParseNameOrCall();
      if (t.text == "CAST" || t.text == "TRY_CAST") return ParseCast();
      Fail(t, absl::StrCat("expected an expression but found the reserved word ", t.text,
                           "; write [", t.text, "] to use it as a name"));
      return nullptr;
    case TokenKind::kEnd:
      break;
  }
  FailExpected("an expression");
  return nullptr;
}

ExprPtr Parser::ParseNameOrCall() {
  const Token& first = Peek();
  const SourceLocation at = first.location;
  std::vector<std::string> path;
  path.push_back(Next().text);
  if (!Fits(first, 1)) return nullptr;
  while (AtSymbol(".") && (IsName(Peek(1)) || Peek(1).kind == TokenKind::kKeyword)) {
    // Each part of a.b.c looks a field up in the part before it.
    if (!Fits(Peek(1), static_cast<int>(path.size()) + 1)) return nullptr;
    Next();
    path.push_back(Next().text);
  }
  if (!AtSymbol("(")) {
    auto e = std::make_unique<Expr>(Expr::Kind::kName, at);
    e->height = static_cast<int>(path.size());
    e->path = std::move(path);
    return e;
  }
  Next();
  auto call = std::make_unique<Expr>(Expr::Kind::kCall, at);
  call->path = std::move(path);
  // Arguments and OVER lists sit a level below the call.
  if (!Fits(first, 2)) return nullptr;
  Nested nested(this, 1);
  int height = 0;
  if (AcceptSymbol("*")) {
    call->star_arg = true;
  } else if (!AtSymbol(")")) {
    if (AcceptKeyword("DISTINCT")) {
      call->distinct = true;
    } else {
      AcceptKeyword("ALL");
    }
    if (!ParseExprList(&call->args, &height)) return nullptr;
  }
  if (!ExpectSymbol(")")) return nullptr;
  if (AtWord("OVER")) {
    Next();
    call->has_over = true;
    if (!ExpectSymbol("(")) return nullptr;
    if (AtWord("PARTITION") && AtKeyword("BY", 1)) {
      Next();
      Next();
      if (!ParseExprList(&call->over_partition, &height)) return nullptr;
    }
    if (AtWord("ORDER") && AtKeyword("BY", 1)) {
      // TopOne() OVER ([PARTITION BY ...] ORDER BY a [ASC|DESC], ...)
      Next();
      Next();
      while (true) {
        ExprPtr e = ParseExpr();
        if (!e) return nullptr;
        height = std::max(height, e->height);
        bool descending = false;
        if (AtWord("DESC")) {
          descending = true;
          Next();
        } else if (AtWord("ASC")) {
          Next();
        }
        call->over_order.push_back(std::move(e));
        call->over_descending.push_back(descending);
        if (!AtSymbol(",")) break;
        Next();
      }
    }
    // The analytic form: OVER ([PARTITION BY ...] LIMIT DURATION(unit,
    // length) [WHEN cond]). The planner checks which functions take it.
    if (AtWord("LIMIT")) {
      call->analytic_over = true;
      call->limit_location = Peek().location;
      Next();
      if (!AtWord("DURATION")) {
        FailExpected("DURATION after LIMIT");
        return nullptr;
      }
      Next();
      if (!ExpectSymbol("(")) return nullptr;
      call->limit_unit = ParseExpr();
      if (!call->limit_unit || !ExpectSymbol(",")) return nullptr;
      call->limit_length = ParseExpr();
      if (!call->limit_length || !ExpectSymbol(")")) return nullptr;
      height = std::max({height, call->limit_unit->height, call->limit_length->height});
    }
    if (AcceptKeyword("WHEN")) {
      call->analytic_over = true;
      call->over_when = ParseExpr();
      if (!call->over_when) return nullptr;
      height = std::max(height, call->over_when->height);
    }
    if (!AtSymbol(")")) {
      FailExpected("LIMIT DURATION(unit, length), WHEN or ')' in OVER (...)");
      return nullptr;
    }
    if (!ExpectSymbol(")")) return nullptr;
  }
  call->height = height + 1;
  return call;
}

ExprPtr Parser::ParseCase() {
  const Token& case_token = Peek();
  auto e = std::make_unique<Expr>(Expr::Kind::kCase, case_token.location);
  Next();
  // A simple CASE compares its operand with each WHEN value: `operand =
  // value` puts both a level further down.
  e->has_operand = !AtKeyword("WHEN");
  const int compared = e->has_operand ? 2 : 1;
  if (!Fits(case_token, compared + 1)) return nullptr;
  int height = 0;
  auto parse = [&](int levels) -> ExprPtr {
    Nested nested(this, levels);
    ExprPtr part = ParseExpr();
    if (part) height = std::max(height, part->height + levels - 1);
    return part;
  };
  if (e->has_operand) {
    ExprPtr operand = parse(compared);
    if (!operand) return nullptr;
    e->args.push_back(std::move(operand));
  }
  if (!AtKeyword("WHEN")) {
    FailExpected("WHEN");
    return nullptr;
  }
  while (AcceptKeyword("WHEN")) {
    ExprPtr when = parse(compared);
    if (!when || !ExpectKeyword("THEN")) return nullptr;
    ExprPtr then = parse(1);
    if (!then) return nullptr;
    e->args.push_back(std::move(when));
    e->args.push_back(std::move(then));
  }
  if (AcceptKeyword("ELSE")) {
    e->has_else = true;
    ExprPtr value = parse(1);
    if (!value) return nullptr;
    e->args.push_back(std::move(value));
  }
  if (!ExpectKeyword("END")) return nullptr;
  e->height = height + 1;
  return e;
}

ExprPtr Parser::ParseCast() {
  const Token& cast_token = Peek();
  auto e = std::make_unique<Expr>(Expr::Kind::kCast, cast_token.location);
  e->try_cast = Next().text == "TRY_CAST";
  if (!ExpectSymbol("(")) return nullptr;
  if (!Fits(cast_token, 2)) return nullptr;
  ExprPtr value;
  {
    Nested nested(this, 1);
    value = ParseExpr();
  }
  if (!value) return nullptr;
  e->height = value->height + 1;
  e->args.push_back(std::move(value));
  if (!ExpectKeyword("AS")) return nullptr;
  const Token& type = Peek();
  e->type_location = type.location;
  if (!IsName(type)) {
    FailExpected("a type name (bigint, float, nvarchar(max), datetime, bit, record, array)");
    return nullptr;
  }
  e->type_name = absl::AsciiStrToLower(Next().text);
  if (AcceptSymbol("(")) {
    if (!AtWord("MAX")) {
      Fail(Peek(), "only nvarchar(max) is supported");
      return nullptr;
    }
    Next();
    if (!ExpectSymbol(")")) return nullptr;
    e->type_name += "(max)";
  }
  if (!ExpectSymbol(")")) return nullptr;
  return e;
}

}  // namespace sluice::sql::parser_internal

#include "sql/parser.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "sql/lexer.h"

namespace sluice::sql {
namespace {

bool EqualsUpper(const std::string& text, std::string_view upper) {
  if (text.size() != upper.size()) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    if (absl::ascii_toupper(static_cast<unsigned char>(text[i])) != upper[i]) return false;
  }
  return true;
}

class Parser {
 public:
  Parser(std::vector<Token> tokens, QueryError* error)
      : tokens_(std::move(tokens)), error_(error) {}

  bool ParseScript(Script* script);

 private:
  const Token& Peek(size_t ahead = 0) const {
    const size_t i = pos_ + ahead;
    return i < tokens_.size() ? tokens_[i] : tokens_.back();
  }
  const Token& Next() {
    const Token& t = tokens_[pos_];
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return t;
  }
  bool AtKeyword(std::string_view kw, size_t ahead = 0) const { return Peek(ahead).IsKeyword(kw); }
  bool AtSymbol(std::string_view sym, size_t ahead = 0) const { return Peek(ahead).IsSymbol(sym); }
  // A contextual word: an unquoted identifier spelled `upper` in any case.
  bool AtWord(std::string_view upper, size_t ahead = 0) const {
    const Token& t = Peek(ahead);
    return t.kind == TokenKind::kIdentifier && EqualsUpper(t.text, upper);
  }
  bool AcceptKeyword(std::string_view kw) {
    if (!AtKeyword(kw)) return false;
    Next();
    return true;
  }
  bool AcceptSymbol(std::string_view sym) {
    if (!AtSymbol(sym)) return false;
    Next();
    return true;
  }

  static std::string Describe(const Token& t) {
    switch (t.kind) {
      case TokenKind::kEnd:
        return "the end of the query";
      case TokenKind::kString:
        return absl::StrCat("string '", t.text, "'");
      case TokenKind::kQuotedIdentifier:
        return absl::StrCat("name [", t.text, "]");
      default:
        return absl::StrCat("'", t.text, "'");
    }
  }

  bool Fail(const Token& at, std::string message) {
    if (!failed_) {
      failed_ = true;
      error_->location = at.location;
      error_->message = std::move(message);
    }
    return false;
  }
  bool FailExpected(std::string_view what) {
    return Fail(Peek(),
                absl::StrCat("expected ", std::string(what), " but found ", Describe(Peek())));
  }
  bool ExpectKeyword(std::string_view kw) {
    if (AcceptKeyword(kw)) return true;
    return FailExpected(kw);
  }
  bool ExpectSymbol(std::string_view sym) {
    if (AcceptSymbol(sym)) return true;
    return FailExpected(absl::StrCat("'", std::string(sym), "'"));
  }
  bool IsName(const Token& t) const {
    return t.kind == TokenKind::kIdentifier || t.kind == TokenKind::kQuotedIdentifier;
  }
  bool ExpectName(std::string_view what, std::string* name, SourceLocation* loc) {
    const Token& t = Peek();
    if (!IsName(t)) {
      if (t.kind == TokenKind::kKeyword) {
        return Fail(t, absl::StrCat("expected ", std::string(what), " but found the reserved word ",
                                    t.text, "; write [", t.text, "] to use it as a name"));
      }
      return FailExpected(what);
    }
    *name = t.text;
    if (loc) *loc = t.location;
    Next();
    return true;
  }

  bool ParseStep(Step* step);
  bool ParseQuery(Query* query);
  std::unique_ptr<Select> ParseSelect();
  bool ParseSelectItem(SelectItem* item);
  bool ParseFrom(FromClause* from);

  ExprPtr ParseExpr() { return ParseOr(); }
  ExprPtr ParseOr();
  ExprPtr ParseAnd();
  ExprPtr ParseNot();
  ExprPtr ParsePredicate();
  ExprPtr ParseAdditive();
  ExprPtr ParseMultiplicative();
  ExprPtr ParseUnary();
  ExprPtr ParsePostfix();
  ExprPtr ParsePrimary();
  ExprPtr ParseCase();
  ExprPtr ParseCast();
  ExprPtr ParseNameOrCall();
  bool ParseExprList(std::vector<ExprPtr>* list);

  std::vector<Token> tokens_;
  size_t pos_ = 0;
  QueryError* error_;
  bool failed_ = false;
};

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
  if (!ExpectKeyword("SELECT")) return nullptr;
  if (AtKeyword("DISTINCT")) {
    Fail(Peek(), "SELECT DISTINCT is not supported; use GROUP BY with a window");
    return nullptr;
  }
  AcceptKeyword("ALL");
  do {
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
  if (AtKeyword("JOIN") || AtKeyword("INNER") || AtKeyword("LEFT") || AtKeyword("CROSS") ||
      AtKeyword("OUTER")) {
    Fail(Peek(), "JOIN and APPLY are not supported yet");
    return nullptr;
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
    if (!ParseExprList(&select->group_by)) return nullptr;
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

bool Parser::ParseExprList(std::vector<ExprPtr>* list) {
  do {
    ExprPtr e = ParseExpr();
    if (!e) return false;
    list->push_back(std::move(e));
  } while (AcceptSymbol(","));
  return true;
}

ExprPtr Parser::ParseOr() {
  ExprPtr left = ParseAnd();
  while (left && AtKeyword("OR")) {
    auto e = std::make_unique<Expr>(Expr::Kind::kBinary, Peek().location);
    Next();
    e->op = "or";
    ExprPtr right = ParseAnd();
    if (!right) return nullptr;
    e->args.push_back(std::move(left));
    e->args.push_back(std::move(right));
    left = std::move(e);
  }
  return left;
}

ExprPtr Parser::ParseAnd() {
  ExprPtr left = ParseNot();
  while (left && AtKeyword("AND")) {
    auto e = std::make_unique<Expr>(Expr::Kind::kBinary, Peek().location);
    Next();
    e->op = "and";
    ExprPtr right = ParseNot();
    if (!right) return nullptr;
    e->args.push_back(std::move(left));
    e->args.push_back(std::move(right));
    left = std::move(e);
  }
  return left;
}

ExprPtr Parser::ParseNot() {
  if (AtKeyword("NOT")) {
    auto e = std::make_unique<Expr>(Expr::Kind::kUnary, Peek().location);
    Next();
    e->op = "not";
    ExprPtr arg = ParseNot();
    if (!arg) return nullptr;
    e->args.push_back(std::move(arg));
    return e;
  }
  return ParsePredicate();
}

ExprPtr Parser::ParsePredicate() {
  ExprPtr left = ParseAdditive();
  if (!left) return nullptr;
  static constexpr std::string_view kComparisons[] = {
      "=", "<>", "!=", "<", "<=", ">", ">=", "!<", "!>"};
  for (std::string_view op : kComparisons) {
    if (AtSymbol(op)) {
      auto e = std::make_unique<Expr>(Expr::Kind::kBinary, Peek().location);
      Next();
      e->op = op == "!=" ? "<>" : (op == "!<" ? ">=" : (op == "!>" ? "<=" : std::string(op)));
      ExprPtr right = ParseAdditive();
      if (!right) return nullptr;
      e->args.push_back(std::move(left));
      e->args.push_back(std::move(right));
      return e;
    }
  }
  const SourceLocation at = Peek().location;
  bool negated = false;
  if (AtKeyword("NOT") && (AtKeyword("LIKE", 1) || AtKeyword("BETWEEN", 1) || AtKeyword("IN", 1))) {
    Next();
    negated = true;
  }
  if (AcceptKeyword("LIKE")) {
    auto e = std::make_unique<Expr>(Expr::Kind::kLike, at);
    e->negated = negated;
    ExprPtr pattern = ParseAdditive();
    if (!pattern) return nullptr;
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
    e->args.push_back(std::move(left));
    if (!ParseExprList(&e->args)) return nullptr;
    if (!ExpectSymbol(")")) return nullptr;
    return e;
  }
  if (AcceptKeyword("IS")) {
    auto e = std::make_unique<Expr>(Expr::Kind::kIsNull, at);
    e->negated = AcceptKeyword("NOT");
    if (!ExpectKeyword("NULL")) return nullptr;
    e->args.push_back(std::move(left));
    return e;
  }
  return left;
}

ExprPtr Parser::ParseAdditive() {
  ExprPtr left = ParseMultiplicative();
  while (left &&
         (AtSymbol("+") || AtSymbol("-") || AtSymbol("&") || AtSymbol("|") || AtSymbol("^"))) {
    auto e = std::make_unique<Expr>(Expr::Kind::kBinary, Peek().location);
    e->op = Next().text;
    ExprPtr right = ParseMultiplicative();
    if (!right) return nullptr;
    e->args.push_back(std::move(left));
    e->args.push_back(std::move(right));
    left = std::move(e);
  }
  return left;
}

ExprPtr Parser::ParseMultiplicative() {
  ExprPtr left = ParseUnary();
  while (left && (AtSymbol("*") || AtSymbol("/") || AtSymbol("%"))) {
    auto e = std::make_unique<Expr>(Expr::Kind::kBinary, Peek().location);
    e->op = Next().text;
    ExprPtr right = ParseUnary();
    if (!right) return nullptr;
    e->args.push_back(std::move(left));
    e->args.push_back(std::move(right));
    left = std::move(e);
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
    auto e = std::make_unique<Expr>(Expr::Kind::kUnary, t.location);
    e->op = t.text;
    ExprPtr arg = ParseUnary();
    if (!arg) return nullptr;
    e->args.push_back(std::move(arg));
    return e;
  }
  return ParsePostfix();
}

ExprPtr Parser::ParsePostfix() {
  ExprPtr e = ParsePrimary();
  // Field access on a call or parenthesized expression: f(x).field
  while (e && e->kind != Expr::Kind::kName && AtSymbol(".") && IsName(Peek(1))) {
    Next();
    const Token& name = Next();
    auto access = std::make_unique<Expr>(Expr::Kind::kCall, name.location);
    access->path = {"$field"};
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
        Next();
        if (AtKeyword("SELECT")) {
          Fail(Peek(), "subqueries are not supported; define a WITH step");
          return nullptr;
        }
        ExprPtr e = ParseExpr();
        if (!e || !ExpectSymbol(")")) return nullptr;
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
  const SourceLocation at = Peek().location;
  std::vector<std::string> path;
  path.push_back(Next().text);
  while (AtSymbol(".") && (IsName(Peek(1)) || Peek(1).kind == TokenKind::kKeyword)) {
    Next();
    path.push_back(Next().text);
  }
  if (!AtSymbol("(")) {
    auto e = std::make_unique<Expr>(Expr::Kind::kName, at);
    e->path = std::move(path);
    return e;
  }
  Next();
  auto call = std::make_unique<Expr>(Expr::Kind::kCall, at);
  call->path = std::move(path);
  if (AcceptSymbol("*")) {
    call->star_arg = true;
  } else if (!AtSymbol(")")) {
    if (AcceptKeyword("DISTINCT")) {
      call->distinct = true;
    } else {
      AcceptKeyword("ALL");
    }
    if (!ParseExprList(&call->args)) return nullptr;
  }
  if (!ExpectSymbol(")")) return nullptr;
  if (AtWord("OVER")) {
    Next();
    call->has_over = true;
    if (!ExpectSymbol("(")) return nullptr;
    if (AtWord("PARTITION") && AtKeyword("BY", 1)) {
      Next();
      Next();
      if (!ParseExprList(&call->over_partition)) return nullptr;
    }
    if (AtWord("ORDER") && AtKeyword("BY", 1) && call->over_partition.empty()) {
      // TopOne() OVER (ORDER BY a [ASC|DESC], ...)
      Next();
      Next();
      while (true) {
        ExprPtr e = ParseExpr();
        if (!e) return nullptr;
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
    if (!AtSymbol(")")) {
      // The analytic form, OVER ([PARTITION BY ...] LIMIT DURATION(...)
      // [WHEN ...]): the binder reports it as not supported, at the
      // function; skip to the closing parenthesis.
      call->analytic_over = true;
      int depth = 1;
      while (Peek().kind != TokenKind::kEnd) {
        if (AtSymbol("(")) ++depth;
        if (AtSymbol(")") && --depth == 0) break;
        Next();
      }
    }
    if (!ExpectSymbol(")")) return nullptr;
  }
  return call;
}

ExprPtr Parser::ParseCase() {
  auto e = std::make_unique<Expr>(Expr::Kind::kCase, Peek().location);
  Next();
  if (!AtKeyword("WHEN")) {
    e->has_operand = true;
    ExprPtr operand = ParseExpr();
    if (!operand) return nullptr;
    e->args.push_back(std::move(operand));
  }
  if (!AtKeyword("WHEN")) {
    FailExpected("WHEN");
    return nullptr;
  }
  while (AcceptKeyword("WHEN")) {
    ExprPtr when = ParseExpr();
    if (!when || !ExpectKeyword("THEN")) return nullptr;
    ExprPtr then = ParseExpr();
    if (!then) return nullptr;
    e->args.push_back(std::move(when));
    e->args.push_back(std::move(then));
  }
  if (AcceptKeyword("ELSE")) {
    e->has_else = true;
    ExprPtr value = ParseExpr();
    if (!value) return nullptr;
    e->args.push_back(std::move(value));
  }
  if (!ExpectKeyword("END")) return nullptr;
  return e;
}

ExprPtr Parser::ParseCast() {
  auto e = std::make_unique<Expr>(Expr::Kind::kCast, Peek().location);
  e->try_cast = Next().text == "TRY_CAST";
  if (!ExpectSymbol("(")) return nullptr;
  ExprPtr value = ParseExpr();
  if (!value) return nullptr;
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

}  // namespace

bool ParseScript(std::string_view text, Script* script, QueryError* error) {
  std::vector<Token> tokens;
  if (!Tokenize(text, &tokens, error)) return false;
  Parser parser(std::move(tokens), error);
  return parser.ParseScript(script);
}

}  // namespace sluice::sql

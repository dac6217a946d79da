#include "sql/parser.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "sql/lexer.h"
#include "sql/limits.h"

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

  // Expression depth (kMaxExpressionDepth): `depth_` counts the levels
  // above the expression being parsed, and every node records its height,
  // so a node sits at depth_ + height. Callers check that a node fits
  // before parsing below it, so the parser recurses at most the limit deep.
  bool Fits(const Token& at, int height) {
    if (depth_ + height <= kMaxExpressionDepth) return true;
    return Fail(at,
                absl::StrCat("expression is nested too deeply (limit ", kMaxExpressionDepth, ")"));
  }
  // Parses the children of a node `levels` deeper while it lives.
  class Nested {
   public:
    Nested(Parser* parser, int levels) : parser_(parser), levels_(levels) {
      parser_->depth_ += levels_;
    }
    ~Nested() { parser_->depth_ -= levels_; }
    Nested(const Nested&) = delete;
    Nested& operator=(const Nested&) = delete;

   private:
    Parser* parser_;
    int levels_;
  };

  ExprPtr ParseExpr() { return ParseOr(); }
  ExprPtr ParseLogicalChain(std::string_view keyword, ExprPtr (Parser::*term)());
  ExprPtr ParseOr();
  ExprPtr ParseAnd();
  ExprPtr ParseNot();
  ExprPtr ParsePredicate();
  // Parses the right operand of `left <op> right` a level down.
  ExprPtr ParseBinaryRight(ExprPtr left, Expr::Kind kind, SourceLocation at,
                           ExprPtr (Parser::*right)());
  ExprPtr ParseAdditive();
  ExprPtr ParseMultiplicative();
  ExprPtr ParseUnary();
  ExprPtr ParsePostfix();
  ExprPtr ParsePrimary();
  ExprPtr ParseCase();
  ExprPtr ParseCast();
  ExprPtr ParseNameOrCall();
  // Parses `expr {, expr}`; raises *height to the tallest one's.
  bool ParseExprList(std::vector<ExprPtr>* list, int* height = nullptr);

  std::vector<Token> tokens_;
  size_t pos_ = 0;
  QueryError* error_;
  bool failed_ = false;
  int depth_ = 0;
  int selects_ = 0;  // SELECT clauses so far (kMaxSelects)
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
    if (AtWord("ORDER") && AtKeyword("BY", 1) && call->over_partition.empty()) {
      // TopOne() OVER (ORDER BY a [ASC|DESC], ...)
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

}  // namespace

bool ParseScript(std::string_view text, Script* script, QueryError* error) {
  std::vector<Token> tokens;
  if (!Tokenize(text, &tokens, error)) return false;
  Parser parser(std::move(tokens), error);
  return parser.ParseScript(script);
}

}  // namespace sluice::sql

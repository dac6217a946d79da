// Internal to sql/: the Parser class, shared by its two halves, parser.cc
// (the script, steps, statements and SELECT clauses) and
// parse_expression.cc (expressions). Use ParseScript in sql/parser.h.
#ifndef SLUICE_SQL_PARSER_INTERNAL_H_
#define SLUICE_SQL_PARSER_INTERNAL_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "sql/ast.h"
#include "sql/lexer.h"
#include "sql/limits.h"
#include "sql/query_error.h"

namespace sluice::sql::parser_internal {

// Whether `text` is `upper` in any case (`upper` is upper case).
bool EqualsUpper(const std::string& text, std::string_view upper);

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

  // parser.cc: the script, its steps and statements, and the clauses of
  // a SELECT.
  bool ParseStep(Step* step);
  bool ParseQuery(Query* query);
  std::unique_ptr<Select> ParseSelect();
  bool ParseSelectItem(SelectItem* item);
  bool ParseFrom(FromClause* from);
  // One JOIN ... ON ... or CROSS/OUTER APPLY ... AS ... clause.
  bool ParseJoin(JoinClause* join);

  // parse_expression.cc: expressions, by precedence from OR down to
  // primaries.
  //
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

}  // namespace sluice::sql::parser_internal

#endif  // SLUICE_SQL_PARSER_INTERNAL_H_

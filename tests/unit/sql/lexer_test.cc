#include "sql/lexer.h"

#include <gtest/gtest.h>

namespace sluice::sql {
namespace {

std::vector<Token> Lex(std::string_view text) {
  std::vector<Token> tokens;
  QueryError error;
  EXPECT_TRUE(Tokenize(text, &tokens, &error)) << error.message;
  return tokens;
}

QueryError LexError(std::string_view text) {
  std::vector<Token> tokens;
  QueryError error;
  EXPECT_FALSE(Tokenize(text, &tokens, &error));
  return error;
}

TEST(LexerTest, KeywordsAreCaseInsensitiveAndUpperCased) {
  auto t = Lex("select From wHeRe");
  ASSERT_EQ(t.size(), 4u);
  EXPECT_TRUE(t[0].IsKeyword("SELECT"));
  EXPECT_TRUE(t[1].IsKeyword("FROM"));
  EXPECT_TRUE(t[2].IsKeyword("WHERE"));
  EXPECT_EQ(t[3].kind, TokenKind::kEnd);
}

TEST(LexerTest, QuotedIdentifiersAreNeverKeywords) {
  auto t = Lex("[select] \"from\" [a]]b] \"x\"\"y\"");
  ASSERT_EQ(t.size(), 5u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(t[i].kind, TokenKind::kQuotedIdentifier);
  EXPECT_EQ(t[0].text, "select");
  EXPECT_EQ(t[1].text, "from");
  EXPECT_EQ(t[2].text, "a]b");
  EXPECT_EQ(t[3].text, "x\"y");
}

TEST(LexerTest, StringsUnescapeDoubledQuotes) {
  auto t = Lex("'it''s' ''");
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0].kind, TokenKind::kString);
  EXPECT_EQ(t[0].text, "it's");
  EXPECT_EQ(t[1].text, "");
}

TEST(LexerTest, Numbers) {
  auto t = Lex("42 4.5 .5 1e3 2E-2 9223372036854775807");
  ASSERT_EQ(t.size(), 7u);
  EXPECT_EQ(t[0].kind, TokenKind::kInteger);
  EXPECT_EQ(t[0].int_value, 42);
  EXPECT_EQ(t[1].kind, TokenKind::kFloat);
  EXPECT_DOUBLE_EQ(t[1].float_value, 4.5);
  EXPECT_DOUBLE_EQ(t[2].float_value, 0.5);
  EXPECT_DOUBLE_EQ(t[3].float_value, 1000);
  EXPECT_DOUBLE_EQ(t[4].float_value, 0.02);
  EXPECT_EQ(t[5].int_value, INT64_MAX);
}

TEST(LexerTest, TwoCharacterOperators) {
  auto t = Lex("<> != <= >= !< !> < > =");
  std::vector<std::string> ops;
  for (const Token& tok : t) {
    if (tok.kind == TokenKind::kSymbol) ops.push_back(tok.text);
  }
  EXPECT_EQ(ops, (std::vector<std::string>{"<>", "!=", "<=", ">=", "!<", "!>", "<", ">", "="}));
}

TEST(LexerTest, CommentsAreSkippedAndPositionsCountLinesAndCharacters) {
  auto t = Lex("-- a comment\n  /* block\n comment */ x\n\u00e9\u00e9 y");
  ASSERT_EQ(t.size(), 4u);
  EXPECT_EQ(t[0].text, "x");
  EXPECT_EQ(t[0].location.line, 3);
  EXPECT_EQ(t[0].location.column, 13);
  // Two two-byte characters count as two columns.
  EXPECT_EQ(t[1].text, "\u00e9\u00e9");
  EXPECT_EQ(t[2].text, "y");
  EXPECT_EQ(t[2].location.line, 4);
  EXPECT_EQ(t[2].location.column, 4);
}

TEST(LexerTest, ErrorsPointAtTheProblem) {
  QueryError e = LexError("SELECT 'abc");
  EXPECT_EQ(e.location.line, 1);
  EXPECT_EQ(e.location.column, 8);
  EXPECT_EQ(e.message, "string literal is not closed: missing '");

  e = LexError("SELECT a\n  FROM b ? c");
  EXPECT_EQ(e.location.line, 2);
  EXPECT_EQ(e.location.column, 10);
  EXPECT_EQ(e.message, "unexpected character '?'");

  e = LexError("SELECT [abc");
  EXPECT_EQ(e.message, "bracketed name is not closed: missing ]");

  e = LexError("SELECT 99999999999999999999");
  EXPECT_EQ(e.message, "integer out of the bigint range: 99999999999999999999");

  e = LexError("/* never closed");
  EXPECT_EQ(e.message, "comment is not closed: missing */");
}

TEST(LexerTest, FormatQueryError) {
  QueryError e{{3, 14}, "unknown function 'FOO'"};
  EXPECT_EQ(FormatQueryError("job.sql", e), "job.sql:3:14: error: unknown function 'FOO'");
  EXPECT_EQ(FormatQueryError("", e), "3:14: error: unknown function 'FOO'");
}

}  // namespace
}  // namespace sluice::sql

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

TEST(LexerTest, TextMustBeUtf8WithoutNul) {
  // Well-formed characters of 2, 3 and 4 bytes, in a string and a name.
  auto t = Lex("'\xC3\xA9\xE2\x82\xAC\xF0\x9F\x8C\x8A' caf\xC3\xA9");
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0].text, "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x8C\x8A");
  EXPECT_EQ(t[1].text, "caf\xC3\xA9");
  EXPECT_EQ(t[1].location.column, 7);  // columns count characters
  struct Case {
    std::string text;
    int column;
    std::string byte;
  };
  const Case cases[] = {
      {"'\xC0\x80'", 2, "0xC0"},          // overlong NUL
      {"'\xE0\x80\x80'", 2, "0xE0"},      // overlong
      {"'\xED\xA0\x80'", 2, "0xED"},      // a UTF-16 surrogate
      {"'\xF4\x90\x80\x80'", 2, "0xF4"},  // past U+10FFFF
      {"'\xF5\x80\x80\x80'", 2, "0xF5"},  // never a lead byte
      {"'\x80'", 2, "0x80"},              // a continuation alone
      {"'\xC3\xA9\xE2\x82'", 3, "0xE2"},  // cut short at the end
      {"x\xC3\xA9 \xE2\x82\xAC \xFF", 6, "0xFF"},
  };
  for (const Case& c : cases) {
    QueryError e = LexError(c.text);
    EXPECT_EQ(e.location.line, 1) << c.byte;
    EXPECT_EQ(e.location.column, c.column) << c.byte;
    EXPECT_EQ(e.message, "the query must be UTF-8 text; invalid byte: " + c.byte);
  }
  QueryError e = LexError(std::string("SELECT\n  -- \0 in a comment", 25));
  EXPECT_EQ(e.location.line, 2);
  EXPECT_EQ(e.location.column, 6);
  EXPECT_EQ(e.message, "a query cannot contain a NUL byte");
  e = LexError("SELECT \x1B");
  EXPECT_EQ(e.message, "unexpected character U+001B");
  e = LexError("SELECT 12\xC3\xA9");
  EXPECT_EQ(e.message, "malformed number: 12\xC3\xA9");
}

TEST(LexerTest, FormatQueryError) {
  QueryError e{{3, 14}, "unknown function 'FOO'"};
  EXPECT_EQ(FormatQueryError("job.sql", e), "job.sql:3:14: error: unknown function 'FOO'");
  EXPECT_EQ(FormatQueryError("", e), "3:14: error: unknown function 'FOO'");
}

}  // namespace
}  // namespace sluice::sql

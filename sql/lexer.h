// Lexer for the ASA query dialect.
//
// Produces tokens with 1-based line and column (columns count characters,
// not bytes). Keywords are case-insensitive; identifiers may be bracketed
// ([Count], with ]] for a literal ]) or double-quoted ("my field", with ""
// for a literal "): both forms are never keywords. Strings use single quotes
// with '' inside. Comments: -- to end of line, and /* ... */.
#ifndef SLUICE_SQL_LEXER_H_
#define SLUICE_SQL_LEXER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sql/query_error.h"

namespace sluice::sql {

enum class TokenKind {
  kEnd,
  kIdentifier,        // unquoted, not a reserved word
  kQuotedIdentifier,  // [x] or "x"
  kKeyword,           // reserved word; text is upper case
  kString,            // 'x'; text is the unescaped value
  kInteger,
  kFloat,
  kSymbol,  // ( ) , . ; + - * / % = <> != < <= > >= !< !> & | ^ ~
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string text;  // identifier as written, keyword upper-cased, symbol
  SourceLocation location;
  int64_t int_value = 0;
  double float_value = 0;
  // The integer 9223372036854775808, valid only after a minus sign (the
  // smallest bigint); int_value then holds INT64_MIN.
  bool bigint_min_magnitude = false;

  bool IsKeyword(std::string_view upper) const {
    return kind == TokenKind::kKeyword && text == upper;
  }
  bool IsSymbol(std::string_view s) const { return kind == TokenKind::kSymbol && text == s; }
};

// Splits `text` into tokens ending with a kEnd token, or fails with the
// position of the first bad character.
bool Tokenize(std::string_view text, std::vector<Token>* tokens, QueryError* error);

// True for words that cannot be used as bare identifiers.
bool IsReservedWord(std::string_view word);

}  // namespace sluice::sql

#endif  // SLUICE_SQL_LEXER_H_

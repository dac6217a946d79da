#include "sql/lexer.h"

#include <charconv>
#include <cmath>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace sluice::sql {
namespace {

bool IsIdentStart(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}
bool IsIdentChar(unsigned char c) {
  return IsIdentStart(c) || (c >= '0' && c <= '9') || c == '@' || c == '$' || c == '#';
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The length of the well-formed UTF-8 character (RFC 3629: no overlong
// forms, no surrogates, nothing past U+10FFFF) at the start of `s`, or 0.
size_t Utf8CharLength(std::string_view s) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const auto in = [&](size_t i, unsigned char lo, unsigned char hi) {
    return i < s.size() && byte(i) >= lo && byte(i) <= hi;
  };
  const unsigned char c = byte(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return in(1, 0x80, 0xBF) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    const unsigned char lo = c == 0xE0 ? 0xA0 : 0x80;
    const unsigned char hi = c == 0xED ? 0x9F : 0xBF;
    return in(1, lo, hi) && in(2, 0x80, 0xBF) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    const unsigned char lo = c == 0xF0 ? 0x90 : 0x80;
    const unsigned char hi = c == 0xF4 ? 0x8F : 0xBF;
    return in(1, lo, hi) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF) ? 4 : 0;
  }
  return 0;
}

// Query text must be UTF-8 without NUL bytes: string literals and names
// are copied into plans and output rows, which hold UTF-8 text, and error
// messages quote them. Fails at the first offending byte.
bool CheckEncoding(std::string_view text, QueryError* error) {
  SourceLocation at;
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const size_t n = c == 0 ? 0 : Utf8CharLength(text.substr(i));
    if (n == 0) {
      error->location = at;
      error->message =
          c == 0 ? "a query cannot contain a NUL byte"
                 : absl::StrFormat("the query must be UTF-8 text; invalid byte: 0x%02X", c);
      return false;
    }
    if (c == '\n') {
      ++at.line;
      at.column = 1;
    } else {
      ++at.column;
    }
    i += n;
  }
  return true;
}

// A character as an error message shows it: printable ASCII in quotes,
// anything else as its code point (a control character would garble the
// message, a NUL cut it short).
std::string DescribeCharacter(std::string_view text) {
  const unsigned char c = static_cast<unsigned char>(text[0]);
  if (c >= 0x20 && c < 0x7F) return absl::StrCat("'", std::string(text.substr(0, 1)), "'");
  return absl::StrFormat("U+%04X", c);
}

class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek(size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }
  void Advance() {
    if (AtEnd()) return;
    const unsigned char c = static_cast<unsigned char>(text_[pos_++]);
    if (c == '\n') {
      ++location_.line;
      location_.column = 1;
    } else if ((c & 0xC0) != 0x80) {
      ++location_.column;  // count characters, not UTF-8 continuation bytes
    }
  }
  SourceLocation location() const { return location_; }
  size_t pos() const { return pos_; }
  std::string_view Slice(size_t from) const { return text_.substr(from, pos_ - from); }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  SourceLocation location_;
};

}  // namespace

bool IsReservedWord(std::string_view word) {
  static const auto* kReserved = new absl::flat_hash_set<std::string>{
      "SELECT", "FROM", "WHERE", "GROUP", "BY",    "HAVING", "AS",       "INTO",     "UNION",
      "WITH",   "AND",  "OR",    "NOT",   "IN",    "IS",     "NULL",     "LIKE",     "BETWEEN",
      "CASE",   "WHEN", "THEN",  "ELSE",  "END",   "CAST",   "TRY_CAST", "DISTINCT", "ALL",
      "JOIN",   "ON",   "INNER", "LEFT",  "OUTER", "CROSS",  "APPLY"};
  return kReserved->contains(absl::AsciiStrToUpper(absl::string_view(word.data(), word.size())));
}

namespace {

bool Fail(QueryError* error, SourceLocation at, std::string message) {
  error->location = at;
  error->message = std::move(message);
  return false;
}

// Whitespace and comments; false for a comment that is not closed.
bool SkipSpace(Scanner& s, QueryError* error) {
  while (!s.AtEnd()) {
    const char c = s.Peek();
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v') {
      s.Advance();
    } else if (c == '-' && s.Peek(1) == '-') {
      while (!s.AtEnd() && s.Peek() != '\n') s.Advance();
    } else if (c == '/' && s.Peek(1) == '*') {
      const SourceLocation start = s.location();
      s.Advance();
      s.Advance();
      while (!s.AtEnd() && !(s.Peek() == '*' && s.Peek(1) == '/')) s.Advance();
      if (s.AtEnd()) return Fail(error, start, "comment is not closed: missing */");
      s.Advance();
      s.Advance();
    } else {
      break;
    }
  }
  return true;
}

// What the quote at the scanner opens: a quoted name ([...] or "...") or
// a string literal ('...'). A doubled closing quote stands for itself.
bool ScanQuoted(Scanner& s, Token* t, QueryError* error) {
  const char open = s.Peek();
  const char close = open == '[' ? ']' : open;
  s.Advance();
  std::string value;
  while (true) {
    if (s.AtEnd()) {
      return Fail(error, t->location,
                  open == '['   ? "bracketed name is not closed: missing ]"
                  : open == '"' ? "quoted name is not closed: missing \""
                                : "string literal is not closed: missing '");
    }
    if (s.Peek() == close) {
      if (s.Peek(1) == close) {
        value.push_back(close);
        s.Advance();
        s.Advance();
        continue;
      }
      s.Advance();
      break;
    }
    value.push_back(s.Peek());
    s.Advance();
  }
  if (open == '\'') {
    t->kind = TokenKind::kString;
  } else {
    if (value.empty()) return Fail(error, t->location, "a quoted name cannot be empty");
    t->kind = TokenKind::kQuotedIdentifier;
  }
  t->text = std::move(value);
  return true;
}

bool ScanNumber(Scanner& s, Token* t, QueryError* error) {
  const size_t start = s.pos();
  bool is_float = false;
  while (IsDigit(s.Peek())) s.Advance();
  if (s.Peek() == '.' && IsDigit(s.Peek(1))) {
    is_float = true;
    s.Advance();
    while (IsDigit(s.Peek())) s.Advance();
  } else if (s.Peek() == '.' && !IsIdentStart(static_cast<unsigned char>(s.Peek(1)))) {
    is_float = true;  // "1." is a float
    s.Advance();
  }
  if ((s.Peek() == 'e' || s.Peek() == 'E') &&
      (IsDigit(s.Peek(1)) || ((s.Peek(1) == '+' || s.Peek(1) == '-') && IsDigit(s.Peek(2))))) {
    is_float = true;
    s.Advance();
    if (s.Peek() == '+' || s.Peek() == '-') s.Advance();
    while (IsDigit(s.Peek())) s.Advance();
  }
  if (IsIdentStart(static_cast<unsigned char>(s.Peek()))) {
    const std::string_view number = s.Slice(start);
    s.Advance();
    while (!s.AtEnd() && (static_cast<unsigned char>(s.Peek()) & 0xC0) == 0x80) s.Advance();
    return Fail(error, t->location,
                absl::StrCat("malformed number: ", std::string(number),
                             std::string(s.Slice(start + number.size()))));
  }
  t->text = std::string(s.Slice(start));
  if (!is_float) {
    auto [end, ec] = std::from_chars(t->text.data(), t->text.data() + t->text.size(), t->int_value);
    if (ec == std::errc()) {
      t->kind = TokenKind::kInteger;
    } else if (t->text == "9223372036854775808") {
      t->kind = TokenKind::kInteger;
      t->int_value = INT64_MIN;
      t->bigint_min_magnitude = true;
    } else {
      return Fail(error, t->location, absl::StrCat("integer out of the bigint range: ", t->text));
    }
    return true;
  }
  auto [end, ec] = std::from_chars(t->text.data(), t->text.data() + t->text.size(), t->float_value);
  if (ec != std::errc() || !std::isfinite(t->float_value)) {
    return Fail(error, t->location, absl::StrCat("number out of the float range: ", t->text));
  }
  t->kind = TokenKind::kFloat;
  return true;
}

bool ScanSymbol(Scanner& s, std::string_view text, Token* t, QueryError* error) {
  static constexpr std::string_view kTwoChar[] = {"<>", "!=", "<=", ">=", "!<", "!>"};
  const char c = s.Peek();
  t->kind = TokenKind::kSymbol;
  for (std::string_view two : kTwoChar) {
    if (c == two[0] && s.Peek(1) == two[1]) {
      s.Advance();
      s.Advance();
      t->text = std::string(two);
      return true;
    }
  }
  static constexpr std::string_view kSingle = "(),.;+-*/%=<>&|^~";
  if (kSingle.find(c) == std::string_view::npos) {
    return Fail(error, t->location,
                absl::StrCat("unexpected character ", DescribeCharacter(text.substr(s.pos()))));
  }
  s.Advance();
  t->text = std::string(1, c);
  return true;
}

}  // namespace

bool Tokenize(std::string_view text, std::vector<Token>* tokens, QueryError* error) {
  tokens->clear();
  if (!CheckEncoding(text, error)) return false;
  Scanner s(text);
  SourceLocation after_last_token;  // where the end of the query is reported
  while (true) {
    if (!SkipSpace(s, error)) return false;
    Token t;
    t.location = s.location();
    if (s.AtEnd()) {
      t.kind = TokenKind::kEnd;
      t.location = after_last_token;
      tokens->push_back(std::move(t));
      return true;
    }
    const char c = s.Peek();
    bool ok = true;
    if (IsIdentStart(static_cast<unsigned char>(c))) {
      const size_t start = s.pos();
      while (!s.AtEnd() && IsIdentChar(static_cast<unsigned char>(s.Peek()))) s.Advance();
      t.text = std::string(s.Slice(start));
      if (IsReservedWord(t.text)) {
        t.kind = TokenKind::kKeyword;
        t.text = absl::AsciiStrToUpper(t.text);
      } else {
        t.kind = TokenKind::kIdentifier;
      }
    } else if (c == '[' || c == '"' || c == '\'') {
      ok = ScanQuoted(s, &t, error);
    } else if (IsDigit(c) || (c == '.' && IsDigit(s.Peek(1)))) {
      ok = ScanNumber(s, &t, error);
    } else {
      ok = ScanSymbol(s, text, &t, error);
    }
    if (!ok) return false;
    after_last_token = s.location();
    tokens->push_back(std::move(t));
  }
}

std::string FormatQueryError(std::string_view file, const QueryError& error) {
  if (file.empty()) {
    return absl::StrCat(error.location.line, ":", error.location.column,
                        ": error: ", error.message);
  }
  return absl::StrCat(std::string(file), ":", error.location.line, ":", error.location.column,
                      ": error: ", error.message);
}

}  // namespace sluice::sql

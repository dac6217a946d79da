// LikePattern: a T-SQL LIKE pattern, compiled once and matched many times.
//
// Pattern syntax (T-SQL):
//   %        any run of zero or more characters
//   _        exactly one character
//   [abc]    one of the listed characters
//   [a-z]    one character in the range (code point order)
//   [^a-c]   one character not in the set
// Anything else matches itself. A '[' without a closing ']' is an ordinary
// character; "[%]", "[_]" and "[[]" are the usual way to match a literal
// '%', '_' or '['. No ESCAPE clause is supported.
//
// Characters are Unicode code points of UTF-8 text; '_' matches one code
// point, not one byte.
//
// Matching is case-sensitive (ordinal). The ASA documentation does not say
// how LIKE treats case (SQL Server follows the column collation, which is
// usually case-insensitive); Sluice compares strings ordinally everywhere
// (=, GROUP BY, CHARINDEX, REPLACE), and LIKE follows suit so that
// `s LIKE 'abc'` and `s = 'abc'` agree. Use LOWER()/UPPER() on both sides for
// a case-insensitive match.
//
// Also here: the small UTF-8 codec shared by LIKE and the string functions.
#ifndef SLUICE_ENGINE_EXPR_FUNCTIONS_LIKE_PATTERN_H_
#define SLUICE_ENGINE_EXPR_FUNCTIONS_LIKE_PATTERN_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice {

// Decodes the code point starting at s[*pos] (which must be < s.size()) and
// advances *pos past it. A byte that does not start a well-formed UTF-8
// sequence (stray continuation byte, overlong form, surrogate, truncated
// sequence, value above U+10FFFF) decodes on its own as 0xDC00 + byte, a lone
// low surrogate that valid UTF-8 never produces; AppendUtf8 turns it back into
// the original byte, so malformed text survives a decode/encode round trip.
char32_t DecodeUtf8(std::string_view s, size_t* pos);

// Appends the UTF-8 encoding of `cp` (see DecodeUtf8 for 0xDC80..0xDCFF).
void AppendUtf8(char32_t cp, std::string* out);

// Number of code points in `s`.
size_t CountCodePoints(std::string_view s);

class LikePattern {
 public:
  // Never fails: every string is a valid pattern.
  static LikePattern Compile(std::string_view pattern);

  // Whether all of `s` matches the pattern.
  bool Matches(std::string_view s) const;

 private:
  enum class Kind : uint8_t {
    kAnyRun,   // %
    kAnyOne,   // _
    kLiteral,  // one code point
    kSet,      // [...], ranges [set_begin, set_end) in ranges_
  };
  struct Token {
    Kind kind;
    bool negated = false;  // kSet only
    char32_t literal = 0;  // kLiteral only
    uint32_t set_begin = 0;
    uint32_t set_end = 0;
  };
  // Shapes that avoid the general matcher.
  enum class Shape : uint8_t {
    kGeneral,
    kExact,     // literal text only
    kPrefix,    // literal%
    kSuffix,    // %literal
    kContains,  // %literal%
    kAll,       // one or more % only
  };

  bool TokenMatches(const Token& t, char32_t c) const;
  bool MatchesGeneral(std::string_view s) const;

  std::vector<Token> tokens_;
  std::vector<std::pair<char32_t, char32_t>> ranges_;  // inclusive
  Shape shape_ = Shape::kGeneral;
  std::string literal_;  // UTF-8 text for the literal shapes
};

}  // namespace sluice

#endif  // SLUICE_ENGINE_EXPR_FUNCTIONS_LIKE_PATTERN_H_

// String functions of the ASA dialect.
//
// Strings are UTF-8. Every position and length these functions take or
// return (CHARINDEX, LEFT, LEN, PATINDEX, REGEXMATCH, RIGHT, STUFF,
// SUBSTRING, ...) counts Unicode code points, not bytes and not UTF-16 code
// units: ASA counts .NET chars (UTF-16), which differs only for characters
// outside the Basic Multilingual Plane (emoji), where Sluice counts one and
// ASA two. Malformed UTF-8 bytes count as one character each and are kept
// as they are (see DecodeUtf8).
//
// Argument conventions (the docs are silent; SQL Server behaviour):
// - A NULL argument gives NULL, except in CONCAT and CONCAT_WS, which skip
//   NULLs (documented), and STUFF's inserted text (NULL inserts nothing).
// - Where a string is expected, bigint, float, bit and datetime values are
//   converted implicitly to their CAST text; records and arrays fail.
// - Where a length or position is expected, a bigint is taken as is and a
//   float is truncated toward zero; anything else fails.
// - Text comparisons (CHARINDEX, REPLACE, PATINDEX) are ordinal, i.e.
//   case-sensitive, like the rest of Sluice's string comparisons; only
//   REGEXMATCH is documented as case-insensitive.
// - Results longer than kMaxResultBytes fail instead of exhausting memory.

// GCC 12 reports a false -Wmaybe-uninitialized inside libstdc++'s <regex>
// (the std::function members of its automaton states) when optimizing. The
// pragma covers the library headers only, which are included here before any
// other header can pull them in.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <functional>
#include <regex>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include <locale.h>
#include <wctype.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <locale>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/core/conversion.h"
#include "engine/core/saturating.h"
#include "engine/core/value.h"
#include "engine/expr/functions/like_pattern.h"
#include "engine/expr/scalar_function.h"

namespace sluice {
namespace {

constexpr size_t kMaxResultBytes = size_t{16} << 20;

Value MakeString(CallContext& ctx, std::string_view s) {
  return Value::String(ctx.arena()->CopyString(s));
}

Value TooLong(CallContext& ctx, const char* fn, size_t bytes) {
  return ctx.Fail(absl::StrCat(fn, " result is too long (limit ", kMaxResultBytes,
                               " bytes): ", bytes, " bytes"));
}

// A string argument; see the conventions at the top of the file. `v` must not
// be NULL.
bool StringArg(const Value& v, const char* fn, CallContext& ctx, std::string_view* out) {
  if (v.type() == ValueType::kString) {
    *out = v.string();
    return true;
  }
  if (v.type() == ValueType::kBigint || v.type() == ValueType::kFloat ||
      v.type() == ValueType::kBit || v.type() == ValueType::kDatetime) {
    Value text;
    std::string error;
    if (CastValue(v, ValueType::kString, ctx.arena(), &text, &error)) {
      *out = text.string();
      return true;
    }
  }
  ctx.Fail(absl::StrCat(fn, " expects a string: ", ShortDebugString(v)));
  return false;
}

// An integer argument (`what` names it in messages). `v` must not be NULL.
bool IntArg(const Value& v, const char* fn, const char* what, CallContext& ctx, int64_t* out) {
  if (v.type() == ValueType::kString) {
    // Text holding a number is read as one (ASA's implicit conversion).
    if (auto i = ParseBigint(v.string())) {
      *out = *i;
      return true;
    }
    if (auto d = ParseFloat(v.string()); d && std::fabs(*d) < 9.2e18) {
      *out = static_cast<int64_t>(std::trunc(*d));
      return true;
    }
  }
  if (v.type() == ValueType::kBigint) {
    *out = v.bigint();
    return true;
  }
  if (v.type() == ValueType::kFloat) {
    const double t = std::trunc(v.float_value());
    if (t >= -9223372036854775808.0 && t < 9223372036854775808.0) {
      *out = static_cast<int64_t>(t);
      return true;
    }
  }
  ctx.Fail(absl::StrCat(fn, " expects a bigint ", what, ": ", ShortDebugString(v)));
  return false;
}

bool AnyNull(const Value* args, int n) {
  for (int i = 0; i < n; ++i) {
    if (args[i].is_null()) return true;
  }
  return false;
}

// Byte offset of code point `index` (0-based) in `s`; s.size() when `s` has
// no more than `index` code points.
size_t ByteOffset(std::string_view s, int64_t index) {
  size_t pos = 0;
  for (int64_t i = 0; i < index && pos < s.size(); ++i) DecodeUtf8(s, &pos);
  return pos;
}

// The code points [first, end) of `s`, 0-based and clamped to `s`.
std::string_view CodePointRange(std::string_view s, int64_t first, int64_t end) {
  first = std::max<int64_t>(first, 0);
  if (end <= first) return std::string_view();
  const size_t begin_byte = ByteOffset(s, first);
  std::string_view rest = s.substr(begin_byte);
  return rest.substr(0, ByteOffset(rest, end - first));
}

// White space as ASA's TRIM, LTRIM and RTRIM define it: the Unicode
// SpaceSeparator, LineSeparator and ParagraphSeparator categories plus
// U+0009..U+000D and U+0085 (.NET's Char.IsWhiteSpace).
bool IsTrimSpace(char32_t c) {
  if (c == ' ' || (c >= 0x09 && c <= 0x0D)) return true;
  if (c < 0x85) return false;
  return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
         c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

std::string_view TrimLeft(std::string_view s) {
  size_t pos = 0;
  while (pos < s.size()) {
    size_t next = pos;
    if (!IsTrimSpace(DecodeUtf8(s, &next))) break;
    pos = next;
  }
  return s.substr(pos);
}

std::string_view TrimRight(std::string_view s) {
  // Decode forwards, remembering where the last non-space code point ends.
  size_t end = 0;
  size_t pos = 0;
  while (pos < s.size()) {
    if (!IsTrimSpace(DecodeUtf8(s, &pos))) end = pos;
  }
  return s.substr(0, end);
}

// ---------------------------------------------------------------------------
// Functions

// CHARINDEX(find, search[, start]): 1-based position of `find` in `search`
// at or after `start` (start <= 0 means 1), 0 when absent. An empty `find`
// gives 0, as in SQL Server.
Value Charindex(const Value* args, int n, CallContext& ctx) {
  if (AnyNull(args, n)) return Value::Null();
  std::string_view find;
  std::string_view search;
  if (!StringArg(args[0], "CHARINDEX", ctx, &find) ||
      !StringArg(args[1], "CHARINDEX", ctx, &search)) {
    return Value::Null();
  }
  int64_t start = 1;
  if (n > 2 && !IntArg(args[2], "CHARINDEX", "start", ctx, &start)) {
    return Value::Null();
  }
  if (find.empty()) return Value::Bigint(0);
  const size_t from = start > 1 ? ByteOffset(search, start - 1) : 0;
  const size_t found = search.find(find, from);
  if (found == std::string_view::npos) return Value::Bigint(0);
  return Value::Bigint(static_cast<int64_t>(CountCodePoints(search.substr(0, found))) + 1);
}

// CONCAT(a, b, ...): NULLs count as ''.
Value Concat(const Value* args, int n, CallContext& ctx) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    if (args[i].is_null()) continue;
    std::string_view s;
    if (!StringArg(args[i], "CONCAT", ctx, &s)) return Value::Null();
    out.append(s);
    if (out.size() > kMaxResultBytes) return TooLong(ctx, "CONCAT", out.size());
  }
  return MakeString(ctx, out);
}

// CONCAT_WS(sep, a, b, ...): NULL values are skipped along with their
// separator; a NULL separator counts as '' (SQL Server).
Value ConcatWs(const Value* args, int n, CallContext& ctx) {
  std::string_view sep;
  if (!args[0].is_null() && !StringArg(args[0], "CONCAT_WS", ctx, &sep)) {
    return Value::Null();
  }
  std::string out;
  bool first = true;
  for (int i = 1; i < n; ++i) {
    if (args[i].is_null()) continue;
    std::string_view s;
    if (!StringArg(args[i], "CONCAT_WS", ctx, &s)) return Value::Null();
    if (!first) out.append(sep);
    first = false;
    out.append(s);
    if (out.size() > kMaxResultBytes) {
      return TooLong(ctx, "CONCAT_WS", out.size());
    }
  }
  return MakeString(ctx, out);
}

// LEFT(s, n) and RIGHT(s, n): a negative length is an error (documented).
Value Left(const Value* args, int, CallContext& ctx) {
  if (AnyNull(args, 2)) return Value::Null();
  std::string_view s;
  int64_t length = 0;
  if (!StringArg(args[0], "LEFT", ctx, &s) || !IntArg(args[1], "LEFT", "length", ctx, &length)) {
    return Value::Null();
  }
  if (length < 0) {
    return ctx.Fail(absl::StrCat("LEFT expects a non-negative length: ", length));
  }
  return MakeString(ctx, s.substr(0, ByteOffset(s, length)));
}

Value Right(const Value* args, int, CallContext& ctx) {
  if (AnyNull(args, 2)) return Value::Null();
  std::string_view s;
  int64_t length = 0;
  if (!StringArg(args[0], "RIGHT", ctx, &s) || !IntArg(args[1], "RIGHT", "length", ctx, &length)) {
    return Value::Null();
  }
  if (length < 0) {
    return ctx.Fail(absl::StrCat("RIGHT expects a non-negative length: ", length));
  }
  const int64_t count = static_cast<int64_t>(CountCodePoints(s));
  if (length >= count) return MakeString(ctx, s);
  return MakeString(ctx, s.substr(ByteOffset(s, count - length)));
}

// LEN(s): code points, not counting trailing blanks (U+0020, as SQL Server;
// the docs say "trailing blanks", not white space).
Value Len(const Value* args, int, CallContext& ctx) {
  if (args[0].is_null()) return Value::Null();
  std::string_view s;
  if (!StringArg(args[0], "LEN", ctx, &s)) return Value::Null();
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return Value::Bigint(static_cast<int64_t>(CountCodePoints(s)));
}

// Case mapping uses the C library's Unicode tables (simple, one-to-one
// mappings: 'ß' stays 'ß') through glibc's built-in C.UTF-8 locale. Should
// that locale be missing, only ASCII letters change.
locale_t Utf8Locale() {
  static const locale_t locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(0));
  return locale;
}

Value MapCase(const Value* args, const char* fn, bool upper, CallContext& ctx) {
  if (args[0].is_null()) return Value::Null();
  std::string_view s;
  if (!StringArg(args[0], fn, ctx, &s)) return Value::Null();
  const locale_t locale = Utf8Locale();
  std::string out;
  out.reserve(s.size());
  for (size_t pos = 0; pos < s.size();) {
    const unsigned char b = static_cast<unsigned char>(s[pos]);
    if (b < 0x80) {
      char c = static_cast<char>(b);
      if (upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
      if (!upper && c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
      out.push_back(c);
      ++pos;
      continue;
    }
    char32_t c = DecodeUtf8(s, &pos);
    if (locale != static_cast<locale_t>(0)) {
      const wint_t w = static_cast<wint_t>(c);
      c = static_cast<char32_t>(upper ? towupper_l(w, locale) : towlower_l(w, locale));
    }
    AppendUtf8(c, &out);
  }
  return MakeString(ctx, out);
}

Value Lower(const Value* args, int, CallContext& ctx) {
  return MapCase(args, "LOWER", /*upper=*/false, ctx);
}

Value Upper(const Value* args, int, CallContext& ctx) {
  return MapCase(args, "UPPER", /*upper=*/true, ctx);
}

Value Ltrim(const Value* args, int, CallContext& ctx) {
  if (args[0].is_null()) return Value::Null();
  std::string_view s;
  if (!StringArg(args[0], "LTRIM", ctx, &s)) return Value::Null();
  return MakeString(ctx, TrimLeft(s));
}

Value Rtrim(const Value* args, int, CallContext& ctx) {
  if (args[0].is_null()) return Value::Null();
  std::string_view s;
  if (!StringArg(args[0], "RTRIM", ctx, &s)) return Value::Null();
  return MakeString(ctx, TrimRight(s));
}

Value Trim(const Value* args, int, CallContext& ctx) {
  if (args[0].is_null()) return Value::Null();
  std::string_view s;
  if (!StringArg(args[0], "TRIM", ctx, &s)) return Value::Null();
  return MakeString(ctx, TrimRight(TrimLeft(s)));
}

// NCHAR(code): the character with that code point; NULL outside
// 0..0x10FFFF (documented) and for the surrogates U+D800..U+DFFF, which
// UTF-8 cannot represent.
Value Nchar(const Value* args, int, CallContext& ctx) {
  if (args[0].is_null()) return Value::Null();
  int64_t code = 0;
  if (!IntArg(args[0], "NCHAR", "code point", ctx, &code)) {
    return Value::Null();
  }
  if (code < 0 || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
    return Value::Null();
  }
  std::string out;
  AppendUtf8(static_cast<char32_t>(code), &out);
  return MakeString(ctx, out);
}

// UNICODE(s): the code point of the first character; NULL for '' (SQL
// Server).
Value Unicode(const Value* args, int, CallContext& ctx) {
  if (args[0].is_null()) return Value::Null();
  std::string_view s;
  if (!StringArg(args[0], "UNICODE", ctx, &s)) return Value::Null();
  if (s.empty()) return Value::Null();
  size_t pos = 0;
  return Value::Bigint(static_cast<int64_t>(DecodeUtf8(s, &pos)));
}

// PATINDEX(pattern, s): the 1-based position where the LIKE pattern first
// matches, 0 if nowhere. As in SQL Server, a pattern not starting with '%'
// must match at position 1, and one not ending with '%' must match up to the
// end of `s`: the result is the first position p such that the pattern,
// without its leading '%'s, matches all of s[p..].
Value Patindex(const Value* args, int, CallContext& ctx) {
  if (AnyNull(args, 2)) return Value::Null();
  std::string_view pattern;
  std::string_view s;
  if (!StringArg(args[0], "PATINDEX", ctx, &pattern) || !StringArg(args[1], "PATINDEX", ctx, &s)) {
    return Value::Null();
  }
  if (pattern.empty() || pattern.front() != '%') {
    return Value::Bigint(LikePattern::Compile(pattern).Matches(s) ? 1 : 0);
  }
  while (!pattern.empty() && pattern.front() == '%') pattern.remove_prefix(1);
  // Only '%'s: matches at position 1 of any non-empty string.
  if (pattern.empty()) return Value::Bigint(s.empty() ? 0 : 1);
  const LikePattern compiled = LikePattern::Compile(pattern);
  int64_t position = 1;
  for (size_t pos = 0; pos < s.size(); ++position) {
    if (compiled.Matches(s.substr(pos))) return Value::Bigint(position);
    DecodeUtf8(s, &pos);
  }
  return Value::Bigint(0);
}

// REGEXMATCH(s, pattern): documented as a single-line, case-insensitive,
// ECMAScript regular expression; returns the 1-based position of the first
// match, 0 when there is none or when the pattern is invalid (documented).
//
// std::wregex runs over code points (wchar_t is UTF-32 on the platforms
// Sluice supports), so '.' matches one character and the position counts
// code points. "Single-line" is read as "not multiline": ^ and $ anchor at
// the ends of the whole string, and '.' does not match line terminators
// (ECMAScript's default).
const std::locale& RegexLocale() {
  static const std::locale* locale = [] {
    // std::locale reports a missing locale only by throwing.
    try {
      return new std::locale("C.UTF-8");
    } catch (const std::runtime_error&) {
      return new std::locale(std::locale::classic());
    }
  }();
  return *locale;
}

std::wstring ToWide(std::string_view s) {
  std::wstring w;
  w.reserve(s.size());
  for (size_t pos = 0; pos < s.size();) {
    w.push_back(static_cast<wchar_t>(DecodeUtf8(s, &pos)));
  }
  return w;
}

// libstdc++ runs ECMAScript patterns with a backtracking matcher that
// recurses once per input character, so a long subject overflows the stack
// (about 50,000 characters for "(a|b)*c" in an optimized build, a few
// thousand under AddressSanitizer). Its "polynomial" mode (an extension)
// uses a breadth-first matcher whose recursion is bounded by the pattern
// size; the first match position is the same in both modes. That mode
// rejects back-references, so patterns with them fall back to backtracking,
// limited to subjects of kMaxBacktrackingChars characters.
#if defined(__GLIBCXX__)
constexpr std::regex_constants::syntax_option_type kPolynomial = std::regex_constants::__polynomial;
#else
constexpr std::regex_constants::syntax_option_type kPolynomial = {};
#endif
constexpr size_t kMaxBacktrackingChars = 1000;

struct CompiledRegex {
  std::string pattern;
  std::optional<std::wregex> regex;  // nullopt: the pattern is invalid
  bool backtracking = false;         // compiled without kPolynomial
};

// Compiles `pattern`; nullopt when it is invalid. The standard library
// reports an invalid pattern only by throwing.
std::optional<std::wregex> CompileRegex(const std::wstring& pattern,
                                        std::regex_constants::syntax_option_type extra_flags) {
  try {
    std::wregex re;
    re.imbue(RegexLocale());
    re.assign(pattern,
              std::regex_constants::ECMAScript | std::regex_constants::icase | extra_flags);
    return re;
  } catch (const std::regex_error&) {
    return std::nullopt;
  }
}

// A few recently used patterns per thread: REGEXMATCH's pattern is nearly
// always a literal, so one entry would do; a handful covers several
// REGEXMATCH calls in one query.
const CompiledRegex& GetRegex(std::string_view pattern) {
  constexpr size_t kCacheSize = 8;
  thread_local std::vector<CompiledRegex> cache;
  thread_local size_t next_victim = 0;
  // Reserved up front so that entries never move: callers hold a reference.
  if (cache.capacity() < kCacheSize) cache.reserve(kCacheSize);
  for (const CompiledRegex& c : cache) {
    if (c.pattern == pattern) return c;
  }
  CompiledRegex entry;
  entry.pattern = std::string(pattern);
  const std::wstring wide = ToWide(pattern);
  entry.regex = CompileRegex(wide, kPolynomial);
  if (!entry.regex) {
    entry.regex = CompileRegex(wide, {});
    entry.backtracking = true;
  }
  if (cache.size() < kCacheSize) {
    cache.push_back(std::move(entry));
    return cache.back();
  }
  CompiledRegex& slot = cache[next_victim];
  next_victim = (next_victim + 1) % kCacheSize;
  slot = std::move(entry);
  return slot;
}

Value Regexmatch(const Value* args, int, CallContext& ctx) {
  if (AnyNull(args, 2)) return Value::Null();
  std::string_view s;
  std::string_view pattern;
  if (!StringArg(args[0], "REGEXMATCH", ctx, &s) ||
      !StringArg(args[1], "REGEXMATCH", ctx, &pattern)) {
    return Value::Null();
  }
  const CompiledRegex& compiled = GetRegex(pattern);
  if (!compiled.regex) return Value::Bigint(0);
  const std::wstring text = ToWide(s);
  if (compiled.backtracking && text.size() > kMaxBacktrackingChars) {
    return ctx.Fail(
        absl::StrCat("REGEXMATCH cannot apply a pattern with back-references to text "
                     "longer than ",
                     kMaxBacktrackingChars, " characters: ", ShortDebugString(args[1])));
  }
  std::wsmatch match;
  bool found = false;
  // Matching reports exceeding the library's internal limits by throwing.
  try {
    found = std::regex_search(text, match, *compiled.regex);
  } catch (const std::regex_error&) {
    return ctx.Fail(absl::StrCat("REGEXMATCH could not match the pattern (too complex): ",
                                 ShortDebugString(args[1])));
  }
  if (!found) return Value::Bigint(0);
  return Value::Bigint(static_cast<int64_t>(match.position(0)) + 1);
}

// REPLACE(s, pattern, replacement): every occurrence, left to right, without
// rescanning replaced text. An empty pattern returns `s` (documented).
Value Replace(const Value* args, int, CallContext& ctx) {
  if (AnyNull(args, 3)) return Value::Null();
  std::string_view s;
  std::string_view pattern;
  std::string_view replacement;
  if (!StringArg(args[0], "REPLACE", ctx, &s) || !StringArg(args[1], "REPLACE", ctx, &pattern) ||
      !StringArg(args[2], "REPLACE", ctx, &replacement)) {
    return Value::Null();
  }
  if (pattern.empty()) return MakeString(ctx, s);
  std::string out;
  size_t pos = 0;
  while (true) {
    const size_t found = s.find(pattern, pos);
    if (found == std::string_view::npos) break;
    out.append(s.substr(pos, found - pos));
    out.append(replacement);
    if (out.size() > kMaxResultBytes) return TooLong(ctx, "REPLACE", out.size());
    pos = found + pattern.size();
  }
  out.append(s.substr(pos));
  return MakeString(ctx, out);
}

// REPLICATE(s, n): NULL for a negative n (documented).
Value Replicate(const Value* args, int, CallContext& ctx) {
  if (AnyNull(args, 2)) return Value::Null();
  std::string_view s;
  int64_t count = 0;
  if (!StringArg(args[0], "REPLICATE", ctx, &s) ||
      !IntArg(args[1], "REPLICATE", "count", ctx, &count)) {
    return Value::Null();
  }
  if (count < 0) return Value::Null();
  if (s.empty() || count == 0) return Value::String(std::string_view());
  if (static_cast<uint64_t>(count) > kMaxResultBytes / s.size()) {
    return ctx.Fail(absl::StrCat("REPLICATE result is too long (limit ", kMaxResultBytes,
                                 " bytes): ", count, " copies of ", s.size(), " bytes"));
  }
  const size_t total = s.size() * static_cast<size_t>(count);
  char* dst = static_cast<char*>(ctx.arena()->Allocate(total, 1));
  for (int64_t i = 0; i < count; ++i) {
    std::copy(s.begin(), s.end(), dst + i * s.size());
  }
  return Value::String(std::string_view(dst, total));
}

// REVERSE(s): code points in reverse order.
Value Reverse(const Value* args, int, CallContext& ctx) {
  if (args[0].is_null()) return Value::Null();
  std::string_view s;
  if (!StringArg(args[0], "REVERSE", ctx, &s)) return Value::Null();
  char* dst = static_cast<char*>(ctx.arena()->Allocate(s.size() + 1, 1));
  size_t end = s.size();
  for (size_t pos = 0; pos < s.size();) {
    const size_t start = pos;
    DecodeUtf8(s, &pos);
    const size_t length = pos - start;
    end -= length;
    std::copy(s.data() + start, s.data() + pos, dst + end);
  }
  return Value::String(std::string_view(dst, s.size()));
}

// SPACE(n): n spaces; NULL for a negative n (documented).
Value Space(const Value* args, int, CallContext& ctx) {
  if (args[0].is_null()) return Value::Null();
  int64_t count = 0;
  if (!IntArg(args[0], "SPACE", "count", ctx, &count)) return Value::Null();
  if (count < 0) return Value::Null();
  if (static_cast<uint64_t>(count) > kMaxResultBytes) {
    return TooLong(ctx, "SPACE", static_cast<size_t>(count));
  }
  if (count == 0) return Value::String(std::string_view());
  char* dst = static_cast<char*>(ctx.arena()->Allocate(count, 1));
  std::fill(dst, dst + count, ' ');
  return Value::String(std::string_view(dst, static_cast<size_t>(count)));
}

// STUFF(s, start, length, inserted): deletes `length` characters at `start`
// and inserts `inserted` there. Documented: a negative length is an error, a
// start below 1 counts as 1, a start past the end gives ''. (SQL Server
// returns NULL in the last two cases; ASA's page says otherwise.) A NULL
// `inserted` deletes without inserting (SQL Server).
Value Stuff(const Value* args, int, CallContext& ctx) {
  if (AnyNull(args, 3)) return Value::Null();
  std::string_view s;
  int64_t start = 0;
  int64_t length = 0;
  std::string_view inserted;
  if (!StringArg(args[0], "STUFF", ctx, &s) || !IntArg(args[1], "STUFF", "start", ctx, &start) ||
      !IntArg(args[2], "STUFF", "length", ctx, &length) ||
      (!args[3].is_null() && !StringArg(args[3], "STUFF", ctx, &inserted))) {
    return Value::Null();
  }
  if (length < 0) {
    return ctx.Fail(absl::StrCat("STUFF expects a non-negative length: ", length));
  }
  const int64_t count = static_cast<int64_t>(CountCodePoints(s));
  if (start > count) return Value::String(std::string_view());
  start = std::max<int64_t>(start, 1);
  const size_t cut_begin = ByteOffset(s, start - 1);
  const size_t cut_end = cut_begin + ByteOffset(s.substr(cut_begin), length);
  std::string out;
  out.reserve(s.size() - (cut_end - cut_begin) + inserted.size());
  out.append(s.substr(0, cut_begin));
  out.append(inserted);
  out.append(s.substr(cut_end));
  if (out.size() > kMaxResultBytes) return TooLong(ctx, "STUFF", out.size());
  return MakeString(ctx, out);
}

// SUBSTRING(s, start, length), 1-based. Documented: a start below 1 still
// counts the positions before 1 against `length` (SUBSTRING('abc', 0, 2) is
// 'a'); a start past the end gives ''; a negative length is an error.
Value Substring(const Value* args, int, CallContext& ctx) {
  if (AnyNull(args, 3)) return Value::Null();
  std::string_view s;
  int64_t start = 0;
  int64_t length = 0;
  if (!StringArg(args[0], "SUBSTRING", ctx, &s) ||
      !IntArg(args[1], "SUBSTRING", "start", ctx, &start) ||
      !IntArg(args[2], "SUBSTRING", "length", ctx, &length)) {
    return Value::Null();
  }
  if (length < 0) {
    return ctx.Fail(absl::StrCat("SUBSTRING expects a non-negative length: ", length));
  }
  // 0-based [first, end).
  const int64_t first = SaturatingAdd(start, -1);
  const int64_t end = SaturatingAdd(first, length);
  return MakeString(ctx, CodePointRange(s, first, end));
}

// TRANSLATE(s, characters, translations): replaces each character of
// `characters` by the character at the same position in `translations`.
// Different lengths are an error (documented). When a character appears
// twice in `characters`, its first position wins (SQL Server).
Value Translate(const Value* args, int, CallContext& ctx) {
  if (AnyNull(args, 3)) return Value::Null();
  std::string_view s;
  std::string_view from;
  std::string_view to;
  if (!StringArg(args[0], "TRANSLATE", ctx, &s) || !StringArg(args[1], "TRANSLATE", ctx, &from) ||
      !StringArg(args[2], "TRANSLATE", ctx, &to)) {
    return Value::Null();
  }
  std::vector<char32_t> from_cps;
  std::vector<char32_t> to_cps;
  for (size_t pos = 0; pos < from.size();) {
    from_cps.push_back(DecodeUtf8(from, &pos));
  }
  for (size_t pos = 0; pos < to.size();) to_cps.push_back(DecodeUtf8(to, &pos));
  if (from_cps.size() != to_cps.size()) {
    return ctx.Fail(absl::StrCat(
        "TRANSLATE expects characters and translations of the same length: ", from_cps.size(),
        " and ", to_cps.size()));
  }
  std::string out;
  out.reserve(s.size());
  for (size_t pos = 0; pos < s.size();) {
    char32_t c = DecodeUtf8(s, &pos);
    auto it = std::find(from_cps.begin(), from_cps.end(), c);
    if (it != from_cps.end()) c = to_cps[it - from_cps.begin()];
    AppendUtf8(c, &out);
  }
  if (out.size() > kMaxResultBytes) {
    return TooLong(ctx, "TRANSLATE", out.size());
  }
  return MakeString(ctx, out);
}

constexpr ScalarFunction kStringFunctions[] = {
    {"charindex", 2, 3, &Charindex},
    {"concat", 2, -1, &Concat},
    {"concat_ws", 3, -1, &ConcatWs},
    {"left", 2, 2, &Left},
    {"len", 1, 1, &Len},
    {"lower", 1, 1, &Lower},
    {"ltrim", 1, 1, &Ltrim},
    {"nchar", 1, 1, &Nchar},
    {"patindex", 2, 2, &Patindex},
    {"regexmatch", 2, 2, &Regexmatch},
    {"replace", 3, 3, &Replace},
    {"replicate", 2, 2, &Replicate},
    {"reverse", 1, 1, &Reverse},
    {"right", 2, 2, &Right},
    {"rtrim", 1, 1, &Rtrim},
    {"space", 1, 1, &Space},
    {"stuff", 4, 4, &Stuff},
    {"substring", 3, 3, &Substring},
    {"translate", 3, 3, &Translate},
    {"trim", 1, 1, &Trim},
    {"unicode", 1, 1, &Unicode},
    {"upper", 1, 1, &Upper},
};

}  // namespace

std::span<const ScalarFunction> StringFunctions() { return kStringFunctions; }

}  // namespace sluice

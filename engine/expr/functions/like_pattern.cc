#include "engine/expr/functions/like_pattern.h"

namespace sluice {
namespace {

constexpr char32_t kEscapedByteBase = 0xDC00;

bool IsContinuation(unsigned char b) { return (b & 0xC0) == 0x80; }

// Whether `cp` stands for a malformed input byte (see DecodeUtf8).
bool IsEscapedByte(char32_t cp) { return cp >= 0xDC80 && cp <= 0xDCFF; }

}  // namespace

char32_t DecodeUtf8(std::string_view s, size_t* pos) {
  const size_t i = *pos;
  const unsigned char b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    *pos = i + 1;
    return b0;
  }
  int length = 0;
  char32_t cp = 0;
  char32_t min_value = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    length = 2;
    cp = b0 & 0x1F;
    min_value = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    length = 3;
    cp = b0 & 0x0F;
    min_value = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    length = 4;
    cp = b0 & 0x07;
    min_value = 0x10000;
  }
  if (length == 0 || i + length > s.size()) {
    *pos = i + 1;
    return kEscapedByteBase + b0;
  }
  for (int k = 1; k < length; ++k) {
    const unsigned char b = static_cast<unsigned char>(s[i + k]);
    if (!IsContinuation(b)) {
      *pos = i + 1;
      return kEscapedByteBase + b0;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min_value || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    *pos = i + 1;
    return kEscapedByteBase + b0;
  }
  *pos = i + length;
  return cp;
}

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (IsEscapedByte(cp)) {
    out->push_back(static_cast<char>(cp - kEscapedByteBase));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

size_t CountCodePoints(std::string_view s) {
  size_t count = 0;
  size_t pos = 0;
  while (pos < s.size()) {
    DecodeUtf8(s, &pos);
    ++count;
  }
  return count;
}

LikePattern LikePattern::Compile(std::string_view pattern) {
  LikePattern p;
  std::vector<char32_t> cps;
  for (size_t pos = 0; pos < pattern.size();) {
    cps.push_back(DecodeUtf8(pattern, &pos));
  }
  for (size_t i = 0; i < cps.size(); ++i) {
    const char32_t c = cps[i];
    if (c == '%') {
      if (p.tokens_.empty() || p.tokens_.back().kind != Kind::kAnyRun) {
        p.tokens_.push_back(Token{Kind::kAnyRun});
      }
      continue;
    }
    if (c == '_') {
      p.tokens_.push_back(Token{Kind::kAnyOne});
      continue;
    }
    if (c == '[') {
      size_t start = i + 1;
      bool negated = false;
      if (start < cps.size() && cps[start] == '^') {
        negated = true;
        ++start;
      }
      size_t close = start;
      while (close < cps.size() && cps[close] != ']') ++close;
      if (close < cps.size()) {
        Token t{Kind::kSet};
        t.negated = negated;
        t.set_begin = static_cast<uint32_t>(p.ranges_.size());
        for (size_t k = start; k < close; ++k) {
          // "a-z" is a range; a '-' first or last in the set is literal.
          if (k + 2 < close && cps[k + 1] == '-') {
            p.ranges_.emplace_back(cps[k], cps[k + 2]);
            k += 2;
          } else {
            p.ranges_.emplace_back(cps[k], cps[k]);
          }
        }
        t.set_end = static_cast<uint32_t>(p.ranges_.size());
        p.tokens_.push_back(t);
        i = close;
        continue;
      }
      // No closing ']': an ordinary '['.
    }
    Token t{Kind::kLiteral};
    t.literal = c;
    p.tokens_.push_back(t);
  }

  // Recognize literal-only shapes, which reduce to plain byte comparisons.
  // Byte comparison is equivalent to code point comparison only for a
  // well-formed literal (see like_pattern.h), so malformed bytes keep the
  // general matcher.
  const size_t n = p.tokens_.size();
  const bool leading_run = n > 0 && p.tokens_.front().kind == Kind::kAnyRun;
  const bool trailing_run = n > 0 && p.tokens_.back().kind == Kind::kAnyRun;
  const size_t first = leading_run ? 1 : 0;
  const size_t last = (trailing_run && n > first) ? n - 1 : n;
  bool literal_only = true;
  std::string literal;
  for (size_t i = first; i < last; ++i) {
    const Token& t = p.tokens_[i];
    if (t.kind != Kind::kLiteral || IsEscapedByte(t.literal)) {
      literal_only = false;
      break;
    }
    AppendUtf8(t.literal, &literal);
  }
  if (literal_only) {
    p.literal_ = std::move(literal);
    if (first >= last) {
      p.shape_ = n == 0 ? Shape::kExact : Shape::kAll;
    } else if (leading_run && trailing_run) {
      p.shape_ = Shape::kContains;
    } else if (leading_run) {
      p.shape_ = Shape::kSuffix;
    } else if (trailing_run) {
      p.shape_ = Shape::kPrefix;
    } else {
      p.shape_ = Shape::kExact;
    }
  }
  return p;
}

bool LikePattern::Matches(std::string_view s) const {
  switch (shape_) {
    case Shape::kExact:
      return s == literal_;
    case Shape::kPrefix:
      return s.substr(0, literal_.size()) == literal_;
    case Shape::kSuffix:
      return s.size() >= literal_.size() && s.substr(s.size() - literal_.size()) == literal_;
    case Shape::kContains:
      return s.find(literal_) != std::string_view::npos;
    case Shape::kAll:
      return true;
    case Shape::kGeneral:
      break;
  }
  return MatchesGeneral(s);
}

bool LikePattern::TokenMatches(const Token& t, char32_t c) const {
  switch (t.kind) {
    case Kind::kAnyOne:
      return true;
    case Kind::kLiteral:
      return t.literal == c;
    case Kind::kSet: {
      bool in_set = false;
      for (uint32_t r = t.set_begin; r < t.set_end; ++r) {
        if (c >= ranges_[r].first && c <= ranges_[r].second) {
          in_set = true;
          break;
        }
      }
      return in_set != t.negated;
    }
    case Kind::kAnyRun:
      break;
  }
  return false;
}

// The classic wildcard matcher: advance through `s` one code point at a time;
// on a mismatch, go back to just after the most recent '%' and let it swallow
// one more code point. Only the most recent '%' needs remembering because
// every other token matches exactly one code point, so the worst case is
// O(|s| * |pattern|) with no recursion.
bool LikePattern::MatchesGeneral(std::string_view s) const {
  constexpr size_t kNone = static_cast<size_t>(-1);
  const size_t n = tokens_.size();
  size_t si = 0;
  size_t pi = 0;
  size_t run_pi = kNone;  // index of the last '%' seen
  size_t run_si = 0;      // where in `s` that '%' currently stops
  while (si < s.size()) {
    if (pi < n && tokens_[pi].kind == Kind::kAnyRun) {
      run_pi = pi++;
      run_si = si;
      continue;
    }
    if (pi < n) {
      size_t next = si;
      const char32_t c = DecodeUtf8(s, &next);
      if (TokenMatches(tokens_[pi], c)) {
        si = next;
        ++pi;
        continue;
      }
    }
    if (run_pi == kNone) return false;
    pi = run_pi + 1;
    DecodeUtf8(s, &run_si);
    si = run_si;
  }
  while (pi < n && tokens_[pi].kind == Kind::kAnyRun) ++pi;
  return pi == n;
}

}  // namespace sluice

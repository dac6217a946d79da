#include "engine/expr/functions/like_pattern.h"

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"

namespace sluice {
namespace {

bool Like(std::string_view s, std::string_view pattern) {
  return LikePattern::Compile(pattern).Matches(s);
}

TEST(Utf8Test, DecodesWellFormedText) {
  const std::string s = "a\u00e9\u8336\U0001F600";
  size_t pos = 0;
  EXPECT_EQ(DecodeUtf8(s, &pos), U'a');
  EXPECT_EQ(pos, 1u);
  EXPECT_EQ(DecodeUtf8(s, &pos), U'\u00e9');
  EXPECT_EQ(pos, 3u);
  EXPECT_EQ(DecodeUtf8(s, &pos), U'\u8336');
  EXPECT_EQ(pos, 6u);
  EXPECT_EQ(DecodeUtf8(s, &pos), U'\U0001F600');
  EXPECT_EQ(pos, 10u);
  EXPECT_EQ(CountCodePoints(s), 4u);
}

TEST(Utf8Test, MalformedBytesRoundTripOneByOne) {
  // Stray continuation, overlong '/', encoded surrogate, truncated sequence,
  // a byte that never appears in UTF-8.
  const std::string cases[] = {"\x80",     "\xC0\xAF", "\xED\xA0\x80",
                               "\xE6\x88", "\xFF",     "a\xF5\x80\x80\x80z"};
  for (const std::string& s : cases) {
    std::string out;
    size_t count = 0;
    for (size_t pos = 0; pos < s.size();) {
      AppendUtf8(DecodeUtf8(s, &pos), &out);
      ++count;
    }
    EXPECT_EQ(out, s);
    EXPECT_EQ(count, CountCodePoints(s));
  }
  // Each malformed byte is a character of its own.
  EXPECT_EQ(CountCodePoints("\xE6\x88"), 2u);
  EXPECT_EQ(CountCodePoints("\xC0\xAF"), 2u);
}

TEST(Utf8Test, EncodesEveryLength) {
  std::string out;
  AppendUtf8(U'A', &out);
  AppendUtf8(U'\u00e9', &out);
  AppendUtf8(U'\u8336', &out);
  AppendUtf8(U'\U0010FFFF', &out);
  EXPECT_EQ(out, "A\u00e9\u8336\U0010FFFF");
}

TEST(LikePatternTest, LiteralPatternsMatchWholeString) {
  EXPECT_TRUE(Like("abc", "abc"));
  EXPECT_FALSE(Like("abcd", "abc"));
  EXPECT_FALSE(Like("ab", "abc"));
  EXPECT_TRUE(Like("", ""));
  EXPECT_FALSE(Like("a", ""));
}

TEST(LikePatternTest, PercentMatchesAnyRun) {
  EXPECT_TRUE(Like("", "%"));
  EXPECT_TRUE(Like("anything", "%"));
  EXPECT_TRUE(Like("anything", "%%"));
  EXPECT_TRUE(Like("abcdef", "abc%"));
  EXPECT_FALSE(Like("xabcdef", "abc%"));
  EXPECT_TRUE(Like("xyzdef", "%def"));
  EXPECT_FALSE(Like("xyzdefx", "%def"));
  EXPECT_TRUE(Like("ABACUS", "%AC%"));  // the WHERE page example
  // The query-patterns article: LIKE 'A%9'.
  EXPECT_FALSE(Like("ABC-123", "A%9"));
  EXPECT_TRUE(Like("AAA-999", "A%9"));
  EXPECT_TRUE(Like("ABC-369", "A%9"));
  EXPECT_TRUE(Like("AC", "%AC%"));
  EXPECT_FALSE(Like("A C", "%AC%"));
  EXPECT_TRUE(Like("abc", "a%c"));
  EXPECT_TRUE(Like("ac", "a%c"));
  EXPECT_FALSE(Like("acb", "a%c"));
}

TEST(LikePatternTest, BacktracksOverEarlierPercent) {
  EXPECT_TRUE(Like("aXbXcX", "%a%b%c%"));
  EXPECT_TRUE(Like("abcabd", "%abd"));
  EXPECT_TRUE(Like("aaab", "%aab"));
  EXPECT_TRUE(Like("mississippi", "m%iss%pi"));
  EXPECT_FALSE(Like("mississippi", "m%iss%pix"));
  EXPECT_TRUE(Like("aa", "a%a"));
  EXPECT_FALSE(Like("a", "a%a"));
  EXPECT_TRUE(Like("aba", "a%a"));
}

TEST(LikePatternTest, UnderscoreMatchesExactlyOneCodePoint) {
  EXPECT_TRUE(Like("abc", "a_c"));
  EXPECT_FALSE(Like("ac", "a_c"));
  EXPECT_FALSE(Like("abbc", "a_c"));
  // One code point even when it takes several bytes.
  EXPECT_TRUE(Like("a\u00e9c", "a_c"));
  EXPECT_TRUE(Like("a\u8336c", "a_c"));
  EXPECT_TRUE(Like("a\U0001F600c", "a_c"));
  EXPECT_TRUE(Like("\u65e5\u672c", "__"));
  EXPECT_FALSE(Like("\u65e5\u672c", "___"));
  EXPECT_TRUE(Like("xyz", "%_"));
  EXPECT_FALSE(Like("", "%_"));
}

TEST(LikePatternTest, CharacterSets) {
  EXPECT_TRUE(Like("b", "[abc]"));
  EXPECT_FALSE(Like("d", "[abc]"));
  EXPECT_TRUE(Like("m", "[a-z]"));
  EXPECT_FALSE(Like("M", "[a-z]"));
  EXPECT_TRUE(Like("7", "[0-9]"));
  EXPECT_TRUE(Like("x9", "[a-z][0-9]"));
  EXPECT_TRUE(Like("d", "[^abc]"));
  EXPECT_FALSE(Like("a", "[^abc]"));
  EXPECT_FALSE(Like("", "[^abc]"));
  EXPECT_TRUE(Like("-", "[a-]"));  // '-' last is literal
  EXPECT_TRUE(Like("-", "[-a]"));
  EXPECT_TRUE(Like("\u00e9", "[\u00e0-\u00ff]"));
  EXPECT_TRUE(Like("\u00e9", "[^a-z]"));
  EXPECT_TRUE(Like("car", "[bc]ar"));
  EXPECT_TRUE(Like("plate 100", "%[0-9][0-9][0-9]%"));
  EXPECT_FALSE(Like("plate 10", "%[0-9][0-9][0-9]%"));
  EXPECT_FALSE(Like("z", "[z-a]"));  // empty range
}

TEST(LikePatternTest, BracketsEscapeWildcards) {
  EXPECT_TRUE(Like("50%", "50[%]"));
  EXPECT_FALSE(Like("500", "50[%]"));
  EXPECT_TRUE(Like("a_b", "a[_]b"));
  EXPECT_FALSE(Like("axb", "a[_]b"));
  EXPECT_TRUE(Like("[x", "[[]x"));
  // An unclosed '[' is an ordinary character.
  EXPECT_TRUE(Like("[abc", "[abc"));
  EXPECT_TRUE(Like("a[b", "a[b"));
  EXPECT_TRUE(Like("x]", "x]"));
}

TEST(LikePatternTest, IsCaseSensitive) {
  EXPECT_FALSE(Like("ABC", "abc"));
  EXPECT_FALSE(Like("Start", "start%"));
  EXPECT_FALSE(Like("\u00c9", "\u00e9"));
  EXPECT_TRUE(Like("Start", "S%"));
}

TEST(LikePatternTest, LiteralShapesAgreeWithCodePointMatching) {
  // A multi-byte character in the subject never matches a partial literal.
  EXPECT_TRUE(Like("caf\u00e9", "%\u00e9"));
  EXPECT_TRUE(Like("caf\u00e9 au lait", "%\u00e9 au%"));
  EXPECT_TRUE(Like("\u00e9t\u00e9", "\u00e9%"));
  // A malformed pattern byte matches only that byte as a character.
  EXPECT_FALSE(Like("\xC3\xA9", "%\xC3%"));
  EXPECT_TRUE(Like("a\xC3", "%\xC3"));
  EXPECT_TRUE(Like("\xFF\xFE", "__"));
}

TEST(LikePatternTest, CompiledPatternIsReusableAndMovable) {
  LikePattern p = LikePattern::Compile("%[0-9]_x");
  LikePattern moved = std::move(p);
  EXPECT_TRUE(moved.Matches("ab1zx"));
  EXPECT_FALSE(moved.Matches("ab1x"));
  EXPECT_TRUE(moved.Matches("9\u00e9x"));
}

TEST(LikePatternTest, LongInputsStayFast) {
  const std::string s(20000, 'a');
  EXPECT_FALSE(Like(s, "%a%a%a%a%b"));
  EXPECT_TRUE(Like(s + "b", "%a%a%a%a%b"));
  EXPECT_TRUE(Like(s, "%" + std::string(100, '_')));
}

// A direct recursive reading of the LIKE rules, for checking the matcher on
// random inputs over a small alphabet (ASCII only, so bytes are characters).
bool ReferenceLike(std::string_view s, std::string_view p) {
  if (p.empty()) return s.empty();
  if (p[0] == '%') {
    for (size_t k = 0; k <= s.size(); ++k) {
      if (ReferenceLike(s.substr(k), p.substr(1))) return true;
    }
    return false;
  }
  if (s.empty()) return false;
  if (p[0] == '[') {
    const bool negated = p.size() > 1 && p[1] == '^';
    const size_t close = p.find(']', negated ? 2 : 1);
    if (close != std::string_view::npos) {
      std::string_view set = p.substr(negated ? 2 : 1, close - (negated ? 2 : 1));
      bool in = false;
      for (size_t k = 0; k < set.size(); ++k) {
        if (k + 2 < set.size() && set[k + 1] == '-') {
          in = in || (s[0] >= set[k] && s[0] <= set[k + 2]);
          k += 2;
        } else {
          in = in || s[0] == set[k];
        }
      }
      return in != negated && ReferenceLike(s.substr(1), p.substr(close + 1));
    }
  }
  if (p[0] == '_' || p[0] == s[0]) {
    return ReferenceLike(s.substr(1), p.substr(1));
  }
  return false;
}

TEST(LikePatternTest, AgreesWithReferenceOnRandomInputs) {
  std::mt19937 rng(12345);
  const std::string subject_alphabet = "abc";
  const std::string pattern_alphabet = "abc%_[]^-";
  for (int iteration = 0; iteration < 20000; ++iteration) {
    std::string s;
    std::string p;
    const int s_len = static_cast<int>(rng() % 8);
    const int p_len = static_cast<int>(rng() % 7);
    for (int i = 0; i < s_len; ++i) {
      s.push_back(subject_alphabet[rng() % subject_alphabet.size()]);
    }
    for (int i = 0; i < p_len; ++i) {
      p.push_back(pattern_alphabet[rng() % pattern_alphabet.size()]);
    }
    ASSERT_EQ(Like(s, p), ReferenceLike(s, p)) << "subject '" << s << "' pattern '" << p << "'";
  }
}

}  // namespace
}  // namespace sluice

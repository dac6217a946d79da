// The string scalar functions (see functions_test_support.h for how
// results are compared).
#include <cmath>
#include <limits>
#include <set>
#include <string>

#include "gtest/gtest.h"
#include "tests/unit/engine/functions_test_support.h"

namespace sluice {
namespace {

using testing_support::FunctionsTest;

// ---------------------------------------------------------------------------
// Strings

TEST_F(FunctionsTest, Charindex) {
  EXPECT_EQ(Eval("charindex", {S("us"), S("Focus")}), "4");
  EXPECT_EQ(Eval("charindex", {S("b"), S("abc")}), "2");
  EXPECT_EQ(Eval("charindex", {S("z"), S("abc")}), "0");
  EXPECT_EQ(Eval("charindex", {S("A"), S("abc")}), "0");  // case-sensitive
  EXPECT_EQ(Eval("charindex", {S("a"), S("abca"), I(2)}), "4");
  EXPECT_EQ(Eval("charindex", {S("a"), S("abca"), I(0)}), "1");
  EXPECT_EQ(Eval("charindex", {S("a"), S("abca"), I(-5)}), "1");
  EXPECT_EQ(Eval("charindex", {S("a"), S("abca"), I(10)}), "0");
  EXPECT_EQ(Eval("charindex", {S(""), S("abc")}), "0");
  // Positions count characters, not bytes.
  EXPECT_EQ(Eval("charindex", {S("lait"), S("caf\u00e9 au lait")}), "9");
  EXPECT_EQ(Eval("charindex", {S("\u8336"), S("\u7d05\u8336")}), "2");
  EXPECT_EQ(Eval("charindex", {S("a"), S("\u00e9a\u00e9a"), I(3)}), "4");
  EXPECT_EQ(Eval("charindex", {N(), S("abc")}), "null");
  EXPECT_EQ(Eval("charindex", {S("a"), N()}), "null");
  EXPECT_EQ(Eval("charindex", {S("a"), S("abc"), N()}), "null");
  EXPECT_EQ(Eval("charindex", {S("a"), S("abc"), S("x")}),
            "error: CHARINDEX expects a bigint start: 'x'");
}

TEST_F(FunctionsTest, Concat) {
  EXPECT_EQ(Eval("concat", {S("Make:"), S("Ford"), S(" And Model:"), S("T")}),
            "'Make:Ford And Model:T'");
  EXPECT_EQ(Eval("concat", {S("Make: "), S("Contoso"), S(", Model: "), S("QRTZX22")}),
            "'Make: Contoso, Model: QRTZX22'");
  // NULL counts as '' and all-NULL gives '' (documented).
  EXPECT_EQ(Eval("concat", {S("a"), N(), S("b")}), "'ab'");
  EXPECT_EQ(Eval("concat", {N(), N()}), "''");
  // Other scalars convert to their CAST text.
  EXPECT_EQ(Eval("concat", {S("n="), I(5), S(" f="), F(1.5), S(" b="), B(true)}),
            "'n=5 f=1.5 b=true'");
  EXPECT_EQ(Eval("concat", {S("t="), Dt("2015-01-01T00:00:10Z")}),
            "'t=2015-01-01T00:00:10.0000000Z'");
  EXPECT_EQ(Eval("concat", {S("\u00e9"), S("\u8336")}), "'\u00e9\u8336'");
  EXPECT_EQ(Eval("concat", {S("x"), Array({I(1)})}), "error: CONCAT expects a string: [1]");
}

TEST_F(FunctionsTest, ConcatWs) {
  // The CONCAT_WS page's example.
  EXPECT_EQ(Eval("concat_ws",
                 {S(", "), S("1 Microsoft Way"), N(), S("Redmond"), S("WA"), S("98052"), N()}),
            "'1 Microsoft Way, Redmond, WA, 98052'");
  EXPECT_EQ(Eval("concat_ws", {S(","), N(), N()}), "''");
  EXPECT_EQ(Eval("concat_ws", {S("-"), S(""), S("b")}), "'-b'");
  EXPECT_EQ(Eval("concat_ws", {N(), S("a"), S("b")}), "'ab'");
  EXPECT_EQ(Eval("concat_ws", {S("/"), I(1), F(2.5)}), "'1/2.5'");
}

TEST_F(FunctionsTest, LeftAndRight) {
  EXPECT_EQ(Eval("left", {S("abcdefg"), I(2)}), "'ab'");   // documented
  EXPECT_EQ(Eval("right", {S("abcdefg"), I(2)}), "'fg'");  // documented
  EXPECT_EQ(Eval("left", {S("abc"), I(10)}), "'abc'");
  EXPECT_EQ(Eval("left", {S("abc"), I(0)}), "''");
  EXPECT_EQ(Eval("right", {S("abc"), I(5)}), "'abc'");
  EXPECT_EQ(Eval("right", {S("abc"), I(0)}), "''");
  EXPECT_EQ(Eval("left", {S("h\u00e9llo"), I(2)}), "'h\u00e9'");
  EXPECT_EQ(Eval("right", {S("h\u00e9llo w\u00f6rld"), I(5)}), "'w\u00f6rld'");
  EXPECT_EQ(Eval("left", {S("abc"), F(2.9)}), "'ab'");
  EXPECT_EQ(Eval("left", {S("abc"), I(-1)}), "error: LEFT expects a non-negative length: -1");
  EXPECT_EQ(Eval("right", {S("abc"), I(-1)}), "error: RIGHT expects a non-negative length: -1");
  EXPECT_EQ(Eval("left", {N(), I(2)}), "null");
  EXPECT_EQ(Eval("left", {S("abc"), N()}), "null");
}

TEST_F(FunctionsTest, LenExcludesTrailingBlanks) {
  EXPECT_EQ(Eval("len", {S("abc  ")}), "3");
  EXPECT_EQ(Eval("len", {S("  abc")}), "5");
  EXPECT_EQ(Eval("len", {S("")}), "0");
  EXPECT_EQ(Eval("len", {S("   ")}), "0");
  EXPECT_EQ(Eval("len", {S("\u65e5\u672c\u8a9e")}), "3");
  EXPECT_EQ(Eval("len", {S("\u00e9 ")}), "1");
  EXPECT_EQ(Eval("len", {S("a\t")}), "2");  // only blanks are excluded
  EXPECT_EQ(Eval("len", {I(12345)}), "5");
  EXPECT_EQ(Eval("len", {N()}), "null");
}

TEST_F(FunctionsTest, LowerAndUpperMapUnicode) {
  EXPECT_EQ(Eval("lower", {S("ABC D\u00c9J\u00c0 \u00c9T\u00c9")}),
            "'abc d\u00e9j\u00e0 \u00e9t\u00e9'");
  EXPECT_EQ(Eval("upper", {S("abc d\u00e9j\u00e0")}), "'ABC D\u00c9J\u00c0'");
  EXPECT_EQ(Eval("upper", {S("\u03b1\u03b2\u03b3")}), "'\u0391\u0392\u0393'");
  EXPECT_EQ(Eval("lower", {S("\u041f\u0420\u0418\u0412\u0415\u0422")}),
            "'\u043f\u0440\u0438\u0432\u0435\u0442'");
  EXPECT_EQ(Eval("upper", {S("stra\u00dfe")}), "'STRA\u00dfE'");  // simple
  EXPECT_EQ(Eval("upper", {S("123 \u8336!")}), "'123 \u8336!'");
  EXPECT_EQ(Eval("lower", {S("A\xFF"
                             "B")}),
            "'a\xFF"
            "b'");  // bytes kept
  EXPECT_EQ(Eval("lower", {N()}), "null");
  EXPECT_EQ(Eval("upper", {Record({})}), "error: UPPER expects a string: {}");
}

TEST_F(FunctionsTest, TrimFunctionsRemoveUnicodeWhiteSpace) {
  // The documented examples.
  EXPECT_EQ(Eval("ltrim", {S("      Left test")}), "'Left test'");
  EXPECT_EQ(Eval("rtrim", {S("Right test    ")}), "'Right test'");
  EXPECT_EQ(Eval("trim", {S("      a test    ")}), "'a test'");
  // The SPACE page's example: RTRIM('LastName  ') + ',' + SPACE(1) +
  // LTRIM('    FirstName').
  EXPECT_EQ(Eval("concat", {Call("rtrim", {S("LastName  ")}), S(","), Call("space", {I(1)}),
                            Call("ltrim", {S("    FirstName")})}),
            "'LastName, FirstName'");
  // White space beyond the ASCII space.
  EXPECT_EQ(Eval("trim", {S("\t\n\u00a0 x y \u3000\u2028\u2009\r")}), "'x y'");
  EXPECT_EQ(Eval("ltrim", {S("\u0085\u1680z ")}), "'z '");
  EXPECT_EQ(Eval("rtrim", {S(" z\u202f\u205f\u2029")}), "' z'");
  EXPECT_EQ(Eval("trim", {S("   ")}), "''");
  EXPECT_EQ(Eval("trim", {S("\u200b")}), "'\u200b'");  // not white space
  EXPECT_EQ(Eval("trim", {N()}), "null");
}

TEST_F(FunctionsTest, NcharAndUnicode) {
  EXPECT_EQ(Eval("nchar", {I(33590)}), "'\u8336'");    // documented
  EXPECT_EQ(Eval("unicode", {S("\u8336")}), "33590");  // documented
  EXPECT_EQ(Eval("nchar", {I(65)}), "'A'");
  EXPECT_EQ(Eval("nchar", {I(0x1F600)}), "'\U0001F600'");
  EXPECT_EQ(Eval("nchar", {I(0x10FFFF)}), "'\U0010FFFF'");
  EXPECT_EQ(Eval("nchar", {I(-1)}), "null");
  EXPECT_EQ(Eval("nchar", {I(0x110000)}), "null");
  EXPECT_EQ(Eval("nchar", {I(0xD800)}), "null");
  EXPECT_EQ(Eval("nchar", {N()}), "null");
  EXPECT_EQ(Eval("unicode", {S("abc")}), "97");
  EXPECT_EQ(Eval("unicode", {S("\U0001F600")}), "128512");
  EXPECT_EQ(Eval("unicode", {S("")}), "null");
  EXPECT_EQ(Eval("unicode", {N()}), "null");
  // NCHAR(UNICODE('茶')), the documented round trip.
  EXPECT_EQ(Eval("nchar", {Call("unicode", {S("\u8336")})}), "'\u8336'");
}

TEST_F(FunctionsTest, Patindex) {
  EXPECT_EQ(Eval("patindex", {S("%100%"), S("AB100CD")}), "3");  // doc query
  EXPECT_EQ(Eval("patindex", {S("%ter%"), S("interesting")}), "3");
  EXPECT_EQ(Eval("patindex", {S("abc%"), S("abcdef")}), "1");
  EXPECT_EQ(Eval("patindex", {S("bcd%"), S("abcdef")}), "0");
  EXPECT_EQ(Eval("patindex", {S("abc"), S("abc")}), "1");
  EXPECT_EQ(Eval("patindex", {S("abc"), S("abcd")}), "0");
  EXPECT_EQ(Eval("patindex", {S("%def"), S("abcdef")}), "4");
  EXPECT_EQ(Eval("patindex", {S("%def"), S("defdef")}), "4");
  EXPECT_EQ(Eval("patindex", {S("%[0-9]%"), S("ab12")}), "3");
  EXPECT_EQ(Eval("patindex", {S("%_\u00e9%"), S("aa\u00e9")}), "2");
  EXPECT_EQ(Eval("patindex", {S("%lait%"), S("caf\u00e9 au lait")}), "9");
  EXPECT_EQ(Eval("patindex", {S("%z%"), S("abc")}), "0");
  EXPECT_EQ(Eval("patindex", {S("%"), S("abc")}), "1");
  EXPECT_EQ(Eval("patindex", {S("%a%"), S("")}), "0");
  EXPECT_EQ(Eval("patindex", {N(), S("abc")}), "null");
  EXPECT_EQ(Eval("patindex", {S("%a%"), N()}), "null");
}

TEST_F(FunctionsTest, Regexmatch) {
  EXPECT_EQ(Eval("regexmatch", {S("ABC123"), S("[0-9][0-9][0-9]")}), "4");
  EXPECT_EQ(Eval("regexmatch", {S("ABC12"), S("[0-9][0-9][0-9]")}), "0");
  // Case-insensitive (documented), also beyond ASCII.
  EXPECT_EQ(Eval("regexmatch", {S("Say Hello"), S("hello")}), "5");
  EXPECT_EQ(Eval("regexmatch", {S("\u00c9COLE"), S("\u00e9cole")}), "1");
  // Positions count characters.
  EXPECT_EQ(Eval("regexmatch", {S("caf\u00e9!"), S("!")}), "5");
  EXPECT_EQ(Eval("regexmatch", {S("\u00e9t\u00e9"), S("t.$")}), "2");
  // Single-line: ^ and $ anchor at the ends of the whole string.
  EXPECT_EQ(Eval("regexmatch", {S("ab\ncd"), S("^cd")}), "0");
  EXPECT_EQ(Eval("regexmatch", {S("ab\ncd"), S("b$")}), "0");
  EXPECT_EQ(Eval("regexmatch", {S("ab\ncd"), S("cd$")}), "4");
  EXPECT_EQ(Eval("regexmatch", {S(""), S("^$")}), "1");
  // An invalid pattern gives 0 (documented).
  EXPECT_EQ(Eval("regexmatch", {S("abc"), S("(")}), "0");
  EXPECT_EQ(Eval("regexmatch", {S("abc"), S("[a-")}), "0");
  // NULL if either argument is NULL (documented).
  EXPECT_EQ(Eval("regexmatch", {N(), S("a")}), "null");
  EXPECT_EQ(Eval("regexmatch", {S("a"), N()}), "null");
}

TEST_F(FunctionsTest, RegexmatchHandlesLongSubjects) {
  // Long enough to overflow the stack of a backtracking matcher.
  const std::string long_text = std::string(200000, 'a') + "c";
  EXPECT_EQ(Eval("regexmatch", {S(long_text), S("(a|b)*c")}), "1");
  EXPECT_EQ(Eval("regexmatch", {S(long_text), S("c$")}), "200001");
  EXPECT_EQ(Eval("regexmatch", {S(long_text), S("[0-9][0-9][0-9]")}), "0");
  // Back-references (ECMAScript) work, on subjects of bounded length.
  EXPECT_EQ(Eval("regexmatch", {S("xyzabab"), S("(ab)\\1")}), "4");
  EXPECT_EQ(Eval("regexmatch", {S("xyzABab"), S("(ab)\\1")}), "4");
  EXPECT_EQ(Eval("regexmatch", {S(long_text), S("(a)\\1")}),
            "error: REGEXMATCH cannot apply a pattern with back-references to "
            "text longer than 1000 characters: '(a)\\1'");
  // Lookahead works too.
  EXPECT_EQ(Eval("regexmatch", {S("price: 100 EUR"), S("[0-9]+(?= EUR)")}), "8");
}

TEST_F(FunctionsTest, RegexmatchCacheServesManyPatterns) {
  // More distinct patterns than the cache holds, each used repeatedly.
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 20; ++i) {
      const std::string digits = std::to_string(i);
      EXPECT_EQ(Eval("regexmatch", {S("x" + digits), S("^x" + digits + "$")}), "1");
      EXPECT_EQ(Eval("regexmatch", {S("y" + digits), S("^x" + digits + "$")}), "0");
    }
    EXPECT_EQ(Eval("regexmatch", {S("abc"), S("(")}), "0");
  }
}

TEST_F(FunctionsTest, ReplaceDocumentedVectors) {
  EXPECT_EQ(Eval("replace", {S("abcde"), S("cd"), S("xx")}), "'abxxe'");
  EXPECT_EQ(Eval("replace", {S("cdabcd"), S("cd"), S("x")}), "'xabx'");
  EXPECT_EQ(Eval("replace", {S("cd"), S("cd"), S("xxx")}), "'xxx'");
  EXPECT_EQ(Eval("replace", {S("abcde"), S("gh"), S("xx")}), "'abcde'");
  EXPECT_EQ(Eval("replace", {S("abcde"), S("cde"), S("")}), "'ab'");
  EXPECT_EQ(Eval("replace", {S("abcde"), S(""), S("xxx")}), "'abcde'");
  EXPECT_EQ(Eval("replace", {S(""), S("cde"), S("xxx")}), "''");
  EXPECT_EQ(Eval("replace", {N(), S("cde"), S("xxx")}), "null");
  EXPECT_EQ(Eval("replace", {S("abcde"), N(), S("xxx")}), "null");
  EXPECT_EQ(Eval("replace", {S("abcde"), S("cde"), N()}), "null");
}

TEST_F(FunctionsTest, ReplaceMore) {
  EXPECT_EQ(Eval("replace", {S("aaaa"), S("aa"), S("a")}), "'aa'");
  EXPECT_EQ(Eval("replace", {S("aaa"), S("a"), S("aa")}), "'aaaaaa'");
  EXPECT_EQ(Eval("replace", {S("Abc abc"), S("abc"), S("x")}), "'Abc x'");
  EXPECT_EQ(Eval("replace", {S("caf\u00e9"), S("\u00e9"), S("e")}), "'cafe'");
}

TEST_F(FunctionsTest, Replicate) {
  EXPECT_EQ(Eval("replicate", {S("0"), I(3)}), "'000'");
  EXPECT_EQ(Eval("replicate", {S("ab"), I(2)}), "'abab'");
  EXPECT_EQ(Eval("replicate", {S("\u00e9"), I(2)}), "'\u00e9\u00e9'");
  EXPECT_EQ(Eval("replicate", {S("ab"), I(0)}), "''");
  EXPECT_EQ(Eval("replicate", {S("ab"), I(-1)}), "null");  // documented
  EXPECT_EQ(Eval("replicate", {N(), I(2)}), "null");
  EXPECT_TRUE(Fails("replicate", {S("ab"), I(INT64_MAX)}));
  // The REPLICATE page's table (its query says 4 - LEN, the table needs 5):
  // CONCAT(REPLICATE('0', 5 - LEN(x)), x).
  const std::pair<std::string_view, std::string_view> rows[] = {
      {"T", "0000T"}, {"1222X", "1222X"}, {"99A", "0099A"}, {"123456789", "123456789"}};
  for (const auto& [line, code] : rows) {
    const Value x = S(line);
    const Value padding = Call("replicate", {S("0"), I(5 - Call("len", {x}).bigint())});
    EXPECT_EQ(Eval("concat", {padding, x}), "'" + std::string(code) + "'");
  }
}

TEST_F(FunctionsTest, Reverse) {
  EXPECT_EQ(Eval("reverse", {S("abcdefg")}), "'gfedcba'");  // documented
  EXPECT_EQ(Eval("reverse", {S("a\u00f1b\U0001F600")}), "'\U0001F600b\u00f1a'");
  EXPECT_EQ(Eval("reverse", {S("")}), "''");
  EXPECT_EQ(Eval("reverse", {N()}), "null");
}

TEST_F(FunctionsTest, Space) {
  EXPECT_EQ(Eval("space", {I(3)}), "'   '");
  EXPECT_EQ(Eval("space", {I(0)}), "''");
  EXPECT_EQ(Eval("space", {I(-1)}), "null");  // documented
  EXPECT_EQ(Eval("space", {N()}), "null");
  EXPECT_TRUE(Fails("space", {I(INT64_MAX)}));
}

TEST_F(FunctionsTest, Stuff) {
  EXPECT_EQ(Eval("stuff", {S("abcdef"), I(2), I(3), S("ijklmn")}),
            "'aijklmnef'");  // documented
  EXPECT_EQ(Eval("stuff", {S("abc"), I(2), I(0), S("x")}), "'axbc'");
  EXPECT_EQ(Eval("stuff", {S("abc"), I(2), I(10), S("x")}), "'ax'");
  EXPECT_EQ(Eval("stuff", {S("abc"), I(3), I(1), S("xy")}), "'abxy'");
  EXPECT_EQ(Eval("stuff", {S("abc"), I(0), I(1), S("x")}), "'xbc'");
  EXPECT_EQ(Eval("stuff", {S("abc"), I(4), I(1), S("x")}), "''");
  EXPECT_EQ(Eval("stuff", {S("abc"), I(2), I(1), N()}), "'ac'");
  EXPECT_EQ(Eval("stuff", {S("h\u00e9llo"), I(2), I(1), S("e")}), "'hello'");
  EXPECT_EQ(Eval("stuff", {S("abc"), I(1), I(-1), S("x")}),
            "error: STUFF expects a non-negative length: -1");
  EXPECT_EQ(Eval("stuff", {N(), I(1), I(1), S("x")}), "null");
  EXPECT_EQ(Eval("stuff", {S("abc"), N(), I(1), S("x")}), "null");
}

TEST_F(FunctionsTest, Substring) {
  EXPECT_EQ(Eval("substring", {S("abcdef"), I(2), I(3)}), "'bcd'");
  EXPECT_EQ(Eval("substring", {S("abcdefg"), I(2), I(4)}), "'bcde'");
  EXPECT_EQ(Eval("substring", {S("abcdefg"), I(0), I(3)}), "'ab'");
  EXPECT_EQ(Eval("substring", {S("ABC123"), I(1), I(3)}), "'ABC'");
  // start < 1: start + length - 1 characters from the beginning.
  EXPECT_EQ(Eval("substring", {S("abc"), I(0), I(2)}), "'a'");
  EXPECT_EQ(Eval("substring", {S("abc"), I(-1), I(3)}), "'a'");
  EXPECT_EQ(Eval("substring", {S("abc"), I(-5), I(3)}), "''");
  EXPECT_EQ(Eval("substring", {S("abc"), I(5), I(1)}), "''");
  EXPECT_EQ(Eval("substring", {S("abc"), I(2), I(100)}), "'bc'");
  EXPECT_EQ(Eval("substring", {S("abc"), I(2), I(0)}), "''");
  EXPECT_EQ(Eval("substring", {S("\u65e5\u672c\u8a9e\u30c6\u30ad\u30b9\u30c8"), I(3), I(2)}),
            "'\u8a9e\u30c6'");
  EXPECT_EQ(Eval("substring", {S("abc"), I(INT64_MAX), I(INT64_MAX)}), "''");
  EXPECT_EQ(Eval("substring", {S("abc"), I(INT64_MIN), I(INT64_MAX)}), "''");
  EXPECT_EQ(Eval("substring", {S("abc"), I(1), I(-1)}),
            "error: SUBSTRING expects a non-negative length: -1");
  EXPECT_EQ(Eval("substring", {N(), I(1), I(1)}), "null");
  EXPECT_EQ(Eval("substring", {S("abc"), I(1), N()}), "null");
}

TEST_F(FunctionsTest, Translate) {
  // The TRANSLATE page's examples.
  EXPECT_EQ(Eval("translate", {S("2*[3+4]/{7-2}"), S("[]{}"), S("()()")}), "'2*(3+4)/(7-2)'");
  EXPECT_EQ(Eval("translate", {S("[137.4,72.3]"), S("[,]"), S("( )")}), "'(137.4 72.3)'");
  // No character is translated twice.
  EXPECT_EQ(Eval("translate", {S("abc"), S("ab"), S("ba")}), "'bac'");
  EXPECT_EQ(Eval("translate", {S("caf\u00e9"), S("\u00e9"), S("e")}), "'cafe'");
  EXPECT_EQ(Eval("translate", {S("abc"), S("ab"), S("x")}),
            "error: TRANSLATE expects characters and translations of the "
            "same length: 2 and 1");
  EXPECT_EQ(Eval("translate", {N(), S("a"), S("b")}), "null");
  EXPECT_EQ(Eval("translate", {S("a"), N(), S("b")}), "null");
}

}  // namespace
}  // namespace sluice

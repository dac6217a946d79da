// Tests of the scalar functions, called by name through FindScalarFunction.
//
// Results are compared as DebugString text: strings print single-quoted,
// floats always with a fraction or exponent ("1.0", "1e+20") and bigints
// without, datetimes as double-quoted ISO text, so the text pins down the
// result type as well as the value. A failed row prints as
// "error: <message>".
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/arena.h"
#include "engine/core/datetime.h"
#include "engine/core/value.h"
#include "engine/expr/scalar_function.h"
#include "gtest/gtest.h"

namespace sluice {
namespace {

class FunctionsTest : public ::testing::Test {
 protected:
  // Calls function `name`, returning the result as DebugString text or
  // "error: <message>" when the call failed the row.
  std::string Eval(std::string_view name, std::vector<Value> args) {
    const ScalarFunction* f = FindScalarFunction(name);
    if (f == nullptr) return "no such function";
    const int n = static_cast<int>(args.size());
    if (n < f->min_args || (f->max_args >= 0 && n > f->max_args)) {
      return "wrong argument count";
    }
    CallContext ctx(&arena_);
    const Value v = f->impl(args.data(), n, ctx);
    if (ctx.failed()) {
      EXPECT_TRUE(v.is_null()) << "a failed call must return NULL";
      EXPECT_FALSE(ctx.error().empty());
      return "error: " + ctx.error();
    }
    return DebugString(v);
  }

  // Calls a function that must succeed and returns its result, for nesting
  // calls as a query would.
  Value Call(std::string_view name, std::vector<Value> args) {
    const ScalarFunction* f = FindScalarFunction(name);
    EXPECT_NE(f, nullptr) << name;
    if (f == nullptr) return Value::Null();
    CallContext ctx(&arena_);
    const Value v = f->impl(args.data(), static_cast<int>(args.size()), ctx);
    EXPECT_FALSE(ctx.failed()) << ctx.error();
    return v;
  }

  // Like Eval, for checks that only care that the row failed.
  bool Fails(std::string_view name, std::vector<Value> args) {
    return Eval(name, std::move(args)).rfind("error: ", 0) == 0;
  }

  // Calls a function that must succeed and return a float.
  double EvalFloat(std::string_view name, std::vector<Value> args) {
    const ScalarFunction* f = FindScalarFunction(name);
    EXPECT_NE(f, nullptr);
    if (f == nullptr) return std::nan("");
    CallContext ctx(&arena_);
    const Value v = f->impl(args.data(), static_cast<int>(args.size()), ctx);
    EXPECT_FALSE(ctx.failed()) << ctx.error();
    EXPECT_EQ(v.type(), ValueType::kFloat);
    return v.float_value();
  }

  Value S(std::string_view s) { return Value::String(arena_.CopyString(s)); }
  static Value I(int64_t i) { return Value::Bigint(i); }
  static Value F(double d) { return Value::Float(d); }
  static Value B(bool b) { return Value::Bit(b); }
  static Value N() { return Value::Null(); }
  Value Dt(std::string_view text) {
    std::optional<int64_t> ticks = ParseDatetime(text);
    EXPECT_TRUE(ticks.has_value()) << text;
    return Value::Datetime(ticks.value_or(0));
  }
  // The expected DebugString of a datetime.
  static std::string DtText(std::string_view text) {
    return "\"" + FormatDatetime(*ParseDatetime(text)) + "\"";
  }

  Value Array(std::vector<Value> items) {
    Value* out = arena_.AllocateArray<Value>(items.size());
    for (size_t i = 0; i < items.size(); ++i) out[i] = items[i];
    return Value::Array(out, static_cast<uint32_t>(items.size()));
  }
  Value Record(std::vector<RecordField> fields) {
    RecordField* out = arena_.AllocateArray<RecordField>(fields.size());
    for (size_t i = 0; i < fields.size(); ++i) out[i] = fields[i];
    return Value::Record(out, static_cast<uint32_t>(fields.size()));
  }

  Arena arena_;
};

// ---------------------------------------------------------------------------
// Registry

TEST_F(FunctionsTest, RegistersEveryFunctionWithItsArity) {
  struct Expected {
    std::string_view name;
    int min_args;
    int max_args;
  };
  const Expected expected[] = {
      {"abs", 1, 1},
      {"ceiling", 1, 1},
      {"exp", 1, 1},
      {"floor", 1, 1},
      {"power", 2, 2},
      {"round", 2, 2},
      {"sign", 1, 1},
      {"sqrt", 1, 1},
      {"square", 1, 1},
      {"charindex", 2, 3},
      {"concat", 2, -1},
      {"concat_ws", 3, -1},
      {"left", 2, 2},
      {"len", 1, 1},
      {"lower", 1, 1},
      {"ltrim", 1, 1},
      {"nchar", 1, 1},
      {"patindex", 2, 2},
      {"regexmatch", 2, 2},
      {"replace", 3, 3},
      {"replicate", 2, 2},
      {"reverse", 1, 1},
      {"right", 2, 2},
      {"rtrim", 1, 1},
      {"space", 1, 1},
      {"stuff", 4, 4},
      {"substring", 3, 3},
      {"translate", 3, 3},
      {"trim", 1, 1},
      {"unicode", 1, 1},
      {"upper", 1, 1},
      {"dateadd", 3, 3},
      {"datediff", 3, 3},
      {"datename", 2, 2},
      {"datepart", 2, 2},
      {"datetimefromparts", 7, 7},
      {"day", 1, 1},
      {"month", 1, 1},
      {"year", 1, 1},
      {"gettype", 1, 1},
      {"getrecordpropertyvalue", 2, 2},
      {"getarrayelement", 2, 2},
      {"getarraylength", 1, 1},
  };
  for (const Expected& e : expected) {
    const ScalarFunction* f = FindScalarFunction(e.name);
    ASSERT_NE(f, nullptr) << e.name;
    EXPECT_EQ(f->name, e.name);
    EXPECT_EQ(f->min_args, e.min_args) << e.name;
    EXPECT_EQ(f->max_args, e.max_args) << e.name;
  }
  EXPECT_EQ(FindScalarFunction("ABS"), nullptr);  // names are lower case
  std::set<std::string_view> names;
  for (const ScalarFunction* f : AllScalarFunctions()) {
    EXPECT_TRUE(names.insert(f->name).second) << "duplicate " << f->name;
  }
}

// ---------------------------------------------------------------------------
// Math

TEST_F(FunctionsTest, RoundDocumentedVectors) {
  EXPECT_EQ(Eval("round", {I(1), I(0)}), "1");
  EXPECT_EQ(Eval("round", {I(0), I(0)}), "0");
  EXPECT_EQ(Eval("round", {I(-1), I(0)}), "-1");
  EXPECT_EQ(Eval("round", {F(1.0), I(0)}), "1.0");
  EXPECT_EQ(Eval("round", {F(0.5), I(0)}), "1.0");
  EXPECT_EQ(Eval("round", {F(-0.5), I(0)}), "-1.0");
  EXPECT_EQ(Eval("round", {F(1.234), I(2)}), "1.23");
  EXPECT_EQ(Eval("round", {F(1.234), I(10)}), "1.234");
  EXPECT_EQ(Eval("round", {F(123.4), I(-1)}), "120.0");
  EXPECT_EQ(Eval("round", {F(123.4), I(-10)}), "0.0");
  EXPECT_EQ(Eval("round", {F(501.0101), I(-3)}), "1000.0");
  EXPECT_EQ(Eval("round", {F(123.9995), I(3)}), "124.0");
  // The input-validation article's ROUND(readingNum, 2) outputs.
  EXPECT_EQ(Eval("round", {F(1.7145), I(2)}), "1.71");
  EXPECT_EQ(Eval("round", {F(2.378), I(2)}), "2.38");
  EXPECT_EQ(Eval("round", {F(-4.85436), I(2)}), "-4.85");
  EXPECT_EQ(Eval("round", {F(1.2126), I(2)}), "1.21");
}

TEST_F(FunctionsTest, RoundFloatRoundsTheDecimalHalfAwayFromZero) {
  // Binary doubles just below the written decimal still round up.
  EXPECT_EQ(Eval("round", {F(1.005), I(2)}), "1.01");
  EXPECT_EQ(Eval("round", {F(-1.005), I(2)}), "-1.01");
  EXPECT_EQ(Eval("round", {F(2.675), I(2)}), "2.68");
  EXPECT_EQ(Eval("round", {F(0.285), I(2)}), "0.29");
  EXPECT_EQ(Eval("round", {F(1.45), I(1)}), "1.5");
  EXPECT_EQ(Eval("round", {F(2.5), I(0)}), "3.0");
  EXPECT_EQ(Eval("round", {F(-2.5), I(0)}), "-3.0");
  EXPECT_EQ(Eval("round", {F(0.49999999999999994), I(0)}), "0.0");
  EXPECT_EQ(Eval("round", {F(-0.4), I(0)}), "0.0");  // not -0.0
  EXPECT_EQ(Eval("round", {F(0.001), I(1)}), "0.0");
  EXPECT_EQ(Eval("round", {F(99.5), I(0)}), "100.0");
  EXPECT_EQ(Eval("round", {F(9.995), I(2)}), "10.0");
  EXPECT_EQ(Eval("round", {F(1e300), I(-299)}), "1e+300");
  EXPECT_EQ(Eval("round", {F(1e-300), I(300)}), "1e-300");
  EXPECT_EQ(Eval("round", {F(1.5e-300), I(300)}), "2e-300");
  EXPECT_EQ(Eval("round", {F(123.456), I(INT64_MAX)}), "123.456");
  EXPECT_EQ(Eval("round", {F(123.456), I(INT64_MIN)}), "0.0");
  EXPECT_EQ(Eval("round", {F(0.0), I(2)}), "0.0");
  // A float length is truncated toward zero.
  EXPECT_EQ(Eval("round", {F(1.25), F(1.9)}), "1.3");
  // Rounding up past the largest double overflows.
  EXPECT_EQ(Eval("round", {F(1.7976931348623157e308), I(-308)}),
            "error: ROUND result is out of the float range or undefined: "
            "ROUND(1.7976931348623157e+308, -308)");
}

TEST_F(FunctionsTest, RoundBigintKeepsTheType) {
  EXPECT_EQ(Eval("round", {I(15), I(-1)}), "20");
  EXPECT_EQ(Eval("round", {I(-15), I(-1)}), "-20");
  EXPECT_EQ(Eval("round", {I(14), I(-1)}), "10");
  EXPECT_EQ(Eval("round", {I(-14), I(-1)}), "-10");
  EXPECT_EQ(Eval("round", {I(123456), I(-3)}), "123000");
  EXPECT_EQ(Eval("round", {I(123456), I(2)}), "123456");
  EXPECT_EQ(Eval("round", {I(4000000000000000000), I(-19)}), "0");
  EXPECT_EQ(Eval("round", {I(INT64_MAX), I(-25)}), "0");
  EXPECT_EQ(Eval("round", {I(INT64_MIN), I(-18)}), "-9000000000000000000");
  EXPECT_EQ(Eval("round", {I(INT64_MAX), I(-1)}),
            "error: ROUND result is out of the bigint range: "
            "ROUND(9223372036854775807, -1)");
  EXPECT_TRUE(Fails("round", {I(INT64_MIN), I(-1)}));
  EXPECT_TRUE(Fails("round", {I(INT64_MAX), I(-19)}));
}

TEST_F(FunctionsTest, RoundNullsAndWrongTypes) {
  EXPECT_EQ(Eval("round", {N(), I(1)}), "null");
  EXPECT_EQ(Eval("round", {F(1.5), N()}), "null");
  // Text holding a number is read as a float (ASA's implicit conversion);
  // other text is still rejected.
  EXPECT_EQ(Eval("round", {S("1.5"), I(1)}), "1.5");
  EXPECT_EQ(Eval("round", {F(1.5), S("1")}), "1.5");
  EXPECT_EQ(Eval("round", {S("NaN"), I(1)}), "error: ROUND expects a number: 'NaN'");
  EXPECT_EQ(Eval("round", {F(1.5), S("one")}), "error: ROUND expects a bigint length: 'one'");
}

TEST_F(FunctionsTest, Abs) {
  EXPECT_EQ(Eval("abs", {I(-5)}), "5");
  EXPECT_EQ(Eval("abs", {I(5)}), "5");
  EXPECT_EQ(Eval("abs", {F(-2.5)}), "2.5");
  EXPECT_EQ(Eval("abs", {I(INT64_MAX)}), "9223372036854775807");
  EXPECT_EQ(Eval("abs", {N()}), "null");
  EXPECT_EQ(Eval("abs", {I(INT64_MIN)}),
            "error: ABS result is out of the bigint range: "
            "ABS(-9223372036854775808)");
  EXPECT_EQ(Eval("abs", {S("abc")}), "error: ABS expects a number: 'abc'");
  EXPECT_EQ(Eval("abs", {B(true)}), "error: ABS expects a number: true");
}

TEST_F(FunctionsTest, CeilingAndFloorKeepTheType) {
  EXPECT_EQ(Eval("ceiling", {F(1.2)}), "2.0");
  EXPECT_EQ(Eval("ceiling", {F(-1.2)}), "-1.0");
  EXPECT_EQ(Eval("ceiling", {F(-0.5)}), "0.0");
  EXPECT_EQ(Eval("ceiling", {I(5)}), "5");
  EXPECT_EQ(Eval("floor", {F(1.8)}), "1.0");
  EXPECT_EQ(Eval("floor", {F(-1.2)}), "-2.0");
  EXPECT_EQ(Eval("floor", {I(-7)}), "-7");
  EXPECT_EQ(Eval("floor", {N()}), "null");
  EXPECT_EQ(Eval("ceiling", {S("x")}), "error: CEILING expects a number: 'x'");
}

TEST_F(FunctionsTest, Exp) {
  EXPECT_EQ(Eval("exp", {I(0)}), "1.0");
  EXPECT_DOUBLE_EQ(EvalFloat("exp", {I(1)}), std::exp(1.0));
  EXPECT_EQ(Eval("exp", {F(-1000)}), "0.0");
  EXPECT_EQ(Eval("exp", {I(1000)}),
            "error: EXP result is out of the float range or undefined: "
            "EXP(1000)");
  EXPECT_EQ(Eval("exp", {N()}), "null");
}

TEST_F(FunctionsTest, PowerKeepsTheTypeOfTheBase) {
  EXPECT_EQ(Eval("power", {I(2), I(10)}), "1024");
  EXPECT_EQ(Eval("power", {I(3), I(0)}), "1");
  EXPECT_EQ(Eval("power", {I(0), I(0)}), "1");
  EXPECT_EQ(Eval("power", {I(-2), I(63)}), "-9223372036854775808");
  EXPECT_EQ(Eval("power", {I(-3), I(3)}), "-27");
  EXPECT_EQ(Eval("power", {I(1), I(INT64_MAX)}), "1");
  EXPECT_EQ(Eval("power", {I(-1), I(INT64_MAX)}), "-1");
  EXPECT_EQ(Eval("power", {I(2), I(-1)}), "0");
  EXPECT_EQ(Eval("power", {I(-1), I(-3)}), "-1");
  EXPECT_EQ(Eval("power", {I(4), F(0.5)}), "2");
  EXPECT_EQ(Eval("power", {I(10), F(2.5)}), "316");
  EXPECT_EQ(Eval("power", {F(2.0), I(3)}), "8.0");
  EXPECT_EQ(Eval("power", {F(2.5), F(2)}), "6.25");
  EXPECT_DOUBLE_EQ(EvalFloat("power", {F(2.0), F(0.5)}), std::sqrt(2.0));
  EXPECT_EQ(Eval("power", {I(2), I(63)}),
            "error: POWER result is out of the bigint range: POWER(2, 63)");
  EXPECT_TRUE(Fails("power", {I(10), I(19)}));
  EXPECT_TRUE(Fails("power", {I(3), I(INT64_MAX)}));
  EXPECT_TRUE(Fails("power", {I(0), I(-1)}));
  EXPECT_TRUE(Fails("power", {F(-8.0), F(1.0 / 3)}));
  EXPECT_TRUE(Fails("power", {F(10.0), I(400)}));
  EXPECT_TRUE(Fails("power", {F(0.0), I(-1)}));
  EXPECT_EQ(Eval("power", {N(), I(2)}), "null");
  EXPECT_EQ(Eval("power", {I(2), N()}), "null");
  EXPECT_EQ(Eval("power", {S("2"), I(2)}), "4.0");
}

TEST_F(FunctionsTest, Sign) {
  EXPECT_EQ(Eval("sign", {I(-5)}), "-1");
  EXPECT_EQ(Eval("sign", {I(0)}), "0");
  EXPECT_EQ(Eval("sign", {I(7)}), "1");
  EXPECT_EQ(Eval("sign", {F(-2.5)}), "-1.0");
  EXPECT_EQ(Eval("sign", {F(0.0)}), "0.0");
  EXPECT_EQ(Eval("sign", {F(1e-300)}), "1.0");
  EXPECT_EQ(Eval("sign", {N()}), "null");
}

TEST_F(FunctionsTest, SqrtAndSquareReturnFloat) {
  EXPECT_EQ(Eval("sqrt", {I(4)}), "2.0");
  EXPECT_EQ(Eval("sqrt", {F(2.25)}), "1.5");
  EXPECT_EQ(Eval("sqrt", {F(0.0)}), "0.0");
  EXPECT_EQ(Eval("sqrt", {I(-1)}), "error: SQRT of a negative number: -1");
  EXPECT_EQ(Eval("sqrt", {N()}), "null");
  EXPECT_EQ(Eval("square", {I(3)}), "9.0");
  EXPECT_EQ(Eval("square", {F(1.5)}), "2.25");
  EXPECT_EQ(Eval("square", {F(-3)}), "9.0");
  EXPECT_EQ(Eval("square", {I(INT64_MAX)}), "8.507059173023462e+37");
  EXPECT_EQ(Eval("square", {F(1e200)}),
            "error: SQUARE result is out of the float range or undefined: "
            "SQUARE(1e+200)");
  EXPECT_EQ(Eval("square", {S("3")}), "9.0");
}

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

// ---------------------------------------------------------------------------
// Date and time

TEST_F(FunctionsTest, DateaddAddsTheDatepart) {
  const Value t = Dt("2014-09-10T10:20:30.1234567Z");
  EXPECT_EQ(Eval("dateadd", {S("hour"), I(2), t}), DtText("2014-09-10T12:20:30.1234567Z"));
  EXPECT_EQ(Eval("dateadd", {S("minute"), I(-30), t}), DtText("2014-09-10T09:50:30.1234567Z"));
  EXPECT_EQ(Eval("dateadd", {S("second"), I(30), t}), DtText("2014-09-10T10:21:00.1234567Z"));
  EXPECT_EQ(Eval("dateadd", {S("millisecond"), I(1), t}), DtText("2014-09-10T10:20:30.1244567Z"));
  EXPECT_EQ(Eval("dateadd", {S("microsecond"), I(1), t}), DtText("2014-09-10T10:20:30.1234577Z"));
  EXPECT_EQ(Eval("dateadd", {S("nanosecond"), I(50), t}), DtText("2014-09-10T10:20:30.1234568Z"));
  EXPECT_EQ(Eval("dateadd", {S("nanosecond"), I(49), t}), DtText("2014-09-10T10:20:30.1234567Z"));
  EXPECT_EQ(Eval("dateadd", {S("day"), I(30), t}), DtText("2014-10-10T10:20:30.1234567Z"));
  EXPECT_EQ(Eval("dateadd", {S("dayofyear"), I(1), t}), DtText("2014-09-11T10:20:30.1234567Z"));
  EXPECT_EQ(Eval("dateadd", {S("weekday"), I(1), t}), DtText("2014-09-11T10:20:30.1234567Z"));
  EXPECT_EQ(Eval("dateadd", {S("week"), I(2), t}), DtText("2014-09-24T10:20:30.1234567Z"));
  EXPECT_EQ(Eval("dateadd", {S("quarter"), I(1), t}), DtText("2014-12-10T10:20:30.1234567Z"));
  EXPECT_EQ(Eval("dateadd", {S("year"), I(-14), t}), DtText("2000-09-10T10:20:30.1234567Z"));
  // Abbreviations are accepted as well.
  EXPECT_EQ(Eval("dateadd", {S("hh"), I(2), t}), DtText("2014-09-10T12:20:30.1234567Z"));
}

TEST_F(FunctionsTest, DateaddMonthClampsToTheMonthEnd) {
  EXPECT_EQ(Eval("dateadd", {S("month"), I(1), Dt("2016-01-31T08:00:00Z")}),
            DtText("2016-02-29T08:00:00Z"));
  EXPECT_EQ(Eval("dateadd", {S("month"), I(1), Dt("2015-01-31")}), DtText("2015-02-28"));
  EXPECT_EQ(Eval("dateadd", {S("month"), I(-1), Dt("2015-03-31")}), DtText("2015-02-28"));
  EXPECT_EQ(Eval("dateadd", {S("month"), I(2), Dt("2015-12-31")}), DtText("2016-02-29"));
  EXPECT_EQ(Eval("dateadd", {S("month"), I(-13), Dt("2015-01-15")}), DtText("2013-12-15"));
  EXPECT_EQ(Eval("dateadd", {S("year"), I(1), Dt("2016-02-29")}), DtText("2017-02-28"));
  EXPECT_EQ(Eval("dateadd", {S("year"), I(4), Dt("2016-02-29")}), DtText("2020-02-29"));
  EXPECT_EQ(Eval("dateadd", {S("quarter"), I(1), Dt("2015-11-30")}), DtText("2016-02-29"));
}

TEST_F(FunctionsTest, DateaddTruncatesAFractionalNumber) {
  const Value t = Dt("2015-06-15T12:00:00Z");
  EXPECT_EQ(Eval("dateadd", {S("day"), F(1.9), t}), DtText("2015-06-16T12:00:00Z"));
  EXPECT_EQ(Eval("dateadd", {S("day"), F(-1.9), t}), DtText("2015-06-14T12:00:00Z"));
  EXPECT_EQ(Eval("dateadd", {S("month"), F(0.99), t}), DtText("2015-06-15T12:00:00Z"));
}

TEST_F(FunctionsTest, DateaddAcceptsDateStringsAndChecksRange) {
  EXPECT_EQ(Eval("dateadd", {S("hour"), I(2), S("2014-09-10 12:00:00")}),
            DtText("2014-09-10T14:00:00Z"));
  EXPECT_EQ(Eval("dateadd", {S("day"), I(1), S("1969-12-31")}), DtText("1970-01-01"));
  EXPECT_EQ(Eval("dateadd", {S("year"), I(1), Dt("9999-06-01")}),
            "error: DATEADD result is outside years 1..9999: "
            "DATEADD('year', 1, \"9999-06-01T00:00:00.0000000Z\")");
  EXPECT_TRUE(Fails("dateadd", {S("year"), I(-1), Dt("0001-06-01")}));
  EXPECT_TRUE(Fails("dateadd", {S("day"), I(1), Dt("9999-12-31T12:00:00Z")}));
  EXPECT_TRUE(Fails("dateadd", {S("day"), I(INT64_MAX), Dt("2015-01-01")}));
  EXPECT_TRUE(Fails("dateadd", {S("month"), I(INT64_MIN), Dt("2015-01-01")}));
  // The largest nanosecond count moves a date by only 292 years.
  EXPECT_EQ(Eval("year", {Call("dateadd", {S("nanosecond"), I(INT64_MAX), Dt("2015-01-01")})}),
            "2307");
  EXPECT_EQ(Eval("dateadd", {S("second"), I(-1), Dt("0001-01-01")}),
            "error: DATEADD result is outside years 1..9999: "
            "DATEADD('second', -1, \"0001-01-01T00:00:00.0000000Z\")");
}

TEST_F(FunctionsTest, DateaddNullsAndErrors) {
  EXPECT_EQ(Eval("dateadd", {S("day"), N(), Dt("2015-01-01")}), "null");
  EXPECT_EQ(Eval("dateadd", {S("day"), I(1), N()}), "null");
  EXPECT_EQ(Eval("dateadd", {S("day"), I(1), S("garbage")}),
            "error: DATEADD expects a datetime: 'garbage'");
  EXPECT_EQ(Eval("dateadd", {S("day"), I(1), I(20150101)}),
            "error: DATEADD expects a datetime: 20150101");
  EXPECT_EQ(Eval("dateadd", {S("day"), S("x"), Dt("2015-01-01")}),
            "error: DATEADD expects a bigint: 'x'");
  EXPECT_EQ(Eval("dateadd", {S("fortnight"), I(1), Dt("2015-01-01")}),
            "error: DATEADD got an unknown datepart: 'fortnight'");
}

TEST_F(FunctionsTest, DatediffCountsBoundariesCrossed) {
  // The DATEDIFF page's example: DATEDIFF(minute, t, DATEADD(hour, 2, t)).
  const Value t = Dt("2014-09-10T10:17:23.5Z");
  EXPECT_EQ(Eval("datediff", {S("minute"), t, Dt("2014-09-10T12:17:23.5Z")}), "120");
  EXPECT_EQ(
      Eval("datediff", {S("year"), Dt("2015-12-31T23:59:59.9999999Z"), Dt("2016-01-01T00:00:00Z")}),
      "1");
  EXPECT_EQ(Eval("datediff", {S("year"), Dt("2016-01-01"), Dt("2016-12-31")}), "0");
  EXPECT_EQ(Eval("datediff", {S("year"), Dt("2016-12-31"), Dt("2015-01-01")}), "-1");
  EXPECT_EQ(Eval("datediff", {S("quarter"), Dt("2015-03-31"), Dt("2015-04-01")}), "1");
  EXPECT_EQ(Eval("datediff", {S("quarter"), Dt("2014-12-31"), Dt("2016-01-01")}), "5");
  EXPECT_EQ(Eval("datediff", {S("month"), Dt("2015-01-31"), Dt("2015-02-01")}), "1");
  EXPECT_EQ(Eval("datediff", {S("month"), Dt("2015-12-15"), Dt("2015-01-15")}), "-11");
  EXPECT_EQ(Eval("datediff", {S("day"), Dt("2016-02-28"), Dt("2016-03-01")}),
            "2");  // leap year
  EXPECT_EQ(Eval("datediff", {S("day"), Dt("2015-02-28"), Dt("2015-03-01")}), "1");
  EXPECT_EQ(Eval("datediff", {S("day"), Dt("2015-01-01T23:59:59Z"), Dt("2015-01-02T00:00:01Z")}),
            "1");
  EXPECT_EQ(Eval("datediff", {S("dayofyear"), Dt("2015-12-31"), Dt("2016-01-01")}), "1");
  EXPECT_EQ(Eval("datediff", {S("weekday"), Dt("2015-01-01"), Dt("2015-01-08")}), "7");
  // Weeks start on Sunday: 2015-01-03 is a Saturday.
  EXPECT_EQ(Eval("datediff", {S("week"), Dt("2015-01-03"), Dt("2015-01-04")}), "1");
  EXPECT_EQ(Eval("datediff", {S("week"), Dt("2015-01-04"), Dt("2015-01-10")}), "0");
  EXPECT_EQ(Eval("datediff", {S("week"), Dt("2015-01-10"), Dt("2015-01-04")}), "0");
  EXPECT_EQ(Eval("datediff", {S("hour"), Dt("2015-01-01T00:59:59Z"), Dt("2015-01-01T01:00:00Z")}),
            "1");
  EXPECT_EQ(Eval("datediff", {S("second"), Dt("2015-01-01T00:00:10Z"), Dt("2015-01-01T00:00:00Z")}),
            "-10");
  EXPECT_EQ(Eval("datediff", {S("millisecond"), Dt("2015-01-01T00:00:00.0009Z"),
                              Dt("2015-01-01T00:00:00.001Z")}),
            "1");
  EXPECT_EQ(
      Eval("datediff", {S("microsecond"), Dt("2015-01-01T00:00:00Z"), Dt("2015-01-01T00:00:01Z")}),
      "1000000");
  EXPECT_EQ(
      Eval("datediff", {S("nanosecond"), Dt("2015-01-01T00:00:00Z"), Dt("2015-01-01T00:00:01Z")}),
      "1000000000");
  // Before 1970 (negative ticks) boundaries are still floor-aligned.
  EXPECT_EQ(Eval("datediff", {S("day"), Dt("1969-12-31T23:00:00Z"), Dt("1970-01-01T01:00:00Z")}),
            "1");
  EXPECT_EQ(Eval("datediff", {S("hour"), Dt("1969-12-31T22:30:00Z"), Dt("1969-12-31T23:10:00Z")}),
            "1");
  EXPECT_EQ(Eval("datediff", {S("year"), Dt("0001-01-01"), Dt("9999-12-31T23:59:59.9999999Z")}),
            "9998");
  EXPECT_EQ(Eval("datediff", {S("day"), S("2015-01-01"), S("2015-01-31")}), "30");
  // Worked values from the query-patterns article.
  EXPECT_EQ(Eval("datediff", {S("second"), Dt("2015-01-01T00:00:01Z"), Dt("2015-01-01T00:00:08Z")}),
            "7");
  EXPECT_EQ(Eval("datediff", {S("second"), Dt("2015-01-01T00:00:00Z"), Dt("2015-01-01T00:01:10Z")}),
            "70");
}

TEST_F(FunctionsTest, DatediffNullsAndErrors) {
  EXPECT_EQ(Eval("datediff", {S("day"), N(), Dt("2015-01-01")}), "null");
  EXPECT_EQ(Eval("datediff", {S("day"), Dt("2015-01-01"), N()}), "null");
  EXPECT_EQ(Eval("datediff", {S("day"), F(1.5), Dt("2015-01-01")}),
            "error: DATEDIFF expects a datetime: 1.5");
  EXPECT_EQ(Eval("datediff", {S("nanosecond"), Dt("0001-01-01"), Dt("9999-12-31")}),
            "error: DATEDIFF result is out of the bigint range: nanoseconds "
            "between \"0001-01-01T00:00:00.0000000Z\" and "
            "\"9999-12-31T00:00:00.0000000Z\"");
}

TEST_F(FunctionsTest, DatepartReturnsEachPart) {
  const Value t = Dt("2016-12-31T13:14:15.1234567Z");  // a Saturday
  EXPECT_EQ(Eval("datepart", {S("year"), t}), "2016");
  EXPECT_EQ(Eval("datepart", {S("quarter"), t}), "4");
  EXPECT_EQ(Eval("datepart", {S("month"), t}), "12");
  EXPECT_EQ(Eval("datepart", {S("dayofyear"), t}), "366");
  EXPECT_EQ(Eval("datepart", {S("day"), t}), "31");
  EXPECT_EQ(Eval("datepart", {S("week"), t}), "53");
  EXPECT_EQ(Eval("datepart", {S("weekday"), t}), "7");
  EXPECT_EQ(Eval("datepart", {S("hour"), t}), "13");
  EXPECT_EQ(Eval("datepart", {S("minute"), t}), "14");
  EXPECT_EQ(Eval("datepart", {S("second"), t}), "15");
  EXPECT_EQ(Eval("datepart", {S("millisecond"), t}), "123");
  EXPECT_EQ(Eval("datepart", {S("microsecond"), t}), "123456");
  EXPECT_EQ(Eval("datepart", {S("nanosecond"), t}), "123456700");
}

TEST_F(FunctionsTest, DatepartWeekAndWeekdayFollowSqlServerDefaults) {
  // 2015-01-01 is a Thursday, 2015-01-04 a Sunday.
  EXPECT_EQ(Eval("datepart", {S("week"), Dt("2015-01-01")}), "1");
  EXPECT_EQ(Eval("datepart", {S("week"), Dt("2015-01-03")}), "1");
  EXPECT_EQ(Eval("datepart", {S("week"), Dt("2015-01-04")}), "2");
  EXPECT_EQ(Eval("datepart", {S("week"), Dt("2015-12-31")}), "53");
  EXPECT_EQ(Eval("datepart", {S("week"), Dt("2017-01-01")}), "1");  // Sunday
  EXPECT_EQ(Eval("datepart", {S("week"), Dt("2017-01-08")}), "2");
  EXPECT_EQ(Eval("datepart", {S("weekday"), Dt("2015-01-04")}), "1");
  EXPECT_EQ(Eval("datepart", {S("weekday"), Dt("2015-01-05")}), "2");
  EXPECT_EQ(Eval("datepart", {S("weekday"), Dt("1970-01-01")}), "5");
  EXPECT_EQ(Eval("datepart", {S("weekday"), Dt("1969-12-28")}), "1");
  EXPECT_EQ(Eval("datepart", {S("weekday"), Dt("0001-01-01")}), "2");
  EXPECT_EQ(Eval("datepart", {S("dayofyear"), Dt("2016-02-29")}), "60");
  EXPECT_EQ(Eval("datepart", {S("dayofyear"), Dt("2015-03-01")}), "60");
  EXPECT_EQ(Eval("datepart", {S("dw"), Dt("2015-01-04")}), "1");
}

TEST_F(FunctionsTest, DatepartNullsAndErrors) {
  EXPECT_EQ(Eval("datepart", {S("day"), N()}), "null");
  EXPECT_EQ(Eval("datepart", {S("day"), S("2015-13-01")}),
            "error: DATEPART expects a datetime: '2015-13-01'");
  EXPECT_EQ(Eval("datepart", {S("era"), Dt("2015-01-01")}),
            "error: DATEPART got an unknown datepart: 'era'");
}

TEST_F(FunctionsTest, Datename) {
  const Value t = Dt("2016-02-29T08:05:09Z");  // a Monday
  EXPECT_EQ(Eval("datename", {S("month"), t}), "'February'");
  EXPECT_EQ(Eval("datename", {S("weekday"), t}), "'Monday'");
  EXPECT_EQ(Eval("datename", {S("year"), t}), "'2016'");
  EXPECT_EQ(Eval("datename", {S("day"), t}), "'29'");
  EXPECT_EQ(Eval("datename", {S("minute"), t}), "'5'");
  EXPECT_EQ(Eval("datename", {S("month"), Dt("2015-12-01")}), "'December'");
  EXPECT_EQ(Eval("datename", {S("weekday"), Dt("2015-01-04")}), "'Sunday'");
  EXPECT_EQ(Eval("datename", {S("weekday"), Dt("2015-01-10")}), "'Saturday'");
  EXPECT_EQ(Eval("datename", {S("month"), N()}), "null");
}

TEST_F(FunctionsTest, DayMonthYear) {
  const Value t = Dt("2014-09-10T12:00:00Z");
  EXPECT_EQ(Eval("day", {t}), "10");
  EXPECT_EQ(Eval("month", {t}), "9");
  EXPECT_EQ(Eval("year", {t}), "2014");
  EXPECT_EQ(Eval("year", {S("1969-12-31T23:59:59Z")}), "1969");
  EXPECT_EQ(Eval("day", {N()}), "null");
  EXPECT_EQ(Eval("month", {B(true)}), "error: MONTH expects a datetime: true");
}

TEST_F(FunctionsTest, Datetimefromparts) {
  // The DATETIMEFROMPARTS page's example, with DATEPART(minute, ...) + 10 = 25.
  EXPECT_EQ(Eval("datetimefromparts", {I(2014), I(9), I(10), I(12), I(25), I(0), I(0)}),
            DtText("2014-09-10T12:25:00Z"));
  EXPECT_EQ(Eval("datetimefromparts", {I(2016), I(2), I(29), I(23), I(59), I(59), I(999)}),
            DtText("2016-02-29T23:59:59.999Z"));
  EXPECT_EQ(Eval("datetimefromparts", {I(1), I(1), I(1), I(0), I(0), I(0), I(0)}),
            DtText("0001-01-01T00:00:00Z"));
  EXPECT_EQ(Eval("datetimefromparts", {I(2015), I(2), I(29), I(0), I(0), I(0), I(0)}),
            "error: DATETIMEFROMPARTS arguments do not form a valid datetime: "
            "2015, 2, 29, 0, 0, 0, 0");
  EXPECT_TRUE(Fails("datetimefromparts", {I(2015), I(1), I(1), I(12), I(60), I(0), I(0)}));
  EXPECT_TRUE(Fails("datetimefromparts", {I(10000), I(1), I(1), I(0), I(0), I(0), I(0)}));
  EXPECT_TRUE(Fails("datetimefromparts", {I(2015), I(1), I(1), I(0), I(0), I(0), I(1000)}));
  EXPECT_TRUE(Fails("datetimefromparts", {I(INT64_MAX), I(1), I(1), I(0), I(0), I(0), I(0)}));
  EXPECT_EQ(Eval("datetimefromparts", {I(2015), N(), I(1), I(0), I(0), I(0), I(0)}), "null");
  EXPECT_EQ(Eval("datetimefromparts", {I(2015), S("1"), I(1), I(0), I(0), I(0), I(0)}),
            "\"2015-01-01T00:00:00.0000000Z\"");
  EXPECT_EQ(Eval("datetimefromparts", {I(2015), S("Jan"), I(1), I(0), I(0), I(0), I(0)}),
            "error: DATETIMEFROMPARTS expects a bigint: 'Jan'");
}

// ---------------------------------------------------------------------------
// Records, arrays and types

TEST_F(FunctionsTest, GetTypeNamesEveryType) {
  EXPECT_EQ(Eval("gettype", {I(1)}), "'bigint'");
  EXPECT_EQ(Eval("gettype", {F(1.5)}), "'float'");
  EXPECT_EQ(Eval("gettype", {S("a")}), "'nvarchar(max)'");
  EXPECT_EQ(Eval("gettype", {Dt("2015-01-01")}), "'datetime'");
  EXPECT_EQ(Eval("gettype", {B(false)}), "'bit'");
  EXPECT_EQ(Eval("gettype", {Record({{"a", I(1)}})}), "'record'");
  EXPECT_EQ(Eval("gettype", {Array({})}), "'array'");
  EXPECT_EQ(Eval("gettype", {N()}), "null");
}

TEST_F(FunctionsTest, GetRecordPropertyValue) {
  const Value readings = Record(
      {{"Temperature", I(80)}, {"Humidity", I(70)}, {"CustomSensor", Array({I(1), I(1), I(0)})}});
  EXPECT_EQ(Eval("getrecordpropertyvalue", {readings, S("Humidity")}), "70");
  EXPECT_EQ(Eval("getrecordpropertyvalue", {readings, S("humidity")}), "70");
  EXPECT_EQ(Eval("getrecordpropertyvalue", {readings, S("CustomSensor")}), "[1,1,0]");
  EXPECT_EQ(Eval("getrecordpropertyvalue", {readings, S("Pressure")}), "null");
  EXPECT_EQ(Eval("getrecordpropertyvalue", {N(), S("Humidity")}), "null");
  EXPECT_EQ(Eval("getrecordpropertyvalue", {readings, N()}), "null");
  EXPECT_EQ(Eval("getrecordpropertyvalue", {S("x"), S("Humidity")}),
            "error: GetRecordPropertyValue expects a record: 'x'");
  EXPECT_EQ(Eval("getrecordpropertyvalue", {readings, I(1)}),
            "error: GetRecordPropertyValue expects a property name string: 1");
}

TEST_F(FunctionsTest, GetArrayElementIsZeroBased) {
  // The GetArrayElement page's sample: CustomSensor [1,1,0] and [0,1,0].
  const Value sensor = Array({I(1), I(1), I(0)});
  EXPECT_EQ(Eval("getarrayelement", {sensor, I(0)}), "1");
  EXPECT_EQ(Eval("getarrayelement", {sensor, I(1)}), "1");
  EXPECT_EQ(Eval("getarrayelement", {sensor, I(2)}), "0");
  const Value other = Array({I(0), I(1), I(0)});
  EXPECT_EQ(Eval("getarrayelement", {other, I(0)}), "0");
  EXPECT_EQ(Eval("getarrayelement", {other, I(1)}), "1");
  EXPECT_EQ(Eval("getarrayelement", {sensor, I(3)}), "null");
  EXPECT_EQ(Eval("getarrayelement", {sensor, I(-1)}), "null");
  EXPECT_EQ(Eval("getarrayelement", {sensor, I(INT64_MAX)}), "null");
  EXPECT_EQ(Eval("getarrayelement", {sensor, F(1.0)}), "1");
  EXPECT_EQ(Eval("getarrayelement", {Array({S("a"), Record({})}), I(1)}), "{}");
  EXPECT_EQ(Eval("getarrayelement", {N(), I(0)}), "null");
  EXPECT_EQ(Eval("getarrayelement", {sensor, N()}), "null");
  EXPECT_EQ(Eval("getarrayelement", {S("[1]"), I(0)}),
            "error: GetArrayElement expects an array: '[1]'");
  EXPECT_EQ(Eval("getarrayelement", {sensor, S("0")}),
            "error: GetArrayElement expects a bigint index: '0'");
}

TEST_F(FunctionsTest, GetArrayLength) {
  EXPECT_EQ(Eval("getarraylength", {Array({I(1), I(1), I(0)})}), "3");
  EXPECT_EQ(Eval("getarraylength", {Array({})}), "0");
  EXPECT_EQ(Eval("getarraylength", {N()}), "null");
  EXPECT_EQ(Eval("getarraylength", {Record({})}), "error: GetArrayLength expects an array: {}");
}

}  // namespace
}  // namespace sluice

// Scalar functions: the registry, math and record functions (see
// functions_test_support.h for how results are compared).
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
      {"createpoint", 2, 2},
      {"createlinestring", 2, -1},
      {"createpolygon", 4, -1},
      {"st_distance", 2, 2},
      {"st_within", 2, 2},
      {"st_intersects", 2, 2},
      {"st_overlaps", 2, 2},
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

#include "engine/core/conversion.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "engine/core/arena.h"
#include "engine/core/datetime.h"
#include "engine/core/value.h"
#include "gtest/gtest.h"

namespace sluice {
namespace {

constexpr ValueType kAllTypes[] = {ValueType::kBigint,   ValueType::kFloat, ValueType::kString,
                                   ValueType::kDatetime, ValueType::kBit,   ValueType::kRecord,
                                   ValueType::kArray};

class ConversionTest : public ::testing::Test {
 protected:
  Value S(std::string_view s) { return Value::String(arena_.CopyString(s)); }

  Value Dt(std::string_view text) {
    std::optional<int64_t> ticks = ParseDatetime(text);
    EXPECT_TRUE(ticks.has_value()) << text;
    return Value::Datetime(ticks.value_or(0));
  }

  // {"a": 1, "b": "x"}
  Value SampleRecord() {
    RecordField* fields = arena_.AllocateArray<RecordField>(2);
    fields[0] = {"a", Value::Bigint(1)};
    fields[1] = {"b", S("x")};
    return Value::Record(fields, 2);
  }

  // [1, 2.5, null]
  Value SampleArray() {
    Value* items = arena_.AllocateArray<Value>(3);
    items[0] = Value::Bigint(1);
    items[1] = Value::Float(2.5);
    items[2] = Value::Null();
    return Value::Array(items, 3);
  }

  // CAST(v AS target), rendered as DebugString or "error: <message>".
  std::string Cast(const Value& v, ValueType target) {
    Value out;
    std::string error;
    if (!CastValue(v, target, &arena_, &out, &error)) {
      EXPECT_FALSE(error.empty());
      return "error: " + error;
    }
    EXPECT_TRUE(error.empty());
    if (!out.is_null()) {
      EXPECT_EQ(out.type(), target);
    }
    return DebugString(out);
  }

  Arena arena_;
};

TEST_F(ConversionTest, NullCastsToNull) {
  for (ValueType target : kAllTypes) {
    EXPECT_EQ(Cast(Value::Null(), target), "null");
  }
}

TEST_F(ConversionTest, SameTypeIsIdentity) {
  EXPECT_EQ(Cast(Value::Bigint(5), ValueType::kBigint), "5");
  EXPECT_EQ(Cast(Value::Float(2.5), ValueType::kFloat), "2.5");
  EXPECT_EQ(Cast(S("abc"), ValueType::kString), "'abc'");
  EXPECT_EQ(Cast(Dt("2015-01-01T00:00:10Z"), ValueType::kDatetime),
            "\"2015-01-01T00:00:10.0000000Z\"");
  EXPECT_EQ(Cast(Value::Bit(true), ValueType::kBit), "true");
  EXPECT_EQ(Cast(SampleRecord(), ValueType::kRecord), "{\"a\":1,\"b\":\"x\"}");
  EXPECT_EQ(Cast(SampleArray(), ValueType::kArray), "[1,2.5,null]");
}

TEST_F(ConversionTest, FromBigint) {
  EXPECT_EQ(Cast(Value::Bigint(-7), ValueType::kFloat), "-7.0");
  EXPECT_EQ(Cast(Value::Bigint(-7), ValueType::kString), "'-7'");
  EXPECT_EQ(Cast(Value::Bigint(INT64_MIN), ValueType::kString), "'-9223372036854775808'");
  EXPECT_EQ(Cast(Value::Bigint(0), ValueType::kBit), "false");
  EXPECT_EQ(Cast(Value::Bigint(1), ValueType::kBit), "true");
  EXPECT_EQ(Cast(Value::Bigint(-5), ValueType::kBit), "true");
  EXPECT_EQ(Cast(Value::Bigint(5), ValueType::kDatetime),
            "error: cannot convert bigint to datetime: 5");
  EXPECT_EQ(Cast(Value::Bigint(5), ValueType::kRecord),
            "error: cannot convert bigint to record: 5");
  EXPECT_EQ(Cast(Value::Bigint(5), ValueType::kArray), "error: cannot convert bigint to array: 5");
}

TEST_F(ConversionTest, FloatToBigintTruncatesTowardZero) {
  EXPECT_EQ(Cast(Value::Float(2.7), ValueType::kBigint), "2");
  EXPECT_EQ(Cast(Value::Float(-2.7), ValueType::kBigint), "-2");
  EXPECT_EQ(Cast(Value::Float(-0.5), ValueType::kBigint), "0");
  EXPECT_EQ(Cast(Value::Float(9.2e18), ValueType::kBigint), "9200000000000000000");
  EXPECT_EQ(Cast(Value::Float(-9223372036854775808.0), ValueType::kBigint), "-9223372036854775808");
  EXPECT_EQ(Cast(Value::Float(9223372036854775808.0), ValueType::kBigint),
            "error: cannot convert float to bigint, out of range: "
            "9223372036854775808.0");
  EXPECT_EQ(Cast(Value::Float(-1e19), ValueType::kBigint),
            "error: cannot convert float to bigint, out of range: -10000000000000000000.0");
  EXPECT_EQ(
      Cast(Value::Float(std::numeric_limits<double>::quiet_NaN()), ValueType::kBigint).substr(0, 6),
      "error:");
}

TEST_F(ConversionTest, FloatToStringIsShortestRoundTrip) {
  EXPECT_EQ(Cast(Value::Float(0.1), ValueType::kString), "'0.1'");
  EXPECT_EQ(Cast(Value::Float(1.0), ValueType::kString), "'1'");
  EXPECT_EQ(Cast(Value::Float(-2.5), ValueType::kString), "'-2.5'");
  EXPECT_EQ(Cast(Value::Float(1e20), ValueType::kString), "'1e+20'");
  EXPECT_EQ(Cast(Value::Float(1.0 / 3), ValueType::kString), "'0.3333333333333333'");
  EXPECT_EQ(Cast(Value::Float(0.1 + 0.2), ValueType::kString), "'0.30000000000000004'");
}

TEST_F(ConversionTest, FloatAndBitFollowTheDocumentedTable) {
  // data-types page, "Conversion to bit".
  EXPECT_EQ(Cast(Value::Bit(true), ValueType::kFloat), "1.0");
  EXPECT_EQ(Cast(Value::Bit(false), ValueType::kFloat), "0.0");
  EXPECT_EQ(Cast(Value::Float(0.0), ValueType::kBit), "false");
  EXPECT_EQ(Cast(Value::Float(-0.0), ValueType::kBit), "false");
  EXPECT_EQ(Cast(Value::Float(0.1), ValueType::kBit), "true");
  EXPECT_EQ(Cast(Value::Float(-3.0), ValueType::kBit), "true");
  EXPECT_EQ(Cast(Value::Float(1.0), ValueType::kBit), "true");
}

TEST_F(ConversionTest, FromBit) {
  EXPECT_EQ(Cast(Value::Bit(true), ValueType::kBigint), "1");
  EXPECT_EQ(Cast(Value::Bit(false), ValueType::kBigint), "0");
  EXPECT_EQ(Cast(Value::Bit(true), ValueType::kString), "'true'");
  EXPECT_EQ(Cast(Value::Bit(false), ValueType::kString), "'false'");
  EXPECT_EQ(Cast(Value::Bit(true), ValueType::kDatetime),
            "error: cannot convert bit to datetime: true");
}

TEST_F(ConversionTest, StringToBigint) {
  EXPECT_EQ(Cast(S("42"), ValueType::kBigint), "42");
  EXPECT_EQ(Cast(S("1000"), ValueType::kBigint), "1000");  // query patterns
  EXPECT_EQ(Cast(S("  42 "), ValueType::kBigint), "42");
  EXPECT_EQ(Cast(S("-7"), ValueType::kBigint), "-7");
  EXPECT_EQ(Cast(S("+7"), ValueType::kBigint), "7");
  EXPECT_EQ(Cast(S("007"), ValueType::kBigint), "7");
  EXPECT_EQ(Cast(S("9223372036854775807"), ValueType::kBigint), "9223372036854775807");
  EXPECT_EQ(Cast(S("-9223372036854775808"), ValueType::kBigint), "-9223372036854775808");
  // The CAST page's example of a failing conversion.
  EXPECT_EQ(Cast(S("this is a string"), ValueType::kBigint),
            "error: cannot convert nvarchar(max) to bigint: "
            "'this is a string'");
  for (std::string_view bad :
       {"9223372036854775808", "1.5", "1e3", "", " ", "+-1", "--1", "12a", "0x10", "1 2"}) {
    EXPECT_EQ(Cast(S(bad), ValueType::kBigint).substr(0, 6), "error:") << bad;
  }
}

TEST_F(ConversionTest, StringToFloat) {
  EXPECT_EQ(Cast(S("1.5"), ValueType::kFloat), "1.5");
  EXPECT_EQ(Cast(S("1.7145"), ValueType::kFloat), "1.7145");
  EXPECT_EQ(Cast(S(" -2.25 "), ValueType::kFloat), "-2.25");
  EXPECT_EQ(Cast(S(".5"), ValueType::kFloat), "0.5");
  EXPECT_EQ(Cast(S("5."), ValueType::kFloat), "5.0");
  EXPECT_EQ(Cast(S("1e3"), ValueType::kFloat), "1000.0");
  EXPECT_EQ(Cast(S("1E-3"), ValueType::kFloat), "0.001");
  EXPECT_EQ(Cast(S("+4"), ValueType::kFloat), "4.0");
  EXPECT_EQ(Cast(S("42"), ValueType::kFloat), "42.0");
  EXPECT_EQ(Cast(S("1e-400"), ValueType::kFloat), "0.0");  // underflow
  EXPECT_EQ(Cast(S("0.1e-330"), ValueType::kFloat), "0.0");
  EXPECT_EQ(Cast(S("1.7976931348623157e308"), ValueType::kFloat), "1.7976931348623157e+308");
  for (std::string_view bad : {"abc", "1e", "e3", ".", "nan", "NaN", "inf", "Infinity", "1.2.3", "",
                               "0x10", "1e400", "100000e304", "- 1", "1,5"}) {
    EXPECT_EQ(Cast(S(bad), ValueType::kFloat).substr(0, 6), "error:") << bad;
  }
}

TEST_F(ConversionTest, StringToDatetimeUsesIso8601) {
  EXPECT_EQ(Cast(S("2015-01-01T00:00:10Z"), ValueType::kDatetime),
            "\"2015-01-01T00:00:10.0000000Z\"");
  EXPECT_EQ(Cast(S("2014-09-10 12:00:00"), ValueType::kDatetime),
            "\"2014-09-10T12:00:00.0000000Z\"");
  // input-validation: a string without offset is UTC.
  EXPECT_EQ(Cast(S("2021-12-10T10:00:00"), ValueType::kDatetime),
            "\"2021-12-10T10:00:00.0000000Z\"");
  EXPECT_EQ(Cast(S("2015-01-01"), ValueType::kDatetime), "\"2015-01-01T00:00:00.0000000Z\"");
  EXPECT_EQ(Cast(S("2015-01-01T02:00:00.5+02:00"), ValueType::kDatetime),
            "\"2015-01-01T00:00:00.5000000Z\"");
  EXPECT_EQ(Cast(S("not a date"), ValueType::kDatetime),
            "error: cannot convert nvarchar(max) to datetime: 'not a date'");
  EXPECT_EQ(Cast(S("2015-02-30"), ValueType::kDatetime).substr(0, 6), "error:");
}

TEST_F(ConversionTest, StringToBit) {
  EXPECT_EQ(Cast(S("true"), ValueType::kBit), "true");
  EXPECT_EQ(Cast(S("TRUE"), ValueType::kBit), "true");
  EXPECT_EQ(Cast(S(" False "), ValueType::kBit), "false");
  EXPECT_EQ(Cast(S("1"), ValueType::kBit), "true");
  EXPECT_EQ(Cast(S("0"), ValueType::kBit), "false");
  EXPECT_EQ(Cast(S("yes"), ValueType::kBit), "error: cannot convert nvarchar(max) to bit: 'yes'");
  EXPECT_EQ(Cast(S("2"), ValueType::kBit).substr(0, 6), "error:");
}

TEST_F(ConversionTest, FromDatetime) {
  EXPECT_EQ(Cast(Dt("2015-01-01T00:00:10Z"), ValueType::kString), "'2015-01-01T00:00:10.0000000Z'");
  EXPECT_EQ(Cast(Dt("1969-12-31T23:59:59.9999999Z"), ValueType::kString),
            "'1969-12-31T23:59:59.9999999Z'");
  EXPECT_EQ(Cast(Dt("2015-01-01"), ValueType::kBigint),
            "error: cannot convert datetime to bigint: "
            "\"2015-01-01T00:00:00.0000000Z\"");
  EXPECT_EQ(Cast(Dt("2015-01-01"), ValueType::kFloat).substr(0, 6), "error:");
  EXPECT_EQ(Cast(Dt("2015-01-01"), ValueType::kBit).substr(0, 6), "error:");
}

TEST_F(ConversionTest, RecordsAndArrays) {
  EXPECT_EQ(Cast(SampleRecord(), ValueType::kString), "'{\"a\":1,\"b\":\"x\"}'");
  EXPECT_EQ(Cast(SampleArray(), ValueType::kString), "'[1,2.5,null]'");
  // input-validation page: casting a record to an array is an error.
  EXPECT_EQ(Cast(SampleRecord(), ValueType::kArray),
            "error: cannot convert record to array: {\"a\":1,\"b\":\"x\"}");
  EXPECT_EQ(Cast(SampleArray(), ValueType::kRecord).substr(0, 6), "error:");
  EXPECT_EQ(Cast(S("{\"a\":1}"), ValueType::kRecord).substr(0, 6), "error:");
  EXPECT_EQ(Cast(SampleRecord(), ValueType::kBigint).substr(0, 6), "error:");
}

TEST_F(ConversionTest, ProducedStringsLiveInTheArena) {
  Arena scratch;
  Value out;
  std::string error;
  ASSERT_TRUE(CastValue(Value::Bigint(123), ValueType::kString, &scratch, &out, &error));
  EXPECT_EQ(out.string(), "123");
  EXPECT_GT(scratch.bytes_reserved(), 0u);
}

TEST_F(ConversionTest, NumericValue) {
  EXPECT_EQ(NumericValue(Value::Bigint(3)), 3.0);
  EXPECT_EQ(NumericValue(Value::Float(2.5)), 2.5);
  EXPECT_EQ(NumericValue(S("12.5")), 12.5);
  EXPECT_EQ(NumericValue(S(" -3 ")), -3.0);
  EXPECT_EQ(NumericValue(S("abc")), std::nullopt);
  EXPECT_EQ(NumericValue(Value::Null()), std::nullopt);
  EXPECT_EQ(NumericValue(Value::Bit(true)), std::nullopt);
  EXPECT_EQ(NumericValue(Dt("2015-01-01")), std::nullopt);
  EXPECT_EQ(NumericValue(SampleArray()), std::nullopt);
}

TEST_F(ConversionTest, ParsersAndFormatter) {
  EXPECT_EQ(ParseBigint("\t12\n"), 12);
  EXPECT_EQ(ParseBigint("-0"), 0);
  EXPECT_EQ(ParseBigint("-"), std::nullopt);
  EXPECT_EQ(ParseBigint("+"), std::nullopt);
  EXPECT_EQ(ParseFloat("-0"), -0.0);
  EXPECT_TRUE(std::signbit(*ParseFloat("-0")));
  EXPECT_EQ(ParseFloat("-1e-400"), 0.0);
  EXPECT_EQ(ParseFloat("1e+2"), 100.0);
  EXPECT_EQ(ParseFloat("000.250"), 0.25);
  std::string text;
  AppendFloatText(123456789012.0, &text);
  EXPECT_EQ(text, "123456789012");
  text.clear();
  AppendFloatText(1e-7, &text);
  EXPECT_EQ(text, "1e-07");
}

TEST_F(ConversionTest, ShortDebugStringCutsOnACharacterBoundary) {
  EXPECT_EQ(ShortDebugString(S("abc")), "'abc'");
  std::string long_text;
  for (int i = 0; i < 40; ++i) long_text.append("\u00e9");  // 2 bytes each
  const std::string s = ShortDebugString(S(long_text));
  EXPECT_LE(s.size(), 64u + 3u);
  EXPECT_EQ(s.substr(s.size() - 3), "...");
  const std::string body = s.substr(1, s.size() - 4);
  EXPECT_EQ(body.size() % 2, 0u);  // whole characters only
  EXPECT_EQ(ShortDebugString(Value::Null()), "null");
}

}  // namespace
}  // namespace sluice

#include "engine/core/value.h"

#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>

#include "engine/core/value_codec.h"

namespace sluice {
namespace {

std::string Json(const Value& v) {
  std::string s;
  AppendJson(v, &s);
  return s;
}

TEST(ValueTest, IsSixteenBytesAndCarriesItsType) {
  EXPECT_EQ(sizeof(Value), 16u);
  EXPECT_EQ(Value::Bigint(5).type(), ValueType::kBigint);
  EXPECT_EQ(Value::Float(5).type(), ValueType::kFloat);
  EXPECT_TRUE(Value().is_null());
  EXPECT_STREQ(TypeName(ValueType::kString), "nvarchar(max)");
}

TEST(ValueTest, JsonOutputFollowsAsa) {
  EXPECT_EQ(Json(Value::Bigint(-42)), "-42");
  EXPECT_EQ(Json(Value::Float(70)), "70.0");
  EXPECT_EQ(Json(Value::Float(96.5)), "96.5");
  EXPECT_EQ(Json(Value::Float(0.1 + 0.2)), "0.30000000000000004");
  EXPECT_EQ(Json(Value::Float(1e21)), "1e+21");
  EXPECT_EQ(Json(Value::Float(std::numeric_limits<double>::quiet_NaN())), "null");
  EXPECT_EQ(Json(Value::Bit(true)), "true");
  EXPECT_EQ(Json(Value::Null()), "null");
  EXPECT_EQ(Json(Value::Datetime(0)), "\"1970-01-01T00:00:00.0000000Z\"");
  EXPECT_EQ(Json(Value::String("a\"b\\c\n\x01")), "\"a\\\"b\\\\c\\n\\u0001\"");
  RecordField fields[] = {{"x", Value::Bigint(1)}, {"y", Value::String("z")}};
  Value items[] = {Value::Bigint(1), Value::Record(fields, 2), Value::Null()};
  EXPECT_EQ(Json(Value::Array(items, 3)), "[1,{\"x\":1,\"y\":\"z\"},null]");
}

// The printing AppendJsonFloat must match: shortest round-trip digits,
// fixed from 1e-6 up to 1e21, ".0" after integers (to_chars alone, no fast
// path).
std::string ReferenceFloat(double d) {
  char buf[400];
  const double magnitude = std::fabs(d);
  const auto format = (magnitude != 0 && (magnitude < 1e-6 || magnitude >= 1e21))
                          ? std::chars_format::scientific
                          : std::chars_format::fixed;
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), d, format);
  (void)ec;
  std::string text(buf, end);
  if (text.find_first_of(".eEn") == std::string::npos) text += ".0";
  return text;
}

TEST(ValueTest, FloatsPrintAsTheShortestRoundTripDigits) {
  std::mt19937_64 rng(42);
  std::vector<double> values = {0.0,
                                -0.0,
                                1.0,
                                -1.0,
                                59.66,
                                0.1,
                                0.2 + 0.1,
                                1e-6,
                                1e-7,
                                9.99e-7,
                                0.0015,
                                1e12,
                                1e15,
                                123456.789,
                                1e21,
                                -0.5,
                                2.5e-5,
                                1e20,
                                33.333333333333336};
  for (int i = 0; i < 200000; ++i) {
    const int places = static_cast<int>(rng() % 8);
    const double scale = std::pow(10.0, places);
    const int64_t m = static_cast<int64_t>(rng() % 2'000'000'000) - 1'000'000'000;
    values.push_back(static_cast<double>(m) / scale);        // decimals like readings
    values.push_back(static_cast<double>(m) / scale / 3.0);  // and not
    uint64_t bits = rng();
    double any;
    std::memcpy(&any, &bits, sizeof(any));
    if (std::isfinite(any)) values.push_back(any);
  }
  for (double d : values) {
    std::string out;
    AppendJsonFloat(d, &out);
    ASSERT_EQ(out, ReferenceFloat(d)) << "for " << d;
  }
}

TEST(ValueTest, RecordFieldsMatchCaseInsensitivelyPreferringExactCase) {
  RecordField fields[] = {{"deviceid", Value::Bigint(1)}, {"DeviceId", Value::Bigint(2)}};
  Value r = Value::Record(fields, 2);
  EXPECT_EQ(r.Field("DeviceId").bigint(), 2);
  EXPECT_EQ(r.Field("DEVICEID").bigint(), 1);
  EXPECT_TRUE(r.Field("missing").is_null());
  EXPECT_TRUE(Value::Bigint(1).Field("x").is_null());
}

TEST(ValueTest, CompareAcrossNumericTypes) {
  bool comparable = false;
  EXPECT_EQ(CompareValues(Value::Bigint(2), Value::Float(2.5), &comparable), -1);
  EXPECT_TRUE(comparable);
  EXPECT_EQ(CompareValues(Value::String("b"), Value::String("a"), &comparable), 1);
  CompareValues(Value::String("1"), Value::Bigint(1), &comparable);
  EXPECT_FALSE(comparable);
  EXPECT_TRUE(GroupEquals(Value::Bigint(1), Value::Float(1.0)));
  EXPECT_FALSE(GroupEquals(Value::String("A"), Value::String("a")));
}

TEST(ValueTest, CodecRoundTripsEveryType) {
  Arena arena;
  RecordField inner[] = {{"k", Value::Float(-0.5)}};
  Value items[] = {Value::Bit(false), Value::Record(inner, 1)};
  RecordField fields[] = {{"a", Value::Array(items, 2)}, {"b", Value::Datetime(-123)}};
  const Value values[] = {Value::Null(),
                          Value::Bigint(std::numeric_limits<int64_t>::min()),
                          Value::Float(3.25),
                          Value::String("h\xc3\xa9llo"),
                          Value::Datetime(1234567),
                          Value::Bit(true),
                          Value::Record(fields, 2)};
  for (const Value& v : values) {
    std::string encoded;
    EncodeValue(v, &encoded);
    std::string_view in(encoded);
    Value decoded;
    ASSERT_TRUE(DecodeValue(&in, &arena, &decoded));
    EXPECT_TRUE(in.empty());
    EXPECT_EQ(decoded.type(), v.type());
    EXPECT_EQ(Json(decoded), Json(v));
  }
  // Types are exact in encodings: 1 and 1.0 are different group keys.
  std::string one, one_float;
  EncodeValue(Value::Bigint(1), &one);
  EncodeValue(Value::Float(1), &one_float);
  EXPECT_NE(one, one_float);
}

TEST(ValueTest, CodecRejectsTruncatedInput) {
  std::string encoded;
  EncodeValue(Value::String("abcdef"), &encoded);
  Arena arena;
  for (size_t n = 0; n < encoded.size(); ++n) {
    std::string_view in(encoded.data(), n);
    Value v;
    EXPECT_FALSE(DecodeValue(&in, &arena, &v)) << n;
  }
}

TEST(ValueTest, CopyValueMakesDeepCopies) {
  Arena source;
  RecordField* fields = source.AllocateArray<RecordField>(1);
  fields[0] = {source.CopyString("name"), Value::String(source.CopyString("value"))};
  Value original = Value::Record(fields, 1);
  Arena target;
  Value copy = CopyValue(original, &target);
  EXPECT_NE(copy.fields(), original.fields());
  EXPECT_NE(copy.fields()[0].value.string().data(), original.fields()[0].value.string().data());
  EXPECT_EQ(Json(copy), "{\"name\":\"value\"}");
}

TEST(ValueTest, IsValidUtf8) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("d\xc3\xa9j\xc3\xa0 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_TRUE(IsValidUtf8("\xf4\x8f\xbf\xbf"));  // U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\x80"));              // a lone continuation byte
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));      // overlong, 3 bytes
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // a surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xc3"));              // cut short
  EXPECT_FALSE(IsValidUtf8("ab\xe2\x82"));
}

TEST(ValueTest, RawTextFieldKeepsBytesThatAreNotUtf8AsBase64) {
  std::string out;
  AppendRawTextField("data", "{\"a\":\"\xc3\xa9\"}", &out);
  EXPECT_EQ(out, ",\"data\":\"{\\\"a\\\":\\\"\xc3\xa9\\\"}\"");
  out.clear();
  AppendRawTextField("data", std::string_view("{\"a\":\"\xff\0\"}", 10), &out);
  // base64 of the 10 raw bytes, NUL included
  EXPECT_EQ(out, ",\"dataBase64\":\"eyJhIjoi/wAifQ==\"");
}

TEST(ValueTest, CodecBoundsNesting) {
  // Arrays of one array, `depth` deep, ending in NULL.
  auto nested = [](int depth) {
    std::string out;
    for (int i = 0; i < depth; ++i) out += "\x07\x01";
    out.push_back('\0');  // kTagNull
    return out;
  };
  Arena arena;
  Value v;
  std::string encoded = nested(kMaxValueDepth);
  std::string_view in = encoded;
  ASSERT_TRUE(DecodeValue(&in, &arena, &v));
  EXPECT_TRUE(in.empty());
  std::string back;
  EncodeValue(v, &back);
  EXPECT_EQ(back, encoded);
  for (int depth : {kMaxValueDepth + 1, 1'000'000}) {
    encoded = nested(depth);
    in = encoded;
    EXPECT_FALSE(DecodeValue(&in, &arena, &v)) << depth;
  }
}

}  // namespace
}  // namespace sluice

#include "engine/core/datetime.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

int64_t Parse(std::string_view s) {
  auto t = ParseDatetime(s);
  EXPECT_TRUE(t.has_value()) << s;
  return t.value_or(0);
}

TEST(DatetimeTest, CivilRoundTripsAcrossEras) {
  for (int64_t days = -800000; days <= 3000000; days += 997) {
    CivilDate d = CivilFromDays(days);
    EXPECT_EQ(DaysFromCivil(d.year, d.month, d.day), days);
  }
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(2000, 3, 1), 11017);
  EXPECT_EQ(DaysFromCivil(1, 1, 1), -719162);
}

TEST(DatetimeTest, LeapYears) {
  EXPECT_TRUE(IsLeapYear(2024));
  EXPECT_TRUE(IsLeapYear(2000));
  EXPECT_FALSE(IsLeapYear(1900));
  EXPECT_FALSE(IsLeapYear(2023));
  EXPECT_EQ(DaysInMonth(2024, 2), 29);
  EXPECT_EQ(DaysInMonth(2100, 2), 28);
}

TEST(DatetimeTest, FormatsAsAsaPrints) {
  EXPECT_EQ(FormatDatetime(0), "1970-01-01T00:00:00.0000000Z");
  EXPECT_EQ(FormatDatetime(Parse("2015-01-01T00:00:10Z")), "2015-01-01T00:00:10.0000000Z");
  EXPECT_EQ(FormatDatetime(Parse("2015-01-01T00:00:10.1234567Z")), "2015-01-01T00:00:10.1234567Z");
  EXPECT_EQ(FormatDatetime(-1), "1969-12-31T23:59:59.9999999Z");
  EXPECT_EQ(FormatDatetime(kMinDatetimeTicks), "0001-01-01T00:00:00.0000000Z");
  EXPECT_EQ(FormatDatetime(kMaxDatetimeTicks), "9999-12-31T23:59:59.9999999Z");
}

TEST(DatetimeTest, ParsesIso8601Forms) {
  const int64_t base = Parse("2021-12-10T10:00:00Z");
  EXPECT_EQ(Parse("2021-12-10T10:00:00"), base);  // no offset: UTC
  EXPECT_EQ(Parse("2021-12-10 10:00:00"), base);
  EXPECT_EQ(Parse("2021-12-10t10:00:00z"), base);
  EXPECT_EQ(Parse("2021-12-10T10:00Z"), base);
  EXPECT_EQ(Parse("2021-12-10T11:00:00+01:00"), base);
  EXPECT_EQ(Parse("2021-12-10T05:30:00-0430"), base);
  EXPECT_EQ(Parse("2021-12-10T11:00:00+01"), base);
  EXPECT_EQ(Parse("  2021-12-10T10:00:00Z "), base);
  EXPECT_EQ(Parse("2021-12-10T10:00:00.5Z"), base + 5'000'000);
  EXPECT_EQ(Parse("2021-12-10T10:00:00,25Z"), base + 2'500'000);
  // More than 7 fraction digits are truncated to 100 ns.
  EXPECT_EQ(Parse("2021-12-10T10:00:00.123456789Z"), base + 1'234'567);
  EXPECT_EQ(Parse("2021-12-10"), base - 10 * kTicksPerHour);
}

TEST(DatetimeTest, RejectsMalformedAndOutOfRange) {
  for (const char* bad :
       {"", "2021", "2021-13-01", "2021-02-30", "2021-02-29T00:00:00Z", "2021-12-10T24:00:00",
        "2021-12-10T10:60", "2021-12-10T10:00:00.Z", "2021-12-10T10:00:00Zjunk",
        "2021-12-10X10:00:00", "0000-01-01", "12/10/2021", "2021-12-10T10:00:00+25:00"}) {
    EXPECT_FALSE(ParseDatetime(bad).has_value()) << bad;
  }
  EXPECT_TRUE(ParseDatetime("2024-02-29T00:00:00Z").has_value());
  EXPECT_TRUE(ParseDatetime("9999-12-31T23:59:59.9999999Z").has_value());
  EXPECT_FALSE(ParseDatetime("9999-12-31T23:59:59-01:00").has_value());
}

TEST(DatetimeTest, FloorDivisionForNegativeTimes) {
  EXPECT_EQ(FloorDiv(-1, 10), -1);
  EXPECT_EQ(FloorDiv(-10, 10), -1);
  EXPECT_EQ(FloorDiv(-11, 10), -2);
  EXPECT_EQ(FloorDiv(11, 10), 1);
  EXPECT_EQ(FloorMod(-1, 10), 9);
  EXPECT_EQ(FloorMod(25, 10), 5);
}

}  // namespace
}  // namespace sluice

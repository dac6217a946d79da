// The date and time scalar functions (see functions_test_support.h for
// how results are compared).
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

}  // namespace
}  // namespace sluice

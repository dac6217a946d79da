// Date and time functions of the ASA dialect.
//
// The compiler passes the datepart of DATEADD, DATEDIFF, DATENAME and
// DATEPART as a string holding its canonical lower-case name (year, quarter,
// month, dayofyear, day, week, weekday, hour, minute, second, millisecond,
// microsecond, nanosecond); the documented abbreviations are accepted too.
//
// Date arguments may be datetimes or strings that ParseDatetime reads (ASA
// converts "string literals" implicitly, as its pages say); anything else
// fails the row. A NULL date or number gives NULL.
//
// Where the ASA pages are silent these functions follow SQL Server with its
// default settings (DATEFIRST 7, us_english):
// - DATEPART(weekday): Sunday = 1 ... Saturday = 7.
// - DATEPART(week): week 1 is the week containing January 1st; weeks start
//   on Sunday.
// - DATEDIFF counts datepart boundaries crossed between the two dates:
//   DATEDIFF(year, '2015-12-31T23:59:59Z', '2016-01-01') is 1. Weeks start on
//   Sunday; dayofyear and weekday count days.
// - DATEADD of year, quarter or month clamps the day to the last day of the
//   resulting month (2016-01-31 + 1 month = 2016-02-29); dayofyear and
//   weekday add days. A fractional number is truncated toward zero
//   (documented). Nanoseconds are rounded to the nearest 100 ns tick, half
//   away from zero.
// - DATENAME gives English month and weekday names, and the DATEPART number
//   as text for the other parts.
// Results outside years 1..9999 fail the row.
#include <cmath>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "engine/core/conversion.h"
#include "engine/core/datetime.h"
#include "engine/core/value.h"
#include "engine/expr/scalar_function.h"

namespace sluice {
namespace {

enum class DatePart {
  kYear,
  kQuarter,
  kMonth,
  kDayOfYear,
  kDay,
  kWeek,
  kWeekday,
  kHour,
  kMinute,
  kSecond,
  kMillisecond,
  kMicrosecond,
  kNanosecond,
};

struct DatePartName {
  std::string_view name;
  DatePart part;
};

constexpr DatePartName kDatePartNames[] = {
    {"year", DatePart::kYear},       {"yy", DatePart::kYear},
    {"yyyy", DatePart::kYear},       {"quarter", DatePart::kQuarter},
    {"qq", DatePart::kQuarter},      {"q", DatePart::kQuarter},
    {"month", DatePart::kMonth},     {"mm", DatePart::kMonth},
    {"m", DatePart::kMonth},         {"dayofyear", DatePart::kDayOfYear},
    {"dy", DatePart::kDayOfYear},    {"y", DatePart::kDayOfYear},
    {"day", DatePart::kDay},         {"dd", DatePart::kDay},
    {"d", DatePart::kDay},           {"week", DatePart::kWeek},
    {"wk", DatePart::kWeek},         {"ww", DatePart::kWeek},
    {"weekday", DatePart::kWeekday}, {"dw", DatePart::kWeekday},
    {"w", DatePart::kWeekday},       {"hour", DatePart::kHour},
    {"hh", DatePart::kHour},         {"minute", DatePart::kMinute},
    {"mi", DatePart::kMinute},       {"n", DatePart::kMinute},
    {"second", DatePart::kSecond},   {"ss", DatePart::kSecond},
    {"s", DatePart::kSecond},        {"millisecond", DatePart::kMillisecond},
    {"ms", DatePart::kMillisecond},  {"microsecond", DatePart::kMicrosecond},
    {"mcs", DatePart::kMicrosecond}, {"nanosecond", DatePart::kNanosecond},
    {"ns", DatePart::kNanosecond},
};

constexpr std::string_view kMonthNames[] = {"January",   "February", "March",    "April",
                                            "May",       "June",     "July",     "August",
                                            "September", "October",  "November", "December"};

constexpr std::string_view kWeekdayNames[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                              "Thursday", "Friday", "Saturday"};

// Reads the datepart argument. Returns false (after failing the row unless
// the argument is NULL) when the function should return NULL.
bool DatePartArg(const Value& v, const char* fn, CallContext& ctx, DatePart* out) {
  if (v.is_null()) return false;
  if (v.type() == ValueType::kString) {
    for (const DatePartName& entry : kDatePartNames) {
      if (EqualsIgnoreCase(entry.name, v.string())) {
        *out = entry.part;
        return true;
      }
    }
  }
  ctx.Fail(absl::StrCat(fn, " got an unknown datepart: ", ShortDebugString(v)));
  return false;
}

// Reads a date argument: a datetime, or a string ParseDatetime accepts.
// Returns false (after failing the row unless the argument is NULL) when the
// function should return NULL.
bool DateArg(const Value& v, const char* fn, CallContext& ctx, int64_t* ticks) {
  if (v.is_null()) return false;
  if (v.type() == ValueType::kDatetime) {
    *ticks = v.ticks();
    return true;
  }
  if (v.type() == ValueType::kString) {
    std::optional<int64_t> parsed = ParseDatetime(v.string());
    if (parsed) {
      *ticks = *parsed;
      return true;
    }
  }
  ctx.Fail(absl::StrCat(fn, " expects a datetime: ", ShortDebugString(v)));
  return false;
}

// Reads an integer argument: a bigint, or a float truncated toward zero.
bool IntArg(const Value& v, const char* fn, CallContext& ctx, int64_t* out) {
  if (v.is_null()) return false;
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
  ctx.Fail(absl::StrCat(fn, " expects a bigint: ", ShortDebugString(v)));
  return false;
}

int64_t DaysOf(int64_t ticks) { return FloorDiv(ticks, kTicksPerDay); }

// 0 = Sunday ... 6 = Saturday; 1970-01-01 was a Thursday.
int DayOfWeek(int64_t days) { return static_cast<int>(FloorMod(days + 4, 7)); }

int DayOfYear(const CivilDate& d) {
  return static_cast<int>(DaysFromCivil(d.year, d.month, d.day) - DaysFromCivil(d.year, 1, 1)) + 1;
}

// SQL Server's week number with DATEFIRST 7: week 1 holds January 1st, and
// each Sunday starts a new week.
int WeekOfYear(const CivilDate& d) {
  const int jan1_dow = DayOfWeek(DaysFromCivil(d.year, 1, 1));
  return (DayOfYear(d) - 1 + jan1_dow) / 7 + 1;
}

int64_t PartValue(DatePart part, int64_t ticks) {
  const CivilTime t = ToCivil(ticks);
  switch (part) {
    case DatePart::kYear:
      return t.date.year;
    case DatePart::kQuarter:
      return (t.date.month - 1) / 3 + 1;
    case DatePart::kMonth:
      return t.date.month;
    case DatePart::kDayOfYear:
      return DayOfYear(t.date);
    case DatePart::kDay:
      return t.date.day;
    case DatePart::kWeek:
      return WeekOfYear(t.date);
    case DatePart::kWeekday:
      return DayOfWeek(DaysOf(ticks)) + 1;
    case DatePart::kHour:
      return t.hour;
    case DatePart::kMinute:
      return t.minute;
    case DatePart::kSecond:
      return t.second;
    case DatePart::kMillisecond:
      return t.fraction_ticks / kTicksPerMillisecond;
    case DatePart::kMicrosecond:
      return t.fraction_ticks / kTicksPerMicrosecond;
    case DatePart::kNanosecond:
      return t.fraction_ticks * 100;
  }
  return 0;
}

// Ticks in one unit of the fixed-length dateparts; 0 for the calendar ones.
int64_t FixedUnitTicks(DatePart part) {
  switch (part) {
    case DatePart::kDayOfYear:
    case DatePart::kDay:
    case DatePart::kWeekday:
      return kTicksPerDay;
    case DatePart::kWeek:
      return 7 * kTicksPerDay;
    case DatePart::kHour:
      return kTicksPerHour;
    case DatePart::kMinute:
      return kTicksPerMinute;
    case DatePart::kSecond:
      return kTicksPerSecond;
    case DatePart::kMillisecond:
      return kTicksPerMillisecond;
    case DatePart::kMicrosecond:
      return kTicksPerMicrosecond;
    default:
      return 0;
  }
}

Value OutOfRange(const char* fn, const Value* args, int n, CallContext& ctx) {
  std::string call = absl::StrCat(fn, "(");
  for (int i = 0; i < n; ++i) {
    if (i > 0) call.append(", ");
    call.append(ShortDebugString(args[i]));
  }
  call.append(")");
  return ctx.Fail(absl::StrCat(fn, " result is outside years 1..9999: ", call));
}

// DATEADD(datepart, number, date).
Value Dateadd(const Value* args, int n, CallContext& ctx) {
  DatePart part = DatePart::kYear;
  int64_t number = 0;
  int64_t ticks = 0;
  if (!DatePartArg(args[0], "DATEADD", ctx, &part) || !IntArg(args[1], "DATEADD", ctx, &number) ||
      !DateArg(args[2], "DATEADD", ctx, &ticks)) {
    return Value::Null();
  }
  if (part == DatePart::kYear || part == DatePart::kQuarter || part == DatePart::kMonth) {
    const int64_t months_per_unit =
        part == DatePart::kYear ? 12 : (part == DatePart::kQuarter ? 3 : 1);
    // Any valid result lies within 10000 years of any valid date.
    constexpr int64_t kMaxMonths = 10000 * 12;
    if (number > kMaxMonths || number < -kMaxMonths) {
      return OutOfRange("DATEADD", args, n, ctx);
    }
    CivilTime t = ToCivil(ticks);
    const int64_t month_index =
        int64_t{t.date.year} * 12 + (t.date.month - 1) + number * months_per_unit;
    const int64_t year = FloorDiv(month_index, 12);
    if (year < 1 || year > 9999) return OutOfRange("DATEADD", args, n, ctx);
    t.date.year = static_cast<int>(year);
    t.date.month = static_cast<int>(FloorMod(month_index, 12)) + 1;
    const int last_day = DaysInMonth(t.date.year, t.date.month);
    if (t.date.day > last_day) t.date.day = last_day;
    std::optional<int64_t> result = FromCivil(t);
    if (!result) return OutOfRange("DATEADD", args, n, ctx);
    return Value::Datetime(*result);
  }
  int64_t delta = 0;
  if (part == DatePart::kNanosecond) {
    // 100 ns per tick; round half away from zero.
    delta = number / 100;
    const int64_t rest = number % 100;
    if (rest >= 50) ++delta;
    if (rest <= -50) --delta;
  } else if (__builtin_mul_overflow(number, FixedUnitTicks(part), &delta)) {
    return OutOfRange("DATEADD", args, n, ctx);
  }
  int64_t result = 0;
  if (__builtin_add_overflow(ticks, delta, &result) || !IsValidDatetime(result)) {
    return OutOfRange("DATEADD", args, n, ctx);
  }
  return Value::Datetime(result);
}

// DATEDIFF(datepart, startdate, enddate): boundaries crossed from start to
// end, negative when start is later.
Value Datediff(const Value* args, int n, CallContext& ctx) {
  (void)n;
  DatePart part = DatePart::kYear;
  int64_t start = 0;
  int64_t end = 0;
  if (!DatePartArg(args[0], "DATEDIFF", ctx, &part) || !DateArg(args[1], "DATEDIFF", ctx, &start) ||
      !DateArg(args[2], "DATEDIFF", ctx, &end)) {
    return Value::Null();
  }
  switch (part) {
    case DatePart::kYear:
      return Value::Bigint(PartValue(DatePart::kYear, end) - PartValue(DatePart::kYear, start));
    case DatePart::kQuarter:
    case DatePart::kMonth: {
      const CivilDate a = ToCivil(start).date;
      const CivilDate b = ToCivil(end).date;
      const int64_t months = (int64_t{b.year} * 12 + b.month) - (int64_t{a.year} * 12 + a.month);
      if (part == DatePart::kMonth) return Value::Bigint(months);
      const int64_t quarters =
          (int64_t{b.year} * 4 + (b.month - 1) / 3) - (int64_t{a.year} * 4 + (a.month - 1) / 3);
      return Value::Bigint(quarters);
    }
    case DatePart::kWeek:
      // Sunday-based weeks: shift so that day 0 is a Sunday.
      return Value::Bigint(FloorDiv(DaysOf(end) + 4, 7) - FloorDiv(DaysOf(start) + 4, 7));
    case DatePart::kNanosecond: {
      int64_t nanos = 0;
      if (__builtin_mul_overflow(end - start, int64_t{100}, &nanos)) {
        return ctx.Fail(
            absl::StrCat("DATEDIFF result is out of the bigint range: nanoseconds between ",
                         ShortDebugString(args[1]), " and ", ShortDebugString(args[2])));
      }
      return Value::Bigint(nanos);
    }
    default: {
      const int64_t unit = FixedUnitTicks(part);
      return Value::Bigint(FloorDiv(end, unit) - FloorDiv(start, unit));
    }
  }
}

// DATEPART(datepart, date).
Value Datepart(const Value* args, int, CallContext& ctx) {
  DatePart part = DatePart::kYear;
  int64_t ticks = 0;
  if (!DatePartArg(args[0], "DATEPART", ctx, &part) || !DateArg(args[1], "DATEPART", ctx, &ticks)) {
    return Value::Null();
  }
  return Value::Bigint(PartValue(part, ticks));
}

// DATENAME(datepart, date).
Value Datename(const Value* args, int, CallContext& ctx) {
  DatePart part = DatePart::kYear;
  int64_t ticks = 0;
  if (!DatePartArg(args[0], "DATENAME", ctx, &part) || !DateArg(args[1], "DATENAME", ctx, &ticks)) {
    return Value::Null();
  }
  const int64_t value = PartValue(part, ticks);
  if (part == DatePart::kMonth) return Value::String(kMonthNames[value - 1]);
  if (part == DatePart::kWeekday) {
    return Value::String(kWeekdayNames[value - 1]);
  }
  return Value::String(ctx.arena()->CopyString(absl::StrCat(value)));
}

Value SinglePart(const Value* args, const char* fn, DatePart part, CallContext& ctx) {
  int64_t ticks = 0;
  if (!DateArg(args[0], fn, ctx, &ticks)) return Value::Null();
  return Value::Bigint(PartValue(part, ticks));
}

Value Day(const Value* args, int, CallContext& ctx) {
  return SinglePart(args, "DAY", DatePart::kDay, ctx);
}

Value Month(const Value* args, int, CallContext& ctx) {
  return SinglePart(args, "MONTH", DatePart::kMonth, ctx);
}

Value Year(const Value* args, int, CallContext& ctx) {
  return SinglePart(args, "YEAR", DatePart::kYear, ctx);
}

// DATETIMEFROMPARTS(year, month, day, hour, minute, seconds, milliseconds):
// NULL if any part is NULL, an error if the parts do not form a valid
// datetime (SQL Server).
Value Datetimefromparts(const Value* args, int n, CallContext& ctx) {
  int64_t parts[7];
  for (int i = 0; i < 7; ++i) {
    if (args[i].is_null()) return Value::Null();
  }
  for (int i = 0; i < 7; ++i) {
    if (!IntArg(args[i], "DATETIMEFROMPARTS", ctx, &parts[i])) {
      return Value::Null();
    }
  }
  static constexpr int64_t kMax[7] = {9999, 12, 31, 23, 59, 59, 999};
  static constexpr int64_t kMin[7] = {1, 1, 1, 0, 0, 0, 0};
  bool valid = true;
  for (int i = 0; i < 7; ++i) {
    if (parts[i] < kMin[i] || parts[i] > kMax[i]) valid = false;
  }
  std::optional<int64_t> ticks;
  if (valid) {
    CivilTime t;
    t.date.year = static_cast<int>(parts[0]);
    t.date.month = static_cast<int>(parts[1]);
    t.date.day = static_cast<int>(parts[2]);
    t.hour = static_cast<int>(parts[3]);
    t.minute = static_cast<int>(parts[4]);
    t.second = static_cast<int>(parts[5]);
    t.fraction_ticks = parts[6] * kTicksPerMillisecond;
    ticks = FromCivil(t);
  }
  if (!ticks) {
    std::string values;
    for (int i = 0; i < n; ++i) {
      if (i > 0) values.append(", ");
      values.append(ShortDebugString(args[i]));
    }
    return ctx.Fail(
        absl::StrCat("DATETIMEFROMPARTS arguments do not form a valid datetime: ", values));
  }
  return Value::Datetime(*ticks);
}

constexpr ScalarFunction kDatetimeFunctions[] = {
    {"dateadd", 3, 3, &Dateadd},
    {"datediff", 3, 3, &Datediff},
    {"datename", 2, 2, &Datename},
    {"datepart", 2, 2, &Datepart},
    {"datetimefromparts", 7, 7, &Datetimefromparts},
    {"day", 1, 1, &Day},
    {"month", 1, 1, &Month},
    {"year", 1, 1, &Year},
};

}  // namespace

std::span<const ScalarFunction> DatetimeFunctions() { return kDatetimeFunctions; }

}  // namespace sluice

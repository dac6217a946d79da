// Datetimes as ASA has them: UTC, 100-nanosecond precision, years 1..9999.
//
// A datetime is a count of 100 ns ticks since 1970-01-01T00:00:00Z (negative
// before it). Text parsing accepts ISO 8601 as events write it; formatting
// produces ASA's output form, e.g. 2015-01-01T00:00:10.0000000Z.
#ifndef SLUICE_ENGINE_CORE_DATETIME_H_
#define SLUICE_ENGINE_CORE_DATETIME_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

inline constexpr int64_t kTicksPerMicrosecond = 10;
inline constexpr int64_t kTicksPerMillisecond = 10'000;
inline constexpr int64_t kTicksPerSecond = 10'000'000;
inline constexpr int64_t kTicksPerMinute = 60 * kTicksPerSecond;
inline constexpr int64_t kTicksPerHour = 60 * kTicksPerMinute;
inline constexpr int64_t kTicksPerDay = 24 * kTicksPerHour;

// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.9999999Z.
inline constexpr int64_t kMinDatetimeTicks = -62135596800LL * kTicksPerSecond;
inline constexpr int64_t kMaxDatetimeTicks = 253402300800LL * kTicksPerSecond - 1;

inline bool IsValidDatetime(int64_t ticks) {
  return ticks >= kMinDatetimeTicks && ticks <= kMaxDatetimeTicks;
}

struct CivilDate {
  int year;
  int month;  // 1..12
  int day;    // 1..31
};

struct CivilTime {
  CivilDate date;
  int hour;
  int minute;
  int second;
  int64_t fraction_ticks;  // 0..9,999,999
};

// Days since 1970-01-01 of a proleptic Gregorian date, and back.
int64_t DaysFromCivil(int year, int month, int day);
CivilDate CivilFromDays(int64_t days);

bool IsLeapYear(int year);
int DaysInMonth(int year, int month);

CivilTime ToCivil(int64_t ticks);
// Returns nullopt when a field is out of range or the result is outside
// years 1..9999.
std::optional<int64_t> FromCivil(const CivilTime& t);

// Parses an ISO 8601 date or datetime: `YYYY-MM-DD`, then optionally `T` or
// a space, `hh:mm[:ss[.f…]]` (up to 7 fraction digits are kept, more are
// truncated), then optionally `Z` or an offset `±hh[:mm]`. Text without an
// offset is read as UTC. Leading and trailing spaces are ignored.
std::optional<int64_t> ParseDatetime(std::string_view text);

// Appends `2015-01-01T00:00:10.0000000Z` to `out`.
void AppendDatetime(int64_t ticks, std::string* out);
std::string FormatDatetime(int64_t ticks);

// Floor division and modulo for tick arithmetic on negative times.
inline int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}
inline int64_t FloorMod(int64_t a, int64_t b) { return a - FloorDiv(a, b) * b; }

}  // namespace sluice

#endif  // SLUICE_ENGINE_CORE_DATETIME_H_

#include "engine/core/datetime.h"

#include <cctype>
#include <cstring>

namespace sluice {
namespace {

// Reads exactly `n` decimal digits at `*pos`.
bool ReadDigits(std::string_view s, size_t* pos, int n, int* value) {
  if (*pos + n > s.size()) return false;
  int v = 0;
  for (int i = 0; i < n; ++i) {
    char c = s[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *value = v;
  return true;
}

bool Consume(std::string_view s, size_t* pos, char c) {
  if (*pos < s.size() && s[*pos] == c) {
    ++*pos;
    return true;
  }
  return false;
}

// The date of the last datetime parsed on this thread: events of a stream
// mostly share their date.
thread_local char cached_date[10] = {};
thread_local int64_t cached_days = 0;

inline int Digit(char c) { return static_cast<unsigned char>(c) - '0'; }
inline bool IsDigitAt(std::string_view s, size_t i) {
  return static_cast<unsigned char>(s[i] - '0') <= 9;
}

// The common form "YYYY-MM-DDThh:mm:ss[.f{1,7}]Z" on the cached date.
bool ParseCachedDate(std::string_view s, int64_t* out) {
  const size_t n = s.size();
  if (n < 20 || s[10] != 'T' || s[n - 1] != 'Z' || s[13] != ':' || s[16] != ':' ||
      std::memcmp(cached_date, s.data(), 10) != 0) {
    return false;
  }
  for (size_t i : {11, 12, 14, 15, 17, 18}) {
    if (!IsDigitAt(s, i)) return false;
  }
  const int hour = Digit(s[11]) * 10 + Digit(s[12]);
  const int minute = Digit(s[14]) * 10 + Digit(s[15]);
  const int second = Digit(s[17]) * 10 + Digit(s[18]);
  if (hour > 23 || minute > 59 || second > 59) return false;
  int64_t fraction = 0;
  if (n > 20) {
    const size_t digits = n - 21;
    if (s[19] != '.' || digits == 0 || digits > 7) return false;
    for (size_t i = 20; i < n - 1; ++i) {
      if (!IsDigitAt(s, i)) return false;
      fraction = fraction * 10 + Digit(s[i]);
    }
    for (size_t i = digits; i < 7; ++i) fraction *= 10;
  }
  *out = cached_days * kTicksPerDay + hour * kTicksPerHour + minute * kTicksPerMinute +
         second * kTicksPerSecond + fraction;
  return true;
}

}  // namespace

// Proleptic Gregorian calendar arithmetic over 400-year eras (146097 days).
int64_t DaysFromCivil(int year, int month, int day) {
  const int64_t y = static_cast<int64_t>(year) - (month <= 2 ? 1 : 0);
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t year_of_era = y - era * 400;
  const int64_t shifted_month = month > 2 ? month - 3 : month + 9;  // March = 0
  const int64_t day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
  const int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;  // 719468: 0000-03-01 .. 1970-01-01
}

CivilDate CivilFromDays(int64_t days) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t day_of_era = days - era * 146097;
  const int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const int64_t day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t shifted_month = (5 * day_of_year + 2) / 153;
  const int day = static_cast<int>(day_of_year - (153 * shifted_month + 2) / 5 + 1);
  const int month = static_cast<int>(shifted_month < 10 ? shifted_month + 3 : shifted_month - 9);
  const int64_t year = year_of_era + era * 400 + (month <= 2 ? 1 : 0);
  return CivilDate{static_cast<int>(year), month, day};
}

bool IsLeapYear(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int DaysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2 && IsLeapYear(year)) return 29;
  return kDays[month - 1];
}

CivilTime ToCivil(int64_t ticks) {
  const int64_t days = FloorDiv(ticks, kTicksPerDay);
  int64_t rest = ticks - days * kTicksPerDay;
  CivilTime t;
  t.date = CivilFromDays(days);
  t.hour = static_cast<int>(rest / kTicksPerHour);
  rest %= kTicksPerHour;
  t.minute = static_cast<int>(rest / kTicksPerMinute);
  rest %= kTicksPerMinute;
  t.second = static_cast<int>(rest / kTicksPerSecond);
  t.fraction_ticks = rest % kTicksPerSecond;
  return t;
}

std::optional<int64_t> FromCivil(const CivilTime& t) {
  const CivilDate& d = t.date;
  if (d.year < 1 || d.year > 9999 || d.month < 1 || d.month > 12 || d.day < 1 ||
      d.day > DaysInMonth(d.year, d.month) || t.hour < 0 || t.hour > 23 || t.minute < 0 ||
      t.minute > 59 || t.second < 0 || t.second > 59 || t.fraction_ticks < 0 ||
      t.fraction_ticks >= kTicksPerSecond) {
    return std::nullopt;
  }
  return DaysFromCivil(d.year, d.month, d.day) * kTicksPerDay + t.hour * kTicksPerHour +
         t.minute * kTicksPerMinute + t.second * kTicksPerSecond + t.fraction_ticks;
}

std::optional<int64_t> ParseDatetime(std::string_view s) {
  int64_t fast;
  if (ParseCachedDate(s, &fast)) return fast;
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  size_t pos = 0;
  CivilTime t{};
  if (!ReadDigits(s, &pos, 4, &t.date.year) || !Consume(s, &pos, '-') ||
      !ReadDigits(s, &pos, 2, &t.date.month) || !Consume(s, &pos, '-') ||
      !ReadDigits(s, &pos, 2, &t.date.day)) {
    return std::nullopt;
  }
  int64_t offset_ticks = 0;
  if (pos < s.size()) {
    if (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ') return std::nullopt;
    ++pos;
    if (!ReadDigits(s, &pos, 2, &t.hour) || !Consume(s, &pos, ':') ||
        !ReadDigits(s, &pos, 2, &t.minute)) {
      return std::nullopt;
    }
    if (Consume(s, &pos, ':')) {
      if (!ReadDigits(s, &pos, 2, &t.second)) return std::nullopt;
      if (Consume(s, &pos, '.') || Consume(s, &pos, ',')) {
        int digits = 0;
        int64_t fraction = 0;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
          if (digits < 7) fraction = fraction * 10 + (s[pos] - '0');
          ++digits;
          ++pos;
        }
        if (digits == 0) return std::nullopt;
        for (int i = digits; i < 7; ++i) fraction *= 10;
        t.fraction_ticks = fraction;
      }
    }
    if (pos < s.size()) {
      const char c = s[pos];
      if (c == 'Z' || c == 'z') {
        ++pos;
      } else if (c == '+' || c == '-') {
        ++pos;
        int oh = 0;
        int om = 0;
        if (!ReadDigits(s, &pos, 2, &oh)) return std::nullopt;
        if (Consume(s, &pos, ':')) {
          if (!ReadDigits(s, &pos, 2, &om)) return std::nullopt;
        } else if (pos < s.size()) {
          if (!ReadDigits(s, &pos, 2, &om)) return std::nullopt;
        }
        if (oh > 23 || om > 59) return std::nullopt;
        offset_ticks = oh * kTicksPerHour + om * kTicksPerMinute;
        if (c == '-') offset_ticks = -offset_ticks;
      }
    }
    if (pos != s.size()) return std::nullopt;
  }
  std::optional<int64_t> local = FromCivil(t);
  if (!local) return std::nullopt;
  std::memcpy(cached_date, s.data(), 10);
  cached_days = DaysFromCivil(t.date.year, t.date.month, t.date.day);
  const int64_t utc = *local - offset_ticks;
  if (!IsValidDatetime(utc)) return std::nullopt;
  return utc;
}

void AppendDatetime(int64_t ticks, std::string* out) {
  const CivilTime t = ToCivil(ticks);
  char buf[32];
  int64_t values[] = {t.date.year, t.date.month, t.date.day,      t.hour,
                      t.minute,    t.second,     t.fraction_ticks};
  static constexpr int kWidths[] = {4, 2, 2, 2, 2, 2, 7};
  static constexpr char kSeparators[] = {'-', '-', 'T', ':', ':', '.', 'Z'};
  char* p = buf;
  for (int i = 0; i < 7; ++i) {
    int64_t v = values[i];
    for (int w = kWidths[i] - 1; w >= 0; --w) {
      p[w] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
    p += kWidths[i];
    *p++ = kSeparators[i];
  }
  out->append(buf, p - buf);
}

std::string FormatDatetime(int64_t ticks) {
  std::string s;
  AppendDatetime(ticks, &s);
  return s;
}

}  // namespace sluice

// Event times as the differential tests write and read them: milliseconds
// since 2024-01-01T00:00:00Z, as ISO 8601 text and back from Sluice's output.
#ifndef SLUICE_TESTS_DIFFERENTIAL_TIME_TEXT_H_
#define SLUICE_TESTS_DIFFERENTIAL_TIME_TEXT_H_

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>
#include <string_view>

namespace sluice::testing_support {

inline constexpr int64_t kEpoch2024Ms = 1704067200000LL;

// "2024-01-01T00:00:00.123Z" for `ms` milliseconds since 2024-01-01 UTC.
inline std::string Stamp(int64_t ms) {
  const int64_t total = kEpoch2024Ms + ms;
  std::time_t seconds = static_cast<std::time_t>(total / 1000);
  std::tm tm;
  gmtime_r(&seconds, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(total % 1000));
  return buf;
}

// Parses Sluice's "2024-01-01T00:00:10.0000000Z" back into ms since 2024.
inline int64_t ParseStamp(std::string_view s) {
  std::tm tm{};
  tm.tm_year = std::stoi(std::string(s.substr(0, 4))) - 1900;
  tm.tm_mon = std::stoi(std::string(s.substr(5, 2))) - 1;
  tm.tm_mday = std::stoi(std::string(s.substr(8, 2)));
  tm.tm_hour = std::stoi(std::string(s.substr(11, 2)));
  tm.tm_min = std::stoi(std::string(s.substr(14, 2)));
  tm.tm_sec = std::stoi(std::string(s.substr(17, 2)));
  const int64_t ticks = std::stoll(std::string(s.substr(20, 7)));
  return static_cast<int64_t>(timegm(&tm)) * 1000 + ticks / 10000 - kEpoch2024Ms;
}

}  // namespace sluice::testing_support

#endif  // SLUICE_TESTS_DIFFERENTIAL_TIME_TEXT_H_

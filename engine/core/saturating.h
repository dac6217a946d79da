// 64-bit addition and subtraction that stop at the ends of the range
// instead of overflowing: for times near the beginning or end of time
// (kBeginningOfTime, kEndOfTime) and positions near the int64 limits.
#ifndef SLUICE_ENGINE_CORE_SATURATING_H_
#define SLUICE_ENGINE_CORE_SATURATING_H_

#include <cstdint>
#include <limits>

namespace sluice {

inline int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) {
    return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
  return r;
}

inline int64_t SaturatingSubtract(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_sub_overflow(a, b, &r)) {
    return b < 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
  return r;
}

}  // namespace sluice

#endif  // SLUICE_ENGINE_CORE_SATURATING_H_

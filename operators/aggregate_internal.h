// What the aggregate functions' files share (operators/aggregate_functions.cc
// for COUNT, SUM, AVG, MIN, MAX and the variance family;
// operators/ranked_aggregates.cc for TopOne, Collect, CollectTop and the
// percentiles). Not part of the operators' interface.
#ifndef SLUICE_OPERATORS_AGGREGATE_INTERNAL_H_
#define SLUICE_OPERATORS_AGGREGATE_INTERNAL_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "operators/aggregate_functions.h"
#include "proto/plan.pb.h"

namespace sluice::aggregate_internal {

template <typename T>
T* As(void* p) {
  return static_cast<T*>(p);
}
template <typename T>
const T* As(const void* p) {
  return static_cast<const T*>(p);
}

constexpr size_t RoundUp16(size_t n) { return (n + 15) & ~size_t{15}; }

// CollectTop keeps at most this many rows per group (the SQL compiler's
// bound, sql/limits.h).
inline constexpr int64_t kMaxCollectTop = 10'000;

// TOP_ONE, COLLECT, COLLECT_TOP, PERCENTILE_CONT and PERCENTILE_DISC.
absl::StatusOr<std::unique_ptr<AggregateFunction>> MakeRankedAggregate(const v1::Aggregate& spec);

}  // namespace sluice::aggregate_internal

#endif  // SLUICE_OPERATORS_AGGREGATE_INTERNAL_H_

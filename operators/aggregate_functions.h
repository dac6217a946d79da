// Aggregate functions (COUNT, SUM, AVG, MIN, MAX, STDEV, STDEVP, VAR, VARP)
// as accumulators over a group's state blob.
//
// A window-aggregate operator gives each group one contiguous blob holding
// the state of every aggregate at a fixed offset. Updates are batched: the
// operator gathers (state, value) pairs for a whole micro-batch and calls
// Update once per aggregate, so there is one virtual call per aggregate per
// batch, not per row.
//
// All except COUNT(*) ignore NULLs. Values are first passed through Coerce,
// which applies ASA's implicit conversions (a numeric string becomes a float
// for SUM/AVG/MIN/MAX) and rejects values the aggregate cannot take; the
// operator drops a rejected row from every aggregate and reports it.
#ifndef SLUICE_OPERATORS_AGGREGATE_FUNCTIONS_H_
#define SLUICE_OPERATORS_AGGREGATE_FUNCTIONS_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "engine/core/arena.h"
#include "engine/core/value.h"
#include "proto/plan.pb.h"

namespace sluice {

class AggregateFunction {
 public:
  virtual ~AggregateFunction() = default;

  // Bytes of state per group: a multiple of 16, and states are 16-aligned.
  virtual size_t state_size() const = 0;
  virtual void Init(void* state) const = 0;
  virtual void Destroy(void* state) const { (void)state; }

  // Converts or rejects one input value before it is aggregated. Returns
  // false with `error` set when the row must be rejected.
  virtual bool Coerce(const Value& in, Value* out, std::string* error) const {
    (void)error;
    *out = in;
    return true;
  }

  // Folds values[i] into the state at states[i] + offset, for i < n. For
  // COUNT(*) `values` is null.
  virtual void Update(void* const* states, size_t offset, const Value* values, size_t n) const = 0;

  virtual Value Finalize(const void* state, Arena* arena) const = 0;

  virtual void Encode(const void* state, std::string* out) const = 0;
  virtual bool Decode(std::string_view* in, void* state) const = 0;

  // True when the function reads no argument (COUNT(*)).
  virtual bool takes_argument() const { return true; }
};

absl::StatusOr<std::unique_ptr<AggregateFunction>> MakeAggregateFunction(const v1::Aggregate& spec);

}  // namespace sluice

#endif  // SLUICE_OPERATORS_AGGREGATE_FUNCTIONS_H_

// Scalar functions of the ASA dialect (math, string, date/time, record,
// array and geospatial functions), looked up by lower-case name.
//
// A function is a plain function pointer called once per row with its
// evaluated arguments. It never throws: it returns a Value, or reports a
// per-row error through CallContext::Fail, which sends the event to the job's
// error output with the message (ASA fails the whole job on such errors;
// Sluice dead-letters the one event instead).
//
// The SQL compiler keeps its own table of names and argument counts
// (sql/function_catalog.h) so that it does not depend on the runtime; a unit
// test checks the two agree.
#ifndef SLUICE_ENGINE_EXPR_SCALAR_FUNCTION_H_
#define SLUICE_ENGINE_EXPR_SCALAR_FUNCTION_H_

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/arena.h"
#include "engine/core/value.h"

namespace sluice {

// Passed to every scalar function call. Owned by the evaluating operator;
// used by one task thread.
class CallContext {
 public:
  explicit CallContext(Arena* arena) : arena_(arena) {}

  // Where functions put strings, records and arrays they produce.
  Arena* arena() const { return arena_; }

  // Marks the current row as failed; returns Null for convenience:
  //   return ctx.Fail(absl::StrCat("SQRT of a negative number: ", x));
  // Messages put fixed text first and values last.
  Value Fail(std::string message) {
    if (!failed_) {
      failed_ = true;
      error_ = std::move(message);
    }
    return Value();
  }

  bool failed() const { return failed_; }
  const std::string& error() const { return error_; }
  void ClearError() {
    failed_ = false;
    error_.clear();
  }

 private:
  Arena* arena_;
  bool failed_ = false;
  std::string error_;
};

using ScalarFunctionImpl = Value (*)(const Value* args, int num_args, CallContext& ctx);

struct ScalarFunction {
  std::string_view name;  // lower case
  int min_args;
  int max_args;  // -1: unbounded
  ScalarFunctionImpl impl;
};

// Finds a function by lower-case name; nullptr if there is none.
const ScalarFunction* FindScalarFunction(std::string_view name);

// Every registered function, for tests and documentation.
std::vector<const ScalarFunction*> AllScalarFunctions();

// The function tables, one per function file (engine/functions/). The
// registry concatenates them; adding a function means adding a row there.
std::span<const ScalarFunction> MathFunctions();
std::span<const ScalarFunction> StringFunctions();
std::span<const ScalarFunction> DatetimeFunctions();
std::span<const ScalarFunction> RecordFunctions();
std::span<const ScalarFunction> GeoFunctions();

}  // namespace sluice

#endif  // SLUICE_ENGINE_EXPR_SCALAR_FUNCTION_H_

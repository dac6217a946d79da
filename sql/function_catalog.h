// The names the compiler knows: scalar functions with their argument counts,
// aggregates, window functions and their parts. The runtime implements the
// scalar functions (engine/expr/scalar_function.h); a unit test checks that the
// two lists agree, so the compiler never accepts a call the engine cannot
// run.
#ifndef SLUICE_SQL_FUNCTION_CATALOG_H_
#define SLUICE_SQL_FUNCTION_CATALOG_H_

#include <string_view>
#include <vector>

namespace sluice::sql {

enum class FunctionKind {
  kScalar,
  kAggregate,
  kWindow,       // TumblingWindow, HoppingWindow, SlidingWindow, SessionWindow
  kWindowPart,   // Duration, Hop, Offset, Timeout, MaxDuration
  kUnsupported,  // known ASA functions Sluice does not run yet
  kAnalytic,     // LAG, LAST, ISFIRST: per event, with OVER (planner_analytic.cc)
};

struct FunctionInfo {
  std::string_view name;  // lower case, as the plan calls it
  FunctionKind kind;
  int min_args;
  int max_args;                 // -1: unbounded
  bool datepart_first = false;  // DATEADD(day, ...): first argument is a datepart
};

// Looks a function up by name, case-insensitively.
const FunctionInfo* FindFunction(std::string_view name);

// Every scalar function, for the consistency test.
std::vector<const FunctionInfo*> ScalarFunctionInfos();

// Maps a datepart as written (year, yy, yyyy, ...) to its canonical name, or
// returns an empty view.
std::string_view CanonicalDatepart(std::string_view written);

// Ticks per window time unit (day, dd, d, hour, hh, minute, mi, n, second,
// ss, s, millisecond, ms, microsecond, mcs); 0 when unknown.
long long TicksPerTimeUnit(std::string_view unit);

}  // namespace sluice::sql

#endif  // SLUICE_SQL_FUNCTION_CATALOG_H_

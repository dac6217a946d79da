// The query compiler: ASA-dialect text in, a plan (proto) out.
//
//   lexer -> parser (AST with positions) -> binder/planner (names, windows,
//   aggregates, steps as a DAG) -> named optimizer passes -> v1::Plan
//
// Knows nothing of the runtime. Errors carry the line and column of the
// offending token and a message meant for the person who wrote the query.
#ifndef SLUICE_SQL_COMPILER_H_
#define SLUICE_SQL_COMPILER_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "proto/plan.pb.h"
#include "sql/query_error.h"

namespace sluice::sql {

inline constexpr int kPlanVersion = 1;

struct CompileOptions {
  // The time policy given to every input; `sluice run` flags and job specs
  // override it per input.
  v1::TimePolicy default_policy = DefaultTimePolicy();

  // The event field each input's topic is partitioned by (its Kafka key):
  // steps grouped by it run in the input's tasks; others get an exchange.
  // By input name (case-insensitive); inputs not listed use the default,
  // the device ID (design.md). "" means unknown: every grouped step then
  // crosses an exchange.
  std::map<std::string, std::string> partition_keys;
  std::string default_partition_key = "deviceId";

  // Inputs that hold reference data rather than streams (case-insensitive
  // names): they may only be joined, on the right of a JOIN.
  std::vector<std::string> reference_inputs;

  // JavaScript user-defined functions the job declares, by lower-case name:
  // the query calls them as `udf.name(...)`; the plan carries each call's
  // source and limits (0: the engine's defaults).
  struct UserFunction {
    std::string source;
    int64_t time_limit_ms = 0;
    int64_t memory_limit_bytes = 0;
  };
  std::map<std::string, UserFunction> user_functions;

  static v1::TimePolicy DefaultTimePolicy() {
    v1::TimePolicy p;
    p.set_out_of_order_tolerance_ticks(0);
    p.set_late_arrival_tolerance_ticks(5LL * 10'000'000);  // ASA's 5 s
    p.set_action(v1::TimePolicy::ACTION_ADJUST);
    return p;
  }
};

struct CompileResult {
  bool ok = false;
  v1::Plan plan;
  QueryError error;
  std::vector<std::string> passes;  // optimizer passes that ran, in order
};

CompileResult CompileQuery(std::string_view text, const CompileOptions& options = {});

}  // namespace sluice::sql

#endif  // SLUICE_SQL_COMPILER_H_

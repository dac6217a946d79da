// The limits of the query compiler, so that every query either compiles or
// fails with `line:col` in time and memory proportional to its length, and
// every plan it accepts can be read back by every reader of plans (protobuf
// binary and JSON, C++ and Python). sql/README.md ("Limits") explains each
// value to users; change both together.
#ifndef SLUICE_SQL_LIMITS_H_
#define SLUICE_SQL_LIMITS_H_

#include <cstdint>

namespace sluice::sql {

// How deeply expressions may nest, counted by the parser: each pair of
// parentheses, unary operator (-, +, ~, NOT), binary operator (every term of
// a left-associative chain such as a + b + c is one level deeper than the
// next), comparison or predicate, function call, CASE (a simple CASE counts
// its operand twice: it becomes `operand = value`), CAST, `.field` and each
// part of a dotted name is one level. Long AND and OR chains are one level:
// they become a single n-ary call.
//
// Why 25: each SQL level becomes one plan Expr, and an Expr nests two
// protobuf messages deep (Expr -> Call -> Expr). The binder may add up to
// three Expr levels of its own (a field looked up in spliced records,
// COALESCE over several, the AND that joins WHERE and HAVING): 28 in all.
// Plans travel inside other messages: the catalog command on `_sluice_jobs`
// (written as JSON), ValidateJobResponse and DescribeJobResponse (binary;
// JSON with `--json`). Below CatalogCommand -> Plan -> Node ->
// WindowAggregateNode -> Aggregate, the deepest leaf then sits at most at
// message level 2 * 28 + 4 = 60. The tightest reader, protobuf's C++ JSON
// printer, stops at 64 levels; its JSON parser stops at 100 nested objects (one
// per message), binary decoders in C++ and Python at 100 levels.
inline constexpr int kMaxExpressionDepth = 25;

// What the compiler checks on every plan before it returns it (decode what
// you are about to write): messages nest at most this deep below the Plan
// (the Plan is level 0), measured and then decoded with this recursion
// limit. Inside the message a plan travels in that is 61, within the JSON
// printer's 64.
inline constexpr int kMaxPlanMessageDepth = 60;

// SELECT clauses in one query: WITH steps, statements and UNION parts
// together. Planning recurses once per step that reads another step.
inline constexpr int kMaxSelects = 100;
// JOIN and APPLY clauses in one SELECT.
inline constexpr int kMaxJoins = 8;

// JavaScript user-defined functions: every `udf.name(...)` call carries its
// function's source in the plan and runs in a host process per task, so a
// query makes at most this many calls, each with at most this many
// arguments, and a job declares at most this many functions, each at most
// this long.
inline constexpr int kMaxUserFunctionCalls = 16;
inline constexpr int kMaxUserFunctionArgs = 16;
inline constexpr int kMaxUserFunctions = 16;
inline constexpr int64_t kMaxUserFunctionSourceBytes = 32 * 1024;

// Output columns of one SELECT, after `*` is expanded; and items of one
// GROUP BY.
inline constexpr int kMaxSelectColumns = 1000;
inline constexpr int kMaxGroupByItems = 1000;

// Distinct fields the query reads from one input: every operator that reads
// the input's rows carries them in its schema.
inline constexpr int kMaxInputFields = 1000;

// Expressions in the whole plan, after HAVING aliases are expanded where
// they are used (an alias may name another, so expansion can multiply).
inline constexpr int kMaxPlanExpressions = 200'000;

// Window sizes, hops, session timeouts and maximum durations: from 1 ms to
// 7 days (ASA's maximum window size), in 100 ns ticks.
inline constexpr int64_t kMinWindowTicks = 10'000;
inline constexpr int64_t kMaxWindowTicks = 7LL * 24 * 3600 * 10'000'000;

// A hopping window puts each event in ceil(size / hop) windows, and the
// operator updates each of them per event.
inline constexpr int64_t kMaxWindowsPerEvent = 1000;

// AnomalyDetection_*: ASA documents confidence as 1 to 100 and no bound for
// historySize; this one bounds a key's detector to 80 KB (the same bounds
// as operators/anomaly_detection.h, which checks a loaded plan again).
inline constexpr double kMinAnomalyConfidence = 1;
inline constexpr double kMaxAnomalyConfidence = 100;
inline constexpr int64_t kMinAnomalyHistorySize = 3;
inline constexpr int64_t kMaxAnomalyHistorySize = 10'000;

// CollectTop(n): rows a group keeps (operators/aggregate_functions.cc
// checks a loaded plan against the same bound).
inline constexpr int64_t kMaxCollectTop = 10'000;

}  // namespace sluice::sql

#endif  // SLUICE_SQL_LIMITS_H_

// Scalar expression evaluation (engine/expression) over decoded telemetry
// batches, called the way the filter and project operators call it: one
// Evaluate per 1024-row batch with a fresh scratch arena. The expressions
// come from compiling SQL, so they are the trees the engine really runs.
// A hand-written loop computing the WHERE predicate sits beside them as the
// baseline. Each reports rows per second.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string_view>

#include "bench/telemetry_data.h"
#include "connectors/json_decoder.h"
#include "engine/expr/expression.h"
#include "sql/compiler.h"

namespace sluice::bench {
namespace {

// 100,000 devices, so that `deviceId LIKE 'dev-0%'` keeps about a tenth.
const TelemetryBuffer& Data() {
  static const TelemetryBuffer* data =
      new TelemetryBuffer(MakeTelemetry(EventCount(1000000), 100000));
  return *data;
}

[[noreturn]] void Die(std::string_view what) {
  std::fprintf(stderr, "expression_benchmark: %.*s\n", static_cast<int>(what.size()), what.data());
  std::abort();
}

// The telemetry decoded once into 1024-row batches holding `fields`, shared
// by every benchmark that reads the same fields.
const std::vector<Batch>& Decoded(const std::vector<std::string>& fields) {
  static auto* cache = new std::map<std::vector<std::string>, std::vector<Batch>>;
  auto [it, inserted] = cache->try_emplace(fields);
  if (!inserted) return it->second;
  JsonDecoderOptions options;
  options.fields = fields;
  JsonDecoder decoder(options);
  const TelemetryBuffer& data = Data();
  BatchBuilder builder(decoder.num_columns(), 1024);
  std::string error;
  for (const auto& [offset, length] : data.lines) {
    if (!decoder.Decode(std::string_view(data.text.data() + offset, length),
                        data.text.size() - offset - length, 0, builder, &error)) {
      Die(error);
    }
    if (builder.num_rows() == 1024) it->second.push_back(builder.Finish());
  }
  if (builder.num_rows() > 0) it->second.push_back(builder.Finish());
  return it->second;
}

// A compiled query's WHERE predicate or first SELECT item, with the input
// fields its column indexes refer to.
struct QueryExpression {
  std::vector<std::string> fields;
  v1::Expr expr;
};

QueryExpression FromQuery(const char* query, bool predicate) {
  sql::CompileResult r = sql::CompileQuery(query);
  if (!r.ok) Die(r.error.message);
  QueryExpression out;
  out.fields.assign(r.plan.inputs(0).fields().begin(), r.plan.inputs(0).fields().end());
  for (const v1::Node& node : r.plan.nodes()) {
    if (predicate ? !node.has_filter() : !node.has_project()) continue;
    // The expression indexes its input node's columns; these benchmarks
    // feed it decoded input batches, so the two layouts must agree.
    const v1::Schema& input = r.plan.nodes(node.inputs(0)).schema();
    if (input.columns_size() != static_cast<int>(out.fields.size())) Die("input layout differs");
    for (int i = 0; i < input.columns_size(); ++i) {
      if (input.columns(i).name() != out.fields[i]) Die("input layout differs");
    }
    out.expr = predicate ? node.filter().predicate() : node.project().exprs(0);
    return out;
  }
  Die("the plan has no such node");
}

// Evaluates the expression over every batch. `consume` says whether a row's
// value matches (predicate true, CASE 'hot', non-NULL result); the count
// keeps the work from being optimized away and is reported as a fraction.
template <typename Consume>
void RunExpression(benchmark::State& state, const char* query, bool predicate, Consume consume) {
  const QueryExpression q = FromQuery(query, predicate);
  const std::vector<Batch>& batches = Decoded(q.fields);
  auto expr = CompileExpression(q.expr);
  if (!expr.ok()) Die(expr.status().ToString());
  EvalContext ctx;
  int64_t rows = 0;
  for (const Batch& b : batches) rows += b.num_active();
  int64_t matched = 0;
  int64_t errors = 0;
  for (auto _ : state) {
    matched = 0;
    errors = 0;
    for (const Batch& b : batches) {
      Arena scratch(1024);
      ctx.Reset(&scratch);
      const RowSet active = b.active_rows();
      const ValueSpan result = (*expr)->Evaluate(b, active, ctx);
      for (uint32_t r : active) matched += consume(result[r]);
      errors += static_cast<int64_t>(ctx.errors().size());
    }
    benchmark::DoNotOptimize(matched);
  }
  if (errors > 0) state.SkipWithError("rows failed to evaluate");
  state.counters["match_fraction"] = rows > 0 ? static_cast<double>(matched) / rows : 0;
  state.SetItemsProcessed(state.iterations() * rows);
}

constexpr char kPredicate[] =
    "SELECT deviceId, temperature INTO alerts FROM telemetry TIMESTAMP BY eventTime "
    "WHERE temperature * 1.8 + 32 > 150 AND deviceId LIKE 'dev-0%'";

int64_t IsTrue(const Value& v) { return TruthValue(v) == 1 ? 1 : 0; }
int64_t IsNotNull(const Value& v) { return v.is_null() ? 0 : 1; }

// Baseline: the same predicate as a bare loop over the two columns, with no
// NULL or type handling and no selection of the rows the AND needs.
void BM_PredicateHandWrittenBaseline(benchmark::State& state) {
  const QueryExpression q = FromQuery(kPredicate, true);
  const std::vector<Batch>& batches = Decoded(q.fields);
  size_t temperature = 0;
  size_t device = 0;
  for (size_t i = 0; i < q.fields.size(); ++i) {
    if (q.fields[i] == "temperature") temperature = i;
    if (q.fields[i] == "deviceId") device = i;
  }
  int64_t rows = 0;
  for (const Batch& b : batches) rows += b.num_rows;
  int64_t matched = 0;
  for (auto _ : state) {
    matched = 0;
    for (const Batch& b : batches) {
      const ValueVector& t = *b.columns[temperature];
      const ValueVector& d = *b.columns[device];
      for (uint32_t r = 0; r < b.num_rows; ++r) {
        matched += t[r].AsDouble() * 1.8 + 32 > 150 && d[r].string().starts_with("dev-0") ? 1 : 0;
      }
    }
    benchmark::DoNotOptimize(matched);
  }
  state.counters["match_fraction"] = rows > 0 ? static_cast<double>(matched) / rows : 0;
  state.SetItemsProcessed(state.iterations() * rows);
}
BENCHMARK(BM_PredicateHandWrittenBaseline)->Unit(benchmark::kMillisecond);

// WHERE temperature * 1.8 + 32 > 150 AND deviceId LIKE 'dev-0%'
void BM_PredicateArithmeticAndLike(benchmark::State& state) {
  RunExpression(state, kPredicate, true, IsTrue);
}
BENCHMARK(BM_PredicateArithmeticAndLike)->Unit(benchmark::kMillisecond);

// A three-way CASE on comparisons, yielding string literals.
void BM_CaseTemperatureBands(benchmark::State& state) {
  RunExpression(state,
                "SELECT CASE WHEN temperature > 75 THEN 'hot' WHEN temperature < 45 THEN 'cold' "
                "ELSE 'normal' END AS band INTO out FROM telemetry TIMESTAMP BY eventTime",
                false, [](const Value& v) -> int64_t { return v.string().size() == 3 ? 1 : 0; });
}
BENCHMARK(BM_CaseTemperatureBands)->Unit(benchmark::kMillisecond);

// A numeric function call over arithmetic.
void BM_RoundFahrenheit(benchmark::State& state) {
  RunExpression(state,
                "SELECT ROUND(temperature * 1.8 + 32, 1) AS f INTO out FROM telemetry "
                "TIMESTAMP BY eventTime",
                false, IsNotNull);
}
BENCHMARK(BM_RoundFahrenheit)->Unit(benchmark::kMillisecond);

// Nested string function calls that allocate their results in the arena.
void BM_StringFunctionCalls(benchmark::State& state) {
  RunExpression(state,
                "SELECT CONCAT(UPPER(SUBSTRING(deviceId, 1, 3)), '#', SUBSTRING(deviceId, 5, 5)) "
                "AS tag INTO out FROM telemetry TIMESTAMP BY eventTime",
                false, IsNotNull);
}
BENCHMARK(BM_StringFunctionCalls)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace sluice::bench

BENCHMARK_MAIN();

// The compiler's contract: valid queries produce a plan with the expected
// shape; invalid ones fail with the line and column of the offending token.
#include "sql/compiler.h"

#include <gtest/gtest.h>

#include <map>

namespace sluice::sql {
namespace {

std::string ErrorOf(std::string_view query) {
  CompileResult r = CompileQuery(query);
  if (r.ok) return "compiled";
  return FormatQueryError("", r.error);
}

int CountNodes(const v1::Plan& plan, v1::Node::OpCase kind) {
  int n = 0;
  for (const v1::Node& node : plan.nodes()) n += node.op_case() == kind ? 1 : 0;
  return n;
}

TEST(CompilerTest, TumblingAggregateWithHaving) {
  CompileResult r = CompileQuery(R"(
    SELECT deviceId, AVG(temperature) AS avgTemp, System.Timestamp() AS windowEnd
    INTO alerts
    FROM telemetry TIMESTAMP BY eventTime
    GROUP BY deviceId, TumblingWindow(second, 10)
    HAVING AVG(temperature) > 75)");
  ASSERT_TRUE(r.ok) << r.error.message;
  const v1::Plan& p = r.plan;
  ASSERT_EQ(p.inputs_size(), 1);
  EXPECT_EQ(p.inputs(0).name(), "telemetry");
  EXPECT_FALSE(p.inputs(0).needs_record());
  ASSERT_EQ(p.outputs_size(), 1);
  EXPECT_EQ(p.outputs(0).name(), "alerts");
  EXPECT_EQ(CountNodes(p, v1::Node::kWindowAggregate), 1);
  EXPECT_EQ(CountNodes(p, v1::Node::kFilter), 1);
  EXPECT_EQ(CountNodes(p, v1::Node::kSink), 1);
  for (const v1::Node& node : p.nodes()) {
    if (!node.has_window_aggregate()) continue;
    const v1::WindowAggregateNode& w = node.window_aggregate();
    EXPECT_EQ(w.window().kind(), v1::WindowSpec::KIND_TUMBLING);
    EXPECT_EQ(w.window().size_ticks(), 10 * 10'000'000LL);
    EXPECT_EQ(w.keys_size(), 1);
    // AVG(temperature) appears twice but is computed once.
    EXPECT_EQ(w.aggregates_size(), 1);
  }
}

TEST(CompilerTest, StepReadByTwoStatementsIsPlannedOnce) {
  CompileResult r = CompileQuery(R"(
    WITH hot AS (SELECT deviceId, temperature FROM telemetry WHERE temperature > 70)
    SELECT * INTO a FROM hot
    SELECT deviceId, COUNT(*) AS n INTO b FROM hot GROUP BY deviceId, TumblingWindow(minute, 1))");
  ASSERT_TRUE(r.ok) << r.error.message;
  EXPECT_EQ(CountNodes(r.plan, v1::Node::kSource), 1);
  EXPECT_EQ(CountNodes(r.plan, v1::Node::kEventTime), 1);
  // The step's filter is shared; SELECT * FROM hot needs no projection.
  EXPECT_EQ(CountNodes(r.plan, v1::Node::kFilter), 1);
  EXPECT_EQ(CountNodes(r.plan, v1::Node::kSink), 2);
}

// A worker's task reads one topic-partition, so rows of two inputs never
// share a task: a join of two inputs, or a UNION of two inputs that is then
// grouped, crosses an exchange even when both are keyed by the device; a
// self-join on the key does not.
TEST(CompilerTest, OnlyRowsOfOneInputShareATaskWithoutAnExchange) {
  const std::map<std::string, int> exchanges = {
      {R"(SELECT a.deviceId INTO o FROM x a JOIN x b
          ON a.deviceId = b.deviceId AND DATEDIFF(second, a, b) BETWEEN 0 AND 5)",
       0},
      {R"(SELECT a.deviceId INTO o FROM x a JOIN y b
          ON a.deviceId = b.deviceId AND DATEDIFF(second, a, b) BETWEEN 0 AND 5)",
       2},
      {R"(SELECT a.deviceId INTO o FROM x a JOIN x b
          ON a.temperature = b.temperature AND DATEDIFF(second, a, b) BETWEEN 0 AND 5)",
       2},
      {R"(WITH u AS (SELECT deviceId FROM x UNION SELECT deviceId FROM y)
          SELECT deviceId, COUNT(*) AS n INTO o FROM u GROUP BY deviceId, TumblingWindow(second, 5))",
       1},
      {R"(WITH u AS (SELECT deviceId FROM x UNION SELECT deviceId FROM x)
          SELECT deviceId, COUNT(*) AS n INTO o FROM u GROUP BY deviceId, TumblingWindow(second, 5))",
       0},
  };
  for (const auto& [query, expected] : exchanges) {
    CompileResult r = CompileQuery(query);
    ASSERT_TRUE(r.ok) << r.error.message << "\n" << query;
    EXPECT_EQ(CountNodes(r.plan, v1::Node::kExchange), expected) << query;
    EXPECT_TRUE(r.plan.distributed_error().empty()) << query;
  }
}

TEST(CompilerTest, SinksKnowWhichColumnsAreGroupKeys) {
  // Rows are keyed by their GROUP BY key on Kafka; keys survive steps.
  CompileResult r = CompileQuery(R"(
    WITH a AS (SELECT deviceId, site, COUNT(*) AS n FROM t
               GROUP BY deviceId, site, TumblingWindow(second, 10))
    SELECT n, deviceId INTO one FROM a
    SELECT * INTO two FROM a
    SELECT COUNT(*) AS total INTO three FROM t GROUP BY TumblingWindow(second, 10))");
  ASSERT_TRUE(r.ok) << r.error.message;
  std::map<std::string, std::vector<int>> keys;
  for (const v1::Node& node : r.plan.nodes()) {
    if (!node.has_sink()) continue;
    const std::string& output = r.plan.outputs(node.sink().output()).name();
    keys[output].assign(node.sink().key_columns().begin(), node.sink().key_columns().end());
  }
  EXPECT_EQ(keys["one"], std::vector<int>({1}));
  EXPECT_EQ(keys["two"], std::vector<int>({0, 1}));
  EXPECT_EQ(keys["three"], std::vector<int>());
}

TEST(CompilerTest, OnlyReferencedFieldsAreDecoded) {
  CompileResult r = CompileQuery("SELECT a, b.c FROM input WHERE d > 1");
  ASSERT_TRUE(r.ok) << r.error.message;
  ASSERT_EQ(r.plan.inputs(0).fields_size(), 3);
  EXPECT_EQ(r.plan.inputs(0).fields(0), "d");
  EXPECT_FALSE(r.plan.inputs(0).needs_record());
  r = CompileQuery("SELECT *, a FROM input");
  ASSERT_TRUE(r.ok) << r.error.message;
  EXPECT_TRUE(r.plan.inputs(0).needs_record());
}

TEST(CompilerTest, SyntaxErrorsPointAtTheToken) {
  EXPECT_EQ(
      ErrorOf("SELECT a FROM"),
      "1:14: error: expected an input or step name after FROM but found the end of the query");
  // "FRM" reads as an alias of a; the parser stops at the next word.
  EXPECT_EQ(ErrorOf("SELECT a\nFRM input"),
            "2:5: error: expected FROM (every SELECT needs a FROM clause) but found 'input'");
  EXPECT_EQ(ErrorOf("SELECT a, FROM input"),
            "1:11: error: expected an expression but found the reserved word FROM; write [FROM] to "
            "use it as a name");
  EXPECT_EQ(ErrorOf(""), "1:1: error: the query is empty: expected SELECT");
  EXPECT_EQ(ErrorOf("SELECT (a FROM input"), "1:11: error: expected ')' but found 'FROM'");
}

TEST(CompilerTest, SemanticErrorsPointAtTheToken) {
  EXPECT_EQ(ErrorOf("SELECT FOO(a) FROM input"), "1:8: error: unknown function 'FOO'");
  EXPECT_EQ(ErrorOf("SELECT LEFT(a) FROM input"), "1:8: error: LEFT takes 2 arguments, got 1");
  EXPECT_EQ(ErrorOf("SELECT a, COUNT(*) FROM input GROUP BY TumblingWindow(second, 5)"),
            "1:8: error: 'a' in SELECT must be a GROUP BY key or inside an aggregate function");
  EXPECT_EQ(ErrorOf("SELECT a FROM input GROUP BY a"),
            "1:21: error: GROUP BY needs a window: add TumblingWindow(...), HoppingWindow(...), "
            "SlidingWindow(...), SessionWindow(...) or System.Timestamp()");
  EXPECT_EQ(ErrorOf("SELECT COUNT(*) FROM input"),
            "1:8: error: aggregate function COUNT needs a GROUP BY with a window");
  EXPECT_EQ(ErrorOf("SELECT a FROM input WHERE SUM(a) > 1"),
            "1:27: error: aggregate functions are not allowed in WHERE");
  EXPECT_EQ(ErrorOf("SELECT COUNT(*) FROM input GROUP BY TumblingWindow(week, 1)"),
            "1:52: error: expected a time unit (day, hour, minute, second, millisecond, "
            "microsecond) but found 'week'");
  EXPECT_EQ(ErrorOf("SELECT COUNT(*) FROM input GROUP BY TumblingWindow(day, 8)"),
            "1:57: error: the window size must be at most 7 days: 8 day");
  EXPECT_EQ(ErrorOf("SELECT a FROM input TIMESTAMP BY System.Timestamp()"),
            "1:34: error: System.Timestamp() cannot be used in TIMESTAMP BY");
  EXPECT_EQ(ErrorOf("SELECT DATEADD(fortnight, 1, t) FROM input"),
            "1:16: error: expected a datepart (year, quarter, month, dayofyear, day, week, "
            "weekday, hour, minute, second, millisecond, microsecond, nanosecond) but found "
            "'fortnight'");
  EXPECT_EQ(ErrorOf("WITH s AS (SELECT a INTO o FROM input) SELECT * FROM s"),
            "1:21: error: INTO cannot be used inside a WITH step; write it in the SELECT that "
            "reads the step");
  EXPECT_EQ(ErrorOf("SELECT a, b AS a FROM input"),
            "1:11: error: output column 'a' appears twice in this SELECT; give one of them an "
            "alias");
  EXPECT_EQ(ErrorOf("SELECT a FROM input UNION SELECT a, b FROM other"),
            "1:27: error: each SELECT of a UNION must produce the same columns: the first has 1, "
            "this one has 2");
  EXPECT_EQ(ErrorOf("SELECT LAG(a) OVER (PARTITION BY b) FROM input"),
            "1:8: error: LAG needs OVER ([PARTITION BY ...] LIMIT DURATION(unit, length) [WHEN "
            "...]): how far back it may look");
  EXPECT_EQ(ErrorOf("SELECT LAG(a) OVER (PARTITION BY b LIMIT DURATION(hour, 1) WHEN) FROM input"),
            "1:64: error: expected an expression but found ')'");
  EXPECT_EQ(ErrorOf("WITH s AS (SELECT a FROM s) SELECT a FROM s"),
            "1:26: error: step 's' reads itself");
}

TEST(CompilerTest, HopAndOffsetForms) {
  for (const char* q :
       {"SELECT COUNT(*) FROM i GROUP BY HoppingWindow(second, 10, 5, -1)",
        "SELECT COUNT(*) FROM i GROUP BY HOPPINGWINDOW(Duration(second, 10), Hop(second, 5), "
        "Offset(second, -1))"}) {
    CompileResult r = CompileQuery(q);
    ASSERT_TRUE(r.ok) << q << ": " << r.error.message;
    for (const v1::Node& node : r.plan.nodes()) {
      if (!node.has_window_aggregate()) continue;
      const v1::WindowSpec& w = node.window_aggregate().window();
      EXPECT_EQ(w.size_ticks(), 100'000'000);
      EXPECT_EQ(w.hop_ticks(), 50'000'000);
      EXPECT_EQ(w.offset_ticks(), 40'000'000);  // -1 s modulo the 5 s hop
    }
  }
}

}  // namespace
}  // namespace sluice::sql

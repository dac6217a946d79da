// Queries written to hurt the compiler: every query up to the API's size
// limit either compiles or fails with `line:col` and a message, quickly, and
// every plan the compiler accepts is read back by every reader of plans:
// protobuf binary with default limits, inside the messages that carry it
// (the catalog command, ValidateJob and DescribeJob responses), in JSON, and
// by `sluice explain`. The cases are the ones fuzzing and attack found:
// each crashed the compiler, the optimizer or explain before.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/exec/explain.h"
#include "engine/exec/operator_registry.h"
#include "google/protobuf/util/json_util.h"
#include "operators/builtin_operators.h"
#include "operators/window_policy.h"
#include "proto/job_service.pb.h"
#include "sql/compiler.h"
#include "sql/limits.h"

namespace sluice::sql {
namespace {

// The JobService API refuses larger queries (engine/app/control/job_service.h).
constexpr size_t kMaxQueryBytes = 100'000;

// `prefix` + `count` copies of `term` joined by `separator` + `suffix`, with
// as many terms as fit in kMaxQueryBytes.
std::string Repeat(const std::string& prefix, const std::string& term, const std::string& separator,
                   int count, const std::string& suffix) {
  std::string q = prefix;
  for (int i = 0; i < count; ++i) {
    const std::string& next = i == 0 ? term : absl::StrCat(separator, term);
    if (q.size() + next.size() + suffix.size() > kMaxQueryBytes) break;
    q += next;
  }
  return q + suffix;
}

// `count` levels of open + ... + inner + ... + close, cut to fit the limit.
std::string Nest(const std::string& prefix, const std::string& open, const std::string& inner,
                 const std::string& close, int count, const std::string& suffix) {
  const size_t room = kMaxQueryBytes - prefix.size() - inner.size() - suffix.size();
  const size_t fit = room / (open.size() + close.size());
  const int n = static_cast<int>(std::min<size_t>(count, fit));
  std::string q = prefix;
  for (int i = 0; i < n; ++i) q += open;
  q += inner;
  for (int i = 0; i < n; ++i) q += close;
  return q + suffix;
}

// Plans up to this size also round-trip through JSON. Protobuf's JSON
// converter refuses depth, not size, and is slow on the flat plans of long
// AND chains (a second per plan in the sanitizer build).
constexpr size_t kMaxJsonCheckedPlanBytes = 64 * 1024;

// Encodes `message` and decodes it with protobuf's default limits: binary,
// and JSON when asked.
template <typename Message>
void ExpectDecodes(const Message& message, bool json) {
  std::string bytes;
  ASSERT_TRUE(message.SerializeToString(&bytes));
  Message binary;
  ASSERT_TRUE(binary.ParseFromString(bytes)) << Message::descriptor()->name();
  EXPECT_EQ(binary.SerializeAsString(), bytes);
  if (!json) return;
  std::string text;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(message, &text).ok())
      << Message::descriptor()->name() << " does not print as JSON";
  Message from_json;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(text, &from_json).ok())
      << Message::descriptor()->name() << " does not parse from JSON";
  EXPECT_EQ(from_json.SerializeAsString(), bytes);
}

// Every reader of plans accepts the plan: the plan alone, a catalog
// command holding it (workers write and read those as JSON), a
// ValidateJobResponse (DescribeJobResponse holds the plan at the same
// depth), and explain. The plan moves into each wrapper and back.
void ExpectReadable(CompileResult& r) {
  const bool json = r.plan.ByteSizeLong() <= kMaxJsonCheckedPlanBytes;
  ExpectDecodes(r.plan, false);
  v1::CatalogCommand command;
  command.set_kind(v1::CatalogCommand::SUBMIT);
  command.set_name("job");
  command.mutable_plan()->Swap(&r.plan);
  ExpectDecodes(command, json);
  command.mutable_plan()->Swap(&r.plan);
  v1::ValidateJobResponse validate;
  validate.set_valid(true);
  validate.mutable_plan()->Swap(&r.plan);
  ExpectDecodes(validate, false);
  validate.mutable_plan()->Swap(&r.plan);
  OperatorRegistry registry;
  RegisterBuiltinOperators(&registry);
  auto text = ExplainPlan(r.plan, registry, r.passes);
  EXPECT_TRUE(text.ok()) << text.status();
}

enum class Expect { kEither, kCompiles, kFails };

// Compiles `query`: it must compile or fail with a position and a message
// meant for its author. (How long compiling takes is measured in bench/,
// not asserted here: the budgets below are counts, not clocks.)
CompileResult Check(const std::string& query, Expect expect = Expect::kEither) {
  EXPECT_LE(query.size(), kMaxQueryBytes);
  CompileResult r = CompileQuery(query);
  if (expect == Expect::kCompiles) {
    EXPECT_TRUE(r.ok) << FormatQueryError("", r.error);
  } else if (expect == Expect::kFails) {
    EXPECT_FALSE(r.ok) << "compiled";
  }
  if (r.ok) {
    ExpectReadable(r);
  } else {
    EXPECT_GE(r.error.location.line, 1);
    EXPECT_GE(r.error.location.column, 1);
    EXPECT_FALSE(r.error.message.empty());
    EXPECT_EQ(r.error.message.find('\0'), std::string::npos);
    EXPECT_FALSE(absl::StartsWith(r.error.message, "internal error")) << r.error.message;
  }
  return r;
}

std::string ErrorOf(const std::string& query) {
  CompileResult r = Check(query, Expect::kFails);
  return r.ok ? "compiled" : FormatQueryError("", r.error);
}

const std::string kTooDeep =
    absl::StrCat("error: expression is nested too deeply (limit ", kMaxExpressionDepth, ")");

// Sums, products and the like are binary: a long chain is a deep tree and
// fails at the term that crosses the depth limit.
TEST(HostileQueryTest, LongBinaryChains) {
  for (const char* op : {"+", "-", "*", "/", "||"}) {
    for (int terms : {10'000, 49'000}) {
      SCOPED_TRACE(absl::StrCat(op, " x ", terms));
      Check(Repeat("SELECT ", "1", op, terms, " AS x INTO o FROM telemetry"), Expect::kFails);
    }
  }
}

// AND and OR chains are one node: they compile whatever their length.
void CheckFlatChain(const std::string& op) {
  // 10,000 terms fit in the size limit; 49,000 are cut to what fits.
  for (int terms : {10'000, 49'000}) {
    SCOPED_TRACE(absl::StrCat(op, " x ", terms));
    Check(Repeat("SELECT a INTO o FROM telemetry WHERE ", "a", op, terms, ""), Expect::kCompiles);
  }
}

TEST(HostileQueryTest, LongAndChainsCompileFlat) { CheckFlatChain(" AND "); }

TEST(HostileQueryTest, LongOrChainsCompileFlat) { CheckFlatChain(" OR "); }

TEST(HostileQueryTest, LongMixedChainsCompileFlat) {
  // An OR of ANDs of comparisons: three levels whatever the length.
  Check(Repeat("SELECT a INTO o FROM telemetry WHERE ", "a = 1 AND b = 2", " OR ", 49'000, ""),
        Expect::kCompiles);
}

TEST(HostileQueryTest, LongUnaryRuns) {
  for (int n : {7'100, 30'000, 100'000}) {
    SCOPED_TRACE(n);
    Check(Nest("SELECT ", "- ", "x", "", n, " AS x INTO o FROM telemetry"), Expect::kFails);
    Check(Nest("SELECT ", "~", "x", "", n, " AS x INTO o FROM telemetry"), Expect::kFails);
    Check(Nest("SELECT a INTO o FROM telemetry WHERE ", "NOT ", "a = 1", "", n, ""),
          Expect::kFails);
  }
}

TEST(HostileQueryTest, DeepParentheses) {
  for (int n : {5'000, 7'100, 100'000}) {
    SCOPED_TRACE(n);
    Check(Nest("SELECT ", "(", "1", ")", n, " AS x INTO o FROM telemetry"), Expect::kFails);
    Check(Nest("SELECT a INTO o FROM telemetry WHERE ", "(a = 1 OR ", "a = 2", ")", n, ""),
          Expect::kFails);
  }
}

TEST(HostileQueryTest, DeepCallsCaseCastAndNames) {
  const int n = 7'100;  // cut to the size limit where the text is longer
  const std::string select = "SELECT ";
  const std::string from = " AS x INTO o FROM telemetry";
  Check(Nest(select, "ABS(", "1", ")", n, from), Expect::kFails);
  Check(Nest(select, "COALESCE(1, ", "1", ")", n, from), Expect::kFails);
  Check(Nest(select, "CAST(", "1", " AS bigint)", n, from), Expect::kFails);
  Check(Nest(select, "CASE WHEN ", "1 = 1", " THEN 1 END = 1", n, from), Expect::kFails);
  Check(Nest(select, "CASE WHEN a = 1 THEN ", "1", " END", n, from), Expect::kFails);
  Check(Nest(select, "CASE ", "a", " WHEN 1 THEN 2 END", n, from), Expect::kFails);
  Check(Nest(select, "1 + (", "1", ")", n, from), Expect::kFails);
  Check(Nest(select, "a IN (", "1", ")", n, from), Expect::kFails);
  Check(Nest(select, "GetRecordPropertyValue(", "r", ", 'a')", n, from), Expect::kFails);
  Check(Repeat("SELECT a", ".b", "", n, from), Expect::kFails);
  Check(Repeat("SELECT ABS(1)", ".b", "", n, from), Expect::kFails);
}

TEST(HostileQueryTest, ManyStepsStatementsAndColumns) {
  std::string steps = "WITH s0 AS (SELECT a FROM telemetry)";
  for (int i = 1; i < 3'000; ++i)
    absl::StrAppend(&steps, ", s", i, " AS (SELECT a FROM s", i - 1, ")");
  absl::StrAppend(&steps, " SELECT a INTO o FROM s2999");
  Check(steps, Expect::kFails);
  Check(Repeat("", "SELECT a INTO o FROM telemetry", "\n", 3'000, ""), Expect::kFails);
  Check(Repeat("", "SELECT a FROM telemetry", " UNION ", 3'000, ""), Expect::kFails);
  Check(Repeat("SELECT ", "1", ",", 20'000, " INTO o FROM telemetry"), Expect::kFails);
  Check(Repeat("SELECT COUNT(*) AS n INTO o FROM telemetry GROUP BY TumblingWindow(second, 1), ",
               "a", ",", 20'000, ""),
        Expect::kFails);
  // Distinct columns: linear time, and limited.
  std::string columns = "SELECT a0";
  for (int i = 1; i < 20'000 && columns.size() < 90'000; ++i) absl::StrAppend(&columns, ",a", i);
  Check(columns + " INTO o FROM telemetry", Expect::kFails);
  // Fields of one input, read by two SELECTs: the second crosses the limit
  // at f1000 ("SELECT " and 100 items "f9xx," before it).
  std::string fields;
  for (int s = 0; s < 2; ++s) {
    absl::StrAppend(&fields, "SELECT ");
    for (int i = 0; i < 900; ++i) absl::StrAppend(&fields, i ? "," : "", "f", s * 900 + i);
    absl::StrAppend(&fields, " INTO o", s, " FROM telemetry\n");
  }
  EXPECT_EQ(ErrorOf(fields),
            absl::StrCat("2:508: error: the query reads too many fields of input 'telemetry' "
                         "(limit ",
                         kMaxInputFields, ")"));
  // `*` over a step expands past the column limit.
  std::string wide = "WITH w AS (SELECT ";
  for (int i = 0; i < kMaxSelectColumns; ++i) absl::StrAppend(&wide, i ? "," : "", "c", i);
  absl::StrAppend(&wide, " FROM telemetry) SELECT *, * INTO o FROM w");
  EXPECT_TRUE(
      absl::StrContains(ErrorOf(wide), "too many columns in one SELECT once * is expanded"));
}

TEST(HostileQueryTest, ExpansionsAreBounded) {
  // Each HAVING alias names the one before it twice: 2^40 nodes if expanded
  // without a bound.
  std::string q = "SELECT COUNT(*) AS a0";
  for (int i = 1; i <= 40; ++i) absl::StrAppend(&q, ", a", i - 1, " + a", i - 1, " AS a", i);
  absl::StrAppend(&q, " INTO o FROM telemetry GROUP BY TumblingWindow(second, 1) HAVING a40 > 0");
  Check(q, Expect::kFails);
  EXPECT_TRUE(absl::StrContains(ErrorOf(q), "nested too deeply once HAVING aliases are expanded"))
      << ErrorOf(q);
  // The same without GROUP BY (HAVING acts as WHERE).
  std::string row = "SELECT a AS a0";
  for (int i = 1; i <= 40; ++i) absl::StrAppend(&row, ", a", i - 1, " + a", i - 1, " AS a", i);
  absl::StrAppend(&row, " INTO o FROM telemetry HAVING a40 > 0");
  Check(row, Expect::kFails);
  EXPECT_TRUE(absl::StrContains(ErrorOf(row), "nested too deeply once HAVING aliases are expanded"))
      << ErrorOf(row);
  // A simple CASE repeats its operand (here 43 nodes) for every WHEN.
  std::string cases = absl::StrCat("SELECT CASE ", Repeat("", "a", "+", 22, ""));
  for (int i = 0; cases.size() < 95'000; ++i) absl::StrAppend(&cases, " WHEN ", i, " THEN 1");
  absl::StrAppend(&cases, " END AS x INTO o FROM telemetry");
  EXPECT_TRUE(absl::StrContains(ErrorOf(cases), "the query expands to too many expressions"));
}

TEST(HostileQueryTest, EncodingAndNul) {
  EXPECT_EQ(ErrorOf("SELECT\n  'caf\xC3' AS x INTO o FROM telemetry"),
            "2:7: error: the query must be UTF-8 text; invalid byte: 0xC3");
  EXPECT_EQ(ErrorOf("SELECT 'ok \xE2\x82\xAC', '\xED\xA0\x80' AS x INTO o FROM telemetry"),
            "1:17: error: the query must be UTF-8 text; invalid byte: 0xED");
  EXPECT_EQ(ErrorOf("SELECT [\xFF] INTO o FROM telemetry"),
            "1:9: error: the query must be UTF-8 text; invalid byte: 0xFF");
  EXPECT_EQ(ErrorOf(std::string("SELECT 'a\0b' AS x INTO o FROM telemetry", 38)),
            "1:10: error: a query cannot contain a NUL byte");
  EXPECT_EQ(ErrorOf(std::string("SELECT a\0 INTO o FROM telemetry", 31)),
            "1:9: error: a query cannot contain a NUL byte");
  EXPECT_EQ(ErrorOf("SELECT a \x01 INTO o FROM telemetry"),
            "1:10: error: unexpected character U+0001");
  // Valid UTF-8 in a literal compiles and reaches the plan unchanged.
  CompileResult r =
      Check("SELECT 'h\xC3\xA9llo \xF0\x9F\x8C\x8A' AS x INTO o FROM telemetry", Expect::kCompiles);
  ASSERT_TRUE(r.ok);
}

// The deepest plans the compiler accepts, built to reach every level the
// binder adds, still decode with default limits, alone and inside the
// messages that carry them, in binary and JSON.
TEST(HostileQueryTest, DeepestAcceptedPlansAreReadable) {
  const int d = kMaxExpressionDepth;
  // A chain of d terms is d levels deep: allowed; one more term is not.
  Check(Repeat("SELECT ", "a", " + ", d, " AS x INTO o FROM telemetry"), Expect::kCompiles);
  EXPECT_EQ(ErrorOf(Repeat("SELECT ", "a", "+", d + 1, " AS x INTO o FROM telemetry")),
            absl::StrCat("1:", 7 + 2 * d, ": ", kTooDeep));
  // d - 1 parentheses around a leaf: allowed; d are not, at the last '('.
  Check(Nest("SELECT ", "(", "a", ")", d - 1, " AS x INTO o FROM telemetry"), Expect::kCompiles);
  EXPECT_EQ(ErrorOf(Nest("SELECT ", "(", "a", ")", d, " AS x INTO o FROM telemetry")),
            absl::StrCat("1:", 7 + d, ": ", kTooDeep));
  // Spliced records make a name three Exprs deep (COALESCE of field
  // lookups), and WHERE and HAVING merge under one more AND.
  const std::string deep_name = Nest("", "NOT ", "y", "", d - 1, "");
  const std::string spliced = absl::StrCat(
      "WITH s AS (SELECT *, r.* FROM telemetry)\n"
      "SELECT a INTO o FROM s WHERE ",
      deep_name, " HAVING ", deep_name);
  CompileResult r = Check(spliced, Expect::kCompiles);
  ASSERT_TRUE(r.ok);
  // TopOne wraps its ordering values and payload in an array.
  const std::string deep_arg = Nest("", "ABS(", "a", ")", d - 2, "");
  Check(absl::StrCat("SELECT TopOne(", deep_arg, ") OVER (ORDER BY ", deep_arg,
                     ") AS t INTO o FROM telemetry GROUP BY TumblingWindow(second, 1)"),
        Expect::kCompiles);
  // Session partitions and aggregate arguments.
  Check(absl::StrCat("SELECT SUM(", deep_arg, ") AS s INTO o FROM telemetry GROUP BY ",
                     "SessionWindow(second, 5, 10) OVER (PARTITION BY ", deep_arg, ")"),
        Expect::kCompiles);
  // HAVING aliases expand in place, within the same limit.
  const std::string alias = Nest("", "ABS(", "COUNT(*)", ")", d - 2, "");
  Check(absl::StrCat("SELECT ", alias,
                     " AS c INTO o FROM telemetry GROUP BY TumblingWindow(second, 1) HAVING ",
                     Nest("", "NOT ", "c > 0", "", d - 2, "")),
        Expect::kFails);
}

// Protobuf's JSON printer stops at 64 nested messages (the reason
// kMaxExpressionDepth is what it is) and its parser at 100 nested objects.
// If protobuf's limits change, this says so.
TEST(HostileQueryTest, ProtobufJsonLimitsAreWhatTheLimitsAssume) {
  auto nested = [](int levels) {
    v1::CatalogCommand command;
    v1::Expr* e = command.mutable_plan()->add_nodes()->mutable_filter()->mutable_predicate();
    for (int i = 1; i < levels; ++i) {
      v1::Call* call = e->mutable_call();
      call->set_function("not");
      e = call->add_args();
    }
    e->mutable_literal()->set_bigint_value(1);
    return command;
  };
  std::string json;
  // The leaf's message level below a catalog command is 2 * levels + 3.
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(nested(30), &json).ok());
  EXPECT_FALSE(google::protobuf::util::MessageToJsonString(nested(31), &json).ok());
  // The leaf's JSON depth is 2 * levels + 4 (objects; arrays do not count).
  auto nested_json = [](int levels) {
    std::string json = R"({"plan":{"nodes":[{"filter":{"predicate":)";
    for (int i = 1; i < levels; ++i) json += R"({"call":{"function":"not","args":[)";
    json += R"({"literal":{"bigintValue":"1"}})";
    for (int i = 1; i < levels; ++i) json += "]}}";
    return json + "}}]}}";
  };
  v1::CatalogCommand command;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(nested_json(48), &command).ok());
  EXPECT_FALSE(google::protobuf::util::JsonStringToMessage(nested_json(49), &command).ok());
}

TEST(HostileQueryTest, WindowLimitsAgreeWithTheOperator) {
  EXPECT_EQ(kMaxWindowsPerEvent, sluice::kMaxWindowsPerEvent);
}

}  // namespace
}  // namespace sluice::sql

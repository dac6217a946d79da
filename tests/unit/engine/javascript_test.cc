// JavaScript UDFs: the interpreter's type mapping and limits, in process,
// and the host process's time limit and restarts against the real `sluice`
// binary (SLUICE_BINARY).
#include <string>
#include <vector>

#include "engine/core/datetime.h"
#include "engine/core/value.h"
#include "engine/expr/javascript/javascript_host.h"
#include "engine/expr/javascript/javascript_interpreter.h"
#include "gtest/gtest.h"

namespace sluice::javascript {
namespace {

std::unique_ptr<JavaScriptInterpreter> Make(const std::string& source,
                                            int64_t memory = kDefaultMemoryLimitBytes) {
  auto made = JavaScriptInterpreter::Create("f", source, memory);
  EXPECT_TRUE(made.ok()) << made.status();
  return made.ok() ? *std::move(made) : nullptr;
}

std::string Json(const Value& v) {
  std::string out;
  AppendJson(v, &out);
  return out;
}

// Calls `source` with `args`; the result as JSON and its type, or the error.
std::string Call(const std::string& source, std::vector<Value> args) {
  Arena arena;
  auto js = Make(source);
  if (js == nullptr) return "no interpreter";
  Value result;
  std::string error;
  if (!js->Call(args.data(), static_cast<int>(args.size()), &arena, &result, &error)) {
    return "error: " + error;
  }
  return std::string(TypeName(result.type())) + " " + Json(result);
}

TEST(JavaScriptInterpreterTest, NumbersComeBackAsBigintWhenIntegral) {
  const std::string add = "function (a, b) { return a + b; }";
  EXPECT_EQ(Call(add, {Value::Bigint(3), Value::Bigint(4)}), "bigint 7");
  EXPECT_EQ(Call(add, {Value::Float(1.5), Value::Float(0.5)}), "bigint 2");
  EXPECT_EQ(Call(add, {Value::Bigint(1), Value::Float(0.25)}), "float 1.25");
  // Exact to 2^53.
  EXPECT_EQ(Call(add, {Value::Bigint(9007199254740992), Value::Bigint(0)}),
            "bigint 9007199254740992");
  EXPECT_EQ(Call("function () { return 1e300; }", {}), "float 1e+300");
  EXPECT_EQ(Call("function () { return -0; }", {}), "bigint 0");
  EXPECT_EQ(Call("function () { return NaN; }", {}), "float null");
}

TEST(JavaScriptInterpreterTest, StringsBitsAndNulls) {
  Arena arena;
  EXPECT_EQ(Call("function (s) { return s + '!' + s.length; }", {Value::String("zoë")}),
            "nvarchar(max) \"zoë!3\"");
  EXPECT_EQ(Call("function (b) { return !b; }", {Value::Bit(false)}), "bit true");
  EXPECT_EQ(Call("function (x) { return x === null ? 'null' : typeof x; }", {Value()}),
            "nvarchar(max) \"null\"");
  EXPECT_EQ(Call("function () { return undefined; }", {}), "null null");
  EXPECT_EQ(Call("function () {}", {}), "null null");
}

TEST(JavaScriptInterpreterTest, RecordsAndArraysBothWays) {
  Arena arena;
  RecordField fields[] = {{"name", Value::String("a")}, {"n", Value::Bigint(2)}};
  Value items[] = {Value::Bigint(1), Value::Float(2.5)};
  EXPECT_EQ(Call("function (r, xs) { return {who: r.name, twice: r.n * 2, sum: xs[0] + xs[1], "
                 "xs: xs.concat([null, {k: true}])}; }",
                 {Value::Record(fields, 2), Value::Array(items, 2)}),
            "record {\"who\":\"a\",\"twice\":4,\"sum\":3.5,\"xs\":[1,2.5,null,{\"k\":true}]}");
}

TEST(JavaScriptInterpreterTest, DatetimeIsADateToTheMillisecond) {
  const int64_t ticks = 1'704'067'200LL * kTicksPerSecond + 1'234'567;  // 2024-01-01 + .1234567
  EXPECT_EQ(Call("function (d) { return d.getTime(); }", {Value::Datetime(ticks)}),
            "bigint 1704067200123");
  EXPECT_EQ(Call("function (d) { return new Date(d.getTime() + 1000); }", {Value::Datetime(ticks)}),
            "datetime \"2024-01-01T00:00:01.1230000Z\"");
  // Before 1970, milliseconds round down.
  EXPECT_EQ(Call("function (d) { return d.getTime(); }", {Value::Datetime(-1)}), "bigint -1");
  EXPECT_EQ(Call("function () { return new Date(NaN); }", {}).substr(0, 25),
            "error: udf.f failed: Rang");
}

TEST(JavaScriptInterpreterTest, ErrorsCarryTheMessage) {
  EXPECT_EQ(Call("function () { throw new Error('boom'); }", {}),
            "error: udf.f failed: Error: boom");
  EXPECT_EQ(Call("function () { var o = {}; o.self = o; return o; }", {}).substr(0, 50),
            "error: udf.f failed: RangeError: the result nests ");
  EXPECT_EQ(Call("function () { return function () {}; }", {}),
            "error: udf.f failed: TypeError: the result holds a function");
  // Lone surrogates are not UTF-8.
  EXPECT_EQ(Call("function () { return String.fromCharCode(0xd800); }", {}).substr(0, 44),
            "error: udf.f failed: TypeError: the result h");
}

TEST(JavaScriptInterpreterTest, OnlyOneFunctionCompiles) {
  EXPECT_FALSE(JavaScriptInterpreter::Create("f", "1 + 2", kDefaultMemoryLimitBytes).ok());
  EXPECT_FALSE(JavaScriptInterpreter::Create("f", "function (", kDefaultMemoryLimitBytes).ok());
  EXPECT_TRUE(JavaScriptInterpreter::Create("f", "function named(a) { return a; };\n",
                                            kDefaultMemoryLimitBytes)
                  .ok());
  auto bad = JavaScriptInterpreter::Create("f", "function (", kDefaultMemoryLimitBytes);
  EXPECT_EQ(std::string(bad.status().message()).substr(0, 36),
            "udf.f does not compile: SyntaxError:");
}

TEST(JavaScriptInterpreterTest, NoModulesOrHostApis) {
  EXPECT_EQ(Call("function () { return [typeof require, typeof print, typeof alert, typeof "
                 "process, typeof XMLHttpRequest].join(); }",
                 {}),
            "nvarchar(max) \"undefined,undefined,undefined,undefined,undefined\"");
}

TEST(JavaScriptInterpreterTest, MemoryBudgetFailsTheCallAndTheHeapStartsAfresh) {
  auto js = Make(
      "function (n) { var a = []; for (var i = 0; i < n; i++) a.push('item ' + i); return "
      "a.length; }",
      2 << 20);
  ASSERT_NE(js, nullptr);
  Arena arena;
  Value result;
  std::string error;
  Value small = Value::Bigint(10);
  ASSERT_TRUE(js->Call(&small, 1, &arena, &result, &error)) << error;
  EXPECT_EQ(result.bigint(), 10);
  Value huge = Value::Bigint(100'000'000);
  EXPECT_FALSE(js->Call(&huge, 1, &arena, &result, &error));
  EXPECT_EQ(error, "udf.f needs more than 2097152 bytes of JavaScript heap");
  EXPECT_LE(js->bytes_in_use(), 2 << 20);
  ASSERT_TRUE(js->Call(&small, 1, &arena, &result, &error)) << error;
  EXPECT_EQ(result.bigint(), 10);
}

#ifdef SLUICE_BINARY
TEST(JavaScriptHostTest, ATooLongCallFailsItsRowOnlyAndTheHostRestarts) {
  SetJavaScriptHostProgram(SLUICE_BINARY);
  JavaScriptHost host("spin", "function (x) { if (x === 2) { while (true) {} } return x * 10; }",
                      30, 0);
  Arena arena;
  std::vector<Value> args = {Value::Bigint(1), Value::Bigint(2), Value::Bigint(3), Value::Bigint(2),
                             Value::Bigint(5)};
  std::vector<JavaScriptResult> results;
  host.CallBatch(args, 1, 5, &arena, &results);
  ASSERT_EQ(results.size(), 5u);
  EXPECT_TRUE(results[0].ok);
  EXPECT_EQ(results[0].value.bigint(), 10);
  EXPECT_FALSE(results[1].ok);
  EXPECT_EQ(results[1].error, "udf.spin ran longer than its time limit of 30ms");
  EXPECT_EQ(results[2].value.bigint(), 30);
  EXPECT_FALSE(results[3].ok);
  EXPECT_EQ(results[4].value.bigint(), 50);
  EXPECT_EQ(host.starts(), 3);  // the first and one per timeout
  // The host that is left answers the next batch.
  host.CallBatch({Value::Bigint(7)}, 1, 1, &arena, &results);
  EXPECT_EQ(results[0].value.bigint(), 70);
  EXPECT_EQ(host.starts(), 3);
}

TEST(JavaScriptHostTest, ASourceThatDoesNotCompileFailsEveryRow) {
  SetJavaScriptHostProgram(SLUICE_BINARY);
  JavaScriptHost host("bad", "function (", 0, 0);
  Arena arena;
  std::vector<JavaScriptResult> results;
  host.CallBatch({Value::Bigint(1), Value::Bigint(2)}, 1, 2, &arena, &results);
  EXPECT_EQ(results[0].error.substr(0, 25), "udf.bad does not compile:");
  EXPECT_EQ(results[1].error, results[0].error);
  EXPECT_EQ(host.starts(), 1);
}
#endif

}  // namespace
}  // namespace sluice::javascript

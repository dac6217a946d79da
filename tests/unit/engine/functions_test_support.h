// The fixture the scalar function tests share (functions_test.cc,
// string_functions_test.cc, datetime_functions_test.cc): each calls a
// function by name through FindScalarFunction.
//
// Results are compared as DebugString text: strings print single-quoted,
// floats always with a fraction or exponent ("1.0", "1e+20") and bigints
// without, datetimes as double-quoted ISO text, so the text pins down the
// result type as well as the value. A failed row prints as
// "error: <message>".
#ifndef SLUICE_TESTS_UNIT_ENGINE_FUNCTIONS_TEST_SUPPORT_H_
#define SLUICE_TESTS_UNIT_ENGINE_FUNCTIONS_TEST_SUPPORT_H_

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/arena.h"
#include "engine/core/datetime.h"
#include "engine/core/value.h"
#include "engine/expr/scalar_function.h"
#include "gtest/gtest.h"

namespace sluice::testing_support {

class FunctionsTest : public ::testing::Test {
 protected:
  // Calls function `name`, returning the result as DebugString text or
  // "error: <message>" when the call failed the row.
  std::string Eval(std::string_view name, std::vector<Value> args) {
    const ScalarFunction* f = FindScalarFunction(name);
    if (f == nullptr) return "no such function";
    const int n = static_cast<int>(args.size());
    if (n < f->min_args || (f->max_args >= 0 && n > f->max_args)) {
      return "wrong argument count";
    }
    CallContext ctx(&arena_);
    const Value v = f->impl(args.data(), n, ctx);
    if (ctx.failed()) {
      EXPECT_TRUE(v.is_null()) << "a failed call must return NULL";
      EXPECT_FALSE(ctx.error().empty());
      return "error: " + ctx.error();
    }
    return DebugString(v);
  }

  // Calls a function that must succeed and returns its result, for nesting
  // calls as a query would.
  Value Call(std::string_view name, std::vector<Value> args) {
    const ScalarFunction* f = FindScalarFunction(name);
    EXPECT_NE(f, nullptr) << name;
    if (f == nullptr) return Value::Null();
    CallContext ctx(&arena_);
    const Value v = f->impl(args.data(), static_cast<int>(args.size()), ctx);
    EXPECT_FALSE(ctx.failed()) << ctx.error();
    return v;
  }

  // Like Eval, for checks that only care that the row failed.
  bool Fails(std::string_view name, std::vector<Value> args) {
    return Eval(name, std::move(args)).rfind("error: ", 0) == 0;
  }

  // Calls a function that must succeed and return a float.
  double EvalFloat(std::string_view name, std::vector<Value> args) {
    const ScalarFunction* f = FindScalarFunction(name);
    EXPECT_NE(f, nullptr);
    if (f == nullptr) return std::nan("");
    CallContext ctx(&arena_);
    const Value v = f->impl(args.data(), static_cast<int>(args.size()), ctx);
    EXPECT_FALSE(ctx.failed()) << ctx.error();
    EXPECT_EQ(v.type(), ValueType::kFloat);
    return v.float_value();
  }

  Value S(std::string_view s) { return Value::String(arena_.CopyString(s)); }
  static Value I(int64_t i) { return Value::Bigint(i); }
  static Value F(double d) { return Value::Float(d); }
  static Value B(bool b) { return Value::Bit(b); }
  static Value N() { return Value::Null(); }
  Value Dt(std::string_view text) {
    std::optional<int64_t> ticks = ParseDatetime(text);
    EXPECT_TRUE(ticks.has_value()) << text;
    return Value::Datetime(ticks.value_or(0));
  }
  // The expected DebugString of a datetime.
  static std::string DtText(std::string_view text) {
    return "\"" + FormatDatetime(*ParseDatetime(text)) + "\"";
  }

  Value Array(std::vector<Value> items) {
    Value* out = arena_.AllocateArray<Value>(items.size());
    for (size_t i = 0; i < items.size(); ++i) out[i] = items[i];
    return Value::Array(out, static_cast<uint32_t>(items.size()));
  }
  Value Record(std::vector<RecordField> fields) {
    RecordField* out = arena_.AllocateArray<RecordField>(fields.size());
    for (size_t i = 0; i < fields.size(); ++i) out[i] = fields[i];
    return Value::Record(out, static_cast<uint32_t>(fields.size()));
  }

  Arena arena_;
};

}  // namespace sluice::testing_support

#endif  // SLUICE_TESTS_UNIT_ENGINE_FUNCTIONS_TEST_SUPPORT_H_

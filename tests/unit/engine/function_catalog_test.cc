// The compiler's function table and the engine's implementations must agree:
// every scalar function the compiler accepts runs, with the same argument
// counts.
#include "sql/function_catalog.h"

#include <gtest/gtest.h>

#include "engine/expr/scalar_function.h"

namespace sluice {
namespace {

TEST(FunctionCatalogTest, CompilerAndEngineAgree) {
  for (const sql::FunctionInfo* info : sql::ScalarFunctionInfos()) {
    if (info->name == "coalesce" || info->name == "nullif") continue;  // built into expressions
    const ScalarFunction* fn = FindScalarFunction(info->name);
    ASSERT_NE(fn, nullptr) << "the engine does not implement " << info->name;
    EXPECT_EQ(fn->min_args, info->min_args) << info->name;
    EXPECT_EQ(fn->max_args, info->max_args) << info->name;
  }
  for (const ScalarFunction* fn : AllScalarFunctions()) {
    const sql::FunctionInfo* info = sql::FindFunction(fn->name);
    ASSERT_NE(info, nullptr) << "the compiler does not know " << fn->name;
    EXPECT_EQ(info->kind, sql::FunctionKind::kScalar) << fn->name;
  }
}

}  // namespace
}  // namespace sluice

// Compilation: turns a plan expression (proto) into a tree of evaluator
// nodes, checking what the compiler should already have rejected (unknown
// functions, argument counts, nesting past kMaxCompiledExpressionDepth) and
// failing with an internal error on a malformed plan.
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "engine/core/value.h"
#include "engine/expr/expression.h"
#include "engine/expr/expression_internal.h"
#include "engine/expr/javascript/javascript_host.h"
#include "engine/expr/scalar_function.h"
#include "proto/plan.pb.h"

namespace sluice {
namespace expr_internal {
namespace {

ValueType FromProtoType(v1::ValueType t) {
  switch (t) {
    case v1::VALUE_TYPE_BIGINT:
      return ValueType::kBigint;
    case v1::VALUE_TYPE_FLOAT:
      return ValueType::kFloat;
    case v1::VALUE_TYPE_NVARCHAR:
      return ValueType::kString;
    case v1::VALUE_TYPE_DATETIME:
      return ValueType::kDatetime;
    case v1::VALUE_TYPE_BIT:
      return ValueType::kBit;
    case v1::VALUE_TYPE_RECORD:
      return ValueType::kRecord;
    case v1::VALUE_TYPE_ARRAY:
      return ValueType::kArray;
    default:
      return ValueType::kNull;
  }
}

absl::StatusOr<std::unique_ptr<Expression>> CompileNested(const v1::Expr& expr, int depth);

absl::StatusOr<Args> CompileArgs(const v1::Call& call, int depth) {
  Args args;
  for (const v1::Expr& e : call.args()) {
    auto compiled = CompileNested(e, depth);
    if (!compiled.ok()) return compiled.status();
    args.push_back(*std::move(compiled));
  }
  return args;
}

absl::Status ArgCount(const v1::Call& call, size_t n) {
  if (static_cast<size_t>(call.args_size()) != n) {
    return absl::InternalError(absl::StrCat("plan calls ", call.function(), " with ",
                                            call.args_size(), " arguments, expected ", n));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Expression>> CompileCall(const v1::Call& call, int depth) {
  auto args_or = CompileArgs(call, depth);
  if (!args_or.ok()) return args_or.status();
  Args args = *std::move(args_or);
  const std::string& f = call.function();

  static const absl::flat_hash_map<std::string, ArithOp> kArith = {{"+", ArithOp::kAdd},
                                                                   {"-", ArithOp::kSubtract},
                                                                   {"*", ArithOp::kMultiply},
                                                                   {"/", ArithOp::kDivide},
                                                                   {"%", ArithOp::kModulo}};
  static const absl::flat_hash_map<std::string, CompareOp> kCompare = {
      {"=", CompareOp::kEq},  {"<>", CompareOp::kNe}, {"<", CompareOp::kLt},
      {"<=", CompareOp::kLe}, {">", CompareOp::kGt},  {">=", CompareOp::kGe}};

  if (auto it = kArith.find(f); it != kArith.end()) {
    if (auto s = ArgCount(call, 2); !s.ok()) return s;
    return MakeArithmetic(it->second, std::move(args[0]), std::move(args[1]));
  }
  if (auto it = kCompare.find(f); it != kCompare.end()) {
    if (auto s = ArgCount(call, 2); !s.ok()) return s;
    return MakeCompare(it->second, std::move(args[0]), std::move(args[1]));
  }
  if (f == "neg") {
    if (auto s = ArgCount(call, 1); !s.ok()) return s;
    return MakeNegate(std::move(args[0]));
  }
  if (f == "&" || f == "|" || f == "^") {
    if (auto s = ArgCount(call, 2); !s.ok()) return s;
    BitOp op = f == "&" ? BitOp::kAnd : (f == "|" ? BitOp::kOr : BitOp::kXor);
    return MakeBitwise(op, std::move(args[0]), std::move(args[1]));
  }
  if (f == "~") {
    if (auto s = ArgCount(call, 1); !s.ok()) return s;
    return MakeBitwiseNot(std::move(args[0]));
  }
  if (f == "and" || f == "or") {
    if (args.size() < 2) {
      return absl::InternalError(
          absl::StrCat("plan calls ", f, " with ", args.size(), " arguments, expected at least 2"));
    }
    return MakeLogical(f == "and", std::move(args));
  }
  if (f == "not") {
    if (auto s = ArgCount(call, 1); !s.ok()) return s;
    return MakeNot(std::move(args[0]));
  }
  if (f == "is_null" || f == "is_not_null") {
    if (auto s = ArgCount(call, 1); !s.ok()) return s;
    return MakeIsNull(std::move(args[0]), f == "is_not_null");
  }
  if (f == "like" || f == "not_like") {
    if (auto s = ArgCount(call, 2); !s.ok()) return s;
    return MakeLike(std::move(args[0]), std::move(args[1]), f == "not_like");
  }
  if (f == "between" || f == "not_between") {
    if (auto s = ArgCount(call, 3); !s.ok()) return s;
    return MakeBetween(std::move(args[0]), std::move(args[1]), std::move(args[2]),
                       f == "not_between");
  }
  if (f == "in" || f == "not_in") {
    if (args.size() < 2) return absl::InternalError("IN needs a list");
    auto value = std::move(args[0]);
    args.erase(args.begin());
    return MakeIn(std::move(value), std::move(args), f == "not_in");
  }
  if (f == "coalesce") {
    if (args.empty()) return absl::InternalError("COALESCE needs arguments");
    return MakeCoalesce(std::move(args));
  }
  if (f == "nullif") {
    if (auto s = ArgCount(call, 2); !s.ok()) return s;
    return MakeNullIf(std::move(args[0]), std::move(args[1]));
  }
  const ScalarFunction* fn = FindScalarFunction(f);
  if (fn == nullptr) {
    return absl::InternalError(absl::StrCat("plan calls unknown function: ", f));
  }
  const int n = static_cast<int>(args.size());
  if (n < fn->min_args || (fn->max_args >= 0 && n > fn->max_args)) {
    return absl::InternalError(absl::StrCat("plan calls ", f, " with ", n, " arguments"));
  }
  return MakeFunctionCall(fn, std::move(args));
}

// `depth`: the expression's level in the tree, the root's being 1.
absl::StatusOr<std::unique_ptr<Expression>> CompileNested(const v1::Expr& expr, int depth) {
  if (depth > kMaxCompiledExpressionDepth) {
    return absl::InternalError(
        absl::StrCat("plan expression nests deeper than ", kMaxCompiledExpressionDepth, " levels"));
  }
  ++depth;  // for the children
  switch (expr.kind_case()) {
    case v1::Expr::kLiteral:
      return MakeConstant(expr.literal());
    case v1::Expr::kColumn:
      return MakeColumn(expr.column());
    case v1::Expr::kField: {
      auto record = CompileNested(expr.field().record(), depth);
      if (!record.ok()) return record.status();
      return MakeFieldLookup(*std::move(record), expr.field().name());
    }
    case v1::Expr::kCall:
      return CompileCall(expr.call(), depth);
    case v1::Expr::kCaseExpr: {
      const v1::CaseExpr& c = expr.case_expr();
      if (c.when_size() != c.then_size()) {
        return absl::InternalError("CASE with unmatched WHEN/THEN");
      }
      Args when;
      Args then;
      for (int i = 0; i < c.when_size(); ++i) {
        auto w = CompileNested(c.when(i), depth);
        if (!w.ok()) return w.status();
        auto t = CompileNested(c.then(i), depth);
        if (!t.ok()) return t.status();
        when.push_back(*std::move(w));
        then.push_back(*std::move(t));
      }
      std::unique_ptr<Expression> else_value;
      if (c.has_else_value()) {
        auto e = CompileNested(c.else_value(), depth);
        if (!e.ok()) return e.status();
        else_value = *std::move(e);
      }
      return MakeCase(std::move(when), std::move(then), std::move(else_value));
    }
    case v1::Expr::kCast: {
      auto arg = CompileNested(expr.cast().arg(), depth);
      if (!arg.ok()) return arg.status();
      const ValueType type = FromProtoType(expr.cast().type());
      if (type == ValueType::kNull) {
        return absl::InternalError("CAST to an unspecified type");
      }
      return MakeCast(*std::move(arg), type, expr.cast().try_cast());
    }
    case v1::Expr::kSystemTimestamp:
      return MakeSystemTimestamp();
    case v1::Expr::kUserFunction: {
      const v1::UserFunctionCall& call = expr.user_function();
      if (call.source().size() > javascript::kMaxSourceBytes ||
          call.args_size() > javascript::kMaxArgs || call.time_limit_ms() < 0 ||
          call.time_limit_ms() > javascript::kMaxTimeLimitMs || call.memory_limit_bytes() < 0 ||
          call.memory_limit_bytes() > javascript::kMaxMemoryLimitBytes) {
        return absl::InternalError(
            absl::StrCat("plan calls udf.", call.name(), " past the engine's limits"));
      }
      Args args;
      for (const v1::Expr& e : call.args()) {
        auto compiled = CompileNested(e, depth);
        if (!compiled.ok()) return compiled.status();
        args.push_back(*std::move(compiled));
      }
      return MakeUserFunctionCall(call, std::move(args));
    }
    case v1::Expr::KIND_NOT_SET:
      break;
  }
  return absl::InternalError("plan has an empty expression");
}

}  // namespace
}  // namespace expr_internal

absl::StatusOr<std::unique_ptr<Expression>> CompileExpression(const v1::Expr& expr) {
  return expr_internal::CompileNested(expr, 1);
}

}  // namespace sluice

// Internal to engine/expr/: what the parts of the expression evaluator
// share. Each kind of node is a class private to its file; the compiler
// (expression_compile.cc) builds them through the Make* functions here:
//   expression.cc              leaves, scalar function calls, truth values
//                              and comparisons
//   expression_arithmetic.cc   + - * / %, unary minus, & | ^ ~
//   expression_predicates.cc   comparisons, AND, OR, NOT, IS NULL, LIKE,
//                              BETWEEN, IN
//   expression_conditional.cc  CASE, COALESCE, NULLIF, CAST
// Nothing outside engine/expr/ includes this header; use expression.h.
#ifndef SLUICE_ENGINE_EXPR_EXPRESSION_INTERNAL_H_
#define SLUICE_ENGINE_EXPR_EXPRESSION_INTERNAL_H_

#include <memory>
#include <string>
#include <vector>

#include "engine/core/batch.h"
#include "engine/core/value.h"
#include "engine/expr/expression.h"
#include "engine/expr/scalar_function.h"
#include "proto/plan.pb.h"

namespace sluice::expr_internal {

// A node's reusable output buffer, indexed by physical row.
class OutputBuffer {
 public:
  Value* Prepare(const Batch& batch) {
    if (values_.size() < batch.num_rows) values_.resize(batch.num_rows);
    return values_.data();
  }
  ValueSpan span() const { return ValueSpan::Column(values_.data()); }

 private:
  std::vector<Value> values_;
};

// "<type> <value>", for error messages.
std::string Describe(const Value& v);

using Args = std::vector<std::unique_ptr<Expression>>;

// expression.cc
std::unique_ptr<Expression> MakeConstant(const v1::Literal& literal);
std::unique_ptr<Expression> MakeColumn(int index);
std::unique_ptr<Expression> MakeFieldLookup(std::unique_ptr<Expression> record, std::string name);
std::unique_ptr<Expression> MakeSystemTimestamp();
std::unique_ptr<Expression> MakeFunctionCall(const ScalarFunction* fn, Args args);

// expression_user_function.cc
std::unique_ptr<Expression> MakeUserFunctionCall(const v1::UserFunctionCall& call, Args args);

// expression_arithmetic.cc
enum class ArithOp { kAdd, kSubtract, kMultiply, kDivide, kModulo };
enum class BitOp { kAnd, kOr, kXor };

std::unique_ptr<Expression> MakeArithmetic(ArithOp op, std::unique_ptr<Expression> left,
                                           std::unique_ptr<Expression> right);
std::unique_ptr<Expression> MakeNegate(std::unique_ptr<Expression> arg);
std::unique_ptr<Expression> MakeBitwise(BitOp op, std::unique_ptr<Expression> left,
                                        std::unique_ptr<Expression> right);
std::unique_ptr<Expression> MakeBitwiseNot(std::unique_ptr<Expression> arg);

// expression_predicates.cc
enum class CompareOp { kEq, kNe, kLt, kLe, kGt, kGe };

std::unique_ptr<Expression> MakeCompare(CompareOp op, std::unique_ptr<Expression> left,
                                        std::unique_ptr<Expression> right);
// AND (`is_and`) or OR over two or more operands.
std::unique_ptr<Expression> MakeLogical(bool is_and, Args args);
std::unique_ptr<Expression> MakeNot(std::unique_ptr<Expression> arg);
std::unique_ptr<Expression> MakeIsNull(std::unique_ptr<Expression> arg, bool negated);
std::unique_ptr<Expression> MakeLike(std::unique_ptr<Expression> value,
                                     std::unique_ptr<Expression> pattern, bool negated);
std::unique_ptr<Expression> MakeBetween(std::unique_ptr<Expression> value,
                                        std::unique_ptr<Expression> low,
                                        std::unique_ptr<Expression> high, bool negated);
std::unique_ptr<Expression> MakeIn(std::unique_ptr<Expression> value, Args list, bool negated);

// expression_conditional.cc
// `else_value` may be null (ELSE NULL).
std::unique_ptr<Expression> MakeCase(Args when, Args then, std::unique_ptr<Expression> else_value);
std::unique_ptr<Expression> MakeCoalesce(Args args);
std::unique_ptr<Expression> MakeNullIf(std::unique_ptr<Expression> a,
                                       std::unique_ptr<Expression> b);
std::unique_ptr<Expression> MakeCast(std::unique_ptr<Expression> arg, ValueType type,
                                     bool try_cast);

}  // namespace sluice::expr_internal

#endif  // SLUICE_ENGINE_EXPR_EXPRESSION_INTERNAL_H_

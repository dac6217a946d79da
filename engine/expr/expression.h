// Compiled scalar expressions, evaluated a batch at a time.
//
// CompileExpression turns a plan expression (proto) into a tree of
// evaluators. Evaluate() computes the expression for a set of rows of a batch
// and returns a span indexed by physical row: one virtual call per node per
// batch, tight loops inside. A span either points into a batch column (no
// copy), at a node's own output buffer (reused from batch to batch), or at a
// single constant.
//
// Rows are evaluated only where asked: CASE, AND, OR and COALESCE evaluate
// their later operands only on the rows that need them, so a guarded
// division by zero never raises an error.
//
// Per-row failures (a CAST that cannot convert, a function given the wrong
// type) are recorded in the EvalContext and the row's value becomes NULL; the
// operator then drops the row and reports it to the job's error output.
//
// An Expression tree belongs to one operator instance and is used by its
// task thread only.
#ifndef SLUICE_ENGINE_EXPR_EXPRESSION_H_
#define SLUICE_ENGINE_EXPR_EXPRESSION_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/core/batch.h"
#include "engine/core/value.h"
#include "engine/expr/scalar_function.h"
#include "proto/plan.pb.h"

namespace sluice {

// A read-only view of evaluated values, indexed by physical row.
class ValueSpan {
 public:
  ValueSpan() = default;
  static ValueSpan Column(const Value* data) { return ValueSpan(data, false); }
  static ValueSpan Constant(const Value* value) { return ValueSpan(value, true); }

  const Value& operator[](uint32_t row) const { return constant_ ? *data_ : data_[row]; }
  bool is_constant() const { return constant_; }

 private:
  ValueSpan(const Value* data, bool constant) : data_(data), constant_(constant) {}
  const Value* data_ = nullptr;
  bool constant_ = false;
};

struct RowError {
  uint32_t row;
  std::string message;
};

// Per-operator scratch for evaluation. `arena` receives every string,
// record and array the expressions produce; the operator attaches it to the
// batch it emits.
class EvalContext {
 public:
  EvalContext() : call_(nullptr) {}

  void Reset(Arena* arena) {
    arena_ = arena;
    call_ = CallContext(arena);
    errors_.clear();
  }
  Arena* arena() const { return arena_; }
  CallContext& call() { return call_; }

  void AddError(uint32_t row, std::string message) {
    errors_.push_back(RowError{row, std::move(message)});
  }
  const std::vector<RowError>& errors() const { return errors_; }
  bool has_errors() const { return !errors_.empty(); }

 private:
  Arena* arena_ = nullptr;
  CallContext call_;
  std::vector<RowError> errors_;
};

class Expression {
 public:
  virtual ~Expression() = default;

  // Computes the expression at `rows` of `batch`. Positions of the returned
  // span outside `rows` are unspecified. The span stays valid until the next
  // Evaluate call on this node or until `batch` is released.
  virtual ValueSpan Evaluate(const Batch& batch, RowSet rows, EvalContext& ctx) = 0;

  // True when the result does not depend on the row.
  virtual bool is_constant() const { return false; }
};

// Evaluation recurses once per level of the tree. The compiler accepts far
// less (sql/limits.h); a plan decoded with protobuf's default limits holds
// at most 50 levels; this bounds whatever else may come.
inline constexpr int kMaxCompiledExpressionDepth = 64;

// Fails only on a malformed plan (an internal error): the compiler has
// already rejected unknown functions, wrong argument counts and expressions
// nested deeper than kMaxCompiledExpressionDepth.
absl::StatusOr<std::unique_ptr<Expression>> CompileExpression(const v1::Expr& expr);

// The three-valued truth of a predicate result: 1 true, 0 false, -1 NULL.
// Bits are themselves, numbers are true when non-zero. Returns -2 for a
// value that is not a truth value (a string, record, ...).
int TruthValue(const Value& v);

// SQL comparison of two non-NULL values with ASA's implicit conversions
// (numbers with numbers, strings read as datetimes or numbers when compared
// with those). Returns false with `error` set when they cannot be compared.
bool CompareForPredicate(const Value& a, const Value& b, bool equality_only, int* result,
                         std::string* error);

}  // namespace sluice

#endif  // SLUICE_ENGINE_EXPR_EXPRESSION_H_

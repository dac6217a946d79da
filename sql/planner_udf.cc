// Binding of `udf.name(args)`: a call of a JavaScript user-defined function
// the job declares (CompileOptions::user_functions). The plan node carries
// the function's source and limits, so that the runtime compiles the call
// without the job spec.
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "sql/limits.h"
#include "sql/planner_internal.h"

namespace sluice::sql::planner_internal {

bool Planner::BindUserFunction(const Expr& e, Scope& scope, v1::Expr* out) {
  const std::string written = absl::StrJoin(e.path, ".");
  if (e.path.size() != 2) {
    return Fail(e.location,
                absl::StrCat("a user-defined function is called as udf.NAME(...), not ", written));
  }
  const std::string name = absl::AsciiStrToLower(e.path[1]);
  auto it = options_.user_functions.find(name);
  if (it == options_.user_functions.end()) {
    std::string declared;
    for (const auto& [n, f] : options_.user_functions) {
      absl::StrAppend(&declared, declared.empty() ? "" : ", ", n);
    }
    return Fail(e.location,
                absl::StrCat("unknown user-defined function '", written, "' (the job declares ",
                             declared.empty() ? "none" : declared,
                             "; declare one with --function NAME=FILE.js)"));
  }
  if (e.star_arg || e.distinct || e.has_over) {
    return Fail(e.location, absl::StrCat(written, " does not take ",
                                         e.star_arg ? "*" : (e.distinct ? "DISTINCT" : "OVER")));
  }
  if (static_cast<int>(e.args.size()) > kMaxUserFunctionArgs) {
    return Fail(e.location, absl::StrCat(written, " takes at most ", kMaxUserFunctionArgs,
                                         " arguments, got ", e.args.size()));
  }
  if (++user_function_calls_ > kMaxUserFunctionCalls) {
    return Fail(e.location, absl::StrCat("a query calls user-defined functions at most ",
                                         kMaxUserFunctionCalls, " times"));
  }
  v1::UserFunctionCall* call = out->mutable_user_function();
  call->set_name(name);
  call->set_source(it->second.source);
  call->set_time_limit_ms(it->second.time_limit_ms);
  call->set_memory_limit_bytes(it->second.memory_limit_bytes);
  for (const auto& arg : e.args) {
    if (!BindExpr(*arg, scope, call->add_args())) return false;
  }
  return true;
}

}  // namespace sluice::sql::planner_internal

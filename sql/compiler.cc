#include "sql/compiler.h"

#include "sql/optimizer.h"
#include "sql/parser.h"
#include "sql/planner.h"

namespace sluice::sql {

CompileResult CompileQuery(std::string_view text, const CompileOptions& options) {
  CompileResult result;
  Script script;
  if (!ParseScript(text, &script, &result.error)) return result;
  if (!PlanScript(script, options, &result.plan, &result.error)) return result;
  for (const OptimizerPass& pass : OptimizerPasses()) {
    pass.run(&result.plan);
    result.passes.emplace_back(pass.name);
  }
  result.ok = true;
  return result;
}

}  // namespace sluice::sql

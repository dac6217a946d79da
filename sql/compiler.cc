#include "sql/compiler.h"

#include "absl/strings/match.h"
#include "sql/optimizer.h"
#include "sql/parser.h"
#include "sql/planner.h"

namespace sluice::sql {

CompileResult CompileQuery(std::string_view text, const CompileOptions& options) {
  CompileResult result;
  Script script;
  if (!ParseScript(text, &script, &result.error)) return result;
  if (!PlanScript(script, options, &result.plan, &result.error)) return result;
  for (v1::Input& input : *result.plan.mutable_inputs()) {
    input.set_partition_key(options.default_partition_key);
    for (const auto& [name, key] : options.partition_keys) {
      if (absl::EqualsIgnoreCase(name, input.name())) input.set_partition_key(key);
    }
  }
  for (const OptimizerPass& pass : OptimizerPasses()) {
    pass.run(&result.plan);
    result.passes.emplace_back(pass.name);
  }
  result.ok = true;
  return result;
}

}  // namespace sluice::sql

// Query text -> plan or error. Every query either compiles or fails with a
// position inside the text; every plan it accepts reads back with
// protobuf's default limits (the API's clients use them) and explains.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "engine/exec/explain.h"
#include "operators/builtin_operators.h"
#include "sql/compiler.h"

namespace {

const sluice::OperatorRegistry& Registry() {
  static const sluice::OperatorRegistry* registry = [] {
    auto* r = new sluice::OperatorRegistry();
    sluice::RegisterBuiltinOperators(r);
    return r;
  }();
  return *registry;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // The reference inputs of the golden tests (its seeds), so that reference
  // joins are reached.
  static const sluice::sql::CompileOptions* options = [] {
    auto* o = new sluice::sql::CompileOptions();
    o->reference_inputs = {"thresholds", "devices", "units", "names", "rules", "bands", "config"};
    return o;
  }();
  const sluice::sql::CompileResult result = sluice::sql::CompileQuery(text, *options);
  if (!result.ok) {
    // An error names a place in the text (line and column from 1).
    if (result.error.location.line < 1 || result.error.location.column < 1 ||
        result.error.message.empty()) {
      std::abort();
    }
    return 0;
  }
  std::string bytes;
  if (!result.plan.SerializeToString(&bytes)) std::abort();
  sluice::v1::Plan back;
  if (!back.ParseFromString(bytes)) std::abort();  // default recursion limit
  (void)sluice::ExplainPlan(result.plan, Registry(), {});
  return 0;
}

#include "engine/expr/scalar_function.h"

#include "absl/container/flat_hash_map.h"

namespace sluice {
namespace {

using FunctionMap = absl::flat_hash_map<std::string_view, const ScalarFunction*>;

const FunctionMap& Registry() {
  static const FunctionMap* map = [] {
    auto* m = new FunctionMap();
    for (auto table : {MathFunctions(), StringFunctions(), DatetimeFunctions(), RecordFunctions(),
                       GeoFunctions()}) {
      for (const ScalarFunction& f : table) m->emplace(f.name, &f);
    }
    return m;
  }();
  return *map;
}

}  // namespace

const ScalarFunction* FindScalarFunction(std::string_view name) {
  auto it = Registry().find(name);
  return it == Registry().end() ? nullptr : it->second;
}

std::vector<const ScalarFunction*> AllScalarFunctions() {
  std::vector<const ScalarFunction*> all;
  for (const auto& [name, f] : Registry()) all.push_back(f);
  return all;
}

}  // namespace sluice

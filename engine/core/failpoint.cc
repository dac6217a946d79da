#include "engine/core/failpoint.h"

#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <sstream>
#include <string>

namespace sluice {
namespace {

struct Failpoints {
  std::map<std::string, std::unique_ptr<std::atomic<int>>, std::less<>> remaining;
};

// Parsed once; null when SLUICE_FAILPOINTS is unset or empty.
const Failpoints* Load() {
  static const Failpoints* failpoints = [] {
    const char* spec = std::getenv("SLUICE_FAILPOINTS");
    if (spec == nullptr || *spec == '\0') return static_cast<Failpoints*>(nullptr);
    auto* parsed = new Failpoints;
    std::string item;
    std::istringstream in(spec);
    while (std::getline(in, item, ',')) {
      if (item.empty()) continue;
      const size_t eq = item.find('=');
      int count = 1;
      if (eq != std::string::npos) {
        count = std::atoi(item.c_str() + eq + 1);
        if (count < 0) count = 0;
      }
      parsed->remaining[item.substr(0, eq)] = std::make_unique<std::atomic<int>>(count);
    }
    return static_cast<Failpoints*>(parsed);
  }();
  return failpoints;
}

}  // namespace

bool FailpointHit(std::string_view name) {
  const Failpoints* failpoints = Load();
  if (failpoints == nullptr) return false;
  auto it = failpoints->remaining.find(name);
  if (it == failpoints->remaining.end()) return false;
  int left = it->second->load(std::memory_order_relaxed);
  while (left > 0) {
    if (it->second->compare_exchange_weak(left, left - 1, std::memory_order_relaxed)) return true;
  }
  return false;
}

}  // namespace sluice

#include "engine/runtime/sink_registry.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace sluice {

void SinkRegistry::Register(std::string kind, Factory factory) {
  factories_[std::move(kind)] = std::move(factory);
}

absl::StatusOr<std::unique_ptr<JobOutput>> SinkRegistry::Open(const SinkTarget& target) const {
  auto it = factories_.find(target.kind);
  if (it == factories_.end()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "output ", target.output, " of job ", target.job, " is bound to a sink of kind '",
        target.kind, "', which this worker does not have (it has: ", absl::StrJoin(kinds(), ", "),
        ")"));
  }
  auto output = it->second(target);
  if (!output.ok()) return output.status();
  if (*output == nullptr) {
    return absl::InternalError(absl::StrCat("the '", target.kind, "' sink opened nothing"));
  }
  return output;
}

std::vector<std::string> SinkRegistry::kinds() const {
  std::vector<std::string> names;
  for (const auto& [kind, factory] : factories_) names.push_back(kind);
  return names;
}

}  // namespace sluice

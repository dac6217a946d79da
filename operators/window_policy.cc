#include "operators/window_policy.h"

namespace sluice {

std::unique_ptr<FixedWindowPolicy> MakeFixedWindowPolicy(const v1::WindowSpec& spec) {
  switch (spec.kind()) {
    case v1::WindowSpec::KIND_TUMBLING:
      return std::make_unique<HoppingPolicy>(spec.size_ticks(), spec.size_ticks(),
                                             spec.offset_ticks());
    case v1::WindowSpec::KIND_HOPPING:
      return std::make_unique<HoppingPolicy>(spec.size_ticks(), spec.hop_ticks(),
                                             spec.offset_ticks());
    case v1::WindowSpec::KIND_SNAPSHOT:
      return std::make_unique<SnapshotPolicy>();
    default:
      return nullptr;
  }
}

}  // namespace sluice

// Named passes over a freshly planned v1::Plan, run in order by the
// compiler. Each pass has a name so explain can list what ran and so a pass
// can be examined on its own.
#ifndef SLUICE_SQL_OPTIMIZER_H_
#define SLUICE_SQL_OPTIMIZER_H_

#include <string_view>
#include <vector>

#include "proto/plan.pb.h"

namespace sluice::sql {

struct OptimizerPass {
  std::string_view name;
  std::string_view description;
  void (*run)(v1::Plan* plan);
};

// The passes, in the order they run.
const std::vector<OptimizerPass>& OptimizerPasses();

}  // namespace sluice::sql

#endif  // SLUICE_SQL_OPTIMIZER_H_

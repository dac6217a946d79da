// Failpoints: named places where a test makes Sluice fail on purpose, to
// prove that what follows a failure (a retry, a restore) works in the real
// binary. The environment variable SLUICE_FAILPOINTS="task.checkpoint=2"
// makes the first 2 passes through the failpoint "task.checkpoint" fail
// (a comma-separated list; a name without a count fails once). Without the
// variable, as in production, a failpoint costs a check of a static.
#ifndef SLUICE_ENGINE_CORE_FAILPOINT_H_
#define SLUICE_ENGINE_CORE_FAILPOINT_H_

#include <string_view>

namespace sluice {

// True when the failpoint `name` should fail now (and counts the pass).
bool FailpointHit(std::string_view name);

}  // namespace sluice

#endif  // SLUICE_ENGINE_CORE_FAILPOINT_H_

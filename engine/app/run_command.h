// Subcommands of the `sluice` binary that run jobs offline.
#ifndef SLUICE_ENGINE_APP_RUN_COMMAND_H_
#define SLUICE_ENGINE_APP_RUN_COMMAND_H_

#include <string>
#include <vector>

namespace sluice {

// `sluice run`: exit 0 on success, 2 for a bad query or usage, 1 otherwise.
int RunCommand(const std::vector<std::string>& args);
// `sluice explain JOB.sql`.
int ExplainCommand(const std::vector<std::string>& args);

}  // namespace sluice

#endif  // SLUICE_ENGINE_APP_RUN_COMMAND_H_

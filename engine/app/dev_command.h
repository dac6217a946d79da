// `sluice dev`: broker, workers, simulator and the sample job in one command.
#ifndef SLUICE_ENGINE_APP_DEV_COMMAND_H_
#define SLUICE_ENGINE_APP_DEV_COMMAND_H_

#include <string>
#include <vector>

namespace sluice {

int DevCommand(const std::vector<std::string>& args);

}  // namespace sluice

#endif  // SLUICE_ENGINE_APP_DEV_COMMAND_H_

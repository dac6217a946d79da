// Subcommands of the `sluice` binary that work with Kafka.
#ifndef SLUICE_ENGINE_APP_STREAM_COMMANDS_H_
#define SLUICE_ENGINE_APP_STREAM_COMMANDS_H_

#include <string>
#include <vector>

namespace sluice {

int BrokerCommand(const std::vector<std::string>& args);
int SimulateCommand(const std::vector<std::string>& args);
int WorkerCommand(const std::vector<std::string>& args);

}  // namespace sluice

#endif  // SLUICE_ENGINE_APP_STREAM_COMMANDS_H_

// `sluice token create`: a fresh API token and its line for the workers'
// token file (api_auth.h).
#ifndef SLUICE_ENGINE_APP_TOKEN_COMMAND_H_
#define SLUICE_ENGINE_APP_TOKEN_COMMAND_H_

#include <string>
#include <vector>

namespace sluice {

int TokenCommand(const std::vector<std::string>& args);

}  // namespace sluice

#endif  // SLUICE_ENGINE_APP_TOKEN_COMMAND_H_

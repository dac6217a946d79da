// `sluice submit | update | validate | list | describe | stop | tail |
// workers`: the gRPC client of a cluster's JobService. Every command takes
// --server HOST:PORT (default $SLUICE_SERVER, then localhost:9750), --json,
// and the credentials of api_security.h (--token-file, --tls-ca, ...). Exit
// codes: 0 done, 1 the request failed, 2 bad usage, 3 no
// worker answers at the address.
#ifndef SLUICE_ENGINE_APP_CLIENT_COMMANDS_H_
#define SLUICE_ENGINE_APP_CLIENT_COMMANDS_H_

#include <string>
#include <vector>

namespace sluice {

int SubmitCommand(const std::vector<std::string>& args);
int UpdateCommand(const std::vector<std::string>& args);
int ValidateCommand(const std::vector<std::string>& args);
int ListCommand(const std::vector<std::string>& args);
int DescribeCommand(const std::vector<std::string>& args);
int StopCommand(const std::vector<std::string>& args);
int TailCommand(const std::vector<std::string>& args);
int WorkersCommand(const std::vector<std::string>& args);

}  // namespace sluice

#endif  // SLUICE_ENGINE_APP_CLIENT_COMMANDS_H_

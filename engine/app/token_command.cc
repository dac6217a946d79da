#include "engine/app/token_command.h"

#include <cstdio>

#include "engine/app/base/command_line.h"
#include "engine/app/control/api_auth.h"

namespace sluice {

int TokenCommand(const std::vector<std::string>& args) {
  const std::vector<FlagSpec> flags = {
      {"name", true, false, "who holds the token (shown in audit records)", "NAME"},
      {"role", true, false, "viewer (reads), operator (reads and writes jobs) or admin",
       "viewer|operator|admin"},
      {"jobs", true, false, "limit the token to jobs whose names match this glob ('*', '?')",
       "PATTERN"},
      {"help", false, false, "show this help"},
  };
  CommandLine cl;
  int exit = 0;
  if (!CommandLine::ParseOrHelp(
          "token", "create --name NAME --role ROLE [--jobs PATTERN]",
          "Makes a fresh API token from the system's random number generator. Prints the token "
          "(`token: ...`; give it to its holder: it is not kept anywhere) and the line to append "
          "to the workers' --token-file (`line: ...`; it holds only the token's SHA-256). The "
          "workers take a changed token file within a second or two.",
          flags, args, &cl, &exit)) {
    return exit;
  }
  if (cl.positional().size() != 1 || cl.positional()[0] != "create") {
    std::fprintf(stderr, "sluice token: the one subcommand is `create` (see --help)\n");
    return 2;
  }
  TokenEntry entry;
  entry.name = cl.GetOr("name", "");
  if (absl::Status valid = ValidateTokenName(entry.name); !valid.ok()) {
    std::fprintf(stderr, "sluice token: --name: %s\n", std::string(valid.message()).c_str());
    return 2;
  }
  const std::optional<Role> role = ParseRole(cl.GetOr("role", ""));
  if (!role) {
    std::fprintf(stderr, "sluice token: --role is viewer, operator or admin\n");
    return 2;
  }
  entry.role = *role;
  if (auto jobs = cl.Get("jobs")) {
    if (absl::Status valid = ValidateJobPattern(*jobs); !valid.ok()) {
      std::fprintf(stderr, "sluice token: --jobs: %s\n", std::string(valid.message()).c_str());
      return 2;
    }
    if (*jobs != "*") entry.jobs = *jobs;
  }
  absl::StatusOr<std::string> token = NewToken();
  if (!token.ok()) {
    std::fprintf(stderr, "sluice token: %s\n", std::string(token.status().message()).c_str());
    return 1;
  }
  entry.digest = HashToken(*token);
  std::printf("token: %s\nline: %s\n", token->c_str(), FormatTokenLine(entry).c_str());
  return 0;
}

}  // namespace sluice

// A small parser for one subcommand's flags: `--name value`, `--name=value`,
// repeatable flags, and positional arguments. Each subcommand declares its
// flags so that an unknown or malformed flag gets a clear message.
// (absl::flags is process-global and has no notion of subcommands.)
#ifndef SLUICE_ENGINE_APP_BASE_COMMAND_LINE_H_
#define SLUICE_ENGINE_APP_BASE_COMMAND_LINE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace sluice {

struct FlagSpec {
  std::string name;  // without dashes
  bool takes_value = true;
  bool repeatable = false;
  std::string help;
  std::string value_name = "VALUE";
};

class CommandLine {
 public:
  // Parses argv (after the subcommand name).
  static absl::StatusOr<CommandLine> Parse(const std::vector<FlagSpec>& specs,
                                           const std::vector<std::string>& args);

  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  std::optional<std::string> Get(const std::string& name) const;
  std::string GetOr(const std::string& name, const std::string& fallback) const;
  std::vector<std::string> GetAll(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }

  // Formats the flag list for --help.
  static std::string Help(const std::vector<FlagSpec>& specs);

  // Parses `args` for `sluice COMMAND`. On --help, prints the usage line
  // (with `synopsis`), `about` and the flags (`shown`, default `flags`) to
  // standard output; on an error, the error and the same to standard error.
  // Returns false then, with `*exit` 0 or 2.
  static bool ParseOrHelp(const char* command, const char* synopsis, const char* about,
                          const std::vector<FlagSpec>& flags, const std::vector<std::string>& args,
                          CommandLine* out, int* exit,
                          const std::vector<FlagSpec>* shown = nullptr);

 private:
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
};

// "5s", "100ms", "2m", "1h", "1d", "250us", or a plain number of seconds,
// into 100 ns ticks.
absl::StatusOr<int64_t> ParseDurationTicks(const std::string& text);
// A human form of a duration: 5s, 1.5s, 100ms.
std::string FormatDurationTicks(int64_t ticks);

}  // namespace sluice

#endif  // SLUICE_ENGINE_APP_BASE_COMMAND_LINE_H_

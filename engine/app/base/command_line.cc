#include "engine/app/base/command_line.h"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"

namespace sluice {

absl::StatusOr<CommandLine> CommandLine::Parse(const std::vector<FlagSpec>& specs,
                                               const std::vector<std::string>& args) {
  CommandLine cl;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.size() < 2 || arg[0] != '-' || arg == "-") {
      cl.positional_.push_back(arg);
      continue;
    }
    if (arg == "--") {
      for (++i; i < args.size(); ++i) cl.positional_.push_back(args[i]);
      break;
    }
    std::string name = arg.substr(arg[1] == '-' ? 2 : 1);
    std::optional<std::string> value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const FlagSpec* spec = nullptr;
    for (const FlagSpec& s : specs) {
      if (s.name == name) spec = &s;
    }
    if (spec == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
    if (spec->takes_value) {
      if (!value) {
        if (i + 1 >= args.size()) {
          return absl::InvalidArgumentError(
              absl::StrCat("flag --", name, " needs a value (", spec->value_name, ")"));
        }
        value = args[++i];
      }
    } else {
      if (value) {
        return absl::InvalidArgumentError(absl::StrCat("flag --", name, " takes no value"));
      }
      value = "true";
    }
    auto& slot = cl.values_[name];
    if (!slot.empty() && !spec->repeatable) {
      return absl::InvalidArgumentError(absl::StrCat("flag --", name, " given twice"));
    }
    slot.push_back(*value);
  }
  return cl;
}

std::optional<std::string> CommandLine::Get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::string CommandLine::GetOr(const std::string& name, const std::string& fallback) const {
  auto v = Get(name);
  return v ? *v : fallback;
}

std::vector<std::string> CommandLine::GetAll(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>() : it->second;
}

std::string CommandLine::Help(const std::vector<FlagSpec>& specs) {
  std::string out;
  for (const FlagSpec& s : specs) {
    std::string left = absl::StrCat("  --", s.name);
    if (s.takes_value) absl::StrAppend(&left, " ", s.value_name);
    if (left.size() < 34) left.resize(34, ' ');
    absl::StrAppend(&out, left, " ", s.help, s.repeatable ? " (repeatable)" : "", "\n");
  }
  return out;
}

absl::StatusOr<int64_t> ParseDurationTicks(const std::string& text) {
  double value = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || !std::isfinite(value) || value < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected a duration such as 5s, 100ms or 2m, got '", text, "'"));
  }
  const std::string unit(ptr, end);
  double ticks_per_unit;
  if (unit.empty() || unit == "s") {
    ticks_per_unit = 1e7;
  } else if (unit == "ms") {
    ticks_per_unit = 1e4;
  } else if (unit == "us") {
    ticks_per_unit = 10;
  } else if (unit == "m" || unit == "min") {
    ticks_per_unit = 6e8;
  } else if (unit == "h") {
    ticks_per_unit = 3.6e10;
  } else if (unit == "d") {
    ticks_per_unit = 8.64e11;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown duration unit in '", text, "': use us, ms, s, m, h or d"));
  }
  const double ticks = std::round(value * ticks_per_unit);
  if (ticks > 9.2e18) {
    return absl::InvalidArgumentError(absl::StrCat("duration too large: ", text));
  }
  return static_cast<int64_t>(ticks);
}

std::string FormatDurationTicks(int64_t ticks) {
  if (ticks == 0) return "0s";
  if (ticks % 10'000'000 == 0) return absl::StrCat(ticks / 10'000'000, "s");
  if (ticks % 10'000 == 0) return absl::StrCat(ticks / 10'000, "ms");
  return absl::StrCat(static_cast<double>(ticks) / 1e7, "s");
}

bool CommandLine::ParseOrHelp(const char* command, const char* synopsis, const char* about,
                              const std::vector<FlagSpec>& flags,
                              const std::vector<std::string>& args, CommandLine* out, int* exit,
                              const std::vector<FlagSpec>* shown) {
  auto parsed = Parse(flags, args);
  if (!parsed.ok() || parsed->Has("help")) {
    std::fprintf(parsed.ok() ? stdout : stderr, "%s%susage: sluice %s %s\n\n%s\n\n%s",
                 parsed.ok() ? "" : std::string(parsed.status().message()).c_str(),
                 parsed.ok() ? "" : "\n\n", command, synopsis, about,
                 Help(shown != nullptr ? *shown : flags).c_str());
    *exit = parsed.ok() ? 0 : 2;
    return false;
  }
  *out = *std::move(parsed);
  return true;
}

}  // namespace sluice

#include "engine/app/base/log_line.h"

#include <cstdio>
#include <string>

namespace sluice {

void LogLine(std::string_view line) {
  std::string text;
  text.reserve(line.size() + 1);
  text.append(line);
  text.push_back('\n');
  // stdio holds the stream's lock for the whole call.
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

}  // namespace sluice

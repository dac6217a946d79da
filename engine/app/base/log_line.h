// One line on standard output, for every part of the `sluice` binary that
// logs (the worker, the control plane, `sluice dev`): written whole with a
// single stdio call, so lines from different threads never interleave.
#ifndef SLUICE_ENGINE_APP_BASE_LOG_LINE_H_
#define SLUICE_ENGINE_APP_BASE_LOG_LINE_H_

#include <string_view>

namespace sluice {

// Writes `line` and a newline to stdout as one write, then flushes.
void LogLine(std::string_view line);

}  // namespace sluice

#endif  // SLUICE_ENGINE_APP_BASE_LOG_LINE_H_

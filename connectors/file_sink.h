// Sinks that write one JSON object per line: to a file (job outputs in
// `sluice run`, the error output) or to standard output.
//
// Writes are buffered; Flush() hands them to the kernel. A write error (disk
// full) is reported as Unavailable so the caller can retry or stop cleanly.
#ifndef SLUICE_CONNECTORS_FILE_SINK_H_
#define SLUICE_CONNECTORS_FILE_SINK_H_

#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "engine/exec/operator.h"

namespace sluice {

class JsonLinesSink final : public Sink {
 public:
  // Creates (truncates) `path`, or appends when `append` is set.
  static absl::StatusOr<std::unique_ptr<JsonLinesSink>> Create(const std::string& path,
                                                               bool append = false);
  // Writes to standard output; `prefix` (e.g. "alerts: ") starts each line.
  static std::unique_ptr<JsonLinesSink> Stdout(std::string prefix);
  ~JsonLinesSink() override;

  absl::Status Write(const std::vector<OutputRow>& rows) override;
  absl::Status Flush() override;
  // Writes one already formatted line.
  absl::Status WriteLine(std::string_view json);

  int64_t rows_written() const { return rows_written_; }

 private:
  JsonLinesSink(std::FILE* file, bool owned, std::string name, std::string prefix);

  std::FILE* file_;
  bool owned_;
  std::string name_;
  std::string prefix_;
  std::string buffer_;
  int64_t rows_written_ = 0;
};

}  // namespace sluice

#endif  // SLUICE_CONNECTORS_FILE_SINK_H_

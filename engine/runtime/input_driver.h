// InputDriver: the one path from a source's records to a task.
//
// `sluice run`, the worker and the bench harness all feed tasks this way: a
// source partition feeds one or more plan inputs (a topic read by two
// aliases feeds two), each with its decoder. For every record the driver
// decodes a row per input, stamps it with its origin (input, position) and
// the source's arrival time, and pushes one batch per input. A record the
// first input cannot decode is rejected once, with the decoder's reason,
// and counted in the task's metrics; the others go on.
#ifndef SLUICE_ENGINE_RUNTIME_INPUT_DRIVER_H_
#define SLUICE_ENGINE_RUNTIME_INPUT_DRIVER_H_

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "engine/exec/task.h"
#include "engine/runtime/source.h"

namespace sluice {

class InputDriver {
 public:
  // Where rejected records go (a dead-letter output); an error stops the
  // input.
  using RejectFn = std::function<absl::Status(const SourceRecord& record, std::string_view reason)>;

  struct Feed {
    int input;               // plan input index
    RecordDecoder* decoder;  // not owned
  };

  InputDriver(std::vector<Feed> feeds, RejectFn reject);

  // Decodes `records` and pushes them into `task`, one batch per feed.
  absl::Status Push(Task& task, std::span<const SourceRecord> records,
                    bool estimated_arrival = false);

  // Reads up to `max` records from `source` and pushes them. Returns false
  // at the source's end.
  absl::StatusOr<bool> PumpOnce(Source& source, Task& task, size_t max);

  const std::vector<Feed>& feeds() const { return feeds_; }
  // The source partition the rows' origins name (-1: unknown).
  void set_partition(int32_t partition) { partition_ = partition; }
  // Replaces feed `k`'s decoder (a restarted reader built new ones).
  void set_decoder(size_t k, RecordDecoder* decoder) { feeds_[k].decoder = decoder; }
  // Records decoded (by the first feed) and rejected so far.
  int64_t decoded() const { return decoded_; }
  int64_t rejected() const { return rejected_; }

 private:
  std::vector<Feed> feeds_;
  RejectFn reject_;
  std::vector<SourceRecord> scratch_;
  std::vector<std::pair<uint32_t, std::string>> failed_;
  int32_t partition_ = -1;
  int64_t decoded_ = 0;
  int64_t rejected_ = 0;
};

}  // namespace sluice

#endif  // SLUICE_ENGINE_RUNTIME_INPUT_DRIVER_H_

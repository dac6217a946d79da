#include "engine/runtime/input_driver.h"

#include <utility>

namespace sluice {

InputDriver::InputDriver(std::vector<Feed> feeds, RejectFn reject)
    : feeds_(std::move(feeds)), reject_(std::move(reject)) {}

absl::Status InputDriver::Push(Task& task, std::span<const SourceRecord> records,
                               bool estimated_arrival) {
  for (size_t k = 0; k < feeds_.size(); ++k) {
    RecordDecoder& decoder = *feeds_[k].decoder;
    const bool stamp_arrival = !decoder.sets_arrival();
    BatchBuilder builder(decoder.num_columns(), static_cast<uint32_t>(records.size()));
    failed_.clear();
    decoder.DecodeAll(records, builder, &failed_);
    // Rows are the records that decoded, in order.
    size_t f = 0;
    uint32_t row = 0;
    for (size_t i = 0; i < records.size(); ++i) {
      const SourceRecord& r = records[i];
      if (f < failed_.size() && failed_[f].first == i) {
        // Every feed decodes the same bytes; the first reports them.
        if (k == 0) {
          ++rejected_;
          TaskMetrics::Add(task.metrics().rejected, 1);
          if (reject_) {
            if (absl::Status s = reject_(r, failed_[f].second); !s.ok()) return s;
          }
        }
        ++f;
        continue;
      }
      builder.SetOrigin(row, RowOrigin{feeds_[k].input, partition_, r.position});
      if (stamp_arrival && r.arrival != SourceRecord::kUnknownArrival) {
        builder.SetArrivalTime(row, r.arrival);
      }
      ++row;
    }
    if (k == 0) decoded_ += builder.num_rows();
    Batch batch = builder.Finish();
    if (estimated_arrival) batch.estimated_arrival = true;
    if (absl::Status s = task.Push(feeds_[k].input, batch); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> InputDriver::PumpOnce(Source& source, Task& task, size_t max) {
  scratch_.clear();
  auto more = source.Read(max, &scratch_);
  if (!more.ok()) return more.status();
  if (!*more) return false;
  if (absl::Status s = Push(task, scratch_, source.estimated_arrival()); !s.ok()) return s;
  return true;
}

}  // namespace sluice

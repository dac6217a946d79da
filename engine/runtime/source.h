// Sources: where a task's events come from, as raw records with positions.
//
// A source is one partition of an input (a JSON-lines file, a Kafka
// partition: connectors/json_lines_file.h, connectors/kafka_partition_source.h;
// later reference data). It yields records in order, each with
// its position in the partition (a Kafka offset, a line or element number)
// so that a checkpoint can name where to resume, and can seek back to such
// a position. It knows nothing of the plan: the InputDriver
// (engine/runtime/input_driver.h) decodes records into batches for the task.
#ifndef SLUICE_ENGINE_RUNTIME_SOURCE_H_
#define SLUICE_ENGINE_RUNTIME_SOURCE_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/core/batch.h"

namespace sluice {

// One event as read: its bytes, where it is, and when it arrived.
struct SourceRecord {
  static constexpr int64_t kUnknownArrival = INT64_MIN;

  std::string_view data;
  // Bytes readable past the end of `data` (decoders that read ahead, like
  // simdjson's, need padding there).
  size_t readable_after = 0;
  int64_t position = -1;
  // Arrival time in ticks (a Kafka record's timestamp, a file's
  // modification time), or kUnknownArrival.
  int64_t arrival = kUnknownArrival;
};

class Source {
 public:
  virtual ~Source() = default;

  // Appends up to `max` records to `out`. Their views stay valid until the
  // next Read or Seek. Returns false when the source has ended (a bounded
  // source read to its end) and appended nothing.
  virtual absl::StatusOr<bool> Read(size_t max, std::vector<SourceRecord>* out) = 0;

  // Resumes reading after `position` (a position an earlier record had, or
  // 0 for the start).
  virtual absl::Status SeekAfter(int64_t position) = 0;

  // The position of the last record read (0 before any).
  virtual int64_t position() const = 0;

  // True when there is nothing to read now and the source is read to the
  // end it knows of: a file at its end, a Kafka partition caught up with
  // its high watermark. An idle input's watermark may follow the clock; one
  // with a backlog must not (the backlog would be late, and the result
  // would differ from a run that had no pause).
  virtual bool Idle() { return false; }

  // True when every record's arrival time is an estimate (a file's
  // modification time stands in for each event's).
  virtual bool estimated_arrival() const { return false; }

  // The text of the record at `position` while the source still holds it,
  // for error reports; empty otherwise.
  virtual std::string_view RecordText(int64_t position) const {
    (void)position;
    return {};
  }
};

// Turns one record's bytes into a row.
class RecordDecoder {
 public:
  virtual ~RecordDecoder() = default;
  virtual size_t num_columns() const = 0;
  // Decodes `data` into a new row of `builder` (num_columns() columns). On
  // failure returns false, leaves no row behind and sets `error` to a reason
  // a user understands.
  virtual bool Decode(std::string_view data, size_t readable_after, BatchBuilder& builder,
                      std::string* error) = 0;
  // True when the decoder sets each row's arrival time itself (from a field
  // of the event), so the source's must not replace it.
  virtual bool sets_arrival() const { return false; }

  // Decodes `records` in order, a row each into `builder`; for each record
  // that fails, appends its index and the reason to `failed`. One call per
  // batch, so that a decoder can loop without a virtual call per record.
  virtual void DecodeAll(std::span<const SourceRecord> records, BatchBuilder& builder,
                         std::vector<std::pair<uint32_t, std::string>>* failed) {
    std::string error;
    for (size_t i = 0; i < records.size(); ++i) {
      if (!Decode(records[i].data, records[i].readable_after, builder, &error)) {
        failed->emplace_back(static_cast<uint32_t>(i), std::move(error));
        error.clear();
      }
    }
  }
};

}  // namespace sluice

#endif  // SLUICE_ENGINE_RUNTIME_SOURCE_H_

// JsonLinesFile: a file of JSON events, one object per line (or one
// top-level JSON array of objects), as a Source (engine/runtime/source.h).
//
// The whole file is loaded into one padded buffer (simdjson needs readable
// padding after each document) so lines are parsed in place and stay
// available for error reports. Positions are line numbers from 1 (element
// numbers for an array); blank lines are skipped.
#ifndef SLUICE_CONNECTORS_JSON_LINES_FILE_H_
#define SLUICE_CONNECTORS_JSON_LINES_FILE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "connectors/json_decoder.h"
#include "engine/runtime/source.h"

namespace sluice {

class JsonLinesFile final : public Source {
 public:
  static absl::StatusOr<std::unique_ptr<JsonLinesFile>> Open(const std::string& path);

  // Source. Records carry the arrival time given to SetEstimatedArrival,
  // if any.
  absl::StatusOr<bool> Read(size_t max, std::vector<SourceRecord>* out) override;
  absl::Status SeekAfter(int64_t position) override;
  int64_t position() const override { return position_; }
  bool Idle() override { return ended_; }
  bool estimated_arrival() const override {
    return estimated_arrival_ != SourceRecord::kUnknownArrival;
  }
  std::string_view RecordText(int64_t position) const override { return EventText(position); }

  // Every event arrived at `ticks` as far as anyone knows (the file's
  // modification time, for inputs read without TIMESTAMP BY).
  void SetEstimatedArrival(int64_t ticks) { estimated_arrival_ = ticks; }

  // Skips ahead so that the next event read is the one after `position`
  // (a line number, or an array element number).
  void SkipTo(int64_t position);

  // The text of an event by its position, for error reports.
  std::string_view EventText(int64_t position) const;

  // True for a file holding one JSON array: positions are element numbers.
  bool array_mode() const { return array_mode_; }
  int64_t modified_time_ticks() const { return modified_ticks_; }
  const std::string& path() const { return path_; }

 private:
  JsonLinesFile() = default;
  // Finds the next event's text starting at offset_; false at the end.
  bool NextEvent(std::string_view* text);

  std::string path_;
  std::unique_ptr<char[]> buffer_;
  size_t size_ = 0;    // bytes of content (padding follows)
  size_t offset_ = 0;  // where the next scan starts
  int64_t position_ = 0;
  bool ended_ = false;  // Read found the end
  bool array_mode_ = false;
  int64_t estimated_arrival_ = SourceRecord::kUnknownArrival;
  int64_t modified_ticks_ = 0;
  std::vector<std::pair<size_t, size_t>> array_elements_;  // (offset, length)
};

}  // namespace sluice

#endif  // SLUICE_CONNECTORS_JSON_LINES_FILE_H_

// JsonLinesFile: reads a file of JSON events, one object per line (or one
// top-level JSON array of objects), into batches.
//
// The whole file is loaded into one padded buffer (simdjson needs readable
// padding after each document) so lines are parsed in place and stay
// available for error reports. Lines are numbered from 1; blank lines are
// skipped. A line that does not decode is handed to the reject callback with
// its number, text and reason, and reading goes on.
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
#include "engine/batch.h"

namespace sluice {

class JsonLinesFile {
 public:
  using RejectFn = std::function<absl::Status(int64_t position, std::string_view text,
                                              const std::string& reason)>;

  static absl::StatusOr<std::unique_ptr<JsonLinesFile>> Open(const std::string& path);

  // Reads up to `max_rows` events as a batch whose rows carry origin
  // (input, line). Returns nullopt at the end of the file. Every row's
  // timestamp starts as `default_timestamp`; rows get arrival times when the
  // decoder has an arrival field, else `default_arrival` if it is set.
  absl::StatusOr<std::optional<Batch>> Next(JsonDecoder& decoder, int32_t input, uint32_t max_rows,
                                            std::optional<int64_t> default_arrival,
                                            const RejectFn& reject);

  // Skips ahead so that the next event read is the one after `position`
  // (a line number, or an array element number).
  void SkipTo(int64_t position);

  // The text of an event by its position, for error reports.
  std::string_view EventText(int64_t position) const;

  int64_t position() const { return position_; }  // last position read
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
  bool array_mode_ = false;
  int64_t modified_ticks_ = 0;
  std::vector<std::pair<size_t, size_t>> array_elements_;  // (offset, length)
};

}  // namespace sluice

#endif  // SLUICE_CONNECTORS_JSON_LINES_FILE_H_

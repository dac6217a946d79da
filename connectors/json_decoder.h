// JsonDecoder: turns JSON events into batch rows with simdjson's On Demand
// parser.
//
// Only what the plan needs is materialized: the top-level fields it reads
// (matched case-insensitively, first occurrence wins) become columns, and
// the whole event becomes a record column only when some step uses `*`.
// Numbers become bigint when they are integers that fit 64 bits, float
// otherwise; booleans become bit; objects and arrays become records and
// arrays (ASA's JSON mapping at compatibility level 1.2). An integer outside
// the bigint range is a decoding error, as in ASA.
//
// One decoder per task thread (it owns a simdjson parser).
#ifndef SLUICE_CONNECTORS_JSON_DECODER_H_
#define SLUICE_CONNECTORS_JSON_DECODER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/batch.h"
#include "engine/runtime/source.h"
#include "proto/plan.pb.h"

namespace sluice {

struct JsonDecoderOptions {
  std::vector<std::string> fields;  // columns, in order
  bool needs_record = false;        // add the whole event as the last column
  // A field holding the event's arrival time (ISO 8601), or empty.
  std::string arrival_time_field;
};

// What a plan input needs decoded: its fields and, when some step uses `*`,
// the whole event; `arrival_time_field` as above.
JsonDecoderOptions JsonDecoderOptionsFor(const v1::Input& input,
                                         std::string arrival_time_field = "");

class JsonDecoder final : public RecordDecoder {
 public:
  explicit JsonDecoder(JsonDecoderOptions options);
  ~JsonDecoder() override;
  JsonDecoder(const JsonDecoder&) = delete;
  JsonDecoder& operator=(const JsonDecoder&) = delete;

  size_t num_columns() const override;

  // Decodes one event into a new row of `builder` (which must have
  // num_columns() columns). `json` must be followed by at least
  // `padding` readable bytes (simdjson::SIMDJSON_PADDING, 64). On failure
  // returns false, leaves no row behind, and sets `error` to a reason a user
  // understands.
  bool Decode(std::string_view json, size_t readable_after, int64_t timestamp,
              BatchBuilder& builder, std::string* error);
  // RecordDecoder: the row's timestamp starts at 0 (TIMESTAMP BY or the
  // arrival time sets it downstream).
  bool Decode(std::string_view json, size_t readable_after, BatchBuilder& builder,
              std::string* error) override {
    return Decode(json, readable_after, 0, builder, error);
  }
  bool sets_arrival() const override;
  void DecodeAll(std::span<const SourceRecord> records, BatchBuilder& builder,
                 std::vector<std::pair<uint32_t, std::string>>* failed) override;

  static constexpr size_t kPadding = 64;

 private:
  bool DecodeOnce(std::string_view json, size_t readable_after, int64_t timestamp,
                  BatchBuilder& builder, std::string* error);

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice

#endif  // SLUICE_CONNECTORS_JSON_DECODER_H_

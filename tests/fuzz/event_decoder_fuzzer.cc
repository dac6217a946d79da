// Event bytes -> a batch row or a reject with a reason. The decoder is given
// the padding simdjson needs, as the Kafka and file sources give it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "connectors/json_decoder.h"
#include "engine/core/value.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static sluice::JsonDecoder* decoders[2] = {nullptr, nullptr};
  if (decoders[0] == nullptr) {
    sluice::JsonDecoderOptions fields;
    fields.fields = {"deviceId", "temperature", "eventTime", "tags"};
    decoders[0] = new sluice::JsonDecoder(fields);
    sluice::JsonDecoderOptions whole;
    whole.fields = {"deviceId"};
    whole.needs_record = true;
    whole.arrival_time_field = "EventEnqueuedUtcTime";
    decoders[1] = new sluice::JsonDecoder(whole);
  }
  std::string padded(reinterpret_cast<const char*>(data), size);
  padded.append(sluice::JsonDecoder::kPadding, ' ');
  for (sluice::JsonDecoder* decoder : decoders) {
    sluice::BatchBuilder builder(decoder->num_columns());
    std::string error;
    const bool ok = decoder->Decode(std::string_view(padded.data(), size),
                                    sluice::JsonDecoder::kPadding, 0, builder, &error);
    if (!ok && error.empty()) std::abort();  // a reject always says why
    const sluice::Batch batch = builder.Finish();
    if (batch.num_rows != (ok ? 1u : 0u)) std::abort();
    std::string json;
    for (uint32_t r = 0; r < batch.num_rows; ++r) {
      for (size_t c = 0; c < decoder->num_columns(); ++c) {
        sluice::AppendJson(batch.value(c, r), &json);
      }
    }
    // What was decoded writes out as valid UTF-8 (it came from valid JSON).
    if (!sluice::IsValidUtf8(json)) std::abort();
  }
  return 0;
}

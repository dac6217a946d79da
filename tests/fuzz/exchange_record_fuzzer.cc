// Records of a repartition topic, read by a later stage's task: decoded,
// merged by the receiver, released as rows; and a receiver's checkpoint
// bytes restored.
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/exec/exchange.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  sluice::ExchangeReceiver receiver(3, 2);
  // Records are length-prefixed (one byte) in the input.
  size_t pos = 0;
  while (pos < input.size()) {
    const size_t length = static_cast<uint8_t>(input[pos++]);
    const std::string record = input.substr(pos, length);
    pos += length;
    sluice::ExchangeRecord decoded;
    if (!sluice::DecodeExchangeRecord(record, &decoded)) continue;
    if (decoded.kind == sluice::ExchangeRecord::Kind::kRow) {
      receiver.AddRow(decoded.sender, decoded.seq, static_cast<int64_t>(pos), decoded.row);
    } else {
      receiver.SetWatermark(decoded.sender, decoded.watermark);
    }
  }
  (void)receiver.TakeReady();
  std::string checkpoint;
  receiver.Serialize(&checkpoint);
  sluice::ExchangeReceiver restored(3, 2);
  if (!restored.Restore(checkpoint)) __builtin_trap();  // its own bytes read back
  sluice::ExchangeReceiver from_garbage(3, 2);
  if (from_garbage.Restore(input)) {
    from_garbage.SetWatermark(0, INT64_MAX);
    from_garbage.SetWatermark(1, INT64_MAX);
    from_garbage.SetWatermark(2, INT64_MAX);
    (void)from_garbage.TakeReady();
  }
  return 0;
}

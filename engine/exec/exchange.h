// Exchanges: how rows cross from one stage's tasks to the next (design.md,
// "Steps that cross partitions").
//
// An exchange node in a task of the upstream stage hands its rows, each with
// the hash of its key, to an ExchangeSender, which routes them to the task
// of the next stage that owns the hash (in-process queues for `sluice run
// --partitions` and the benchmarks, a repartition topic on Kafka). Rows
// travel encoded (EncodeExchangeRow); watermarks travel with them.
//
// On the receiving side an ExchangeReceiver merges the upstream tasks: its
// watermark is the minimum of theirs, and it releases the rows that
// watermark has passed sorted by (event time, upstream task, sequence), so
// the next stage sees the same rows in the same order however the upstream
// tasks' messages interleave. Replays are then byte-identical, float sums
// included.
#ifndef SLUICE_ENGINE_EXEC_EXCHANGE_H_
#define SLUICE_ENGINE_EXEC_EXCHANGE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/core/batch.h"
#include "engine/state/state_store.h"

namespace sluice {

class ExchangeSender {
 public:
  virtual ~ExchangeSender() = default;
  // Rows `rows` of `batch` leave through exchange node `node`; hashes[i] is
  // the hash of row rows[i]'s key (0 for every row of a keyless exchange).
  virtual absl::Status SendRows(int node, const Batch& batch, const std::vector<uint32_t>& rows,
                                const std::vector<uint64_t>& hashes) = 0;
  // The sending task's watermark at exchange node `node`.
  virtual absl::Status SendWatermark(int node, int64_t watermark) = 0;
};

// The partition of the next stage that owns a key hash.
inline int ExchangePartition(uint64_t hash, int partitions) {
  return static_cast<int>(hash % static_cast<uint64_t>(partitions));
}

// A row as bytes: its event time, then its values (engine/core/value_codec.h).
void EncodeExchangeRow(const Batch& batch, uint32_t row, std::string* out);

// A record of a repartition topic: a row or a watermark of one sending task.
//   'R' varint(sender) varint(seq) row       (EncodeExchangeRow)
//   'W' varint(sender) fixed64(watermark)
// When several exchanges feed one stage (the two sides of a join), they
// share one topic, so that the stage's task reads one partition, and each
// record starts with the exchange's node:
//   'X' varint(node) then one of the above
struct ExchangeRecord {
  enum class Kind { kRow, kWatermark };
  Kind kind = Kind::kRow;
  int exchange = -1;  // the 'X' node; -1 for a record of the stage's only exchange
  int sender = 0;
  int64_t seq = 0;        // kRow
  int64_t watermark = 0;  // kWatermark
  std::string_view row;   // kRow: EncodeExchangeRow's bytes
};
void EncodeExchangeRowRecord(int sender, int64_t seq, const Batch& batch, uint32_t row,
                             std::string* out);
void EncodeExchangeWatermarkRecord(int sender, int64_t watermark, std::string* out);
// The 'X' prefix: call before one of the two above.
void EncodeExchangeTag(int node, std::string* out);
// False for bytes that are not such a record (a sender past int range too).
bool DecodeExchangeRecord(std::string_view value, ExchangeRecord* out);

class ExchangeReceiver {
 public:
  // `upstreams` tasks send to this one; rows have `num_columns` values.
  ExchangeReceiver(int upstreams, size_t num_columns);

  // A row from upstream task `upstream` (its `seq`-th), read at `position`
  // (e.g. its offset in a repartition topic; -1 when none). False when the
  // bytes are not a row. A row whose `seq` is not above the last one taken
  // from that upstream is a replay (the upstream task restarted from a
  // checkpoint and sends again what it sent after it) and is dropped.
  bool AddRow(int upstream, int64_t seq, int64_t position, std::string_view encoded);
  // Replayed rows dropped so far.
  int64_t duplicates() const { return duplicates_; }

  // Everything above as bytes, for a checkpoint, and back, in parts of at
  // most about `max_part_bytes` each (a row that does not fit in one makes
  // a part of its own), so that a large buffer never becomes one record
  // larger than Kafka accepts. The first part holds the watermarks and
  // sequences and the rows that fit; the others hold rows. Restore takes
  // the parts in the same order.
  std::vector<std::string> Serialize(size_t max_part_bytes) const;
  bool Restore(const std::vector<std::string_view>& parts);
  // All of it as one part.
  void Serialize(std::string* out) const;
  bool Restore(std::string_view in);
  // Upstream task `upstream` reached `watermark`.
  void SetWatermark(int upstream, int64_t watermark);

  // Upstream tasks that have sent nothing at all (an input partition that
  // never had an event) stop holding the watermark back: it becomes the
  // minimum over the others. Such an upstream counts again from its first
  // message; rows it sends behind the watermark are late downstream. A
  // driver calls this once upstreams have had time to speak (their tasks
  // tick their watermarks forward even without events, once they saw one).
  void IgnoreSilentUpstreams();
  int silent_upstreams() const;
  bool ignoring_silent() const { return ignore_silent_; }

  // The minimum of the upstream watermarks.
  int64_t watermark() const { return watermark_; }
  // The watermark last released with TakeReady.
  int64_t released() const { return released_; }

  // The rows the watermark has passed (event time < watermark), in
  // canonical order, as one batch (possibly empty); they are forgotten.
  Batch TakeReady();

  size_t buffered() const { return rows_.size(); }
  // The smallest position of a buffered row, or -1: what a reader must not
  // commit past.
  int64_t OldestBufferedPosition() const;
  size_t buffered_bytes() const { return bytes_; }

 private:
  struct Row {
    int64_t timestamp;
    int upstream;
    int64_t seq;
    int64_t position;
    std::string bytes;  // the values
  };

  size_t num_columns_;
  std::vector<int64_t> upstream_watermarks_;
  int64_t watermark_;
  int64_t released_;
  std::vector<Row> rows_;
  size_t bytes_ = 0;
  std::vector<int64_t> last_seq_;  // by upstream; -1 before the first row
  bool ignore_silent_ = false;
  void Recompute();
  // Reads a part's count of rows and the rows; false when they do not decode.
  bool RestoreRows(std::string_view* in);
  int64_t duplicates_ = 0;
};

// A receiver in a state table: its first part under `key`, the others
// under `key`.1 … `key`.N and N under `key`.parts, each part at most
// about kMaxReceiverPartBytes (a changelog record well below Kafka's
// default 1 MB limit on a message). `stored_parts` is the N the table
// holds now (what RestoreReceiver returned, or the last checkpoint wrote);
// `*parts` is the N this checkpoint writes, to remember once it commits.
// A buffer of more than kMaxReceiverParts parts is RESOURCE_EXHAUSTED.
inline constexpr size_t kMaxReceiverPartBytes = 512 * 1024;
inline constexpr int64_t kMaxReceiverParts = 10'000;
absl::Status CheckpointReceiver(const ExchangeReceiver& receiver, const StateTable& table,
                                const std::string& key, int64_t stored_parts,
                                StateWriteBatch& batch, int64_t* parts);
// Restores `receiver` from what CheckpointReceiver wrote: the N read
// (0 when nothing was stored; then `receiver` is left as it is), or
// DataLoss when a part is missing or does not decode.
absl::StatusOr<int64_t> RestoreReceiver(ExchangeReceiver& receiver, const StateTable& table,
                                        const std::string& key);

}  // namespace sluice

#endif  // SLUICE_ENGINE_EXEC_EXCHANGE_H_

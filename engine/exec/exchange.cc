#include "engine/exec/exchange.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "engine/core/value_codec.h"
#include "engine/exec/operator.h"

namespace sluice {

void EncodeExchangeRow(const Batch& batch, uint32_t row, std::string* out) {
  EncodeFixed64(static_cast<uint64_t>(batch.timestamp(row)), out);
  for (size_t c = 0; c < batch.columns.size(); ++c) EncodeValue(batch.value(c, row), out);
  // The source event, when the row is one: varints of input + 1,
  // partition + 1 and position + 1; for a joined row, then a varint count
  // and the other events' origins the same way.
  const RowOrigin* origin = batch.origin(row);
  if (origin != nullptr && origin->input >= 0) {
    EncodeRowOrigin(*origin, out);
    const JoinedOrigins* others = batch.paired_origins(row);
    if (others != nullptr && !others->empty()) EncodeJoinedOrigins(*others, out);
  }
}

namespace {

// Reads the origin (and a joined row's other events) EncodeExchangeRow
// appends after the values; false when there is none or it is not one
// (garbage), and then neither is set.
bool DecodeExchangeOrigin(std::string_view in, RowOrigin* origin, JoinedOrigins* others) {
  RowOrigin first;
  if (!DecodeRowOrigin(&in, &first) || first.input < 0) return false;
  JoinedOrigins rest;
  if (!in.empty() && (!DecodeJoinedOrigins(&in, &rest) || !in.empty())) return false;
  *origin = first;
  *others = std::move(rest);
  return true;
}

}  // namespace

ExchangeReceiver::ExchangeReceiver(int upstreams, size_t num_columns)
    : num_columns_(num_columns),
      upstream_watermarks_(static_cast<size_t>(std::max(upstreams, 1)), kBeginningOfTime),
      watermark_(kBeginningOfTime),
      released_(kBeginningOfTime),
      last_seq_(upstream_watermarks_.size(), -1) {}

namespace {
constexpr char kExchangeRow = 'R';
constexpr char kExchangeWatermark = 'W';
constexpr char kExchangeTag = 'X';
}  // namespace

void EncodeExchangeRowRecord(int sender, int64_t seq, const Batch& batch, uint32_t row,
                             std::string* out) {
  out->push_back(kExchangeRow);
  EncodeVarint(static_cast<uint64_t>(sender), out);
  EncodeVarint(static_cast<uint64_t>(seq), out);
  EncodeExchangeRow(batch, row, out);
}

void EncodeExchangeWatermarkRecord(int sender, int64_t watermark, std::string* out) {
  out->push_back(kExchangeWatermark);
  EncodeVarint(static_cast<uint64_t>(sender), out);
  EncodeFixed64(static_cast<uint64_t>(watermark), out);
}

void EncodeExchangeTag(int node, std::string* out) {
  out->push_back(kExchangeTag);
  EncodeVarint(static_cast<uint64_t>(node), out);
}

bool DecodeExchangeRecord(std::string_view value, ExchangeRecord* out) {
  out->exchange = -1;
  if (!value.empty() && value[0] == kExchangeTag) {
    value.remove_prefix(1);
    uint64_t node = 0;
    if (!DecodeVarint(&value, &node) || node > static_cast<uint64_t>(INT32_MAX)) return false;
    out->exchange = static_cast<int>(node);
  }
  if (value.size() < 2) return false;
  const char kind = value[0];
  value.remove_prefix(1);
  uint64_t sender = 0, n = 0;
  if (!DecodeVarint(&value, &sender) || sender > static_cast<uint64_t>(INT32_MAX)) return false;
  out->sender = static_cast<int>(sender);
  if (kind == kExchangeRow) {
    if (!DecodeVarint(&value, &n) || n > static_cast<uint64_t>(INT64_MAX)) return false;
    out->kind = ExchangeRecord::Kind::kRow;
    out->seq = static_cast<int64_t>(n);
    out->row = value;
    return true;
  }
  if (kind == kExchangeWatermark) {
    if (!DecodeFixed64(&value, &n)) return false;
    out->kind = ExchangeRecord::Kind::kWatermark;
    out->watermark = static_cast<int64_t>(n);
    return true;
  }
  return false;
}

bool ExchangeReceiver::AddRow(int upstream, int64_t seq, int64_t position,
                              std::string_view encoded) {
  uint64_t ts = 0;
  if (!DecodeFixed64(&encoded, &ts)) return false;
  // Rows of no known upstream task are not rows of this exchange.
  if (upstream < 0 || upstream >= static_cast<int>(last_seq_.size())) return false;
  int64_t& last = last_seq_[static_cast<size_t>(upstream)];
  if (seq <= last) {
    ++duplicates_;
    return true;
  }
  last = seq;
  bytes_ += encoded.size();
  rows_.push_back(Row{static_cast<int64_t>(ts), upstream, seq, position, std::string(encoded)});
  return true;
}

void ExchangeReceiver::SetWatermark(int upstream, int64_t watermark) {
  if (upstream < 0 || upstream >= static_cast<int>(upstream_watermarks_.size())) return;
  int64_t& w = upstream_watermarks_[upstream];
  if (watermark <= w) return;
  w = watermark;
  Recompute();
}

void ExchangeReceiver::Recompute() {
  int64_t low = kEndOfTime;
  bool any = false;
  for (size_t u = 0; u < upstream_watermarks_.size(); ++u) {
    const bool silent = upstream_watermarks_[u] == kBeginningOfTime && last_seq_[u] < 0;
    if (silent && ignore_silent_) continue;
    low = std::min(low, upstream_watermarks_[u]);
    any = true;
  }
  // Never backwards: an upstream that speaks up late does not undo what
  // was released.
  if (any) watermark_ = std::max(watermark_, low);
}

void ExchangeReceiver::IgnoreSilentUpstreams() {
  ignore_silent_ = true;
  Recompute();
}

int ExchangeReceiver::silent_upstreams() const {
  int n = 0;
  for (size_t u = 0; u < upstream_watermarks_.size(); ++u) {
    n += upstream_watermarks_[u] == kBeginningOfTime && last_seq_[u] < 0 ? 1 : 0;
  }
  return n;
}

int64_t ExchangeReceiver::OldestBufferedPosition() const {
  int64_t oldest = -1;
  for (const Row& r : rows_) {
    if (r.position >= 0 && (oldest < 0 || r.position < oldest)) oldest = r.position;
  }
  return oldest;
}

std::vector<std::string> ExchangeReceiver::Serialize(size_t max_part_bytes) const {
  std::vector<std::string> parts(1);
  std::string& header = parts[0];
  EncodeVarint(upstream_watermarks_.size(), &header);
  for (size_t u = 0; u < upstream_watermarks_.size(); ++u) {
    EncodeFixed64(static_cast<uint64_t>(upstream_watermarks_[u]), &header);
    EncodeFixed64(static_cast<uint64_t>(last_seq_[u]), &header);
  }
  EncodeFixed64(static_cast<uint64_t>(watermark_), &header);
  EncodeFixed64(static_cast<uint64_t>(released_), &header);
  header.push_back(ignore_silent_ ? 1 : 0);
  // Each part: varint(rows in it), then its rows.
  constexpr size_t kCountBytes = 10;   // a varint's most
  size_t before_rows = header.size();  // what the current part holds before its rows
  std::string rows;
  uint64_t count = 0;
  std::string row;
  for (const Row& r : rows_) {
    row.clear();
    EncodeFixed64(static_cast<uint64_t>(r.timestamp), &row);
    EncodeVarint(static_cast<uint64_t>(r.upstream), &row);
    EncodeFixed64(static_cast<uint64_t>(r.seq), &row);
    EncodeFixed64(static_cast<uint64_t>(r.position), &row);
    EncodeVarint(r.bytes.size(), &row);
    row.append(r.bytes);
    if ((count > 0 || before_rows > 0) &&
        before_rows + kCountBytes + rows.size() + row.size() > max_part_bytes) {
      EncodeVarint(count, &parts.back());
      parts.back().append(rows);
      parts.emplace_back();
      before_rows = 0;
      rows.clear();
      count = 0;
    }
    rows.append(row);
    ++count;
  }
  EncodeVarint(count, &parts.back());
  parts.back().append(rows);
  return parts;
}

void ExchangeReceiver::Serialize(std::string* out) const {
  out->append(Serialize(SIZE_MAX).front());
}

bool ExchangeReceiver::RestoreRows(std::string_view* in) {
  uint64_t n = 0;
  if (!DecodeVarint(in, &n)) return false;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t ts = 0, upstream = 0, seq = 0, position = 0, size = 0;
    if (!DecodeFixed64(in, &ts) || !DecodeVarint(in, &upstream) || !DecodeFixed64(in, &seq) ||
        !DecodeFixed64(in, &position) || !DecodeVarint(in, &size) || in->size() < size) {
      return false;
    }
    rows_.push_back(Row{static_cast<int64_t>(ts), static_cast<int>(upstream),
                        static_cast<int64_t>(seq), static_cast<int64_t>(position),
                        std::string(in->substr(0, size))});
    in->remove_prefix(size);
    bytes_ += size;
  }
  return true;
}

bool ExchangeReceiver::Restore(const std::vector<std::string_view>& parts) {
  if (parts.empty()) return false;
  std::string_view in = parts[0];
  uint64_t n = 0, a = 0, b = 0;
  if (!DecodeVarint(&in, &n) || n != upstream_watermarks_.size()) return false;
  for (size_t u = 0; u < n; ++u) {
    if (!DecodeFixed64(&in, &a) || !DecodeFixed64(&in, &b)) return false;
    upstream_watermarks_[u] = static_cast<int64_t>(a);
    last_seq_[u] = static_cast<int64_t>(b);
  }
  if (!DecodeFixed64(&in, &a) || !DecodeFixed64(&in, &b) || in.empty()) return false;
  ignore_silent_ = in[0] != 0;
  in.remove_prefix(1);
  watermark_ = static_cast<int64_t>(a);
  released_ = static_cast<int64_t>(b);
  rows_.clear();
  bytes_ = 0;
  for (size_t k = 0; k < parts.size(); ++k) {
    if (k > 0) in = parts[k];
    if (!RestoreRows(&in) || !in.empty()) return false;
  }
  return true;
}

bool ExchangeReceiver::Restore(std::string_view in) {
  return Restore(std::vector<std::string_view>{in});
}

Batch ExchangeReceiver::TakeReady() {
  released_ = watermark_;
  // Every row still to come has an event time >= the watermark (each
  // upstream sends rows no older than its own watermark), so the rows
  // before it are complete.
  auto ready_end = std::partition(rows_.begin(), rows_.end(),
                                  [&](const Row& r) { return r.timestamp < watermark_; });
  std::sort(rows_.begin(), ready_end, [](const Row& a, const Row& b) {
    if (a.timestamp != b.timestamp) return a.timestamp < b.timestamp;
    if (a.upstream != b.upstream) return a.upstream < b.upstream;
    return a.seq < b.seq;
  });
  const size_t ready = static_cast<size_t>(ready_end - rows_.begin());
  BatchBuilder builder(num_columns_, static_cast<uint32_t>(ready));
  for (size_t i = 0; i < ready; ++i) {
    const Row& r = rows_[i];
    const uint32_t row = builder.AddRow(r.timestamp);
    std::string_view in = r.bytes;
    for (size_t c = 0; c < num_columns_; ++c) {
      Value v;
      if (!DecodeValue(&in, builder.arena(), &v)) v = Value::Null();
      builder.Set(c, row, v);
    }
    RowOrigin origin;
    JoinedOrigins others;
    if (!in.empty() && DecodeExchangeOrigin(in, &origin, &others)) {
      builder.SetOrigin(row, origin);
      if (!others.empty()) builder.SetPaired(row, std::move(others));
    }
    if (r.position >= 0) builder.SetLowPosition(row, r.position);
    bytes_ -= r.bytes.size();
  }
  rows_.erase(rows_.begin(), ready_end);
  return builder.Finish();
}

absl::Status CheckpointReceiver(const ExchangeReceiver& receiver, const StateTable& table,
                                const std::string& key, int64_t stored_parts,
                                StateWriteBatch& batch, int64_t* parts) {
  const std::vector<std::string> serialized = receiver.Serialize(kMaxReceiverPartBytes);
  const auto more = static_cast<int64_t>(serialized.size()) - 1;
  if (more > kMaxReceiverParts) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the exchange buffer holds ", receiver.buffered_bytes(),
                     " bytes, more than a checkpoint can store; an upstream task is far "
                     "behind the others"));
  }
  batch.Put(table, key, serialized[0]);
  std::string count;
  EncodeFixed64(static_cast<uint64_t>(more), &count);
  batch.Put(table, absl::StrCat(key, ".parts"), count);
  for (int64_t k = 1; k <= more; ++k) {
    batch.Put(table, absl::StrCat(key, ".", k), serialized[static_cast<size_t>(k)]);
  }
  // Parts a larger buffer needed at the last checkpoint.
  for (int64_t k = more + 1; k <= stored_parts; ++k) batch.Delete(table, absl::StrCat(key, ".", k));
  *parts = more;
  return absl::OkStatus();
}

absl::StatusOr<int64_t> RestoreReceiver(ExchangeReceiver& receiver, const StateTable& table,
                                        const std::string& key) {
  std::vector<std::string> parts(1);
  auto found = table.Get(key, &parts[0]);
  if (!found.ok()) return found.status();
  if (!*found) return 0;
  // Checkpoints from before parts have no count: one part.
  std::string count;
  auto counted = table.Get(absl::StrCat(key, ".parts"), &count);
  if (!counted.ok()) return counted.status();
  uint64_t more = 0;
  std::string_view in = count;
  if (*counted && (!DecodeFixed64(&in, &more) || more > kMaxReceiverParts)) {
    return absl::DataLossError("the checkpointed exchange state has a bad count of parts");
  }
  for (uint64_t k = 1; k <= more; ++k) {
    parts.emplace_back();
    auto part = table.Get(absl::StrCat(key, ".", k), &parts.back());
    if (!part.ok()) return part.status();
    if (!*part) {
      return absl::DataLossError(
          absl::StrCat("part ", k, " of the checkpointed exchange state is missing"));
    }
  }
  if (!receiver.Restore(std::vector<std::string_view>(parts.begin(), parts.end()))) {
    return absl::DataLossError("the checkpointed exchange state does not decode");
  }
  return static_cast<int64_t>(more);
}

}  // namespace sluice

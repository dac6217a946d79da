#include "engine/exchange.h"

#include <algorithm>

#include "engine/operator.h"
#include "engine/value_codec.h"

namespace sluice {

void EncodeExchangeRow(const Batch& batch, uint32_t row, std::string* out) {
  EncodeFixed64(static_cast<uint64_t>(batch.timestamp(row)), out);
  for (size_t c = 0; c < batch.columns.size(); ++c) EncodeValue(batch.value(c, row), out);
}

ExchangeReceiver::ExchangeReceiver(int upstreams, size_t num_columns)
    : num_columns_(num_columns),
      upstream_watermarks_(static_cast<size_t>(std::max(upstreams, 1)), kBeginningOfTime),
      watermark_(kBeginningOfTime),
      released_(kBeginningOfTime),
      last_seq_(upstream_watermarks_.size(), -1) {}

bool ExchangeReceiver::AddRow(int upstream, int64_t seq, int64_t position,
                              std::string_view encoded) {
  uint64_t ts = 0;
  if (!DecodeFixed64(&encoded, &ts)) return false;
  if (upstream >= 0 && upstream < static_cast<int>(last_seq_.size())) {
    int64_t& last = last_seq_[static_cast<size_t>(upstream)];
    if (seq <= last) {
      ++duplicates_;
      return true;
    }
    last = seq;
  }
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

void ExchangeReceiver::Serialize(std::string* out) const {
  EncodeVarint(upstream_watermarks_.size(), out);
  for (size_t u = 0; u < upstream_watermarks_.size(); ++u) {
    EncodeFixed64(static_cast<uint64_t>(upstream_watermarks_[u]), out);
    EncodeFixed64(static_cast<uint64_t>(last_seq_[u]), out);
  }
  EncodeFixed64(static_cast<uint64_t>(watermark_), out);
  EncodeFixed64(static_cast<uint64_t>(released_), out);
  out->push_back(ignore_silent_ ? 1 : 0);
  EncodeVarint(rows_.size(), out);
  for (const Row& r : rows_) {
    EncodeFixed64(static_cast<uint64_t>(r.timestamp), out);
    EncodeVarint(static_cast<uint64_t>(r.upstream), out);
    EncodeFixed64(static_cast<uint64_t>(r.seq), out);
    EncodeFixed64(static_cast<uint64_t>(r.position), out);
    EncodeVarint(r.bytes.size(), out);
    out->append(r.bytes);
  }
}

bool ExchangeReceiver::Restore(std::string_view in) {
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
  if (!DecodeVarint(&in, &n)) return false;
  watermark_ = static_cast<int64_t>(a);
  released_ = static_cast<int64_t>(b);
  rows_.clear();
  bytes_ = 0;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t ts = 0, upstream = 0, seq = 0, position = 0, size = 0;
    if (!DecodeFixed64(&in, &ts) || !DecodeVarint(&in, &upstream) || !DecodeFixed64(&in, &seq) ||
        !DecodeFixed64(&in, &position) || !DecodeVarint(&in, &size) || in.size() < size) {
      return false;
    }
    rows_.push_back(Row{static_cast<int64_t>(ts), static_cast<int>(upstream),
                        static_cast<int64_t>(seq), static_cast<int64_t>(position),
                        std::string(in.substr(0, size))});
    in.remove_prefix(size);
    bytes_ += size;
  }
  return in.empty();
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
    if (r.position >= 0) builder.SetLowPosition(row, r.position);
    bytes_ -= r.bytes.size();
  }
  rows_.erase(rows_.begin(), ready_end);
  return builder.Finish();
}

}  // namespace sluice

#include "operators/anomaly_detection.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "engine/core/value_codec.h"

namespace sluice {
namespace {

// The first byte of saved state; a later layout gets a new number.
constexpr char kStateVersion = 1;
constexpr char kKindSpikeAndDip = 'S';
constexpr char kKindChangePoint = 'C';

// Values closer than this, relative to the largest magnitude in the
// history, are not told apart: a constant history gets this bandwidth.
constexpr double kMinRelativeBandwidth = 1e-9;

// exp() of this is still a finite double; the martingale stops growing here
// (only reachable at confidence 100, which never alerts or restarts).
constexpr double kMaxLogMartingale = 700;

std::string ValidateArguments(const char* function, double confidence, int64_t history_size) {
  if (!(confidence >= kMinAnomalyConfidence && confidence <= kMaxAnomalyConfidence)) {
    return absl::StrCat(function, ": confidence must be a number from ", kMinAnomalyConfidence,
                        " to ", kMaxAnomalyConfidence, " (a percentage), not ", confidence);
  }
  if (history_size < kMinAnomalyHistorySize || history_size > kMaxAnomalyHistorySize) {
    return absl::StrCat(function, ": historySize must be an integer from ", kMinAnomalyHistorySize,
                        " to ", kMaxAnomalyHistorySize, ", not ", history_size);
  }
  return "";
}

void EncodeHeader(char kind, double setting, std::string* out) {
  out->push_back(kStateVersion);
  out->push_back(kind);
  EncodeDouble(setting, out);
}

// Checks the header SaveState wrote against this detector's own: the
// setting the confidence became must be bit-equal, so state never moves
// between differently configured models.
bool DecodeHeader(std::string_view* in, char kind, double setting) {
  if (in->size() < 2 || (*in)[0] != kStateVersion || (*in)[1] != kind) return false;
  in->remove_prefix(2);
  double saved;
  if (!DecodeDouble(in, &saved)) return false;
  uint64_t a, b;
  static_assert(sizeof(a) == sizeof(saved));
  std::memcpy(&a, &saved, sizeof(a));
  std::memcpy(&b, &setting, sizeof(b));
  return a == b;
}

}  // namespace

absl::StatusOr<SpikeMode> ParseSpikeMode(std::string_view mode) {
  std::string lower(mode);
  for (char& c : lower) c = absl::ascii_tolower(static_cast<unsigned char>(c));
  if (lower == "spikes") return SpikeMode::kSpikes;
  if (lower == "dips") return SpikeMode::kDips;
  if (lower == "spikesanddips") return SpikeMode::kSpikesAndDips;
  return absl::InvalidArgumentError(
      absl::StrCat("AnomalyDetection_SpikeAndDip: mode must be 'spikes', 'dips' or "
                   "'spikesanddips', not '",
                   absl::string_view(mode.data(), mode.size()), "'"));
}

AnomalyHistory::AnomalyHistory(int capacity) : values_(capacity, 0.0) {
  scratch_.reserve(capacity);
}

void AnomalyHistory::Push(double x) {
  values_[next_] = x;
  next_ = next_ + 1 == capacity() ? 0 : next_ + 1;
  if (size_ < capacity()) ++size_;
}

void AnomalyHistory::KeepLast(int count) {
  count = std::min(count, size_);
  // Oldest first, then back into slots 0.. as a fresh ring holds them.
  scratch_.clear();
  for (int i = count; i > 0; --i) {
    scratch_.push_back(values_[(next_ - i + capacity()) % capacity()]);
  }
  std::copy(scratch_.begin(), scratch_.end(), values_.begin());
  size_ = count;
  next_ = count == capacity() ? 0 : count;
}

void AnomalyHistory::Tails(double x, double* upper, double* lower) {
  const int n = size_;
  // Work in units of the largest magnitude around, so neither the spread
  // nor the squares overflow whatever finite values come in; p-values do
  // not depend on the unit.
  double scale = std::fabs(x);
  for (int i = 0; i < n; ++i) scale = std::max(scale, std::fabs(values_[i]));
  if (scale == 0) {  // everything is zero: x sits at the centre
    *upper = *lower = 0.5;
    return;
  }
  const double ux = x / scale;

  double mean = 0;
  for (int i = 0; i < n; ++i) mean += values_[i] / scale;
  mean /= n;
  double squares = 0;
  for (int i = 0; i < n; ++i) {
    const double d = values_[i] / scale - mean;
    squares += d * d;
  }
  const double sd = n > 1 ? std::sqrt(squares / (n - 1)) : 0;

  // Quartiles by selection (lower order statistics, no interpolation).
  scratch_.clear();
  for (int i = 0; i < n; ++i) scratch_.push_back(values_[i] / scale);
  const auto q1_at = scratch_.begin() + (n - 1) / 4;
  const auto q3_at = scratch_.begin() + (3 * (n - 1)) / 4;
  std::nth_element(scratch_.begin(), q3_at, scratch_.end());
  const double q3 = *q3_at;
  std::nth_element(scratch_.begin(), q1_at, q3_at);
  const double q1 = *q1_at;
  const double iqr_sd = (q3 - q1) / 1.34;

  // Silverman's rule of thumb on the robust spread (the smaller of the
  // standard deviation and IQR / 1.34, whichever is positive): past spikes
  // inflate the standard deviation but not the quartiles.
  double spread = std::min(sd, iqr_sd);
  if (!(spread > 0)) spread = std::max(sd, iqr_sd);
  double h = 0.9 * spread * std::pow(static_cast<double>(n), -0.2);
  if (!(h >= kMinRelativeBandwidth)) h = kMinRelativeBandwidth;

  // Each history value contributes a Gaussian kernel; its tail beyond x is
  // erfc(z / sqrt(2)) / 2. Summing the tails directly (not 1 - CDF) keeps
  // tiny p-values exact.
  const double inv = 1.0 / (h * std::sqrt(2.0));
  double up = 0, down = 0;
  for (int i = 0; i < n; ++i) {
    const double z = (ux - values_[i] / scale) * inv;
    // One erfc per kernel: the small tail exactly, the large one as 2 minus
    // it (its rounding error is far below anything the small tail decides).
    const double small = std::erfc(std::fabs(z));
    if (z >= 0) {
      up += small;
      down += 2 - small;
    } else {
      down += small;
      up += 2 - small;
    }
  }
  *upper = std::min(1.0, 0.5 * up / n);
  *lower = std::min(1.0, 0.5 * down / n);
}

void AnomalyHistory::Encode(std::string* out) const {
  EncodeVarint(static_cast<uint64_t>(capacity()), out);
  EncodeVarint(static_cast<uint64_t>(size_), out);
  EncodeVarint(static_cast<uint64_t>(next_), out);
  for (int i = 0; i < size_; ++i) EncodeDouble(values_[i], out);
}

bool AnomalyHistory::Decode(std::string_view* in) {
  uint64_t capacity, size, next;
  if (!DecodeVarint(in, &capacity) || capacity != values_.size()) return false;
  if (!DecodeVarint(in, &size) || size > capacity) return false;
  if (!DecodeVarint(in, &next)) return false;
  // Until the ring is full, slots fill in order; after, next is any slot.
  if (size < capacity ? next != size : next >= capacity) return false;
  if (in->size() < size * sizeof(double)) return false;
  std::vector<double> values(values_.size(), 0.0);
  for (uint64_t i = 0; i < size; ++i) {
    if (!DecodeDouble(in, &values[i]) || !std::isfinite(values[i])) return false;
  }
  values_ = std::move(values);
  size_ = static_cast<int>(size);
  next_ = static_cast<int>(next);
  return true;
}

std::string SpikeAndDipDetector::Validate(double confidence, int64_t history_size) {
  return ValidateArguments("AnomalyDetection_SpikeAndDip", confidence, history_size);
}

SpikeAndDipDetector::SpikeAndDipDetector(double confidence, int history_size, SpikeMode mode)
    : alpha_(1 - confidence / 100), mode_(mode), history_(history_size) {}

AnomalyResult SpikeAndDipDetector::Update(double x) {
  if (!std::isfinite(x)) return {false, 1.0};
  double score = 1.0;
  if (history_.size() >= 2) {
    double upper, lower;
    history_.Tails(x, &upper, &lower);
    switch (mode_) {
      case SpikeMode::kSpikes:
        score = upper;
        break;
      case SpikeMode::kDips:
        score = lower;
        break;
      case SpikeMode::kSpikesAndDips:
        score = std::min(1.0, 2 * std::min(upper, lower));
        break;
    }
  }
  const bool anomaly = history_.full() && score < alpha_;
  history_.Push(x);
  return {anomaly, score};
}

std::string SpikeAndDipDetector::SaveState() const {
  std::string out;
  EncodeHeader(kKindSpikeAndDip, alpha_, &out);
  out.push_back(static_cast<char>(mode_));
  history_.Encode(&out);
  return out;
}

bool SpikeAndDipDetector::RestoreState(std::string_view bytes) {
  if (!DecodeHeader(&bytes, kKindSpikeAndDip, alpha_)) return false;
  if (bytes.empty() || bytes[0] != static_cast<char>(mode_)) return false;
  bytes.remove_prefix(1);
  AnomalyHistory history = history_;
  if (!history.Decode(&bytes) || !bytes.empty()) return false;
  history_ = std::move(history);
  return true;
}

std::string ChangePointDetector::Validate(double confidence, int64_t history_size) {
  return ValidateArguments("AnomalyDetection_ChangePoint", confidence, history_size);
}

ChangePointDetector::ChangePointDetector(double confidence, int history_size)
    : log_threshold_(-std::log(1 - confidence / 100)), history_(history_size) {}

AnomalyResult ChangePointDetector::Update(double x) {
  if (!std::isfinite(x)) return {false, std::exp(log_martingale_)};
  if (history_.size() < std::min(history_.capacity(), kMinBetHistory)) {
    history_.Push(x);  // too few values to judge by; the martingale waits
    return {false, std::exp(log_martingale_)};
  }
  double upper, lower;
  history_.Tails(x, &upper, &lower);
  const double floor = 1.0 / (history_.size() + 1);
  const double p = std::max(floor, std::min(1.0, 2 * std::min(upper, lower)));
  const double bet = std::log(kEpsilon) + (kEpsilon - 1) * std::log(p);
  log_martingale_ = std::clamp(log_martingale_ + bet, 0.0, kMaxLogMartingale);
  run_ = log_martingale_ > 0 ? std::min(run_ + 1, history_.capacity()) : 0;
  history_.Push(x);
  const double score = std::exp(log_martingale_);
  if (log_martingale_ >= log_threshold_) {
    // Restart on the new level: keep only the values since the martingale
    // last stood at 1 (CUSUM's estimate of where the change began); what
    // came before no longer describes the stream.
    history_.KeepLast(run_);
    log_martingale_ = 0;
    run_ = 0;
    return {true, score};
  }
  return {false, score};
}

std::string ChangePointDetector::SaveState() const {
  std::string out;
  // The threshold stands in for the confidence: it is what decides.
  EncodeHeader(kKindChangePoint, log_threshold_, &out);
  EncodeDouble(log_martingale_, &out);
  EncodeVarint(static_cast<uint64_t>(run_), &out);
  history_.Encode(&out);
  return out;
}

bool ChangePointDetector::RestoreState(std::string_view bytes) {
  if (!DecodeHeader(&bytes, kKindChangePoint, log_threshold_)) return false;
  double log_martingale;
  if (!DecodeDouble(&bytes, &log_martingale) ||
      !(log_martingale >= 0 && log_martingale <= kMaxLogMartingale)) {
    return false;
  }
  uint64_t run;
  if (!DecodeVarint(&bytes, &run) || run > static_cast<uint64_t>(history_.capacity()) ||
      (run == 0) != (log_martingale == 0)) {
    return false;
  }
  AnomalyHistory history = history_;
  if (!history.Decode(&bytes) || !bytes.empty()) return false;
  history_ = std::move(history);
  log_martingale_ = log_martingale;
  run_ = static_cast<int>(run);
  return true;
}

}  // namespace sluice

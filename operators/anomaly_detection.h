// The anomaly detectors behind ASA's AnomalyDetection_SpikeAndDip and
// AnomalyDetection_ChangePoint, as plain per-partition state machines: feed
// one value per event, get {IsAnomaly, Score} back. The analytic operator
// keeps one detector per partition key and checkpoints it with SaveState.
//
// ASA publishes the methods, not the numbers; operators/anomaly_detection.md
// gives the exact rules used here, the rates they reach on generated series,
// and what a user should expect to differ from ASA.
//
// Both detectors keep the last `history_size` finite values in a ring buffer
// and score a new value against a Gaussian kernel density estimate over that
// history (the bandwidth adapts to the history's spread each event). An
// update costs O(history_size): one pass for the spread, two selections for
// the quartiles, one pass of erfc for the tails. State is the ring buffer
// plus a few scalars; no randomness.
#ifndef SLUICE_OPERATORS_ANOMALY_DETECTION_H_
#define SLUICE_OPERATORS_ANOMALY_DETECTION_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace sluice {

struct AnomalyResult {
  bool is_anomaly = false;
  double score = 0;
};

enum class SpikeMode : uint8_t { kSpikes = 0, kDips = 1, kSpikesAndDips = 2 };

// 'spikes', 'dips' or 'spikesanddips', in any case (ASA's mode argument).
absl::StatusOr<SpikeMode> ParseSpikeMode(std::string_view mode);

// ASA documents confidence as 1.00 to 100 inclusive and gives no bound for
// historySize; these bound the state a partition may hold (80 KB of values
// per detector at the top).
inline constexpr double kMinAnomalyConfidence = 1;
inline constexpr double kMaxAnomalyConfidence = 100;
inline constexpr int kMinAnomalyHistorySize = 3;
inline constexpr int kMaxAnomalyHistorySize = 10000;

// The last history_size finite values, oldest first once full. Shared by
// both detectors; not part of the public contract.
class AnomalyHistory {
 public:
  explicit AnomalyHistory(int capacity);
  int size() const { return size_; }
  int capacity() const { return static_cast<int>(values_.size()); }
  bool full() const { return size_ == capacity(); }
  void Push(double x);
  // Forgets all but the `count` most recent values.
  void KeepLast(int count);
  // Tail probabilities of `x` under the kernel density estimate over the
  // history: *upper = P(X >= x), *lower = P(X <= x). Needs size() >= 1.
  void Tails(double x, double* upper, double* lower);
  void Encode(std::string* out) const;
  bool Decode(std::string_view* in);

 private:
  std::vector<double> values_;  // capacity slots; the first size_ in use
  int size_ = 0;
  int next_ = 0;                 // slot the next value goes to
  std::vector<double> scratch_;  // quartile selection; not state
};

// Temporary anomalies: the score is the p-value of the new value under the
// history's density (in the direction(s) the mode asks for; lower = more
// anomalous), and the event is an anomaly when the score is below
// 1 - confidence / 100. No event is an anomaly until the history is full;
// the score is 1 until the history holds two values.
class SpikeAndDipDetector {
 public:
  // Empty when the arguments are acceptable, else the compile error.
  static std::string Validate(double confidence, int64_t history_size);

  // The arguments must pass Validate.
  SpikeAndDipDetector(double confidence, int history_size, SpikeMode mode);

  // A NaN or infinite value is not scored and not learnt from: the result
  // is {false, 1} and the state is unchanged.
  AnomalyResult Update(double x);

  std::string SaveState() const;
  // Replaces the state with one SaveState wrote for a detector with the same
  // arguments. Returns false, leaving the detector as it was, when the bytes
  // are malformed or belong to other arguments.
  bool RestoreState(std::string_view bytes);

 private:
  double alpha_;  // 1 - confidence / 100
  SpikeMode mode_;
  AnomalyHistory history_;
};

// Persistent anomalies (level shifts, trends): each value's two-sided
// p-value under the history's density (floored at 1 / (n + 1), the
// resolution n values allow) feeds a power martingale, bet
// epsilon * p^(epsilon - 1), kept in log space and floored at 1 (a CUSUM of
// the martingale's log, so a long quiet stretch cannot bury a later change).
// The score is the martingale value; the event is an anomaly when it reaches
// 1 / (1 - confidence / 100) (Ville's inequality: a quiet stream rarely gets
// there). The martingale bets only once the history holds
// min(history_size, kMinBetHistory) values. After an anomaly the detector
// restarts on the new level: the history keeps only the values since the
// martingale last stood at 1, and the martingale returns to 1.
class ChangePointDetector {
 public:
  static constexpr double kEpsilon = 0.3;
  static constexpr int kMinBetHistory = 20;

  static std::string Validate(double confidence, int64_t history_size);

  ChangePointDetector(double confidence, int history_size);

  // A NaN or infinite value: {false, current martingale}, state unchanged.
  AnomalyResult Update(double x);

  std::string SaveState() const;
  bool RestoreState(std::string_view bytes);

 private:
  double log_threshold_;  // -log(1 - confidence / 100); +inf at 100
  AnomalyHistory history_;
  double log_martingale_ = 0;
  int run_ = 0;  // events since the martingale last stood at 1
};

}  // namespace sluice

#endif  // SLUICE_OPERATORS_ANOMALY_DETECTION_H_

// The SpikeAndDip and ChangePoint detectors: direction per mode, warm-up,
// non-finite input, checkpoint/restore bit-identity, hostile state bytes,
// argument validation, and (AnomalyRates) detection and false-positive rates
// on generated series, printed as the table operators/anomaly_detection.md
// quotes.
#include "operators/anomaly_detection.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "engine/core/value_codec.h"

namespace sluice {
namespace {

std::vector<double> Noise(int n, uint64_t seed, double sd = 1.0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0, sd);
  std::vector<double> out(n);
  for (double& x : out) x = normal(rng);
  return out;
}

bool SameBits(double a, double b) { return std::memcmp(&a, &b, sizeof(a)) == 0; }

// --- arguments -------------------------------------------------------------

TEST(AnomalyDetectionArgs, ParseSpikeModeIgnoresCase) {
  EXPECT_EQ(*ParseSpikeMode("spikes"), SpikeMode::kSpikes);
  EXPECT_EQ(*ParseSpikeMode("DIPS"), SpikeMode::kDips);
  EXPECT_EQ(*ParseSpikeMode("SpikesAndDips"), SpikeMode::kSpikesAndDips);
  EXPECT_FALSE(ParseSpikeMode("spike").ok());
  EXPECT_FALSE(ParseSpikeMode("spikes and dips").ok());
  EXPECT_FALSE(ParseSpikeMode("").ok());
  EXPECT_FALSE(ParseSpikeMode(" spikes").ok());
}

TEST(AnomalyDetectionArgs, ValidateBounds) {
  for (auto validate : {&SpikeAndDipDetector::Validate, &ChangePointDetector::Validate}) {
    EXPECT_EQ(validate(1, 3), "");
    EXPECT_EQ(validate(100, 10000), "");
    EXPECT_EQ(validate(95.5, 120), "");
    EXPECT_NE(validate(0.99, 120), "");
    EXPECT_NE(validate(100.01, 120), "");
    EXPECT_NE(validate(0, 120), "");
    EXPECT_NE(validate(-95, 120), "");
    EXPECT_NE(validate(std::nan(""), 120), "");
    EXPECT_NE(validate(std::numeric_limits<double>::infinity(), 120), "");
    EXPECT_NE(validate(95, 2), "");
    EXPECT_NE(validate(95, 0), "");
    EXPECT_NE(validate(95, -120), "");
    EXPECT_NE(validate(95, 10001), "");
    EXPECT_NE(validate(95, int64_t{1} << 40), "");
  }
  EXPECT_NE(SpikeAndDipDetector::Validate(95, 2).find("AnomalyDetection_SpikeAndDip"),
            std::string::npos);
  EXPECT_NE(ChangePointDetector::Validate(0, 60).find("AnomalyDetection_ChangePoint"),
            std::string::npos);
}

// --- SpikeAndDip -----------------------------------------------------------

// Noise with a +8 sd spike at 200 and a -8 sd dip at 300: each mode flags
// only its own direction.
TEST(AnomalySpikeAndDip, FlagsTheDirectionTheModeAsksFor) {
  std::vector<double> xs = Noise(400, 7);
  xs[200] = 8;
  xs[300] = -8;
  struct Case {
    SpikeMode mode;
    bool spike, dip;
  };
  for (const Case& c : {Case{SpikeMode::kSpikes, true, false}, Case{SpikeMode::kDips, false, true},
                        Case{SpikeMode::kSpikesAndDips, true, true}}) {
    SpikeAndDipDetector d(95, 60, c.mode);
    std::vector<AnomalyResult> out;
    for (double x : xs) out.push_back(d.Update(x));
    EXPECT_EQ(out[200].is_anomaly, c.spike) << static_cast<int>(c.mode);
    EXPECT_EQ(out[300].is_anomaly, c.dip) << static_cast<int>(c.mode);
    // The other direction's extreme looks perfectly ordinary.
    if (c.spike) {
      EXPECT_LT(out[200].score, 1e-3);
    } else {
      EXPECT_GT(out[200].score, 0.9);
    }
    if (c.dip) {
      EXPECT_LT(out[300].score, 1e-3);
    } else {
      EXPECT_GT(out[300].score, 0.9);
    }
    for (const AnomalyResult& r : out) {
      EXPECT_GE(r.score, 0);
      EXPECT_LE(r.score, 1);
    }
  }
}

TEST(AnomalySpikeAndDip, NoAlertUntilTheHistoryIsFull) {
  SpikeAndDipDetector d(95, 10, SpikeMode::kSpikesAndDips);
  // Score 1 while fewer than two values are known.
  EXPECT_EQ(d.Update(1).score, 1);
  EXPECT_EQ(d.Update(2).score, 1);
  for (int i = 2; i < 10; ++i) {
    const AnomalyResult r = d.Update(i % 2 == 0 ? 1e6 : -1e6);
    EXPECT_FALSE(r.is_anomaly) << i;
    EXPECT_LT(r.score, 1) << i;
  }
  for (int i = 0; i < 10; ++i) d.Update(i % 2);
  EXPECT_TRUE(d.Update(1e9).is_anomaly);
}

TEST(AnomalySpikeAndDip, ConfidenceHundredNeverAlerts) {
  SpikeAndDipDetector d(100, 10, SpikeMode::kSpikesAndDips);
  for (int i = 0; i < 50; ++i) d.Update(i % 3);
  const AnomalyResult r = d.Update(1e12);
  EXPECT_FALSE(r.is_anomaly);
  EXPECT_EQ(r.score, 0);
}

TEST(AnomalySpikeAndDip, NonFiniteValuesAreNeitherScoredNorLearnt) {
  SpikeAndDipDetector d(95, 20, SpikeMode::kSpikesAndDips);
  for (double x : Noise(30, 3)) d.Update(x);
  const std::string before = d.SaveState();
  for (double x : {std::nan(""), std::numeric_limits<double>::infinity(),
                   -std::numeric_limits<double>::infinity()}) {
    const AnomalyResult r = d.Update(x);
    EXPECT_FALSE(r.is_anomaly);
    EXPECT_EQ(r.score, 1);
  }
  EXPECT_EQ(d.SaveState(), before);
}

TEST(AnomalySpikeAndDip, ConstantHistoryFlagsAnyOtherValue) {
  SpikeAndDipDetector d(99, 5, SpikeMode::kSpikesAndDips);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(d.Update(42).is_anomaly);
  EXPECT_FALSE(d.Update(42).is_anomaly);
  EXPECT_TRUE(d.Update(42.5).is_anomaly);
}

// Magnitudes near the top of double neither overflow nor hide a spike.
TEST(AnomalySpikeAndDip, HugeMagnitudesStayFinite) {
  SpikeAndDipDetector d(95, 30, SpikeMode::kSpikesAndDips);
  const std::vector<double> noise = Noise(60, 11);
  for (double x : noise) {
    const AnomalyResult r = d.Update(1e306 * (1 + 0.01 * x));
    EXPECT_TRUE(std::isfinite(r.score));
  }
  const AnomalyResult r = d.Update(1.7e308);
  EXPECT_TRUE(r.is_anomaly);
  EXPECT_TRUE(std::isfinite(r.score));
  SpikeAndDipDetector tiny(95, 30, SpikeMode::kSpikesAndDips);
  for (double x : noise) tiny.Update(1e-310 * (1 + 0.01 * x));
  EXPECT_TRUE(tiny.Update(5e-310).is_anomaly);
}

// --- ChangePoint -----------------------------------------------------------

// A 5 sd level shift is flagged within a few events; the martingale grows
// on the way there; the noise before it raises nothing.
TEST(AnomalyChangePoint, DetectsALevelShiftQuickly) {
  for (int history : {60, 120, 240}) {
    ChangePointDetector d(99, history);
    std::vector<double> xs = Noise(1000, 6);
    for (int i = 600; i < 1000; ++i) xs[i] += 5;
    int first = -1;
    double previous_score = 1;
    bool grew = false;
    for (int i = 0; i < 1000; ++i) {
      const AnomalyResult r = d.Update(xs[i]);
      if (i >= 600 && first < 0 && !r.is_anomaly && r.score > previous_score) grew = true;
      if (i >= 600 && first < 0) previous_score = r.score;
      if (r.is_anomaly) {
        EXPECT_GE(i, 600) << "history " << history;
        if (first < 0) first = i;
      }
      EXPECT_GE(r.score, 1);
    }
    ASSERT_GE(first, 600) << "history " << history;
    EXPECT_LE(first - 600, 5) << "history " << history;
    EXPECT_TRUE(grew || first == 600) << "history " << history;
  }
}

// After the alert the detector restarts on the new level: one alert per
// shift, not one per event until the old level leaves the history.
TEST(AnomalyChangePoint, OneAlertPerShift) {
  for (int history : {60, 240}) {
    ChangePointDetector d(99, history);
    std::vector<double> xs = Noise(1000, 9);
    for (int i = 500; i < 1000; ++i) xs[i] += 10;
    int alerts = 0;
    for (int i = 0; i < 1000; ++i) {
      const bool alert = d.Update(xs[i]).is_anomaly;
      if (i >= 500 && i < 500 + history) alerts += alert;
    }
    EXPECT_EQ(alerts, 1) << history;
  }
}

// The martingale waits for kMinBetHistory values, however wild they are.
TEST(AnomalyChangePoint, NoBetsUntilTheHistoryHoldsEnough) {
  ChangePointDetector d(80, 50);
  for (int i = 0; i < ChangePointDetector::kMinBetHistory; ++i) {
    const AnomalyResult r = d.Update(i % 2 == 0 ? i * 1000.0 : -i * 1000.0);
    EXPECT_FALSE(r.is_anomaly);
    EXPECT_EQ(r.score, 1);
  }
  EXPECT_GT(d.Update(1e9).score, 1);
  // A short history bets too, up to its own length.
  ChangePointDetector small(80, 5);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(small.Update(i % 2).score, 1);
  EXPECT_GT(small.Update(1e9).score, 1);
}

TEST(AnomalyChangePoint, NonFiniteValuesAreNeitherScoredNorLearnt) {
  ChangePointDetector d(95, 20);
  std::vector<double> xs = Noise(40, 4);
  for (double x : xs) d.Update(x);
  d.Update(4);  // a small push to the martingale, so the score is not 1
  const std::string before = d.SaveState();
  const double score = d.Update(std::nan("")).score;
  EXPECT_FALSE(d.Update(std::numeric_limits<double>::infinity()).is_anomaly);
  EXPECT_GE(score, 1);
  EXPECT_EQ(d.SaveState(), before);
}

TEST(AnomalyChangePoint, ConfidenceHundredNeverAlerts) {
  ChangePointDetector d(100, 10);
  double last = 0;
  for (int i = 0; i < 3000; ++i) {
    const AnomalyResult r = d.Update(i);  // a trend: every value is new
    EXPECT_FALSE(r.is_anomaly);
    EXPECT_TRUE(std::isfinite(r.score));
    last = r.score;
  }
  EXPECT_GT(last, 1e100);
}

// --- checkpointing ----------------------------------------------------------

// A series with spikes, a shift and a trend, so both detectors alert and
// ChangePoint restarts along the way.
std::vector<double> MixedSeries() {
  std::vector<double> xs = Noise(1500, 21);
  for (int i = 300; i < 1500; i += 97) xs[i] += 6;
  for (int i = 700; i < 1500; ++i) xs[i] += 4;
  for (int i = 1100; i < 1500; ++i) xs[i] += 0.05 * (i - 1100);
  xs[400] = std::nan("");
  return xs;
}

template <typename Detector>
void ExpectRestoreIsSeamless(const std::function<Detector()>& make) {
  const std::vector<double> xs = MixedSeries();
  Detector whole = make();
  std::vector<AnomalyResult> expected;
  int alerts = 0;
  for (double x : xs) {
    expected.push_back(whole.Update(x));
    alerts += expected.back().is_anomaly;
  }
  ASSERT_GT(alerts, 1);
  for (size_t cut : {size_t{0}, size_t{1}, size_t{30}, size_t{59}, size_t{60}, size_t{401},
                     size_t{703}, size_t{1234}, xs.size()}) {
    Detector before = make();
    for (size_t i = 0; i < cut; ++i) before.Update(xs[i]);
    Detector after = make();
    ASSERT_TRUE(after.RestoreState(before.SaveState())) << cut;
    EXPECT_EQ(after.SaveState(), before.SaveState()) << cut;
    for (size_t i = cut; i < xs.size(); ++i) {
      const AnomalyResult r = after.Update(xs[i]);
      ASSERT_EQ(r.is_anomaly, expected[i].is_anomaly) << "cut " << cut << " at " << i;
      ASSERT_TRUE(SameBits(r.score, expected[i].score)) << "cut " << cut << " at " << i;
    }
  }
}

TEST(AnomalyCheckpoint, SpikeAndDipRestoreIsSeamless) {
  ExpectRestoreIsSeamless<SpikeAndDipDetector>(
      [] { return SpikeAndDipDetector(95, 60, SpikeMode::kSpikesAndDips); });
}

TEST(AnomalyCheckpoint, ChangePointRestoreIsSeamless) {
  ExpectRestoreIsSeamless<ChangePointDetector>([] { return ChangePointDetector(95, 60); });
}

TEST(AnomalyCheckpoint, StateIsBounded) {
  SpikeAndDipDetector s(95, 100, SpikeMode::kSpikes);
  ChangePointDetector c(95, 100);
  for (double x : Noise(5000, 2)) {
    s.Update(x);
    c.Update(x);
  }
  EXPECT_LE(s.SaveState().size(), 100 * 8 + 32);
  EXPECT_LE(c.SaveState().size(), 100 * 8 + 40);
}

// Every malformed or foreign state is refused and leaves the detector as it
// was.
template <typename Detector>
void ExpectHostileBytesRefused(Detector& d, const std::vector<std::string>& foreign) {
  for (double x : Noise(90, 8)) d.Update(x);
  const std::string good = d.SaveState();
  std::vector<std::string> bad = foreign;
  bad.push_back("");
  for (size_t n = 0; n < good.size(); ++n) bad.push_back(good.substr(0, n));  // truncated
  bad.push_back(good + '\0');                                                 // trailing
  for (size_t i = 0; i < good.size(); ++i) {  // a wrong version, kind or setting
    if (i >= 10) break;
    std::string flipped = good;
    flipped[i] = static_cast<char>(flipped[i] ^ 0x40);
    bad.push_back(flipped);
  }
  std::mt19937_64 rng(99);
  for (int i = 0; i < 2000; ++i) {  // garbage, some of it with a valid header
    std::string g(rng() % 64, '\0');
    for (char& c : g) c = static_cast<char>(rng());
    if (i % 2 == 0) g = good.substr(0, std::min<size_t>(good.size(), rng() % 12)) + g;
    bad.push_back(g);
  }
  for (const std::string& b : bad) {
    EXPECT_FALSE(d.RestoreState(b)) << b.size();
    ASSERT_EQ(d.SaveState(), good);
  }
  EXPECT_TRUE(d.RestoreState(good));
}

// The SaveState layout, spelt out so the hostile cases can break one field
// at a time: version, kind, setting, [mode | log martingale], capacity,
// size, next, values.
std::string Forge(char kind, double setting, const std::string& middle, uint64_t capacity,
                  uint64_t size, uint64_t next, const std::vector<double>& values) {
  std::string out;
  out.push_back(1);
  out.push_back(kind);
  EncodeDouble(setting, &out);
  out += middle;
  EncodeVarint(capacity, &out);
  EncodeVarint(size, &out);
  EncodeVarint(next, &out);
  for (double v : values) EncodeDouble(v, &out);
  return out;
}

TEST(AnomalyCheckpoint, SpikeAndDipRefusesHostileBytes) {
  SpikeAndDipDetector d(95, 60, SpikeMode::kSpikes);
  const double alpha = 1 - 95.0 / 100;
  const std::string mode(1, '\0');
  const std::vector<double> v(60, 1.0);
  // The forger must agree with SaveState on a good state.
  ASSERT_TRUE(d.RestoreState(Forge('S', alpha, mode, 60, 60, 7, v)));
  std::vector<double> with_nan = v;
  with_nan[5] = std::nan("");
  std::vector<double> with_inf = v;
  with_inf[59] = std::numeric_limits<double>::infinity();
  SpikeAndDipDetector fresh(95, 60, SpikeMode::kSpikes);
  ExpectHostileBytesRefused(
      fresh, {
                 Forge('S', alpha, std::string(1, '\1'), 60, 60, 0, v),  // other mode
                 Forge('S', alpha, std::string(1, '\7'), 60, 60, 0, v),  // no such mode
                 Forge('S', 0.01, mode, 60, 60, 0, v),                   // other confidence
                 Forge('C', alpha, mode, 60, 60, 0, v),                  // other detector
                 Forge('S', alpha, mode, 61, 60, 0, v),                  // other history size
                 Forge('S', alpha, mode, 60, 61, 0, v),                  // size > capacity
                 Forge('S', alpha, mode, 60, 60, 60, v),                 // next out of range
                 Forge('S', alpha, mode, 60, 10, 3, {v.begin(), v.begin() + 10}),  // gap
                 Forge('S', alpha, mode, 60, 60, 0, with_nan),
                 Forge('S', alpha, mode, 60, 60, 0, with_inf),
                 Forge('S', alpha, mode, 60, 60, 0, {v.begin(), v.begin() + 59}),  // short
                 Forge('S', alpha, mode, uint64_t{1} << 62, uint64_t{1} << 62, 0, {}),
             });
}

TEST(AnomalyCheckpoint, ChangePointRefusesHostileBytes) {
  ChangePointDetector d(95, 60);
  const double threshold = -std::log(1 - 95.0 / 100);
  auto log_m = [](double m, uint64_t run = 0) {
    std::string s;
    EncodeDouble(m, &s);
    EncodeVarint(run, &s);
    return s;
  };
  const std::vector<double> v(60, 1.0);
  ASSERT_TRUE(d.RestoreState(Forge('C', threshold, log_m(0.5, 3), 60, 60, 7, v)));
  ChangePointDetector fresh(95, 60);
  ExpectHostileBytesRefused(
      fresh, {
                 Forge('C', threshold, log_m(-1, 1), 60, 60, 0, v),
                 Forge('C', threshold, log_m(0.5, 0), 60, 60, 0, v),  // run must be > 0
                 Forge('C', threshold, log_m(0, 2), 60, 60, 0, v),    // and 0 at 1
                 Forge('C', threshold, log_m(0.5, 61), 60, 60, 0, v),
                 Forge('C', threshold, log_m(0.5, uint64_t{1} << 40), 60, 60, 0, v),
                 Forge('C', threshold, log_m(std::nan("")), 60, 60, 0, v),
                 Forge('C', threshold, log_m(1e300), 60, 60, 0, v),
                 Forge('C', threshold + 1e-12, log_m(0), 60, 60, 0, v),
                 Forge('S', threshold, log_m(0), 60, 60, 0, v),
                 Forge('C', threshold, log_m(0), 59, 59, 0, {v.begin(), v.begin() + 59}),
                 Forge('C', threshold, log_m(0), 60, 60, 0, {v.begin(), v.begin() + 30}),
                 Forge('C', threshold, "", 60, 60, 0, v),
             });
}

// --- rates ------------------------------------------------------------------

// A generated series and where its anomalies are: single points (spikes,
// dips) or change points (a new level or the start of a trend).
struct Series {
  std::vector<double> values;
  std::vector<int> anomalies;  // sorted
};

constexpr int kWarmup = 300;  // no anomaly before this: every history is full

Series PointAnomalies(int n, double size, uint64_t seed) {
  Series s{Noise(n, seed), {}};
  std::mt19937_64 rng(seed ^ 0x5eed);
  // About 1% of points, never two within 10 events.
  for (int i = kWarmup; i < n; ++i) {
    if (rng() % 100 == 0) {
      s.values[i] += size;
      s.anomalies.push_back(i);
      i += 10;
    }
  }
  return s;
}

// A shift of +size or -size (alternating, so the level stays bounded) every
// `every` events.
Series LevelShifts(int n, double size, int every, uint64_t seed) {
  Series s{Noise(n, seed), {}};
  double level = 0;
  for (int i = 0; i < n; ++i) {
    if (i >= kWarmup && (i - kWarmup) % every == 0) {
      level = level == 0 ? size : 0;
      s.anomalies.push_back(i);
    }
    s.values[i] += level;
  }
  return s;
}

// Noise, then from kWarmup + 700 a slope of 0.02 sd per event.
Series Trend(int n, uint64_t seed) {
  Series s{Noise(n, seed), {kWarmup + 700}};
  for (int i = kWarmup + 700; i < n; ++i) s.values[i] += 0.02 * (i - kWarmup - 700);
  return s;
}

struct Rates {
  double detection;   // share of anomalies flagged (within `tolerance`)
  double false_rate;  // share of other points (after warm-up) flagged
  double median_delay;
};

// `tolerance` is how many events after a change point still count as
// detecting it (0 for point anomalies: the point itself).
Rates Measure(const Series& s, const std::vector<bool>& flags, int tolerance) {
  std::vector<bool> covered(s.values.size(), false);
  int detected = 0;
  std::vector<int> delays;
  for (int a : s.anomalies) {
    for (int i = a; i <= a + tolerance && i < static_cast<int>(flags.size()); ++i) {
      covered[i] = true;
    }
    for (int i = a; i <= a + tolerance && i < static_cast<int>(flags.size()); ++i) {
      if (flags[i]) {
        ++detected;
        delays.push_back(i - a);
        break;
      }
    }
  }
  int normal = 0, false_flags = 0;
  for (size_t i = kWarmup; i < flags.size(); ++i) {
    if (covered[i]) continue;
    ++normal;
    false_flags += flags[i];
  }
  std::sort(delays.begin(), delays.end());
  return {s.anomalies.empty() ? 0 : static_cast<double>(detected) / s.anomalies.size(),
          normal == 0 ? 0 : static_cast<double>(false_flags) / normal,
          delays.empty() ? -1.0 : delays[delays.size() / 2]};
}

std::vector<bool> RunSpikeAndDip(const Series& s, double confidence, int history, SpikeMode mode) {
  SpikeAndDipDetector d(confidence, history, mode);
  std::vector<bool> flags;
  for (double x : s.values) flags.push_back(d.Update(x).is_anomaly);
  return flags;
}

std::vector<bool> RunChangePoint(const Series& s, double confidence, int history) {
  ChangePointDetector d(confidence, history);
  std::vector<bool> flags;
  for (double x : s.values) flags.push_back(d.Update(x).is_anomaly);
  return flags;
}

constexpr int kChangeTolerance = 30;

// The sanitizer build runs a fifth of the series (CI time); the bounds
// below hold at both sizes.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLUICE_ANOMALY_SHORT_SERIES 1
#endif
#endif
#ifdef SLUICE_ANOMALY_SHORT_SERIES
// Also without historySize 240: a few shifts are too few to hold it to the
// bounds that the long series holds it to.
constexpr int kSeriesLength = 4000;
constexpr int kHistorySizes[] = {60, 120};
#else
constexpr int kSeriesLength = 20000;
constexpr int kHistorySizes[] = {60, 120, 240};
#endif

TEST(AnomalyRates, GeneratedSeries) {
  const int n = kSeriesLength;
  const Series noise{Noise(n, 1001), {}};
  const Series spikes = PointAnomalies(n, 5, 1002);
  const Series dips = PointAnomalies(n, -5, 1003);
  const Series spikes3 = PointAnomalies(n, 3, 1004);
  const Series shift2 = LevelShifts(n, 2, 1000, 1005);
  const Series shift3 = LevelShifts(n, 3, 1000, 1006);
  const Series shift5 = LevelShifts(n, 5, 1000, 1007);
  const Series trend = Trend(3000, 1008);

  std::printf("\n%-22s %-24s %5s %5s %9s %9s %6s\n", "series", "detector", "conf", "hist",
              "detected", "false+", "delay");
  auto row = [](const char* series, const char* detector, double conf, int hist, Rates r) {
    std::printf("%-22s %-24s %5.0f %5d %9.3f %9.4f %6.0f\n", series, detector, conf, hist,
                r.detection, r.false_rate, r.median_delay);
  };
  for (double conf : {95.0, 99.0}) {
    for (int hist : kHistorySizes) {
      const Rates noise_sd =
          Measure(noise, RunSpikeAndDip(noise, conf, hist, SpikeMode::kSpikesAndDips), 0);
      row("noise", "SpikeAndDip both", conf, hist, noise_sd);
      const Rates noise_s =
          Measure(noise, RunSpikeAndDip(noise, conf, hist, SpikeMode::kSpikes), 0);
      row("noise", "SpikeAndDip spikes", conf, hist, noise_s);
      const Rates noise_cp = Measure(noise, RunChangePoint(noise, conf, hist), 0);
      row("noise", "ChangePoint", conf, hist, noise_cp);
      const Rates spike_s =
          Measure(spikes, RunSpikeAndDip(spikes, conf, hist, SpikeMode::kSpikes), 0);
      row("spikes +5sd 1%", "SpikeAndDip spikes", conf, hist, spike_s);
      const Rates spike_b =
          Measure(spikes, RunSpikeAndDip(spikes, conf, hist, SpikeMode::kSpikesAndDips), 0);
      row("spikes +5sd 1%", "SpikeAndDip both", conf, hist, spike_b);
      const Rates spike_d =
          Measure(spikes, RunSpikeAndDip(spikes, conf, hist, SpikeMode::kDips), 0);
      row("spikes +5sd 1%", "SpikeAndDip dips", conf, hist, spike_d);
      const Rates spike3 =
          Measure(spikes3, RunSpikeAndDip(spikes3, conf, hist, SpikeMode::kSpikes), 0);
      row("spikes +3sd 1%", "SpikeAndDip spikes", conf, hist, spike3);
      const Rates dip_d = Measure(dips, RunSpikeAndDip(dips, conf, hist, SpikeMode::kDips), 0);
      row("dips -5sd 1%", "SpikeAndDip dips", conf, hist, dip_d);
      const Rates dip_s = Measure(dips, RunSpikeAndDip(dips, conf, hist, SpikeMode::kSpikes), 0);
      row("dips -5sd 1%", "SpikeAndDip spikes", conf, hist, dip_s);
      const Rates spike_cp = Measure(spikes, RunChangePoint(spikes, conf, hist), 0);
      row("spikes +5sd 1%", "ChangePoint", conf, hist, spike_cp);
      const Rates s2 = Measure(shift2, RunChangePoint(shift2, conf, hist), kChangeTolerance);
      row("shift 2sd /1000", "ChangePoint", conf, hist, s2);
      const Rates s3 = Measure(shift3, RunChangePoint(shift3, conf, hist), kChangeTolerance);
      row("shift 3sd /1000", "ChangePoint", conf, hist, s3);
      const Rates s5 = Measure(shift5, RunChangePoint(shift5, conf, hist), kChangeTolerance);
      row("shift 5sd /1000", "ChangePoint", conf, hist, s5);
      const Rates s5_sd =
          Measure(shift5, RunSpikeAndDip(shift5, conf, hist, SpikeMode::kSpikesAndDips), 0);
      row("shift 5sd /1000", "SpikeAndDip both", conf, hist, s5_sd);
      const Rates t_cp = Measure(trend, RunChangePoint(trend, conf, hist), 300);
      row("trend 0.02sd/event", "ChangePoint", conf, hist, t_cp);
      const Rates t_sd =
          Measure(trend, RunSpikeAndDip(trend, conf, hist, SpikeMode::kSpikesAndDips), 0);
      row("trend 0.02sd/event", "SpikeAndDip both", conf, hist, t_sd);

      // Loose bounds on behaviour: what a user may rely on.
      // False positives near the nominal 1 - confidence (a short history
      // estimates the tails less well, hence the slack).
      const double alpha = 1 - conf / 100;
      EXPECT_LE(noise_sd.false_rate, 1.5 * alpha) << conf << " " << hist;
      EXPECT_LE(noise_s.false_rate, 1.5 * alpha) << conf << " " << hist;
      EXPECT_LE(spike_s.false_rate, 1.5 * alpha) << conf << " " << hist;
      EXPECT_LE(noise_cp.false_rate, 0.005) << conf << " " << hist;
      EXPECT_LE(s5.false_rate, 0.005) << conf << " " << hist;
      // 5 sd spikes and dips found in their own direction only. At 99 an
      // earlier spike still in the history lifts a later one's p-value by
      // about 1 / historySize (ASA documents the same effect).
      EXPECT_GE(spike_s.detection, conf == 95 ? 0.95 : 0.75) << conf << " " << hist;
      EXPECT_GE(spike_b.detection, conf == 95 ? 0.9 : 0.55) << conf << " " << hist;
      EXPECT_GE(dip_d.detection, conf == 95 ? 0.95 : 0.75) << conf << " " << hist;
      EXPECT_LE(spike_d.detection, 0.01) << conf << " " << hist;
      EXPECT_LE(dip_s.detection, 0.01) << conf << " " << hist;
      // Level shifts found within kChangeTolerance events.
      EXPECT_GE(s5.detection, 0.95) << conf << " " << hist;
      EXPECT_GE(s3.detection, 0.9) << conf << " " << hist;
      EXPECT_GE(s2.detection, 0.75) << conf << " " << hist;
      EXPECT_LE(s5.median_delay, 3) << conf << " " << hist;
      if (conf == 95) {
        EXPECT_GE(t_cp.detection, 1) << hist;
      }
    }
  }
}

}  // namespace
}  // namespace sluice

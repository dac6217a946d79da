// LAG, LAST and ISFIRST in a real task over a real state store: the output
// equals a brute-force reading of ASA's rules over random telemetry,
// wherever a checkpoint and restore fall, and a device that goes quiet is
// forgotten once the watermark is past its duration.
#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/exec/task.h"
#include "sql/compiler.h"
#include "tests/unit/operators/query_task.h"
#include "tests/unit/operators/test_support.h"

namespace sluice {
namespace {

using testing_support::CollectingSink;
using testing_support::ScratchDir;

struct Reading {
  int device;
  int temperature;
  int64_t ms;
};

std::string Json(const Reading& r) {
  const int64_t s = r.ms / 1000;
  return absl::StrCat(R"({"deviceId":"d)", r.device, R"(","temperature":)", r.temperature,
                      R"(,"eventTime":"2024-01-01T)", s / 3600 < 10 ? "0" : "", s / 3600, ":",
                      s / 60 % 60 < 10 ? "0" : "", s / 60 % 60, ":", s % 60 < 10 ? "0" : "", s % 60,
                      ".", (r.ms % 1000) / 100, (r.ms % 100) / 10, r.ms % 10, R"(Z"})");
}

// In time order; several readings may share a time.
std::vector<Reading> RandomReadings(int count, int devices, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<Reading> readings;
  int64_t ms = 0;
  for (int i = 0; i < count; ++i) {
    ms += rng() % 60;
    readings.push_back(
        Reading{static_cast<int>(rng() % devices), static_cast<int>(rng() % 100), ms});
  }
  return readings;
}

constexpr char kQuery[] = R"(
SELECT deviceId, temperature,
  LAG(temperature, 2, -1) OVER (PARTITION BY deviceId LIMIT DURATION(second, 1) WHEN temperature > 30) AS lag2,
  LAST(temperature) OVER (PARTITION BY deviceId LIMIT DURATION(millisecond, 500) WHEN temperature < 50) AS lastLow,
  ISFIRST(millisecond, 700) OVER (PARTITION BY deviceId WHEN temperature > 10) AS first
INTO o
FROM telemetry TIMESTAMP BY eventTime
)";

// The query's rows, from the rules as sql/README.md states them.
std::vector<std::string> BruteForce(const std::vector<Reading>& readings) {
  std::vector<std::string> rows;
  for (size_t i = 0; i < readings.size(); ++i) {
    const Reading& now = readings[i];
    std::vector<const Reading*> before;  // the device's earlier readings, latest first
    for (size_t j = i; j-- > 0;) {
      if (readings[j].device == now.device) before.push_back(&readings[j]);
    }
    // LAG(temperature, 2, -1) ... LIMIT DURATION(second, 1) WHEN temperature > 30
    std::string lag2 = "-1";
    int matching = 0;
    for (const Reading* r : before) {
      if (r->temperature <= 30) continue;
      if (++matching == 2) {
        if (now.ms - r->ms <= 1000) lag2 = absl::StrCat(r->temperature);
        break;
      }
    }
    // LAST(temperature) ... LIMIT DURATION(millisecond, 500) WHEN temperature < 50
    std::string last = "null";
    if (now.temperature < 50) {
      last = absl::StrCat(now.temperature);
    } else {
      for (const Reading* r : before) {
        if (r->temperature >= 50) continue;
        if (now.ms - r->ms <= 500) last = absl::StrCat(r->temperature);
        break;
      }
    }
    // ISFIRST(millisecond, 700) ... WHEN temperature > 10: intervals (end - 700, end],
    // aligned as tumbling windows are, on 1970-01-01.
    int first = 0;
    if (now.temperature > 10) {
      constexpr int64_t k2024 = 1'704'067'200'000;  // ms since 1970
      auto end = [](int64_t ms) { return (k2024 + ms + 699) / 700 * 700; };
      first = 1;
      for (const Reading* r : before) {
        if (r->temperature > 10 && end(r->ms) == end(now.ms)) first = 0;
      }
    }
    rows.push_back(absl::StrCat(R"({"deviceId":"d)", now.device, R"(","temperature":)",
                                now.temperature, R"(,"lag2":)", lag2, R"(,"lastLow":)", last,
                                R"(,"first":)", first, "}"));
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

// The query in a started task; readings go in as input 0.
class AnalyticHarness : public testing_support::QueryTask {
 public:
  explicit AnalyticHarness(const char* query) : QueryTask(query) { EXPECT_TRUE(Start().ok()); }

  void Push(const std::vector<Reading>& readings) {
    std::vector<std::string> texts;
    for (const Reading& r : readings) texts.push_back(Json(r));
    QueryTask::Push(0, texts);
  }
};

TEST(AnalyticOperatorTest, OutputEqualsABruteForceReadingWhereverACheckpointFalls) {
  const auto readings = RandomReadings(3000, 12, 7);
  const auto expected = BruteForce(readings);
  for (int restore_at : {-1, 3, 17, 29}) {
    AnalyticHarness h(kQuery);
    for (size_t start = 0, batch = 0; start < readings.size(); start += 97, ++batch) {
      h.Push(std::vector<Reading>(
          readings.begin() + static_cast<long>(start),
          readings.begin() + static_cast<long>(std::min(readings.size(), start + 97))));
      if (static_cast<int>(batch) == restore_at) h.CheckpointAndRestore();
    }
    const auto actual = h.Finish();
    std::vector<std::string> missing;
    std::vector<std::string> extra;
    std::set_difference(expected.begin(), expected.end(), actual.begin(), actual.end(),
                        std::back_inserter(missing));
    std::set_difference(actual.begin(), actual.end(), expected.begin(), expected.end(),
                        std::back_inserter(extra));
    EXPECT_TRUE(missing.empty() && extra.empty())
        << "restored after batch " << restore_at << ": " << missing.size() << " missing, e.g. "
        << (missing.empty() ? "" : missing[0]) << "; " << extra.size() << " extra, e.g. "
        << (extra.empty() ? "" : extra[0]);
  }
}

TEST(AnalyticOperatorTest, ADeviceThatGoesQuietIsForgotten) {
  AnalyticHarness h(R"(
SELECT deviceId, LAG(temperature) OVER (PARTITION BY deviceId LIMIT DURATION(minute, 1)) AS prev
INTO o
FROM telemetry TIMESTAMP BY eventTime
)");
  // 5,000 devices once each in the first 5 s, then one device for 3 minutes.
  std::vector<Reading> crowd;
  for (int d = 0; d < 5000; ++d) crowd.push_back(Reading{d, 20, d});
  h.Push(crowd);
  const size_t crowded = h.task().MemoryStateBytes();
  EXPECT_GT(crowded, 5000u * 20);
  for (int64_t ms = 10'000; ms < 190'000; ms += 1000) h.Push({Reading{0, 21, ms}});
  const size_t quiet = h.task().MemoryStateBytes();
  EXPECT_LT(quiet, crowded / 100) << crowded << " bytes before, " << quiet << " after";
}

}  // namespace
}  // namespace sluice

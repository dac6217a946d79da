// What the operator and runtime tests share: a scratch directory per test,
// a sink that keeps what it is given, and deterministic telemetry.
#ifndef SLUICE_TESTS_UNIT_OPERATORS_TEST_SUPPORT_H_
#define SLUICE_TESTS_UNIT_OPERATORS_TEST_SUPPORT_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/exec/operator.h"

namespace sluice::testing_support {

// A fresh directory named after the running test, removed at the end.
class ScratchDir {
 public:
  ScratchDir() {
    path_ = std::filesystem::temp_directory_path() /
            absl::StrCat("sluice-test-",
                         ::testing::UnitTest::GetInstance()->current_test_info()->name(), "-",
                         std::random_device()());
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string path() const { return path_.string(); }
  std::string path(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Keeps every row's JSON and input position, and counts flushes.
class CollectingSink final : public Sink {
 public:
  absl::Status Write(const std::vector<OutputRow>& rows) override {
    for (const OutputRow& r : rows) {
      this->rows.emplace_back(r.json);
      positions.push_back(r.position);
      origins.push_back(r.origin ? *r.origin : RowOrigin{});
      paired.push_back(r.paired ? *r.paired : JoinedOrigins{});
      has_pair.push_back(r.origin != nullptr && r.paired != nullptr);
    }
    return absl::OkStatus();
  }
  absl::Status Flush() override {
    ++flushes;
    return absl::OkStatus();
  }
  std::vector<std::string> rows;
  std::vector<int64_t> positions;
  // Rows of a join: the events' origins (OutputRow::origin, ::paired).
  std::vector<RowOrigin> origins;
  std::vector<JoinedOrigins> paired;
  std::vector<bool> has_pair;
  int flushes = 0;
};

// Random per-device telemetry in event-time order: `count` events of
// `devices` devices, up to `max_gap_ms` apart, from 2024-01-01T00:00Z.
inline std::vector<std::string> TelemetryEvents(int count, int devices, uint32_t seed,
                                                int max_gap_ms = 40) {
  std::mt19937 rng(seed);
  std::vector<std::string> events;
  int64_t ms = 0;
  for (int i = 0; i < count; ++i) {
    ms += rng() % static_cast<uint32_t>(max_gap_ms);
    events.push_back(absl::StrCat(R"({"deviceId":"dev-)", rng() % devices, R"(","temperature":)",
                                  rng() % 1000 / 10.0, R"(,"eventTime":"2024-01-01T00:)",
                                  ms / 60000 % 60 < 10 ? "0" : "", ms / 60000 % 60, ":",
                                  ms / 1000 % 60 < 10 ? "0" : "", ms / 1000 % 60, ".",
                                  (ms % 1000) / 100, (ms % 100) / 10, ms % 10, R"(Z"})"));
  }
  return events;
}

}  // namespace sluice::testing_support

#endif  // SLUICE_TESTS_UNIT_OPERATORS_TEST_SUPPORT_H_

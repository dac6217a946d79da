// Differential test: random telemetry through `sluice run`, compared row for
// row with the same windowed aggregation computed by SQLite.
//
// Events come from many devices, slightly out of order (within the
// out-of-order tolerance, so nothing is re-timestamped). SQLite computes
// tumbling and hopping COUNT/SUM/MIN/MAX/AVG per device with plain GROUP BY
// over window ends derived arithmetically, an independent oracle for
// Sluice's window assignment, aggregation, watermarks and output.
//
// Each case runs in three layouts: per device in one task; per device over
// 4 partitions (`--partitions 4`: the input split by device as Kafka splits
// a topic, a task each); and over all devices at once on 4 partitions,
// where every window crosses an exchange to a single merging task.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "simdjson.h"
#include "tests/differential/time_text.h"

namespace {

namespace fs = std::filesystem;
using sluice::testing_support::ParseStamp;
using sluice::testing_support::Stamp;

struct Event {
  std::string device;
  int64_t ms;  // event time, milliseconds since 2024-01-01T00:00:00Z
  double temperature;
  bool integral;  // written as a JSON integer
};

// (device, window end in ms)
using Key = std::tuple<std::string, int64_t>;
struct Aggregates {
  int64_t count = 0;
  double sum = 0;
  double min = 0;
  double max = 0;
  double avg = 0;
};

std::vector<Event> RandomEvents(uint32_t seed, int count, int devices, int64_t max_skew_ms) {
  std::mt19937_64 rng(seed);
  std::vector<Event> events;
  int64_t clock = 0;
  for (int i = 0; i < count; ++i) {
    clock += static_cast<int64_t>(rng() % 60);
    Event e;
    e.device = "dev-" + std::to_string(rng() % devices);
    e.ms = clock;
    e.integral = rng() % 4 == 0;
    e.temperature = e.integral ? static_cast<double>(static_cast<int64_t>(rng() % 120) - 20)
                               : static_cast<double>(rng() % 100000) / 997.0 - 10.0;
    events.push_back(e);
  }
  // Disorder: each event may arrive up to max_skew_ms late.
  std::vector<std::pair<int64_t, size_t>> arrival;
  for (size_t i = 0; i < events.size(); ++i) {
    arrival.emplace_back(events[i].ms + static_cast<int64_t>(rng() % (max_skew_ms + 1)), i);
  }
  std::sort(arrival.begin(), arrival.end());
  std::vector<Event> shuffled;
  for (const auto& [t, i] : arrival) shuffled.push_back(events[i]);
  return shuffled;
}

class Sqlite {
 public:
  Sqlite() { EXPECT_EQ(sqlite3_open(":memory:", &db_), SQLITE_OK); }
  ~Sqlite() { sqlite3_close(db_); }

  void Exec(const std::string& sql) {
    char* error = nullptr;
    ASSERT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
        << (error ? error : "") << "\n"
        << sql;
  }

  void Load(const std::vector<Event>& events) {
    Exec("CREATE TABLE events (device TEXT, ms INTEGER, temperature REAL)");
    Exec("BEGIN");
    sqlite3_stmt* insert = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db_, "INSERT INTO events VALUES (?, ?, ?)", -1, &insert, nullptr),
              SQLITE_OK);
    for (const Event& e : events) {
      sqlite3_bind_text(insert, 1, e.device.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(insert, 2, e.ms);
      sqlite3_bind_double(insert, 3, e.temperature);
      ASSERT_EQ(sqlite3_step(insert), SQLITE_DONE);
      sqlite3_reset(insert);
    }
    sqlite3_finalize(insert);
    Exec("COMMIT");
  }

  // Windows (end - size, end] ending at multiples of `hop`.
  std::map<Key, Aggregates> Windowed(int64_t size_ms, int64_t hop_ms, bool per_device) {
    const std::string sql =
        "WITH RECURSIVE k(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM k WHERE n < " +
        std::to_string(size_ms / hop_ms + 1) +
        "), assigned AS ("
        "  SELECT device, temperature,"
        "         ((ms + " +
        std::to_string(hop_ms) + " - 1) / " + std::to_string(hop_ms) + ") * " +
        std::to_string(hop_ms) + " + n * " + std::to_string(hop_ms) +
        " AS window_end, ms"
        "  FROM events, k)"
        " SELECT " +
        std::string(per_device ? "device" : "'all'") +
        ", window_end, COUNT(*), SUM(temperature), MIN(temperature),"
        "        MAX(temperature), AVG(temperature)"
        " FROM assigned WHERE window_end - " +
        std::to_string(size_ms) + " < ms" +
        (per_device ? " GROUP BY device, window_end" : " GROUP BY window_end");
    std::map<Key, Aggregates> rows;
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db_);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      Key key{reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)),
              sqlite3_column_int64(stmt, 1)};
      Aggregates a;
      a.count = sqlite3_column_int64(stmt, 2);
      a.sum = sqlite3_column_double(stmt, 3);
      a.min = sqlite3_column_double(stmt, 4);
      a.max = sqlite3_column_double(stmt, 5);
      a.avg = sqlite3_column_double(stmt, 6);
      rows[key] = a;
    }
    sqlite3_finalize(stmt);
    return rows;
  }

 private:
  sqlite3* db_ = nullptr;
};

std::string SluiceBinary() {
  const char* path = std::getenv("SLUICE_BINARY");
  return path ? path : SLUICE_BINARY_DEFAULT;
}

struct Layout {
  const char* name;
  bool per_device;
  int partitions;  // 0: one task over the whole input
};

std::map<Key, Aggregates> RunSluice(const std::vector<Event>& events, const std::string& window,
                                    const Layout& layout, const fs::path& dir) {
  fs::create_directories(dir);
  {
    std::ofstream out(dir / "events.jsonl");
    for (const Event& e : events) {
      char temperature[64];
      if (e.integral) {
        std::snprintf(temperature, sizeof(temperature), "%lld",
                      static_cast<long long>(e.temperature));
      } else {
        std::snprintf(temperature, sizeof(temperature), "%.17g", e.temperature);
      }
      out << "{\"deviceId\":\"" << e.device << "\",\"temperature\":" << temperature
          << ",\"eventTime\":\"" << Stamp(e.ms) << "\"}\n";
    }
    std::ofstream job(dir / "job.sql");
    job << "SELECT " << (layout.per_device ? "deviceId" : "'all' AS deviceId")
        << ", COUNT(*) AS n, SUM(temperature) AS total, MIN(temperature) AS lo,\n"
           "       MAX(temperature) AS hi, AVG(temperature) AS mean, System.Timestamp() AS t\n"
           "INTO windows\n"
           "FROM telemetry TIMESTAMP BY eventTime\n"
           "GROUP BY "
        << (layout.per_device ? "deviceId, " : "") << window << "\n";
  }
  const std::string command =
      SluiceBinary() + " run --quiet --query " + (dir / "job.sql").string() +
      " --input telemetry=" + (dir / "events.jsonl").string() + " --output-dir " +
      (dir / "out").string() +
      " --out-of-order-tolerance 5s --late-arrival-tolerance 10s --late-policy drop" +
      (layout.partitions > 0 ? " --partitions " + std::to_string(layout.partitions) : "");
  const int status = std::system(command.c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << command;

  std::map<Key, Aggregates> rows;
  simdjson::dom::parser parser;
  std::ifstream in(dir / "out" / "windows.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    simdjson::dom::element row;
    EXPECT_EQ(parser.parse(line).get(row), simdjson::SUCCESS) << line;
    std::string_view device, t;
    EXPECT_EQ(row["deviceId"].get(device), simdjson::SUCCESS);
    EXPECT_EQ(row["t"].get(t), simdjson::SUCCESS);
    Aggregates a;
    EXPECT_EQ(row["n"].get(a.count), simdjson::SUCCESS);
    EXPECT_EQ(row["total"].get(a.sum), simdjson::SUCCESS);
    EXPECT_EQ(row["lo"].get(a.min), simdjson::SUCCESS);
    EXPECT_EQ(row["hi"].get(a.max), simdjson::SUCCESS);
    EXPECT_EQ(row["mean"].get(a.avg), simdjson::SUCCESS);
    const Key key{std::string(device), ParseStamp(t)};
    EXPECT_FALSE(rows.count(key)) << "duplicate window row: " << line;
    rows[key] = a;
  }
  // Nothing may have been rejected or dropped.
  std::ifstream errors(dir / "out" / "_errors.jsonl");
  EXPECT_FALSE(std::getline(errors, line)) << "unexpected rejected event: " << line;
  return rows;
}

bool Close(double a, double b) {
  return std::fabs(a - b) <= 1e-9 * std::max(1.0, std::max(std::fabs(a), std::fabs(b)));
}

void Compare(const std::map<Key, Aggregates>& oracle, const std::map<Key, Aggregates>& sluice) {
  ASSERT_EQ(oracle.size(), sluice.size()) << "number of (device, window) rows differs";
  for (const auto& [key, expected] : oracle) {
    auto it = sluice.find(key);
    ASSERT_NE(it, sluice.end()) << "missing window " << std::get<0>(key) << " ending at "
                                << std::get<1>(key) << " ms";
    const Aggregates& got = it->second;
    EXPECT_EQ(got.count, expected.count) << std::get<0>(key) << "@" << std::get<1>(key);
    EXPECT_TRUE(Close(got.sum, expected.sum)) << got.sum << " vs " << expected.sum;
    EXPECT_EQ(got.min, expected.min);
    EXPECT_EQ(got.max, expected.max);
    EXPECT_TRUE(Close(got.avg, expected.avg)) << got.avg << " vs " << expected.avg;
  }
}

struct Scenario {
  const char* name;
  const char* window;
  int64_t size_ms;
  int64_t hop_ms;
};

class DifferentialTest : public ::testing::TestWithParam<std::tuple<Scenario, Layout, uint32_t>> {};

TEST_P(DifferentialTest, SluiceMatchesSqlite) {
  const auto& [scenario, layout, seed] = GetParam();
  const auto events = RandomEvents(seed, 4000, 60, 4000);
  const fs::path dir =
      fs::temp_directory_path() / ("sluice-diff-" + std::string(scenario.name) + "-" + layout.name +
                                   "-" + std::to_string(seed) + "-" + std::to_string(::getpid()));
  Sqlite sqlite;
  sqlite.Load(events);
  const auto oracle = sqlite.Windowed(scenario.size_ms, scenario.hop_ms, layout.per_device);
  ASSERT_GT(oracle.size(), layout.per_device ? 100u : 10u);
  const auto sluice = RunSluice(events, scenario.window, layout, dir);
  Compare(oracle, sluice);
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(
    Windows, DifferentialTest,
    ::testing::Combine(
        ::testing::Values(Scenario{"tumbling10s", "TumblingWindow(second, 10)", 10000, 10000},
                          Scenario{"tumbling1500ms", "TumblingWindow(millisecond, 1500)", 1500,
                                   1500},
                          Scenario{"hopping10s5s", "HoppingWindow(second, 10, 5)", 10000, 5000},
                          Scenario{"hopping7s3s", "HoppingWindow(second, 7, 3)", 7000, 3000}),
        ::testing::Values(Layout{"OneTask", true, 0}, Layout{"FourPartitions", true, 4},
                          Layout{"AllDevicesExchange", false, 4}),
        ::testing::Values(1u, 2u, 3u)),
    [](const auto& info) {
      return std::string(std::get<0>(info.param).name) + "_" + std::get<1>(info.param).name +
             "_seed" + std::to_string(std::get<2>(info.param));
    });

}  // namespace

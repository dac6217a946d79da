// Differential test for the analytic aggregates: SUM, COUNT, MIN, MAX and
// AVG OVER (PARTITION BY deviceId LIMIT DURATION(millisecond, D) WHEN v > W)
// through `sluice run`, compared with SQLite's window functions over the
// same events:
//   SUM(CASE WHEN v > W THEN v END) OVER (PARTITION BY deviceId ORDER BY ms
//     RANGE BETWEEN D PRECEDING AND CURRENT ROW)
// Sluice's LIMIT DURATION keeps the rows at most D before the current one,
// the current one included: SQLite's RANGE frame. Every event has its own
// millisecond, so SQLite's peers (equal ORDER BY values) never arise.
// Layouts: one task, and four partitions with the aggregates keyed on the
// partition key and on another key (the rows cross an exchange).
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "simdjson.h"
#include "tests/differential/time_text.h"

namespace {

namespace fs = std::filesystem;
using sluice::testing_support::Stamp;

struct Event {
  int64_t id;
  int device;
  int zone;
  int64_t ms;
  int64_t v;
};

// One row's aggregates; NaN for NULL.
struct Result {
  double sum, count, min, max, avg;
};

std::vector<Event> RandomEvents(uint32_t seed, int count) {
  std::mt19937 rng(seed);
  std::vector<Event> events;
  int64_t ms = 0;
  for (int i = 0; i < count; ++i) {
    ms += 1 + static_cast<int64_t>(rng() % 40);
    const int device = static_cast<int>(rng() % 9);
    events.push_back(Event{i, device, device % 3, ms, static_cast<int64_t>(rng() % 100) - 20});
  }
  return events;
}

struct Case {
  const char* key;  // deviceId or zone
  int64_t duration_ms;
  int64_t when_above;
  int partitions;
};

std::map<int64_t, Result> Oracle(const std::vector<Event>& events, const Case& c) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
  sqlite3_exec(db,
               "CREATE TABLE e (id INTEGER, deviceId INTEGER, zone INTEGER, ms INTEGER, v INTEGER)",
               nullptr, nullptr, nullptr);
  sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
  sqlite3_stmt* insert = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO e VALUES (?, ?, ?, ?, ?)", -1, &insert, nullptr);
  for (const Event& e : events) {
    sqlite3_bind_int64(insert, 1, e.id);
    sqlite3_bind_int64(insert, 2, e.device);
    sqlite3_bind_int64(insert, 3, e.zone);
    sqlite3_bind_int64(insert, 4, e.ms);
    sqlite3_bind_int64(insert, 5, e.v);
    EXPECT_EQ(sqlite3_step(insert), SQLITE_DONE);
    sqlite3_reset(insert);
  }
  sqlite3_finalize(insert);
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  const std::string value = "CASE WHEN v > " + std::to_string(c.when_above) + " THEN v END";
  const std::string frame = " OVER (PARTITION BY " + std::string(c.key) +
                            " ORDER BY ms RANGE BETWEEN " + std::to_string(c.duration_ms) +
                            " PRECEDING AND CURRENT ROW)";
  const std::string sql = "SELECT id, SUM(" + value + ")" + frame + ", COUNT(" + value + ")" +
                          frame + ", MIN(" + value + ")" + frame + ", MAX(" + value + ")" + frame +
                          ", AVG(" + value + ")" + frame + " FROM e";
  sqlite3_stmt* query = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &query, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  std::map<int64_t, Result> rows;
  while (sqlite3_step(query) == SQLITE_ROW) {
    auto column = [&](int i) {
      return sqlite3_column_type(query, i) == SQLITE_NULL ? NAN : sqlite3_column_double(query, i);
    };
    rows[sqlite3_column_int64(query, 0)] =
        Result{column(1), column(2), column(3), column(4), column(5)};
  }
  sqlite3_finalize(query);
  sqlite3_close(db);
  return rows;
}

std::map<int64_t, Result> RunSluice(const std::vector<Event>& events, const Case& c,
                                    const fs::path& dir) {
  fs::create_directories(dir);
  {
    std::ofstream out(dir / "telemetry.jsonl");
    for (const Event& e : events) {
      out << "{\"id\":" << e.id << ",\"deviceId\":" << e.device << ",\"zone\":" << e.zone
          << ",\"v\":" << e.v << ",\"eventTime\":\"" << Stamp(e.ms) << "\"}\n";
    }
  }
  const std::string over = std::string(" OVER (PARTITION BY ") + c.key +
                           " LIMIT DURATION(millisecond, " + std::to_string(c.duration_ms) +
                           ") WHEN v > " + std::to_string(c.when_above) + ")";
  std::ofstream(dir / "job.sql") << "SELECT id, SUM(v)" << over << " AS s, COUNT(v)" << over
                                 << " AS n, MIN(v)" << over << " AS lo, MAX(v)" << over
                                 << " AS hi, AVG(v)" << over << " AS mean\n"
                                 << "INTO o FROM telemetry TIMESTAMP BY eventTime\n";
  const char* binary = std::getenv("SLUICE_BINARY");
  const std::string command =
      std::string(binary ? binary : SLUICE_BINARY_DEFAULT) + " run --quiet --query " +
      (dir / "job.sql").string() + " --input telemetry=" + (dir / "telemetry.jsonl").string() +
      " --output-dir " + (dir / "out").string() +
      (c.partitions > 0 ? " --partitions " + std::to_string(c.partitions) : "");
  const int status = std::system(command.c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << command;
  std::map<int64_t, Result> rows;
  simdjson::dom::parser parser;
  std::ifstream in(dir / "out" / "o.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    simdjson::dom::element row;
    EXPECT_EQ(parser.parse(line).get(row), simdjson::SUCCESS) << line;
    auto number = [&](const char* field) {
      if (row[field].is_null()) return static_cast<double>(NAN);
      double d = 0;
      int64_t i = 0;
      if (row[field].get(i) == simdjson::SUCCESS) return static_cast<double>(i);
      EXPECT_EQ(row[field].get(d), simdjson::SUCCESS) << line;
      return d;
    };
    int64_t id = 0;
    EXPECT_EQ(row["id"].get(id), simdjson::SUCCESS) << line;
    rows[id] = Result{number("s"), number("n"), number("lo"), number("hi"), number("mean")};
  }
  return rows;
}

bool Same(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::fabs(a - b) <= 1e-9 * std::max(1.0, std::fabs(b));
}

class AnalyticDifferentialTest : public ::testing::TestWithParam<Case> {};

TEST_P(AnalyticDifferentialTest, SluiceMatchesSqlite) {
  const Case c = GetParam();
  const auto events = RandomEvents(17 + static_cast<uint32_t>(c.duration_ms), 4000);
  const auto oracle = Oracle(events, c);
  const fs::path dir = fs::temp_directory_path() /
                       ("sluice-analytic-diff-" + std::to_string(getpid()) + "-" + c.key + "-" +
                        std::to_string(c.duration_ms) + "-" + std::to_string(c.partitions));
  const auto sluice = RunSluice(events, c, dir);
  ASSERT_EQ(sluice.size(), oracle.size());
  int differing = 0;
  int non_null = 0;
  for (const auto& [id, want] : oracle) {
    auto it = sluice.find(id);
    ASSERT_NE(it, sluice.end()) << "no row for event " << id;
    const Result& got = it->second;
    non_null += std::isnan(want.sum) ? 0 : 1;
    if (!Same(got.sum, want.sum) || !Same(got.count, want.count) || !Same(got.min, want.min) ||
        !Same(got.max, want.max) || !Same(got.avg, want.avg)) {
      if (++differing <= 3) {
        ADD_FAILURE() << "event " << id << ": sluice sum " << got.sum << " count " << got.count
                      << " min " << got.min << " max " << got.max << " avg " << got.avg
                      << "; sqlite " << want.sum << " " << want.count << " " << want.min << " "
                      << want.max << " " << want.avg;
      }
    }
  }
  EXPECT_EQ(differing, 0);
  // The cases must exercise both empty and non-empty frames.
  EXPECT_GT(non_null, 100);
  EXPECT_LT(non_null, static_cast<int>(oracle.size()));
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Aggregates, AnalyticDifferentialTest,
                         ::testing::Values(Case{"deviceId", 300, 60, 0},
                                           Case{"deviceId", 1000, 30, 4}, Case{"zone", 150, 70, 4},
                                           Case{"zone", 2000, 75, 0}),
                         [](const auto& info) {
                           return std::string(info.param.key) + "_" +
                                  std::to_string(info.param.duration_ms) + "ms_" +
                                  std::to_string(info.param.partitions) + "partitions";
                         });

}  // namespace

// Differential test for stream-stream JOIN: two random streams through
// `sluice run`, compared with the same join computed by SQLite.
//
// Restricted to the pairs within the time bound, a stream join is an
// ordinary SQL join: SQLite pairs the rows whose keys are equal and whose
// times differ by the bound, and (for LEFT) adds each left row without a
// partner at its time + the upper bound. The streams arrive slightly out of
// order, within the out-of-order tolerance, so no event is re-timestamped.
//
// Layouts: one task; four partitions with the join on the partition key
// (the join runs in the input tasks); four partitions with the join on
// another key (both sides cross an exchange).
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
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
  int64_t id;
  std::string device;
  int zone;
  int64_t ms;  // since 2024-01-01T00:00:00Z
  int64_t v;
};

// (left id, right id or -1, output time in ms)
using Row = std::tuple<int64_t, int64_t, int64_t>;

// Events in arrival order: times grow by up to 120 ms, and each event may
// arrive up to 3 s late (the job's out-of-order tolerance is 5 s).
std::vector<Event> RandomStream(std::mt19937_64& rng, int count, int devices, int64_t first_id) {
  std::vector<Event> events;
  int64_t clock = 0;
  for (int i = 0; i < count; ++i) {
    clock += static_cast<int64_t>(rng() % 120);
    const int d = static_cast<int>(rng() % devices);
    events.push_back(Event{first_id + i, "dev-" + std::to_string(d), d % 5, clock,
                           static_cast<int64_t>(rng() % 100)});
  }
  std::vector<std::pair<int64_t, size_t>> arrival;
  for (size_t i = 0; i < events.size(); ++i) {
    arrival.emplace_back(events[i].ms + static_cast<int64_t>(rng() % 3001), i);
  }
  std::sort(arrival.begin(), arrival.end());
  std::vector<Event> shuffled;
  for (const auto& [t, i] : arrival) shuffled.push_back(events[i]);
  return shuffled;
}

struct Case {
  bool left;
  const char* key;  // "deviceId" or "zone"
  int64_t low_s;
  int64_t high_s;
  bool extra;  // AND a.v > b.v
};

std::string CaseName(const Case& c) {
  return std::string(c.left ? "Left" : "Inner") + "_" + c.key + "_" +
         (c.low_s < 0 ? "m" + std::to_string(-c.low_s) : std::to_string(c.low_s)) + "_" +
         (c.high_s < 0 ? "m" + std::to_string(-c.high_s) : std::to_string(c.high_s)) +
         (c.extra ? "_filtered" : "");
}

std::multiset<Row> Oracle(const std::vector<Event>& a, const std::vector<Event>& b, const Case& c) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
  auto exec = [&](const std::string& sql) {
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
        << (error ? error : "") << "\n"
        << sql;
    sqlite3_free(error);
  };
  for (const char* table : {"a", "b"}) {
    exec(std::string("CREATE TABLE ") + table +
         " (id INTEGER, deviceId TEXT, zone INTEGER, ms INTEGER, v INTEGER)");
    exec("BEGIN");
    sqlite3_stmt* insert = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(
                  db, (std::string("INSERT INTO ") + table + " VALUES (?, ?, ?, ?, ?)").c_str(), -1,
                  &insert, nullptr),
              SQLITE_OK);
    for (const Event& e : table[0] == 'a' ? a : b) {
      sqlite3_bind_int64(insert, 1, e.id);
      sqlite3_bind_text(insert, 2, e.device.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(insert, 3, e.zone);
      sqlite3_bind_int64(insert, 4, e.ms);
      sqlite3_bind_int64(insert, 5, e.v);
      EXPECT_EQ(sqlite3_step(insert), SQLITE_DONE);
      sqlite3_reset(insert);
    }
    sqlite3_finalize(insert);
    exec("COMMIT");
  }
  const std::string match = std::string("a.") + c.key + " = b." + c.key +
                            " AND b.ms - a.ms BETWEEN " + std::to_string(c.low_s * 1000) + " AND " +
                            std::to_string(c.high_s * 1000) + (c.extra ? " AND a.v > b.v" : "");
  std::string sql = "SELECT a.id, b.id, MAX(a.ms, b.ms) FROM a JOIN b ON " + match;
  if (c.left) {
    sql += " UNION ALL SELECT a.id, -1, a.ms + " + std::to_string(c.high_s * 1000) +
           " FROM a WHERE NOT EXISTS (SELECT 1 FROM b WHERE " + match + ")";
  }
  std::multiset<Row> rows;
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    rows.insert(Row{sqlite3_column_int64(stmt, 0), sqlite3_column_int64(stmt, 1),
                    sqlite3_column_int64(stmt, 2)});
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return rows;
}

std::string SluiceBinary() {
  const char* path = std::getenv("SLUICE_BINARY");
  return path ? path : SLUICE_BINARY_DEFAULT;
}

void WriteStream(const fs::path& file, const std::vector<Event>& events) {
  std::ofstream out(file);
  for (const Event& e : events) {
    out << "{\"id\":" << e.id << ",\"deviceId\":\"" << e.device << "\",\"zone\":" << e.zone
        << ",\"v\":" << e.v << ",\"eventTime\":\"" << Stamp(e.ms) << "\"}\n";
  }
}

std::multiset<Row> RunSluice(const std::vector<Event>& a, const std::vector<Event>& b,
                             const Case& c, int partitions, const fs::path& dir) {
  fs::create_directories(dir);
  WriteStream(dir / "a.jsonl", a);
  WriteStream(dir / "b.jsonl", b);
  {
    std::ofstream job(dir / "job.sql");
    job << "SELECT x.id AS aid, y.id AS bid, System.Timestamp() AS t\n"
           "INTO joined\n"
           "FROM sa x TIMESTAMP BY eventTime\n"
        << (c.left ? "LEFT OUTER JOIN" : "JOIN")
        << " sb y TIMESTAMP BY eventTime\n"
           "ON x."
        << c.key << " = y." << c.key << " AND DATEDIFF(second, x, y) BETWEEN " << c.low_s << " AND "
        << c.high_s << (c.extra ? " AND x.v > y.v" : "") << "\n";
  }
  const std::string command =
      SluiceBinary() + " run --quiet --query " + (dir / "job.sql").string() +
      " --input sa=" + (dir / "a.jsonl").string() + " --input sb=" + (dir / "b.jsonl").string() +
      " --output-dir " + (dir / "out").string() +
      " --out-of-order-tolerance 5s --late-arrival-tolerance 10s --late-policy drop" +
      (partitions > 0 ? " --partitions " + std::to_string(partitions) : "");
  const int status = std::system(command.c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << command;
  std::multiset<Row> rows;
  simdjson::dom::parser parser;
  std::ifstream in(dir / "out" / "joined.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    simdjson::dom::element row;
    EXPECT_EQ(parser.parse(line).get(row), simdjson::SUCCESS) << line;
    int64_t aid = 0;
    int64_t bid = -1;
    std::string_view t;
    EXPECT_EQ(row["aid"].get(aid), simdjson::SUCCESS) << line;
    if (!row["bid"].is_null()) {
      EXPECT_EQ(row["bid"].get(bid), simdjson::SUCCESS) << line;
    }
    EXPECT_EQ(row["t"].get(t), simdjson::SUCCESS) << line;
    rows.insert(Row{aid, bid, ParseStamp(t)});
  }
  std::ifstream errors(dir / "out" / "_errors.jsonl");
  EXPECT_FALSE(std::getline(errors, line)) << "unexpected rejected event: " << line;
  return rows;
}

class JoinDifferentialTest : public ::testing::TestWithParam<std::tuple<Case, int, uint32_t>> {};

TEST_P(JoinDifferentialTest, SluiceMatchesSqlite) {
  const auto& [c, partitions, seed] = GetParam();
  std::mt19937_64 rng(seed);
  const auto a = RandomStream(rng, 1500, 40, 1);
  const auto b = RandomStream(rng, 1500, 40, 100000);
  const auto oracle = Oracle(a, b, c);
  ASSERT_GT(oracle.size(), 200u);
  const fs::path dir = fs::temp_directory_path() /
                       ("sluice-join-diff-" + CaseName(c) + "-" + std::to_string(partitions) + "-" +
                        std::to_string(seed) + "-" + std::to_string(::getpid()));
  const auto sluice = RunSluice(a, b, c, partitions, dir);
  EXPECT_EQ(sluice.size(), oracle.size());
  std::vector<Row> missing;
  std::vector<Row> extra;
  std::set_difference(oracle.begin(), oracle.end(), sluice.begin(), sluice.end(),
                      std::back_inserter(missing));
  std::set_difference(sluice.begin(), sluice.end(), oracle.begin(), oracle.end(),
                      std::back_inserter(extra));
  for (size_t i = 0; i < std::min<size_t>(missing.size(), 5); ++i) {
    ADD_FAILURE() << "missing (" << std::get<0>(missing[i]) << ", " << std::get<1>(missing[i])
                  << ", " << std::get<2>(missing[i]) << ")";
  }
  for (size_t i = 0; i < std::min<size_t>(extra.size(), 5); ++i) {
    ADD_FAILURE() << "extra (" << std::get<0>(extra[i]) << ", " << std::get<1>(extra[i]) << ", "
                  << std::get<2>(extra[i]) << ")";
  }
  EXPECT_TRUE(missing.empty() && extra.empty());
  if (!HasFailure()) fs::remove_all(dir);
}

// Bounds drawn once from a fixed seed, so the suite is the same every run.
std::vector<Case> Cases() {
  std::vector<Case> cases;
  std::mt19937_64 rng(20261207);
  for (bool left : {false, true}) {
    for (const char* key : {"deviceId", "zone"}) {
      const int64_t low = static_cast<int64_t>(rng() % 9) - 6;
      const int64_t high = low + static_cast<int64_t>(rng() % 7);
      cases.push_back(Case{left, key, low, high, rng() % 2 == 0});
    }
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Joins, JoinDifferentialTest,
                         ::testing::Combine(::testing::ValuesIn(Cases()), ::testing::Values(0, 4),
                                            ::testing::Values(1u, 2u)),
                         [](const auto& info) {
                           return CaseName(std::get<0>(info.param)) + "_" +
                                  (std::get<1>(info.param) == 0 ? std::string("OneTask")
                                                                : std::string("FourPartitions")) +
                                  "_seed" + std::to_string(std::get<2>(info.param));
                         });

}  // namespace

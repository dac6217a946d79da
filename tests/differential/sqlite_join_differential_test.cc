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
// another key (both sides cross an exchange). Three-way joins are checked
// the same way below.
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

// An in-memory database with one table per stream, named a, b, c, ...
sqlite3* OpenWithStreams(const std::vector<const std::vector<Event>*>& streams) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
  auto exec = [&](const std::string& sql) {
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
        << (error ? error : "") << "\n"
        << sql;
    sqlite3_free(error);
  };
  for (size_t t = 0; t < streams.size(); ++t) {
    const std::string table(1, static_cast<char>('a' + t));
    exec("CREATE TABLE " + table +
         " (id INTEGER, deviceId TEXT, zone INTEGER, ms INTEGER, v INTEGER)");
    exec("BEGIN");
    sqlite3_stmt* insert = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, ("INSERT INTO " + table + " VALUES (?, ?, ?, ?, ?)").c_str(),
                                 -1, &insert, nullptr),
              SQLITE_OK);
    for (const Event& e : *streams[t]) {
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
  return db;
}

// The rows `sql` returns, each as a tuple of its first columns (integers).
template <typename Tuple>
std::multiset<Tuple> Query(sqlite3* db, const std::string& sql) {
  std::multiset<Tuple> rows;
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    Tuple row;
    int column = 0;
    std::apply([&](auto&... v) { ((v = sqlite3_column_int64(stmt, column++)), ...); }, row);
    rows.insert(row);
  }
  sqlite3_finalize(stmt);
  return rows;
}

// Fails with the first few rows one side has and the other lacks.
template <typename Tuple>
void ExpectSameRows(const std::multiset<Tuple>& oracle, const std::multiset<Tuple>& sluice) {
  EXPECT_EQ(sluice.size(), oracle.size());
  std::vector<Tuple> missing;
  std::vector<Tuple> extra;
  std::set_difference(oracle.begin(), oracle.end(), sluice.begin(), sluice.end(),
                      std::back_inserter(missing));
  std::set_difference(sluice.begin(), sluice.end(), oracle.begin(), oracle.end(),
                      std::back_inserter(extra));
  auto show = [](const Tuple& row) {
    std::string text;
    std::apply(
        [&](const auto&... v) { ((text += (text.empty() ? "(" : ", ") + std::to_string(v)), ...); },
        row);
    return text + ")";
  };
  for (size_t i = 0; i < std::min<size_t>(missing.size(), 5); ++i) {
    ADD_FAILURE() << "missing " << show(missing[i]);
  }
  for (size_t i = 0; i < std::min<size_t>(extra.size(), 5); ++i) {
    ADD_FAILURE() << "extra " << show(extra[i]);
  }
  EXPECT_TRUE(missing.empty() && extra.empty());
}

std::multiset<Row> Oracle(const std::vector<Event>& a, const std::vector<Event>& b, const Case& c) {
  sqlite3* db = OpenWithStreams({&a, &b});
  const std::string match = std::string("a.") + c.key + " = b." + c.key +
                            " AND b.ms - a.ms BETWEEN " + std::to_string(c.low_s * 1000) + " AND " +
                            std::to_string(c.high_s * 1000) + (c.extra ? " AND a.v > b.v" : "");
  std::string sql = "SELECT a.id, b.id, MAX(a.ms, b.ms) FROM a JOIN b ON " + match;
  if (c.left) {
    sql += " UNION ALL SELECT a.id, -1, a.ms + " + std::to_string(c.high_s * 1000) +
           " FROM a WHERE NOT EXISTS (SELECT 1 FROM b WHERE " + match + ")";
  }
  std::multiset<Row> rows = Query<Row>(db, sql);
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

// Runs `job` (output `joined`) over the streams as inputs sa, sb, ...; each
// output row becomes a tuple of its `fields` (integers, -1 for NULL) and its
// time `t` in ms. No event may be rejected.
template <typename Tuple>
std::multiset<Tuple> RunJob(const std::vector<const std::vector<Event>*>& streams,
                            const std::string& job, const std::vector<const char*>& fields,
                            int partitions, const fs::path& dir) {
  fs::create_directories(dir);
  std::ofstream(dir / "job.sql") << job;
  std::string command = SluiceBinary() + " run --quiet --query " + (dir / "job.sql").string();
  for (size_t t = 0; t < streams.size(); ++t) {
    const std::string name = std::string("s") + static_cast<char>('a' + t);
    WriteStream(dir / (name + ".jsonl"), *streams[t]);
    command += " --input " + name + "=" + (dir / (name + ".jsonl")).string();
  }
  command += " --output-dir " + (dir / "out").string() +
             " --out-of-order-tolerance 5s --late-arrival-tolerance 10s --late-policy drop" +
             (partitions > 0 ? " --partitions " + std::to_string(partitions) : "");
  const int status = std::system(command.c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << command;
  std::multiset<Tuple> rows;
  simdjson::dom::parser parser;
  std::ifstream in(dir / "out" / "joined.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    simdjson::dom::element row;
    EXPECT_EQ(parser.parse(line).get(row), simdjson::SUCCESS) << line;
    std::vector<int64_t> values;
    for (const char* field : fields) {
      int64_t v = -1;
      if (!row[field].is_null()) {
        EXPECT_EQ(row[field].get(v), simdjson::SUCCESS) << line;
      }
      values.push_back(v);
    }
    std::string_view t;
    EXPECT_EQ(row["t"].get(t), simdjson::SUCCESS) << line;
    values.push_back(ParseStamp(t));
    Tuple tuple;
    size_t next = 0;
    std::apply([&](auto&... v) { ((v = values[next++]), ...); }, tuple);
    rows.insert(tuple);
  }
  std::ifstream errors(dir / "out" / "_errors.jsonl");
  EXPECT_FALSE(std::getline(errors, line)) << "unexpected rejected event: " << line;
  return rows;
}

std::multiset<Row> RunSluice(const std::vector<Event>& a, const std::vector<Event>& b,
                             const Case& c, int partitions, const fs::path& dir) {
  std::ostringstream job;
  job << "SELECT x.id AS aid, y.id AS bid, System.Timestamp() AS t\n"
         "INTO joined\n"
         "FROM sa x TIMESTAMP BY eventTime\n"
      << (c.left ? "LEFT OUTER JOIN" : "JOIN")
      << " sb y TIMESTAMP BY eventTime\n"
         "ON x."
      << c.key << " = y." << c.key << " AND DATEDIFF(second, x, y) BETWEEN " << c.low_s << " AND "
      << c.high_s << (c.extra ? " AND x.v > y.v" : "") << "\n";
  return RunJob<Row>({&a, &b}, job.str(), {"aid", "bid"}, partitions, dir);
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
  ExpectSameRows(oracle, RunSluice(a, b, c, partitions, dir));
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

// Three streams in one SELECT: a JOIN b on the device and a bound, then c
// (inner or LEFT) on a key of a or b, with a bound to each of a and b.
// SQLite computes it as a three-table join; a LEFT row without a c is
// stamped with the pair's later time + the smaller of c's two upper bounds
// (sql/README.md).
struct ThreeWayCase {
  bool left;
  const char* c_key;     // "x.deviceId" or "y.zone": what c joins on
  int64_t bounds[3][2];  // seconds: b - a, c - a, c - b
};

std::string ThreeWayName(const ThreeWayCase& c) {
  std::string name =
      std::string(c.left ? "Left" : "Inner") + "_" + (c.c_key[0] == 'x' ? "cOnDevice" : "cOnZone");
  for (const auto& b : c.bounds) {
    name += "_" + (b[0] < 0 ? "m" + std::to_string(-b[0]) : std::to_string(b[0])) + "to" +
            (b[1] < 0 ? "m" + std::to_string(-b[1]) : std::to_string(b[1]));
  }
  return name;
}

// (a id, b id, c id or -1, output time in ms)
using Triple = std::tuple<int64_t, int64_t, int64_t, int64_t>;

std::multiset<Triple> ThreeWayOracle(const std::vector<Event>* streams, const ThreeWayCase& c) {
  sqlite3* db = OpenWithStreams({&streams[0], &streams[1], &streams[2]});
  auto within = [&](const char* from, const char* to, int pair) {
    return std::string(" AND ") + to + ".ms - " + from + ".ms BETWEEN " +
           std::to_string(c.bounds[pair][0] * 1000) + " AND " +
           std::to_string(c.bounds[pair][1] * 1000);
  };
  const std::string ab = "a.deviceId = b.deviceId" + within("a", "b", 0);
  const std::string c_key = c.c_key[0] == 'x' ? "a.deviceId = c.deviceId" : "b.zone = c.zone";
  const std::string abc = c_key + within("a", "c", 1) + within("b", "c", 2);
  std::string sql =
      "SELECT a.id, b.id, c.id, MAX(a.ms, b.ms, c.ms) FROM a JOIN b ON " + ab + " JOIN c ON " + abc;
  if (c.left) {
    sql += " UNION ALL SELECT a.id, b.id, -1, MAX(a.ms, b.ms) + " +
           std::to_string(std::min(c.bounds[1][1], c.bounds[2][1]) * 1000) + " FROM a JOIN b ON " +
           ab + " WHERE NOT EXISTS (SELECT 1 FROM c WHERE " + abc + ")";
  }
  std::multiset<Triple> rows = Query<Triple>(db, sql);
  sqlite3_close(db);
  return rows;
}

std::multiset<Triple> RunSluiceThreeWay(const std::vector<Event>* streams, const ThreeWayCase& c,
                                        int partitions, const fs::path& dir) {
  auto bound = [&](const char* from, const char* to, int pair) {
    return std::string(" AND DATEDIFF(second, ") + from + ", " + to + ") BETWEEN " +
           std::to_string(c.bounds[pair][0]) + " AND " + std::to_string(c.bounds[pair][1]);
  };
  std::ostringstream job;
  job << "SELECT x.id AS aid, y.id AS bid, z.id AS cid, System.Timestamp() AS t\n"
         "INTO joined\n"
         "FROM sa x TIMESTAMP BY eventTime\n"
         "JOIN sb y TIMESTAMP BY eventTime ON x.deviceId = y.deviceId"
      << bound("x", "y", 0) << "\n"
      << (c.left ? "LEFT OUTER JOIN" : "JOIN") << " sc z TIMESTAMP BY eventTime ON " << c.c_key
      << " = z." << (c.c_key[0] == 'x' ? "deviceId" : "zone") << bound("x", "z", 1)
      << bound("y", "z", 2) << "\n";
  return RunJob<Triple>({&streams[0], &streams[1], &streams[2]}, job.str(), {"aid", "bid", "cid"},
                        partitions, dir);
}

class ThreeWayJoinDifferentialTest
    : public ::testing::TestWithParam<std::tuple<ThreeWayCase, int, uint32_t>> {};

TEST_P(ThreeWayJoinDifferentialTest, SluiceMatchesSqlite) {
  const auto& [c, partitions, seed] = GetParam();
  std::mt19937_64 rng(seed);
  const std::vector<Event> streams[3] = {RandomStream(rng, 1000, 40, 1),
                                         RandomStream(rng, 1000, 40, 100000),
                                         RandomStream(rng, 1000, 40, 200000)};
  const auto oracle = ThreeWayOracle(streams, c);
  ASSERT_GT(oracle.size(), 100u);
  const fs::path dir = fs::temp_directory_path() /
                       ("sluice-join3-diff-" + ThreeWayName(c) + "-" + std::to_string(partitions) +
                        "-" + std::to_string(seed) + "-" + std::to_string(::getpid()));
  ExpectSameRows(oracle, RunSluiceThreeWay(streams, c, partitions, dir));
  if (!HasFailure()) fs::remove_all(dir);
}

// Bounds drawn once from a fixed seed: b - a and c - a from [-4, 2] over
// 2 to 6 seconds.
std::vector<ThreeWayCase> ThreeWayCases() {
  std::vector<ThreeWayCase> cases;
  std::mt19937_64 rng(20261208);
  for (bool left : {false, true}) {
    for (const char* key : {"x.deviceId", "y.zone"}) {
      ThreeWayCase c{left, key, {}};
      for (int pair = 0; pair < 2; ++pair) {
        c.bounds[pair][0] = static_cast<int64_t>(rng() % 7) - 4;
        c.bounds[pair][1] = c.bounds[pair][0] + 2 + static_cast<int64_t>(rng() % 5);
      }
      // c - b is (c - a) - (b - a): a bound a second inside that range
      // at each end, so that it removes triples the other two allow.
      c.bounds[2][0] = c.bounds[1][0] - c.bounds[0][1] + 1;
      c.bounds[2][1] = c.bounds[1][1] - c.bounds[0][0] - 1;
      cases.push_back(c);
    }
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(ThreeWayJoins, ThreeWayJoinDifferentialTest,
                         ::testing::Combine(::testing::ValuesIn(ThreeWayCases()),
                                            ::testing::Values(0, 4), ::testing::Values(3u)),
                         [](const auto& info) {
                           return ThreeWayName(std::get<0>(info.param)) + "_" +
                                  (std::get<1>(info.param) == 0 ? std::string("OneTask")
                                                                : std::string("FourPartitions")) +
                                  "_seed" + std::to_string(std::get<2>(info.param));
                         });

}  // namespace

// Reference data files: formats, bad rows counted rather than fatal,
// versions from {date}/{time} folders, and the version an event joins.
#include "connectors/reference_file.h"

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/core/datetime.h"
#include "engine/exec/operator.h"
#include "gtest/gtest.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;

class ReferenceFileTest : public ::testing::Test {
 protected:
  ReferenceFileTest()
      : dir_(fs::temp_directory_path() /
             absl::StrCat("sluice-reference-", std::random_device()())) {
    fs::create_directories(dir_);
    input_.set_name("devices");
    input_.add_fields("deviceId");
    input_.add_fields("limit");
    input_.set_reference(true);
  }
  ~ReferenceFileTest() override { fs::remove_all(dir_); }

  std::string Write(const std::string& relative, const std::string& text) {
    const fs::path path = dir_ / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
    return path.string();
  }

  static std::string Text(const Value& v) {
    if (v.is_null()) return "NULL";
    if (v.type() == ValueType::kString) return std::string(v.string());
    if (v.type() == ValueType::kBigint) return absl::StrCat(v.bigint());
    return "?";
  }

  fs::path dir_;
  v1::Input input_;
};

TEST_F(ReferenceFileTest, CsvQuotesEmptyValuesAndBadRows) {
  const std::string path = Write("devices.csv",
                                 "deviceId,limit,note\r\n"
                                 "d1,80,\"a, \"\"quoted\"\"\nnote\"\r\n"
                                 "d2,,plain\n"
                                 "d3,1\n"
                                 "\n"
                                 "d4,7,x\n");
  ReferenceLoadReport report;
  auto versions = LoadReference(input_, path, &report);
  ASSERT_TRUE(versions.ok()) << versions.status();
  ASSERT_EQ(versions->size(), 1u);
  const Batch& rows = (*versions)[0]->rows();
  ASSERT_EQ(rows.num_rows, 3u);
  EXPECT_EQ(Text(rows.value(0, 0)), "d1");
  EXPECT_EQ(Text(rows.value(1, 0)), "80");    // CSV values are strings
  EXPECT_EQ(Text(rows.value(1, 1)), "NULL");  // empty: NULL
  EXPECT_EQ(Text(rows.value(0, 2)), "d4");
  EXPECT_EQ(report.rows, 3);
  EXPECT_EQ(report.bad_rows, 1);
  ASSERT_EQ(report.problems.size(), 1u);
  EXPECT_NE(report.problems[0].find(":5: 2 values for 3 header fields"), std::string::npos)
      << report.problems[0];
  EXPECT_EQ((*versions)[0]->valid_from(), kBeginningOfTime);
}

TEST_F(ReferenceFileTest, CsvWithoutHeaderOrWithATwiceNamedFieldIsAnError) {
  ReferenceLoadReport report;
  EXPECT_FALSE(LoadReference(input_, Write("empty.csv", ""), &report).ok());
  EXPECT_FALSE(LoadReference(input_, Write("twice.csv", "a,b,a\n1,2,3\n"), &report).ok());
}

TEST_F(ReferenceFileTest, JsonLinesAndArraysCountBadRows) {
  ReferenceLoadReport report;
  auto lines = LoadReference(input_,
                             Write("devices.jsonl",
                                   "{\"deviceId\": \"d1\", \"limit\": 5}\n"
                                   "{\"deviceId\": \n"
                                   "\"just a string\"\n"
                                   "{\"deviceId\": \"d2\", \"limit\": 6}\n"),
                             &report);
  ASSERT_TRUE(lines.ok()) << lines.status();
  EXPECT_EQ((*lines)[0]->rows().num_rows, 2u);
  EXPECT_EQ(report.bad_rows, 2);
  ReferenceLoadReport array_report;
  auto array = LoadReference(
      input_, Write("array.json", "[{\"deviceId\": \"d1\", \"limit\": 5}, {\"deviceId\": \"d2\"}]"),
      &array_report);
  ASSERT_TRUE(array.ok()) << array.status();
  EXPECT_EQ((*array)[0]->rows().num_rows, 2u);
  EXPECT_EQ(Text((*array)[0]->rows().value(1, 0)), "5");
  EXPECT_EQ(array_report.bad_rows, 0);
  EXPECT_FALSE(LoadReference(input_, (dir_ / "missing.jsonl").string(), &report).ok());
}

TEST_F(ReferenceFileTest, DateTimeFoldersAreVersionsValidFromTheirTime) {
  Write("ref/2024/01/01/00-10/devices.jsonl", "{\"deviceId\": \"d1\", \"limit\": 2}\n");
  Write("ref/2024/01/01/00-00/devices.jsonl", "{\"deviceId\": \"d1\", \"limit\": 1}\n");
  Write("ref/2024/01/02/13/devices.jsonl", "{\"deviceId\": \"d1\", \"limit\": 3}\n");
  Write("ref/2024/01/01/00-00/other.jsonl", "{\"deviceId\": \"d1\", \"limit\": 99}\n");
  Write("ref/notes.txt", "not a version");
  ReferenceLoadReport report;
  auto versions =
      LoadReference(input_, (dir_ / "ref/{date}/{time}/devices.jsonl").string(), &report);
  ASSERT_TRUE(versions.ok()) << versions.status();
  ASSERT_EQ(versions->size(), 3u);
  const int64_t day = DaysFromCivil(2024, 1, 1) * kTicksPerDay;
  EXPECT_EQ((*versions)[0]->valid_from(), day);
  EXPECT_EQ((*versions)[1]->valid_from(), day + 10 * kTicksPerMinute);
  EXPECT_EQ((*versions)[2]->valid_from(), day + kTicksPerDay + 13 * kTicksPerHour);
  EXPECT_EQ(report.files, 3);
  // The version an event joins: the last valid at its time.
  EXPECT_EQ(VersionAt(*versions, day - 1), nullptr);
  EXPECT_EQ(VersionAt(*versions, day), (*versions)[0].get());
  EXPECT_EQ(VersionAt(*versions, day + 10 * kTicksPerMinute - 1), (*versions)[0].get());
  EXPECT_EQ(VersionAt(*versions, day + 10 * kTicksPerMinute), (*versions)[1].get());
  EXPECT_EQ(VersionAt(*versions, kEndOfTime), (*versions)[2].get());
  // Different content, different ids (what checkpoints record).
  EXPECT_NE((*versions)[0]->id(), (*versions)[1]->id());
}

TEST_F(ReferenceFileTest, APatternThatMatchesNothingOrTwiceOneTimeIsAnError) {
  ReferenceLoadReport report;
  EXPECT_FALSE(
      LoadReference(input_, (dir_ / "none/{date}/{time}/devices.jsonl").string(), &report).ok());
  Write("dup/2024/01/01/10/devices.jsonl", "{}\n");
  Write("dup/2024/01/01/10-00/devices.jsonl", "{}\n");
  EXPECT_FALSE(
      LoadReference(input_, (dir_ / "dup/{date}/{time}/devices.jsonl").string(), &report).ok());
}

TEST_F(ReferenceFileTest, TheIndexIsBuiltOnceAndLeavesOutNullKeys) {
  ReferenceLoadReport report;
  auto versions = LoadReference(input_,
                                Write("devices.jsonl",
                                      "{\"deviceId\": \"d1\", \"limit\": 5}\n"
                                      "{\"limit\": 6}\n"
                                      "{\"deviceId\": \"d1\", \"limit\": 7}\n"),
                                &report);
  ASSERT_TRUE(versions.ok()) << versions.status();
  const ReferenceVersion& v = *(*versions)[0];
  const ReferenceVersion::Index& index = v.IndexBy({0});
  EXPECT_EQ(&index, &v.IndexBy({0}));
  EXPECT_EQ(index.size(), 1u);  // "d1"; the row without a key is left out
  EXPECT_EQ(index.begin()->second.size(), 2u);
  EXPECT_GT(v.MemoryBytes(), 0u);
}

// refreshInterval: a file whose content changed is a new version from the
// time of the read that found it; an unchanged file, a missing one or one
// caught half-written changes nothing; a pattern picks up new folders.
TEST_F(ReferenceFileTest, RefreshingMakesAVersionFromTheReadThatFoundAChange) {
  const std::string path = Write("devices.jsonl", "{\"deviceId\": \"d1\", \"limit\": 1}\n");
  const std::string pattern = (dir_ / "ref/{date}/{time}/devices.jsonl").string();
  Write("ref/2024/01/01/00-00/devices.jsonl", "{\"deviceId\": \"d1\", \"limit\": 10}\n");
  std::vector<std::string> log;
  auto files = RefreshingReferenceFiles::Start(
      {{0, input_, path, 60'000}, {1, input_, pattern, 60'000}},
      [&log](const std::string& line) { log.push_back(line); }, /*start_thread=*/false);
  ASSERT_TRUE(files.ok()) << files.status();
  auto limit_at = [&](int input, int64_t ticks) {
    const ReferenceVersion* v = VersionAt(*(*files)->Versions(input), ticks);
    return v == nullptr ? std::string("none") : Text(v->rows().value(1, 0));
  };
  EXPECT_EQ(limit_at(0, 0), "1");
  const int64_t t1 = 1'800'000'000'000;   // ms
  (*files)->Refresh(t1, /*force=*/true);  // unchanged
  EXPECT_EQ((*files)->Versions(0)->size(), 1u);

  Write("devices.jsonl", "{\"deviceId\": \"d1\", \"limit\": 2}\n");
  (*files)->Refresh(t1 + 1000);  // the period has not passed
  EXPECT_EQ((*files)->Versions(0)->size(), 1u);
  (*files)->Refresh(t1 + 60'000);
  ASSERT_EQ((*files)->Versions(0)->size(), 2u);
  EXPECT_EQ((*files)->Versions(0)->back()->valid_from(), (t1 + 60'000) * kTicksPerMillisecond);
  EXPECT_EQ(limit_at(0, (t1 + 60'000) * kTicksPerMillisecond - 1), "1");
  EXPECT_EQ(limit_at(0, (t1 + 60'000) * kTicksPerMillisecond), "2");

  Write("devices.jsonl", "{\"deviceId\": \"d1\", \"li");  // half-written
  (*files)->Refresh(t1 + 120'000, true);
  fs::remove(path);
  (*files)->Refresh(t1 + 180'000, true);
  EXPECT_EQ((*files)->Versions(0)->size(), 2u);
  EXPECT_EQ(limit_at(0, INT64_MAX), "2");
  ASSERT_GE(log.size(), 2u);
  EXPECT_NE(log[log.size() - 1].find("keeping the rows read before"), std::string::npos);

  Write("ref/2024/01/01/00-10/devices.jsonl", "{\"deviceId\": \"d1\", \"limit\": 11}\n");
  (*files)->Refresh(t1 + 240'000, true);
  ASSERT_EQ((*files)->Versions(1)->size(), 2u);
  auto at = [](int h, int m) { return *FromCivil(CivilTime{{2024, 1, 1}, h, m, 0, 0}); };
  EXPECT_EQ(limit_at(1, at(0, 9)), "10");
  EXPECT_EQ(limit_at(1, at(0, 10)), "11");
  EXPECT_EQ((*files)->rows(), 2);
}

}  // namespace
}  // namespace sluice

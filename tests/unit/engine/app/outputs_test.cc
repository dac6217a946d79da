// The worker's output kinds through the SinkRegistry: what each kind is
// registered as, what an unknown kind says, and the file kind's promise:
// every task of a job appends to one file, and a replay's copies of rows
// (the same identity, source and input position) are dropped, also by a
// worker that opens the file again after a restart (<file>.ids).
#include "engine/app/worker/outputs.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "tests/unit/operators/test_support.h"

namespace sluice {
namespace {

using testing_support::ScratchDir;

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// A batch of rows from one event each, at input positions [from, to).
absl::Status WriteRows(Sink& sink, int from, int to) {
  std::vector<std::string> json;
  for (int i = from; i < to; ++i) json.push_back(absl::StrCat(R"({"i":)", i, "}"));
  std::vector<OutputRow> rows;
  for (int i = from; i < to; ++i) {
    rows.push_back(OutputRow{"", json[i - from], 0, static_cast<int64_t>(i)});
  }
  if (absl::Status s = sink.Write(rows); !s.ok()) return s;
  return sink.Flush();
}

SinkTarget FileTarget(const std::string& path) { return SinkTarget{"file", path, "job", "out"}; }

SinkTask TaskOn(const std::string& source) {
  SinkTask task;
  task.identity = "job/out";
  task.source = source;
  return task;
}

TEST(WorkerOutputsTest, EachKindIsRegisteredAndAnUnknownKindIsNamed) {
  SinkRegistry registry;
  RegisterWorkerOutputs(&registry);
  EXPECT_EQ(registry.kinds(), (std::vector<std::string>{"file", "kafka", "stdout"}));
  auto unknown = registry.Open(SinkTarget{"postgres", "db", "job", "out"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("'postgres'"), std::string::npos);
  EXPECT_NE(unknown.status().message().find("file, kafka, stdout"), std::string::npos);
}

TEST(WorkerOutputsTest, AKafkaOutputNeedsAWorkersTask) {
  SinkRegistry registry;
  RegisterWorkerOutputs(&registry);
  auto output = registry.Open(SinkTarget{"kafka", "alerts", "job", "out"});
  ASSERT_TRUE(output.ok()) << output.status();
  auto sink = (*output)->OpenForTask(TaskOn("telemetry:0"));
  EXPECT_EQ(sink.status().code(), absl::StatusCode::kFailedPrecondition);
  auto nameless = registry.Open(SinkTarget{"kafka", "", "job", "out"});
  EXPECT_EQ(nameless.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(WorkerOutputsTest, AFileDropsAReplaysCopiesAcrossTasksAndRestarts) {
  ScratchDir dir;
  const std::string path = dir.path("out.jsonl");
  SinkRegistry registry;
  RegisterWorkerOutputs(&registry);
  {
    auto output = registry.Open(FileTarget(path));
    ASSERT_TRUE(output.ok()) << output.status();
    auto a = (*output)->OpenForTask(TaskOn("telemetry:0"));
    auto b = (*output)->OpenForTask(TaskOn("telemetry:1"));
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_TRUE(WriteRows(**a, 0, 10).ok());
    ASSERT_TRUE(WriteRows(**b, 0, 10).ok());  // another partition: other rows
    ASSERT_TRUE(WriteRows(**a, 5, 15).ok());  // a replay from position 5
  }
  EXPECT_EQ(Lines(path).size(), 25u);
  {
    // A restarted worker: the replay of partition 1 from 8 adds only 10..11.
    auto output = registry.Open(FileTarget(path));
    ASSERT_TRUE(output.ok()) << output.status();
    auto b = (*output)->OpenForTask(TaskOn("telemetry:1"));
    ASSERT_TRUE(b.ok());
    ASSERT_TRUE(WriteRows(**b, 8, 12).ok());
    ASSERT_TRUE((*b)->Commit().ok());
  }
  const std::vector<std::string> lines = Lines(path);
  EXPECT_EQ(lines.size(), 27u);
  EXPECT_EQ(lines.back(), R"({"i":11})");
}

TEST(WorkerOutputsTest, AFileThatCannotBeCreatedIsAnError) {
  ScratchDir dir;
  SinkRegistry registry;
  RegisterWorkerOutputs(&registry);
  auto output = registry.Open(FileTarget(dir.path("missing/dir/out.jsonl")));
  EXPECT_FALSE(output.ok());
}

}  // namespace
}  // namespace sluice

// State tables belong to the engine: an operator gets only the tables it
// declares, and a store written under another layout version is refused at
// start instead of misread.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/exec/task.h"
#include "engine/state/state_store.h"
#include "operators/builtin_operators.h"
#include "sql/compiler.h"
#include "tests/unit/operators/test_support.h"

namespace sluice {
namespace {

using testing_support::ScratchDir;

class NullSink final : public Sink {
 public:
  absl::Status Write(const std::vector<OutputRow>&) override { return absl::OkStatus(); }
  absl::Status Flush() override { return absl::OkStatus(); }
};

// What a TableUser saw; outlives the operator (a task that fails to start
// destroys it).
struct Observed {
  absl::Status read;
  absl::Status written;
};

// Stands in for the filter: declares `declared`, and in Open reads and
// writes the table named `used`.
class TableUser final : public Operator {
 public:
  TableUser(std::vector<StateSpec> declared, std::string used, Observed* observed)
      : declared_(std::move(declared)), used_(std::move(used)), observed_(observed) {}

  std::vector<StateSpec> DeclareState() const override { return declared_; }
  absl::Status Open(OperatorContext& ctx) override {
    ctx_ = &ctx;
    if (used_.empty()) return absl::OkStatus();
    const StateTable& table = ctx.table(used_);
    std::string value;
    observed_->read = table.Get("k", &value).status();
    StateWriteBatch batch;
    batch.Put(table, "k", "v");
    observed_->written = ctx.CommitState(batch);
    return absl::OkStatus();
  }
  absl::Status ProcessBatch(int, const Batch& batch, Emitter& out) override {
    return out.Emit(batch);
  }
  absl::Status Checkpoint(StateWriteBatch& batch) override {
    for (const StateSpec& spec : declared_) batch.Put(ctx_->table(spec.name), "k", "v");
    return absl::OkStatus();
  }

 private:
  std::vector<StateSpec> declared_;
  std::string used_;
  Observed* observed_;
};

class StateTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sql::CompileResult r =
        sql::CompileQuery("SELECT deviceId INTO o FROM telemetry WHERE temperature > 1");
    ASSERT_TRUE(r.ok) << r.error.message;
    plan_ = r.plan;
    auto store = StateStore::Open(dir_.path());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  // A task whose filter node is a TableUser reporting to observed_.
  absl::StatusOr<std::unique_ptr<Task>> Start(std::vector<StateSpec> declared, std::string used,
                                              bool fresh_state = false) {
    OperatorRegistry registry;
    RegisterBuiltinOperators(&registry);
    registry.Register(
        v1::Node::kFilter,
        [declared, used, this](const v1::Node&,
                               const v1::Plan&) -> absl::StatusOr<std::unique_ptr<Operator>> {
          return std::make_unique<TableUser>(declared, used, &observed_);
        });
    registry_ = std::move(registry);
    TaskEnvironment env;
    env.registry = &registry_;
    env.store = store_.get();
    env.job_name = "job";
    env.sinks = {&sink_};
    env.fresh_state = fresh_state;
    return Task::Create(plan_, env);
  }

  ScratchDir dir_;
  v1::Plan plan_;
  std::unique_ptr<StateStore> store_;
  OperatorRegistry registry_;
  NullSink sink_;
  Observed observed_;
};

TEST_F(StateTableTest, AnUndeclaredTableFailsTheTaskAtStart) {
  auto task = Start({{"declared", "what the operator keeps", 1}}, "other");
  ASSERT_FALSE(task.ok());
  EXPECT_EQ(task.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(task.status().message(), "'other'")) << task.status();
  EXPECT_TRUE(absl::StrContains(task.status().message(), "filter")) << task.status();
  // What the operator did with the handle failed instead of crashing or
  // writing somewhere else.
  EXPECT_EQ(observed_.read.code(), absl::StatusCode::kFailedPrecondition) << observed_.read;
  EXPECT_EQ(observed_.written.code(), absl::StatusCode::kFailedPrecondition) << observed_.written;
}

TEST_F(StateTableTest, ADeclaredTableWorks) {
  auto task = Start({{"declared", "what the operator keeps", 1}}, "declared");
  ASSERT_TRUE(task.ok()) << task.status();
  EXPECT_TRUE(observed_.read.ok()) << observed_.read;
  EXPECT_TRUE(observed_.written.ok()) << observed_.written;
}

TEST_F(StateTableTest, WritesToNoTableFailTheBatch) {
  StateWriteBatch batch;
  const StateTable none;
  batch.Delete(none, "k");
  EXPECT_EQ(batch.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->Commit(batch).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(batch.ForEach([](uint32_t, char, std::string_view, std::string_view) {}).ok());
  std::string value;
  EXPECT_EQ(none.Get("k", &value).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(none.Scan("", [](std::string_view, std::string_view) { return true; }).code(),
            absl::StatusCode::kFailedPrecondition);
}

// Checkpoints a task declaring `version`, then starts one declaring another.
TEST_F(StateTableTest, StateWrittenUnderAnotherVersionIsRefused) {
  {
    auto task = Start({{"counts", "", 1}}, "");
    ASSERT_TRUE(task.ok()) << task.status();
    StateWriteBatch batch;
    ASSERT_TRUE((*task)->Checkpoint(batch).ok());
    ASSERT_TRUE(store_->Commit(batch).ok());
  }
  // The same version restores.
  EXPECT_TRUE(Start({{"counts", "", 1}}, "").ok());
  // A new layout refuses the old state, saying which table and versions.
  auto newer = Start({{"counts", "", 2}}, "");
  ASSERT_FALSE(newer.ok());
  EXPECT_EQ(newer.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(newer.status().message(), "'counts'")) << newer.status();
  EXPECT_TRUE(absl::StrContains(newer.status().message(), "version 1")) << newer.status();
  EXPECT_TRUE(absl::StrContains(newer.status().message(), "version 2")) << newer.status();
  // Fresh state starts it, and from then on version 2 is what is stored.
  {
    auto fresh = Start({{"counts", "", 2}}, "", /*fresh_state=*/true);
    ASSERT_TRUE(fresh.ok()) << fresh.status();
    StateWriteBatch batch;
    ASSERT_TRUE((*fresh)->Checkpoint(batch).ok());
    ASSERT_TRUE(store_->Commit(batch).ok());
  }
  EXPECT_TRUE(Start({{"counts", "", 2}}, "").ok());
  EXPECT_FALSE(Start({{"counts", "", 1}}, "").ok());
}

TEST_F(StateTableTest, ATableDeclaredTwiceIsRefused) {
  auto task = Start({{"a", "", 1}, {"a", "", 1}}, "");
  ASSERT_FALSE(task.ok());
  EXPECT_TRUE(absl::StrContains(task.status().message(), "twice")) << task.status();
}

}  // namespace
}  // namespace sluice

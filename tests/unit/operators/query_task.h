// A compiled query in one real task over a real state store, fed JSON
// events by input: what the operator tests that drive a whole plan share.
#ifndef SLUICE_TESTS_UNIT_OPERATORS_QUERY_TASK_H_
#define SLUICE_TESTS_UNIT_OPERATORS_QUERY_TASK_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/json_decoder.h"
#include "engine/exec/task.h"
#include "engine/state/state_store.h"
#include "operators/builtin_operators.h"
#include "sql/compiler.h"
#include "tests/unit/operators/test_support.h"

namespace sluice::testing_support {

class QueryTask {
 public:
  explicit QueryTask(std::string_view query, const sql::CompileOptions& options = {}) {
    sql::CompileResult r = sql::CompileQuery(query, options);
    EXPECT_TRUE(r.ok) << r.error.message;
    plan_ = r.plan;
    RegisterBuiltinOperators(&registry_);
    auto store = StateStore::Open(dir_.path());
    EXPECT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    env_.registry = &registry_;
    env_.store = store_.get();
    env_.job_name = "test";
    env_.sinks = {&sink_};
  }

  absl::Status Start() {
    auto task = Task::Create(plan_, env_);
    if (!task.ok()) return task.status();
    task_ = *std::move(task);
    return absl::OkStatus();
  }

  // Pushes `events` (JSON objects) of input `input` as one batch; with
  // `positions`, event i comes from position positions[i] of partition 0,
  // as a source would say.
  void Push(int input, const std::vector<std::string>& events,
            const std::vector<int64_t>& positions = {}) {
    if (events.empty()) return;
    JsonDecoder decoder(JsonDecoderOptionsFor(plan_.inputs(input)));
    BatchBuilder builder(decoder.num_columns());
    std::string error;
    for (size_t i = 0; i < events.size(); ++i) {
      const std::string padded = events[i] + std::string(64, ' ');
      ASSERT_TRUE(
          decoder.Decode(std::string_view(padded.data(), events[i].size()), 64, 0, builder, &error))
          << error;
      if (!positions.empty()) {
        builder.SetOrigin(builder.num_rows() - 1, RowOrigin{input, 0, positions[i]});
      }
    }
    ASSERT_TRUE(task_->Push(input, builder.Finish()).ok());
  }

  // A checkpoint into the store, then a new task restored from it.
  void CheckpointAndRestore() {
    StateWriteBatch batch;
    ASSERT_TRUE(task_->Checkpoint(batch).ok());
    ASSERT_TRUE(store_->Commit(batch).ok());
    task_.reset();
    ASSERT_TRUE(Start().ok());
  }

  // Ends the input; the rows written, sorted.
  std::vector<std::string> Finish() {
    EXPECT_TRUE(task_->EndOfInput().ok());
    std::vector<std::string> rows = sink_.rows;
    std::sort(rows.begin(), rows.end());
    return rows;
  }

  const v1::Plan& plan() const { return plan_; }
  const CollectingSink& sink() const { return sink_; }
  Task& task() { return *task_; }
  StateStore& store() { return *store_; }

 private:
  ScratchDir dir_;
  v1::Plan plan_;
  OperatorRegistry registry_;
  std::unique_ptr<StateStore> store_;
  CollectingSink sink_;
  TaskEnvironment env_;
  std::unique_ptr<Task> task_;
};

}  // namespace sluice::testing_support

#endif  // SLUICE_TESTS_UNIT_OPERATORS_QUERY_TASK_H_

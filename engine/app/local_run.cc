// `sluice run` as one task: every input read batch by batch, round-robin,
// into one task; checkpoints follow the worker's protocol
// (engine/runtime/checkpoint_protocol.h) over a changelog in memory, and
// --restart-after rebuilds the state from it into an empty store, exactly
// as a worker that takes over a partition does.
#include "engine/app/local_run.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/core/value.h"
#include "engine/core/value_codec.h"
#include "engine/runtime/checkpoint_protocol.h"
#include "engine/runtime/input_driver.h"

namespace sluice::local_run {

namespace fs = std::filesystem;

int Fail(const std::string& message, int code) {
  std::fprintf(stderr, "sluice run: %s\n", message.c_str());
  return code;
}

absl::Status ErrorOutput::Write(std::string_view input, bool array_mode, int64_t position,
                                std::string_view reason, std::string_view data) {
  std::string line = "{\"input\":";
  if (input.empty()) {
    line += "null";
  } else {
    AppendJsonString(input, &line);
  }
  absl::StrAppend(&line, ",\"", array_mode ? "element" : "line", "\":");
  if (position >= 0) {
    absl::StrAppend(&line, position);
  } else {
    line += "null";
  }
  line += ",\"reason\":";
  AppendJsonString(reason, &line);
  if (!data.empty()) AppendRawTextField("data", data, &line);
  line += "}";
  ++count_;
  return sink_->WriteLine(line);
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = absl::StrCat(base ? base : "/tmp", "/sluice-run-XXXXXX");
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) != nullptr) path_ = buf.data();
}

TempDir::~TempDir() {
  if (!path_.empty()) {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
}

absl::Status OpenInputs(LocalRun& run) {
  for (InputBinding& in : run.inputs) {
    auto file = JsonLinesFile::Open(in.path);
    if (!file.ok()) return file.status();
    in.file = *std::move(file);
    in.done = false;
    if (in.by_arrival && run.settings.arrival_field.empty()) {
      // The events arrived when the file was last written.
      in.file->SetEstimatedArrival(in.file->modified_time_ticks());
    }
  }
  for (int i = 0; i < run.plan.inputs_size(); ++i) {
    run.inputs[i].decoder = std::make_unique<JsonDecoder>(
        JsonDecoderOptionsFor(run.plan.inputs(i), run.settings.arrival_field));
  }
  return absl::OkStatus();
}

std::string OutputsSummary(const LocalRun& run) {
  std::vector<std::string> outputs;
  for (size_t i = 0; i < run.sinks.size(); ++i) {
    const int64_t rows = run.sinks[i]->rows_written();
    outputs.push_back(absl::StrCat(run.plan.outputs(static_cast<int>(i)).name(), " ", rows,
                                   rows == 1 ? " row" : " rows"));
  }
  return absl::StrJoin(outputs, ", ");
}

void ReportRejects(const LocalRun& run) {
  if (run.errors->count() == 0) return;
  std::fprintf(stderr, "sluice run: rejected %lld events, see %s/_errors.jsonl\n",
               static_cast<long long>(run.errors->count()), run.settings.out_dir.c_str());
}

namespace {

const std::string kChangelog = "run.changelog";
std::string PositionKey(size_t input) { return absl::StrCat("position/", input); }

class Discard final : public ChangelogWriter {
 public:
  absl::Status Append(const std::string&, std::string_view, std::string_view) override {
    return absl::OkStatus();
  }
};

}  // namespace

LocalCheckpoints::LocalCheckpoints(LocalRun& run, uint32_t partition, InMemoryChangelog* log)
    : run_(run), partition_(partition), log_(log) {
  NewIncarnation();
}

void LocalCheckpoints::NewIncarnation() {
  CheckpointProtocol::Options options;
  options.store = run_.store.get();
  AppendBigEndian32(partition_, &options.task_prefix);
  options.meta_family = absl::StrCat(run_.env.job_name, "/task");
  options.incarnation = ++incarnation_;
  options.logs = {kChangelog};
  options.log_of = [](std::string_view) { return &kChangelog; };
  protocol_ = std::make_unique<CheckpointProtocol>(std::move(options));
  async_ = std::make_unique<AsyncCheckpoints>(protocol_.get(), &epochs_, /*timeout_ms=*/0);
}

absl::Status LocalCheckpoints::Checkpoint(Task& task, const std::vector<int64_t>& positions,
                                          bool keep_log) {
  StateWriteBatch batch;
  if (absl::Status s = task.Checkpoint(batch); !s.ok()) return s;
  const CheckpointId id = protocol_->Begin(batch, task.meta_table());
  for (size_t i = 0; i < positions.size(); ++i) {
    std::string value;
    EncodeFixed64(static_cast<uint64_t>(positions[i]), &value);
    batch.Put(task.meta_table(), PositionKey(i), value);
  }
  if (absl::Status s = run_.errors->Flush(); !s.ok()) return s;
  Discard discard;
  ChangelogWriter& log =
      keep_log ? static_cast<ChangelogWriter&>(*log_) : static_cast<ChangelogWriter&>(discard);
  // The worker's steps (engine/runtime/async_checkpoints.h); a log in
  // memory acknowledges at once, so the checkpoint completes here.
  if (absl::Status s = async_->Start(id, batch, /*position=*/-1, &log, 0); !s.ok()) return s;
  auto done = async_->Advance(0);
  if (!done.ok()) return done.status();
  if (!done->has_value()) {
    return absl::InternalError("internal error: the local log did not complete a checkpoint");
  }
  return task.CommitSinks();
}

absl::Status LocalCheckpoints::RestoreFromLog(const std::function<absl::Status()>& wipe) {
  if (absl::Status s = wipe(); !s.ok()) return s;
  NewIncarnation();
  auto rebuilt = protocol_->Restore(*log_, wipe);
  if (!rebuilt.ok()) return rebuilt.status();
  if (!rebuilt->checkpoint || !rebuilt->from_log) {
    return absl::InternalError("internal error: the checkpoint is not in the changelog");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int64_t>> LocalCheckpoints::Positions(const Task& task, size_t inputs) {
  std::vector<int64_t> positions(inputs, 0);
  for (size_t i = 0; i < inputs; ++i) {
    std::string value;
    auto found = task.meta_table().Get(PositionKey(i), &value);
    if (!found.ok()) return found.status();
    if (!*found) continue;
    std::string_view in(value);
    uint64_t position;
    if (!DecodeFixed64(&in, &position)) return absl::DataLossError("bad input position");
    positions[i] = static_cast<int64_t>(position);
  }
  return positions;
}

namespace {

class OneTaskRun {
 public:
  explicit OneTaskRun(LocalRun& run) : run_(run), checkpoints_(run, 0, &changelog_) {}

  int Run() {
    run_.env.reject = [this](const RejectedRow& row) { return Reject(row); };
    if (absl::Status s = StartTask(); !s.ok()) return Fail(std::string(s.message()));
    keep_log_ = run_.settings.restart_after > 0;
    for (int i = 0; i < static_cast<int>(run_.inputs.size()); ++i) {
      drivers_.emplace_back(std::vector<InputDriver::Feed>{{i, run_.inputs[i].decoder.get()}},
                            [this, i](const SourceRecord& r, std::string_view reason) {
                              const InputBinding& in = run_.inputs[i];
                              return run_.errors->Write(in.alias, in.file->array_mode(), r.position,
                                                        reason, r.data);
                            });
    }
    const auto started = std::chrono::steady_clock::now();
    if (absl::Status s = ReadAll(); !s.ok()) return Fail(std::string(s.message()));
    if (absl::Status s = task_->EndOfInput(); !s.ok()) {
      return Fail(absl::StrCat("internal error: ", s.message()));
    }
    if (absl::Status s = run_.errors->Flush(); !s.ok()) return Fail(std::string(s.message()));
    if (!run_.settings.quiet) {
      Report(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
    return 0;
  }

 private:
  // A rejected row, with the event's text when the file still has it.
  absl::Status Reject(const RejectedRow& row) {
    std::string_view input;
    std::string_view data;
    bool array_mode = false;
    if (row.origin.input >= 0 && row.origin.input < static_cast<int>(run_.inputs.size())) {
      const InputBinding& in = run_.inputs[row.origin.input];
      input = in.alias;
      if (in.file) {
        data = in.file->EventText(row.origin.position);
        array_mode = in.file->array_mode();
      }
    }
    return run_.errors->Write(input, array_mode, row.origin.input >= 0 ? row.origin.position : -1,
                              row.reason, data);
  }

  // Creates the task over the store and moves each input to the position
  // after the last checkpointed event.
  absl::Status StartTask() {
    auto task = Task::Create(run_.plan, run_.env);
    if (!task.ok()) return task.status();
    task_ = *std::move(task);
    auto positions = LocalCheckpoints::Positions(*task_, run_.inputs.size());
    if (!positions.ok()) return positions.status();
    for (size_t i = 0; i < run_.inputs.size(); ++i) {
      if ((*positions)[i] > 0) run_.inputs[i].file->SkipTo((*positions)[i]);
    }
    return absl::OkStatus();
  }

  absl::Status Checkpoint() {
    std::vector<int64_t> positions;
    for (const InputBinding& in : run_.inputs) positions.push_back(in.file->position());
    return checkpoints_.Checkpoint(*task_, positions, keep_log_);
  }

  // Proves restore: checkpoints, throws away every in-memory structure and
  // the local store, and rebuilds the task and the readers from the
  // changelog alone.
  absl::Status Restart() {
    if (absl::Status s = Checkpoint(); !s.ok()) return s;
    task_.reset();
    run_.store.reset();
    const fs::path restored_dir = fs::path(run_.settings.state_dir) / "restored";
    std::error_code ec;
    fs::remove_all(restored_dir, ec);
    auto reopened = StateStore::Open(restored_dir.string());
    if (!reopened.ok()) return reopened.status();
    run_.store = *std::move(reopened);
    run_.env.store = run_.store.get();
    absl::Status restored = checkpoints_.RestoreFromLog([&]() -> absl::Status {
      TaskEnvironment wipe = run_.env;
      wipe.fresh_state = true;
      return Task::Create(run_.plan, wipe).status();
    });
    if (!restored.ok()) return restored;
    keep_log_ = false;
    if (absl::Status s = OpenInputs(run_); !s.ok()) return s;
    for (int k = 0; k < static_cast<int>(run_.inputs.size()); ++k) {
      drivers_[k].set_decoder(0, run_.inputs[k].decoder.get());
    }
    return StartTask();
  }

  absl::Status ReadAll() {
    const RunSettings& settings = run_.settings;
    int64_t since_checkpoint = 0;
    bool restarted = false;
    bool any = true;
    while (any) {
      any = false;
      for (int i = 0; i < static_cast<int>(run_.inputs.size()); ++i) {
        InputBinding& in = run_.inputs[i];
        if (in.done) continue;
        const int64_t before = drivers_[i].decoded();
        auto more = drivers_[i].PumpOnce(*in.file, *task_, settings.batch_size);
        if (!more.ok()) return more.status();
        if (!*more) {
          in.done = true;
          continue;
        }
        any = true;
        const int64_t decoded = drivers_[i].decoded() - before;
        total_ += decoded;
        since_checkpoint += decoded;
        if (settings.restart_after > 0 && !restarted && total_ >= settings.restart_after) {
          restarted = true;
          if (absl::Status s = Restart(); !s.ok()) return s;
          since_checkpoint = 0;
        } else if (settings.checkpoint_every > 0 && since_checkpoint >= settings.checkpoint_every) {
          if (absl::Status s = Checkpoint(); !s.ok()) return s;
          since_checkpoint = 0;
        }
      }
    }
    return absl::OkStatus();
  }

  void Report(double seconds) const {
    const TaskMetrics& m = task_->metrics();
    std::fprintf(stderr, "sluice run: %lld events in %.3f s (%.0f events/s); wrote %s\n",
                 static_cast<long long>(total_), seconds, seconds > 0 ? total_ / seconds : 0.0,
                 OutputsSummary(run_).c_str());
    ReportRejects(run_);
    const int64_t late = m.late_adjusted + m.late_dropped + m.out_of_order_adjusted +
                         m.out_of_order_dropped + m.early_dropped;
    if (late > 0) {
      std::fprintf(stderr,
                   "sluice run: time policy: %lld late adjusted, %lld late dropped, %lld "
                   "out-of-order adjusted, %lld out-of-order dropped, %lld early dropped\n",
                   static_cast<long long>(m.late_adjusted.load()),
                   static_cast<long long>(m.late_dropped.load()),
                   static_cast<long long>(m.out_of_order_adjusted.load()),
                   static_cast<long long>(m.out_of_order_dropped.load()),
                   static_cast<long long>(m.early_dropped.load()));
    }
  }

  LocalRun& run_;
  InMemoryChangelog changelog_;
  LocalCheckpoints checkpoints_;
  std::unique_ptr<Task> task_;
  std::vector<InputDriver> drivers_;
  bool keep_log_ = false;
  int64_t total_ = 0;
};

}  // namespace

int RunOneTask(LocalRun& run) { return OneTaskRun(run).Run(); }

}  // namespace sluice::local_run

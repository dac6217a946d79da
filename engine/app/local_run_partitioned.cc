// `sluice run --partitions N`: the job as a cluster would run it. Each input
// is split by its partition key as Kafka's default partitioner splits a
// topic keyed by it (events without the key go to partition 0), a task per
// partition, in-process exchanges between stages (StagedJob). Rejected
// events keep their line in the original file. Each stage-0 task
// checkpoints by the worker's protocol (LocalCheckpoints), and
// --restart-after rebuilds the task reading at that point from the
// changelog, as a worker taking over its partition does.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "engine/app/local_run.h"
#include "engine/core/murmur2.h"
#include "engine/core/value.h"
#include "engine/exec/staged_job.h"
#include "engine/runtime/input_driver.h"
#include "simdjson.h"

namespace sluice::local_run {
namespace {

// The field `key` of a JSON event as Kafka's producer would have keyed it:
// a string's characters, another value's JSON text. Empty when the event is
// not an object, lacks the field or holds null there: such events all go to
// partition 0, so that GROUP BY's one NULL group stays in one place.
std::string PartitionKeyOf(std::string_view line, const std::string& key) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(line);
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc) != simdjson::SUCCESS) return "";
  simdjson::ondemand::object object;
  if (doc.get_object().get(object) != simdjson::SUCCESS) return "";
  for (auto field : object) {
    std::string_view name;
    if (field.unescaped_key().get(name) != simdjson::SUCCESS) return "";
    if (!EqualsIgnoreCase(name, key)) continue;
    simdjson::ondemand::value value = field.value();
    simdjson::ondemand::json_type type;
    if (value.type().get(type) == simdjson::SUCCESS &&
        type == simdjson::ondemand::json_type::null) {
      return "";
    }
    std::string_view text;
    if (value.get_string().get(text) == simdjson::SUCCESS) return std::string(text);
    if (field.value().raw_json_token().get(text) == simdjson::SUCCESS) {
      while (!text.empty() && (text.back() == ' ' || text.back() == '\n')) text.remove_suffix(1);
      return std::string(text);
    }
    return "";
  }
  return "";
}
class PartitionedRun {
 public:
  explicit PartitionedRun(LocalRun& run) : run_(run), partitions_(run.settings.partitions) {}

  int Run() {
    if (split_dir_.path().empty()) return Fail("cannot create a temporary directory");
    if (absl::Status s = SplitInputs(); !s.ok()) return Fail(std::string(s.message()));
    run_.env.reject = [this](const RejectedRow& row) { return Reject(row); };
    auto job = StagedJob::Create(run_.plan, partitions_, run_.env);
    if (!job.ok()) return Fail(std::string(job.status().message()));
    job_ = *std::move(job);
    keep_log_ = run_.settings.restart_after > 0;
    for (size_t i = 0; i < run_.inputs.size(); ++i) {
      drivers_.emplace_back(
          std::vector<InputDriver::Feed>{{static_cast<int>(i), run_.inputs[i].decoder.get()}},
          [this, i](const SourceRecord& r, std::string_view reason) {
            const InputBinding& in = run_.inputs[i];
            const int64_t line = OriginalLine(i, current_, r.position);
            return run_.errors->Write(in.alias, in.file->array_mode(), line, reason,
                                      in.file->EventText(line));
          });
    }
    const auto started = std::chrono::steady_clock::now();
    for (int p = 0; p < partitions_; ++p) {
      if (absl::Status s = RunSource(p); !s.ok()) return Fail(std::string(s.message()));
    }
    if (absl::Status s = job_->Finish(); !s.ok()) {
      return Fail(absl::StrCat("internal error: ", s.message()));
    }
    if (absl::Status s = run_.errors->Flush(); !s.ok()) return Fail(std::string(s.message()));
    if (!run_.settings.quiet) {
      Report(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
    return 0;
  }

 private:
  // Writes input i's events for partition p, one per line, to their own
  // file, and remembers each one's original line (element).
  absl::Status SplitInputs() {
    lines_.resize(run_.inputs.size());
    paths_.resize(run_.inputs.size());
    std::vector<SourceRecord> records;
    std::string event;
    for (size_t i = 0; i < run_.inputs.size(); ++i) {
      const std::string& key = run_.plan.inputs(static_cast<int>(i)).partition_key();
      std::vector<std::ofstream> outs;
      lines_[i].resize(partitions_);
      for (int p = 0; p < partitions_; ++p) {
        paths_[i].push_back(absl::StrCat(split_dir_.path(), "/", i, "-", p, ".jsonl"));
        outs.emplace_back(paths_[i].back(), std::ios::binary);
      }
      JsonLinesFile& file = *run_.inputs[i].file;
      while (true) {
        records.clear();
        auto more = file.Read(1024, &records);
        if (!more.ok()) return more.status();
        if (!*more) break;
        for (const SourceRecord& r : records) {
          // An array element may span lines; JSON allows a line break only
          // as white space, so it becomes a space.
          event.assign(r.data);
          std::replace(event.begin(), event.end(), '\n', ' ');
          std::replace(event.begin(), event.end(), '\r', ' ');
          const std::string k = key.empty() ? std::string() : PartitionKeyOf(event, key);
          const int p = k.empty() ? 0 : KafkaPartitionForKey(k, partitions_);
          outs[p] << event << '\n';
          lines_[i][p].push_back(r.position);
        }
      }
      for (int p = 0; p < partitions_; ++p) {
        if (!outs[p].flush()) return absl::UnavailableError("cannot write " + paths_[i][p]);
      }
    }
    return absl::OkStatus();
  }

  // The original line (or element) of line `position` of input i's file
  // for partition `p` (-1: the current one), or -1.
  int64_t OriginalLine(size_t i, int p, int64_t position) const {
    const auto& map = lines_[i][p >= 0 && p < partitions_ ? p : current_];
    return position >= 1 && position <= static_cast<int64_t>(map.size()) ? map[position - 1] : -1;
  }

  absl::Status Reject(const RejectedRow& row) {
    std::string_view input;
    std::string_view data;
    int64_t position = -1;
    bool array_mode = false;
    if (row.origin.input >= 0 && row.origin.input < static_cast<int>(run_.inputs.size())) {
      const InputBinding& in = run_.inputs[row.origin.input];
      input = in.alias;
      array_mode = in.file->array_mode();
      position = OriginalLine(row.origin.input, row.origin.partition, row.origin.position);
      data = in.file->EventText(position);
    }
    return run_.errors->Write(input, array_mode, position, row.reason, data);
  }

  // Opens partition p's split of each input, after `positions` (by input;
  // empty: from the start).
  absl::Status OpenSplit(int p, const std::vector<int64_t>& positions) {
    files_.clear();
    files_.resize(run_.inputs.size());
    for (size_t i = 0; i < run_.inputs.size(); ++i) {
      auto file = JsonLinesFile::Open(paths_[i][p]);
      if (!file.ok()) return file.status();
      files_[i] = *std::move(file);
      if (run_.inputs[i].by_arrival && run_.settings.arrival_field.empty()) {
        // The events arrived when the original file was last written.
        files_[i]->SetEstimatedArrival(run_.inputs[i].file->modified_time_ticks());
      }
      if (i < positions.size() && positions[i] > 0) files_[i]->SkipTo(positions[i]);
    }
    return absl::OkStatus();
  }

  absl::Status Checkpoint(int p) {
    std::vector<int64_t> positions;
    for (const auto& file : files_) positions.push_back(file->position());
    return checkpoints_->Checkpoint(*job_->source_task(p), positions, keep_log_);
  }

  // Proves restore, as a worker taking over partition p with an empty
  // local store: checkpoints, clears the task's state, rebuilds it from the
  // changelog alone, and goes on with new decoders and readers from the
  // checkpointed positions. What the task sent through its exchanges
  // before the checkpoint stays sent (it is in Kafka, for a worker).
  absl::Status Restart(int p) {
    if (absl::Status s = Checkpoint(p); !s.ok()) return s;
    absl::Status restored =
        checkpoints_->RestoreFromLog([&] { return job_->RecreateSource(p, /*fresh_state=*/true); });
    if (!restored.ok()) return restored;
    keep_log_ = false;
    if (absl::Status s = job_->RecreateSource(p, /*fresh_state=*/false); !s.ok()) return s;
    auto positions = LocalCheckpoints::Positions(*job_->source_task(p), run_.inputs.size());
    if (!positions.ok()) return positions.status();
    for (size_t i = 0; i < run_.inputs.size(); ++i) {
      run_.inputs[i].decoder = std::make_unique<JsonDecoder>(JsonDecoderOptionsFor(
          run_.plan.inputs(static_cast<int>(i)), run_.settings.arrival_field));
      drivers_[i].set_decoder(0, run_.inputs[i].decoder.get());
    }
    return OpenSplit(p, *positions);
  }

  // Feeds partition p's events to its stage-0 task, checkpointing and
  // restarting as the settings ask, then ends its input.
  absl::Status RunSource(int p) {
    const RunSettings& settings = run_.settings;
    current_ = p;
    checkpoints_ = std::make_unique<LocalCheckpoints>(run_, static_cast<uint32_t>(p), &changelog_);
    if (absl::Status s = OpenSplit(p, {}); !s.ok()) return s;
    std::vector<bool> done(run_.inputs.size(), false);
    for (InputDriver& driver : drivers_) driver.set_partition(p);
    int64_t since_checkpoint = 0;
    bool any = true;
    while (any) {
      any = false;
      for (size_t i = 0; i < run_.inputs.size(); ++i) {
        if (done[i]) continue;
        const int64_t before = drivers_[i].decoded();
        auto more = drivers_[i].PumpOnce(*files_[i], *job_->source_task(p), settings.batch_size);
        if (!more.ok()) return more.status();
        done[i] = !*more;
        any = any || *more;
        const int64_t decoded = drivers_[i].decoded() - before;
        total_ += decoded;
        since_checkpoint += decoded;
        if (settings.restart_after > 0 && !restarted_ && total_ >= settings.restart_after) {
          restarted_ = true;
          if (absl::Status s = Restart(p); !s.ok()) return s;
          since_checkpoint = 0;
        } else if (settings.checkpoint_every > 0 && since_checkpoint >= settings.checkpoint_every) {
          if (absl::Status s = Checkpoint(p); !s.ok()) return s;
          since_checkpoint = 0;
        }
      }
    }
    if (absl::Status s = job_->EndSource(p); !s.ok()) {
      return absl::InternalError(absl::StrCat("internal error: ", s.message()));
    }
    return absl::OkStatus();
  }

  void Report(double seconds) const {
    const int64_t total = total_;
    const int stages = std::max(run_.plan.stages(), 1);
    std::fprintf(stderr,
                 "sluice run: %lld events in %.3f s over %d partitions, %d stage%s (%lld rows "
                 "crossed exchanges); wrote %s\n",
                 static_cast<long long>(total), seconds, partitions_, stages, stages > 1 ? "s" : "",
                 static_cast<long long>(job_->exchanged_rows()), OutputsSummary(run_).c_str());
    ReportRejects(run_);
  }

  LocalRun& run_;
  const int partitions_;
  TempDir split_dir_;
  // lines_[i][p][k]: the original line (element, for a JSON array) of the
  // k-th event (1-based) of input i in partition p.
  std::vector<std::vector<std::vector<int64_t>>> lines_;
  std::vector<std::vector<std::string>> paths_;  // [input][partition]
  int current_ = 0;                              // the partition being read
  std::unique_ptr<StagedJob> job_;
  std::vector<InputDriver> drivers_;
  // The partition being read: its split files and checkpoints.
  std::vector<std::unique_ptr<JsonLinesFile>> files_;
  InMemoryChangelog changelog_;
  std::unique_ptr<LocalCheckpoints> checkpoints_;
  // Only the restart reads the changelog: kept until then.
  bool keep_log_ = false;
  bool restarted_ = false;
  int64_t total_ = 0;  // events decoded
};

}  // namespace

int RunPartitioned(LocalRun& run) { return PartitionedRun(run).Run(); }

}  // namespace sluice::local_run

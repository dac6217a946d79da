// The "file" and "stdout" output kinds: one output every task of the job
// writes (SharedSink), serialized, with a replay's copies dropped by row
// identity; each task holds a SharedSinkRef that names its rows.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "connectors/file_sink.h"
#include "connectors/kafka_producer.h"
#include "engine/app/worker/outputs.h"

namespace sluice {
namespace {

// An output several tasks write (a file, standard output): serialized, and
// rows a replay produced again (an identity already written; see
// RowIdentifier) are dropped. A file remembers the identities it holds in
// "<file>.ids", one per line, so that a restarted worker still knows them;
// the rows are written before their identities, so a crash between the two
// can repeat a row but never lose one.
class SharedSink {
 public:
  static constexpr size_t kRemembered = 1'000'000;

  static absl::StatusOr<std::unique_ptr<SharedSink>> Create(std::unique_ptr<JsonLinesSink> sink,
                                                            const std::string& ids_path) {
    std::unique_ptr<SharedSink> shared(new SharedSink(std::move(sink)));
    if (ids_path.empty()) return shared;
    {
      std::ifstream in(ids_path);
      std::string line;
      while (std::getline(in, line)) shared->Remember(line);
    }
    shared->ids_ = std::fopen(ids_path.c_str(), "ab");
    if (shared->ids_ == nullptr) {
      return absl::UnavailableError(
          absl::StrCat("cannot open ", ids_path, ": ", std::strerror(errno)));
    }
    return shared;
  }
  ~SharedSink() {
    Flush().IgnoreError();
    if (ids_ != nullptr) std::fclose(ids_);
  }

  absl::Status Write(const std::vector<OutputRow>& rows, const std::vector<std::string>& ids) {
    absl::MutexLock lock(&mu_);
    kept_.clear();
    for (size_t i = 0; i < rows.size(); ++i) {
      if (!Remember(ids[i])) continue;
      kept_.push_back(rows[i]);
      if (ids_ != nullptr) absl::StrAppend(&pending_ids_, ids[i], "\n");
    }
    return sink_->Write(kept_);
  }
  absl::Status Flush() {
    absl::MutexLock lock(&mu_);
    if (absl::Status s = sink_->Flush(); !s.ok()) return s;
    if (ids_ == nullptr || pending_ids_.empty()) return absl::OkStatus();
    if (std::fwrite(pending_ids_.data(), 1, pending_ids_.size(), ids_) != pending_ids_.size() ||
        std::fflush(ids_) != 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot write the row identities: ", std::strerror(errno)));
    }
    pending_ids_.clear();
    return absl::OkStatus();
  }

 private:
  explicit SharedSink(std::unique_ptr<JsonLinesSink> sink) : sink_(std::move(sink)) {}
  // False when `id` was seen already.
  bool Remember(const std::string& id) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    if (!seen_.insert(id).second) return false;
    order_.push_back(id);
    if (order_.size() > kRemembered) {
      seen_.erase(order_.front());
      order_.pop_front();
    }
    return true;
  }

  absl::Mutex mu_;
  std::unique_ptr<JsonLinesSink> sink_ ABSL_GUARDED_BY(mu_);
  std::FILE* ids_ = nullptr;
  std::string pending_ids_ ABSL_GUARDED_BY(mu_);
  std::vector<OutputRow> kept_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> seen_;
  std::deque<std::string> order_;
};

// A task's handle on a shared output: names its rows.
class SharedSinkRef final : public Sink {
 public:
  SharedSinkRef(SharedSink* shared, std::string identity, std::string source)
      : shared_(shared), identifier_(std::move(identity), std::move(source)) {}
  absl::Status Write(const std::vector<OutputRow>& rows) override {
    identifier_.Reset();
    ids_.clear();
    for (const OutputRow& row : rows) ids_.push_back(identifier_.Next(row));
    return shared_->Write(rows, ids_);
  }
  absl::Status Flush() override { return shared_->Flush(); }

 private:
  SharedSink* shared_;
  RowIdentifier identifier_;
  std::vector<std::string> ids_;
};

// The job's end: the shared sink; each task gets a reference.
class SharedOutput final : public JobOutput {
 public:
  explicit SharedOutput(std::unique_ptr<SharedSink> shared) : shared_(std::move(shared)) {}
  absl::StatusOr<std::unique_ptr<Sink>> OpenForTask(const SinkTask& task) override {
    return std::make_unique<SharedSinkRef>(shared_.get(), task.identity, task.source);
  }

 private:
  std::unique_ptr<SharedSink> shared_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<JobOutput>> OpenFileOutput(const SinkTarget& target) {
  auto sink = JsonLinesSink::Create(target.address, /*append=*/true);
  if (!sink.ok()) return sink.status();
  auto shared = SharedSink::Create(*std::move(sink), target.address + ".ids");
  if (!shared.ok()) return shared.status();
  return std::make_unique<SharedOutput>(*std::move(shared));
}

absl::StatusOr<std::unique_ptr<JobOutput>> OpenStdoutOutput(const SinkTarget& target) {
  auto shared = SharedSink::Create(
      JsonLinesSink::Stdout(absl::StrCat(target.job, " | ", target.output, " | ")), "");
  if (!shared.ok()) return shared.status();
  return std::make_unique<SharedOutput>(*std::move(shared));
}

}  // namespace sluice

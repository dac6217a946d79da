// Reference data from files: the tables a job joins its streams with
// (engine/exec/reference_data.h), read once and shared by every task.
//
// A reference input is bound to a path. The file is JSON lines or one JSON
// array of objects, or CSV with a header row when its name ends in .csv
// (every CSV value is a string, an empty one NULL; CAST to compare as
// numbers where the type matters). A path holding {date} and {time} is a
// pattern, as ASA's dynamic reference data: every file matching it is a
// version, valid from the time its path names ({date}: YYYY/MM/DD or
// YYYY-MM-DD; {time}: HH, HH-mm or HH/mm; UTC), so an event joins the table
// that was current at its time.
//
// Rows that cannot be read (bad JSON, a CSV row with the wrong number of
// values) are counted and described in the load report, never a crash; a
// file that cannot be read at all, or a pattern that matches nothing, is an
// error.
#ifndef SLUICE_CONNECTORS_REFERENCE_FILE_H_
#define SLUICE_CONNECTORS_REFERENCE_FILE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "engine/exec/reference_data.h"
#include "proto/plan.pb.h"

namespace sluice {

struct ReferenceLoadReport {
  int64_t files = 0;
  int64_t rows = 0;
  int64_t bad_rows = 0;
  std::vector<std::string> problems;  // the first few, "FILE:LINE: reason"
};

// Every version `path` names for plan input `input` (decoded into its
// fields), ordered by the time they are valid from.
absl::StatusOr<ReferenceVersions> LoadReference(const v1::Input& input, const std::string& path,
                                                ReferenceLoadReport* report);

// Versions by plan input, replaceable while tasks read them.
class StaticReferenceProvider final : public ReferenceProvider {
 public:
  void Set(int input, ReferenceVersions versions);
  std::shared_ptr<const ReferenceVersions> Versions(int input) const override;

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<int, std::shared_ptr<const ReferenceVersions>> by_input_ ABSL_GUARDED_BY(mu_);
};

// Reference files read again on a period (ASA's refreshInterval), for jobs
// that run for long: a worker's. A plain file whose content changed becomes
// a new version, valid from the time of the read that found it (the wall
// clock: when the change reached the job), so events before it keep the old
// rows; a {date}/{time} pattern is listed again, and new folders are new
// versions at the times they name. A read that fails (the file is being
// replaced, bad rows) keeps the table as it was and is reported, never a
// crash. A plain file keeps at most kMaxVersions versions (the oldest kept
// one then stands for all earlier time); a pattern keeps every folder.
class RefreshingReferenceFiles final : public ReferenceProvider {
 public:
  struct Binding {
    int input = 0;   // plan input index
    v1::Input spec;  // its fields
    std::string path;
    int64_t refresh_ms = 0;  // 0: read once
  };
  using LogFn = std::function<void(const std::string& line)>;
  static constexpr size_t kMaxVersions = 32;

  // Reads every binding once (an error if one cannot be read at all), then,
  // for bindings with a period, reads them again on a thread.
  static absl::StatusOr<std::unique_ptr<RefreshingReferenceFiles>> Start(
      std::vector<Binding> bindings, LogFn log, bool start_thread = true);
  ~RefreshingReferenceFiles() override;

  std::shared_ptr<const ReferenceVersions> Versions(int input) const override;

  // Reads the bindings whose period has passed at `now_ms` (wall clock)
  // again (all of them with `force`); what the thread does.
  void Refresh(int64_t now_ms, bool force = false);

  int64_t rows() const;
  int64_t bad_rows() const;

 private:
  struct Table {
    Binding binding;
    bool pattern = false;
    int64_t last_read_ms = 0;
    int64_t bad_rows = 0;
  };
  explicit RefreshingReferenceFiles(LogFn log) : log_(std::move(log)) {}

  LogFn log_;
  mutable absl::Mutex tables_mu_;  // Refresh runs on the thread
  std::vector<Table> tables_ ABSL_GUARDED_BY(tables_mu_);
  StaticReferenceProvider current_;
  std::atomic<bool> stop_{false};
  absl::Mutex stop_mu_;
  std::thread thread_;
};

}  // namespace sluice

#endif  // SLUICE_CONNECTORS_REFERENCE_FILE_H_

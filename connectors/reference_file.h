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

#include <cstdint>
#include <memory>
#include <string>
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

}  // namespace sluice

#endif  // SLUICE_CONNECTORS_REFERENCE_FILE_H_

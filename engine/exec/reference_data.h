// Reference data: the tables a job joins its streams with (per-device
// thresholds, device metadata), loaded by the runtime and shared, read-only,
// by every task of a process.
//
// A reference input has versions, each valid from a point in event time on
// (a file read once is one version valid from the beginning of time; a path
// pattern with {date}/{time} gives a version per folder, valid from the time
// in its path, as ASA's dynamic reference data). A stream row joins the
// latest version valid at its timestamp, so a replay joins the same rows as
// the first run. Rows are decoded into the plan input's columns, like a
// stream's events.
#ifndef SLUICE_ENGINE_EXEC_REFERENCE_DATA_H_
#define SLUICE_ENGINE_EXEC_REFERENCE_DATA_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "engine/core/batch.h"

namespace sluice {

// One loaded version of a reference input.
class ReferenceVersion {
 public:
  // Rows by encoded join key (value_codec.h encodings of the key columns,
  // one after another); rows with a NULL key are left out.
  using Index = absl::flat_hash_map<std::string, std::vector<uint32_t>>;

  ReferenceVersion(int64_t valid_from, std::string id, Batch rows)
      : valid_from_(valid_from), id_(std::move(id)), rows_(std::move(rows)) {}

  int64_t valid_from() const { return valid_from_; }
  // Names the content (a hash of the bytes read): what a checkpoint records.
  const std::string& id() const { return id_; }
  const Batch& rows() const { return rows_; }

  // The index by `key_columns`, built on first use and shared by every
  // task that joins on the same columns. Thread-safe.
  const Index& IndexBy(const std::vector<int32_t>& key_columns) const;

  // Bytes the rows and their indexes take (an estimate).
  size_t MemoryBytes() const;

 private:
  const int64_t valid_from_;
  const std::string id_;
  const Batch rows_;
  mutable absl::Mutex mu_;
  mutable absl::flat_hash_map<std::string, std::unique_ptr<Index>> indexes_ ABSL_GUARDED_BY(mu_);
};

// The versions of one reference input, ordered by valid_from.
using ReferenceVersions = std::vector<std::shared_ptr<const ReferenceVersion>>;

// The version valid at `timestamp`: the last one whose valid_from is at or
// before it; null before the first.
const ReferenceVersion* VersionAt(const ReferenceVersions& versions, int64_t timestamp);

// `versions` with `next` appended (its valid_from must be after the last
// one's), keeping at most `max_versions`: when older ones are dropped, the
// oldest kept one stands for all earlier time (valid from the beginning of
// time).
ReferenceVersions AppendVersion(const ReferenceVersions& versions,
                                std::shared_ptr<const ReferenceVersion> next, size_t max_versions);

// FNV-1a over `bytes`, continuing from `seed` (a content id's hash).
uint64_t ContentHash(std::string_view bytes, uint64_t seed = 1469598103934665603ULL);

// What the runtime hands tasks: the current versions of every reference
// input, by plan input index. A refresh replaces the list; tasks take it
// again at their next batch.
class ReferenceProvider {
 public:
  virtual ~ReferenceProvider() = default;
  virtual std::shared_ptr<const ReferenceVersions> Versions(int input) const = 0;
};

}  // namespace sluice

#endif  // SLUICE_ENGINE_EXEC_REFERENCE_DATA_H_

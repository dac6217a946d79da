// Batch: the columnar micro-batch that flows along every edge of a task's
// operator DAG.
//
// A batch holds a few hundred to a few thousand rows as columns of Values,
// one event time per row (System.Timestamp() at this stage), and an optional
// selection of active rows: a filter narrows the selection instead of copying
// rows, and a projection shares the columns it does not compute. All parts
// are immutable once built and shared through shared_ptr, so passing a batch
// to several consumers (a step feeding two statements) is cheap.
//
// Strings, records and arrays referenced by the columns live in the batch's
// arenas; the batch keeps them alive.
#ifndef SLUICE_ENGINE_CORE_BATCH_H_
#define SLUICE_ENGINE_CORE_BATCH_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "engine/core/arena.h"
#include "engine/core/value.h"

namespace sluice {

using ValueVector = std::vector<Value>;
using ColumnPtr = std::shared_ptr<const ValueVector>;

// Where a row came from: the job input, the partition of it, and the
// position there (a 1-based line number for files, an offset for Kafka
// partitions). Used to report rejected events; it crosses exchanges, so a
// row rejected in a later stage still names its source.
struct RowOrigin {
  int32_t input = -1;
  int32_t partition = -1;  // -1: the partition of the task that reports it
  int64_t position = -1;
};

// The other events of a joined row, in the order of the join's sides after
// the first (whose event is the row's origin); position -1 for a side that
// matched nothing (LEFT).
using JoinedOrigins = absl::InlinedVector<RowOrigin, 1>;

// An explicit list of physical row indexes to work on.
struct RowSet {
  const uint32_t* rows = nullptr;
  uint32_t count = 0;

  uint32_t operator[](uint32_t i) const { return rows[i]; }
  const uint32_t* begin() const { return rows; }
  const uint32_t* end() const { return rows + count; }
};

// Rows 0..n-1 as a RowSet, backed by a shared read-only table.
RowSet AllRows(uint32_t n);

struct Batch {
  uint32_t num_rows = 0;  // physical rows in every column
  std::vector<ColumnPtr> columns;
  // Event time per physical row, in ticks.
  std::shared_ptr<const std::vector<int64_t>> timestamps;
  // Active rows in ascending order; null means all physical rows.
  std::shared_ptr<const std::vector<uint32_t>> selection;
  // Optional: origin per physical row (set by sources, kept by filters and
  // projections, dropped by aggregations).
  std::shared_ptr<const std::vector<RowOrigin>> origins;
  // Optional, for rows of stream joins: the other events' origins (origins
  // holds the first side's). With origins it names the row the same way in
  // every replay.
  std::shared_ptr<const std::vector<JoinedOrigins>> paired;
  // Optional, for rows derived from several events (aggregates): the oldest
  // input position each row depends on. Rows straight from a source use
  // their origin's position instead (see LowPosition).
  std::shared_ptr<const std::vector<int64_t>> low_positions;
  // Optional: arrival time per physical row (set by sources that know it).
  std::shared_ptr<const std::vector<int64_t>> arrival_times;
  // True when arrival_times are a stand-in (a file's modification time):
  // good as the timestamp of inputs read without TIMESTAMP BY, but not for
  // judging lateness.
  bool estimated_arrival = false;
  std::vector<std::shared_ptr<const Arena>> arenas;

  uint32_t num_active() const {
    return selection ? static_cast<uint32_t>(selection->size()) : num_rows;
  }
  RowSet active_rows() const {
    if (selection) {
      return RowSet{selection->data(), static_cast<uint32_t>(selection->size())};
    }
    return AllRows(num_rows);
  }
  const Value& value(size_t column, uint32_t row) const { return (*columns[column])[row]; }
  int64_t timestamp(uint32_t row) const { return (*timestamps)[row]; }
  const RowOrigin* origin(uint32_t row) const { return origins ? &(*origins)[row] : nullptr; }
  const JoinedOrigins* paired_origins(uint32_t row) const {
    return paired ? &(*paired)[row] : nullptr;
  }
  // The oldest input position the row depends on, or -1 when unknown.
  int64_t LowPosition(uint32_t row) const {
    if (low_positions) return (*low_positions)[row];
    return origins ? (*origins)[row].position : -1;
  }
};

// Builds a batch row by row into fresh columns and one arena; used by
// sources and by operators that produce new rows (aggregations, reorder
// buffers).
class BatchBuilder {
 public:
  explicit BatchBuilder(size_t num_columns, uint32_t expected_rows = 0);

  Arena* arena() { return arena_.get(); }
  // Appends a row: set its values with Set() afterwards.
  uint32_t AddRow(int64_t timestamp);
  void Set(size_t column, uint32_t row, const Value& v) { columns_[column][row] = v; }
  void SetOrigin(uint32_t row, RowOrigin origin);
  void SetPaired(uint32_t row, JoinedOrigins others);
  void SetArrivalTime(uint32_t row, int64_t arrival);
  void SetLowPosition(uint32_t row, int64_t position);
  // Keeps another arena alive for values that reference it.
  void AddArena(std::shared_ptr<const Arena> arena);
  uint32_t num_rows() const { return num_rows_; }

  Batch Finish();

 private:
  uint32_t num_rows_ = 0;
  uint32_t expected_rows_ = 0;  // a hint for the per-row vectors' first allocation
  std::vector<ValueVector> columns_;
  std::vector<int64_t> timestamps_;
  std::vector<RowOrigin> origins_;
  std::vector<JoinedOrigins> paired_;
  std::vector<int64_t> arrivals_;
  std::vector<int64_t> low_positions_;
  std::shared_ptr<Arena> arena_;
  std::vector<std::shared_ptr<const Arena>> extra_arenas_;
};

// Copies the active rows of `batch` listed in `rows` into a new compact
// batch (no selection) sharing the source arenas.
Batch GatherRows(const Batch& batch, const std::vector<uint32_t>& rows);

}  // namespace sluice

#endif  // SLUICE_ENGINE_CORE_BATCH_H_

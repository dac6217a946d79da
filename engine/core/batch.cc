#include "engine/core/batch.h"

#include <algorithm>
#include <numeric>

namespace sluice {

RowSet AllRows(uint32_t n) {
  // Grown on demand; each thread keeps its own so tasks never share it.
  thread_local std::vector<uint32_t> iota;
  if (iota.size() < n) {
    size_t old = iota.size();
    iota.resize(std::max<size_t>(n, 1024));
    std::iota(iota.begin() + old, iota.end(), static_cast<uint32_t>(old));
  }
  return RowSet{iota.data(), n};
}

BatchBuilder::BatchBuilder(size_t num_columns, uint32_t expected_rows)
    : expected_rows_(expected_rows), columns_(num_columns), arena_(std::make_shared<Arena>()) {
  for (ValueVector& c : columns_) c.reserve(expected_rows);
  timestamps_.reserve(expected_rows);
}

uint32_t BatchBuilder::AddRow(int64_t timestamp) {
  for (ValueVector& c : columns_) c.emplace_back();
  timestamps_.push_back(timestamp);
  return num_rows_++;
}

void BatchBuilder::SetOrigin(uint32_t row, RowOrigin origin) {
  if (origins_.empty()) origins_.reserve(std::max(expected_rows_, num_rows_));
  if (origins_.size() < num_rows_) origins_.resize(num_rows_);
  origins_[row] = origin;
}

void BatchBuilder::SetPaired(uint32_t row, JoinedOrigins others) {
  if (paired_.empty()) paired_.reserve(std::max(expected_rows_, num_rows_));
  if (paired_.size() < num_rows_) paired_.resize(num_rows_);
  paired_[row] = std::move(others);
}

void BatchBuilder::SetArrivalTime(uint32_t row, int64_t arrival) {
  if (arrivals_.size() < num_rows_) arrivals_.resize(num_rows_, 0);
  arrivals_[row] = arrival;
}

void BatchBuilder::SetLowPosition(uint32_t row, int64_t position) {
  if (low_positions_.size() < num_rows_) low_positions_.resize(num_rows_, -1);
  low_positions_[row] = position;
}

void BatchBuilder::AddArena(std::shared_ptr<const Arena> arena) {
  for (const auto& a : extra_arenas_) {
    if (a == arena) return;
  }
  extra_arenas_.push_back(std::move(arena));
}

Batch BatchBuilder::Finish() {
  Batch b;
  b.num_rows = num_rows_;
  b.columns.reserve(columns_.size());
  for (ValueVector& c : columns_) {
    b.columns.push_back(std::make_shared<const ValueVector>(std::move(c)));
  }
  b.timestamps = std::make_shared<const std::vector<int64_t>>(std::move(timestamps_));
  if (!origins_.empty()) {
    origins_.resize(num_rows_);
    b.origins = std::make_shared<const std::vector<RowOrigin>>(std::move(origins_));
  }
  if (!paired_.empty()) {
    paired_.resize(num_rows_);
    b.paired = std::make_shared<const std::vector<JoinedOrigins>>(std::move(paired_));
  }
  if (!low_positions_.empty()) {
    low_positions_.resize(num_rows_, -1);
    b.low_positions = std::make_shared<const std::vector<int64_t>>(std::move(low_positions_));
  }
  if (!arrivals_.empty()) {
    arrivals_.resize(num_rows_, 0);
    b.arrival_times = std::make_shared<const std::vector<int64_t>>(std::move(arrivals_));
  }
  b.arenas = std::move(extra_arenas_);
  b.arenas.push_back(std::move(arena_));
  // Ready for the next batch, with the same columns.
  const size_t num_columns = columns_.size();
  columns_.clear();
  columns_.resize(num_columns);
  timestamps_.clear();
  origins_.clear();
  paired_.clear();
  arrivals_.clear();
  low_positions_.clear();
  extra_arenas_.clear();
  num_rows_ = 0;
  arena_ = std::make_shared<Arena>();
  return b;
}

Batch GatherRows(const Batch& batch, const std::vector<uint32_t>& rows) {
  Batch out;
  out.num_rows = static_cast<uint32_t>(rows.size());
  out.columns.reserve(batch.columns.size());
  for (const ColumnPtr& column : batch.columns) {
    auto values = std::make_shared<ValueVector>();
    values->reserve(rows.size());
    for (uint32_t r : rows) values->push_back((*column)[r]);
    out.columns.push_back(std::move(values));
  }
  auto ts = std::make_shared<std::vector<int64_t>>();
  ts->reserve(rows.size());
  for (uint32_t r : rows) ts->push_back(batch.timestamp(r));
  out.timestamps = std::move(ts);
  if (batch.origins) {
    auto origins = std::make_shared<std::vector<RowOrigin>>();
    origins->reserve(rows.size());
    for (uint32_t r : rows) origins->push_back((*batch.origins)[r]);
    out.origins = std::move(origins);
  }
  if (batch.paired) {
    auto paired = std::make_shared<std::vector<JoinedOrigins>>();
    paired->reserve(rows.size());
    for (uint32_t r : rows) paired->push_back((*batch.paired)[r]);
    out.paired = std::move(paired);
  }
  if (batch.low_positions) {
    auto low = std::make_shared<std::vector<int64_t>>();
    low->reserve(rows.size());
    for (uint32_t r : rows) low->push_back((*batch.low_positions)[r]);
    out.low_positions = std::move(low);
  }
  if (batch.arrival_times) {
    auto arrivals = std::make_shared<std::vector<int64_t>>();
    arrivals->reserve(rows.size());
    for (uint32_t r : rows) arrivals->push_back((*batch.arrival_times)[r]);
    out.arrival_times = std::move(arrivals);
  }
  out.estimated_arrival = batch.estimated_arrival;
  out.arenas = batch.arenas;
  return out;
}

}  // namespace sluice

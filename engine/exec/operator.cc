#include "engine/exec/operator.h"

#include <algorithm>

#include "engine/core/row_json.h"
#include "engine/expr/expression.h"

namespace sluice {

absl::Status RejectFailedRows(const Batch& batch, const std::vector<RowError>& errors, Emitter& out,
                              std::vector<uint32_t>* failed, const RowJsonWriter* describe) {
  failed->clear();
  if (errors.empty()) return absl::OkStatus();
  std::vector<const RowError*> sorted;
  sorted.reserve(errors.size());
  for (const RowError& e : errors) sorted.push_back(&e);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const RowError* a, const RowError* b) { return a->row < b->row; });
  for (const RowError* e : sorted) {
    if (!failed->empty() && failed->back() == e->row) continue;
    failed->push_back(e->row);
    RejectedRow row;
    if (const RowOrigin* origin = batch.origin(e->row)) {
      row.origin = *origin;
    } else if (describe != nullptr) {
      describe->Append(batch, e->row, &row.data);
    }
    row.reason = e->message;
    if (absl::Status s = out.Reject(std::move(row)); !s.ok()) return s;
  }
  return absl::OkStatus();
}

Batch WithSelection(const Batch& batch, std::vector<uint32_t> rows) {
  Batch b = batch;
  if (rows.size() == batch.num_rows) {
    b.selection.reset();
  } else {
    b.selection = std::make_shared<const std::vector<uint32_t>>(std::move(rows));
  }
  return b;
}

}  // namespace sluice

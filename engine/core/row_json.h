// RowJsonWriter: formats output rows as JSON objects, the way ASA writes
// them to JSON outputs.
//
// Columns appear in schema order. A spliced column (the expansion of `*`)
// writes the fields of its record in its place, leaving out fields whose
// names (case-insensitively) belong to a non-spliced column or were already
// written: the left one wins, as ASA's SELECT documents.
#ifndef SLUICE_ENGINE_CORE_ROW_JSON_H_
#define SLUICE_ENGINE_CORE_ROW_JSON_H_

#include <string>
#include <vector>

#include "engine/core/batch.h"
#include "proto/plan.pb.h"

namespace sluice {

class RowJsonWriter {
 public:
  explicit RowJsonWriter(const v1::Schema& schema);

  void Append(const Batch& batch, uint32_t row, std::string* out) const;

 private:
  struct Column {
    std::string name;
    std::string quoted_name;  // "name": ready to append
    bool splice;
  };
  std::vector<Column> columns_;
  std::vector<std::string> explicit_names_;  // names of non-spliced columns
  bool has_splice_ = false;
};

}  // namespace sluice

#endif  // SLUICE_ENGINE_CORE_ROW_JSON_H_

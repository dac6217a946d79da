#include "engine/core/row_json.h"

#include "engine/core/value.h"

namespace sluice {

RowJsonWriter::RowJsonWriter(const v1::Schema& schema) {
  for (const v1::Column& c : schema.columns()) {
    Column col;
    col.name = c.name();
    col.splice = c.splice();
    AppendJsonString(c.name(), &col.quoted_name);
    col.quoted_name.push_back(':');
    if (c.splice()) {
      has_splice_ = true;
    } else {
      explicit_names_.push_back(c.name());
    }
    columns_.push_back(std::move(col));
  }
}

void RowJsonWriter::Append(const Batch& batch, uint32_t row, std::string* out) const {
  out->push_back('{');
  bool first = true;
  thread_local std::vector<std::string_view> written;  // spliced names
  written.clear();
  for (size_t i = 0; i < columns_.size(); ++i) {
    const Column& col = columns_[i];
    const Value& v = batch.value(i, row);
    if (!col.splice) {
      if (!first) out->push_back(',');
      first = false;
      out->append(col.quoted_name);
      AppendJson(v, out);
      continue;
    }
    if (v.type() != ValueType::kRecord) continue;
    for (uint32_t f = 0; f < v.size(); ++f) {
      const RecordField& field = v.fields()[f];
      bool clash = false;
      for (const std::string& name : explicit_names_) {
        if (EqualsIgnoreCase(name, field.name)) clash = true;
      }
      for (std::string_view name : written) {
        if (EqualsIgnoreCase(name, field.name)) clash = true;
      }
      if (clash) continue;
      written.push_back(field.name);
      if (!first) out->push_back(',');
      first = false;
      AppendJsonString(field.name, out);
      out->push_back(':');
      AppendJson(field.value, out);
    }
  }
  out->push_back('}');
}

}  // namespace sluice

#include "engine/expr/functions/json_value.h"

#include "absl/strings/str_cat.h"
#include "simdjson.h"

namespace sluice {
namespace {

bool ToValue(simdjson::dom::element e, int depth, const JsonLimits& limits, Arena* arena,
             Value* out, std::string* error) {
  if (depth > limits.max_depth) {
    *error = absl::StrCat("JSON nested more than ", limits.max_depth, " levels deep");
    return false;
  }
  switch (e.type()) {
    case simdjson::dom::element_type::ARRAY: {
      simdjson::dom::array array = e.get_array().value_unsafe();
      const size_t n = array.size();
      if (n > limits.max_items) {
        *error = absl::StrCat("a JSON array may have at most ", limits.max_items, " elements");
        return false;
      }
      Value* items = arena->AllocateArray<Value>(n);
      size_t i = 0;
      for (simdjson::dom::element item : array) {
        if (!ToValue(item, depth + 1, limits, arena, &items[i++], error)) return false;
      }
      *out = Value::Array(items, static_cast<uint32_t>(n));
      return true;
    }
    case simdjson::dom::element_type::OBJECT: {
      simdjson::dom::object object = e.get_object().value_unsafe();
      const size_t n = object.size();
      if (n > limits.max_items) {
        *error = absl::StrCat("a JSON object may have at most ", limits.max_items, " fields");
        return false;
      }
      RecordField* fields = arena->AllocateArray<RecordField>(n);
      size_t i = 0;
      for (simdjson::dom::key_value_pair field : object) {
        fields[i].name = arena->CopyString(field.key);
        if (!ToValue(field.value, depth + 1, limits, arena, &fields[i].value, error)) {
          return false;
        }
        ++i;
      }
      *out = Value::Record(fields, static_cast<uint32_t>(n));
      return true;
    }
    case simdjson::dom::element_type::INT64:
      *out = Value::Bigint(e.get_int64().value_unsafe());
      return true;
    case simdjson::dom::element_type::UINT64:
      *out = Value::Float(static_cast<double>(e.get_uint64().value_unsafe()));
      return true;
    case simdjson::dom::element_type::DOUBLE:
      *out = Value::Float(e.get_double().value_unsafe());
      return true;
    case simdjson::dom::element_type::STRING:
      *out = Value::String(arena->CopyString(e.get_string().value_unsafe()));
      return true;
    case simdjson::dom::element_type::BOOL:
      *out = Value::Bit(e.get_bool().value_unsafe());
      return true;
    case simdjson::dom::element_type::NULL_VALUE:
      *out = Value::Null();
      return true;
  }
  *out = Value::Null();
  return true;
}

}  // namespace

bool ParseJsonValue(std::string_view text, const JsonLimits& limits, Arena* arena, Value* out,
                    std::string* error) {
  if (text.size() > limits.max_bytes) {
    *error = absl::StrCat("JSON text may have at most ", limits.max_bytes, " bytes");
    return false;
  }
  thread_local simdjson::dom::parser parser;
  simdjson::padded_string padded(text.data(), text.size());
  simdjson::dom::element root;
  if (parser.parse(padded).get(root) != simdjson::SUCCESS) {
    *error = "malformed JSON";
    return false;
  }
  return ToValue(root, 0, limits, arena, out, error);
}

}  // namespace sluice

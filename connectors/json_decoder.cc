#include "connectors/json_decoder.h"

#include "absl/strings/str_cat.h"
#include "engine/core/datetime.h"
#include "engine/core/value.h"
#include "simdjson.h"

namespace sluice {
namespace {

namespace od = simdjson::ondemand;

constexpr int kMaxDepth = 64;

std::string JsonError(simdjson::error_code code) {
  return absl::StrCat("invalid JSON: ", simdjson::error_message(code));
}

bool Convert(od::value value, Arena* arena, Value* out, std::string* error, int depth);

bool ConvertObject(od::object object, Arena* arena, Value* out, std::string* error, int depth) {
  std::vector<RecordField> fields;
  for (auto field_result : object) {
    od::field field;
    if (auto code = std::move(field_result).get(field); code) {
      *error = JsonError(code);
      return false;
    }
    std::string_view key;
    if (auto code = field.unescaped_key().get(key); code) {
      *error = JsonError(code);
      return false;
    }
    RecordField f;
    f.name = arena->CopyString(key);
    if (!Convert(field.value(), arena, &f.value, error, depth + 1)) return false;
    fields.push_back(f);
  }
  RecordField* stored = arena->AllocateArray<RecordField>(fields.size());
  std::copy(fields.begin(), fields.end(), stored);
  *out = Value::Record(stored, static_cast<uint32_t>(fields.size()));
  return true;
}

bool Convert(od::value value, Arena* arena, Value* out, std::string* error, int depth) {
  if (depth > kMaxDepth) {
    *error = absl::StrCat("JSON nesting deeper than ", kMaxDepth, " levels");
    return false;
  }
  od::json_type type;
  if (auto code = value.type().get(type); code) {
    *error = JsonError(code);
    return false;
  }
  switch (type) {
    case od::json_type::number: {
      const std::string_view raw = value.raw_json_token();
      od::number number;
      if (auto code = value.get_number().get(number); code) {
        // A well-formed integer too large for 64 bits is a range problem,
        // not bad JSON.
        std::string_view digits = raw.substr(0, raw.find_first_of(" \t\r\n,}]"));
        const bool integer =
            digits.size() > (digits.front() == '-' ? 1u : 0u) &&
            digits.find_first_not_of("0123456789", digits.front() == '-' ? 1 : 0) ==
                std::string_view::npos;
        *error = integer ? absl::StrCat("integer out of the bigint range: ", std::string(digits))
                         : JsonError(code);
        return false;
      }
      switch (number.get_number_type()) {
        case od::number_type::signed_integer:
          *out = Value::Bigint(number.get_int64());
          return true;
        case od::number_type::unsigned_integer:
          *error = absl::StrCat("integer out of the bigint range: ", number.get_uint64());
          return false;
        case od::number_type::floating_point_number:
          *out = Value::Float(number.get_double());
          return true;
      }
      *error = "unknown JSON number type";
      return false;
    }
    case od::json_type::string: {
      std::string_view s;
      if (auto code = value.get_string().get(s); code) {
        *error = JsonError(code);
        return false;
      }
      *out = Value::String(arena->CopyString(s));
      return true;
    }
    case od::json_type::boolean: {
      bool b;
      if (auto code = value.get_bool().get(b); code) {
        *error = JsonError(code);
        return false;
      }
      *out = Value::Bit(b);
      return true;
    }
    case od::json_type::null: {
      bool is_null = false;
      if (auto code = value.is_null().get(is_null); code || !is_null) {
        *error = JsonError(code ? code : simdjson::N_ATOM_ERROR);
        return false;
      }
      *out = Value::Null();
      return true;
    }
    case od::json_type::object: {
      od::object object;
      if (auto code = value.get_object().get(object); code) {
        *error = JsonError(code);
        return false;
      }
      return ConvertObject(object, arena, out, error, depth);
    }
    case od::json_type::array: {
      od::array array;
      if (auto code = value.get_array().get(array); code) {
        *error = JsonError(code);
        return false;
      }
      std::vector<Value> items;
      for (auto item_result : array) {
        od::value item;
        if (auto code = std::move(item_result).get(item); code) {
          *error = JsonError(code);
          return false;
        }
        Value v;
        if (!Convert(item, arena, &v, error, depth + 1)) return false;
        items.push_back(v);
      }
      Value* stored = arena->AllocateArray<Value>(items.size());
      std::copy(items.begin(), items.end(), stored);
      *out = Value::Array(stored, static_cast<uint32_t>(items.size()));
      return true;
    }
  }
  *error = "unknown JSON value type";
  return false;
}

}  // namespace

struct JsonDecoder::Impl {
  // What the key at some position of the last events mapped to. Events of a
  // stream nearly always list their fields in the same order, so a byte
  // comparison with the key seen last time at that position usually replaces
  // the case-insensitive search over the wanted fields.
  struct KeySlot {
    std::string key;
    int column = -1;
    bool is_arrival = false;
  };

  // The column (or -1) and whether `key` is the arrival field.
  void Match(std::string_view key, size_t position, int* column, bool* is_arrival) {
    if (position < slots.size() && slots[position].key == key) {
      *column = slots[position].column;
      *is_arrival = slots[position].is_arrival;
      return;
    }
    *column = -1;
    for (size_t i = 0; i < options.fields.size(); ++i) {
      if (EqualsIgnoreCase(key, options.fields[i])) {
        *column = static_cast<int>(i);
        break;
      }
    }
    *is_arrival =
        !options.arrival_time_field.empty() && EqualsIgnoreCase(key, options.arrival_time_field);
    if (position < kMaxSlots) {
      if (slots.size() <= position) slots.resize(position + 1);
      slots[position] = KeySlot{std::string(key), *column, *is_arrival};
    }
  }

  static constexpr size_t kMaxSlots = 64;
  JsonDecoderOptions options;
  od::parser parser;
  std::vector<Value> row;
  std::vector<bool> found;
  std::vector<RecordField> record;
  std::vector<KeySlot> slots;
};

JsonDecoderOptions JsonDecoderOptionsFor(const v1::Input& input, std::string arrival_time_field) {
  JsonDecoderOptions options;
  options.fields.assign(input.fields().begin(), input.fields().end());
  options.needs_record = input.needs_record();
  options.arrival_time_field = std::move(arrival_time_field);
  return options;
}

bool JsonDecoder::sets_arrival() const { return !impl_->options.arrival_time_field.empty(); }

void JsonDecoder::DecodeAll(std::span<const SourceRecord> records, BatchBuilder& builder,
                            std::vector<std::pair<uint32_t, std::string>>* failed) {
  std::string error;
  for (size_t i = 0; i < records.size(); ++i) {
    if (!Decode(records[i].data, records[i].readable_after, 0, builder, &error)) {
      failed->emplace_back(static_cast<uint32_t>(i), std::move(error));
      error.clear();
    }
  }
}

JsonDecoder::JsonDecoder(JsonDecoderOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
}

JsonDecoder::~JsonDecoder() = default;

size_t JsonDecoder::num_columns() const {
  return impl_->options.fields.size() + (impl_->options.needs_record ? 1 : 0);
}

bool JsonDecoder::Decode(std::string_view json, size_t readable_after, int64_t timestamp,
                         BatchBuilder& builder, std::string* error) {
  if (DecodeOnce(json, readable_after, timestamp, builder, error)) return true;
  // A complete object followed by something else reads to simdjson as an
  // object that never ended; say what is wrong instead.
  const size_t close = json.rfind('}');
  if (close != std::string_view::npos &&
      json.find_first_not_of(" \t\r\n", close + 1) != std::string_view::npos) {
    simdjson::dom::parser validator;
    simdjson::dom::element element;
    if (validator.parse(json.data(), close + 1).get(element) == simdjson::SUCCESS &&
        element.is_object()) {
      *error = "invalid JSON: unexpected content after the event object";
    }
  }
  return false;
}

bool JsonDecoder::DecodeOnce(std::string_view json, size_t readable_after, int64_t timestamp,
                             BatchBuilder& builder, std::string* error) {
  Impl& d = *impl_;
  const size_t num_fields = d.options.fields.size();
  d.row.assign(num_columns(), Value::Null());
  d.found.assign(num_fields, false);
  d.record.clear();
  Arena* arena = builder.arena();
  const bool has_arrival_field = !d.options.arrival_time_field.empty();
  bool arrival_found = false;
  int64_t arrival = 0;

  simdjson::padded_string_view view(json.data(), json.size(), json.size() + readable_after);
  od::document doc;
  if (auto code = d.parser.iterate(view).get(doc); code) {
    *error = JsonError(code);
    return false;
  }
  od::object object;
  if (auto code = doc.get_object().get(object); code) {
    *error = code == simdjson::INCORRECT_TYPE ? std::string("event is not a JSON object")
                                              : JsonError(code);
    return false;
  }
  size_t position = 0;
  for (auto field_result : object) {
    od::field field;
    if (auto code = std::move(field_result).get(field); code) {
      *error = JsonError(code);
      return false;
    }
    std::string_view key;
    if (auto code = field.unescaped_key().get(key); code) {
      *error = JsonError(code);
      return false;
    }
    int column;
    bool is_arrival;
    d.Match(key, position++, &column, &is_arrival);
    if (column >= 0 && d.found[column]) column = -1;  // the first of duplicate keys wins
    is_arrival = is_arrival && !arrival_found;
    if (column < 0 && !d.options.needs_record && !is_arrival) continue;
    Value v;
    if (!Convert(field.value(), arena, &v, error, 1)) {
      *error = absl::StrCat(*error, " (field '", std::string(key), "')");
      return false;
    }
    if (column >= 0) {
      d.row[column] = v;
      d.found[column] = true;
    }
    if (is_arrival) {
      arrival_found = true;
      std::optional<int64_t> t;
      if (v.type() == ValueType::kString) t = ParseDatetime(v.string());
      if (!t) {
        *error = absl::StrCat("arrival time field '", d.options.arrival_time_field,
                              "' is not an ISO 8601 datetime: ", DebugString(v));
        return false;
      }
      arrival = *t;
    }
    if (d.options.needs_record) {
      d.record.push_back(RecordField{arena->CopyString(key), v});
    }
  }
  // After the object, the document must be over.
  const char* trailing = nullptr;
  if (doc.current_location().get(trailing) == simdjson::SUCCESS) {
    *error = "invalid JSON: unexpected content after the event object";
    return false;
  }
  if (has_arrival_field && !arrival_found) {
    *error = absl::StrCat("arrival time field '", d.options.arrival_time_field, "' is missing");
    return false;
  }
  if (d.options.needs_record) {
    RecordField* stored = arena->AllocateArray<RecordField>(d.record.size());
    std::copy(d.record.begin(), d.record.end(), stored);
    d.row[num_fields] = Value::Record(stored, static_cast<uint32_t>(d.record.size()));
  }
  const uint32_t row = builder.AddRow(timestamp);
  for (size_t c = 0; c < d.row.size(); ++c) builder.Set(c, row, d.row[c]);
  if (has_arrival_field) builder.SetArrivalTime(row, arrival);
  return true;
}

}  // namespace sluice

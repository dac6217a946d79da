// Record, array and type functions of the ASA dialect.
//
// - GetType(x): the type name as TypeName() spells it ('bigint', 'float',
//   'nvarchar(max)', 'datetime', 'bit', 'record', 'array'). The docs do not
//   say what GetType(NULL) gives; it returns NULL, like the other scalar
//   functions, so `GetType(x) = 'bigint'` is simply not true for a NULL x.
// - GetRecordPropertyValue(record, name): the property's value, NULL when the
//   record has no such property. Names match as in dot notation (exact first,
//   then ASCII case-insensitively; see Value::Field).
// - GetArrayElement(array, index): 0-based (documented); NULL when the index
//   is out of range. A float index is truncated toward zero.
// - GetArrayLength(array).
// A NULL argument gives NULL; an argument of the wrong type fails the row.
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "engine/core/conversion.h"
#include "engine/core/value.h"
#include "engine/expr/functions/json_value.h"
#include "engine/expr/scalar_function.h"

namespace sluice {
namespace {

Value WrongType(const char* fn, const char* expected, const Value& v, CallContext& ctx) {
  return ctx.Fail(absl::StrCat(fn, " expects ", expected, ": ", ShortDebugString(v)));
}

Value GetType(const Value* args, int, CallContext&) {
  if (args[0].is_null()) return Value::Null();
  // TypeName returns views of string literals, which outlive any arena.
  return Value::String(TypeName(args[0].type()));
}

Value GetRecordPropertyValue(const Value* args, int, CallContext& ctx) {
  const Value& record = args[0];
  const Value& name = args[1];
  if (!record.is_null() && record.type() != ValueType::kRecord) {
    return WrongType("GetRecordPropertyValue", "a record", record, ctx);
  }
  if (!name.is_null() && name.type() != ValueType::kString) {
    return WrongType("GetRecordPropertyValue", "a property name string", name, ctx);
  }
  if (record.is_null() || name.is_null()) return Value::Null();
  return record.Field(name.string());
}

Value GetArrayElement(const Value* args, int, CallContext& ctx) {
  const Value& array = args[0];
  const Value& index = args[1];
  if (!array.is_null() && array.type() != ValueType::kArray) {
    return WrongType("GetArrayElement", "an array", array, ctx);
  }
  int64_t i = 0;
  if (index.type() == ValueType::kBigint) {
    i = index.bigint();
  } else if (index.type() == ValueType::kFloat && std::fabs(index.float_value()) < 9e18) {
    i = static_cast<int64_t>(std::trunc(index.float_value()));
  } else if (!index.is_null()) {
    return WrongType("GetArrayElement", "a bigint index", index, ctx);
  }
  if (array.is_null() || index.is_null()) return Value::Null();
  if (i < 0 || i >= static_cast<int64_t>(array.size())) return Value::Null();
  return array.items()[i];
}

Value GetArrayLength(const Value* args, int, CallContext& ctx) {
  if (args[0].is_null()) return Value::Null();
  if (args[0].type() != ValueType::kArray) {
    return WrongType("GetArrayLength", "an array", args[0], ctx);
  }
  return Value::Bigint(args[0].size());
}

// Internal (the compiler emits them; a query cannot name them): "$array"
// packs its arguments into an array, "$record" builds a record from
// alternating name, value arguments.
Value PackArray(const Value* args, int num_args, CallContext& ctx) {
  Value* items = ctx.arena()->AllocateArray<Value>(static_cast<size_t>(num_args));
  for (int i = 0; i < num_args; ++i) items[i] = args[i];
  return Value::Array(items, static_cast<uint32_t>(num_args));
}

Value PackRecord(const Value* args, int num_args, CallContext& ctx) {
  const int n = num_args / 2;
  RecordField* fields = ctx.arena()->AllocateArray<RecordField>(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    fields[i].name = args[2 * i].string();
    fields[i].value = args[2 * i + 1];
  }
  return Value::Record(fields, static_cast<uint32_t>(n));
}

// JSON_PARSE(text): the record, array or value the JSON text holds; NULL
// when the argument is not text, not JSON, or passes a limit (ASA: "returns
// NULL on failure and never throws").
Value JsonParse(const Value* args, int, CallContext& ctx) {
  if (args[0].type() != ValueType::kString) return Value::Null();
  Value out;
  std::string error;
  if (!ParseJsonValue(args[0].string(), JsonLimits{1 << 20, 64, 100'000}, ctx.arena(), &out,
                      &error)) {
    return Value::Null();
  }
  return out;
}

constexpr ScalarFunction kRecordFunctions[] = {
    {"$array", 1, -1, &PackArray},
    {"$record", 2, -1, &PackRecord},
    {"gettype", 1, 1, &GetType},
    {"getrecordpropertyvalue", 2, 2, &GetRecordPropertyValue},
    {"getarrayelement", 2, 2, &GetArrayElement},
    {"getarraylength", 1, 1, &GetArrayLength},
    {"json_parse", 1, 1, &JsonParse},
};

}  // namespace

std::span<const ScalarFunction> RecordFunctions() { return kRecordFunctions; }

}  // namespace sluice

// Value: one dynamically typed ASA value, as it sits in a batch column.
//
// ASA is schemaless: every value carries its own type and a field may change
// type from one event to the next. A Value is 16 bytes and trivially
// copyable; strings, record fields and array items live in an Arena owned by
// the batch (or operator) the value belongs to, so copying a Value never
// allocates. Values that must outlive their batch (state) are encoded with
// value_codec.h.
#ifndef SLUICE_ENGINE_CORE_VALUE_H_
#define SLUICE_ENGINE_CORE_VALUE_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "engine/core/arena.h"

namespace sluice {

enum class ValueType : uint8_t {
  kNull = 0,
  kBigint,
  kFloat,
  kString,  // nvarchar(max), UTF-8
  kDatetime,
  kBit,
  kRecord,
  kArray,
};

// ASA's name for a type, as GetType() and error messages print it.
const char* TypeName(ValueType type);

struct RecordField;

class Value {
 public:
  constexpr Value() : type_(ValueType::kNull), size_(0), i_(0) {}

  static constexpr Value Null() { return Value(); }
  static Value Bigint(int64_t v) { return Value(ValueType::kBigint, 0, v); }
  static Value Float(double v) {
    Value r(ValueType::kFloat, 0, 0);
    r.f_ = v;
    return r;
  }
  static Value Bit(bool v) { return Value(ValueType::kBit, 0, v ? 1 : 0); }
  static Value Datetime(int64_t ticks) { return Value(ValueType::kDatetime, 0, ticks); }
  // `s` must outlive the value (normally it points into an Arena).
  static Value String(std::string_view s) {
    Value r(ValueType::kString, static_cast<uint32_t>(s.size()), 0);
    r.s_ = s.data();
    return r;
  }
  static Value Record(const RecordField* fields, uint32_t count) {
    Value r(ValueType::kRecord, count, 0);
    r.fields_ = fields;
    return r;
  }
  static Value Array(const Value* items, uint32_t count) {
    Value r(ValueType::kArray, count, 0);
    r.items_ = items;
    return r;
  }

  ValueType type() const { return type_; }
  bool is_null() const { return type_ == ValueType::kNull; }
  bool is_numeric() const { return type_ == ValueType::kBigint || type_ == ValueType::kFloat; }

  int64_t bigint() const { return i_; }
  double float_value() const { return f_; }
  bool bit() const { return i_ != 0; }
  int64_t ticks() const { return i_; }
  std::string_view string() const { return std::string_view(s_, size_); }
  const RecordField* fields() const { return fields_; }
  const Value* items() const { return items_; }
  uint32_t size() const { return size_; }  // string bytes, fields or items

  // Numeric value as double (bigint or float only).
  double AsDouble() const { return type_ == ValueType::kFloat ? f_ : static_cast<double>(i_); }

  // Field of a record by name, case-insensitively; Null if absent or if this
  // is not a record.
  Value Field(std::string_view name) const;

 private:
  constexpr Value(ValueType type, uint32_t size, int64_t i) : type_(type), size_(size), i_(i) {}

  ValueType type_;
  uint32_t size_;
  union {
    int64_t i_;
    double f_;
    const char* s_;
    const RecordField* fields_;
    const Value* items_;
  };
};

static_assert(sizeof(Value) == 16);

struct RecordField {
  std::string_view name;
  Value value;
};

// ASCII case-insensitive equality, as ASA matches field names.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
std::string ToLowerAscii(std::string_view s);

// Deep-copies `v` so that everything it references lives in `arena`.
Value CopyValue(const Value& v, Arena* arena);

// Equality used by GROUP BY, DISTINCT and IN: same type and same content,
// except that bigint and float compare numerically. NULL equals NULL here
// (grouping semantics); SQL `=` handles NULL separately.
bool GroupEquals(const Value& a, const Value& b);

// Three-way comparison for values of comparable types (numbers with numbers,
// strings, datetimes, bits). Returns false in `comparable` otherwise.
int CompareValues(const Value& a, const Value& b, bool* comparable);

// Appends the JSON text of `v` (ASA's output form: datetimes as
// 2015-01-01T00:00:10.0000000Z strings, floats always with a fraction or
// exponent, bits as true/false).
void AppendJson(const Value& v, std::string* out);
void AppendJsonString(std::string_view s, std::string* out);

// Whether `s` is well-formed UTF-8 (no overlong forms, surrogates or code
// points past U+10FFFF).
bool IsValidUtf8(std::string_view s);

// Appends `,"<key>":"<s>"` when `s` is valid UTF-8, else
// `,"<key>Base64":"<base64 of s>"`: raw bytes that someone else wrote (a
// rejected event) are kept losslessly and the line stays valid JSON.
void AppendRawTextField(std::string_view key, std::string_view s, std::string* out);
// The JSON text of a float: shortest round-trip form, with ".0" added when it
// would otherwise read as an integer. Non-finite values print as null.
void AppendJsonFloat(double d, std::string* out);

// A human-readable rendering for messages and explain output (strings are
// quoted, records and arrays as JSON).
std::string DebugString(const Value& v);

}  // namespace sluice

#endif  // SLUICE_ENGINE_CORE_VALUE_H_

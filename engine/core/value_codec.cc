#include "engine/core/value_codec.h"

#include <cstring>

namespace sluice {
namespace {

enum Tag : uint8_t {
  kTagNull = 0,
  kTagBigint = 1,
  kTagFloat = 2,
  kTagString = 3,
  kTagDatetime = 4,
  kTagBit = 5,
  kTagRecord = 6,
  kTagArray = 7,
};

}  // namespace

void EncodeVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

bool DecodeVarint(std::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && !in->empty(); shift += 7) {
    const uint8_t byte = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

void EncodeFixed64(uint64_t v, std::string* out) {
  char buf[8];
  for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>(v >> (i * 8));
  out->append(buf, 8);
}

bool DecodeFixed64(std::string_view* in, uint64_t* v) {
  if (in->size() < 8) return false;
  uint64_t r = 0;
  for (int i = 7; i >= 0; --i) r = (r << 8) | static_cast<uint8_t>((*in)[i]);
  in->remove_prefix(8);
  *v = r;
  return true;
}

void EncodeDouble(double d, std::string* out) {
  uint64_t bits;
  std::memcpy(&bits, &d, sizeof(bits));
  EncodeFixed64(bits, out);
}

bool DecodeDouble(std::string_view* in, double* d) {
  uint64_t bits;
  if (!DecodeFixed64(in, &bits)) return false;
  std::memcpy(d, &bits, sizeof(bits));
  return true;
}

void EncodeBytes(std::string_view s, std::string* out) {
  EncodeVarint(s.size(), out);
  out->append(s);
}

bool DecodeBytes(std::string_view* in, std::string_view* s) {
  uint64_t n;
  if (!DecodeVarint(in, &n) || n > in->size()) return false;
  *s = in->substr(0, n);
  in->remove_prefix(n);
  return true;
}

void EncodeValue(const Value& v, std::string* out) {
  switch (v.type()) {
    case ValueType::kNull:
      out->push_back(kTagNull);
      return;
    case ValueType::kBigint:
      out->push_back(kTagBigint);
      EncodeFixed64(static_cast<uint64_t>(v.bigint()), out);
      return;
    case ValueType::kFloat:
      out->push_back(kTagFloat);
      EncodeDouble(v.float_value(), out);
      return;
    case ValueType::kString:
      out->push_back(kTagString);
      EncodeBytes(v.string(), out);
      return;
    case ValueType::kDatetime:
      out->push_back(kTagDatetime);
      EncodeFixed64(static_cast<uint64_t>(v.ticks()), out);
      return;
    case ValueType::kBit:
      out->push_back(kTagBit);
      out->push_back(v.bit() ? 1 : 0);
      return;
    case ValueType::kRecord:
      out->push_back(kTagRecord);
      EncodeVarint(v.size(), out);
      for (uint32_t i = 0; i < v.size(); ++i) {
        EncodeBytes(v.fields()[i].name, out);
        EncodeValue(v.fields()[i].value, out);
      }
      return;
    case ValueType::kArray:
      out->push_back(kTagArray);
      EncodeVarint(v.size(), out);
      for (uint32_t i = 0; i < v.size(); ++i) EncodeValue(v.items()[i], out);
      return;
  }
}

namespace {

bool DecodeValueAt(std::string_view* in, Arena* arena, Value* out, int depth) {
  if (in->empty() || depth > kMaxValueDepth) return false;
  const uint8_t tag = static_cast<uint8_t>(in->front());
  in->remove_prefix(1);
  uint64_t u = 0;
  switch (tag) {
    case kTagNull:
      *out = Value::Null();
      return true;
    case kTagBigint:
      if (!DecodeFixed64(in, &u)) return false;
      *out = Value::Bigint(static_cast<int64_t>(u));
      return true;
    case kTagFloat: {
      double d;
      if (!DecodeDouble(in, &d)) return false;
      *out = Value::Float(d);
      return true;
    }
    case kTagString: {
      std::string_view s;
      if (!DecodeBytes(in, &s)) return false;
      *out = Value::String(arena->CopyString(s));
      return true;
    }
    case kTagDatetime:
      if (!DecodeFixed64(in, &u)) return false;
      *out = Value::Datetime(static_cast<int64_t>(u));
      return true;
    case kTagBit:
      if (in->empty()) return false;
      *out = Value::Bit(in->front() != 0);
      in->remove_prefix(1);
      return true;
    case kTagRecord: {
      uint64_t n;
      if (!DecodeVarint(in, &n) || n > in->size()) return false;
      RecordField* fields = arena->AllocateArray<RecordField>(n);
      for (uint64_t i = 0; i < n; ++i) {
        std::string_view name;
        if (!DecodeBytes(in, &name)) return false;
        fields[i].name = arena->CopyString(name);
        if (!DecodeValueAt(in, arena, &fields[i].value, depth + 1)) return false;
      }
      *out = Value::Record(fields, static_cast<uint32_t>(n));
      return true;
    }
    case kTagArray: {
      uint64_t n;
      if (!DecodeVarint(in, &n) || n > in->size()) return false;
      Value* items = arena->AllocateArray<Value>(n);
      for (uint64_t i = 0; i < n; ++i) {
        if (!DecodeValueAt(in, arena, &items[i], depth + 1)) return false;
      }
      *out = Value::Array(items, static_cast<uint32_t>(n));
      return true;
    }
    default:
      return false;
  }
}

}  // namespace

bool DecodeValue(std::string_view* in, Arena* arena, Value* out) {
  return DecodeValueAt(in, arena, out, 0);
}

void EncodeRowOrigin(const RowOrigin& o, std::string* out) {
  EncodeVarint(static_cast<uint64_t>(static_cast<int64_t>(o.input) + 1), out);
  EncodeVarint(static_cast<uint64_t>(static_cast<int64_t>(o.partition) + 1), out);
  EncodeVarint(static_cast<uint64_t>(o.position + 1), out);
}

bool DecodeRowOrigin(std::string_view* in, RowOrigin* o) {
  uint64_t input = 0, partition = 0, position = 0;
  if (!DecodeVarint(in, &input) || !DecodeVarint(in, &partition) || !DecodeVarint(in, &position) ||
      input > static_cast<uint64_t>(INT32_MAX) || partition > static_cast<uint64_t>(INT32_MAX) ||
      position > static_cast<uint64_t>(INT64_MAX)) {
    return false;
  }
  *o = RowOrigin{static_cast<int32_t>(input) - 1, static_cast<int32_t>(partition) - 1,
                 static_cast<int64_t>(position) - 1};
  return true;
}

void EncodeJoinedOrigins(const JoinedOrigins& others, std::string* out) {
  EncodeVarint(others.size(), out);
  for (const RowOrigin& o : others) EncodeRowOrigin(o, out);
}

bool DecodeJoinedOrigins(std::string_view* in, JoinedOrigins* others) {
  uint64_t count = 0;
  // Each origin takes at least three bytes.
  if (!DecodeVarint(in, &count) || count == 0 || count > in->size() / 3) return false;
  others->resize(count);
  for (RowOrigin& o : *others) {
    if (!DecodeRowOrigin(in, &o)) return false;
  }
  return true;
}

}  // namespace sluice

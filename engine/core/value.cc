#include "engine/core/value.h"

#include <charconv>
#include <cmath>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "engine/core/datetime.h"

namespace sluice {

const char* TypeName(ValueType type) {
  switch (type) {
    case ValueType::kNull:
      return "null";
    case ValueType::kBigint:
      return "bigint";
    case ValueType::kFloat:
      return "float";
    case ValueType::kString:
      return "nvarchar(max)";
    case ValueType::kDatetime:
      return "datetime";
    case ValueType::kBit:
      return "bit";
    case ValueType::kRecord:
      return "record";
    case ValueType::kArray:
      return "array";
  }
  return "unknown";
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x == y) continue;
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

std::string ToLowerAscii(std::string_view s) {
  std::string r(s);
  for (char& c : r) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return r;
}

Value Value::Field(std::string_view name) const {
  if (type_ != ValueType::kRecord) return Value();
  // Exact match first: field names usually appear as written.
  for (uint32_t i = 0; i < size_; ++i) {
    if (fields_[i].name == name) return fields_[i].value;
  }
  for (uint32_t i = 0; i < size_; ++i) {
    if (EqualsIgnoreCase(fields_[i].name, name)) return fields_[i].value;
  }
  return Value();
}

Value CopyValue(const Value& v, Arena* arena) {
  switch (v.type()) {
    case ValueType::kString:
      return Value::String(arena->CopyString(v.string()));
    case ValueType::kRecord: {
      RecordField* fields = arena->AllocateArray<RecordField>(v.size());
      for (uint32_t i = 0; i < v.size(); ++i) {
        fields[i].name = arena->CopyString(v.fields()[i].name);
        fields[i].value = CopyValue(v.fields()[i].value, arena);
      }
      return Value::Record(fields, v.size());
    }
    case ValueType::kArray: {
      Value* items = arena->AllocateArray<Value>(v.size());
      for (uint32_t i = 0; i < v.size(); ++i) {
        items[i] = CopyValue(v.items()[i], arena);
      }
      return Value::Array(items, v.size());
    }
    default:
      return v;
  }
}

bool GroupEquals(const Value& a, const Value& b) {
  if (a.type() != b.type()) {
    if (a.is_numeric() && b.is_numeric()) return a.AsDouble() == b.AsDouble();
    return false;
  }
  switch (a.type()) {
    case ValueType::kNull:
      return true;
    case ValueType::kBigint:
    case ValueType::kDatetime:
    case ValueType::kBit:
      return a.bigint() == b.bigint();
    case ValueType::kFloat:
      return a.float_value() == b.float_value();
    case ValueType::kString:
      return a.string() == b.string();
    case ValueType::kRecord:
      if (a.size() != b.size()) return false;
      for (uint32_t i = 0; i < a.size(); ++i) {
        if (a.fields()[i].name != b.fields()[i].name ||
            !GroupEquals(a.fields()[i].value, b.fields()[i].value)) {
          return false;
        }
      }
      return true;
    case ValueType::kArray:
      if (a.size() != b.size()) return false;
      for (uint32_t i = 0; i < a.size(); ++i) {
        if (!GroupEquals(a.items()[i], b.items()[i])) return false;
      }
      return true;
  }
  return false;
}

int CompareValues(const Value& a, const Value& b, bool* comparable) {
  *comparable = true;
  if (a.type() == ValueType::kBigint && b.type() == ValueType::kBigint) {
    return a.bigint() < b.bigint() ? -1 : (a.bigint() > b.bigint() ? 1 : 0);
  }
  if (a.is_numeric() && b.is_numeric()) {
    const double x = a.AsDouble();
    const double y = b.AsDouble();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.type() != b.type()) {
    *comparable = false;
    return 0;
  }
  switch (a.type()) {
    case ValueType::kString: {
      const int c = a.string().compare(b.string());
      return c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
    case ValueType::kDatetime:
    case ValueType::kBit:
      return a.bigint() < b.bigint() ? -1 : (a.bigint() > b.bigint() ? 1 : 0);
    default:
      *comparable = false;
      return 0;
  }
}

bool IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;  // a continuation byte, an overlong lead (C0, C1) or F5..FF
    }
    if (n - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

void AppendRawTextField(std::string_view key, std::string_view s, std::string* out) {
  out->push_back(',');
  if (IsValidUtf8(s)) {
    AppendJsonString(key, out);
    out->push_back(':');
    AppendJsonString(s, out);
    return;
  }
  AppendJsonString(absl::StrCat(absl::string_view(key.data(), key.size()), "Base64"), out);
  out->append(":\"");
  out->append(absl::Base64Escape(absl::string_view(s.data(), s.size())));
  out->push_back('"');
}

void AppendJsonString(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t run_start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(s.data() + run_start, i - run_start);
    run_start = i + 1;
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 15]);
    }
  }
  out->append(s.data() + run_start, s.size() - run_start);
  out->push_back('"');
}

namespace {

// The common case fast: a reading like 59.66 is the double nearest some
// integer m over 10^k with k <= 6. The smallest such k gives exactly the
// digits the shortest round-trip printing gives in fixed notation, so the
// output is identical to to_chars's, at a fraction of its cost. False when
// the value is not of that form (to_chars then prints it).
bool AppendShortDecimal(double d, std::string* out) {
  static constexpr double kPow10[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6};
  const double magnitude = std::fabs(d);
  if (!(magnitude >= 1e-6 && magnitude < 1e12)) return false;  // zeros (and -0) too
  for (int k = 0; k <= 6; ++k) {
    const double scaled = d * kPow10[k];
    if (std::fabs(scaled) >= 1e15) return false;
    const int64_t m = std::llround(scaled);
    if (static_cast<double>(m) / kPow10[k] != d) continue;
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), m < 0 ? -m : m);
    (void)ec;
    const int n = static_cast<int>(end - digits);
    if (m < 0) out->push_back('-');
    if (k == 0) {
      out->append(digits, n);
      out->append(".0");
    } else if (n <= k) {
      out->append("0.");
      out->append(static_cast<size_t>(k - n), '0');
      out->append(digits, n);
    } else {
      out->append(digits, n - k);
      out->push_back('.');
      out->append(digits + (n - k), k);
    }
    return true;
  }
  return false;
}

}  // namespace

void AppendJsonFloat(double d, std::string* out) {
  if (!std::isfinite(d)) {
    out->append("null");
    return;
  }
  if (AppendShortDecimal(d, out)) return;
  // JavaScript's rule (what JSON readers print back): plain decimals from
  // 1e-6 up to 1e21, exponents outside; always the shortest round-trip digits.
  char buf[400];
  const double magnitude = std::fabs(d);
  const std::chars_format format = (magnitude != 0 && (magnitude < 1e-6 || magnitude >= 1e21))
                                       ? std::chars_format::scientific
                                       : std::chars_format::fixed;
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), d, format);
  (void)ec;  // 400 bytes suffice for any double in either format
  std::string_view text(buf, end - buf);
  out->append(text);
  if (text.find_first_of(".eEn") == std::string_view::npos) out->append(".0");
}

void AppendJson(const Value& v, std::string* out) {
  switch (v.type()) {
    case ValueType::kNull:
      out->append("null");
      return;
    case ValueType::kBigint: {
      char buf[24];
      auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v.bigint());
      (void)ec;
      out->append(buf, end - buf);
      return;
    }
    case ValueType::kFloat:
      AppendJsonFloat(v.float_value(), out);
      return;
    case ValueType::kString:
      AppendJsonString(v.string(), out);
      return;
    case ValueType::kDatetime:
      out->push_back('"');
      AppendDatetime(v.ticks(), out);
      out->push_back('"');
      return;
    case ValueType::kBit:
      out->append(v.bit() ? "true" : "false");
      return;
    case ValueType::kRecord:
      out->push_back('{');
      for (uint32_t i = 0; i < v.size(); ++i) {
        if (i > 0) out->push_back(',');
        AppendJsonString(v.fields()[i].name, out);
        out->push_back(':');
        AppendJson(v.fields()[i].value, out);
      }
      out->push_back('}');
      return;
    case ValueType::kArray:
      out->push_back('[');
      for (uint32_t i = 0; i < v.size(); ++i) {
        if (i > 0) out->push_back(',');
        AppendJson(v.items()[i], out);
      }
      out->push_back(']');
      return;
  }
}

std::string DebugString(const Value& v) {
  if (v.type() == ValueType::kString) {
    std::string s = "'";
    s.append(v.string());
    s.push_back('\'');
    return s;
  }
  std::string s;
  AppendJson(v, &s);
  return s;
}

}  // namespace sluice

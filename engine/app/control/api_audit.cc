#include "engine/app/control/api_audit.h"

#include <ctime>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/core/value.h"

namespace sluice {
namespace {

// At most `limit` bytes of `text`, never ending inside a UTF-8 sequence,
// with "..." when cut.
std::string Cut(std::string_view text, size_t limit) {
  if (text.size() <= limit) return std::string(text);
  size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return std::string(text.substr(0, end)) + "...";
}

std::string Rfc3339(int64_t ms) {
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
}

void AppendField(std::string* out, std::string_view name, std::string_view value) {
  if (out->size() > 1) out->push_back(',');
  AppendJsonString(name, out);
  out->push_back(':');
  AppendJsonString(value, out);
}

}  // namespace

std::string AuditJson(const AuditRecord& record) {
  std::string out = "{";
  AppendField(&out, "time", Rfc3339(record.time_ms));
  AppendField(&out, "worker", record.worker);
  AppendField(&out, "who", record.who);
  AppendField(&out, "via", record.via);
  AppendField(&out, "role", record.role);
  if (!record.client_cn.empty()) AppendField(&out, "client_cn", record.client_cn);
  AppendField(&out, "method", record.method);
  AppendField(&out, "job", Cut(record.job, 200));
  // gRPC's codes are Abseil's, number for number.
  AppendField(&out, "code", absl::StatusCodeToString(static_cast<absl::StatusCode>(record.code)));
  AppendField(&out, "message", Cut(record.message, 1000));
  AppendField(&out, "peer", record.peer);
  out.push_back('}');
  return out;
}

}  // namespace sluice

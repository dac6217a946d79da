// The audit trail of the JobService API: one record per write request
// (SubmitJob, UpdateJob, StopJob), allowed or refused, with who asked, from
// where, and what came of it. A record is one JSON object on one line; the
// worker logs it and appends it to the Kafka topic `_sluice_audit`, keyed by
// job name (ControlPlane::Audit).
#ifndef SLUICE_ENGINE_APP_CONTROL_API_AUDIT_H_
#define SLUICE_ENGINE_APP_CONTROL_API_AUDIT_H_

#include <cstdint>
#include <string>

namespace sluice {

inline constexpr char kAuditTopic[] = "_sluice_audit";

struct AuditRecord {
  int64_t time_ms = 0;    // wall clock, when the answer was decided
  std::string worker;     // the worker that took the request
  std::string who;        // token name, client certificate CN, "anonymous" or "unauthenticated"
  std::string via;        // "token", "certificate", "none"; empty when unauthenticated
  std::string role;       // empty when unauthenticated
  std::string client_cn;  // the verified client certificate's CN, if any
  std::string method;     // "SubmitJob"
  std::string job;        // as the request named it
  int code = 0;           // the gRPC status code of the answer
  std::string message;    // its message
  std::string peer;       // gRPC's peer address, e.g. "ipv4:127.0.0.1:50312"
};

// The record as one line of JSON:
//   {"time":"2026-11-26T12:33:02.104Z","worker":"w1","who":"ci","via":"token",
//    "role":"operator","method":"SubmitJob","job":"team-a-x","code":"OK",
//    "message":"","peer":"ipv4:127.0.0.1:50312"}
// ("client_cn" only when there is one). Requests are hostile: the job name
// and message are escaped, and cut at 200 and 1000 bytes.
std::string AuditJson(const AuditRecord& record);

}  // namespace sluice

#endif  // SLUICE_ENGINE_APP_CONTROL_API_AUDIT_H_

// Who may call the JobService API, and what they may do: bearer tokens with
// roles, optionally limited to job names matching a glob.
//
// A token is a random string held by one client ("sluice_" and 43 base64url
// characters: 256 bits from the system's CSPRNG). Workers never see it
// stored: the token file keeps the SHA-256 of each token, one line per
// token,
//
//   # NAME      ROLE      HASH                    [JOBS]
//   ci-deploy   operator  sha256:9f86d081884c...  team-a-*
//   dashboard   viewer    sha256:2c26b46b68ff...
//
// (`sluice token create` prints a fresh token and its line). Roles:
// `viewer` reads (ListJobs, DescribeJob, TailOutput, ValidateJob,
// ListWorkers), `operator` also writes (SubmitJob, UpdateJob, StopJob),
// `admin` may call everything, including methods added later: a method
// this file does not know needs admin. JOBS limits the token to job names
// matching the glob (`*` any run of characters, `?` one); such a token is
// refused other jobs and sees only its own in ListJobs.
//
// TokenStore holds the parsed file and follows it: it re-reads the file
// when it changes, and a file that does not parse keeps the tokens it had.
// Authorizer turns a request's credentials into a Caller and decides.
// Both are thread-safe; gRPC's server threads call them for every request.
#ifndef SLUICE_ENGINE_APP_CONTROL_API_AUTH_H_
#define SLUICE_ENGINE_APP_CONTROL_API_AUTH_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace sluice {

enum class Role { kViewer = 1, kOperator = 2, kAdmin = 3 };
absl::string_view RoleName(Role role);
std::optional<Role> ParseRole(absl::string_view name);

// The calls of sluice.v1.JobService.
enum class ApiMethod {
  kListJobs,
  kDescribeJob,
  kTailOutput,
  kValidateJob,
  kListWorkers,
  kSubmitJob,
  kUpdateJob,
  kStopJob,
};
inline constexpr ApiMethod kAllApiMethods[] = {
    ApiMethod::kListJobs,    ApiMethod::kDescribeJob, ApiMethod::kTailOutput,
    ApiMethod::kValidateJob, ApiMethod::kListWorkers, ApiMethod::kSubmitJob,
    ApiMethod::kUpdateJob,   ApiMethod::kStopJob,
};
// "SubmitJob": the method's name in the proto service.
absl::string_view MethodName(ApiMethod method);
std::optional<ApiMethod> MethodFromName(absl::string_view name);
// The lowest role that may call `method`.
Role RequiredRole(ApiMethod method);
// Whether `method` changes the catalog (and so leaves an audit record).
bool IsWrite(ApiMethod method);

// A token's name: 1 to 64 letters, digits, '-', '_', '.' or '@'.
absl::Status ValidateTokenName(absl::string_view name);

// Job-name globs: `*` matches any run of characters (also none), `?` one
// character, everything else itself (case-sensitive, as job names are).
absl::Status ValidateJobPattern(absl::string_view pattern);
bool MatchesJobPattern(absl::string_view pattern, absl::string_view name);

using TokenDigest = std::array<uint8_t, 32>;  // SHA-256

inline constexpr absl::string_view kTokenPrefix = "sluice_";
// A fresh token from the system's CSPRNG (OpenSSL's RAND_bytes).
absl::StatusOr<std::string> NewToken();
TokenDigest HashToken(absl::string_view token);
// "sha256:<64 lowercase hex digits>", as the token file writes it.
std::string FormatDigest(const TokenDigest& digest);

struct TokenEntry {
  std::string name;
  Role role = Role::kViewer;
  TokenDigest digest{};
  std::string jobs;  // a job-name glob; empty: every job
};

// Parses a token file's text. Any bad line fails the whole file, with its
// line number; messages never repeat what the line holds beyond a name, so
// a token pasted by mistake does not end up in a log.
absl::StatusOr<std::vector<TokenEntry>> ParseTokenFile(absl::string_view text);
// The line of `entry` for a token file.
std::string FormatTokenLine(const TokenEntry& entry);

// The token file, followed as it changes.
class TokenStore {
 public:
  using Logger = std::function<void(const std::string& line)>;

  // Reads and parses `path`; fails when it cannot (no previous tokens to
  // fall back on at start). `log` receives reload news (from the watching
  // thread).
  static absl::StatusOr<std::unique_ptr<TokenStore>> Open(std::string path, Logger log);
  ~TokenStore();

  // The entry of the token `token`, or nothing. Compares the token's
  // digest with every entry's in constant time.
  std::optional<TokenEntry> Find(absl::string_view token) const;
  size_t size() const;
  const std::string& path() const { return path_; }

  // Re-reads the file if its modification time, size or inode changed
  // since the last look; keeps the current tokens (and logs why) when the
  // new text cannot be read or parsed. Returns true when it took new tokens.
  bool ReloadIfChanged();
  // Calls ReloadIfChanged every `interval` on a thread of its own until
  // the store is destroyed.
  void Watch(absl::Duration interval);

 private:
  struct FileStamp {
    int64_t modified_ns = -1;
    int64_t changed_ns = -1;
    int64_t size = -1;
    uint64_t inode = 0;
    uint64_t device = 0;
    bool operator==(const FileStamp&) const = default;
  };
  TokenStore(std::string path, Logger log) : path_(std::move(path)), log_(std::move(log)) {}
  // Reads the file now: its stamp and its entries.
  absl::StatusOr<std::vector<TokenEntry>> Read(FileStamp* stamp) const;

  const std::string path_;
  const Logger log_;
  absl::Mutex reload_mu_;                       // one reload at a time; taken before mu_
  FileStamp seen_ ABSL_GUARDED_BY(reload_mu_);  // of the last text read, taken or not
  mutable absl::Mutex mu_;
  std::vector<TokenEntry> entries_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread watcher_;
};

// Who is calling: decided once per request.
struct Caller {
  std::string name;           // the token's name, the client certificate's CN, or "anonymous"
  std::string via;            // "token", "certificate" or "none"
  Role role = Role::kViewer;  // the least, until Identify says more
  std::string jobs;           // the token's job glob; empty: every job
  std::string client_cn;      // the verified client certificate's CN (mutual TLS), if any
};

class Authorizer {
 public:
  // `tokens` null: no token file. Then whoever reaches the port is
  // trusted with every right: a loopback-only worker, a verified client
  // certificate under mutual TLS, or a worker started with --insecure.
  explicit Authorizer(const TokenStore* tokens) : tokens_(tokens) {}

  bool requires_token() const { return tokens_ != nullptr; }

  // The caller behind a request's `authorization` metadata values (each
  // "Bearer <token>") and its verified client certificate's common name
  // (empty: none). Unauthenticated when a token is needed and missing,
  // malformed or unknown.
  absl::StatusOr<Caller> Identify(const std::vector<absl::string_view>& authorization,
                                  absl::string_view client_cn) const;

  // PermissionDenied when `caller`'s role is below `method`'s, or when
  // `job` (null for calls that name no job) is outside its job glob.
  static absl::Status Permit(const Caller& caller, ApiMethod method, const std::string* job);
  // Whether `caller` may see or touch the job `name`.
  static bool MayTouch(const Caller& caller, absl::string_view name);

 private:
  const TokenStore* tokens_;
};

}  // namespace sluice

#endif  // SLUICE_ENGINE_APP_CONTROL_API_AUTH_H_

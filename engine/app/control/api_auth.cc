#include "engine/app/control/api_auth.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace sluice {
namespace {

constexpr size_t kMaxTokenFileBytes = 1 << 20;
// Longer `authorization` values are not tokens of ours; they are not hashed.
constexpr size_t kMaxTokenBytes = 512;
constexpr size_t kMaxNameBytes = 64;
constexpr size_t kMaxPatternBytes = 100;  // a job name's limit
constexpr absl::string_view kDigestPrefix = "sha256:";

bool IsNameChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
         c == '@';
}

bool IsJobNameChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
}

// A request's job name in a message: long names are cut.
std::string Shorten(absl::string_view text) {
  constexpr size_t kShown = 100;
  if (text.size() <= kShown) return std::string(text);
  return absl::StrCat(text.substr(0, kShown), "... (", text.size(), " bytes)");
}

std::optional<TokenDigest> ParseDigest(absl::string_view text) {
  if (!absl::StartsWith(text, kDigestPrefix)) return std::nullopt;
  text.remove_prefix(kDigestPrefix.size());
  if (text.size() != 64) return std::nullopt;
  for (char c : text) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  const std::string bytes = absl::HexStringToBytes(text);
  TokenDigest digest;
  std::memcpy(digest.data(), bytes.data(), digest.size());
  return digest;
}

// The token of an `authorization` value "Bearer <token>" (the scheme in any
// case, as RFC 7235 has it).
std::optional<absl::string_view> BearerToken(absl::string_view value) {
  constexpr absl::string_view kScheme = "bearer ";
  if (value.size() <= kScheme.size() || !absl::EqualsIgnoreCase(value.substr(0, 7), kScheme)) {
    return std::nullopt;
  }
  absl::string_view token = absl::StripAsciiWhitespace(value.substr(kScheme.size()));
  if (token.empty() || token.find_first_of(" \t") != absl::string_view::npos) return std::nullopt;
  return token;
}

// The identity of a file's current version, from stat(2).
template <typename Stamp>
Stamp StampOf(const struct stat& info) {
  Stamp stamp;
  stamp.modified_ns =
      static_cast<int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec;
  stamp.changed_ns =
      static_cast<int64_t>(info.st_ctim.tv_sec) * 1'000'000'000 + info.st_ctim.tv_nsec;
  stamp.size = info.st_size;
  stamp.inode = info.st_ino;
  stamp.device = info.st_dev;
  return stamp;
}

}  // namespace

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::kViewer:
      return "viewer";
    case Role::kOperator:
      return "operator";
    case Role::kAdmin:
      return "admin";
  }
  return "unknown";
}

std::optional<Role> ParseRole(absl::string_view name) {
  for (Role role : {Role::kViewer, Role::kOperator, Role::kAdmin}) {
    if (name == RoleName(role)) return role;
  }
  return std::nullopt;
}

absl::string_view MethodName(ApiMethod method) {
  switch (method) {
    case ApiMethod::kListJobs:
      return "ListJobs";
    case ApiMethod::kDescribeJob:
      return "DescribeJob";
    case ApiMethod::kTailOutput:
      return "TailOutput";
    case ApiMethod::kValidateJob:
      return "ValidateJob";
    case ApiMethod::kListWorkers:
      return "ListWorkers";
    case ApiMethod::kSubmitJob:
      return "SubmitJob";
    case ApiMethod::kUpdateJob:
      return "UpdateJob";
    case ApiMethod::kStopJob:
      return "StopJob";
  }
  return "unknown";
}

std::optional<ApiMethod> MethodFromName(absl::string_view name) {
  for (ApiMethod method : kAllApiMethods) {
    if (name == MethodName(method)) return method;
  }
  return std::nullopt;
}

Role RequiredRole(ApiMethod method) {
  switch (method) {
    case ApiMethod::kListJobs:
    case ApiMethod::kDescribeJob:
    case ApiMethod::kTailOutput:
    case ApiMethod::kValidateJob:
    case ApiMethod::kListWorkers:
      return Role::kViewer;
    case ApiMethod::kSubmitJob:
    case ApiMethod::kUpdateJob:
    case ApiMethod::kStopJob:
      return Role::kOperator;
  }
  return Role::kAdmin;  // a method this table misses is for admins only
}

bool IsWrite(ApiMethod method) {
  return method == ApiMethod::kSubmitJob || method == ApiMethod::kUpdateJob ||
         method == ApiMethod::kStopJob;
}

absl::Status ValidateTokenName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxNameBytes ||
      !std::all_of(name.begin(), name.end(), IsNameChar)) {
    return absl::InvalidArgumentError(absl::StrCat("a token name is 1 to ", kMaxNameBytes,
                                                   " letters, digits, '-', '_', '.' or '@'"));
  }
  return absl::OkStatus();
}

absl::Status ValidateJobPattern(absl::string_view pattern) {
  if (pattern.empty() || pattern.size() > kMaxPatternBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("a job pattern is 1 to ", kMaxPatternBytes, " characters"));
  }
  for (char c : pattern) {
    if (!IsJobNameChar(c) && c != '*' && c != '?') {
      return absl::InvalidArgumentError(
          "a job pattern holds letters, digits, '-', '_', '.' and the wildcards '*' and '?'");
    }
  }
  return absl::OkStatus();
}

bool MatchesJobPattern(absl::string_view pattern, absl::string_view name) {
  // Greedy with one backtrack point, the last `*`: linear in practice,
  // O(pattern x name) at worst, and no recursion.
  size_t p = 0, n = 0;
  size_t star = absl::string_view::npos, resume = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = n;
    } else if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
      ++p;
      ++n;
    } else if (star != absl::string_view::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

absl::StatusOr<std::string> NewToken() {
  unsigned char random[32];
  if (RAND_bytes(random, sizeof(random)) != 1) {
    return absl::InternalError("the system's random number generator failed (RAND_bytes)");
  }
  std::string encoded = absl::WebSafeBase64Escape(
      absl::string_view(reinterpret_cast<const char*>(random), sizeof(random)));
  OPENSSL_cleanse(random, sizeof(random));
  return absl::StrCat(kTokenPrefix, encoded);
}

TokenDigest HashToken(absl::string_view token) {
  TokenDigest digest;
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), digest.data());
  return digest;
}

std::string FormatDigest(const TokenDigest& digest) {
  return absl::StrCat(kDigestPrefix,
                      absl::BytesToHexString(absl::string_view(
                          reinterpret_cast<const char*>(digest.data()), digest.size())));
}

absl::StatusOr<std::vector<TokenEntry>> ParseTokenFile(absl::string_view text) {
  std::vector<TokenEntry> entries;
  absl::flat_hash_map<std::string, int> name_lines;
  absl::flat_hash_map<std::string, int> digest_lines;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    auto fail = [number](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat("token file line ", number, ": ", why));
    };
    const std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    for (absl::string_view field : fields) {
      if (absl::StartsWith(field, kTokenPrefix)) {
        return fail(absl::StrCat("a field starts with ", kTokenPrefix,
                                 " like a token; the file keeps only hashes of tokens "
                                 "(`sluice token create` prints the line to add)"));
      }
    }
    if (fields.size() < 3 || fields.size() > 4) {
      return fail(absl::StrCat("expected NAME ROLE sha256:HEX [JOBS], found ", fields.size(),
                               fields.size() == 1 ? " field" : " fields"));
    }
    TokenEntry entry;
    if (absl::Status valid = ValidateTokenName(fields[0]); !valid.ok()) {
      return fail(valid.message());
    }
    entry.name = std::string(fields[0]);
    const std::optional<Role> role = ParseRole(fields[1]);
    if (!role) return fail("the role is viewer, operator or admin");
    entry.role = *role;
    const std::optional<TokenDigest> digest = ParseDigest(fields[2]);
    if (!digest) return fail("the hash is sha256: and 64 hex digits");
    entry.digest = *digest;
    if (fields.size() == 4) {
      if (absl::Status valid = ValidateJobPattern(fields[3]); !valid.ok()) {
        return fail(valid.message());
      }
      if (fields[3] != "*") entry.jobs = std::string(fields[3]);
    }
    if (auto [it, added] = name_lines.try_emplace(entry.name, number); !added) {
      return fail(absl::StrCat("the name is taken on line ", it->second, ": ", entry.name));
    }
    const std::string digest_key(entry.digest.begin(), entry.digest.end());
    if (auto [it, added] = digest_lines.try_emplace(digest_key, number); !added) {
      return fail(absl::StrCat("the same token as on line ", it->second));
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

std::string FormatTokenLine(const TokenEntry& entry) {
  std::string line =
      absl::StrCat(entry.name, " ", RoleName(entry.role), " ", FormatDigest(entry.digest));
  if (!entry.jobs.empty()) absl::StrAppend(&line, " ", entry.jobs);
  return line;
}

// --- TokenStore ---------------------------------------------------------

absl::StatusOr<std::unique_ptr<TokenStore>> TokenStore::Open(std::string path, Logger log) {
  std::unique_ptr<TokenStore> store(new TokenStore(std::move(path), std::move(log)));
  FileStamp stamp;
  auto entries = store->Read(&stamp);
  if (!entries.ok()) return entries.status();
  absl::MutexLock reload(&store->reload_mu_);
  absl::MutexLock lock(&store->mu_);
  store->seen_ = stamp;
  store->entries_ = *std::move(entries);
  return store;
}

TokenStore::~TokenStore() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (watcher_.joinable()) watcher_.join();
}

absl::StatusOr<std::vector<TokenEntry>> TokenStore::Read(FileStamp* stamp) const {
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot read the token file ", path_, ": ", std::strerror(errno)));
  }
  struct stat info;
  std::string text;
  absl::Status status;
  if (::fstat(fd, &info) != 0) {
    status = absl::UnavailableError(
        absl::StrCat("cannot read the token file ", path_, ": ", std::strerror(errno)));
  } else {
    // One byte past the limit tells a file that is too large.
    text.resize(kMaxTokenFileBytes + 1);
    size_t used = 0;
    while (used < text.size()) {
      const ssize_t n = ::read(fd, text.data() + used, text.size() - used);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        status = absl::UnavailableError(
            absl::StrCat("cannot read the token file ", path_, ": ", std::strerror(errno)));
        break;
      }
      if (n == 0) break;
      used += static_cast<size_t>(n);
    }
    text.resize(used);
  }
  ::close(fd);
  if (!status.ok()) return status;
  *stamp = StampOf<FileStamp>(info);
  if (text.size() > kMaxTokenFileBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("the token file is larger than ", kMaxTokenFileBytes, " bytes: ", path_));
  }
  auto entries = ParseTokenFile(text);
  if (!entries.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path_, ": ", entries.status().message()));
  }
  return entries;
}

bool TokenStore::ReloadIfChanged() {
  absl::MutexLock reload(&reload_mu_);
  struct stat info;
  FileStamp now;  // a missing file: all -1, unlike any file's
  if (::stat(path_.c_str(), &info) == 0) now = StampOf<FileStamp>(info);
  if (now == seen_) return false;
  FileStamp stamp = now;
  auto entries = Read(&stamp);
  seen_ = stamp;  // a text that did not load is not tried again until it changes
  const size_t previous = size();
  if (!entries.ok()) {
    if (log_) {
      log_(absl::StrCat("tokens: keeping the previous ", previous,
                        " token(s): ", entries.status().message()));
    }
    return false;
  }
  const size_t count = entries->size();
  {
    absl::MutexLock lock(&mu_);
    entries_ = *std::move(entries);
  }
  if (log_) {
    log_(absl::StrCat("tokens: reloaded ", path_, ": ", count, " token(s), ", previous, " before"));
  }
  return true;
}

void TokenStore::Watch(absl::Duration interval) {
  if (watcher_.joinable()) return;
  watcher_ = std::thread([this, interval] {
    while (true) {
      {
        absl::MutexLock lock(&mu_);
        auto stopping = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stop_; };
        mu_.AwaitWithTimeout(absl::Condition(&stopping), interval);
        if (stop_) return;
      }
      ReloadIfChanged();
    }
  });
}

std::optional<TokenEntry> TokenStore::Find(absl::string_view token) const {
  if (token.empty() || token.size() > kMaxTokenBytes) return std::nullopt;
  const TokenDigest digest = HashToken(token);
  absl::ReaderMutexLock lock(&mu_);
  // Every entry is compared, in constant time each: how long this takes
  // says nothing about which entry, if any, is close.
  const TokenEntry* found = nullptr;
  for (const TokenEntry& entry : entries_) {
    if (CRYPTO_memcmp(entry.digest.data(), digest.data(), digest.size()) == 0) found = &entry;
  }
  if (found == nullptr) return std::nullopt;
  return *found;
}

size_t TokenStore::size() const {
  absl::ReaderMutexLock lock(&mu_);
  return entries_.size();
}

// --- Authorizer ---------------------------------------------------------

absl::StatusOr<Caller> Authorizer::Identify(const std::vector<absl::string_view>& authorization,
                                            absl::string_view client_cn) const {
  Caller caller;
  caller.client_cn = std::string(client_cn);
  if (tokens_ == nullptr) {
    caller.name = client_cn.empty() ? "anonymous" : std::string(client_cn);
    caller.via = client_cn.empty() ? "none" : "certificate";
    caller.role = Role::kAdmin;
    return caller;
  }
  if (authorization.empty()) {
    return absl::UnauthenticatedError(
        "missing token: send the metadata `authorization: Bearer <token>` (the sluice CLI: "
        "--token-file FILE or $SLUICE_TOKEN)");
  }
  if (authorization.size() > 1) {
    return absl::UnauthenticatedError("more than one authorization metadata entry");
  }
  const std::optional<absl::string_view> token = BearerToken(authorization.front());
  if (!token) return absl::UnauthenticatedError("the authorization metadata is not Bearer <token>");
  std::optional<TokenEntry> entry = tokens_->Find(*token);
  if (!entry) return absl::UnauthenticatedError("unknown token");
  caller.name = std::move(entry->name);
  caller.via = "token";
  caller.role = entry->role;
  caller.jobs = std::move(entry->jobs);
  return caller;
}

absl::Status Authorizer::Permit(const Caller& caller, ApiMethod method, const std::string* job) {
  const Role required = RequiredRole(method);
  if (caller.role < required) {
    return absl::PermissionDeniedError(absl::StrCat("role too low: ", MethodName(method), " needs ",
                                                    RoleName(required), ", ", caller.name, " is ",
                                                    RoleName(caller.role)));
  }
  if (job != nullptr && !MayTouch(caller, *job)) {
    return absl::PermissionDeniedError(
        absl::StrCat("job outside this token's jobs (", caller.jobs, "): ", Shorten(*job)));
  }
  return absl::OkStatus();
}

bool Authorizer::MayTouch(const Caller& caller, absl::string_view name) {
  return caller.jobs.empty() || MatchesJobPattern(caller.jobs, name);
}

}  // namespace sluice

#include "engine/app/control/api_auth.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "engine/app/control/api_audit.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"
#include "proto/job_service.pb.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kTokenA[] = "sluice_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
constexpr char kTokenB[] = "sluice_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
constexpr char kTokenC[] = "sluice_ccccccccccccccccccccccccccccccccccccccccccc";

std::string Line(absl::string_view name, absl::string_view role, absl::string_view token,
                 absl::string_view jobs = "") {
  std::string line = absl::StrCat(name, " ", role, " ", FormatDigest(HashToken(token)));
  if (!jobs.empty()) absl::StrAppend(&line, " ", jobs);
  return line;
}

Caller TokenCaller(std::string name, Role role, std::string jobs = "") {
  Caller caller;
  caller.name = std::move(name);
  caller.via = "token";
  caller.role = role;
  caller.jobs = std::move(jobs);
  return caller;
}

// --- roles and methods ----------------------------------------------------

TEST(ApiRoles, NamesRoundTrip) {
  for (Role role : {Role::kViewer, Role::kOperator, Role::kAdmin}) {
    EXPECT_EQ(ParseRole(RoleName(role)), role);
  }
  EXPECT_FALSE(ParseRole("Admin"));
  EXPECT_FALSE(ParseRole("root"));
  EXPECT_FALSE(ParseRole(""));
}

// Every method of the proto service has a place in the table, so a method
// added to the proto is decided on (and added to SecuredJobService) here.
TEST(ApiMethods, CoverTheService) {
  // Through a message of the same file, which makes the pool load it.
  const google::protobuf::ServiceDescriptor* service =
      v1::ListJobsRequest::descriptor()->file()->FindServiceByName("JobService");
  ASSERT_NE(service, nullptr);
  std::set<ApiMethod> seen;
  for (int i = 0; i < service->method_count(); ++i) {
    const std::string& name = service->method(i)->name();
    const std::optional<ApiMethod> method = MethodFromName(name);
    ASSERT_TRUE(method) << "JobService." << name
                        << " has no ApiMethod: decide who may call it (api_auth.h) and add it "
                           "to SecuredJobService";
    EXPECT_EQ(MethodName(*method), name);
    seen.insert(*method);
  }
  EXPECT_EQ(seen.size(), std::size(kAllApiMethods)) << "ApiMethods the proto does not have";
}

TEST(ApiMethods, RolesTimesMethods) {
  // What each role may call: the table of the task, spelled out.
  const std::map<ApiMethod, std::set<Role>> allowed = {
      {ApiMethod::kListJobs, {Role::kViewer, Role::kOperator, Role::kAdmin}},
      {ApiMethod::kDescribeJob, {Role::kViewer, Role::kOperator, Role::kAdmin}},
      {ApiMethod::kTailOutput, {Role::kViewer, Role::kOperator, Role::kAdmin}},
      {ApiMethod::kValidateJob, {Role::kViewer, Role::kOperator, Role::kAdmin}},
      {ApiMethod::kListWorkers, {Role::kViewer, Role::kOperator, Role::kAdmin}},
      {ApiMethod::kSubmitJob, {Role::kOperator, Role::kAdmin}},
      {ApiMethod::kUpdateJob, {Role::kOperator, Role::kAdmin}},
      {ApiMethod::kStopJob, {Role::kOperator, Role::kAdmin}},
  };
  for (ApiMethod method : kAllApiMethods) {
    EXPECT_EQ(IsWrite(method), !allowed.at(method).contains(Role::kViewer)) << MethodName(method);
    for (Role role : {Role::kViewer, Role::kOperator, Role::kAdmin}) {
      const Caller caller = TokenCaller("t", role);
      const std::string job = "any-job";
      const absl::Status permitted = Authorizer::Permit(caller, method, &job);
      if (allowed.at(method).contains(role)) {
        EXPECT_TRUE(permitted.ok())
            << RoleName(role) << " " << MethodName(method) << ": " << permitted;
      } else {
        EXPECT_EQ(permitted.code(), absl::StatusCode::kPermissionDenied)
            << RoleName(role) << " " << MethodName(method);
        EXPECT_THAT(permitted.message(), HasSubstr(MethodName(method)));
      }
    }
  }
}

// --- job patterns ---------------------------------------------------------

TEST(JobPattern, Matches) {
  struct Case {
    const char* pattern;
    const char* name;
    bool matches;
  };
  const Case cases[] = {
      {"team-a-*", "team-a-x", true},
      {"team-a-*", "team-a-", true},
      {"team-a-*", "team-a", false},
      {"team-a-*", "team-b-x", false},
      {"team-a-*", "xteam-a-x", false},
      {"*", "", true},
      {"*", "anything.at_all", true},
      {"a?c", "abc", true},
      {"a?c", "ac", false},
      {"a?c", "abbc", false},
      {"*-prod", "billing-prod", true},
      {"*-prod", "billing-prod-2", false},
      {"a*b*c", "aXbYc", true},
      {"a*b*c", "abc", true},
      {"a*b*c", "acb", false},
      {"a*ab", "aaab", true},
      {"**", "x", true},
      {"exact", "exact", true},
      {"exact", "Exact", false},
      {"exact", "exact2", false},
      {"*a", "*a", true},
      {"x*", "*", false},
      {"t?am-*", "team-a", true},
      {"*-*-*", "a-b", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(MatchesJobPattern(c.pattern, c.name), c.matches) << c.pattern << " ~ " << c.name;
  }
  // Long names are not a problem (no recursion, no blow-up).
  const std::string long_name(100'000, 'a');
  EXPECT_FALSE(MatchesJobPattern("*a*a*a*a*a*b", long_name));
  EXPECT_TRUE(MatchesJobPattern("*a*a*a*a*a*", long_name));
}

TEST(JobPattern, Validates) {
  EXPECT_TRUE(ValidateJobPattern("team-a-*").ok());
  EXPECT_TRUE(ValidateJobPattern("*").ok());
  EXPECT_TRUE(ValidateJobPattern("a.b_c?").ok());
  for (const char* bad : {"", "team a", "team/a", "a[bc]", "é*", "a,b"}) {
    EXPECT_EQ(ValidateJobPattern(bad).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(ValidateJobPattern(std::string(101, 'a')).ok());
  EXPECT_TRUE(ValidateJobPattern(std::string(100, 'a')).ok());
}

// --- tokens and hashes ----------------------------------------------------

TEST(Tokens, HashIsSha256) {
  EXPECT_EQ(FormatDigest(HashToken("abc")),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(FormatDigest(HashToken("")),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Tokens, NewTokensAreRandomAndWellFormed) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    absl::StatusOr<std::string> token = NewToken();
    ASSERT_TRUE(token.ok()) << token.status();
    ASSERT_TRUE(absl::StartsWith(*token, kTokenPrefix)) << *token;
    EXPECT_EQ(token->size(), kTokenPrefix.size() + 43);  // 32 bytes, base64url, no padding
    for (char c : token->substr(kTokenPrefix.size())) {
      EXPECT_TRUE(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')
          << *token;
    }
    seen.insert(*token);
  }
  EXPECT_EQ(seen.size(), 100u);
}

// --- the token file -------------------------------------------------------

TEST(TokenFile, Parses) {
  const std::string text = absl::StrCat(
      "# Sluice API tokens\n"
      "\n",
      Line("ci-deploy", "operator", kTokenA, "team-a-*"), "\r\n", "   ",
      Line("dashboard", "viewer", kTokenB), "   \n", "\t# indented comment\n",
      Line("root@ops", "admin", kTokenC, "*"), "\n");
  absl::StatusOr<std::vector<TokenEntry>> entries = ParseTokenFile(text);
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ((*entries)[0].name, "ci-deploy");
  EXPECT_EQ((*entries)[0].role, Role::kOperator);
  EXPECT_EQ((*entries)[0].jobs, "team-a-*");
  EXPECT_EQ((*entries)[0].digest, HashToken(kTokenA));
  EXPECT_EQ((*entries)[1].name, "dashboard");
  EXPECT_EQ((*entries)[1].role, Role::kViewer);
  EXPECT_EQ((*entries)[1].jobs, "");
  EXPECT_EQ((*entries)[2].role, Role::kAdmin);
  EXPECT_EQ((*entries)[2].jobs, "") << "'*' means every job";
  // Upper-case hex is read too.
  std::string upper = Line("u", "viewer", kTokenA);
  for (size_t i = upper.find(':') + 1; i < upper.size(); ++i)
    upper[i] = absl::ascii_toupper(upper[i]);
  EXPECT_TRUE(ParseTokenFile(upper).ok());
  EXPECT_TRUE(ParseTokenFile("").ok());
  EXPECT_TRUE(ParseTokenFile("# nothing but comments\n\n").ok());
}

TEST(TokenFile, FormatRoundTrips) {
  TokenEntry entry{
      .name = "n", .role = Role::kOperator, .digest = HashToken(kTokenA), .jobs = "j-*"};
  absl::StatusOr<std::vector<TokenEntry>> back = ParseTokenFile(FormatTokenLine(entry));
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->size(), 1u);
  EXPECT_EQ((*back)[0].name, "n");
  EXPECT_EQ((*back)[0].role, Role::kOperator);
  EXPECT_EQ((*back)[0].digest, entry.digest);
  EXPECT_EQ((*back)[0].jobs, "j-*");
}

TEST(TokenFile, RefusesMalformedLines) {
  const std::string hash = FormatDigest(HashToken(kTokenA));
  struct Case {
    std::string text;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"onlyname", "line 1: expected NAME ROLE sha256:HEX [JOBS], found 1 field"},
      {"name viewer", "found 2 fields"},
      {absl::StrCat("n viewer ", hash, " jobs extra"), "found 5 fields"},
      {absl::StrCat("n boss ", hash), "the role is viewer, operator or admin"},
      {absl::StrCat("n Viewer ", hash), "the role is"},
      {"n viewer sha256:abc", "the hash is sha256: and 64 hex digits"},
      {absl::StrCat("n viewer ", hash.substr(7)), "the hash is"},
      {absl::StrCat("n viewer md5:", hash.substr(7)), "the hash is"},
      {absl::StrCat("n viewer sha256:", std::string(63, 'a'), "g"), "the hash is"},
      {absl::StrCat("bad/name viewer ", hash), "a token name is"},
      {absl::StrCat(std::string(65, 'n'), " viewer ", hash), "a token name is"},
      {absl::StrCat("n viewer ", hash, " team/a"), "a job pattern"},
      {absl::StrCat("# c\n\nn viewer ", hash, "\nn admin ", FormatDigest(HashToken(kTokenB))),
       "line 4: the name is taken on line 3: n"},
      {absl::StrCat("a viewer ", hash, "\nb admin ", hash), "line 2: the same token as on line 1"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::vector<TokenEntry>> entries = ParseTokenFile(c.text);
    ASSERT_FALSE(entries.ok()) << c.text;
    EXPECT_EQ(entries.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(entries.status().message(), HasSubstr(c.says)) << c.text;
  }
}

TEST(TokenFile, NeverEchoesATokenPastedByMistake) {
  // The token itself where its hash belongs, and where the role belongs.
  for (const std::string& text :
       {absl::StrCat("ci operator ", kTokenA), absl::StrCat("ci ", kTokenA, " operator"),
        absl::StrCat(kTokenA)}) {
    absl::StatusOr<std::vector<TokenEntry>> entries = ParseTokenFile(text);
    ASSERT_FALSE(entries.ok());
    EXPECT_THAT(entries.status().message(), HasSubstr("like a token"));
    EXPECT_THAT(entries.status().message(), Not(HasSubstr(kTokenA + 7)));
  }
}

// --- the token store ------------------------------------------------------

class TokenStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           absl::StrCat("sluice-api-auth-test-", ::getpid(), "-",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "tokens").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Replaces the file atomically, as the documentation asks (a new inode:
  // seen as a change even within one mtime tick).
  void Write(const std::string& text) {
    const std::string temp = path_ + ".new";
    {
      std::ofstream out(temp, std::ios::trunc);
      out << text;
    }
    fs::rename(temp, path_);
  }

  std::unique_ptr<TokenStore> Open() {
    auto store = TokenStore::Open(path_, [this](const std::string& line) {
      absl::MutexLock lock(&mu_);
      log_.push_back(line);
      if (reloaded_ != nullptr && absl::StrContains(line, "reloaded")) reloaded_->Notify();
    });
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  std::vector<std::string> Log() {
    absl::MutexLock lock(&mu_);
    return log_;
  }

  fs::path dir_;
  std::string path_;
  absl::Mutex mu_;
  std::vector<std::string> log_ ABSL_GUARDED_BY(mu_);
  absl::Notification* reloaded_ ABSL_GUARDED_BY(mu_) = nullptr;
};

TEST_F(TokenStoreTest, FindsTokensByTheirHash) {
  Write(absl::StrCat(Line("a", "viewer", kTokenA), "\n", Line("b", "admin", kTokenB, "x-*")));
  std::unique_ptr<TokenStore> store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->size(), 2u);
  std::optional<TokenEntry> a = store->Find(kTokenA);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->name, "a");
  EXPECT_EQ(a->role, Role::kViewer);
  std::optional<TokenEntry> b = store->Find(kTokenB);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->jobs, "x-*");
  EXPECT_FALSE(store->Find(kTokenC));
  EXPECT_FALSE(store->Find(""));
  EXPECT_FALSE(store->Find(std::string(kTokenA) + "x"));
  EXPECT_FALSE(store->Find(FormatDigest(HashToken(kTokenA)))) << "the hash is not the token";
  EXPECT_FALSE(store->Find(std::string(100'000, 'a')));
}

TEST_F(TokenStoreTest, OpenFailsOnAMissingOrBrokenFile) {
  auto missing = TokenStore::Open(path_, nullptr);
  EXPECT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("cannot read the token file"));
  Write("ci operator not-a-hash\n");
  auto broken = TokenStore::Open(path_, nullptr);
  EXPECT_EQ(broken.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(broken.status().message(), HasSubstr(path_));
  EXPECT_THAT(broken.status().message(), HasSubstr("line 1"));
  Write(std::string((1 << 20) + 1, '#'));
  auto large = TokenStore::Open(path_, nullptr);
  EXPECT_THAT(large.status().message(), HasSubstr("larger than"));
}

TEST_F(TokenStoreTest, ReloadsWhenTheFileChanges) {
  Write(Line("a", "viewer", kTokenA));
  std::unique_ptr<TokenStore> store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_FALSE(store->ReloadIfChanged()) << "nothing changed";

  // A token added.
  Write(absl::StrCat(Line("a", "viewer", kTokenA), "\n", Line("b", "operator", kTokenB)));
  EXPECT_TRUE(store->ReloadIfChanged());
  EXPECT_TRUE(store->Find(kTokenB));
  EXPECT_THAT(Log().back(), HasSubstr("reloaded"));

  // A broken file keeps the previous tokens, says why, and is not read
  // again until it changes.
  Write(absl::StrCat(Line("a", "viewer", kTokenA), "\nb operator ", kTokenB, "\n"));
  EXPECT_FALSE(store->ReloadIfChanged());
  EXPECT_TRUE(store->Find(kTokenA));
  EXPECT_TRUE(store->Find(kTokenB));
  EXPECT_THAT(Log().back(), HasSubstr("keeping the previous 2 token(s)"));
  EXPECT_THAT(Log().back(), HasSubstr("line 2"));
  EXPECT_THAT(Log().back(), Not(HasSubstr(kTokenB + 7)));
  const size_t logged = Log().size();
  EXPECT_FALSE(store->ReloadIfChanged());
  EXPECT_EQ(Log().size(), logged) << "a broken file is reported once";

  // A token removed.
  Write(Line("b", "operator", kTokenB));
  EXPECT_TRUE(store->ReloadIfChanged());
  EXPECT_FALSE(store->Find(kTokenA));
  EXPECT_TRUE(store->Find(kTokenB));

  // A deleted file keeps the tokens; its return is a change.
  fs::remove(path_);
  EXPECT_FALSE(store->ReloadIfChanged());
  EXPECT_TRUE(store->Find(kTokenB));
  EXPECT_THAT(Log().back(), HasSubstr("cannot read"));
  Write(Line("c", "admin", kTokenC));
  EXPECT_TRUE(store->ReloadIfChanged());
  EXPECT_TRUE(store->Find(kTokenC));
  EXPECT_FALSE(store->Find(kTokenB));

  // An empty file is valid: no token gets in.
  Write("");
  EXPECT_TRUE(store->ReloadIfChanged());
  EXPECT_EQ(store->size(), 0u);
}

TEST_F(TokenStoreTest, TheWatcherReloads) {
  Write(Line("a", "viewer", kTokenA));
  std::unique_ptr<TokenStore> store = Open();
  ASSERT_NE(store, nullptr);
  absl::Notification reloaded;
  {
    absl::MutexLock lock(&mu_);
    reloaded_ = &reloaded;
  }
  store->Watch(absl::Milliseconds(20));
  Write(Line("b", "viewer", kTokenB));
  ASSERT_TRUE(reloaded.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE(store->Find(kTokenB));
  EXPECT_FALSE(store->Find(kTokenA));
  store.reset();  // stops the watcher
  absl::MutexLock lock(&mu_);
  reloaded_ = nullptr;
}

// --- the authorizer -------------------------------------------------------

TEST_F(TokenStoreTest, IdentifiesCallers) {
  Write(absl::StrCat(Line("ops", "operator", kTokenA, "team-a-*"), "\n",
                     Line("viewer", "viewer", kTokenB)));
  std::unique_ptr<TokenStore> store = Open();
  ASSERT_NE(store, nullptr);
  const Authorizer authorizer(store.get());
  const std::string bearer_a = absl::StrCat("Bearer ", kTokenA);

  absl::StatusOr<Caller> ops = authorizer.Identify({bearer_a}, "");
  ASSERT_TRUE(ops.ok()) << ops.status();
  EXPECT_EQ(ops->name, "ops");
  EXPECT_EQ(ops->via, "token");
  EXPECT_EQ(ops->role, Role::kOperator);
  EXPECT_EQ(ops->jobs, "team-a-*");

  // The scheme in any case, spaces around the token.
  const std::string lower = absl::StrCat("bearer   ", kTokenB, " ");
  absl::StatusOr<Caller> viewer = authorizer.Identify({lower}, "client-1");
  ASSERT_TRUE(viewer.ok()) << viewer.status();
  EXPECT_EQ(viewer->name, "viewer");
  EXPECT_EQ(viewer->client_cn, "client-1");

  struct Case {
    std::vector<std::string> values;
    std::string says;
  };
  const std::vector<Case> refused = {
      {{}, "missing token"},
      {{bearer_a, bearer_a}, "more than one"},
      {{kTokenA}, "not Bearer"},
      {{absl::StrCat("Basic ", kTokenA)}, "not Bearer"},
      {{"Bearer"}, "not Bearer"},
      {{"Bearer "}, "not Bearer"},
      {{absl::StrCat("Bearer ", kTokenA, " extra")}, "not Bearer"},
      {{absl::StrCat("Bearer ", kTokenC)}, "unknown token"},
      {{absl::StrCat("Bearer ", FormatDigest(HashToken(kTokenA)))}, "unknown token"},
  };
  for (const Case& c : refused) {
    const std::vector<absl::string_view> values(c.values.begin(), c.values.end());
    absl::StatusOr<Caller> caller = authorizer.Identify(values, "client-1");
    ASSERT_FALSE(caller.ok()) << c.says;
    EXPECT_EQ(caller.status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_THAT(caller.status().message(), HasSubstr(c.says));
    EXPECT_THAT(caller.status().message(), Not(HasSubstr(kTokenA + 7)));
  }
}

TEST(Authorizer, WithoutTokensEveryoneIsTrusted) {
  const Authorizer authorizer(nullptr);
  EXPECT_FALSE(authorizer.requires_token());
  absl::StatusOr<Caller> anonymous = authorizer.Identify({}, "");
  ASSERT_TRUE(anonymous.ok());
  EXPECT_EQ(anonymous->name, "anonymous");
  EXPECT_EQ(anonymous->via, "none");
  EXPECT_EQ(anonymous->role, Role::kAdmin);
  // A token sent anyway changes nothing.
  absl::StatusOr<Caller> certified = authorizer.Identify({"Bearer whatever"}, "ops-laptop");
  ASSERT_TRUE(certified.ok());
  EXPECT_EQ(certified->name, "ops-laptop");
  EXPECT_EQ(certified->via, "certificate");
}

TEST(Authorizer, JobPatternsLimitWhatATokenTouches) {
  const Caller team_a = TokenCaller("team-a", Role::kOperator, "team-a-*");
  const std::string own = "team-a-x", other = "team-b-x";
  for (ApiMethod method : {ApiMethod::kDescribeJob, ApiMethod::kTailOutput, ApiMethod::kStopJob,
                           ApiMethod::kSubmitJob, ApiMethod::kUpdateJob}) {
    EXPECT_TRUE(Authorizer::Permit(team_a, method, &own).ok()) << MethodName(method);
    const absl::Status denied = Authorizer::Permit(team_a, method, &other);
    EXPECT_EQ(denied.code(), absl::StatusCode::kPermissionDenied) << MethodName(method);
    EXPECT_THAT(denied.message(), HasSubstr("team-a-*"));
    EXPECT_THAT(denied.message(), HasSubstr("team-b-x"));
  }
  EXPECT_TRUE(Authorizer::Permit(team_a, ApiMethod::kListJobs, nullptr).ok());
  EXPECT_TRUE(Authorizer::MayTouch(team_a, own));
  EXPECT_FALSE(Authorizer::MayTouch(team_a, other));
  const Caller everything = TokenCaller("all", Role::kViewer);
  EXPECT_TRUE(Authorizer::MayTouch(everything, other));
  // A huge job name is cut in the message.
  const std::string huge(1 << 20, 'z');
  const absl::Status denied = Authorizer::Permit(team_a, ApiMethod::kStopJob, &huge);
  EXPECT_LT(denied.message().size(), 300u);
}

// --- audit records --------------------------------------------------------

TEST(AuditJson, OneLineOfEscapedJson) {
  AuditRecord record;
  record.time_ms = 1'764'590'400'123;  // 2025-12-01T12:00:00.123Z
  record.worker = "w1";
  record.who = "ci";
  record.via = "token";
  record.role = "operator";
  record.method = "SubmitJob";
  record.job = "team-\"a\"\nx";
  record.code = 7;
  record.message = "role too low";
  record.peer = "ipv4:127.0.0.1:5000";
  const std::string json = AuditJson(record);
  EXPECT_EQ(json,
            "{\"time\":\"2025-12-01T12:00:00.123Z\",\"worker\":\"w1\",\"who\":\"ci\","
            "\"via\":\"token\",\"role\":\"operator\",\"method\":\"SubmitJob\","
            "\"job\":\"team-\\\"a\\\"\\nx\",\"code\":\"PERMISSION_DENIED\","
            "\"message\":\"role too low\",\"peer\":\"ipv4:127.0.0.1:5000\"}");
  record.client_cn = "ops";
  record.job = std::string(5000, 'j');
  record.message = std::string(5000, 'm');
  const std::string cut = AuditJson(record);
  EXPECT_THAT(cut, HasSubstr("\"client_cn\":\"ops\""));
  EXPECT_LT(cut.size(), 1500u);
  EXPECT_EQ(cut.find('\n'), std::string::npos);
  // A cut never splits a UTF-8 character.
  record.job = std::string(199, 'j') + "\xC3\xA9" + "tail";
  EXPECT_THAT(AuditJson(record), HasSubstr(std::string(199, 'j') + "...\""));
}

}  // namespace
}  // namespace sluice

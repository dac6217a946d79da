// What deciding who calls costs a JobService request, in-process: the
// Authorizer's Identify (parse `Bearer <token>`, SHA-256 of the token, a
// constant-time comparison with every entry of the token file) and Permit
// (role and job pattern), beside the baseline of a worker without a token
// file. Token files of 1, 100 and 1,000 tokens: the lookup compares with
// every entry on purpose, so it grows with the file. The cost of a whole
// call over gRPC, with and without tokens and TLS, is measured by
// bench/api_auth_cost.py against real workers.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/app/control/api_auth.h"

namespace sluice::bench {
namespace {

// A token file of `count` tokens; the caller's is the last line (the
// lookup compares with all of them anyway).
struct TokenFile {
  explicit TokenFile(int count) {
    path = absl::StrCat("/tmp/sluice-api-auth-benchmark-", ::getpid(), "-", count);
    std::ofstream out(path, std::ios::trunc);
    for (int i = 0; i < count; ++i) {
      TokenEntry entry;
      entry.name = absl::StrCat("token-", i);
      entry.role = Role::kOperator;
      token = *NewToken();
      entry.digest = HashToken(token);
      entry.jobs = "team-a-*";
      out << FormatTokenLine(entry) << "\n";
    }
    out.close();
    store = *TokenStore::Open(path, nullptr);
  }
  ~TokenFile() { std::remove(path.c_str()); }

  std::string path;
  std::string token;
  std::unique_ptr<TokenStore> store;
};

void BM_Authorize_NoTokenFile(benchmark::State& state) {
  const Authorizer authorizer(nullptr);
  const std::string job = "team-a-job";
  for (auto _ : state) {
    absl::StatusOr<Caller> caller = authorizer.Identify({}, "");
    benchmark::DoNotOptimize(Authorizer::Permit(*caller, ApiMethod::kSubmitJob, &job));
  }
}
BENCHMARK(BM_Authorize_NoTokenFile);

void BM_Authorize_Token(benchmark::State& state) {
  const TokenFile file(static_cast<int>(state.range(0)));
  const Authorizer authorizer(file.store.get());
  const std::string header = absl::StrCat("Bearer ", file.token);
  const std::vector<absl::string_view> values = {header};
  const std::string job = "team-a-job";
  for (auto _ : state) {
    absl::StatusOr<Caller> caller = authorizer.Identify(values, "");
    if (!caller.ok()) state.SkipWithError("the token is not found");
    benchmark::DoNotOptimize(Authorizer::Permit(*caller, ApiMethod::kSubmitJob, &job));
  }
}
BENCHMARK(BM_Authorize_Token)->Arg(1)->Arg(100)->Arg(1000);

void BM_HashToken(benchmark::State& state) {
  const std::string token = *NewToken();
  for (auto _ : state) benchmark::DoNotOptimize(HashToken(token));
}
BENCHMARK(BM_HashToken);

}  // namespace
}  // namespace sluice::bench

BENCHMARK_MAIN();

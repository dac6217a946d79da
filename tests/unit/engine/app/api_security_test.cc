#include "engine/app/control/api_security.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

ApiSecurityOptions Options(std::string cert, std::string key, std::string client_ca = "",
                           std::string tokens = "") {
  ApiSecurityOptions options;
  options.tls_cert = std::move(cert);
  options.tls_key = std::move(key);
  options.tls_client_ca = std::move(client_ca);
  options.token_file = std::move(tokens);
  return options;
}

TEST(LoopbackRule, WhatCountsAsLoopback) {
  for (const char* local :
       {"localhost:9750", "LOCALHOST:1", "127.0.0.1:9750", "127.1.2.3:80", "[::1]:9750",
        "[::ffff:127.0.0.1]:9750", "unix:/tmp/sluice.sock", "unix-abstract:sluice"}) {
    EXPECT_TRUE(IsLoopbackListen(local)) << local;
  }
  for (const char* open :
       {"0.0.0.0:9750", "[::]:9750", ":9750", "10.0.0.5:9750", "192.168.1.1:1", "[fe80::1]:1",
        "[::ffff:10.0.0.1]:1", "example.com:9750", "localhost.example.com:1", "worker:9750",
        "128.0.0.1:1", "127.1:1", "9750", ""}) {
    EXPECT_FALSE(IsLoopbackListen(open)) << open;
  }
}

// Writes PEM files: a CA-less self-signed certificate and keys, made with
// OpenSSL's API (no `openssl` command needed in unit tests).
class CertificateFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           absl::StrCat("sluice-api-security-test-", ::getpid(), "-",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  static EVP_PKEY* NewKey() { return EVP_EC_gen("P-256"); }

  // A self-signed certificate for `key`, valid from `from_s` to `to_s`
  // seconds from now.
  static X509* NewCertificate(EVP_PKEY* key, long from_s, long to_s) {
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), from_s);
    X509_gmtime_adj(X509_getm_notAfter(cert), to_s);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509_sign(cert, key, EVP_sha256());
    return cert;
  }

  void WriteKey(EVP_PKEY* key, const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
  }
  void WriteCertificate(X509* cert, const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    PEM_write_X509(f, cert);
    std::fclose(f);
  }
  void WriteText(const std::string& text, const std::string& path) {
    std::ofstream(path, std::ios::trunc) << text;
  }

  // server.crt + server.key, other.key (a key of another certificate),
  // expired.crt (server.key's, expired), tokens.
  void WriteAll() {
    EVP_PKEY* key = NewKey();
    EVP_PKEY* other = NewKey();
    X509* cert = NewCertificate(key, -60, 3600);
    X509* expired = NewCertificate(key, -7200, -3600);
    WriteKey(key, Path("server.key"));
    WriteKey(other, Path("other.key"));
    WriteCertificate(cert, Path("server.crt"));
    WriteCertificate(expired, Path("expired.crt"));
    X509_free(cert);
    X509_free(expired);
    EVP_PKEY_free(key);
    EVP_PKEY_free(other);
    WriteText("# no tokens yet\n", Path("tokens"));
  }

  fs::path dir_;
};

TEST_F(CertificateFiles, LoopbackNeedsNothing) {
  absl::StatusOr<ApiSecurity> security = PrepareApiSecurity({}, "localhost:9750", nullptr);
  ASSERT_TRUE(security.ok()) << security.status();
  EXPECT_FALSE(security->tls);
  EXPECT_EQ(security->tokens, nullptr);
  EXPECT_TRUE(security->reflection);
  EXPECT_EQ(security->warning, "");
  ASSERT_NE(security->credentials, nullptr);
  EXPECT_EQ(security->Describe(), "loopback only, no TLS, no tokens, reflection on");
}

TEST_F(CertificateFiles, OtherAddressesNeedTlsAndAuthentication) {
  WriteAll();
  const ApiSecurityOptions tokens_only = Options("", "", "", Path("tokens"));
  const ApiSecurityOptions tls_only = Options(Path("server.crt"), Path("server.key"));
  ApiSecurityOptions both = tls_only;
  both.token_file = Path("tokens");
  ApiSecurityOptions mutual = tls_only;
  mutual.tls_client_ca = Path("server.crt");

  for (const char* listen : {"0.0.0.0:9750", "[::]:9750", "10.1.2.3:9750", "worker:9750"}) {
    absl::StatusOr<ApiSecurity> none = PrepareApiSecurity({}, listen, nullptr);
    EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument) << listen;
    EXPECT_THAT(none.status().message(), HasSubstr("--insecure"));
    EXPECT_THAT(none.status().message(), HasSubstr(listen));
    EXPECT_THAT(none.status().message(), HasSubstr("TLS"));
    EXPECT_THAT(none.status().message(), HasSubstr("authentication"));

    absl::StatusOr<ApiSecurity> clear_tokens = PrepareApiSecurity(tokens_only, listen, nullptr);
    EXPECT_FALSE(clear_tokens.ok()) << "a token would travel in clear on " << listen;
    EXPECT_THAT(clear_tokens.status().message(), Not(HasSubstr("authentication")));

    absl::StatusOr<ApiSecurity> anyone = PrepareApiSecurity(tls_only, listen, nullptr);
    EXPECT_FALSE(anyone.ok()) << "TLS without authentication on " << listen;

    absl::StatusOr<ApiSecurity> ok = PrepareApiSecurity(both, listen, nullptr);
    ASSERT_TRUE(ok.ok()) << ok.status();
    EXPECT_TRUE(ok->tls);
    EXPECT_FALSE(ok->mutual_tls);
    EXPECT_NE(ok->tokens, nullptr);
    EXPECT_FALSE(ok->reflection) << "tokens: no reflection unless asked";
    EXPECT_EQ(ok->warning, "");

    absl::StatusOr<ApiSecurity> certificates = PrepareApiSecurity(mutual, listen, nullptr);
    ASSERT_TRUE(certificates.ok()) << certificates.status();
    EXPECT_TRUE(certificates->mutual_tls);
    EXPECT_TRUE(certificates->reflection);
  }
}

TEST_F(CertificateFiles, InsecureLetsItThroughWithAWarning) {
  WriteAll();
  ApiSecurityOptions options;
  options.insecure = true;
  absl::StatusOr<ApiSecurity> security = PrepareApiSecurity(options, "0.0.0.0:9750", nullptr);
  ASSERT_TRUE(security.ok()) << security.status();
  EXPECT_THAT(security->warning, HasSubstr("INSECURE"));
  EXPECT_THAT(security->warning, HasSubstr("0.0.0.0:9750"));
  EXPECT_THAT(security->warning, HasSubstr("no TLS and no authentication"));
  EXPECT_THAT(security->Describe(), HasSubstr("whoever connects may do everything"));
  options.token_file = Path("tokens");
  options.reflection = true;
  security = PrepareApiSecurity(options, "0.0.0.0:9750", nullptr);
  ASSERT_TRUE(security.ok()) << security.status();
  EXPECT_THAT(security->warning, HasSubstr("no TLS"));
  EXPECT_THAT(security->warning, Not(HasSubstr("authentication")));
  EXPECT_TRUE(security->reflection) << "--reflection";
  // On loopback there is nothing to warn about.
  security = PrepareApiSecurity(options, "127.0.0.1:9750", nullptr);
  ASSERT_TRUE(security.ok());
  EXPECT_EQ(security->warning, "");
}

TEST_F(CertificateFiles, BadCertificatesAreRefusedAtStart) {
  WriteAll();
  WriteText("not a certificate\n", Path("garbage.pem"));
  struct Case {
    ApiSecurityOptions options;
    std::string says;
  };
  const std::vector<Case> cases = {
      {Options(Path("missing.crt"), Path("server.key")), "cannot read --tls-cert"},
      {Options(Path("server.crt"), Path("missing.key")), "cannot read --tls-key"},
      {Options(Path("garbage.pem"), Path("server.key")), "no PEM certificate"},
      {Options(Path("server.crt"), Path("garbage.pem")), "no unencrypted PEM"},
      {Options(Path("server.crt"), Path("other.key")), "does not belong"},
      {Options(Path("expired.crt"), Path("server.key")), "has expired"},
      {Options(Path("server.crt"), Path("server.key"), Path("garbage.pem")),
       "no PEM certificate in --tls-client-ca"},
      {Options("", "", "", Path("missing-tokens")), "cannot read the token file"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<ApiSecurity> security = PrepareApiSecurity(c.options, "localhost:1", nullptr);
    ASSERT_FALSE(security.ok()) << c.says;
    EXPECT_THAT(security.status().message(), HasSubstr(c.says));
  }
}

TEST(ApiSecurityFlags, PairsAreChecked) {
  auto parse = [](std::vector<std::string> args) {
    auto cl = CommandLine::Parse(ApiSecurityFlags(), args);
    EXPECT_TRUE(cl.ok()) << cl.status();
    return ApiSecurityOptionsFromFlags(*cl);
  };
  EXPECT_FALSE(parse({"--tls-cert", "a"}).ok());
  EXPECT_FALSE(parse({"--tls-key", "a"}).ok());
  EXPECT_FALSE(parse({"--tls-client-ca", "a"}).ok());
  auto options = parse({"--tls-cert", "c", "--tls-key", "k", "--tls-client-ca", "ca",
                        "--token-file", "t", "--insecure", "--reflection"});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->tls_client_ca, "ca");
  EXPECT_EQ(options->token_file, "t");
  EXPECT_TRUE(options->insecure);
  EXPECT_TRUE(options->reflection);
}

class ClientSecurityTest : public CertificateFiles {
 protected:
  void SetUp() override {
    CertificateFiles::SetUp();
    for (const char* name : {"SLUICE_TOKEN", "SLUICE_TOKEN_FILE", "SLUICE_TLS_CA",
                             "SLUICE_TLS_CERT", "SLUICE_TLS_KEY"}) {
      ::unsetenv(name);
    }
  }
  absl::StatusOr<ClientSecurity> Load(std::vector<std::string> args) {
    auto cl = CommandLine::Parse(ClientSecurityFlags(), args);
    EXPECT_TRUE(cl.ok()) << cl.status();
    return ClientSecurityFromFlags(*cl);
  }
};

TEST_F(ClientSecurityTest, TokensFromAFileOrTheEnvironment) {
  absl::StatusOr<ClientSecurity> none = Load({});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->tls);
  EXPECT_EQ(none->token, "");

  WriteText("  sluice_secret\n\n", Path("my.token"));
  absl::StatusOr<ClientSecurity> from_file = Load({"--token-file", Path("my.token")});
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  EXPECT_EQ(from_file->token, "sluice_secret");

  ::setenv("SLUICE_TOKEN", "sluice_from_env", 1);
  EXPECT_EQ(Load({})->token, "sluice_from_env");
  EXPECT_EQ(Load({"--token-file", Path("my.token")})->token, "sluice_secret") << "the flag wins";
  ::setenv("SLUICE_TOKEN_FILE", Path("my.token").c_str(), 1);
  EXPECT_EQ(Load({})->token, "sluice_secret");
  ::unsetenv("SLUICE_TOKEN");
  ::unsetenv("SLUICE_TOKEN_FILE");

  // The workers' file of hashes is not a token, and is not echoed.
  WriteText("ci operator sha256:abcd\nother viewer sha256:ef01\n", Path("tokens.txt"));
  absl::StatusOr<ClientSecurity> hashes = Load({"--token-file", Path("tokens.txt")});
  ASSERT_FALSE(hashes.ok());
  EXPECT_THAT(hashes.status().message(), HasSubstr("more than one token"));
  EXPECT_THAT(hashes.status().message(), Not(HasSubstr("sha256")));
  WriteText("\n", Path("empty.token"));
  EXPECT_FALSE(Load({"--token-file", Path("empty.token")}).ok());
  EXPECT_FALSE(Load({"--token-file", Path("missing.token")}).ok());
}

TEST_F(ClientSecurityTest, Tls) {
  WriteAll();
  absl::StatusOr<ClientSecurity> tls = Load({"--tls-ca", Path("server.crt")});
  ASSERT_TRUE(tls.ok()) << tls.status();
  EXPECT_TRUE(tls->tls);
  ::setenv("SLUICE_TLS_CA", Path("server.crt").c_str(), 1);
  EXPECT_TRUE(Load({})->tls);
  ::unsetenv("SLUICE_TLS_CA");
  EXPECT_TRUE(Load({"--tls"})->tls) << "the system's CAs";
  absl::StatusOr<ClientSecurity> mutual =
      Load({"--tls-ca", Path("server.crt"), "--tls-cert", Path("server.crt"), "--tls-key",
            Path("server.key")});
  ASSERT_TRUE(mutual.ok()) << mutual.status();
  EXPECT_FALSE(Load({"--tls-cert", Path("server.crt"), "--tls-key", Path("server.key")}).ok())
      << "a client certificate without TLS";
  EXPECT_FALSE(Load({"--tls-ca", Path("server.crt"), "--tls-cert", Path("server.crt")}).ok());
  EXPECT_FALSE(Load({"--tls-ca", Path("missing.crt")}).ok());
  EXPECT_FALSE(Load({"--tls-ca", Path("server.key")}).ok()) << "a key is not a CA certificate";
}

}  // namespace
}  // namespace sluice

#include "engine/app/control/api_security.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace sluice {
namespace {

constexpr size_t kMaxPemBytes = 1 << 20;
constexpr size_t kMaxTokenFileBytes = 4096;

absl::StatusOr<std::string> ReadSmallFile(const std::string& path, const char* what, size_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read ", what, ": ", path));
  std::string text(limit + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > limit) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is larger than ", limit, " bytes: ", path));
  }
  return text;
}

// OpenSSL's PEM readers would ask the terminal for the passphrase of an
// encrypted key; this answers "none".
int NoPassphrase(char*, int, int, void*) { return 0; }

struct OpenSslFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
  void operator()(X509* cert) const { X509_free(cert); }
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
template <typename T>
using OpenSslPtr = std::unique_ptr<T, OpenSslFree>;

OpenSslPtr<BIO> MemoryBio(const std::string& text) {
  return OpenSslPtr<BIO>(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// The certificates of a PEM bundle.
std::vector<OpenSslPtr<X509>> ReadCertificates(const std::string& pem) {
  std::vector<OpenSslPtr<X509>> certificates;
  OpenSslPtr<BIO> bio = MemoryBio(pem);
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr)) {
    certificates.emplace_back(cert);
  }
  ERR_clear_error();  // the end of the bundle reads as an error; gRPC shares the queue
  return certificates;
}

// A server's certificate chain and key: parseable, in their validity
// period, and belonging together.
absl::Status CheckKeyPair(const std::string& cert_pem, const std::string& key_pem,
                          const ApiSecurityOptions& options) {
  std::vector<OpenSslPtr<X509>> chain = ReadCertificates(cert_pem);
  if (chain.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("no PEM certificate in --tls-cert: ", options.tls_cert));
  }
  X509* leaf = chain.front().get();
  if (X509_cmp_current_time(X509_get0_notAfter(leaf)) <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("the --tls-cert certificate has expired: ", options.tls_cert));
  }
  if (X509_cmp_current_time(X509_get0_notBefore(leaf)) >= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("the --tls-cert certificate is not valid yet: ", options.tls_cert));
  }
  OpenSslPtr<BIO> bio = MemoryBio(key_pem);
  OpenSslPtr<EVP_PKEY> key(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  const bool matches = key != nullptr && X509_check_private_key(leaf, key.get()) == 1;
  ERR_clear_error();
  if (key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "no unencrypted PEM private key in --tls-key (decrypt it with `openssl pkey`): ",
        options.tls_key));
  }
  if (!matches) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the --tls-key key does not belong to the --tls-cert certificate: ", options.tls_key, ", ",
        options.tls_cert));
  }
  return absl::OkStatus();
}

// A flag's value, else the environment variable's.
std::string FlagOrEnvironment(const CommandLine& cl, const char* flag, const char* variable) {
  if (auto v = cl.Get(flag)) return *v;
  const char* env = std::getenv(variable);
  return env == nullptr ? "" : env;
}

absl::StatusOr<std::string> ReadClientToken(const std::string& path) {
  auto text = ReadSmallFile(path, "the token file", kMaxTokenFileBytes);
  if (!text.ok()) return text.status();
  const absl::string_view token = absl::StripAsciiWhitespace(*text);
  if (token.empty()) return absl::InvalidArgumentError(absl::StrCat("no token in ", path));
  if (token.find_first_of(" \t\r\n") != absl::string_view::npos) {
    // Never print the text: it may hold a secret.
    return absl::InvalidArgumentError(absl::StrCat(
        "the token file holds more than one token (give the file with the token itself, not "
        "the workers' file of hashes): ",
        path));
  }
  return std::string(token);
}

}  // namespace

const std::vector<FlagSpec>& ApiSecurityFlags() {
  static const std::vector<FlagSpec> flags = {
      {"tls-cert", true, false, "serve the API over TLS with this PEM certificate (chain)", "FILE"},
      {"tls-key", true, false, "the certificate's PEM private key", "FILE"},
      {"tls-client-ca", true, false,
       "mutual TLS: require client certificates signed by these PEM CA certificates", "FILE"},
      {"token-file", true, false,
       "require API tokens: their hashes, roles and job patterns (`sluice token create` makes "
       "them); re-read when it changes",
       "FILE"},
      {"insecure", false, false,
       "allow a non-loopback --grpc-listen without TLS and tokens (said in the log and health)"},
      {"reflection", false, false,
       "serve gRPC reflection even with --token-file (without it, reflection is on)"},
  };
  return flags;
}

absl::StatusOr<ApiSecurityOptions> ApiSecurityOptionsFromFlags(const CommandLine& cl) {
  ApiSecurityOptions options;
  options.tls_cert = cl.GetOr("tls-cert", "");
  options.tls_key = cl.GetOr("tls-key", "");
  options.tls_client_ca = cl.GetOr("tls-client-ca", "");
  options.token_file = cl.GetOr("token-file", "");
  options.insecure = cl.Has("insecure");
  options.reflection = cl.Has("reflection");
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  if (!options.tls_client_ca.empty() && options.tls_cert.empty()) {
    return absl::InvalidArgumentError(
        "--tls-client-ca (mutual TLS) needs --tls-cert and --tls-key too");
  }
  return options;
}

bool IsLoopbackListen(absl::string_view listen) {
  if (absl::StartsWith(listen, "unix:") || absl::StartsWith(listen, "unix-abstract:")) {
    return true;  // a local socket; its file's permissions decide who connects
  }
  const size_t colon = listen.rfind(':');
  if (colon == absl::string_view::npos) return false;
  std::string host(listen.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (absl::EqualsIgnoreCase(host, "localhost")) return true;
  in_addr v4;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6;
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&v6) || (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
  }
  return false;  // 0.0.0.0, ::, another address, or a host name other than localhost
}

std::string ApiSecurity::Describe() const {
  std::vector<std::string> parts;
  if (loopback) parts.push_back("loopback only");
  parts.push_back(!tls ? "no TLS" : mutual_tls ? "TLS with client certificates" : "TLS");
  if (tokens != nullptr) {
    parts.push_back(absl::StrCat(tokens->size(), " token(s) from ", tokens->path(),
                                 " (re-read when it changes)"));
  } else if (mutual_tls) {
    parts.push_back("no tokens: a client certificate grants every right");
  } else {
    parts.push_back(loopback ? "no tokens" : "no tokens: whoever connects may do everything");
  }
  parts.push_back(reflection ? "reflection on" : "reflection off");
  return absl::StrJoin(parts, ", ");
}

absl::StatusOr<ApiSecurity> PrepareApiSecurity(const ApiSecurityOptions& options,
                                               const std::string& listen, TokenStore::Logger log) {
  ApiSecurity security;
  security.tls = !options.tls_cert.empty();
  security.mutual_tls = security.tls && !options.tls_client_ca.empty();
  const bool authenticated = !options.token_file.empty() || security.mutual_tls;
  security.loopback = IsLoopbackListen(listen);
  if (!security.loopback) {
    std::vector<std::string> missing, missing_short;
    if (!security.tls) {
      missing.push_back("TLS (--tls-cert, --tls-key)");
      missing_short.push_back("TLS");
    }
    if (!authenticated) {
      missing.push_back("authentication (--token-file, or --tls-client-ca)");
      missing_short.push_back("authentication");
    }
    if (!missing.empty() && !options.insecure) {
      return absl::InvalidArgumentError(absl::StrCat(
          "an API address other machines can reach needs ", absl::StrJoin(missing, " and "),
          ": add them, listen on localhost, or accept the risk with --insecure: --grpc-listen ",
          listen));
    }
    if (!missing.empty()) {
      security.warning = absl::StrCat("INSECURE: the API on ", listen, " has no ",
                                      absl::StrJoin(missing_short, " and no "), " (--insecure)");
    }
  }
  if (security.tls) {
    auto cert = ReadSmallFile(options.tls_cert, "--tls-cert", kMaxPemBytes);
    if (!cert.ok()) return cert.status();
    auto key = ReadSmallFile(options.tls_key, "--tls-key", kMaxPemBytes);
    if (!key.ok()) return key.status();
    if (absl::Status s = CheckKeyPair(*cert, *key, options); !s.ok()) return s;
    grpc::SslServerCredentialsOptions ssl(
        security.mutual_tls ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                            : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    if (security.mutual_tls) {
      auto ca = ReadSmallFile(options.tls_client_ca, "--tls-client-ca", kMaxPemBytes);
      if (!ca.ok()) return ca.status();
      if (ReadCertificates(*ca).empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("no PEM certificate in --tls-client-ca: ", options.tls_client_ca));
      }
      ssl.pem_root_certs = *std::move(ca);
    }
    ssl.pem_key_cert_pairs.push_back({*std::move(key), *std::move(cert)});
    security.credentials = grpc::SslServerCredentials(ssl);
  } else {
    security.credentials = grpc::InsecureServerCredentials();
  }
  if (!options.token_file.empty()) {
    auto tokens = TokenStore::Open(options.token_file, std::move(log));
    if (!tokens.ok()) return tokens.status();
    security.tokens = *std::move(tokens);
  }
  security.reflection = security.tokens == nullptr || options.reflection;
  return security;
}

const std::vector<FlagSpec>& ClientSecurityFlags() {
  static const std::vector<FlagSpec> flags = {
      {"token-file", true, false,
       "send the API token this file holds (default: $SLUICE_TOKEN_FILE, else the token in "
       "$SLUICE_TOKEN)",
       "FILE"},
      {"tls-ca", true, false,
       "talk TLS, trusting worker certificates signed by these PEM CA certificates (default: "
       "$SLUICE_TLS_CA)",
       "FILE"},
      {"tls-cert", true, false, "mutual TLS: this client certificate (default: $SLUICE_TLS_CERT)",
       "FILE"},
      {"tls-key", true, false, "its private key (default: $SLUICE_TLS_KEY)", "FILE"},
      {"tls", false, false, "talk TLS, trusting the system's CA certificates"},
  };
  return flags;
}

absl::StatusOr<ClientSecurity> ClientSecurityFromFlags(const CommandLine& cl) {
  ClientSecurity security;
  if (const std::string path = FlagOrEnvironment(cl, "token-file", "SLUICE_TOKEN_FILE");
      !path.empty()) {
    auto token = ReadClientToken(path);
    if (!token.ok()) return token.status();
    security.token = *std::move(token);
  } else if (const char* token = std::getenv("SLUICE_TOKEN"); token != nullptr) {
    security.token = std::string(absl::StripAsciiWhitespace(token));
  }
  const std::string ca_path = FlagOrEnvironment(cl, "tls-ca", "SLUICE_TLS_CA");
  const std::string cert_path = FlagOrEnvironment(cl, "tls-cert", "SLUICE_TLS_CERT");
  const std::string key_path = FlagOrEnvironment(cl, "tls-key", "SLUICE_TLS_KEY");
  security.tls = !ca_path.empty() || cl.Has("tls");
  if (cert_path.empty() != key_path.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  if (!cert_path.empty() && !security.tls) {
    return absl::InvalidArgumentError(
        "a client certificate (--tls-cert) needs TLS: give --tls-ca FILE or --tls");
  }
  if (!security.tls) {
    security.credentials = grpc::InsecureChannelCredentials();
    return security;
  }
  grpc::SslCredentialsOptions ssl;
  if (!ca_path.empty()) {
    auto ca = ReadSmallFile(ca_path, "--tls-ca", kMaxPemBytes);
    if (!ca.ok()) return ca.status();
    if (ReadCertificates(*ca).empty()) {
      return absl::InvalidArgumentError(absl::StrCat("no PEM certificate in --tls-ca: ", ca_path));
    }
    ssl.pem_root_certs = *std::move(ca);
  }
  if (!cert_path.empty()) {
    auto cert = ReadSmallFile(cert_path, "--tls-cert", kMaxPemBytes);
    if (!cert.ok()) return cert.status();
    auto key = ReadSmallFile(key_path, "--tls-key", kMaxPemBytes);
    if (!key.ok()) return key.status();
    ssl.pem_cert_chain = *std::move(cert);
    ssl.pem_private_key = *std::move(key);
  }
  security.credentials = grpc::SslCredentials(ssl);
  return security;
}

}  // namespace sluice

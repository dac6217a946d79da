// How the JobService API is protected on the wire and at the door: TLS
// (optionally mutual), the token file, the loopback rule and reflection,
// for the worker (server) and for the `sluice` client commands.
//
// The loopback rule (design.md, "Security and operations"): a worker whose
// API is reachable from other machines must encrypt (TLS) and authenticate
// (tokens, or client certificates under mutual TLS). A non-loopback
// --grpc-listen without both is refused unless the worker is started with
// --insecure, which it then says in its log and in its health text.
// Loopback: localhost, 127.0.0.0/8, ::1 (and ::ffff:127.0.0.0/104) and
// unix: sockets; anything else (0.0.0.0, [::], another address, any other
// host name) is not.
//
// Reflection is served when no token file is configured (a loopback or
// mutual-TLS worker, where whoever connects is trusted), and with tokens
// only when --reflection asks for it. Health checking is always open: it
// tells only SERVING or NOT_SERVING, and orchestrators probe it without
// credentials.
#ifndef SLUICE_ENGINE_APP_CONTROL_API_SECURITY_H_
#define SLUICE_ENGINE_APP_CONTROL_API_SECURITY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/app/base/command_line.h"
#include "engine/app/control/api_auth.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"

namespace sluice {

// --- the worker ---------------------------------------------------------

struct ApiSecurityOptions {
  std::string tls_cert;       // PEM certificate chain of the server
  std::string tls_key;        // its PEM private key (unencrypted)
  std::string tls_client_ca;  // PEM CA certificates: require client certificates they signed
  std::string token_file;     // hashed tokens (api_auth.h); empty: no tokens
  bool insecure = false;      // serve a non-loopback address without TLS or authentication
  bool reflection = false;    // serve reflection even with tokens
};

// The worker's flags for the options above, and reading them.
const std::vector<FlagSpec>& ApiSecurityFlags();
absl::StatusOr<ApiSecurityOptions> ApiSecurityOptionsFromFlags(const CommandLine& cl);

// Whether a --grpc-listen address ("HOST:PORT", "[V6]:PORT", "unix:PATH")
// is reachable from this machine only.
bool IsLoopbackListen(absl::string_view listen);

// What the API serves with, prepared at start.
struct ApiSecurity {
  std::shared_ptr<grpc::ServerCredentials> credentials;
  std::unique_ptr<TokenStore> tokens;  // null: no token file
  bool loopback = true;                // reachable from this machine only
  bool tls = false;
  bool mutual_tls = false;
  bool reflection = true;
  // Set when --insecure let an unsafe setup through: the worker logs it and
  // shows it in its health text.
  std::string warning;

  // For the start log: "TLS with client certificates, 3 token(s) from
  // FILE (re-read when it changes), reflection off".
  std::string Describe() const;
};

// Applies the loopback rule to `listen`, reads and checks the certificates
// (a certificate that does not match its key, or has expired, is refused
// here rather than at the first handshake) and the token file. Fails with
// InvalidArgument, saying what to change.
absl::StatusOr<ApiSecurity> PrepareApiSecurity(const ApiSecurityOptions& options,
                                               const std::string& listen, TokenStore::Logger log);

// --- the client ---------------------------------------------------------

// How a `sluice` client command reaches a worker.
struct ClientSecurity {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  bool tls = false;
  std::string token;  // sent as `authorization: Bearer <token>`; empty: none
};

// --token-file, --tls-ca, --tls-cert, --tls-key, --tls.
const std::vector<FlagSpec>& ClientSecurityFlags();
// From the flags, else the environment: $SLUICE_TOKEN_FILE or $SLUICE_TOKEN,
// $SLUICE_TLS_CA, $SLUICE_TLS_CERT and $SLUICE_TLS_KEY. TLS is on with a CA
// file or --tls (the system's CAs).
absl::StatusOr<ClientSecurity> ClientSecurityFromFlags(const CommandLine& cl);

}  // namespace sluice

#endif  // SLUICE_ENGINE_APP_CONTROL_API_SECURITY_H_

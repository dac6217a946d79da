#include "engine/app/control/api_server.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "engine/app/control/api_audit.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/impl/server_builder_option.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"

namespace sluice {
namespace {

// Takes the reflection plugin (registered for every server below) off one
// server.
class WithoutReflection final : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    std::erase_if(*plugins, [](const std::unique_ptr<grpc::ServerBuilderPlugin>& plugin) {
      return plugin->name() == "proto_server_reflection";
    });
  }
};

}  // namespace

absl::StatusOr<std::unique_ptr<ApiServer>> ApiServer::Start(const std::string& listen,
                                                            ServiceLimits limits,
                                                            ControlPlane* plane,
                                                            ApiSecurity security) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("the API address is HOST:PORT, not '", listen, "'"));
  }
  std::unique_ptr<ApiServer> api(new ApiServer());
  api->plane_ = plane;
  api->security_ = std::move(security);
  api->service_ = std::make_unique<JobServiceImpl>(plane, limits);
  api->secured_ = std::make_unique<SecuredJobService>(
      api->service_.get(), Authorizer(api->security_.tokens.get()), api->security_.mutual_tls,
      [plane](AuditRecord record) {
        record.worker = plane->options().worker_name;
        plane->Audit(record.job.substr(0, 200), AuditJson(record));
      });
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, api->security_.credentials, &port);
  builder.RegisterService(api->secured_.get());
  if (!api->security_.reflection) builder.SetOption(std::make_unique<WithoutReflection>());
  builder.SetMaxReceiveMessageSize(limits.max_request_bytes);
  // gRPC turns SO_REUSEPORT on by default, which would let a second worker
  // take the same port and answer half the calls.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  api->server_ = builder.BuildAndStart();
  if (api->server_ == nullptr || port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve the API on ", listen, " (is the port in use?)"));
  }
  std::string host = listen.substr(0, colon);
  if (host == "0.0.0.0" || host == "[::]") host = "localhost";
  api->address_ = absl::StrCat(host, ":", port);
  grpc::HealthCheckServiceInterface* health = api->server_->GetHealthCheckService();
  health->SetServingStatus("", true);
  // Called with the current state at once, then on every change.
  plane->OnHealthChange(
      [health](bool healthy) { health->SetServingStatus(kServiceName, healthy); });
  if (api->security_.tokens != nullptr) api->security_.tokens->Watch(absl::Seconds(1));
  return api;
}

ApiServer::~ApiServer() { Shutdown(); }

void ApiServer::Shutdown() {
  if (server_ == nullptr) return;
  plane_->OnHealthChange(nullptr);  // the health service goes with the server
  service_->EndTails();             // open streams would hold the shutdown for its deadline
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server_->Wait();
  server_.reset();
}

}  // namespace sluice

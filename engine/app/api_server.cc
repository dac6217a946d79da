#include "engine/app/api_server.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"

namespace sluice {

absl::StatusOr<std::unique_ptr<ApiServer>> ApiServer::Start(const std::string& listen,
                                                            ServiceLimits limits,
                                                            ControlPlane* plane) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("the API address is HOST:PORT, not '", listen, "'"));
  }
  std::unique_ptr<ApiServer> api(new ApiServer());
  api->plane_ = plane;
  api->service_ = std::make_unique<JobServiceImpl>(plane, limits);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(api->service_.get());
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
  return api;
}

ApiServer::~ApiServer() { Shutdown(); }

void ApiServer::Shutdown() {
  if (server_ == nullptr) return;
  plane_->OnHealthChange(nullptr);  // the health service goes with the server
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server_->Wait();
  server_.reset();
}

}  // namespace sluice

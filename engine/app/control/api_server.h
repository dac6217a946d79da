// The gRPC server of a worker: JobService, standard health checking and
// server reflection on one port, with the transport security, tokens and
// reflection rule of api_security.h. The JobService is reached through
// SecuredJobService (authorization and the audit trail).
#ifndef SLUICE_ENGINE_APP_CONTROL_API_SERVER_H_
#define SLUICE_ENGINE_APP_CONTROL_API_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "engine/app/control/api_endpoint.h"
#include "engine/app/control/api_security.h"
#include "engine/app/control/control_plane.h"
#include "engine/app/control/job_service.h"
#include "engine/app/control/secured_job_service.h"
#include "grpcpp/server.h"

namespace sluice {

class ApiServer {
 public:
  // Listens on `listen` ("HOST:PORT"; port 0 picks a free one). Health
  // reports "" as SERVING and the JobService as the control plane's health.
  // Write requests are audited through `plane` (ControlPlane::Audit).
  static absl::StatusOr<std::unique_ptr<ApiServer>> Start(const std::string& listen,
                                                          ServiceLimits limits, ControlPlane* plane,
                                                          ApiSecurity security);
  ~ApiServer();

  // The address clients use (the chosen port filled in).
  const std::string& address() const { return address_; }

  // Stops taking calls and ends open streams (tails).
  void Shutdown();

 private:
  ApiServer() = default;
  ControlPlane* plane_ = nullptr;
  ApiSecurity security_;
  std::unique_ptr<JobServiceImpl> service_;
  std::unique_ptr<SecuredJobService> secured_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

}  // namespace sluice

#endif  // SLUICE_ENGINE_APP_CONTROL_API_SERVER_H_

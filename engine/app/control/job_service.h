// The gRPC JobService (proto/job_service.proto) that every worker serves.
// Reads answer from this worker's copy of the catalog and the status the
// workers publish; writes go through the catalog's command log
// (ControlPlane::Execute), so any worker can take any request.
#ifndef SLUICE_ENGINE_APP_CONTROL_JOB_SERVICE_H_
#define SLUICE_ENGINE_APP_CONTROL_JOB_SERVICE_H_

#include <cstddef>
#include <memory>

#include "engine/app/control/control_plane.h"
#include "engine/app/control/tail_hub.h"
#include "engine/exec/operator_registry.h"
#include "proto/job_service.grpc.pb.h"

namespace sluice {

struct ServiceLimits {
  size_t max_query_bytes = 100'000;  // RESOURCE_EXHAUSTED above
  int max_jobs = 100;                // running jobs in the cluster
  int max_request_bytes = 1 << 20;   // gRPC refuses larger messages
  int max_tails = 32;                // open TailOutput streams on this worker
};

// TailOutput is served by callback (TailHub): an open stream holds no
// thread; the other methods are synchronous.
using JobServiceBase = v1::JobService::WithCallbackMethod_TailOutput<v1::JobService::Service>;

class JobServiceImpl final : public JobServiceBase {
 public:
  JobServiceImpl(ControlPlane* plane, ServiceLimits limits);
  ~JobServiceImpl() override;

  grpc::Status SubmitJob(grpc::ServerContext* context, const v1::SubmitJobRequest* request,
                         v1::SubmitJobResponse* response) override;
  grpc::Status ValidateJob(grpc::ServerContext* context, const v1::ValidateJobRequest* request,
                           v1::ValidateJobResponse* response) override;
  grpc::Status ListJobs(grpc::ServerContext* context, const v1::ListJobsRequest* request,
                        v1::ListJobsResponse* response) override;
  grpc::Status DescribeJob(grpc::ServerContext* context, const v1::DescribeJobRequest* request,
                           v1::DescribeJobResponse* response) override;
  grpc::Status StopJob(grpc::ServerContext* context, const v1::StopJobRequest* request,
                       v1::StopJobResponse* response) override;
  grpc::ServerWriteReactor<v1::TailOutputResponse>* TailOutput(
      grpc::CallbackServerContext* context, const v1::TailOutputRequest* request) override;
  grpc::Status UpdateJob(grpc::ServerContext* context, const v1::UpdateJobRequest* request,
                         v1::UpdateJobResponse* response) override;
  grpc::Status ListWorkers(grpc::ServerContext* context, const v1::ListWorkersRequest* request,
                           v1::ListWorkersResponse* response) override;

  // Ends every open tail (UNAVAILABLE: the worker is going away), so that
  // the server's shutdown need not wait for them.
  void EndTails();

 private:
  // Compiles a request's spec, enforcing the size limit.
  absl::StatusOr<v1::Plan> Compile(const v1::JobSpec& spec);
  v1::JobInfo Info(const CatalogEntry& entry, const std::vector<v1::WorkerStatus>& workers);

  ControlPlane* plane_;
  ServiceLimits limits_;
  std::unique_ptr<TailHub> tails_;  // the open TailOutput streams
  OperatorRegistry registry_;
};

}  // namespace sluice

#endif  // SLUICE_ENGINE_APP_CONTROL_JOB_SERVICE_H_

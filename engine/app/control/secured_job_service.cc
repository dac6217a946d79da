#include "engine/app/control/secured_job_service.h"

#include <chrono>
#include <utility>
#include <vector>

#include "grpc/grpc_security_constants.h"
#include "grpcpp/server_context.h"

namespace sluice {
namespace {

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

SecuredJobService::SecuredJobService(JobServiceImpl* inner, Authorizer authorizer, bool mutual_tls,
                                     AuditSink audit)
    : inner_(inner), authorizer_(authorizer), mutual_tls_(mutual_tls), audit_(std::move(audit)) {}

std::string SecuredJobService::ClientCommonName(grpc::ServerContextBase* context) const {
  if (!mutual_tls_) return "";
  const std::shared_ptr<const grpc::AuthContext> auth = context->auth_context();
  if (auth == nullptr) return "";
  for (const char* property : {GRPC_X509_CN_PROPERTY_NAME, GRPC_X509_SAN_PROPERTY_NAME}) {
    const std::vector<grpc::string_ref> values = auth->FindPropertyValues(property);
    if (!values.empty()) return std::string(values.front().data(), values.front().size());
  }
  return "unnamed client certificate";
}

absl::StatusOr<Caller> SecuredJobService::Identify(grpc::ServerContextBase* context) const {
  std::vector<absl::string_view> authorization;
  if (authorizer_.requires_token()) {
    const auto [begin, end] = context->client_metadata().equal_range("authorization");
    for (auto it = begin; it != end; ++it) {
      authorization.emplace_back(it->second.data(), it->second.size());
    }
  }
  return authorizer_.Identify(authorization, ClientCommonName(context));
}

grpc::Status SecuredJobService::Check(grpc::ServerContextBase* context, ApiMethod method,
                                      const std::string* job, Caller* caller) const {
  absl::StatusOr<Caller> identified = Identify(context);
  if (!identified.ok()) return ToGrpc(identified.status());
  if (absl::Status permitted = Authorizer::Permit(*identified, method, job); !permitted.ok()) {
    return ToGrpc(permitted);
  }
  if (caller != nullptr) *caller = *std::move(identified);
  return grpc::Status::OK;
}

grpc::Status SecuredJobService::Write(grpc::ServerContext* context, ApiMethod method,
                                      const std::string& job,
                                      const std::function<grpc::Status()>& body) const {
  AuditRecord record;
  record.method = std::string(MethodName(method));
  record.job = job;
  record.peer = context->peer();
  grpc::Status status;
  absl::StatusOr<Caller> caller = Identify(context);
  if (!caller.ok()) {
    record.who = "unauthenticated";
    record.client_cn = ClientCommonName(context);
    status = ToGrpc(caller.status());
  } else {
    record.who = caller->name;
    record.via = caller->via;
    record.role = std::string(RoleName(caller->role));
    record.client_cn = caller->client_cn;
    absl::Status permitted = Authorizer::Permit(*caller, method, &job);
    status = permitted.ok() ? body() : ToGrpc(permitted);
  }
  record.code = status.error_code();
  record.message = status.error_message();
  record.time_ms = WallMs();
  if (audit_) audit_(std::move(record));
  return status;
}

grpc::Status SecuredJobService::SubmitJob(grpc::ServerContext* context,
                                          const v1::SubmitJobRequest* request,
                                          v1::SubmitJobResponse* response) {
  return Write(context, ApiMethod::kSubmitJob, request->spec().name(),
               [&] { return inner_->SubmitJob(context, request, response); });
}

grpc::Status SecuredJobService::UpdateJob(grpc::ServerContext* context,
                                          const v1::UpdateJobRequest* request,
                                          v1::UpdateJobResponse* response) {
  return Write(context, ApiMethod::kUpdateJob, request->spec().name(),
               [&] { return inner_->UpdateJob(context, request, response); });
}

grpc::Status SecuredJobService::StopJob(grpc::ServerContext* context,
                                        const v1::StopJobRequest* request,
                                        v1::StopJobResponse* response) {
  return Write(context, ApiMethod::kStopJob, request->name(),
               [&] { return inner_->StopJob(context, request, response); });
}

grpc::Status SecuredJobService::ValidateJob(grpc::ServerContext* context,
                                            const v1::ValidateJobRequest* request,
                                            v1::ValidateJobResponse* response) {
  // Compiling touches no job: any name may be validated.
  if (grpc::Status denied = Check(context, ApiMethod::kValidateJob, nullptr); !denied.ok()) {
    return denied;
  }
  return inner_->ValidateJob(context, request, response);
}

grpc::Status SecuredJobService::ListJobs(grpc::ServerContext* context,
                                         const v1::ListJobsRequest* request,
                                         v1::ListJobsResponse* response) {
  Caller caller;
  if (grpc::Status denied = Check(context, ApiMethod::kListJobs, nullptr, &caller); !denied.ok()) {
    return denied;
  }
  grpc::Status status = inner_->ListJobs(context, request, response);
  if (!status.ok() || caller.jobs.empty()) return status;
  // Only the jobs the token may touch, in their order.
  auto* jobs = response->mutable_jobs();
  int kept = 0;
  for (int i = 0; i < jobs->size(); ++i) {
    if (Authorizer::MayTouch(caller, jobs->Get(i).name())) jobs->SwapElements(i, kept++);
  }
  jobs->DeleteSubrange(kept, jobs->size() - kept);
  return status;
}

grpc::Status SecuredJobService::DescribeJob(grpc::ServerContext* context,
                                            const v1::DescribeJobRequest* request,
                                            v1::DescribeJobResponse* response) {
  if (grpc::Status denied = Check(context, ApiMethod::kDescribeJob, &request->name());
      !denied.ok()) {
    return denied;
  }
  return inner_->DescribeJob(context, request, response);
}

grpc::ServerWriteReactor<v1::TailOutputResponse>* SecuredJobService::TailOutput(
    grpc::CallbackServerContext* context, const v1::TailOutputRequest* request) {
  if (grpc::Status denied = Check(context, ApiMethod::kTailOutput, &request->job()); !denied.ok()) {
    return TailStream::Finished(denied);
  }
  return inner_->TailOutput(context, request);
}

grpc::Status SecuredJobService::ListWorkers(grpc::ServerContext* context,
                                            const v1::ListWorkersRequest* request,
                                            v1::ListWorkersResponse* response) {
  if (grpc::Status denied = Check(context, ApiMethod::kListWorkers, nullptr); !denied.ok()) {
    return denied;
  }
  return inner_->ListWorkers(context, request, response);
}

}  // namespace sluice

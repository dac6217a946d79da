#include "engine/app/control/job_service.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/app/base/job_loader.h"
#include "engine/app/base/job_policy.h"
#include "engine/core/value.h"
#include "engine/exec/explain.h"
#include "operators/builtin_operators.h"

namespace sluice {
namespace {

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

// "3:14: error: message" -> {3, 14, message}; other texts have no place.
v1::CompileError ParseCompileError(std::string_view text) {
  v1::CompileError error;
  error.set_message(std::string(text));
  const size_t first = text.find(':');
  const size_t second = first == std::string_view::npos ? first : text.find(':', first + 1);
  int line = 0, column = 0;
  if (second != std::string_view::npos &&
      absl::SimpleAtoi(std::string(text.substr(0, first)), &line) &&
      absl::SimpleAtoi(std::string(text.substr(first + 1, second - first - 1)), &column)) {
    std::string_view rest = text.substr(second + 1);
    constexpr std::string_view kError = " error: ";
    if (rest.substr(0, kError.size()) == kError) rest.remove_prefix(kError.size());
    error.set_line(line);
    error.set_column(column);
    error.set_message(std::string(rest));
  }
  return error;
}

std::string DescribeOutput(const OutputTarget& target) {
  switch (target.kind) {
    case OutputTarget::Kind::kTopic:
      return absl::StrCat("topic:", target.name);
    case OutputTarget::Kind::kFile:
      return absl::StrCat("file:", target.name);
    case OutputTarget::Kind::kStdout:
      return "stdout";
  }
  return "";
}

}  // namespace

JobServiceImpl::JobServiceImpl(ControlPlane* plane, ServiceLimits limits)
    : plane_(plane),
      limits_(limits),
      tails_(std::make_unique<TailHub>(plane->options().bootstrap, plane->options().kafka,
                                       limits.max_tails)) {
  RegisterBuiltinOperators(&registry_);
}

JobServiceImpl::~JobServiceImpl() { EndTails(); }

void JobServiceImpl::EndTails() {
  tails_->EndAll(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                              "the worker is shutting down; tail again to follow the job"));
}

absl::StatusOr<v1::Plan> JobServiceImpl::Compile(const v1::JobSpec& spec) {
  if (spec.query().size() > limits_.max_query_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the query is ", spec.query().size(), " bytes; the limit is ", limits_.max_query_bytes));
  }
  if (spec.query().empty() && !spec.query_file().empty()) {
    return absl::InvalidArgumentError(
        "send the query text in `query`: the server cannot read query_file paths");
  }
  auto job = LoadJob(spec);
  if (!job.ok()) return job.status();
  if (absl::Status s = CheckJobPolicy(*job, plane_->options().policy); !s.ok()) return s;
  return std::move(job->plan);
}

v1::JobInfo JobServiceImpl::Info(const CatalogEntry& entry,
                                 const std::vector<v1::WorkerStatus>& workers) {
  v1::JobInfo info;
  info.set_name(entry.name);
  info.set_state(entry.state);
  info.set_version(entry.version);
  info.set_submitted_at_ms(entry.submitted_at_ms);
  info.set_stopped_at_ms(entry.stopped_at_ms);
  info.set_submitted_via(entry.submitted_via);
  if (auto job = BindJob(entry.spec, entry.plan); job.ok()) {
    for (const std::string& topic : job->input_topics) info.add_input_topics(topic);
    for (int o = 0; o < job->plan.outputs_size(); ++o) {
      info.add_outputs(
          absl::StrCat(job->plan.outputs(o).name(), " -> ", DescribeOutput(job->outputs[o])));
    }
  }
  if (entry.state != v1::JOB_STATE_RUNNING) return info;
  for (const v1::WorkerStatus& worker : workers) {
    for (const v1::JobOnWorker& job : worker.jobs()) {
      if (job.name() != entry.name || job.version() != entry.version) continue;
      info.set_tasks(info.tasks() + job.tasks_size());
      for (const v1::TaskStatus& task : job.tasks()) {
        info.set_events_in(info.events_in() + task.events_in());
        info.set_rows_out(info.rows_out() + task.rows_out());
      }
    }
  }
  return info;
}

grpc::Status JobServiceImpl::SubmitJob(grpc::ServerContext*, const v1::SubmitJobRequest* request,
                                       v1::SubmitJobResponse* response) {
  auto plan = Compile(request->spec());
  if (!plan.ok()) return ToGrpc(plan.status());
  v1::CatalogCommand command;
  command.set_kind(v1::CatalogCommand::SUBMIT);
  command.set_name(request->spec().name());
  *command.mutable_spec() = request->spec();
  *command.mutable_plan() = *std::move(plan);
  // Refuse early what the log would refuse, so that a request that fails
  // leaves no trace in the catalog.
  // The log applies the limit in its order (Catalog::Check): concurrent
  // submissions cannot run more jobs than it allows.
  command.set_max_running_jobs(limits_.max_jobs);
  const CommandOutcome expected = plane_->Check(command);
  if (!expected.status.ok()) return ToGrpc(expected.status);
  if (!expected.changed) {
    // The identical job is running: nothing to do.
    auto entry = plane_->Job(command.name());
    if (entry) *response->mutable_job() = Info(*entry, plane_->LiveWorkers());
    response->set_created(false);
    return grpc::Status::OK;
  }
  auto result = plane_->Execute(std::move(command), absl::Seconds(15));
  if (!result.ok()) return ToGrpc(result.status());
  if (!result->outcome.status.ok()) return ToGrpc(result->outcome.status);
  *response->mutable_job() = Info(result->entry, plane_->LiveWorkers());
  response->set_created(result->outcome.changed);
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::UpdateJob(grpc::ServerContext*, const v1::UpdateJobRequest* request,
                                       v1::UpdateJobResponse* response) {
  auto plan = Compile(request->spec());
  if (!plan.ok()) return ToGrpc(plan.status());
  v1::CatalogCommand command;
  command.set_kind(v1::CatalogCommand::UPDATE);
  command.set_name(request->spec().name());
  *command.mutable_spec() = request->spec();
  *command.mutable_plan() = *std::move(plan);
  const CommandOutcome expected = plane_->Check(command);
  if (!expected.status.ok()) return ToGrpc(expected.status);
  if (!expected.changed) {
    auto entry = plane_->Job(command.name());
    if (entry) *response->mutable_job() = Info(*entry, plane_->LiveWorkers());
    return grpc::Status::OK;
  }
  auto result = plane_->Execute(std::move(command), absl::Seconds(15));
  if (!result.ok()) return ToGrpc(result.status());
  if (!result->outcome.status.ok()) return ToGrpc(result->outcome.status);
  *response->mutable_job() = Info(result->entry, plane_->LiveWorkers());
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::StopJob(grpc::ServerContext*, const v1::StopJobRequest* request,
                                     v1::StopJobResponse* response) {
  v1::CatalogCommand command;
  command.set_kind(v1::CatalogCommand::STOP);
  command.set_name(request->name());
  if (request->name().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "name the job to stop");
  }
  const CommandOutcome expected = plane_->Check(command);
  if (!expected.status.ok()) return ToGrpc(expected.status);
  if (!expected.changed) {
    auto entry = plane_->Job(command.name());
    if (entry) *response->mutable_job() = Info(*entry, {});
    response->set_stopped(false);
    return grpc::Status::OK;
  }
  auto result = plane_->Execute(std::move(command), absl::Seconds(15));
  if (!result.ok()) return ToGrpc(result.status());
  if (!result->outcome.status.ok()) return ToGrpc(result->outcome.status);
  *response->mutable_job() = Info(result->entry, {});
  response->set_stopped(result->outcome.changed);
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::ValidateJob(grpc::ServerContext*,
                                         const v1::ValidateJobRequest* request,
                                         v1::ValidateJobResponse* response) {
  auto plan = Compile(request->spec());
  if (!plan.ok()) {
    if (plan.status().code() != absl::StatusCode::kInvalidArgument) return ToGrpc(plan.status());
    response->set_valid(false);
    *response->add_errors() = ParseCompileError(std::string(plan.status().message()));
    return grpc::Status::OK;
  }
  auto text = ExplainPlan(*plan, registry_, {});
  if (!text.ok()) return ToGrpc(text.status());
  response->set_valid(true);
  response->set_explain(*text);
  *response->mutable_plan() = *std::move(plan);
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::ListJobs(grpc::ServerContext*, const v1::ListJobsRequest* request,
                                      v1::ListJobsResponse* response) {
  const std::vector<v1::WorkerStatus> workers = plane_->LiveWorkers();
  for (const auto& [name, entry] : plane_->Jobs()) {
    if (entry.state != v1::JOB_STATE_RUNNING && !request->include_stopped()) continue;
    *response->add_jobs() = Info(entry, workers);
  }
  *response->mutable_answered_by() = workers.front().worker();
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::DescribeJob(grpc::ServerContext*,
                                         const v1::DescribeJobRequest* request,
                                         v1::DescribeJobResponse* response) {
  auto entry = plane_->Job(request->name());
  if (!entry) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("no job named ", request->name()));
  }
  const std::vector<v1::WorkerStatus> workers = plane_->LiveWorkers();
  *response->mutable_job() = Info(*entry, workers);
  *response->mutable_spec() = RedactSpec(entry->spec);
  *response->mutable_plan() = entry->plan;
  if (auto text = ExplainPlan(entry->plan, registry_, {}); text.ok()) {
    response->set_explain(*text);
  }
  for (const v1::WorkerStatus& worker : workers) {
    for (const v1::JobOnWorker& job : worker.jobs()) {
      if (job.name() != entry->name) continue;
      v1::JobOnWorker* on = response->add_workers();
      *on = job;
      on->set_worker(worker.worker().name());
      if (job.version() != entry->version) continue;
      for (const v1::TaskStatus& task : job.tasks()) *response->add_tasks() = task;
    }
  }
  *response->mutable_answered_by() = workers.front().worker();
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::ListWorkers(grpc::ServerContext*, const v1::ListWorkersRequest*,
                                         v1::ListWorkersResponse* response) {
  const std::vector<v1::WorkerStatus> workers = plane_->LiveWorkers();
  for (const v1::WorkerStatus& worker : workers) *response->add_workers() = worker.worker();
  *response->mutable_answered_by() = workers.front().worker();
  return grpc::Status::OK;
}

grpc::ServerWriteReactor<v1::TailOutputResponse>* JobServiceImpl::TailOutput(
    grpc::CallbackServerContext*, const v1::TailOutputRequest* request) {
  auto entry = plane_->Job(request->job());
  if (!entry) {
    return TailStream::Finished(
        grpc::Status(grpc::StatusCode::NOT_FOUND, absl::StrCat("no job named ", request->job())));
  }
  auto job = BindJob(entry->spec, entry->plan);
  if (!job.ok()) return TailStream::Finished(ToGrpc(job.status()));
  if (entry->state != v1::JOB_STATE_RUNNING) {
    return TailStream::Finished(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                             absl::StrCat("job ", request->job(), " is stopped")));
  }
  TailSubscription sub;
  sub.from_beginning = request->from_beginning();
  sub.keep_duplicates = request->keep_duplicates();
  sub.limit = request->limit();
  std::vector<std::string> names;
  for (int o = 0; o < job->plan.outputs_size(); ++o) {
    const std::string& name = job->plan.outputs(o).name();
    names.push_back(name);
    if (!request->output().empty() && !EqualsIgnoreCase(request->output(), name)) continue;
    if (job->outputs[o].kind != OutputTarget::Kind::kTopic) {
      if (!request->output().empty()) {
        return TailStream::Finished(
            grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                         absl::StrCat("output ", name, " goes to ", DescribeOutput(job->outputs[o]),
                                      "; only outputs to Kafka topics can be tailed")));
      }
      continue;
    }
    sub.topics[job->outputs[o].name] = name;
  }
  if (sub.topics.empty()) {
    if (!request->output().empty()) {
      return TailStream::Finished(
          grpc::Status(grpc::StatusCode::NOT_FOUND,
                       absl::StrCat("job ", request->job(), " has no output ", request->output(),
                                    " (it has: ", absl::StrJoin(names, ", "), ")")));
    }
    return TailStream::Finished(
        grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                     absl::StrCat("job ", request->job(), " writes no Kafka topic to tail")));
  }
  // The stream ends with the version of the job it follows.
  sub.still_current = [plane = plane_, name = request->job(), version = entry->version] {
    auto current = plane->Job(name);
    if (!current || current->state != v1::JOB_STATE_RUNNING) {
      return grpc::Status(grpc::StatusCode::ABORTED, absl::StrCat("job ", name, " was stopped"));
    }
    if (current->version != version) {
      return grpc::Status(grpc::StatusCode::ABORTED,
                          absl::StrCat("job ", name, " was updated to version ", current->version,
                                       "; tail it again to follow it"));
    }
    return grpc::Status::OK;
  };
  return tails_->Subscribe(std::move(sub));
}

}  // namespace sluice

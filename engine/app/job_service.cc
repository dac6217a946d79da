#include "engine/app/job_service.h"

#include <chrono>
#include <deque>
#include <thread>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "connectors/kafka_reader.h"
#include "engine/app/job_loader.h"
#include "engine/explain.h"
#include "engine/value.h"
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
    : plane_(plane), limits_(limits) {
  RegisterBuiltinOperators(&registry_);
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
  const CommandOutcome expected = plane_->Check(command);
  if (!expected.status.ok()) return ToGrpc(expected.status);
  if (expected.changed) {
    int running = 0;
    for (const auto& [name, entry] : plane_->Jobs()) {
      running += entry.state == v1::JOB_STATE_RUNNING ? 1 : 0;
    }
    if (running >= limits_.max_jobs) {
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                          absl::StrCat("the cluster runs ", running,
                                       " jobs, its limit; stop one "
                                       "first"));
    }
  }
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
  *response->mutable_spec() = entry->spec;
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

grpc::Status JobServiceImpl::TailOutput(grpc::ServerContext* context,
                                        const v1::TailOutputRequest* request,
                                        grpc::ServerWriter<v1::TailOutputResponse>* writer) {
  auto entry = plane_->Job(request->job());
  if (!entry) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, absl::StrCat("no job named ", request->job()));
  }
  auto job = BindJob(entry->spec, entry->plan);
  if (!job.ok()) return ToGrpc(job.status());
  // topic -> output name
  std::map<std::string, std::string> topics;
  std::vector<std::string> names;
  for (int o = 0; o < job->plan.outputs_size(); ++o) {
    const std::string& name = job->plan.outputs(o).name();
    names.push_back(name);
    if (!request->output().empty() && !EqualsIgnoreCase(request->output(), name)) continue;
    if (job->outputs[o].kind != OutputTarget::Kind::kTopic) {
      if (!request->output().empty()) {
        return grpc::Status(
            grpc::StatusCode::FAILED_PRECONDITION,
            absl::StrCat("output ", name, " goes to ", DescribeOutput(job->outputs[o]),
                         "; only outputs to Kafka topics can be tailed"));
      }
      continue;
    }
    topics[job->outputs[o].name] = name;
  }
  if (topics.empty()) {
    if (!request->output().empty()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          absl::StrCat("job ", request->job(), " has no output ", request->output(),
                                       " (it has: ", absl::StrJoin(names, ", "), ")"));
    }
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        absl::StrCat("job ", request->job(), " writes no Kafka topic to tail"));
  }
  auto reader = KafkaTopicReader::Create(plane_->options().bootstrap, plane_->options().kafka);
  if (!reader.ok()) return ToGrpc(reader.status());
  // Each topic is read from now on (or from its beginning); a topic that
  // does not exist yet is read from its beginning once it appears, since
  // everything in it is new.
  enum class Reading { kFromNow, kFromBeginning, kStarted };
  std::map<std::string, Reading> reading;
  for (const auto& [topic, name] : topics) {
    reading[topic] = request->from_beginning() ? Reading::kFromBeginning : Reading::kFromNow;
  }
  int64_t sent = 0;
  int64_t last_attempt = 0;
  // Identities already sent, oldest first; a replay's copies come soon
  // after their originals, so a bounded memory of them is enough.
  constexpr size_t kRemembered = 1'000'000;
  absl::flat_hash_set<std::string> seen;
  std::deque<std::string> seen_order;
  std::vector<KafkaMessage> messages;
  while (!context->IsCancelled()) {
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
    if (now - last_attempt >= 1000) {
      last_attempt = now;
      for (auto& [topic, state] : reading) {
        if (state == Reading::kStarted) continue;
        KafkaTopicReader::Start start;  // the beginning
        if (state == Reading::kFromNow) start.kind = KafkaTopicReader::Start::Kind::kEnd;
        auto added = (*reader)->Add(topic, start, 5000);
        if (added.ok()) {
          state = Reading::kStarted;
        } else if (added.status().code() == absl::StatusCode::kNotFound) {
          state = Reading::kFromBeginning;
        }
      }
    }
    messages.clear();
    (*reader)->Poll(200, 1000, &messages).IgnoreError();
    for (KafkaMessage& m : messages) {
      std::string id = m.Header("sluice.id");
      if (!id.empty() && !request->keep_duplicates()) {
        if (!seen.insert(id).second) continue;
        seen_order.push_back(id);
        if (seen_order.size() > kRemembered) {
          seen.erase(seen_order.front());
          seen_order.pop_front();
        }
      }
      v1::TailOutputResponse row;
      row.set_id(std::move(id));
      row.set_output(topics[m.topic]);
      row.set_topic(m.topic);
      row.set_partition(m.partition);
      row.set_offset(m.offset);
      row.set_key(std::move(m.key));
      row.set_row(std::move(m.value));
      row.set_timestamp_ms(m.timestamp_ms);
      if (!writer->Write(row)) return grpc::Status::OK;  // the client left
      if (request->limit() > 0 && ++sent >= request->limit()) return grpc::Status::OK;
    }
  }
  return grpc::Status::OK;
}

}  // namespace sluice

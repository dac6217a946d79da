#include "engine/control/catalog.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/json_util.h"

namespace sluice {
namespace {

std::string SerializeDeterministic(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  message.SerializeToCodedStream(&coded);
  coded.Trim();
  return out;
}

}  // namespace

absl::StatusOr<std::string> EncodeCatalogCommand(v1::CatalogCommand command) {
  command.set_format(2);
  if (command.has_plan()) {
    command.set_plan_bytes(SerializeDeterministic(command.plan()));
    command.clear_plan();
  }
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  if (auto s = google::protobuf::util::MessageToJsonString(command, &json, options); !s.ok()) {
    return absl::InternalError(absl::StrCat("cannot write a catalog command: ", s.ToString()));
  }
  auto decoded = DecodeCatalogCommand(json);
  if (!decoded.ok() || SerializeDeterministic(decoded->plan()) != command.plan_bytes() ||
      decoded->name() != command.name() || decoded->kind() != command.kind()) {
    return absl::InternalError(absl::StrCat(
        "the job's catalog record would not read back (",
        decoded.ok() ? "it differs" : decoded.status().message(), "); nothing was written"));
  }
  return json;
}

absl::StatusOr<v1::CatalogCommand> DecodeCatalogCommand(const std::string& record) {
  v1::CatalogCommand command;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;  // records from newer workers
  if (auto s = google::protobuf::util::JsonStringToMessage(record, &command, options); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("not a catalog command: ", s.ToString()));
  }
  if (!command.plan_bytes().empty()) {
    google::protobuf::io::CodedInputStream in(
        reinterpret_cast<const uint8_t*>(command.plan_bytes().data()),
        static_cast<int>(command.plan_bytes().size()));
    in.SetRecursionLimit(kPlanRecursionLimit);
    v1::Plan plan;
    if (!plan.ParseFromCodedStream(&in) || !in.ConsumedEntireMessage()) {
      return absl::InvalidArgumentError("the catalog command's plan is not readable");
    }
    *command.mutable_plan() = std::move(plan);
    command.clear_plan_bytes();
  }
  return command;
}

absl::StatusOr<v1::WorkerStatus> DecodeWorkerStatus(const std::string& record) {
  v1::WorkerStatus status;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;  // records from newer workers
  if (!google::protobuf::util::JsonStringToMessage(record, &status, options).ok() ||
      status.worker().id().empty()) {
    return absl::InvalidArgumentError("not a worker status");
  }
  return status;
}

bool Catalog::SameSpec(const v1::JobSpec& a, const v1::JobSpec& b) {
  return SerializeDeterministic(a) == SerializeDeterministic(b);
}

const CatalogEntry* Catalog::Find(const std::string& name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second;
}

int Catalog::running() const {
  int n = 0;
  for (const auto& [name, entry] : entries_) n += entry.state == v1::JOB_STATE_RUNNING ? 1 : 0;
  return n;
}

const CommandOutcome* Catalog::Outcome(const std::string& request_id) const {
  auto it = outcomes_.find(request_id);
  return it == outcomes_.end() ? nullptr : &it->second;
}

CommandOutcome Catalog::Check(const v1::CatalogCommand& command) const {
  CommandOutcome outcome;
  const CatalogEntry* entry = Find(command.name());
  const bool running = entry != nullptr && entry->state == v1::JOB_STATE_RUNNING;
  outcome.version = entry != nullptr ? entry->version : 0;
  if (command.name().empty()) {
    outcome.status = absl::InvalidArgumentError("the command names no job");
    return outcome;
  }
  switch (command.kind()) {
    case v1::CatalogCommand::SUBMIT:
      if (running && !SameSpec(entry->spec, command.spec())) {
        outcome.status = absl::AlreadyExistsError(
            absl::StrCat("job ", command.name(), " is already running (version ", entry->version,
                         ") with another spec; stop it first or use UpdateJob"));
      } else if (!running && command.max_running_jobs() > 0 &&
                 this->running() >= command.max_running_jobs()) {
        outcome.status = absl::ResourceExhaustedError(
            absl::StrCat("the cluster runs ", this->running(), " jobs, its limit (",
                         command.max_running_jobs(), "); stop one first"));
      } else if (!running) {
        outcome.changed = true;
        outcome.version += 1;
      }
      return outcome;
    case v1::CatalogCommand::UPDATE:
      if (entry == nullptr) {
        outcome.status = absl::NotFoundError(absl::StrCat("no job named ", command.name()));
      } else if (!running) {
        outcome.status = absl::FailedPreconditionError(
            absl::StrCat("job ", command.name(), " is stopped; submit it to start it again"));
      } else if (!SameSpec(entry->spec, command.spec())) {
        outcome.changed = true;
        outcome.version += 1;
      }
      return outcome;
    case v1::CatalogCommand::STOP:
      if (entry == nullptr) {
        outcome.status = absl::NotFoundError(absl::StrCat("no job named ", command.name()));
      } else {
        outcome.changed = running;
      }
      return outcome;
    default:
      outcome.status = absl::InvalidArgumentError(
          absl::StrCat("unknown catalog command kind ", static_cast<int>(command.kind())));
      return outcome;
  }
}

CommandOutcome Catalog::Apply(const v1::CatalogCommand& command) {
  ++applied_;
  CommandOutcome outcome = Check(command);
  if (outcome.status.ok() && outcome.changed) {
    CatalogEntry& entry = entries_[command.name()];
    entry.name = command.name();
    if (command.kind() == v1::CatalogCommand::STOP) {
      entry.state = v1::JOB_STATE_STOPPED;
      entry.stopped_at_ms = command.issued_at_ms();
    } else {
      entry.state = v1::JOB_STATE_RUNNING;
      entry.version = outcome.version;
      entry.spec = command.spec();
      entry.plan = command.plan();
      entry.submitted_at_ms = command.issued_at_ms();
      entry.stopped_at_ms = 0;
      entry.submitted_via = command.worker();
    }
  }
  if (!command.request_id().empty()) {
    if (outcomes_.emplace(command.request_id(), outcome).second) {
      outcome_order_.push_back(command.request_id());
      if (outcome_order_.size() > kRememberedOutcomes) {
        outcomes_.erase(outcome_order_.front());
        outcome_order_.pop_front();
      }
    }
  }
  return outcome;
}

}  // namespace sluice

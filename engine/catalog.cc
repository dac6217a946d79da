#include "engine/catalog.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace sluice {
namespace {

std::string Serialize(const v1::JobSpec& spec) {
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  spec.SerializeToCodedStream(&coded);
  coded.Trim();
  return out;
}

}  // namespace

bool Catalog::SameSpec(const v1::JobSpec& a, const v1::JobSpec& b) {
  return Serialize(a) == Serialize(b);
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

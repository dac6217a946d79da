#include "engine/exec/task.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace sluice {
namespace {

std::string PartitionPrefix(uint32_t partition) {
  std::string prefix;
  AppendBigEndian32(partition, &prefix);
  return prefix;
}

// Where the task's meta table records the layout version of a node's state
// table.
std::string VersionKey(int node, std::string_view table) {
  return absl::StrCat("state-version/", node, "/", std::string(table));
}

std::string EncodeVersion(int version) { return absl::StrCat(version); }

std::string NodeKind(const v1::Node& node) {
  const auto* field = v1::Node::descriptor()->FindFieldByNumber(node.op_case());
  return field == nullptr ? "unknown" : field->name();
}

}  // namespace

class Task::NodeEmitter final : public Emitter {
 public:
  NodeEmitter(Task* task, int node) : task_(task), node_(node) {}

  absl::Status Emit(const Batch& batch) override;
  absl::Status EmitWatermark(int64_t watermark) override;
  absl::Status Reject(RejectedRow row) override {
    TaskMetrics::Add(task_->metrics_.rejected, 1);
    if (!task_->env_.reject) return absl::OkStatus();
    return task_->env_.reject(row);
  }

 private:
  Task* task_;
  int node_;
};

class Task::NodeContext final : public OperatorContext {
 public:
  NodeContext(Task* task, int node) : task_(task), node_(node) {}

  const StateTable& table(std::string_view name) const override {
    auto it = tables_.find(std::string(name));
    if (it != tables_.end()) return it->second;
    undeclared_.emplace_back(name);
    static const StateTable kNone;
    return kNone;
  }
  absl::Status CommitState(StateWriteBatch& batch) override {
    return task_->env_.store->Commit(batch);
  }
  Sink* sink(int index) override {
    if (index < 0 || index >= static_cast<int>(task_->env_.sinks.size())) {
      return nullptr;
    }
    return task_->env_.sinks[index];
  }
  TaskMetrics& metrics() override { return task_->metrics_; }
  size_t state_cache_bytes() const override { return task_->env_.state_cache_bytes; }
  std::string_view input_name(int index) const override {
    return task_->plan_.inputs(index).name();
  }
  int node_id() const override { return node_; }
  std::shared_ptr<const ReferenceVersions> reference(int input) const override {
    const ReferenceProvider* provider = task_->env_.references;
    return provider ? provider->Versions(input) : nullptr;
  }
  ExchangeSender* exchange_sender() override {
    const v1::Node& pn = task_->plan_.nodes(node_);
    const int stage = task_->env_.stage;
    return stage >= 0 && pn.has_exchange() && pn.stage() == stage ? task_->env_.exchange_sender
                                                                  : nullptr;
  }

  absl::flat_hash_map<std::string, StateTable> tables_;
  // Names asked for but not declared (a bug in the operator).
  mutable std::vector<std::string> undeclared_;

 private:
  Task* task_;
  int node_;
};

struct Task::Node {
  Node(Task* task, int index) : emitter(task, index), context(task, index) {}
  const v1::Node* plan_node = nullptr;
  std::unique_ptr<Operator> op;
  std::vector<std::pair<int, int>> downstream;  // (node, port)
  std::vector<int64_t> port_watermarks;
  int64_t watermark = kBeginningOfTime;
  NodeEmitter emitter;
  NodeContext context;
};

absl::Status Task::NodeEmitter::Emit(const Batch& batch) {
  if (batch.num_active() == 0) return absl::OkStatus();
  for (auto [next, port] : task_->nodes_[node_]->downstream) {
    if (absl::Status s = task_->DeliverBatch(next, port, batch); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status Task::NodeEmitter::EmitWatermark(int64_t watermark) {
  for (auto [next, port] : task_->nodes_[node_]->downstream) {
    if (absl::Status s = task_->DeliverWatermark(next, port, watermark); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

Task::Task(const v1::Plan& plan, TaskEnvironment env) : plan_(plan), env_(std::move(env)) {}

Task::~Task() = default;

absl::StatusOr<std::unique_ptr<Task>> Task::Create(const v1::Plan& plan, TaskEnvironment env) {
  if (env.registry == nullptr || env.store == nullptr) {
    return absl::InternalError("task needs an operator registry and a state store");
  }
  std::unique_ptr<Task> task(new Task(plan, std::move(env)));
  if (absl::Status s = task->Build(); !s.ok()) return s;
  return task;
}

absl::Status Task::Build() {
  const std::string prefix = PartitionPrefix(env_.partition);
  auto meta = env_.store->OpenTable(absl::StrCat(env_.job_name, "/task"), prefix);
  if (!meta.ok()) return meta.status();
  meta_table_ = *meta;

  source_nodes_.resize(plan_.inputs_size());
  StateWriteBatch fresh;  // clears this task's state when env_.fresh_state
  for (int i = 0; i < plan_.nodes_size(); ++i) {
    const v1::Node& pn = plan_.nodes(i);
    if (pn.id() != i) {
      return absl::InternalError(absl::StrCat("plan node ", i, " has id ", pn.id()));
    }
    // A task of one stage builds that stage's nodes, and the exchanges that
    // feed it (they pass the received rows on).
    const int stage = env_.stage;
    const bool entry = stage > 0 && pn.has_exchange() && pn.exchange().to_stage() == stage;
    if (stage >= 0 && pn.stage() != stage && !entry) {
      nodes_.push_back(nullptr);
      continue;
    }
    if (entry) entry_exchanges_.push_back(i);
    auto node = std::make_unique<Node>(this, i);
    node->plan_node = &pn;
    auto op = env_.registry->Create(pn, plan_);
    if (!op.ok()) return op.status();
    node->op = *std::move(op);
    node->port_watermarks.assign(std::max(pn.inputs_size(), 1), kBeginningOfTime);
    for (int port = 0; port < pn.inputs_size(); ++port) {
      const int up = pn.inputs(port);
      if (up < 0 || up >= i) {
        return absl::InternalError(
            absl::StrCat("plan node ", i, " reads node ", up, " which is not upstream"));
      }
      if (nodes_[up] != nullptr) nodes_[up]->downstream.emplace_back(i, port);
    }
    if (pn.has_source()) {
      const int input = pn.source().input();
      if (input < 0 || input >= plan_.inputs_size()) {
        return absl::InternalError(absl::StrCat("plan source reads input ", input));
      }
      source_nodes_[input].push_back(i);
    }
    for (const StateSpec& spec : node->op->DeclareState()) {
      if (spec.name.empty() || node->context.tables_.contains(spec.name)) {
        return absl::InternalError(absl::StrCat("plan node ", i, " declares the state table '",
                                                spec.name, "' twice or without a name"));
      }
      auto table =
          env_.store->OpenTable(absl::StrCat(env_.job_name, "/", i, ".", spec.name), prefix);
      if (!table.ok()) return table.status();
      node->context.tables_[spec.name] = *table;
      if (env_.fresh_state) fresh.DeletePrefix(*table, "");
      if (absl::Status s = CheckStateVersion(i, spec); !s.ok()) return s;
    }
    nodes_.push_back(std::move(node));
  }
  if (env_.fresh_state) {
    fresh.DeletePrefix(meta_table_, "");
    if (absl::Status s = env_.store->Commit(fresh); !s.ok()) return s;
  }
  for (auto& node : nodes_) {
    if (node == nullptr) continue;
    if (absl::Status s = node->op->Open(node->context); !s.ok()) return s;
    if (!node->context.undeclared_.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("plan node ", node->plan_node->id(), " (", NodeKind(*node->plan_node),
                       ") uses the state table '", node->context.undeclared_.front(),
                       "', which its operator does not declare"));
    }
  }
  return absl::OkStatus();
}

absl::Status Task::CheckStateVersion(int node, const StateSpec& spec) {
  if (spec.version < 1) {
    return absl::InternalError(absl::StrCat("plan node ", node, " declares the state table '",
                                            spec.name, "' with version ", spec.version));
  }
  versions_.emplace_back(VersionKey(node, spec.name), EncodeVersion(spec.version));
  if (env_.fresh_state) return absl::OkStatus();
  std::string stored;
  auto found = meta_table_.Get(versions_.back().first, &stored);
  if (!found.ok()) return found.status();
  if (*found && stored != versions_.back().second) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the checkpointed state of plan node ", node, " (table '", spec.name,
        "') has layout version ", stored, "; this build reads version ", spec.version,
        ". Start the job with fresh state (it re-reads its input from the committed offsets) "
        "or run the build that wrote it"));
  }
  // A store that holds state but no version was written before versions
  // were recorded, at version 1.
  return absl::OkStatus();
}

absl::Status Task::DeliverBatch(int node, int port, const Batch& batch) {
  Node& n = *nodes_[node];
  return n.op->ProcessBatch(port, batch, n.emitter);
}

absl::Status Task::DeliverWatermark(int node, int port, int64_t watermark) {
  Node& n = *nodes_[node];
  if (watermark <= n.port_watermarks[port]) return absl::OkStatus();
  n.port_watermarks[port] = watermark;
  const int64_t low = *std::min_element(n.port_watermarks.begin(), n.port_watermarks.end());
  if (low <= n.watermark) return absl::OkStatus();
  n.watermark = low;
  return n.op->ProcessWatermark(low, n.emitter);
}

absl::Status Task::Push(int input, const Batch& batch) {
  if (input < 0 || input >= static_cast<int>(source_nodes_.size())) {
    return absl::InternalError(absl::StrCat("push to unknown input ", input));
  }
  TaskMetrics::Add(metrics_.events_in, batch.num_active());
  for (int node : source_nodes_[input]) {
    if (absl::Status s = DeliverBatch(node, 0, batch); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Task::EndOfInput() {
  for (const auto& nodes : source_nodes_) {
    for (int node : nodes) {
      if (absl::Status s = DeliverWatermark(node, 0, kEndOfTime); !s.ok()) {
        return s;
      }
    }
  }
  for (int node : entry_exchanges_) {
    if (absl::Status s = DeliverWatermark(node, 0, kEndOfTime); !s.ok()) return s;
  }
  for (auto& node : nodes_) {
    if (node == nullptr) continue;
    if (absl::Status s = node->op->Finish(node->emitter); !s.ok()) return s;
  }
  for (Sink* sink : env_.sinks) {
    if (sink == nullptr) continue;
    if (absl::Status s = sink->Flush(); !s.ok()) return s;
  }
  // Nothing comes after the end: what was flushed is final.
  return CommitSinks();
}

absl::Status Task::PushExchange(int node, const Batch& batch) {
  if (node < 0 || node >= static_cast<int>(nodes_.size()) || nodes_[node] == nullptr ||
      !plan_.nodes(node).has_exchange()) {
    return absl::InternalError(absl::StrCat("rows for node ", node, ", not an exchange here"));
  }
  if (batch.num_active() == 0) return absl::OkStatus();
  return DeliverBatch(node, 0, batch);
}

absl::Status Task::AdvanceExchange(int node, int64_t watermark) {
  if (node < 0 || node >= static_cast<int>(nodes_.size()) || nodes_[node] == nullptr ||
      !plan_.nodes(node).has_exchange()) {
    return absl::InternalError(absl::StrCat("watermark for node ", node, ", not an exchange here"));
  }
  return DeliverWatermark(node, 0, watermark);
}

absl::Status Task::EndInput(int input) {
  if (input < 0 || input >= static_cast<int>(source_nodes_.size())) {
    return absl::InternalError(absl::StrCat("end of unknown input ", input));
  }
  for (int node : source_nodes_[input]) {
    if (absl::Status s = DeliverWatermark(node, 0, kEndOfTime); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Task::Tick(int64_t wall_now) {
  for (auto& node : nodes_) {
    if (node == nullptr) continue;
    if (absl::Status s = node->op->OnTick(wall_now, node->emitter); !s.ok()) return s;
  }
  return absl::OkStatus();
}

size_t Task::MemoryStateBytes() const {
  size_t bytes = 0;
  for (const auto& node : nodes_) {
    if (node == nullptr) continue;
    if (node != nullptr) bytes += node->op->MemoryBytes();
  }
  return bytes;
}

int64_t Task::StoredStateBytes() const {
  int64_t bytes = 0;
  for (const auto& node : nodes_) {
    if (node == nullptr) continue;
    for (const auto& [name, table] : node->context.tables_) bytes += table.ApproximateBytes();
  }
  return bytes;
}

absl::Status Task::Checkpoint(StateWriteBatch& batch) {
  // The layout versions go with the first checkpoint (and its changelog), so
  // that a store restored anywhere else carries them.
  if (!versions_written_) {
    for (const auto& [key, version] : versions_) batch.Put(meta_table_, key, version);
    versions_written_ = true;
  }
  for (auto& node : nodes_) {
    if (node == nullptr) continue;
    if (absl::Status s = node->op->Checkpoint(batch); !s.ok()) return s;
  }
  for (Sink* sink : env_.sinks) {
    if (sink == nullptr) continue;
    if (absl::Status s = sink->Flush(); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Task::CommitSinks() {
  for (Sink* sink : env_.sinks) {
    if (sink == nullptr) continue;
    if (absl::Status s = sink->Commit(); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace sluice

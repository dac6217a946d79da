// JOIN with reference data (ReferenceJoinNode in proto/plan.proto).
//
// The reference rows live in the runtime's shared ReferenceVersion objects,
// indexed once by the join's key columns for every task that joins on
// them. Each stream row looks its key up in the version valid at its time
// and is paired with the rows found that pass the rest of ON; under LEFT a
// row with none comes out with NULL reference columns.
//
// State: the id of the newest version the task has joined with, so that a
// restore can tell when the reference data changed under a replay (the
// count goes to the task's metrics; see sql/README.md, "Reference data").
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/core/row_json.h"
#include "engine/core/value_codec.h"
#include "engine/expr/expression.h"
#include "operators/builtin_operators.h"

namespace sluice {
namespace {

class ReferenceJoinOperator final : public Operator {
 public:
  ReferenceJoinOperator(const v1::ReferenceJoinNode& spec, size_t stream_width,
                        std::vector<std::unique_ptr<Expression>> keys,
                        std::unique_ptr<Expression> condition, const v1::Schema& output,
                        std::string name)
      : left_outer_(spec.kind() == v1::JoinNode::KIND_LEFT),
        reference_input_(spec.reference_input()),
        reference_columns_(spec.reference_columns().begin(), spec.reference_columns().end()),
        stream_width_(stream_width),
        keys_(std::move(keys)),
        condition_(std::move(condition)),
        describe_(output),
        name_(std::move(name)) {
    for (int32_t slot : spec.reference_keys()) index_columns_.push_back(reference_columns_[slot]);
  }

  std::vector<StateSpec> DeclareState() const override {
    return {{"reference_version", "the id of the newest reference version joined with", 1}};
  }

  absl::Status Open(OperatorContext& ctx) override {
    ctx_ = &ctx;
    table_ = ctx.table("reference_version");
    auto found = table_.Get("v", &checkpointed_version_);
    if (!found.ok()) return found.status();
    if (ctx.reference(reference_input_) == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat("no reference data is loaded for '", name_,
                                                        "': give it with --reference ", name_,
                                                        "=FILE (sluice run)"));
    }
    return absl::OkStatus();
  }

  absl::Status ProcessBatch(int, const Batch& batch, Emitter& out) override {
    auto versions = ctx_->reference(reference_input_);
    if (versions == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat("reference data '", name_, "' is gone"));
    }
    // Keeps the versions (and the cached index) alive for this batch; a
    // refresh may replace the provider's list meanwhile.
    if (versions != versions_) {
      indexed_version_ = nullptr;
      noted_version_ = nullptr;
      versions_ = versions;
    }
    const RowSet rows = batch.active_rows();
    auto scratch = std::make_shared<Arena>(256);
    eval_.Reset(scratch.get());
    std::vector<ValueSpan> keys;
    for (auto& k : keys_) keys.push_back(k->Evaluate(batch, rows, eval_));
    if (absl::Status s = RejectFailedRows(batch, eval_.errors(), out, &failed_); !s.ok()) return s;
    // Candidate pairs: (stream row, version, reference row); a LEFT row
    // without one gets (row, null, 0).
    struct Pair {
      uint32_t row;
      const ReferenceVersion* version;
      uint32_t reference_row;
    };
    std::vector<Pair> pairs;
    std::string key;
    size_t f = 0;
    for (uint32_t r : rows) {
      while (f < failed_.size() && failed_[f] < r) ++f;
      if (f < failed_.size() && failed_[f] == r) continue;
      const ReferenceVersion* version = VersionAt(*versions, batch.timestamp(r));
      const size_t before = pairs.size();
      if (version != nullptr) {
        NoteVersion(*version);
        key.clear();
        bool null = false;
        for (const ValueSpan& k : keys) {
          null = null || k[r].is_null();
          EncodeValue(k[r], &key);
        }
        if (!null) {
          if (version != indexed_version_) {
            // IndexBy locks; look it up again only when the version changes.
            indexed_version_ = version;
            index_ = &version->IndexBy(index_columns_);
          }
          const ReferenceVersion::Index& index = *index_;
          auto found = index.find(key);
          if (found != index.end()) {
            for (uint32_t ref : found->second) pairs.push_back(Pair{r, version, ref});
          }
        }
      }
      if (left_outer_ && pairs.size() == before) pairs.push_back(Pair{r, nullptr, 0});
    }
    if (pairs.empty()) return absl::OkStatus();
    BatchBuilder builder(stream_width_ + reference_columns_.size(),
                         static_cast<uint32_t>(pairs.size()));
    for (const auto& arena : batch.arenas) builder.AddArena(arena);
    builder.AddArena(scratch);
    std::vector<const ReferenceVersion*> used;
    for (const Pair& p : pairs) {
      const uint32_t row = builder.AddRow(batch.timestamp(p.row));
      for (size_t c = 0; c < stream_width_; ++c) builder.Set(c, row, batch.value(c, p.row));
      for (size_t c = 0; c < reference_columns_.size(); ++c) {
        builder.Set(stream_width_ + c, row,
                    p.version == nullptr
                        ? Value::Null()
                        : p.version->rows().value(static_cast<size_t>(reference_columns_[c]),
                                                  p.reference_row));
      }
      if (const RowOrigin* origin = batch.origin(p.row)) builder.SetOrigin(row, *origin);
      if (const JoinedOrigins* others = batch.paired_origins(p.row)) {
        builder.SetPaired(row, *others);
      }
      if (p.version != nullptr && (used.empty() || used.back() != p.version)) {
        used.push_back(p.version);
      }
    }
    // The reference rows' strings live in their version's arenas.
    for (const ReferenceVersion* v : used) {
      for (const auto& arena : v->rows().arenas) builder.AddArena(arena);
    }
    Batch joined = builder.Finish();
    if (!condition_) return out.Emit(joined);
    return EmitFiltered(
        joined, pairs.size(), [&](uint32_t i) { return pairs[i].version; },
        [&](uint32_t i) { return pairs[i].row; }, out);
  }

  absl::Status Checkpoint(StateWriteBatch& batch) override {
    if (!newest_version_.empty() && newest_version_ != checkpointed_version_) {
      batch.Put(table_, "v", newest_version_);
      checkpointed_version_ = newest_version_;
    }
    return absl::OkStatus();
  }

 private:
  void NoteVersion(const ReferenceVersion& version) {
    if (&version == noted_version_) return;
    noted_version_ = &version;
    if (version.id() == newest_version_) return;
    newest_version_ = version.id();
    if (!checkpointed_version_.empty() && checkpointed_version_ != newest_version_) {
      // Joined with another version than the checkpoint saw: a replay after
      // a reference change, or a new version in event time.
      TaskMetrics::Add(ctx_->metrics().reference_versions_changed, 1);
    }
  }

  // Applies the rest of ON. Under LEFT, a stream row whose every pair
  // fails it comes out once with NULL reference columns instead.
  template <typename VersionOf, typename RowOf>
  absl::Status EmitFiltered(const Batch& joined, size_t count, VersionOf version_of, RowOf row_of,
                            Emitter& out) {
    Arena scratch(256);
    eval_.Reset(&scratch);
    const RowSet all = joined.active_rows();
    ValueSpan result = condition_->Evaluate(joined, all, eval_);
    for (uint32_t r : all) {
      if (version_of(r) != nullptr && TruthValue(result[r]) == -2) {
        eval_.AddError(r, "JOIN's ON condition is not a boolean: " + DebugString(result[r]));
      }
    }
    if (absl::Status s = RejectFailedRows(joined, eval_.errors(), out, &failed_, &describe_);
        !s.ok()) {
      return s;
    }
    std::vector<uint32_t> keep;
    std::vector<uint32_t> unmatched;  // LEFT: first pair of stream rows with no kept pair
    size_t f = 0;
    uint32_t group_start = 0;
    bool group_kept = false;
    for (uint32_t i = 0; i < count; ++i) {
      if (i > 0 && row_of(i) != row_of(i - 1)) {
        if (left_outer_ && !group_kept) unmatched.push_back(group_start);
        group_start = i;
        group_kept = false;
      }
      while (f < failed_.size() && failed_[f] < i) ++f;
      const bool failed = f < failed_.size() && failed_[f] == i;
      if (version_of(i) == nullptr) {
        keep.push_back(i);  // already a LEFT row without a match
        group_kept = true;
      } else if (!failed && TruthValue(result[i]) == 1) {
        keep.push_back(i);
        group_kept = true;
      }
    }
    if (count > 0 && left_outer_ && !group_kept) unmatched.push_back(group_start);
    if (!keep.empty()) {
      if (absl::Status s = out.Emit(WithSelection(joined, keep)); !s.ok()) return s;
    }
    if (unmatched.empty()) return absl::OkStatus();
    // The stream row with NULL reference columns.
    BatchBuilder builder(stream_width_ + reference_columns_.size(),
                         static_cast<uint32_t>(unmatched.size()));
    for (const auto& arena : joined.arenas) builder.AddArena(arena);
    for (uint32_t i : unmatched) {
      const uint32_t row = builder.AddRow(joined.timestamp(i));
      for (size_t c = 0; c < stream_width_; ++c) builder.Set(c, row, joined.value(c, i));
      for (size_t c = 0; c < reference_columns_.size(); ++c) {
        builder.Set(stream_width_ + c, row, Value::Null());
      }
      if (const RowOrigin* origin = joined.origin(i)) builder.SetOrigin(row, *origin);
      if (const JoinedOrigins* others = joined.paired_origins(i)) builder.SetPaired(row, *others);
    }
    return out.Emit(builder.Finish());
  }

  const bool left_outer_;
  const int reference_input_;
  const std::vector<int32_t> reference_columns_;
  std::vector<int32_t> index_columns_;  // reference input columns of the keys
  const size_t stream_width_;
  std::vector<std::unique_ptr<Expression>> keys_;
  std::unique_ptr<Expression> condition_;
  RowJsonWriter describe_;
  const std::string name_;
  EvalContext eval_;
  std::vector<uint32_t> failed_;
  StateTable table_;
  std::string checkpointed_version_;
  std::string newest_version_;
  std::shared_ptr<const ReferenceVersions> versions_;  // the list last used
  const ReferenceVersion* indexed_version_ = nullptr;
  const ReferenceVersion* noted_version_ = nullptr;
  const ReferenceVersion::Index* index_ = nullptr;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Operator>> MakeReferenceJoinOperator(const v1::Node& node,
                                                                    const v1::Plan& plan) {
  const v1::ReferenceJoinNode& spec = node.reference_join();
  if (node.inputs_size() != 1 || spec.stream_keys_size() != spec.reference_keys_size() ||
      spec.reference_input() < 0 || spec.reference_input() >= plan.inputs_size()) {
    return absl::InvalidArgumentError("malformed reference join node");
  }
  const v1::Input& reference = plan.inputs(spec.reference_input());
  const int width = reference.fields_size() + (reference.needs_record() ? 1 : 0);
  for (int32_t c : spec.reference_columns()) {
    if (c < 0 || c >= width) return absl::InvalidArgumentError("malformed reference join node");
  }
  for (int32_t c : spec.reference_keys()) {
    if (c < 0 || c >= spec.reference_columns_size()) {
      return absl::InvalidArgumentError("malformed reference join node");
    }
  }
  std::vector<std::unique_ptr<Expression>> keys;
  for (const v1::Expr& e : spec.stream_keys()) {
    auto compiled = CompileExpression(e);
    if (!compiled.ok()) return compiled.status();
    keys.push_back(*std::move(compiled));
  }
  std::unique_ptr<Expression> condition;
  if (spec.has_condition()) {
    auto compiled = CompileExpression(spec.condition());
    if (!compiled.ok()) return compiled.status();
    condition = *std::move(compiled);
  }
  return std::make_unique<ReferenceJoinOperator>(
      spec, static_cast<size_t>(plan.nodes(node.inputs(0)).schema().columns_size()),
      std::move(keys), std::move(condition), node.schema(), reference.name());
}

}  // namespace sluice

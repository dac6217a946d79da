#include "sql/optimizer.h"

#include <algorithm>
#include <functional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "sql/plan_walk.h"
#include "sql/planner.h"

namespace sluice::sql {
namespace {

int ConsumerCount(const v1::Plan& plan, int id) {
  int n = 0;
  for (const v1::Node& node : plan.nodes()) {
    for (int i : node.inputs()) n += i == id ? 1 : 0;
  }
  return n;
}

// Removes single-input node `id`, connecting its consumers to its input and
// renumbering the nodes after it.
void RemoveNode(v1::Plan* plan, int id) {
  const int replacement = plan->nodes(id).inputs(0);
  for (v1::Node& node : *plan->mutable_nodes()) {
    for (int& i : *node.mutable_inputs()) {
      if (i == id) i = replacement;
      if (i > id) --i;
    }
    if (node.id() > id) node.set_id(node.id() - 1);
  }
  plan->mutable_nodes()->DeleteSubrange(id, 1);
}

// Inputs are decoded into their referenced fields, in order of first use,
// then (only if some step uses `*` or the whole event) the event as a
// record. Nodes that read an input's rows directly refer to that record
// through a placeholder until the field count is known; this pass fixes the
// placeholder and gives source-layout nodes their schema.
void LayoutInputColumns(v1::Plan* plan) {
  std::vector<int> layout(plan->nodes_size(), -1);  // input whose layout a node has
  for (int n = 0; n < plan->nodes_size(); ++n) {
    const v1::Node& node = plan->nodes(n);
    if (node.has_source()) {
      layout[n] = node.source().input();
    } else if ((node.has_event_time() || node.has_filter()) && node.inputs_size() == 1) {
      layout[n] = layout[node.inputs(0)];
    }
  }
  for (int n = 0; n < plan->nodes_size(); ++n) {
    v1::Node* node = plan->mutable_nodes(n);
    if (node->has_reference_join()) {
      // The reference's own rows are laid out like an input's.
      v1::ReferenceJoinNode* j = node->mutable_reference_join();
      const int record_column = plan->inputs(j->reference_input()).fields_size();
      for (int32_t& c : *j->mutable_reference_columns()) {
        if (c == kRecordColumnPlaceholder) c = record_column;
      }
    }
    if (layout[n] >= 0) {
      const v1::Input& input = plan->inputs(layout[n]);
      v1::Schema* schema = node->mutable_schema();
      schema->Clear();
      for (const std::string& f : input.fields()) schema->add_columns()->set_name(f);
      if (input.needs_record()) {
        v1::Column* c = schema->add_columns();
        c->set_name("*");
        c->set_splice(true);
      }
    }
    if (node->inputs_size() != 1 || layout[node->inputs(0)] < 0) continue;
    const int record_column = plan->inputs(layout[node->inputs(0)]).fields_size();
    ForEachExpr(node, [&](v1::Expr* root) {
      ForEachSubExpr(root, [&](v1::Expr* e) {
        if (e->kind_case() == v1::Expr::kColumn && e->column() == kRecordColumnPlaceholder) {
          e->set_column(record_column);
        }
      });
    });
  }
}

// `SELECT * FROM step` projects every column unchanged: drop the project.
void RemoveIdentityProjects(v1::Plan* plan) {
  for (int n = plan->nodes_size() - 1; n >= 0; --n) {
    const v1::Node& node = plan->nodes(n);
    if (!node.has_project() || node.inputs_size() != 1) continue;
    const v1::Schema& in = plan->nodes(node.inputs(0)).schema();
    const v1::Schema& out = node.schema();
    if (in.columns_size() != out.columns_size()) continue;
    bool identity = true;
    for (int c = 0; c < out.columns_size() && identity; ++c) {
      const v1::Expr& e = node.project().exprs(c);
      identity = e.kind_case() == v1::Expr::kColumn && e.column() == c &&
                 in.columns(c).name() == out.columns(c).name() &&
                 in.columns(c).splice() == out.columns(c).splice();
    }
    if (identity) RemoveNode(plan, n);
  }
}

// WHERE followed by another filter on the same rows (HAVING without GROUP
// BY): one predicate, one pass over the batch. AND evaluates its right side
// only where the left is not false, so errors are unchanged.
void MergeAdjacentFilters(v1::Plan* plan) {
  for (int n = plan->nodes_size() - 1; n >= 0; --n) {
    const v1::Node& node = plan->nodes(n);
    if (!node.has_filter() || node.inputs_size() != 1) continue;
    const int up = node.inputs(0);
    if (!plan->nodes(up).has_filter() || ConsumerCount(*plan, up) != 1) continue;
    // AND is n-ary: predicates that are already ANDs contribute their
    // terms, so merging adds at most one level of nesting.
    v1::Expr merged;
    merged.mutable_call()->set_function("and");
    for (const v1::Expr* predicate :
         {&plan->nodes(up).filter().predicate(), &node.filter().predicate()}) {
      if (predicate->has_call() && predicate->call().function() == "and") {
        for (const v1::Expr& term : predicate->call().args()) {
          *merged.mutable_call()->add_args() = term;
        }
      } else {
        *merged.mutable_call()->add_args() = *predicate;
      }
    }
    v1::Node* down = plan->mutable_nodes(n);
    *down->mutable_filter()->mutable_predicate() = std::move(merged);
    down->set_inputs(0, plan->nodes(up).inputs(0));
    // `up` now has no consumer; remove it by rewiring nothing.
    RemoveNode(plan, up);
    n = std::min(n, plan->nodes_size());
  }
}

// How a node's output is spread over the tasks of its stage.
struct Partitioning {
  enum class Kind { kUnknown, kByColumns, kSingle };
  Kind kind = Kind::kUnknown;
  std::vector<int32_t> columns;  // kByColumns: rows with equal values share a task
  // Which rows share a task, beyond the columns: rows of one input (its
  // index) or rows out of an exchange (kExchanged). Rows of two different
  // inputs never do: a worker's task reads one topic-partition, so a join or
  // a UNION of two inputs that groups needs an exchange even when both are
  // partitioned by the same key (see sql/README.md, "Joins").
  static constexpr int kExchanged = -2;
  int from = -1;
};

bool SameName(std::string_view a, std::string_view b) {
  return absl::EqualsIgnoreCase(absl::string_view(a.data(), a.size()),
                                absl::string_view(b.data(), b.size()));
}

bool IsColumn(const v1::Expr& e, int32_t* column) {
  if (e.kind_case() != v1::Expr::kColumn) return false;
  *column = e.column();
  return true;
}

// Whether grouping by `keys` (expressions over the input) keeps every group
// inside one task of an input partitioned as `in`.
bool Aligned(const Partitioning& in, const google::protobuf::RepeatedPtrField<v1::Expr>& keys) {
  if (in.kind == Partitioning::Kind::kSingle) return true;
  if (in.kind != Partitioning::Kind::kByColumns) return false;
  for (int32_t needed : in.columns) {
    bool found = false;
    for (const v1::Expr& k : keys) {
      int32_t c;
      found = found || (IsColumn(k, &c) && c == needed);
    }
    if (!found) return false;
  }
  return true;
}

// Whether rows of a join's two inputs, partitioned as `l` and `r`, that
// could match always share a task: both sides are partitioned by columns
// that the join equates, in the same order.
bool CoPartitioned(const Partitioning& l, const Partitioning& r, const v1::JoinNode& join) {
  if (l.from != r.from) return false;
  if (l.kind == Partitioning::Kind::kSingle && r.kind == Partitioning::Kind::kSingle) return true;
  if (l.kind != Partitioning::Kind::kByColumns || r.kind != Partitioning::Kind::kByColumns ||
      l.columns.size() != r.columns.size()) {
    return false;
  }
  for (size_t k = 0; k < l.columns.size(); ++k) {
    bool paired = false;
    for (int i = 0; i < join.left_keys_size() && !paired; ++i) {
      int32_t a;
      int32_t b;
      paired = IsColumn(join.left_keys(i), &a) && a == l.columns[k] &&
               IsColumn(join.right_keys(i), &b) && b == r.columns[k];
    }
    if (!paired) return false;
  }
  return true;
}

// Inserts `node` at index `at`, shifting the ids of later nodes.
void InsertNode(v1::Plan* plan, int at, v1::Node node) {
  auto* nodes = plan->mutable_nodes();
  nodes->Add();
  for (int i = nodes->size() - 1; i > at; --i) nodes->SwapElements(i, i - 1);
  *nodes->Mutable(at) = std::move(node);
  for (int i = 0; i < nodes->size(); ++i) {
    v1::Node* n = nodes->Mutable(i);
    n->set_id(i);
    if (i == at) continue;
    for (int32_t& input : *n->mutable_inputs()) {
      if (input >= at) ++input;
    }
  }
}

// Finds how every node's output is partitioned; where a step groups by
// something its input is not partitioned by, inserts an exchange before it
// and returns false (ids moved: the caller starts over).
bool PartitionNodes(v1::Plan* plan) {
  std::vector<Partitioning> parts;
  for (int i = 0; i < plan->nodes_size(); ++i) {
    v1::Node* node = plan->mutable_nodes(i);
    Partitioning out;
    auto input_part = [&](int k) -> const Partitioning& { return parts[node->inputs(k)]; };
    switch (node->op_case()) {
      case v1::Node::kSource: {
        const std::string& key = plan->inputs(node->source().input()).partition_key();
        const auto& columns = node->schema().columns();
        for (int c = 0; c < columns.size() && !key.empty(); ++c) {
          if (!columns[c].splice() && SameName(columns[c].name(), key)) {
            out.kind = Partitioning::Kind::kByColumns;
            out.columns = {c};
            break;
          }
        }
        out.from = node->source().input();
        break;
      }
      case v1::Node::kEventTime:
      case v1::Node::kFilter:
      case v1::Node::kSink:
      case v1::Node::kApply:          // passes its input's columns first, unchanged
      case v1::Node::kReferenceJoin:  // every task has the whole table
        out = input_part(0);
        break;
      case v1::Node::kProject: {
        const Partitioning& in = input_part(0);
        out.kind = in.kind;
        out.from = in.from;
        if (in.kind != Partitioning::Kind::kByColumns) break;
        for (int32_t needed : in.columns) {
          int found = -1;
          for (int c = 0; c < node->project().exprs_size() && found < 0; ++c) {
            int32_t column;
            if (IsColumn(node->project().exprs(c), &column) && column == needed) found = c;
          }
          if (found < 0) {
            out = Partitioning();
            break;
          }
          out.columns.push_back(found);
        }
        break;
      }
      case v1::Node::kWindowAggregate: {
        const v1::WindowAggregateNode& agg = node->window_aggregate();
        // Sessions are kept per PARTITION BY key, so that is what must stay
        // together; a session without one is a single timeline over every
        // event, so all of them must (no key); otherwise the group key.
        const google::protobuf::RepeatedPtrField<v1::Expr> no_keys;
        const bool one_timeline = agg.window().kind() == v1::WindowSpec::KIND_SESSION &&
                                  agg.window().partition_by_size() == 0;
        const auto& keys = agg.window().partition_by_size() > 0 ? agg.window().partition_by()
                           : one_timeline                       ? no_keys
                                                                : agg.keys();
        // An aggregate right after an exchange is where the exchange put it.
        const bool after_exchange = plan->nodes(node->inputs(0)).has_exchange();
        if (!after_exchange && !Aligned(input_part(0), keys)) {
          v1::Node exchange;
          exchange.add_inputs(node->inputs(0));
          *exchange.mutable_schema() = plan->nodes(node->inputs(0)).schema();
          exchange.set_step(node->step());
          v1::ExchangeNode* x = exchange.mutable_exchange();
          for (const v1::Expr& k : keys) *x->add_keys() = k;
          if (one_timeline) {
            // No key: every row goes to the one task of the next stage.
          } else if (agg.window().partition_by_size() == 0) {
            for (const std::string& text : agg.key_text()) x->add_key_text(text);
          } else {
            for (const v1::Expr& k : keys) (void)k, x->add_key_text("(session partition)");
          }
          InsertNode(plan, i, std::move(exchange));
          // The aggregate (now node i + 1) reads the exchange (node i).
          plan->mutable_nodes(i + 1)->set_inputs(0, i);
          return false;
        }
        // Output columns: the keys first, then the aggregates.
        const Partitioning& in = input_part(0);
        out.kind = in.kind;
        out.from = in.from;
        if (in.kind == Partitioning::Kind::kByColumns) {
          for (int32_t needed : in.columns) {
            for (int k = 0; k < agg.keys_size(); ++k) {
              int32_t column;
              if (IsColumn(agg.keys(k), &column) && column == needed) {
                out.columns.push_back(k);
                break;
              }
            }
          }
          if (out.columns.size() != in.columns.size()) out = Partitioning();
        }
        break;
      }
      case v1::Node::kAnalytic: {
        // Every row of a PARTITION BY key in one task, in time order (none:
        // one timeline, every row in one task).
        const v1::AnalyticNode& a = node->analytic();
        const bool after_exchange = plan->nodes(node->inputs(0)).has_exchange();
        if (!after_exchange && !Aligned(input_part(0), a.partition_by())) {
          v1::Node exchange;
          exchange.add_inputs(node->inputs(0));
          *exchange.mutable_schema() = plan->nodes(node->inputs(0)).schema();
          exchange.set_step(node->step());
          v1::ExchangeNode* x = exchange.mutable_exchange();
          for (const v1::Expr& k : a.partition_by()) *x->add_keys() = k;
          for (const std::string& text : a.partition_text()) x->add_key_text(text);
          InsertNode(plan, i, std::move(exchange));
          plan->mutable_nodes(i + 1)->set_inputs(0, i);
          return false;
        }
        // Its input's columns come first, unchanged.
        out = input_part(0);
        break;
      }
      case v1::Node::kExchange: {
        const v1::ExchangeNode& x = node->exchange();
        out.from = Partitioning::kExchanged;
        if (x.keys_size() == 0) {
          out.kind = Partitioning::Kind::kSingle;
          break;
        }
        out.kind = Partitioning::Kind::kByColumns;
        for (const v1::Expr& k : x.keys()) {
          int32_t column;
          if (!IsColumn(k, &column)) {
            // Partitioned by a computed value: no column carries it.
            out = Partitioning();
            break;
          }
          out.columns.push_back(column);
        }
        break;
      }
      case v1::Node::kJoin: {
        const v1::JoinNode& join = node->join();
        const bool after_exchange = plan->nodes(node->inputs(0)).has_exchange() &&
                                    plan->nodes(node->inputs(1)).has_exchange();
        if (!after_exchange && !CoPartitioned(input_part(0), input_part(1), join)) {
          // Both sides move, by their join keys, to one new stage
          // (InsertExchanges gives the two exchanges the same one).
          for (int side = 1; side >= 0; --side) {
            const int join_at = i + (side == 1 ? 0 : 1);
            const int from = plan->nodes(join_at).inputs(side);
            v1::Node exchange;
            exchange.add_inputs(from);
            *exchange.mutable_schema() = plan->nodes(from).schema();
            exchange.set_step(plan->nodes(join_at).step());
            v1::ExchangeNode* x = exchange.mutable_exchange();
            for (const v1::Expr& k : side == 0 ? join.left_keys() : join.right_keys()) {
              *x->add_keys() = k;
            }
            for (const std::string& text : join.key_text()) x->add_key_text(text);
            InsertNode(plan, join_at, std::move(exchange));
            plan->mutable_nodes(join_at + 1)->set_inputs(side, join_at);
          }
          return false;
        }
        // Output columns: the left side's first, so its partitioning holds.
        out = input_part(0);
        break;
      }
      case v1::Node::kUnionAll: {
        out = input_part(0);
        for (int k = 1; k < node->inputs_size(); ++k) {
          const Partitioning& other = input_part(k);
          if (other.kind != out.kind || other.columns != out.columns || other.from != out.from) {
            out = Partitioning();
          }
        }
        break;
      }
      default:
        break;
    }
    parts.push_back(out);
  }
  return true;
}

// Where a step groups by something its input is not partitioned by (the
// inputs are partitioned by their partition key, normally the device), an
// exchange moves the rows to a new stage partitioned by the group key. Then
// numbers the stages.
void InsertExchanges(v1::Plan* plan) {
  // One pass per exchange inserted (at most one per SELECT).
  while (!PartitionNodes(plan)) {
  }
  // Stages: an exchange feeds a new one; everything else runs in its
  // inputs' stage.
  int stages = 1;
  plan->clear_distributed_error();
  // The two exchanges before a join feed one stage: join node -> it.
  std::vector<int> join_stage(plan->nodes_size(), -1);
  for (int i = 0; i < plan->nodes_size(); ++i) {
    v1::Node* node = plan->mutable_nodes(i);
    if (node->has_exchange()) {
      int feeds_join = -1;
      for (const v1::Node& other : plan->nodes()) {
        if (!other.has_join()) continue;
        for (int32_t input : other.inputs()) {
          if (input == i) feeds_join = other.id();
        }
      }
      if (feeds_join >= 0 && join_stage[feeds_join] >= 0) {
        node->mutable_exchange()->set_to_stage(join_stage[feeds_join]);
      } else {
        node->mutable_exchange()->set_to_stage(stages++);
        if (feeds_join >= 0) join_stage[feeds_join] = node->exchange().to_stage();
      }
    }
    int stage = -1;
    for (int32_t input : node->inputs()) {
      const v1::Node& in = plan->nodes(input);
      const int s = in.has_exchange() ? in.exchange().to_stage() : in.stage();
      if (stage >= 0 && s != stage && plan->distributed_error().empty()) {
        plan->set_distributed_error(absl::StrCat(
            "step ", node->step(),
            " combines streams that are partitioned differently (one crosses an exchange, "
            "the other does not); such a query runs in a single task (sluice run) only"));
      }
      stage = std::max(stage, s);
    }
    node->set_stage(std::max(stage, 0));
  }
  plan->set_stages(stages);
}

}  // namespace

const std::vector<OptimizerPass>& OptimizerPasses() {
  static const auto* passes = new std::vector<OptimizerPass>{
      {"merge_adjacent_filters", "WHERE and HAVING without GROUP BY become one filter",
       &MergeAdjacentFilters},
      {"remove_identity_projects", "SELECT * FROM <step> passes rows through",
       &RemoveIdentityProjects},
      {"layout_input_columns", "decode only the fields the query reads; the whole event only for *",
       &LayoutInputColumns},
      {"insert_exchanges",
       "a step grouped by something other than the inputs' partition key gets an exchange and a "
       "stage of its own",
       &InsertExchanges},
  };
  return *passes;
}

}  // namespace sluice::sql

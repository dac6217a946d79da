// Internal to sql/: what the parts of the planner share. The Planner class
// (declared here, entry point PlanScript in sql/planner.h) is defined across
//   planner.cc             statements, steps, FROM, row SELECTs, projections
//   planner_aggregates.cc  grouped SELECTs (GROUP BY, HAVING) and aggregates
//   planner_windows.cc     window functions and their durations
//   planner_bind.cc        expressions: names, operators, scalar calls
//   planner_text.cc        Render and Canonical, and the name helpers
// Nothing outside sql/planner*.cc includes this header.
#ifndef SLUICE_SQL_PLANNER_INTERNAL_H_
#define SLUICE_SQL_PLANNER_INTERNAL_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "proto/plan.pb.h"
#include "sql/ast.h"
#include "sql/compiler.h"
#include "sql/query_error.h"

namespace sluice::sql::planner_internal {

std::string Lower(std::string_view s);

bool SameName(std::string_view a, std::string_view b);
// LAG, LAST, ISFIRST, or an aggregate with an analytic OVER (PARTITION BY,
// LIMIT DURATION or WHEN): evaluated per event, before the step's WHERE.
bool IsAnalyticCall(const Expr& e);

struct JoinScope;

// What a FROM clause makes visible.
struct Relation {
  int node = -1;
  bool is_input = false;
  int input = -1;
  std::string source;  // input or step name as written
  std::string alias;
  std::vector<std::string> columns;  // steps: output column names
  std::vector<bool> splice;
  std::vector<bool> key;  // the column is a GROUP BY key (passed through)
  // Lower-case name -> the first non-spliced column of that name.
  absl::flat_hash_map<std::string, int> column_index;
  // An input read with TIMESTAMP BY ... OVER: its OVER columns, lower case.
  std::vector<std::string> substream_columns;
  // Set for the rows of a JOIN: names resolve against its sides
  // (planner_join.cc), and the relation itself has no columns or name.
  std::shared_ptr<JoinScope> join;

  bool IsQualifier(std::string_view name) const {
    return SameName(name, source) || (!alias.empty() && SameName(name, alias));
  }
  void IndexColumns() {
    column_index.clear();
    for (size_t c = 0; c < columns.size(); ++c) {
      if (!splice[c]) column_index.try_emplace(Lower(columns[c]), static_cast<int>(c));
    }
  }
};

// Names bound against a JOIN's rows refer to slot j of side s as column
// (s + 1) * kJoinSlotStride + j until the SELECT is planned; FinishJoin then
// lays the sides out (side 0's slots first) and renumbers them.
inline constexpr int32_t kJoinSlotStride = 1 << 20;
// The column of a side that stands for its rows' event time (a hidden slot
// that three-way joins compare).
inline constexpr int32_t kSideTimeColumn = -2;

// One side of a JOIN: the relation it reads and the columns of it the
// SELECT uses, which a projection before the join packs.
struct JoinSide {
  Relation rel;
  bool reference = false;  // a reference input: a table, no projection
  bool apply = false;      // an APPLY's elements: its two columns, no projection
  bool analytic = false;   // analytic functions' results: a column each, no projection
  int node = -1;           // the join or apply node that adds this side (not side 0)
  int project_node = -1;
  int filter_node = -1;         // ON's conditions on this side alone, after the projection
  std::vector<v1::Expr> slots;  // over rel's columns
  std::vector<std::string> slot_names;
  std::vector<bool> slot_splice;
  absl::flat_hash_map<int32_t, int> slot_of;  // rel's column -> slot
};

// A JOIN's sides, or an APPLY's: side 0 is FROM, side k the k-th JOIN's
// right side or APPLY's elements, joined to the rows of sides 0..k-1.
struct JoinScope {
  std::vector<JoinSide> sides;
  int join_node = -1;  // the last join or apply node: the rows of all sides
  // FROM and one APPLY only: unqualified names are the element's columns or
  // FROM's, and SELECT * is both.
  bool apply = false;
  // FROM and analytic functions (LAG, LAST, ISFIRST): names are FROM's,
  // SELECT * is FROM's, and each call is a column of an analytic side.
  bool analytic = false;
  // Analytic call (as rendered) -> its side and column.
  absl::flat_hash_map<std::string, std::pair<int, int32_t>> analytic_columns;
};

// Lower-case alias -> the SELECT items that have it, in order: what a name
// in HAVING may stand for.
using AliasIndex = absl::flat_hash_map<std::string, std::vector<size_t>>;

AliasIndex IndexAliases(const std::vector<SelectItem>& items);

// Where an expression is bound and what its names may refer to.
struct Scope {
  enum class Mode { kRow, kGrouped };
  Mode mode = Mode::kRow;
  const Relation* rel = nullptr;
  std::string clause;  // "WHERE", "SELECT", ... for messages
  bool allow_system_timestamp = true;
  bool in_aggregate = false;
  // Grouped mode: the keys' and aggregates' canonical texts -> their
  // positions among the aggregate node's columns (keys first).
  absl::flat_hash_map<std::string, int> key_canon;
  v1::WindowAggregateNode* agg = nullptr;
  absl::flat_hash_map<std::string, int>* agg_canon = nullptr;
  // HAVING: the SELECT items its names may stand for.
  const std::vector<SelectItem>* select_items = nullptr;
  const AliasIndex* aliases = nullptr;
  std::vector<bool> alias_busy;
};

// The columns a SELECT produces, in order, before its projection node.
struct SelectColumns {
  std::vector<std::string> names;
  std::vector<bool> splices;
  std::vector<v1::Expr> exprs;
  std::vector<SourceLocation> locations;  // of the SELECT item behind each column
  std::vector<bool> aliased;              // whether that item has an alias
  int key_count = 0;                      // GROUP BY keys, when grouped

  void Add(v1::Expr expr, std::string name, bool splice, const SelectItem& item) {
    exprs.push_back(std::move(expr));
    names.push_back(std::move(name));
    splices.push_back(splice);
    locations.push_back(item.location);
    aliased.push_back(!item.alias.empty());
  }
};

// A readable rendering of an expression, for explain and plan labels.
std::string Render(const Expr& e);

bool IsSystemTimestampPath(const std::vector<std::string>& path);

class Planner {
 public:
  Planner(const CompileOptions& options, v1::Plan* plan, QueryError* error)
      : options_(options), plan_(plan), error_(error) {}

  bool Build(const Script& script);

 private:
  struct InputState {
    int source_node = -1;
    absl::flat_hash_map<std::string, int> field_index;       // lower-case name -> column
    absl::flat_hash_map<std::string, int> event_time_nodes;  // by TIMESTAMP BY text
  };
  struct StepState {
    const Step* step = nullptr;
    bool planning = false;
    bool planned = false;
    Relation rel;
  };

  bool Fail(SourceLocation at, std::string message) {
    if (!failed_) {
      failed_ = true;
      error_->location = at;
      error_->message = std::move(message);
    }
    return false;
  }

  v1::Node* AddNode(const std::vector<int>& inputs, const std::string& step) {
    v1::Node* node = plan_->add_nodes();
    node->set_id(plan_->nodes_size() - 1);
    for (int i : inputs) node->add_inputs(i);
    node->set_step(step);
    return node;
  }

  // planner.cc
  bool PlanQuery(const Query& query, const std::string& step, Relation* out);
  bool PlanSelect(const Select& select, const std::string& step, Relation* out);
  // A SELECT without GROUP BY: HAVING (as a filter) and the items, with *
  // expanded. `current` is the node the SELECT reads; it moves to the
  // filter's.
  bool PlanRowSelect(const Select& select, const std::string& step, const Relation& rel,
                     int* current, SelectColumns* columns);
  // `*`, `source.*` (every column) or `record.*` (a spliced record).
  bool ExpandStar(const SelectItem& item, const Relation& rel, Scope& scope,
                  SelectColumns* columns);
  // The projection node that ends a SELECT, and the relation it makes.
  bool PlanProjection(const Select& select, const std::string& step, const Relation& rel,
                      int current, SelectColumns columns, Relation* out);
  bool ResolveFrom(const FromClause& from, const std::string& step, Relation* rel);
  bool CheckSubstreamJoins(const Select& select);

  // planner_analytic.cc
  // The analytic calls of a SELECT (IsAnalyticCall), in order of appearance.
  std::vector<const Expr*> AnalyticCalls(const Select& select) const;
  // FROM, then one analytic node per PARTITION BY computing `calls`, as the
  // sides of a JoinScope (names resolve to FROM's).
  bool PlanAnalytic(const Select& select, const std::vector<const Expr*>& calls,
                    const std::string& step, Relation* rel);
  bool AnalyticFunction(const Expr& call, Relation& rel, v1::AnalyticNode::Function* f);
  bool AnalyticAggregate(const Expr& call, Scope& scope, v1::Aggregate::Function function,
                         v1::AnalyticNode::Function* f);
  bool FromRecord(const Expr& call, const Relation& rel, v1::Expr* out);
  bool AnomalyDetection(const Expr& call, Scope& scope, v1::AnalyticNode::Function* f);
  // An analytic call met while binding: its column.
  bool BindAnalyticCall(const Expr& e, Scope& scope, v1::Expr* out);

  // planner_join.cc
  // FROM with JOINs: plans every side, a projection before the joins on
  // each stream, and one join node per JOIN (a stream join, or a reference
  // join for a reference input), each joining the rows so far with its
  // right side, reading ON into keys, time bounds and the rest.
  bool PlanJoin(const Select& select, const std::string& step, Relation* rel);
  // The ON of the JOIN that adds stream side k. `side_filters` gets the
  // conditions that read the left side (k = 1) or side k only (filtered
  // before the join); `rest` gets what else ON checks of each pair.
  bool ReadJoinCondition(const JoinClause& clause, Relation& rel, int k, v1::JoinNode* join,
                         std::vector<v1::Expr>* side_filters);
  bool ReadReferenceCondition(const JoinClause& clause, Relation& rel, int k,
                              v1::ReferenceJoinNode* join);
  bool IsReferenceInput(const std::string& name) const;
  // Fails (and returns true) when `e`, in the ON of the JOIN that adds side
  // k, reads a side joined after it.
  bool ReadsLaterSide(const v1::Expr& e, const Relation& rel, int k, SourceLocation at);
  // The (empty) projection that will pack what the SELECT reads of a side.
  int ProjectSide(JoinSide& side, const std::string& step);
  // The elements side of CROSS or OUTER APPLY (its relation), and its
  // apply node after the rows so far.
  bool ApplySide(const JoinClause& clause, JoinSide& side);
  bool PlanApply(const JoinClause& clause, Relation& rel, int k, int input,
                 const std::string& step);
  // A DATEDIFF(unit, a, b) bound in the ON of the JOIN that adds side k:
  // *other is the earlier side it compares k with, and [*low, *high] bound
  // ts(k) - ts(other) in ticks; *is_bound is false for any other conjunct.
  bool ReadJoinBound(const Expr& conjunct, const Relation& rel, int k, int* other, int64_t* low,
                     int64_t* high, bool* is_bound);
  bool BindJoinName(const Expr& e, Scope& scope, v1::Expr* out);
  // `a.*` in a SELECT over a JOIN.
  bool ExpandJoinStar(const SelectItem& item, const Relation& rel, SelectColumns* columns);
  // An APPLY's element (both its columns) as one record value.
  void ApplyElementRecord(JoinScope& join, int side, v1::Expr* out);
  // The slot of side `s`'s column `column`, added on first use.
  int32_t JoinSlot(JoinScope& join, int s, int32_t column);
  // Lays out the sides' projections and the join's columns once the
  // SELECT is planned, and renumbers the slots in every node from the join
  // on.
  void FinishJoin(const JoinScope& join);
  int InputIndex(const std::string& name, SourceLocation at);
  // The column of an input field, added on first use; -1 past
  // kMaxInputFields.
  int FieldColumn(int input, const std::string& name);
  std::string OutputName(const SelectItem& item, size_t position) const;

  // planner_aggregates.cc
  // A SELECT with GROUP BY: the window aggregate node, HAVING (as a filter
  // after it) and the items, bound against the keys and aggregates.
  bool PlanGroupedSelect(const Select& select, const std::string& step, const Relation& rel,
                         int* current, SelectColumns* columns);
  // The GROUP BY window and the System.Timestamp() item, if any.
  bool FindGroupWindow(const Select& select, const Expr** window, const Expr** snapshot);
  bool BindAggregate(const Expr& e, Scope& scope, v1::Expr* out);
  bool BindTopOne(const Expr& e, Scope& scope, v1::Aggregate spec, const std::string& canon,
                  v1::Expr* out);

  // planner_windows.cc
  bool ReadWindow(const Expr& call, const Relation& rel, v1::WindowSpec* spec);
  bool ReadTumblingWindow(const Expr& call, int64_t* size, int64_t* offset);
  bool ReadHoppingWindow(const Expr& call, int64_t* size, int64_t* hop, int64_t* offset);
  bool ReadSlidingWindow(const Expr& call, int64_t* size);
  bool ReadSessionWindow(const Expr& call, const Relation& rel, v1::WindowSpec* spec);
  // Argument `i` of a long-form window call, `expected_name`(unit, size).
  bool ReadWindowPart(const Expr& call, size_t i, std::string_view expected_name,
                      const std::string& what, bool is_offset, int64_t* ticks);
  bool FailWindowArgs(const Expr& call, const char* forms);
  bool ReadDuration(const Expr& unit, const Expr& size, bool is_offset, const std::string& what,
                    int64_t* ticks);

  // planner_bind.cc
  // Binds one expression node and, through BindExprNode, its children;
  // counts nesting (HAVING aliases expand in place) and the plan's size.
  bool BindExpr(const Expr& e, Scope& scope, v1::Expr* out);
  bool BindExprNode(const Expr& e, Scope& scope, v1::Expr* out);
  // A name that is not a GROUP BY key: a HAVING alias, else (not grouped)
  // a field or column.
  bool BindNameNode(const Expr& e, Scope& scope, v1::Expr* out);
  bool BindCase(const Expr& e, Scope& scope, v1::Expr* out);
  bool BindCast(const Expr& e, Scope& scope, v1::Expr* out);
  bool BindAlias(const Expr& e, Scope& scope, v1::Expr* out, bool* found);
  bool BindName(const Expr& e, Scope& scope, v1::Expr* out);
  bool BindCall(const Expr& e, Scope& scope, v1::Expr* out);
  // planner_udf.cc: `udf.name(args)`.
  bool BindUserFunction(const Expr& e, Scope& scope, v1::Expr* out);

  // planner_text.cc
  std::string Canonical(const Expr& e, const Relation* rel) const;

  const CompileOptions& options_;
  v1::Plan* plan_;
  QueryError* error_;
  bool failed_ = false;
  int bind_depth_ = 0;           // BindExpr calls in progress
  int bound_exprs_ = 0;          // BindExpr calls so far (kMaxPlanExpressions)
  int user_function_calls_ = 0;  // kMaxUserFunctionCalls
  std::vector<InputState> inputs_;
  // The first input a FROM read, and whether it used TIMESTAMP BY ... OVER.
  std::string substream_input_;
  bool substreams_ = false;
  absl::flat_hash_map<std::string, StepState> steps_;  // by lower-case name
  absl::flat_hash_map<std::string, int> outputs_;      // by lower-case name
};

}  // namespace sluice::sql::planner_internal

#endif  // SLUICE_SQL_PLANNER_INTERNAL_H_

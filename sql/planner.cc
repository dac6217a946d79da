#include "sql/planner.h"

#include <charconv>
#include <cmath>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "sql/function_catalog.h"
#include "sql/limits.h"

namespace sluice::sql {
namespace {

std::string Lower(std::string_view s) {
  return absl::AsciiStrToLower(absl::string_view(s.data(), s.size()));
}

bool SameName(std::string_view a, std::string_view b) {
  return a.size() == b.size() && Lower(a) == Lower(b);
}

std::string FormatNumber(double d) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), d);
  (void)ec;
  return std::string(buf, end - buf);
}

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

// Lower-case alias -> the SELECT items that have it, in order: what a name
// in HAVING may stand for.
using AliasIndex = absl::flat_hash_map<std::string, std::vector<size_t>>;

AliasIndex IndexAliases(const std::vector<SelectItem>& items) {
  AliasIndex index;
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].kind == SelectItem::Kind::kExpr && !items[i].alias.empty()) {
      index[Lower(items[i].alias)].push_back(i);
    }
  }
  return index;
}

class Planner;

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

// A readable rendering of an expression, for explain and plan labels.
std::string Render(const Expr& e) {
  switch (e.kind) {
    case Expr::Kind::kNull:
      return "NULL";
    case Expr::Kind::kInteger:
      return absl::StrCat(e.int_value);
    case Expr::Kind::kFloat:
      return FormatNumber(e.float_value);
    case Expr::Kind::kString:
      return absl::StrCat("'", e.string_value, "'");
    case Expr::Kind::kName:
      return absl::StrJoin(e.path, ".");
    case Expr::Kind::kCall: {
      if (e.path.size() == 1 && e.path[0] == "$field") {
        return absl::StrCat(Render(*e.args[0]), ".", e.args[1]->string_value);
      }
      std::string s = absl::StrCat(absl::StrJoin(e.path, "."), "(");
      if (e.distinct) s += "DISTINCT ";
      if (e.star_arg) s += "*";
      for (size_t i = 0; i < e.args.size(); ++i) {
        if (i > 0) s += ", ";
        s += Render(*e.args[i]);
      }
      s += ")";
      if (e.has_over && !e.over_order.empty()) {
        s += " OVER (ORDER BY ";
        for (size_t i = 0; i < e.over_order.size(); ++i) {
          if (i > 0) s += ", ";
          s += Render(*e.over_order[i]);
          if (e.over_descending[i]) s += " DESC";
        }
        s += ")";
      } else if (e.has_over) {
        s += " OVER (PARTITION BY ";
        for (size_t i = 0; i < e.over_partition.size(); ++i) {
          if (i > 0) s += ", ";
          s += Render(*e.over_partition[i]);
        }
        s += ")";
      }
      return s;
    }
    case Expr::Kind::kUnary:
      return e.op == "not" ? absl::StrCat("NOT ", Render(*e.args[0]))
                           : absl::StrCat(e.op, Render(*e.args[0]));
    case Expr::Kind::kBinary: {
      const std::string op =
          absl::StrCat(" ", e.op == "and" ? "AND" : (e.op == "or" ? "OR" : e.op), " ");
      std::string s;
      for (size_t i = 0; i < e.args.size(); ++i) {
        if (i > 0) s += op;
        s += Render(*e.args[i]);
      }
      return s;
    }
    case Expr::Kind::kBetween:
      return absl::StrCat(Render(*e.args[0]), e.negated ? " NOT" : "", " BETWEEN ",
                          Render(*e.args[1]), " AND ", Render(*e.args[2]));
    case Expr::Kind::kIn: {
      std::string s = absl::StrCat(Render(*e.args[0]), e.negated ? " NOT" : "", " IN (");
      for (size_t i = 1; i < e.args.size(); ++i) {
        if (i > 1) s += ", ";
        s += Render(*e.args[i]);
      }
      return s + ")";
    }
    case Expr::Kind::kLike:
      return absl::StrCat(Render(*e.args[0]), e.negated ? " NOT" : "", " LIKE ",
                          Render(*e.args[1]));
    case Expr::Kind::kIsNull:
      return absl::StrCat(Render(*e.args[0]), " IS ", e.negated ? "NOT " : "", "NULL");
    case Expr::Kind::kCase:
      return "CASE ... END";
    case Expr::Kind::kCast:
      return absl::StrCat(e.try_cast ? "TRY_CAST(" : "CAST(", Render(*e.args[0]), " AS ",
                          e.type_name, ")");
  }
  return "?";
}

bool IsSystemTimestampPath(const std::vector<std::string>& path) {
  return path.size() == 2 && SameName(path[0], "system") && SameName(path[1], "timestamp");
}

bool IsSystemTimestamp(const Expr& e) {
  return (e.kind == Expr::Kind::kCall || e.kind == Expr::Kind::kName) &&
         IsSystemTimestampPath(e.path) && e.args.empty();
}

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

  bool PlanQuery(const Query& query, const std::string& step, Relation* out);
  bool PlanSelect(const Select& select, const std::string& step, Relation* out);
  bool ResolveFrom(const FromClause& from, const std::string& step, Relation* rel);
  int InputIndex(const std::string& name, SourceLocation at);
  // The column of an input field, added on first use; -1 past
  // kMaxInputFields.
  int FieldColumn(int input, const std::string& name);

  std::string Canonical(const Expr& e, const Relation* rel) const;
  // Binds one expression node and, through BindExprNode, its children;
  // counts nesting (HAVING aliases expand in place) and the plan's size.
  bool BindExpr(const Expr& e, Scope& scope, v1::Expr* out);
  bool BindExprNode(const Expr& e, Scope& scope, v1::Expr* out);
  bool BindAlias(const Expr& e, Scope& scope, v1::Expr* out, bool* found);
  bool BindName(const Expr& e, Scope& scope, v1::Expr* out);
  bool BindCall(const Expr& e, Scope& scope, v1::Expr* out);
  bool BindAggregate(const Expr& e, Scope& scope, v1::Expr* out);
  bool BindTopOne(const Expr& e, Scope& scope, v1::Aggregate spec, const std::string& canon,
                  v1::Expr* out);
  bool ReadWindow(const Expr& call, const Relation& rel, v1::WindowSpec* spec);
  bool ReadDuration(const Expr& unit, const Expr& size, bool is_offset, const std::string& what,
                    int64_t* ticks);
  std::string OutputName(const SelectItem& item, size_t position) const;

  const CompileOptions& options_;
  v1::Plan* plan_;
  QueryError* error_;
  bool failed_ = false;
  int bind_depth_ = 0;   // BindExpr calls in progress
  int bound_exprs_ = 0;  // BindExpr calls so far (kMaxPlanExpressions)
  std::vector<InputState> inputs_;
  absl::flat_hash_map<std::string, StepState> steps_;  // by lower-case name
  absl::flat_hash_map<std::string, int> outputs_;      // by lower-case name
};

bool Planner::Build(const Script& script) {
  plan_->set_version(kPlanVersion);
  for (const Step& step : script.steps) {
    const std::string key = Lower(step.name);
    if (steps_.contains(key)) {
      return Fail(step.location, absl::StrCat("step '", step.name, "' is defined twice"));
    }
    for (const auto& part : step.query.parts) {
      if (!part->into.empty()) {
        return Fail(part->into_keyword_location,
                    "INTO cannot be used inside a WITH step; write it in the SELECT "
                    "that reads the step");
      }
    }
    steps_[key].step = &step;
  }
  for (const Query& query : script.statements) {
    for (size_t i = 1; i < query.parts.size(); ++i) {
      if (!query.parts[i]->into.empty()) {
        return Fail(query.parts[i]->into_keyword_location,
                    "INTO belongs to the first SELECT of a UNION");
      }
    }
    Relation rel;
    const Select& first = *query.parts[0];
    const std::string output_name = first.into.empty() ? "output" : first.into;
    if (!PlanQuery(query, output_name, &rel)) return false;
    auto [it, inserted] = outputs_.try_emplace(Lower(output_name), plan_->outputs_size());
    if (inserted) {
      v1::Output* output = plan_->add_outputs();
      output->set_name(output_name);
      output->mutable_span()->set_line(first.into.empty() ? first.location.line
                                                          : first.into_location.line);
      output->mutable_span()->set_column(first.into.empty() ? first.location.column
                                                            : first.into_location.column);
    }
    v1::Node* sink = AddNode({rel.node}, output_name);
    sink->mutable_sink()->set_output(it->second);
    for (size_t c = 0; c < rel.key.size(); ++c) {
      if (rel.key[c]) sink->mutable_sink()->add_key_columns(static_cast<int32_t>(c));
    }
    *sink->mutable_schema() = plan_->nodes(rel.node).schema();
  }
  return !failed_;
}

bool Planner::PlanQuery(const Query& query, const std::string& step, Relation* out) {
  std::vector<Relation> parts;
  for (const auto& part : query.parts) {
    Relation rel;
    if (!PlanSelect(*part, step, &rel)) return false;
    if (!parts.empty()) {
      const Relation& first = parts.front();
      if (rel.columns.size() != first.columns.size() || rel.splice != first.splice) {
        return Fail(part->location,
                    absl::StrCat("each SELECT of a UNION must produce the same columns: the "
                                 "first has ",
                                 first.columns.size(), ", this one has ", rel.columns.size()));
      }
    }
    parts.push_back(std::move(rel));
  }
  if (parts.size() == 1) {
    *out = std::move(parts.front());
    return true;
  }
  std::vector<int> inputs;
  for (const Relation& r : parts) inputs.push_back(r.node);
  v1::Node* node = AddNode(inputs, step);
  node->mutable_union_all();
  *node->mutable_schema() = plan_->nodes(parts.front().node).schema();
  *out = parts.front();
  out->node = node->id();
  return true;
}

int Planner::InputIndex(const std::string& name, SourceLocation at) {
  for (int i = 0; i < plan_->inputs_size(); ++i) {
    if (SameName(plan_->inputs(i).name(), name)) return i;
  }
  v1::Input* input = plan_->add_inputs();
  input->set_name(name);
  input->mutable_span()->set_line(at.line);
  input->mutable_span()->set_column(at.column);
  inputs_.emplace_back();
  return plan_->inputs_size() - 1;
}

int Planner::FieldColumn(int input, const std::string& name) {
  v1::Input* in = plan_->mutable_inputs(input);
  auto [it, inserted] = inputs_[input].field_index.try_emplace(Lower(name), in->fields_size());
  if (inserted) {
    if (in->fields_size() == kMaxInputFields) {
      inputs_[input].field_index.erase(it);
      return -1;
    }
    in->add_fields(name);
  }
  return it->second;
}

bool Planner::ResolveFrom(const FromClause& from, const std::string& step, Relation* rel) {
  rel->source = from.source;
  rel->alias = from.alias;
  auto step_it = steps_.find(Lower(from.source));
  if (step_it != steps_.end()) {
    StepState& s = step_it->second;
    if (from.timestamp_by) {
      return Fail(from.timestamp_by_location,
                  absl::StrCat("TIMESTAMP BY applies to inputs; '", from.source,
                               "' is a WITH step, whose rows already have timestamps"));
    }
    if (s.planning) {
      return Fail(from.location, absl::StrCat("step '", from.source, "' reads itself"));
    }
    if (!s.planned) {
      s.planning = true;
      if (!PlanQuery(s.step->query, s.step->name, &s.rel)) return false;
      s.planning = false;
      s.planned = true;
    }
    rel->node = s.rel.node;
    rel->columns = s.rel.columns;
    rel->splice = s.rel.splice;
    rel->key = s.rel.key;
    rel->column_index = s.rel.column_index;
    return true;
  }
  if (!from.timestamp_over.empty()) {
    return Fail(from.timestamp_over.front()->location,
                "TIMESTAMP BY ... OVER (substreams) is not supported yet");
  }
  const int input = InputIndex(from.source, from.location);
  rel->is_input = true;
  rel->input = input;
  InputState& state = inputs_[input];
  if (state.source_node < 0) {
    v1::Node* source = AddNode({}, from.source);
    source->mutable_source()->set_input(input);
    state.source_node = source->id();
  }
  const std::string ts_key = from.timestamp_by ? Canonical(*from.timestamp_by, rel) : std::string();
  auto et = state.event_time_nodes.find(ts_key);
  if (et != state.event_time_nodes.end()) {
    rel->node = et->second;
    return true;
  }
  v1::EventTimeNode event_time;
  event_time.set_input_name(from.source);
  *event_time.mutable_policy() = options_.default_policy;
  if (from.timestamp_by) {
    Scope scope;
    scope.rel = rel;
    scope.clause = "TIMESTAMP BY";
    scope.allow_system_timestamp = false;
    if (!BindExpr(*from.timestamp_by, scope, event_time.mutable_timestamp_by())) {
      return false;
    }
  }
  v1::Node* node = AddNode({state.source_node}, step);
  *node->mutable_event_time() = std::move(event_time);
  state.event_time_nodes[ts_key] = node->id();
  rel->node = node->id();
  return true;
}

std::string Planner::OutputName(const SelectItem& item, size_t position) const {
  if (!item.alias.empty()) return item.alias;
  const Expr& e = *item.expr;
  if (e.kind == Expr::Kind::kName) return e.path.back();
  if (e.kind == Expr::Kind::kCall) {
    if (e.path.size() == 1 && e.path[0] == "$field") return e.args[1]->string_value;
    return Lower(e.path.back());
  }
  return absl::StrCat("column", position + 1);
}

bool Planner::PlanSelect(const Select& select, const std::string& step, Relation* out) {
  Relation rel;
  if (!ResolveFrom(select.from, step, &rel)) return false;
  int current = rel.node;
  auto schema_of = [&](int node) { return plan_->nodes(node).schema(); };

  if (select.where) {
    Scope scope;
    scope.rel = &rel;
    scope.clause = "WHERE";
    v1::Node* filter = AddNode({current}, step);
    if (!BindExpr(*select.where, scope, filter->mutable_filter()->mutable_predicate())) {
      return false;
    }
    *filter->mutable_schema() = schema_of(current);
    current = filter->id();
  }

  std::vector<std::string> names;
  std::vector<bool> splices;
  std::vector<v1::Expr> exprs;
  int key_count = 0;                      // GROUP BY keys, when grouped
  std::vector<SourceLocation> locations;  // of the SELECT item behind each column
  std::vector<bool> aliased;              // whether that item has an alias

  if (select.has_group_by) {
    // Find the window; System.Timestamp() is a snapshot window when alone
    // and a key beside another window.
    const Expr* window = nullptr;
    const Expr* snapshot = nullptr;
    for (const ExprPtr& item : select.group_by) {
      if (item->kind == Expr::Kind::kCall && item->path.size() == 1) {
        const FunctionInfo* info = FindFunction(item->path[0]);
        if (info != nullptr && info->kind == FunctionKind::kWindow) {
          if (window != nullptr) {
            return Fail(item->location,
                        "GROUP BY can have only one window (multiple windows with "
                        "Windows() are not supported yet)");
          }
          window = item.get();
          continue;
        }
      }
      if (IsSystemTimestamp(*item) && snapshot == nullptr) snapshot = item.get();
    }
    v1::WindowSpec spec;
    if (window != nullptr) {
      if (!ReadWindow(*window, rel, &spec)) return false;
    } else if (snapshot != nullptr) {
      spec.set_kind(v1::WindowSpec::KIND_SNAPSHOT);
      spec.set_text("System.Timestamp()");
    } else {
      return Fail(select.group_by_location,
                  "GROUP BY needs a window: add TumblingWindow(...), HoppingWindow(...), "
                  "SlidingWindow(...), SessionWindow(...) or System.Timestamp()");
    }
    v1::Node* agg_node = AddNode({current}, step);
    v1::WindowAggregateNode* agg = agg_node->mutable_window_aggregate();
    *agg->mutable_window() = spec;
    Scope grouped;
    grouped.mode = Scope::Mode::kGrouped;
    grouped.rel = &rel;
    grouped.agg = agg;
    absl::flat_hash_map<std::string, int> agg_canon;
    grouped.agg_canon = &agg_canon;
    for (const ExprPtr& item : select.group_by) {
      if (item.get() == window) continue;
      if (window == nullptr && item.get() == snapshot) continue;
      Scope key_scope;
      key_scope.rel = &rel;
      key_scope.clause = "GROUP BY";
      if (!BindExpr(*item, key_scope, agg->add_keys())) return false;
      agg->add_key_text(Render(*item));
      grouped.key_canon.try_emplace(Canonical(*item, &rel), agg->keys_size() - 1);
    }
    v1::Expr predicate;
    if (select.having) {
      const AliasIndex aliases = IndexAliases(select.items);
      grouped.clause = "HAVING";
      grouped.select_items = &select.items;
      grouped.aliases = &aliases;
      grouped.alias_busy.assign(select.items.size(), false);
      if (!BindExpr(*select.having, grouped, &predicate)) return false;
      grouped.select_items = nullptr;
      grouped.aliases = nullptr;
    }
    grouped.clause = "SELECT";
    for (size_t i = 0; i < select.items.size(); ++i) {
      const SelectItem& item = select.items[i];
      if (item.kind == SelectItem::Kind::kStar) {
        return Fail(item.location,
                    "SELECT * cannot be combined with GROUP BY; list the keys and "
                    "aggregates");
      }
      v1::Expr e;
      if (!BindExpr(*item.expr, grouped, &e)) return false;
      exprs.push_back(std::move(e));
      names.push_back(OutputName(item, i));
      splices.push_back(false);
      locations.push_back(item.location);
      aliased.push_back(!item.alias.empty());
    }
    key_count = agg->keys_size();
    // The aggregate's columns are final once HAVING and SELECT are bound.
    // Internal column names, as explain shows them: the keys and
    // aggregates as written.
    for (int k = 0; k < agg->keys_size(); ++k) {
      agg_node->mutable_schema()->add_columns()->set_name(agg->key_text(k));
    }
    for (int j = 0; j < agg->aggregates_size(); ++j) {
      agg_node->mutable_schema()->add_columns()->set_name(agg->aggregates(j).text());
    }
    current = agg_node->id();
    if (select.having) {
      v1::Node* filter = AddNode({current}, step);
      *filter->mutable_filter()->mutable_predicate() = std::move(predicate);
      *filter->mutable_schema() = agg_node->schema();
      current = filter->id();
    }
  } else {
    if (select.having) {
      // Without GROUP BY, HAVING acts like WHERE, and may name SELECT
      // aliases as it does with GROUP BY.
      const AliasIndex aliases = IndexAliases(select.items);
      Scope scope;
      scope.rel = &rel;
      scope.clause = "HAVING";
      scope.select_items = &select.items;
      scope.aliases = &aliases;
      scope.alias_busy.assign(select.items.size(), false);
      v1::Node* filter = AddNode({current}, step);
      if (!BindExpr(*select.having, scope, filter->mutable_filter()->mutable_predicate())) {
        return false;
      }
      *filter->mutable_schema() = schema_of(current);
      current = filter->id();
    }
    Scope scope;
    scope.rel = &rel;
    scope.clause = "SELECT";
    for (size_t i = 0; i < select.items.size(); ++i) {
      const SelectItem& item = select.items[i];
      if (i > 0 && exprs.size() > static_cast<size_t>(kMaxSelectColumns)) {
        return Fail(select.items[i - 1].location,
                    absl::StrCat("too many columns in one SELECT once * is expanded (limit ",
                                 kMaxSelectColumns, ")"));
      }
      if (item.kind == SelectItem::Kind::kStar) {
        const bool whole = item.star_path.empty() ||
                           (item.star_path.size() == 1 && rel.IsQualifier(item.star_path[0]));
        if (whole) {
          if (rel.is_input) {
            plan_->mutable_inputs(rel.input)->set_needs_record(true);
            v1::Expr e;
            e.set_column(kRecordColumnPlaceholder);
            exprs.push_back(std::move(e));
            names.push_back("*");
            splices.push_back(true);
            locations.push_back(item.location);
            aliased.push_back(!item.alias.empty());
          } else {
            for (size_t c = 0; c < rel.columns.size(); ++c) {
              v1::Expr e;
              e.set_column(static_cast<int32_t>(c));
              exprs.push_back(std::move(e));
              names.push_back(rel.columns[c]);
              splices.push_back(rel.splice[c]);
              locations.push_back(item.location);
              aliased.push_back(!item.alias.empty());
            }
          }
          continue;
        }
        // record.* : the fields of a record value, spliced.
        Expr path_expr(Expr::Kind::kName, item.location);
        path_expr.path = item.star_path;
        v1::Expr e;
        if (!BindExpr(path_expr, scope, &e)) return false;
        exprs.push_back(std::move(e));
        names.push_back(item.star_path.back());
        splices.push_back(true);
        locations.push_back(item.location);
        aliased.push_back(!item.alias.empty());
        continue;
      }
      v1::Expr e;
      if (!BindExpr(*item.expr, scope, &e)) return false;
      exprs.push_back(std::move(e));
      names.push_back(OutputName(item, i));
      splices.push_back(false);
      locations.push_back(item.location);
      aliased.push_back(!item.alias.empty());
    }
  }

  if (exprs.size() > static_cast<size_t>(kMaxSelectColumns)) {
    return Fail(select.items.back().location,
                absl::StrCat("too many columns in one SELECT once * is expanded (limit ",
                             kMaxSelectColumns, ")"));
  }
  // Output names must be unique (the left one of `*` columns wins at run
  // time; explicit names must not clash).
  absl::flat_hash_map<std::string, size_t> first_of_name;
  for (size_t i = 0; i < names.size(); ++i) {
    if (splices[i]) continue;
    auto [it, inserted] = first_of_name.try_emplace(Lower(names[i]), i);
    if (!inserted) {
      const size_t j = it->second;
      return Fail(locations[i],
                  absl::StrCat("output column '", names[i], "' appears twice in this SELECT; ",
                               aliased[i] && aliased[j] ? "rename one of them"
                                                        : "give one of them an alias"));
    }
  }

  v1::Node* project = AddNode({current}, step);
  for (size_t i = 0; i < exprs.size(); ++i) {
    *project->mutable_project()->add_exprs() = std::move(exprs[i]);
    v1::Column* c = project->mutable_schema()->add_columns();
    c->set_name(names[i]);
    c->set_splice(splices[i]);
  }
  out->node = project->id();
  out->is_input = false;
  out->source = step;
  out->columns = names;
  out->splice = splices;
  out->IndexColumns();
  // A column is a key when it passes a GROUP BY key (or a step's key
  // column) through unchanged.
  out->key.assign(exprs.size(), false);
  for (size_t i = 0; i < exprs.size(); ++i) {
    const v1::Expr& e = project->project().exprs(i);
    if (e.kind_case() != v1::Expr::kColumn || splices[i]) continue;
    if (select.has_group_by) {
      out->key[i] = e.column() < plan_->nodes(project->inputs(0)).schema().columns_size() &&
                    e.column() < key_count;
    } else if (!rel.is_input && e.column() < static_cast<int>(rel.key.size())) {
      out->key[i] = rel.key[e.column()];
    }
  }
  return true;
}

std::string Planner::Canonical(const Expr& e, const Relation* rel) const {
  switch (e.kind) {
    case Expr::Kind::kNull:
      return "null";
    case Expr::Kind::kInteger:
      return absl::StrCat("i", e.int_value);
    case Expr::Kind::kFloat:
      return absl::StrCat("f", FormatNumber(e.float_value));
    case Expr::Kind::kString:
      return absl::StrCat("s'", e.string_value, "'");
    case Expr::Kind::kName: {
      size_t start = 0;
      if (rel != nullptr && e.path.size() > 1 && rel->IsQualifier(e.path[0])) start = 1;
      std::string s = "n";
      for (size_t i = start; i < e.path.size(); ++i) {
        s += ".";
        s += Lower(e.path[i]);
      }
      if (IsSystemTimestampPath(e.path)) return "system.timestamp()";
      return s;
    }
    case Expr::Kind::kCall: {
      if (IsSystemTimestampPath(e.path)) return "system.timestamp()";
      std::vector<std::string> parts;
      for (const std::string& p : e.path) parts.push_back(Lower(p));
      std::string s = absl::StrCat(absl::StrJoin(parts, "."), "(");
      if (e.distinct) s += "distinct ";
      if (e.star_arg) s += "*";
      for (const ExprPtr& a : e.args) s += Canonical(*a, rel) + ",";
      s += ")";
      for (const ExprPtr& p : e.over_partition) s += Canonical(*p, rel) + ";";
      for (size_t i = 0; i < e.over_order.size(); ++i) {
        s += Canonical(*e.over_order[i], rel) + (e.over_descending[i] ? " desc|" : " asc|");
      }
      return s;
    }
    default: {
      std::string s =
          absl::StrCat("k", static_cast<int>(e.kind), e.op, e.negated ? "!" : "", e.type_name,
                       e.try_cast ? "?" : "", e.has_operand ? "o" : "", e.has_else ? "e" : "", "(");
      for (const ExprPtr& a : e.args) s += Canonical(*a, rel) + ",";
      return s + ")";
    }
  }
}

bool Planner::BindName(const Expr& e, Scope& scope, v1::Expr* out) {
  const Relation& rel = *scope.rel;
  if (IsSystemTimestampPath(e.path)) {
    if (!scope.allow_system_timestamp) {
      return Fail(e.location, absl::StrCat("System.Timestamp() cannot be used in ", scope.clause));
    }
    out->mutable_system_timestamp();
    return true;
  }
  size_t start = 0;
  if (e.path.size() > 1 && rel.IsQualifier(e.path[0])) start = 1;
  const std::string& first = e.path[start];
  v1::Expr base;
  if (rel.is_input) {
    const int column = FieldColumn(rel.input, first);
    if (column < 0) {
      return Fail(e.location, absl::StrCat("the query reads too many fields of input '", rel.source,
                                           "' (limit ", kMaxInputFields, ")"));
    }
    base.set_column(column);
  } else {
    auto found = rel.column_index.find(Lower(first));
    if (found != rel.column_index.end()) {
      base.set_column(found->second);
    } else {
      std::vector<int> splices;
      for (size_t c = 0; c < rel.columns.size(); ++c) {
        if (rel.splice[c]) splices.push_back(static_cast<int>(c));
      }
      if (splices.empty()) {
        std::vector<std::string> known;
        for (size_t c = 0; c < rel.columns.size(); ++c) known.push_back(rel.columns[c]);
        return Fail(e.location,
                    absl::StrCat("column '", first, "' is not produced by '", rel.source,
                                 "' (it has: ", absl::StrJoin(known, ", "), ")"));
      }
      // Look the name up in the spliced record(s) at run time.
      std::vector<v1::Expr> lookups;
      for (int c : splices) {
        v1::Expr lookup;
        lookup.mutable_field()->mutable_record()->set_column(c);
        lookup.mutable_field()->set_name(first);
        lookups.push_back(std::move(lookup));
      }
      if (lookups.size() == 1) {
        base = std::move(lookups[0]);
      } else {
        base.mutable_call()->set_function("coalesce");
        for (auto& l : lookups) *base.mutable_call()->add_args() = std::move(l);
      }
    }
  }
  for (size_t i = start + 1; i < e.path.size(); ++i) {
    v1::Expr lookup;
    *lookup.mutable_field()->mutable_record() = std::move(base);
    lookup.mutable_field()->set_name(e.path[i]);
    base = std::move(lookup);
  }
  *out = std::move(base);
  out->mutable_span()->set_line(e.location.line);
  out->mutable_span()->set_column(e.location.column);
  return true;
}

bool Planner::BindExpr(const Expr& e, Scope& scope, v1::Expr* out) {
  if (++bound_exprs_ > kMaxPlanExpressions) {
    return Fail(
        e.location,
        absl::StrCat("the query expands to too many expressions (limit ", kMaxPlanExpressions,
                     "): HAVING repeats the expression of every SELECT alias it names, "
                     "a simple CASE its operand for every WHEN"));
  }
  // The parser bounds nesting; a HAVING alias adds the depth of the
  // expression it stands for.
  if (bind_depth_ >= kMaxExpressionDepth) {
    return Fail(e.location, absl::StrCat("expression is nested too deeply once HAVING aliases "
                                         "are expanded (limit ",
                                         kMaxExpressionDepth, ")"));
  }
  ++bind_depth_;
  const bool ok = BindExprNode(e, scope, out);
  --bind_depth_;
  return ok;
}

bool Planner::BindAlias(const Expr& e, Scope& scope, v1::Expr* out, bool* found) {
  *found = false;
  if (scope.aliases == nullptr || e.path.size() != 1) return true;
  auto it = scope.aliases->find(Lower(e.path[0]));
  if (it == scope.aliases->end()) return true;
  for (size_t i : it->second) {
    if (scope.alias_busy[i]) continue;
    // HAVING may name a SELECT alias (ASA's own examples do, e.g. HAVING
    // [Count] >= 3); see tests/sql/grouping/having_alias.test.
    *found = true;
    scope.alias_busy[i] = true;
    const bool ok = BindExpr(*(*scope.select_items)[i].expr, scope, out);
    scope.alias_busy[i] = false;
    return ok;
  }
  return true;
}

bool Planner::BindExprNode(const Expr& e, Scope& scope, v1::Expr* out) {
  out->mutable_span()->set_line(e.location.line);
  out->mutable_span()->set_column(e.location.column);
  if (scope.mode == Scope::Mode::kGrouped && !scope.in_aggregate && e.kind != Expr::Kind::kNull &&
      e.kind != Expr::Kind::kInteger && e.kind != Expr::Kind::kFloat &&
      e.kind != Expr::Kind::kString) {
    auto key = scope.key_canon.find(Canonical(e, scope.rel));
    if (key != scope.key_canon.end()) {
      out->set_column(key->second);
      return true;
    }
  }
  switch (e.kind) {
    case Expr::Kind::kNull:
      out->mutable_literal()->set_null_value(true);
      return true;
    case Expr::Kind::kInteger:
      out->mutable_literal()->set_bigint_value(e.int_value);
      return true;
    case Expr::Kind::kFloat:
      out->mutable_literal()->set_float_value(e.float_value);
      return true;
    case Expr::Kind::kString:
      out->mutable_literal()->set_string_value(e.string_value);
      return true;
    case Expr::Kind::kName: {
      if (scope.mode == Scope::Mode::kGrouped && !scope.in_aggregate) {
        if (IsSystemTimestampPath(e.path)) {
          out->mutable_system_timestamp();
          return true;
        }
        bool found = false;
        const bool ok = BindAlias(e, scope, out, &found);
        if (found || !ok) return ok;
        return Fail(e.location,
                    absl::StrCat("'", absl::StrJoin(e.path, "."), "' in ", scope.clause,
                                 " must be a GROUP BY key or inside an aggregate function"));
      }
      // HAVING without GROUP BY: a SELECT alias first, then a field.
      bool found = false;
      const bool ok = BindAlias(e, scope, out, &found);
      if (found || !ok) return ok;
      return BindName(e, scope, out);
    }
    case Expr::Kind::kCall:
      return BindCall(e, scope, out);
    case Expr::Kind::kUnary: {
      v1::Call* call = out->mutable_call();
      call->set_function(e.op == "-" ? "neg" : e.op);
      if (e.op == "+") {
        out->clear_call();
        return BindExpr(*e.args[0], scope, out);
      }
      return BindExpr(*e.args[0], scope, call->add_args());
    }
    case Expr::Kind::kBinary: {
      // Two arguments, or any number for an AND or OR chain.
      v1::Call* call = out->mutable_call();
      call->set_function(e.op);
      for (const ExprPtr& a : e.args) {
        if (!BindExpr(*a, scope, call->add_args())) return false;
      }
      return true;
    }
    case Expr::Kind::kBetween:
    case Expr::Kind::kIn:
    case Expr::Kind::kLike:
    case Expr::Kind::kIsNull: {
      v1::Call* call = out->mutable_call();
      std::string name = e.kind == Expr::Kind::kBetween ? "between"
                         : e.kind == Expr::Kind::kIn    ? "in"
                         : e.kind == Expr::Kind::kLike  ? "like"
                                                        : "is_null";
      if (e.negated) name = e.kind == Expr::Kind::kIsNull ? "is_not_null" : "not_" + name;
      call->set_function(name);
      for (const ExprPtr& a : e.args) {
        if (!BindExpr(*a, scope, call->add_args())) return false;
      }
      return true;
    }
    case Expr::Kind::kCase: {
      v1::CaseExpr* c = out->mutable_case_expr();
      size_t i = 0;
      const Expr* operand = nullptr;
      if (e.has_operand) operand = e.args[i++].get();
      const size_t pairs_end = e.args.size() - (e.has_else ? 1 : 0);
      for (; i < pairs_end; i += 2) {
        v1::Expr* when = c->add_when();
        if (operand != nullptr) {
          // Simple CASE: x WHEN v  ==>  x = v
          when->mutable_call()->set_function("=");
          if (!BindExpr(*operand, scope, when->mutable_call()->add_args()) ||
              !BindExpr(*e.args[i], scope, when->mutable_call()->add_args())) {
            return false;
          }
        } else if (!BindExpr(*e.args[i], scope, when)) {
          return false;
        }
        if (!BindExpr(*e.args[i + 1], scope, c->add_then())) return false;
      }
      if (e.has_else && !BindExpr(*e.args.back(), scope, c->mutable_else_value())) {
        return false;
      }
      return true;
    }
    case Expr::Kind::kCast: {
      static const auto* kTypes = new absl::flat_hash_map<std::string, v1::ValueType>{
          {"bigint", v1::VALUE_TYPE_BIGINT},
          {"float", v1::VALUE_TYPE_FLOAT},
          {"nvarchar(max)", v1::VALUE_TYPE_NVARCHAR},
          {"datetime", v1::VALUE_TYPE_DATETIME},
          {"bit", v1::VALUE_TYPE_BIT},
          {"record", v1::VALUE_TYPE_RECORD},
          {"array", v1::VALUE_TYPE_ARRAY}};
      auto it = kTypes->find(e.type_name);
      if (it == kTypes->end()) {
        return Fail(e.type_location,
                    absl::StrCat("unknown type '", e.type_name,
                                 "': use bigint, float, nvarchar(max), datetime, bit, "
                                 "record or array"));
      }
      v1::CastExpr* cast = out->mutable_cast();
      cast->set_type(it->second);
      cast->set_try_cast(e.try_cast);
      return BindExpr(*e.args[0], scope, cast->mutable_arg());
    }
  }
  return Fail(e.location, "unsupported expression");
}

bool Planner::BindCall(const Expr& e, Scope& scope, v1::Expr* out) {
  if (IsSystemTimestampPath(e.path)) {
    if (!e.args.empty() || e.star_arg) {
      return Fail(e.location, "System.Timestamp() takes no arguments");
    }
    if (!scope.allow_system_timestamp) {
      return Fail(e.location, absl::StrCat("System.Timestamp() cannot be used in ", scope.clause));
    }
    out->mutable_system_timestamp();
    return true;
  }
  if (e.path.size() == 1 && e.path[0] == "$field") {
    v1::FieldLookup* lookup = out->mutable_field();
    lookup->set_name(e.args[1]->string_value);
    return BindExpr(*e.args[0], scope, lookup->mutable_record());
  }
  const std::string written = absl::StrJoin(e.path, ".");
  if (e.path.size() > 1) {
    if (SameName(e.path[0], "udf") || SameName(e.path[0], "uda")) {
      return Fail(e.location,
                  absl::StrCat("user-defined functions are not supported yet: ", written));
    }
    return Fail(e.location, absl::StrCat("unknown function '", written, "'"));
  }
  const FunctionInfo* info = FindFunction(e.path[0]);
  if (info == nullptr) {
    return Fail(e.location, absl::StrCat("unknown function '", written, "'"));
  }
  const std::string upper = absl::AsciiStrToUpper(written);
  switch (info->kind) {
    case FunctionKind::kUnsupported:
      return Fail(e.location, absl::StrCat(upper, " is not supported yet"));
    case FunctionKind::kWindow:
      return Fail(e.location, absl::StrCat(written, " can only be used in GROUP BY"));
    case FunctionKind::kWindowPart:
      return Fail(e.location, absl::StrCat(written, " can only be used inside a window function"));
    case FunctionKind::kAggregate:
      return BindAggregate(e, scope, out);
    case FunctionKind::kScalar:
      break;
  }
  if (e.star_arg || e.distinct) {
    return Fail(e.location, absl::StrCat(upper, " does not take ", e.star_arg ? "*" : "DISTINCT"));
  }
  if (e.has_over) {
    return Fail(e.location, absl::StrCat(upper, " does not take OVER"));
  }
  const int n = static_cast<int>(e.args.size());
  if (n < info->min_args || (info->max_args >= 0 && n > info->max_args)) {
    std::string expected =
        info->min_args == info->max_args
            ? absl::StrCat(info->min_args)
            : (info->max_args < 0 ? absl::StrCat("at least ", info->min_args)
                                  : absl::StrCat(info->min_args, " to ", info->max_args));
    return Fail(e.location, absl::StrCat(upper, " takes ", expected, " argument",
                                         expected == "1" ? "" : "s", ", got ", n));
  }
  v1::Call* call = out->mutable_call();
  call->set_function(std::string(info->name));
  size_t first = 0;
  if (info->datepart_first) {
    const Expr& part = *e.args[0];
    std::string written_part;
    if (part.kind == Expr::Kind::kName && part.path.size() == 1) {
      written_part = part.path[0];
    } else if (part.kind == Expr::Kind::kString) {
      written_part = part.string_value;
    }
    std::string_view canonical = CanonicalDatepart(written_part);
    if (canonical.empty()) {
      return Fail(part.location,
                  absl::StrCat("expected a datepart (year, quarter, month, dayofyear, day, "
                               "week, weekday, hour, minute, second, millisecond, "
                               "microsecond, nanosecond) but found '",
                               written_part.empty() ? Render(part) : written_part, "'"));
    }
    call->add_args()->mutable_literal()->set_string_value(std::string(canonical));
    first = 1;
  }
  for (size_t i = first; i < e.args.size(); ++i) {
    if (!BindExpr(*e.args[i], scope, call->add_args())) return false;
  }
  return true;
}

bool Planner::BindAggregate(const Expr& e, Scope& scope, v1::Expr* out) {
  const std::string upper = absl::AsciiStrToUpper(e.path[0]);
  const bool top_one = Lower(e.path[0]) == "topone";
  if (top_one && (!e.has_over || e.over_order.empty() || e.analytic_over)) {
    return Fail(e.location,
                "TopOne needs OVER (ORDER BY column [ASC|DESC], ...) in a GROUP BY with a window");
  }
  if (e.has_over && !top_one) {
    return Fail(e.location,
                absl::StrCat(upper, " OVER (...) (an analytic aggregate) is not supported yet"));
  }
  if (scope.in_aggregate) {
    return Fail(e.location, "aggregate functions cannot be nested");
  }
  if (scope.mode != Scope::Mode::kGrouped) {
    if (scope.clause == "SELECT" || scope.clause == "HAVING") {
      return Fail(e.location,
                  absl::StrCat("aggregate function ", upper, " needs a GROUP BY with a window"));
    }
    return Fail(e.location, absl::StrCat("aggregate functions are not allowed in ", scope.clause));
  }
  const std::string canon = Canonical(e, scope.rel);
  if (auto seen = scope.agg_canon->find(canon); seen != scope.agg_canon->end()) {
    out->set_column(scope.agg->keys_size() + seen->second);
    return true;
  }
  const std::string name = Lower(e.path[0]);
  v1::Aggregate spec;
  spec.set_text(Render(e));
  // COUNT(input) counts events (ASA: "equivalent to COUNT() and COUNT(*)");
  // COUNT(DISTINCT input) counts distinct events.
  const bool names_input = e.args.size() == 1 && e.args[0]->kind == Expr::Kind::kName &&
                           e.args[0]->path.size() == 1 &&
                           scope.rel->IsQualifier(e.args[0]->path[0]);
  const bool count_star = name == "count" && (e.star_arg || (e.args.empty() && !e.distinct) ||
                                              (names_input && !e.distinct));
  if (top_one) return BindTopOne(e, scope, std::move(spec), canon, out);
  if (name == "count" && !count_star && e.args.empty()) {
    return Fail(e.location, "COUNT(DISTINCT) needs an argument");
  }
  if (name != "count" && e.distinct) {
    return Fail(e.location, absl::StrCat("DISTINCT is only supported in COUNT, not in ", upper));
  }
  if (name != "count" && (e.star_arg || e.args.size() != 1)) {
    return Fail(e.location, absl::StrCat(upper, " takes one argument"));
  }
  if (e.args.size() > 1) {
    return Fail(e.location, absl::StrCat(upper, " takes one argument"));
  }
  static const auto* kFunctions = new absl::flat_hash_map<std::string, v1::Aggregate::Function>{
      {"count", v1::Aggregate::FUNCTION_COUNT},   {"sum", v1::Aggregate::FUNCTION_SUM},
      {"avg", v1::Aggregate::FUNCTION_AVG},       {"min", v1::Aggregate::FUNCTION_MIN},
      {"max", v1::Aggregate::FUNCTION_MAX},       {"stdev", v1::Aggregate::FUNCTION_STDEV},
      {"stdevp", v1::Aggregate::FUNCTION_STDEVP}, {"var", v1::Aggregate::FUNCTION_VAR},
      {"varp", v1::Aggregate::FUNCTION_VARP}};
  if (count_star) {
    spec.set_function(v1::Aggregate::FUNCTION_COUNT_STAR);
  } else {
    spec.set_function(e.distinct ? v1::Aggregate::FUNCTION_COUNT_DISTINCT : kFunctions->at(name));
    Scope arg_scope;
    arg_scope.rel = scope.rel;
    arg_scope.clause = scope.clause;
    arg_scope.in_aggregate = true;
    if (names_input && e.distinct) {
      if (!scope.rel->is_input) {
        return Fail(e.args[0]->location,
                    "COUNT(DISTINCT <source>) needs an input, not a WITH step; list the columns");
      }
      plan_->mutable_inputs(scope.rel->input)->set_needs_record(true);
      spec.mutable_arg()->set_column(kRecordColumnPlaceholder);
    } else if (!BindExpr(*e.args[0], arg_scope, spec.mutable_arg())) {
      return false;
    }
    const Expr& arg = *e.args[0];
    spec.set_compare_as_string(arg.kind == Expr::Kind::kCast && arg.type_name == "nvarchar(max)");
  }
  *scope.agg->add_aggregates() = std::move(spec);
  scope.agg_canon->try_emplace(canon, scope.agg->aggregates_size() - 1);
  out->set_column(scope.agg->keys_size() + scope.agg->aggregates_size() - 1);
  return true;
}

// TopOne([expr]) OVER (ORDER BY a [DESC], ...): the aggregate's argument
// packs the ordering values and the payload (expr, or the whole row as a
// record) into one array: [a, ..., payload].
bool Planner::BindTopOne(const Expr& e, Scope& scope, v1::Aggregate spec, const std::string& canon,
                         v1::Expr* out) {
  if (e.distinct || e.star_arg || e.args.size() > 1) {
    return Fail(e.location, "TopOne takes no argument (the whole event) or one expression");
  }
  spec.set_function(v1::Aggregate::FUNCTION_TOP_ONE);
  Scope arg_scope;
  arg_scope.rel = scope.rel;
  arg_scope.clause = scope.clause;
  arg_scope.in_aggregate = true;
  v1::Call* pack = spec.mutable_arg()->mutable_call();
  pack->set_function("$array");
  for (size_t i = 0; i < e.over_order.size(); ++i) {
    if (!BindExpr(*e.over_order[i], arg_scope, pack->add_args())) return false;
    spec.add_descending(e.over_descending[i]);
  }
  spec.set_order_keys(static_cast<int32_t>(e.over_order.size()));
  v1::Expr* payload = pack->add_args();
  const Relation& rel = *scope.rel;
  if (!e.args.empty()) {
    if (!BindExpr(*e.args[0], arg_scope, payload)) return false;
  } else if (rel.is_input) {
    plan_->mutable_inputs(rel.input)->set_needs_record(true);
    payload->set_column(kRecordColumnPlaceholder);
  } else {
    v1::Call* record = payload->mutable_call();
    record->set_function("$record");
    for (size_t c = 0; c < rel.columns.size(); ++c) {
      if (rel.splice[c]) {
        return Fail(e.location, absl::StrCat("TopOne() over step ", rel.source,
                                             ", which selects *, cannot build its row; name the "
                                             "step's columns or pass TopOne an expression"));
      }
      record->add_args()->mutable_literal()->set_string_value(rel.columns[c]);
      record->add_args()->set_column(static_cast<int32_t>(c));
    }
  }
  *scope.agg->add_aggregates() = std::move(spec);
  scope.agg_canon->try_emplace(canon, scope.agg->aggregates_size() - 1);
  out->set_column(scope.agg->keys_size() + scope.agg->aggregates_size() - 1);
  return true;
}

bool Planner::ReadDuration(const Expr& unit, const Expr& size, bool is_offset,
                           const std::string& what, int64_t* ticks) {
  std::string unit_name;
  if (unit.kind == Expr::Kind::kName && unit.path.size() == 1) unit_name = unit.path[0];
  const long long per_unit = TicksPerTimeUnit(unit_name);
  if (per_unit == 0) {
    return Fail(unit.location,
                absl::StrCat("expected a time unit (day, hour, minute, second, millisecond, "
                             "microsecond) but found '",
                             unit_name.empty() ? Render(unit) : unit_name, "'"));
  }
  double value;
  if (size.kind == Expr::Kind::kInteger) {
    value = static_cast<double>(size.int_value);
  } else if (size.kind == Expr::Kind::kFloat) {
    value = size.float_value;
  } else {
    return Fail(size.location,
                absl::StrCat("the ", what, " must be a number, not '", Render(size), "'"));
  }
  const double exact = value * static_cast<double>(per_unit);
  const double t = std::round(exact);
  if (!is_offset && value <= 0) {
    return Fail(size.location, absl::StrCat("the ", what, " must be positive: ", Render(size)));
  }
  if (std::fabs(exact - t) > 1e-6 * std::max(1.0, std::fabs(exact)) || (value != 0 && t == 0)) {
    return Fail(size.location,
                absl::StrCat("the ", what, " must be a whole number of 100 ns ticks: ",
                             Render(size), " ", unit_name));
  }
  if (!is_offset && t < static_cast<double>(kMinWindowTicks)) {
    return Fail(size.location, absl::StrCat("the ", what, " must be at least 1 millisecond: ",
                                            Render(size), " ", unit_name));
  }
  if (std::fabs(t) > static_cast<double>(kMaxWindowTicks)) {
    return Fail(size.location, absl::StrCat("the ", what, " must be at most 7 days: ", Render(size),
                                            " ", unit_name));
  }
  *ticks = static_cast<int64_t>(t);
  return true;
}

bool Planner::ReadWindow(const Expr& call, const Relation& rel, v1::WindowSpec* spec) {
  const std::string name = Lower(call.path[0]);
  spec->set_text(Render(call));
  const std::string upper = absl::AsciiStrToUpper(call.path[0]);
  const auto& args = call.args;
  // Long form: Duration(unit, n), Hop(...), Offset(...), Timeout(...),
  // MaxDuration(...). Short form: (unit, n, ...).
  const bool long_form = !args.empty() && args[0]->kind == Expr::Kind::kCall;
  auto part = [&](size_t i, std::string_view expected_name, const std::string& what, bool is_offset,
                  int64_t* ticks) -> bool {
    if (i >= args.size()) {
      return Fail(call.location, absl::StrCat(upper, " is missing its ", what));
    }
    const Expr& p = *args[i];
    if (p.kind != Expr::Kind::kCall || p.path.size() != 1 || Lower(p.path[0]) != expected_name) {
      static const auto* kDisplay =
          new absl::flat_hash_map<std::string, std::string>{{"duration", "Duration"},
                                                            {"hop", "Hop"},
                                                            {"offset", "Offset"},
                                                            {"timeout", "Timeout"},
                                                            {"maxduration", "MaxDuration"}};
      return Fail(p.location, absl::StrCat("expected ", kDisplay->at(std::string(expected_name)),
                                           "(unit, size) for the ", what));
    }
    if (p.args.size() != 2) {
      return Fail(p.location, absl::StrCat(Render(p), " takes a time unit and a size"));
    }
    return ReadDuration(*p.args[0], *p.args[1], is_offset, what, ticks);
  };
  auto count_error = [&](const char* forms) {
    return Fail(call.location, absl::StrCat(upper, " takes ", forms));
  };
  if (call.analytic_over) {
    return Fail(call.location, absl::StrCat("OVER in ", upper, " takes only PARTITION BY"));
  }
  if (call.has_over && name != "sessionwindow" && name != "session") {
    return Fail(call.location, absl::StrCat(upper, " does not take OVER (PARTITION BY ...)"));
  }
  int64_t size = 0;
  int64_t hop = 0;
  int64_t offset = 0;
  if (name == "tumblingwindow" || name == "tumbling") {
    spec->set_kind(v1::WindowSpec::KIND_TUMBLING);
    if (long_form) {
      if (args.size() > 2) return count_error("Duration(unit, size) [, Offset(unit, offset)]");
      if (!part(0, "duration", "window size", false, &size)) return false;
      if (args.size() == 2 && !part(1, "offset", "offset", true, &offset)) return false;
    } else {
      if (args.size() < 2 || args.size() > 3) {
        return count_error(
            "(unit, size [, offset]) or (Duration(unit, size) [, Offset(unit, offset)])");
      }
      if (!ReadDuration(*args[0], *args[1], false, "window size", &size)) return false;
      if (args.size() == 3 && !ReadDuration(*args[0], *args[2], true, "offset", &offset)) {
        return false;
      }
    }
    hop = size;
  } else if (name == "hoppingwindow" || name == "hopping") {
    spec->set_kind(v1::WindowSpec::KIND_HOPPING);
    if (long_form) {
      if (args.size() < 2 || args.size() > 3) {
        return count_error("Duration(unit, size), Hop(unit, hop) [, Offset(unit, offset)]");
      }
      if (!part(0, "duration", "window size", false, &size) ||
          !part(1, "hop", "hop size", false, &hop)) {
        return false;
      }
      if (args.size() == 3 && !part(2, "offset", "offset", true, &offset)) return false;
    } else {
      if (args.size() < 3 || args.size() > 4) {
        return count_error(
            "(unit, size, hop [, offset]) or (Duration(...), Hop(...) [, Offset(...)])");
      }
      if (!ReadDuration(*args[0], *args[1], false, "window size", &size) ||
          !ReadDuration(*args[0], *args[2], false, "hop size", &hop)) {
        return false;
      }
      if (args.size() == 4 && !ReadDuration(*args[0], *args[3], true, "offset", &offset)) {
        return false;
      }
    }
    // The operator updates every window an event falls in.
    const int64_t windows_per_event = (size + hop - 1) / hop;
    if (windows_per_event > kMaxWindowsPerEvent) {
      return Fail(call.location, absl::StrCat("too many windows per event (size / hop, limit ",
                                              kMaxWindowsPerEvent, "): ", windows_per_event));
    }
  } else if (name == "slidingwindow" || name == "sliding") {
    spec->set_kind(v1::WindowSpec::KIND_SLIDING);
    if (long_form) {
      if (args.size() != 1) return count_error("(unit, size) or (Duration(unit, size))");
      if (!part(0, "duration", "window size", false, &size)) return false;
    } else {
      if (args.size() != 2) return count_error("(unit, size) or (Duration(unit, size))");
      if (!ReadDuration(*args[0], *args[1], false, "window size", &size)) return false;
    }
  } else {
    spec->set_kind(v1::WindowSpec::KIND_SESSION);
    int64_t timeout = 0;
    int64_t max_duration = 0;
    if (long_form) {
      if (args.size() != 2) {
        return count_error(
            "(unit, timeout, maxDuration) or (Timeout(unit, t), MaxDuration(unit, m))");
      }
      if (!part(0, "timeout", "timeout", false, &timeout) ||
          !part(1, "maxduration", "maximum duration", false, &max_duration)) {
        return false;
      }
    } else {
      if (args.size() != 3) {
        return count_error(
            "(unit, timeout, maxDuration) or (Timeout(unit, t), MaxDuration(unit, m))");
      }
      if (!ReadDuration(*args[0], *args[1], false, "timeout", &timeout) ||
          !ReadDuration(*args[0], *args[2], false, "maximum duration", &max_duration)) {
        return false;
      }
    }
    spec->set_timeout_ticks(timeout);
    spec->set_max_duration_ticks(max_duration);
    for (const ExprPtr& p : call.over_partition) {
      Scope scope;
      scope.rel = &rel;
      scope.clause = "PARTITION BY";
      if (!BindExpr(*p, scope, spec->add_partition_by())) return false;
    }
    return true;
  }
  spec->set_size_ticks(size);
  spec->set_hop_ticks(hop);
  // Window ends fall on k * hop + offset; only the offset modulo the hop
  // matters (Offset(millisecond, -1) == hop - 1 ms).
  if (hop > 0) offset = ((offset % hop) + hop) % hop;
  spec->set_offset_ticks(offset);
  return true;
}

}  // namespace

bool PlanScript(const Script& script, const CompileOptions& options, v1::Plan* plan,
                QueryError* error) {
  Planner planner(options, plan, error);
  return planner.Build(script);
}

}  // namespace sluice::sql

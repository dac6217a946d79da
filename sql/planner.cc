#include "sql/planner.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "sql/limits.h"
#include "sql/planner_internal.h"

namespace sluice::sql {
namespace planner_internal {

AliasIndex IndexAliases(const std::vector<SelectItem>& items) {
  AliasIndex index;
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].kind == SelectItem::Kind::kExpr && !items[i].alias.empty()) {
      index[Lower(items[i].alias)].push_back(i);
    }
  }
  return index;
}

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
  if (IsReferenceInput(from.source)) {
    return Fail(from.location,
                absl::StrCat("'", from.source,
                             "' is reference data: it can only be joined, on the right of a JOIN "
                             "(FROM stream s JOIN ",
                             from.source, " r ON s.key = r.key)"));
  }
  // TIMESTAMP BY ... OVER (substreams): on every input or none (ASA).
  const bool substreams = !from.timestamp_over.empty();
  if (substream_input_.empty()) {
    substream_input_ = from.source;
    substreams_ = substreams;
  } else if (substreams != substreams_) {
    return Fail(substreams ? from.timestamp_over.front()->location : from.location,
                absl::StrCat("TIMESTAMP BY ... OVER must be used on every input or on none: '",
                             substreams ? substream_input_ : from.source, "' has no OVER and '",
                             substreams ? from.source : substream_input_, "' has"));
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
  std::string ts_key = from.timestamp_by ? Canonical(*from.timestamp_by, rel) : std::string();
  for (const ExprPtr& k : from.timestamp_over) {
    // ASA: the OVER columns are the input's own, not computed.
    if (k->kind != Expr::Kind::kName || k->path.size() != 1) {
      return Fail(k->location,
                  "TIMESTAMP BY ... OVER takes column names of the input, not expressions");
    }
    rel->substream_columns.push_back(Lower(k->path[0]));
    absl::StrAppend(&ts_key, " over ", rel->substream_columns.back());
  }
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
    scope.clause = "TIMESTAMP BY ... OVER";
    for (const ExprPtr& k : from.timestamp_over) {
      if (!BindExpr(*k, scope, event_time.add_substream_keys())) return false;
      event_time.add_substream_text(Render(*k));
    }
  }
  v1::Node* node = AddNode({state.source_node}, step);
  *node->mutable_event_time() = std::move(event_time);
  state.event_time_nodes[ts_key] = node->id();
  rel->node = node->id();
  return true;
}

// ASA: a stream JOIN over substreams must equate the OVER columns, so that
// rows of one key meet rows of the same key. Each OVER column of the two
// streams must appear in an `=` between two names in the ON's top-level
// ANDs (reference joins have no timeline and need nothing).
bool Planner::CheckSubstreamJoins(const Select& select) {
  auto over_columns = [](const FromClause& from) {
    std::vector<std::string> columns;
    for (const ExprPtr& k : from.timestamp_over) {
      if (k->kind == Expr::Kind::kName) columns.push_back(Lower(k->path.back()));
    }
    return columns;
  };
  for (const JoinClause& j : select.joins) {
    if (!j.on || IsReferenceInput(j.right.source)) continue;
    std::vector<const Expr*> conjuncts;
    std::vector<const Expr*> pending = {j.on.get()};
    while (!pending.empty()) {
      const Expr* e = pending.back();
      pending.pop_back();
      if (e->kind == Expr::Kind::kBinary && Lower(e->op) == "and") {
        for (const ExprPtr& a : e->args) pending.push_back(a.get());
      } else {
        conjuncts.push_back(e);
      }
    }
    auto equated = [&](const std::string& column) {
      for (const Expr* c : conjuncts) {
        if (c->kind != Expr::Kind::kBinary || c->op != "=" || c->args.size() != 2) continue;
        for (const ExprPtr& side : c->args) {
          if (side->kind == Expr::Kind::kName && SameName(side->path.back(), column)) return true;
        }
      }
      return false;
    };
    std::vector<std::string> columns = over_columns(select.from);
    for (const std::string& c : over_columns(j.right)) columns.push_back(c);
    for (const std::string& column : columns) {
      if (!equated(column)) {
        return Fail(j.on_location,
                    absl::StrCat("a JOIN of inputs read with TIMESTAMP BY ... OVER must equate "
                                 "their OVER columns in ON (ASA), and ",
                                 column, " is in no '=' of this ON"));
      }
    }
  }
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
  const std::vector<const Expr*> analytic = AnalyticCalls(select);
  if (!analytic.empty()) {
    if (!PlanAnalytic(select, analytic, step, &rel)) return false;
  } else if (select.joins.empty() ? !ResolveFrom(select.from, step, &rel)
                                  : !PlanJoin(select, step, &rel)) {
    return false;
  }
  if (substreams_ && !CheckSubstreamJoins(select)) return false;
  int current = rel.node;

  if (select.where) {
    Scope scope;
    scope.rel = &rel;
    scope.clause = "WHERE";
    v1::Node* filter = AddNode({current}, step);
    if (!BindExpr(*select.where, scope, filter->mutable_filter()->mutable_predicate())) {
      return false;
    }
    *filter->mutable_schema() = plan_->nodes(current).schema();
    current = filter->id();
  }

  SelectColumns columns;
  if (select.has_group_by) {
    if (!PlanGroupedSelect(select, step, rel, &current, &columns)) return false;
  } else {
    if (!PlanRowSelect(select, step, rel, &current, &columns)) return false;
  }
  if (!PlanProjection(select, step, rel, current, std::move(columns), out)) return false;
  if (rel.join) FinishJoin(*rel.join);
  return true;
}

bool Planner::PlanRowSelect(const Select& select, const std::string& step, const Relation& rel,
                            int* current, SelectColumns* columns) {
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
    v1::Node* filter = AddNode({*current}, step);
    if (!BindExpr(*select.having, scope, filter->mutable_filter()->mutable_predicate())) {
      return false;
    }
    *filter->mutable_schema() = plan_->nodes(*current).schema();
    *current = filter->id();
  }
  Scope scope;
  scope.rel = &rel;
  scope.clause = "SELECT";
  for (size_t i = 0; i < select.items.size(); ++i) {
    const SelectItem& item = select.items[i];
    if (i > 0 && columns->exprs.size() > static_cast<size_t>(kMaxSelectColumns)) {
      return Fail(select.items[i - 1].location,
                  absl::StrCat("too many columns in one SELECT once * is expanded (limit ",
                               kMaxSelectColumns, ")"));
    }
    if (item.kind == SelectItem::Kind::kStar) {
      if (!ExpandStar(item, rel, scope, columns)) return false;
      continue;
    }
    v1::Expr e;
    if (!BindExpr(*item.expr, scope, &e)) return false;
    columns->Add(std::move(e), OutputName(item, i), false, item);
  }
  return true;
}

bool Planner::ExpandStar(const SelectItem& item, const Relation& rel, Scope& scope,
                         SelectColumns* columns) {
  if (rel.join) return ExpandJoinStar(item, rel, columns);
  const bool whole =
      item.star_path.empty() || (item.star_path.size() == 1 && rel.IsQualifier(item.star_path[0]));
  if (whole) {
    if (rel.is_input) {
      plan_->mutable_inputs(rel.input)->set_needs_record(true);
      v1::Expr e;
      e.set_column(kRecordColumnPlaceholder);
      columns->Add(std::move(e), "*", true, item);
    } else {
      for (size_t c = 0; c < rel.columns.size(); ++c) {
        v1::Expr e;
        e.set_column(static_cast<int32_t>(c));
        columns->Add(std::move(e), rel.columns[c], rel.splice[c], item);
      }
    }
    return true;
  }
  // record.* : the fields of a record value, spliced.
  Expr path_expr(Expr::Kind::kName, item.location);
  path_expr.path = item.star_path;
  v1::Expr e;
  if (!BindExpr(path_expr, scope, &e)) return false;
  columns->Add(std::move(e), item.star_path.back(), true, item);
  return true;
}

bool Planner::PlanProjection(const Select& select, const std::string& step, const Relation& rel,
                             int current, SelectColumns columns, Relation* out) {
  const std::vector<std::string>& names = columns.names;
  const std::vector<bool>& splices = columns.splices;
  std::vector<v1::Expr>& exprs = columns.exprs;
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
      return Fail(
          columns.locations[i],
          absl::StrCat("output column '", names[i], "' appears twice in this SELECT; ",
                       columns.aliased[i] && columns.aliased[j] ? "rename one of them"
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
                    e.column() < columns.key_count;
    } else if (!rel.is_input && e.column() < static_cast<int>(rel.key.size())) {
      out->key[i] = rel.key[e.column()];
    }
  }
  return true;
}

}  // namespace planner_internal

bool PlanScript(const Script& script, const CompileOptions& options, v1::Plan* plan,
                QueryError* error) {
  planner_internal::Planner planner(options, plan, error);
  return planner.Build(script);
}

}  // namespace sluice::sql

// The scope of a SELECT over several sides (joins, APPLYs, analytic
// functions: a JoinScope): names resolve to a side by their qualifier
// (BindJoinName) and take a slot of it (JoinSlot); `a.*` expands a side;
// FinishJoin lays the sides' slots out once the whole SELECT is bound, and
// renumbers every node from the first join on.
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "sql/plan_walk.h"
#include "sql/planner.h"
#include "sql/planner_internal.h"

namespace sluice::sql::planner_internal {

bool Planner::BindJoinName(const Expr& e, Scope& scope, v1::Expr* out) {
  JoinScope& join = *scope.rel->join;
  int side = -1;
  if (e.path.size() > 1) {
    for (int s = 0; s < static_cast<int>(join.sides.size()); ++s) {
      if (join.sides[s].rel.IsQualifier(e.path[0])) side = s;
    }
  }
  if (side < 0) {
    for (int s = 0; s < static_cast<int>(join.sides.size()); ++s) {
      if (join.sides[s].apply && e.path.size() == 1 && join.sides[s].rel.IsQualifier(e.path[0])) {
        // The APPLY's alias alone is its element as a record (ASA: "a
        // record 'element_name' containing the result").
        ApplyElementRecord(join, s, out);
        return true;
      }
    }
    for (const JoinSide& s : join.sides) {
      if (e.path.size() == 1 && s.rel.IsQualifier(e.path[0])) {
        return Fail(
            e.location,
            absl::StrCat("'", e.path[0],
                         "' is a joined stream, not a value: name one of its fields (", e.path[0],
                         ".field), or use DATEDIFF(unit, ", join.sides[0].rel.alias, ", ",
                         join.sides[1].rel.alias, ") as a time bound in ON"));
      }
    }
    // Under APPLY, the element's column names are the element's, and any
    // other name is FROM's. With more sides, an element's column name of
    // exactly one APPLY is that APPLY's. Beside analytic functions, every
    // name is FROM's.
    if (join.analytic) {
      side = 0;
    } else if (join.apply) {
      side = join.sides[1].rel.column_index.contains(Lower(e.path[0])) ? 1 : 0;
    } else {
      for (int s = 0; s < static_cast<int>(join.sides.size()); ++s) {
        if (!join.sides[s].apply || !join.sides[s].rel.column_index.contains(Lower(e.path[0]))) {
          continue;
        }
        if (side >= 0) {
          return Fail(e.location,
                      absl::StrCat("'", e.path[0], "' is a column of more than one APPLY: write ",
                                   join.sides[side].rel.alias, ".", e.path[0], " or ",
                                   join.sides[s].rel.alias, ".", e.path[0]));
        }
        side = s;
      }
    }
  }
  if (side < 0) {
    // An unqualified name must belong to exactly one side, which only a
    // step's known columns can show.
    std::vector<int> owners;
    bool any_input = false;
    for (int s = 0; s < static_cast<int>(join.sides.size()); ++s) {
      const Relation& r = join.sides[s].rel;
      any_input = any_input || r.is_input;
      if (!r.is_input && r.column_index.contains(Lower(e.path[0]))) owners.push_back(s);
    }
    if (any_input || owners.size() != 1) {
      std::vector<std::string> options;
      for (const JoinSide& s : join.sides) {
        options.push_back(absl::StrCat(s.rel.alias, ".", e.path[0]));
      }
      return Fail(e.location, absl::StrCat("'", absl::StrJoin(e.path, "."), "' in ", scope.clause,
                                           " could come from either side of the JOIN: write ",
                                           absl::StrJoin(options, " or ")));
    }
    side = owners[0];
  }
  Scope sub = scope;
  sub.rel = &join.sides[side].rel;
  v1::Expr local;
  if (!BindName(e, sub, &local)) return false;
  ForEachSubExpr(&local, [&](v1::Expr* sub_expr) {
    if (sub_expr->kind_case() == v1::Expr::kColumn) {
      sub_expr->set_column(JoinSlot(join, side, sub_expr->column()));
    }
  });
  *out = std::move(local);
  return true;
}

void Planner::ApplyElementRecord(JoinScope& join, int side, v1::Expr* out) {
  // NULL for OUTER APPLY's row without an element (its index or name is
  // NULL only then).
  v1::CaseExpr* choice = out->mutable_case_expr();
  v1::Call* none = choice->add_when()->mutable_call();
  none->set_function("is_null");
  none->add_args()->set_column(JoinSlot(join, side, 0));
  choice->add_then()->mutable_literal()->set_null_value(true);
  v1::Call* record = choice->mutable_else_value()->mutable_call();
  record->set_function("$record");
  const Relation& elements = join.sides[side].rel;
  for (int32_t c = 0; c < 2; ++c) {
    record->add_args()->mutable_literal()->set_string_value(elements.columns[c]);
    record->add_args()->set_column(JoinSlot(join, side, c));
  }
}

int32_t Planner::JoinSlot(JoinScope& join, int s, int32_t column) {
  JoinSide& side = join.sides[s];
  auto [it, inserted] = side.slot_of.try_emplace(column, static_cast<int>(side.slots.size()));
  if (inserted) {
    v1::Expr e;
    if (column == kSideTimeColumn) {
      e.mutable_system_timestamp();
    } else {
      e.set_column(column);
    }
    side.slots.push_back(std::move(e));
    const Relation& r = side.rel;
    if (column == kSideTimeColumn) {
      side.slot_names.push_back(absl::StrCat(r.alias, ".$time"));
      side.slot_splice.push_back(false);
    } else if (column == kRecordColumnPlaceholder) {
      side.slot_names.push_back(absl::StrCat(r.alias, ".*"));
      side.slot_splice.push_back(true);
    } else if (r.is_input) {
      side.slot_names.push_back(absl::StrCat(r.alias, ".", plan_->inputs(r.input).fields(column)));
      side.slot_splice.push_back(false);
    } else {
      side.slot_names.push_back(absl::StrCat(r.alias, ".", r.columns[column]));
      side.slot_splice.push_back(r.splice[column]);
    }
  }
  return (s + 1) * kJoinSlotStride + it->second;
}

bool Planner::ExpandJoinStar(const SelectItem& item, const Relation& rel, SelectColumns* columns) {
  JoinScope& join = *rel.join;
  if (item.star_path.empty() && join.analytic) {
    // FROM's fields (analytic functions' columns are only their calls').
    SelectItem from_star;
    from_star.kind = SelectItem::Kind::kStar;
    from_star.location = item.location;
    from_star.star_path = {join.sides[0].rel.alias};
    return ExpandJoinStar(from_star, rel, columns);
  }
  if (item.star_path.empty() && join.apply) {
    // FROM's fields, then the element as a record named after the alias.
    SelectItem from_star;
    from_star.kind = SelectItem::Kind::kStar;
    from_star.location = item.location;
    from_star.star_path = {join.sides[0].rel.alias};
    if (!ExpandJoinStar(from_star, rel, columns)) return false;
    v1::Expr e;
    ApplyElementRecord(join, 1, &e);
    columns->Add(std::move(e), join.sides[1].rel.alias, false, item);
    return true;
  }
  if (item.star_path.empty()) {
    bool any_join = false;
    std::vector<std::string> stars;
    for (const JoinSide& side : join.sides) {
      any_join = any_join || (&side != &join.sides[0] && !side.apply);
      stars.push_back(absl::StrCat(side.rel.alias, ".*"));
    }
    return Fail(
        item.location,
        absl::StrCat("SELECT * cannot be used with ", any_join ? "JOIN" : "APPLY",
                     " (as in ASA): name the columns, or select ",
                     absl::StrJoin(stars.begin(), stars.end() - 1, ", "), " and ", stars.back()));
  }
  int side = -1;
  if (item.star_path.size() == 1) {
    for (int s = 0; s < static_cast<int>(join.sides.size()); ++s) {
      if (join.sides[s].rel.IsQualifier(item.star_path[0])) side = s;
    }
  }
  if (side < 0) {
    // record.* : the fields of a record value, spliced.
    Expr path_expr(Expr::Kind::kName, item.location);
    path_expr.path = item.star_path;
    Scope scope;
    scope.rel = &rel;
    scope.clause = "SELECT";
    v1::Expr e;
    if (!BindExpr(path_expr, scope, &e)) return false;
    columns->Add(std::move(e), item.star_path.back(), true, item);
    return true;
  }
  const Relation& r = join.sides[side].rel;
  if (r.is_input) {
    plan_->mutable_inputs(r.input)->set_needs_record(true);
    v1::Expr e;
    e.set_column(JoinSlot(join, side, kRecordColumnPlaceholder));
    columns->Add(std::move(e), "*", true, item);
    return true;
  }
  for (size_t c = 0; c < r.columns.size(); ++c) {
    v1::Expr e;
    e.set_column(JoinSlot(join, side, static_cast<int32_t>(c)));
    columns->Add(std::move(e), r.columns[c], r.splice[c], item);
  }
  return true;
}

void Planner::FinishJoin(const JoinScope& join) {
  std::vector<int32_t> offset;
  int32_t width = 0;
  for (const JoinSide& side : join.sides) {
    offset.push_back(width);
    if (side.project_node >= 0) {
      v1::Node* project = plan_->mutable_nodes(side.project_node);
      for (size_t j = 0; j < side.slots.size(); ++j) {
        *project->mutable_project()->add_exprs() = side.slots[j];
        v1::Column* c = project->mutable_schema()->add_columns();
        c->set_name(side.slot_names[j]);
        c->set_splice(side.slot_splice[j]);
      }
    }
    width += static_cast<int32_t>(side.slots.size());
  }
  // The node that adds side k has the columns of sides 0..k.
  for (size_t k = 1; k < join.sides.size(); ++k) {
    v1::Schema* schema = plan_->mutable_nodes(join.sides[k].node)->mutable_schema();
    schema->Clear();
    for (size_t s = 0; s <= k; ++s) {
      const JoinSide& side = join.sides[s];
      for (size_t j = 0; j < side.slots.size(); ++j) {
        v1::Column* c = schema->add_columns();
        c->set_name(side.slot_names[j]);
        c->set_splice(side.slot_splice[j]);
      }
    }
  }
  // Local: a column of the side's own projection; otherwise of the rows of
  // the sides joined so far (side 0's slots first), which the rows of each
  // join node start with.
  auto renumber = [&](bool local) {
    return [&, local](v1::Expr* root) {
      ForEachSubExpr(root, [&](v1::Expr* e) {
        if (e->kind_case() != v1::Expr::kColumn || e->column() < kJoinSlotStride ||
            e->column() == kRecordColumnPlaceholder) {
          return;
        }
        const int32_t s = e->column() / kJoinSlotStride - 1;
        const int32_t slot = e->column() % kJoinSlotStride;
        e->set_column(local ? slot : offset[s] + slot);
      });
    };
  };
  for (const JoinSide& side : join.sides) {
    if (side.filter_node < 0) continue;
    v1::Node* filter = plan_->mutable_nodes(side.filter_node);
    renumber(true)(filter->mutable_filter()->mutable_predicate());
    *filter->mutable_schema() = plan_->nodes(side.project_node).schema();
  }
  for (size_t k = 1; k < join.sides.size(); ++k) {
    v1::Node* node = plan_->mutable_nodes(join.sides[k].node);
    if (node->has_analytic()) {
      ForEachExpr(node, renumber(false));
    } else if (node->has_apply()) {
      renumber(false)(node->mutable_apply()->mutable_arg());
    } else if (node->has_reference_join()) {
      v1::ReferenceJoinNode* spec = node->mutable_reference_join();
      for (v1::Expr& e : *spec->mutable_stream_keys()) renumber(false)(&e);
      if (spec->has_condition()) renumber(false)(spec->mutable_condition());
      for (const v1::Expr& e : join.sides[k].slots) spec->add_reference_columns(e.column());
    } else {
      v1::JoinNode* spec = node->mutable_join();
      for (v1::Expr& e : *spec->mutable_left_keys()) renumber(false)(&e);
      for (v1::Expr& e : *spec->mutable_right_keys()) renumber(true)(&e);
      if (spec->has_condition()) renumber(false)(spec->mutable_condition());
      for (v1::JoinNode::TimeCheck& c : *spec->mutable_time_checks()) {
        renumber(false)(c.mutable_earlier());
        renumber(false)(c.mutable_later());
      }
    }
  }
  for (int n = join.join_node + 1; n < plan_->nodes_size(); ++n) {
    v1::Node* later = plan_->mutable_nodes(n);
    ForEachExpr(later, renumber(false));
    // Filters pass their input's columns: they copied the join's schema
    // before it was laid out.
    if (later->has_filter()) *later->mutable_schema() = plan_->nodes(later->inputs(0)).schema();
  }
}

}  // namespace sluice::sql::planner_internal

#include "sql/compiler.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "sql/limits.h"
#include "sql/optimizer.h"
#include "sql/parser.h"
#include "sql/planner.h"

namespace sluice::sql {
namespace {

// How deeply a plan nests: protobuf messages below the Plan, with the
// source position of the expression on the deepest path. Walks the plan
// with an explicit stack, so any plan can be measured.
struct PlanNesting {
  int message_depth = 0;
  SourceLocation deepest;
};

PlanNesting MeasureNesting(const v1::Plan& plan) {
  struct Item {
    const google::protobuf::Message* message;
    int depth;
    SourceLocation at;  // of the nearest expression above, or 1:1
  };
  PlanNesting result;
  std::vector<Item> stack = {{&plan, 0, SourceLocation()}};
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  while (!stack.empty()) {
    const Item item = stack.back();
    stack.pop_back();
    SourceLocation at = item.at;
    if (item.message->GetDescriptor() == v1::Expr::descriptor()) {
      const auto& e = static_cast<const v1::Expr&>(*item.message);
      if (e.has_span()) at = SourceLocation{e.span().line(), e.span().column()};
    }
    if (item.depth > result.message_depth) {
      result.message_depth = item.depth;
      result.deepest = at;
    }
    const google::protobuf::Reflection* reflection = item.message->GetReflection();
    fields.clear();
    reflection->ListFields(*item.message, &fields);
    for (const google::protobuf::FieldDescriptor* field : fields) {
      if (field->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) continue;
      if (field->is_repeated()) {
        const int n = reflection->FieldSize(*item.message, field);
        for (int i = 0; i < n; ++i) {
          stack.push_back(
              {&reflection->GetRepeatedMessage(*item.message, field, i), item.depth + 1, at});
        }
      } else {
        stack.push_back({&reflection->GetMessage(*item.message, field), item.depth + 1, at});
      }
    }
  }
  return result;
}

// Every reader must accept what the compiler accepts: the plan's nesting is
// measured, then it is encoded and decoded again as a worker reading the
// catalog would, with less recursion allowed to leave room for the message
// it travels in. Failing here is our bug, not the user's.
bool CheckPlanReadable(const v1::Plan& plan, QueryError* error) {
  auto fail = [&](SourceLocation at, std::string detail) {
    error->location = at;
    error->message = absl::StrCat(
        "internal error: the compiled plan would not be readable (please report this query): ",
        detail);
    return false;
  };
  const PlanNesting nesting = MeasureNesting(plan);
  if (nesting.message_depth > kMaxPlanMessageDepth) {
    return fail(nesting.deepest, absl::StrCat("it nests ", nesting.message_depth,
                                              " messages deep, more than ", kMaxPlanMessageDepth));
  }
  std::string bytes;
  if (!plan.SerializeToString(&bytes)) return fail(SourceLocation(), "it cannot be encoded");
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  in.SetRecursionLimit(kMaxPlanMessageDepth);
  v1::Plan decoded;
  if (!decoded.ParseFromCodedStream(&in) || !in.ConsumedEntireMessage()) {
    return fail(SourceLocation(), "its encoding does not decode");
  }
  return true;
}

}  // namespace

CompileResult CompileQuery(std::string_view text, const CompileOptions& options) {
  CompileResult result;
  Script script;
  if (!ParseScript(text, &script, &result.error)) return result;
  if (!PlanScript(script, options, &result.plan, &result.error)) return result;
  for (v1::Input& input : *result.plan.mutable_inputs()) {
    input.set_partition_key(options.default_partition_key);
    for (const auto& [name, key] : options.partition_keys) {
      if (absl::EqualsIgnoreCase(name, input.name())) input.set_partition_key(key);
    }
  }
  for (const OptimizerPass& pass : OptimizerPasses()) {
    pass.run(&result.plan);
    result.passes.emplace_back(pass.name);
  }
  if (!CheckPlanReadable(result.plan, &result.error)) return result;
  result.ok = true;
  return result;
}

}  // namespace sluice::sql

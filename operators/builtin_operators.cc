#include "operators/builtin_operators.h"

namespace sluice {

void RegisterBuiltinOperators(OperatorRegistry* registry) {
  registry->Register(v1::Node::kSource, &MakeSourceOperator);
  registry->Register(v1::Node::kEventTime, &MakeEventTimeOperator);
  registry->Register(v1::Node::kFilter, &MakeFilterOperator);
  registry->Register(v1::Node::kProject, &MakeProjectOperator);
  registry->Register(v1::Node::kWindowAggregate, &MakeWindowAggregateOperator);
  registry->Register(v1::Node::kUnionAll, &MakeUnionOperator);
  registry->Register(v1::Node::kSink, &MakeSinkOperator);
  registry->Register(v1::Node::kExchange, &MakeExchangeOperator);
  registry->Register(v1::Node::kJoin, &MakeJoinOperator);
  registry->Register(v1::Node::kApply, &MakeApplyOperator);
  registry->Register(v1::Node::kAnalytic, &MakeAnalyticOperator);
  registry->Register(v1::Node::kReferenceJoin, &MakeReferenceJoinOperator);
}

}  // namespace sluice

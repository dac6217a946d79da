// How the API's request messages come off the wire. gRPC's default answers
// a request it cannot parse (malformed protobuf, or a string field that is
// not UTF-8) with INTERNAL and an empty message: the client's fault
// reported as ours, with nothing to go on. These specializations answer
// INVALID_ARGUMENT and say what was wrong.
//
// Force-included into the generated job_service.grpc.pb.cc only
// (proto/CMakeLists.txt): the server's method handlers and the client
// stubs are instantiated there, and nowhere else in the binary (gRPC's own
// services live in its shared libraries).
#ifndef SLUICE_PROTO_REQUEST_TRAITS_H_
#define SLUICE_PROTO_REQUEST_TRAITS_H_

#include <string>

#include "grpcpp/impl/codegen/proto_buffer_reader.h"
#include "grpcpp/impl/codegen/proto_buffer_writer.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "proto/job_service.pb.h"

namespace grpc {
namespace sluice_requests {

template <class T>
class StrictRequestTraits {
 public:
  static Status Serialize(const grpc::protobuf::MessageLite& msg, ByteBuffer* bb,
                          bool* own_buffer) {
    return GenericSerialize<ProtoBufferWriter, T>(msg, bb, own_buffer);
  }

  static Status Deserialize(ByteBuffer* buffer, grpc::protobuf::MessageLite* msg) {
    Status status = GenericDeserialize<ProtoBufferReader, T>(buffer, msg);
    if (status.ok()) return status;
    return Status(StatusCode::INVALID_ARGUMENT,
                  "the message is not a valid " + msg->GetTypeName() +
                      " (malformed protobuf, or a string field that is not UTF-8)");
  }
};

}  // namespace sluice_requests

#define SLUICE_STRICT_REQUEST(T) \
  template <>                    \
  class SerializationTraits<T, void> : public sluice_requests::StrictRequestTraits<T> {}

// gRPC 1.51's generated unary handlers and stubs deserialize through
// MessageLite (method_handler.h, "reduced templating"); streaming ones
// through the request type itself.
SLUICE_STRICT_REQUEST(grpc::protobuf::MessageLite);
SLUICE_STRICT_REQUEST(sluice::v1::SubmitJobRequest);
SLUICE_STRICT_REQUEST(sluice::v1::ValidateJobRequest);
SLUICE_STRICT_REQUEST(sluice::v1::ListJobsRequest);
SLUICE_STRICT_REQUEST(sluice::v1::DescribeJobRequest);
SLUICE_STRICT_REQUEST(sluice::v1::StopJobRequest);
SLUICE_STRICT_REQUEST(sluice::v1::TailOutputRequest);
SLUICE_STRICT_REQUEST(sluice::v1::UpdateJobRequest);
SLUICE_STRICT_REQUEST(sluice::v1::ListWorkersRequest);

#undef SLUICE_STRICT_REQUEST

}  // namespace grpc

#endif  // SLUICE_PROTO_REQUEST_TRAITS_H_

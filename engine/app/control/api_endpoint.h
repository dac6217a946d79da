// What a client and a worker agree on about the API's address: the default
// endpoint and the service name. Clients include this, not the server.
#ifndef SLUICE_ENGINE_APP_CONTROL_API_ENDPOINT_H_
#define SLUICE_ENGINE_APP_CONTROL_API_ENDPOINT_H_

namespace sluice {

inline constexpr char kDefaultServer[] = "localhost:9750";
inline constexpr char kServiceName[] = "sluice.v1.JobService";

}  // namespace sluice

#endif  // SLUICE_ENGINE_APP_CONTROL_API_ENDPOINT_H_

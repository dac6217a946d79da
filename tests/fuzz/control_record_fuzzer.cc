// Records of the control topics, as every worker reads them back:
// `_sluice_jobs` commands applied to a catalog in log order, and
// `_sluice_status` worker statuses. Garbage fails cleanly.
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/control/catalog.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  sluice::Catalog catalog;
  // Several records in one input, separated by newlines.
  size_t start = 0;
  while (start <= input.size()) {
    size_t end = input.find('\n', start);
    if (end == std::string::npos) end = input.size();
    const std::string record = input.substr(start, end - start);
    if (auto command = sluice::DecodeCatalogCommand(record); command.ok()) {
      catalog.Apply(*command);
      // What a worker reads it can write again, and read back the same.
      if (auto again = sluice::EncodeCatalogCommand(*command); again.ok()) {
        (void)sluice::DecodeCatalogCommand(*again);
      }
    }
    (void)sluice::DecodeWorkerStatus(record);
    start = end + 1;
  }
  return 0;
}

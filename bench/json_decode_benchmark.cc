// JSON decoding into columnar batches (connectors/json_decoder) against a
// baseline that only parses the same bytes with simdjson On Demand and reads
// the same three fields, without building batches.
#include <benchmark/benchmark.h>

#include "bench/telemetry_data.h"
#include "connectors/json_decoder.h"
#include "simdjson.h"

namespace sluice::bench {
namespace {

const TelemetryBuffer& Data() {
  static const TelemetryBuffer* data =
      new TelemetryBuffer(MakeTelemetry(EventCount(200000), 10000));
  return *data;
}

void BM_SimdjsonOnDemandBaseline(benchmark::State& state) {
  const TelemetryBuffer& data = Data();
  simdjson::ondemand::parser parser;
  for (auto _ : state) {
    double sum = 0;
    size_t bytes = 0;
    for (const auto& [offset, length] : data.lines) {
      simdjson::padded_string_view view(data.text.data() + offset, length,
                                        data.text.size() - offset);
      simdjson::ondemand::document doc;
      if (parser.iterate(view).get(doc)) state.SkipWithError("parse failed");
      std::string_view device, time;
      double temperature = 0;
      for (auto field : doc.get_object()) {
        std::string_view key = field.unescaped_key();
        if (key == "deviceId") {
          device = field.value().get_string();
        } else if (key == "temperature") {
          temperature = field.value().get_double();
        } else if (key == "eventTime") {
          time = field.value().get_string();
        }
      }
      sum += temperature;
      bytes += device.size() + time.size();
    }
    benchmark::DoNotOptimize(sum);
    benchmark::DoNotOptimize(bytes);
  }
  state.SetItemsProcessed(state.iterations() * data.lines.size());
  state.SetBytesProcessed(state.iterations() * (data.text.size() - 64));
}
BENCHMARK(BM_SimdjsonOnDemandBaseline)->Unit(benchmark::kMillisecond);

void BM_DecodeIntoBatches(benchmark::State& state) {
  const TelemetryBuffer& data = Data();
  JsonDecoderOptions options;
  options.fields = {"deviceId", "temperature", "eventTime"};
  JsonDecoder decoder(options);
  std::string error;
  for (auto _ : state) {
    size_t rows = 0;
    BatchBuilder builder(decoder.num_columns(), 1024);
    for (const auto& [offset, length] : data.lines) {
      const std::string_view json(data.text.data() + offset, length);
      if (!decoder.Decode(json, data.text.size() - offset - length, 0, builder, &error)) {
        state.SkipWithError(error.c_str());
        break;
      }
      if (builder.num_rows() == 1024) {
        rows += builder.Finish().num_rows;
      }
    }
    rows += builder.Finish().num_rows;
    benchmark::DoNotOptimize(rows);
  }
  state.SetItemsProcessed(state.iterations() * data.lines.size());
  state.SetBytesProcessed(state.iterations() * (data.text.size() - 64));
}
BENCHMARK(BM_DecodeIntoBatches)->Unit(benchmark::kMillisecond);

void BM_DecodeWholeEventAsRecord(benchmark::State& state) {
  const TelemetryBuffer& data = Data();
  JsonDecoderOptions options;
  options.needs_record = true;  // SELECT *
  JsonDecoder decoder(options);
  std::string error;
  for (auto _ : state) {
    BatchBuilder builder(decoder.num_columns(), 1024);
    size_t rows = 0;
    for (const auto& [offset, length] : data.lines) {
      const std::string_view json(data.text.data() + offset, length);
      decoder.Decode(json, data.text.size() - offset - length, 0, builder, &error);
      if (builder.num_rows() == 1024) rows += builder.Finish().num_rows;
    }
    rows += builder.Finish().num_rows;
    benchmark::DoNotOptimize(rows);
  }
  state.SetItemsProcessed(state.iterations() * data.lines.size());
}
BENCHMARK(BM_DecodeWholeEventAsRecord)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace sluice::bench

BENCHMARK_MAIN();

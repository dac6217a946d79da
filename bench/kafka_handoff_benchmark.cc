// The Kafka hand-off without a broker: what KafkaGroupConsumer::Poll does
// with each record librdkafka returns (copy the payload into the
// partition's RecordBatch, then pad the batch for simdjson), and what the
// worker's partition task does with a RecordBatch (decode every payload
// with connectors/json_decoder into a BatchBuilder, stamping origin and
// arrival time). Copy alone, decode alone and both together, for the
// worker's poll size (10,000 records) and a smaller one. Each reports
// records per second.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "bench/telemetry_data.h"
#include "connectors/json_decoder.h"
#include "connectors/kafka_consumer.h"
#include "engine/core/datetime.h"

namespace sluice::bench {
namespace {

// The payloads as librdkafka would hand them over, one after another.
const TelemetryBuffer& Data() {
  static const TelemetryBuffer* data =
      new TelemetryBuffer(MakeTelemetry(EventCount(1000000), 10000));
  return *data;
}

int64_t PayloadBytes(const TelemetryBuffer& data) {
  int64_t bytes = 0;
  for (const auto& line : data.lines) bytes += static_cast<int64_t>(line.second);
  return bytes;
}

constexpr int64_t kFirstRecordMs = 1704067200000;  // 2024-01-01T00:00:00Z

// Records [first, last) copied into a RecordBatch as Poll copies them.
RecordBatch CopyRecords(const TelemetryBuffer& data, size_t first, size_t last) {
  RecordBatch batch;
  batch.partition = TopicPartition{"telemetry", 0};
  for (size_t i = first; i < last; ++i) {
    const auto& [offset, length] = data.lines[i];
    RecordBatch::Record r;
    r.offset = static_cast<int64_t>(i);
    r.timestamp_ms = kFirstRecordMs + static_cast<int64_t>(i);
    r.begin = static_cast<uint32_t>(batch.data.size());
    r.size = static_cast<uint32_t>(length);
    batch.data.append(data.text.data() + offset, length);
    batch.records.push_back(r);
  }
  batch.data.append(RecordBatch::kPadding, ' ');
  return batch;
}

// Decodes every record of `batch` as the worker's partition task does and
// returns the rows of the finished Batch.
uint32_t DecodeRecords(const RecordBatch& batch, JsonDecoder& decoder, std::string* error) {
  BatchBuilder builder(decoder.num_columns(), static_cast<uint32_t>(batch.records.size()));
  for (const RecordBatch::Record& r : batch.records) {
    if (!decoder.Decode(batch.payload(r), batch.readable_after(r), 0, builder, error)) {
      std::fprintf(stderr, "kafka_handoff_benchmark: %s\n", error->c_str());
      std::abort();
    }
    const uint32_t row = builder.num_rows() - 1;
    builder.SetOrigin(row, RowOrigin{0, -1, r.offset});
    builder.SetArrivalTime(row, r.timestamp_ms * kTicksPerMillisecond);
  }
  return builder.Finish().num_rows;
}

JsonDecoderOptions TelemetryFields() {
  JsonDecoderOptions options;
  options.fields = {"deviceId", "temperature", "eventTime"};
  return options;
}

void SetThroughput(benchmark::State& state, const TelemetryBuffer& data) {
  state.SetItemsProcessed(state.iterations() * data.lines.size());
  state.SetBytesProcessed(state.iterations() * PayloadBytes(data));
}

// Poll's copy: payloads into per-poll RecordBatches, plus padding.
void BM_CopyIntoRecordBatches(benchmark::State& state) {
  const TelemetryBuffer& data = Data();
  const size_t per_poll = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    for (size_t first = 0; first < data.lines.size(); first += per_poll) {
      RecordBatch batch = CopyRecords(data, first, std::min(first + per_poll, data.lines.size()));
      benchmark::DoNotOptimize(batch.data.data());
    }
  }
  SetThroughput(state, data);
}
BENCHMARK(BM_CopyIntoRecordBatches)
    ->ArgName("records_per_poll")
    ->Arg(1000)
    ->Arg(10000)
    ->Unit(benchmark::kMillisecond);

// The partition task's decode of RecordBatches already copied.
void BM_DecodeRecordBatches(benchmark::State& state) {
  const TelemetryBuffer& data = Data();
  const size_t per_poll = static_cast<size_t>(state.range(0));
  std::vector<RecordBatch> polled;
  for (size_t first = 0; first < data.lines.size(); first += per_poll) {
    polled.push_back(CopyRecords(data, first, std::min(first + per_poll, data.lines.size())));
  }
  JsonDecoder decoder(TelemetryFields());
  std::string error;
  for (auto _ : state) {
    int64_t rows = 0;
    for (const RecordBatch& batch : polled) rows += DecodeRecords(batch, decoder, &error);
    benchmark::DoNotOptimize(rows);
  }
  SetThroughput(state, data);
}
BENCHMARK(BM_DecodeRecordBatches)
    ->ArgName("records_per_poll")
    ->Arg(1000)
    ->Arg(10000)
    ->Unit(benchmark::kMillisecond);

// Both: copy a poll's records, then decode them.
void BM_RecordBatchHandOff(benchmark::State& state) {
  const TelemetryBuffer& data = Data();
  const size_t per_poll = static_cast<size_t>(state.range(0));
  JsonDecoder decoder(TelemetryFields());
  std::string error;
  for (auto _ : state) {
    int64_t rows = 0;
    for (size_t first = 0; first < data.lines.size(); first += per_poll) {
      const RecordBatch batch =
          CopyRecords(data, first, std::min(first + per_poll, data.lines.size()));
      rows += DecodeRecords(batch, decoder, &error);
    }
    benchmark::DoNotOptimize(rows);
  }
  SetThroughput(state, data);
}
BENCHMARK(BM_RecordBatchHandOff)
    ->ArgName("records_per_poll")
    ->Arg(1000)
    ->Arg(10000)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace sluice::bench

BENCHMARK_MAIN();

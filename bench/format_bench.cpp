#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "sim/format/format.h"
#include "tests/unit/format_fixtures.h"

namespace lwm2msim {
namespace {

// A Device object instance as a simulated client answers a Read of /3/0: the TS example without
// Power Source Voltage and Current, with Timezone and Memory Total.
std::vector<Record> client_device_records() {
  std::vector<Record> records = device_records();
  std::erase_if(records,
                [](const Record& r) { return r.path.resource == 7 || r.path.resource == 8; });
  const auto binding = std::find_if(records.begin(), records.end(),
                                    [](const Record& r) { return r.path.resource == 16; });
  records.insert(binding, Record{path(3, 0, 15), std::string("Europe/Berlin")});
  records.push_back(Record{path(3, 0, 21), int64_t{65536}});
  return records;
}

using EncodeFn = CodecResult (*)(const CodecContext&, std::span<const Record>,
                                 std::vector<uint8_t>*);
using DecodeFn = CodecResult (*)(const CodecContext&, std::span<const uint8_t>,
                                 std::vector<Record>*);

void run_encode(benchmark::State& state, EncodeFn encode, const CodecContext& ctx,
                const std::vector<Record>& records) {
  std::vector<uint8_t> out;
  size_t bytes = 0;
  for (auto _ : state) {
    out.clear();
    const CodecResult r = encode(ctx, records, &out);
    if (!r.ok()) {
      state.SkipWithError(r.reason.c_str());
      return;
    }
    bytes += out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * records.size()));
}

void run_decode(benchmark::State& state, EncodeFn encode, DecodeFn decode, const CodecContext& ctx,
                const std::vector<Record>& records) {
  std::vector<uint8_t> payload;
  if (!encode(ctx, records, &payload).ok()) {
    state.SkipWithError("encode failed");
    return;
  }
  std::vector<Record> out;
  for (auto _ : state) {
    out.clear();
    const CodecResult r = decode(ctx, payload, &out);
    if (!r.ok()) {
      state.SkipWithError(r.reason.c_str());
      return;
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * payload.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * records.size()));
}

// Plain text carries one resource: the Current Time.
void BM_FormatTextEncode(benchmark::State& state) {
  const std::vector<Record> records{{Lwm2mPath{3, 0, 13}, TimeValue{1367491215}}};
  run_encode(state, encode_text, device_context(Lwm2mPath{3, 0, 13}), records);
}
BENCHMARK(BM_FormatTextEncode);

void BM_FormatTextDecode(benchmark::State& state) {
  const std::vector<Record> records{{Lwm2mPath{3, 0, 13}, TimeValue{1367491215}}};
  run_decode(state, encode_text, decode_text, device_context(Lwm2mPath{3, 0, 13}), records);
}
BENCHMARK(BM_FormatTextDecode);

void BM_FormatTlvEncode(benchmark::State& state) {
  run_encode(state, encode_tlv, device_context(Lwm2mPath{3, 0}), client_device_records());
}
BENCHMARK(BM_FormatTlvEncode);

void BM_FormatTlvDecode(benchmark::State& state) {
  run_decode(state, encode_tlv, decode_tlv, device_context(Lwm2mPath{3, 0}),
             client_device_records());
}
BENCHMARK(BM_FormatTlvDecode);

void BM_FormatOmaJsonEncode(benchmark::State& state) {
  run_encode(state, encode_oma_json, device_context(Lwm2mPath{3, 0}), client_device_records());
}
BENCHMARK(BM_FormatOmaJsonEncode);

void BM_FormatOmaJsonDecode(benchmark::State& state) {
  run_decode(state, encode_oma_json, decode_oma_json, device_context(Lwm2mPath{3, 0}),
             client_device_records());
}
BENCHMARK(BM_FormatOmaJsonDecode);

void BM_FormatSenmlJsonEncode(benchmark::State& state) {
  run_encode(state, encode_senml_json, device_context(Lwm2mPath{3, 0}), client_device_records());
}
BENCHMARK(BM_FormatSenmlJsonEncode);

void BM_FormatSenmlJsonDecode(benchmark::State& state) {
  run_decode(state, encode_senml_json, decode_senml_json, device_context(Lwm2mPath{3, 0}),
             client_device_records());
}
BENCHMARK(BM_FormatSenmlJsonDecode);

}  // namespace
}  // namespace lwm2msim

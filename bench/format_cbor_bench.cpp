#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "sim/format/format.h"
#include "tests/unit/format_fixtures.h"

namespace lwm2msim {
namespace {

void bench_encode(benchmark::State& state, uint16_t format) {
  const CodecContext ctx = device_context(path(3, 0));
  const std::vector<Record> records = device_records();
  std::vector<uint8_t> out;
  out.reserve(512);
  for (auto _ : state) {
    out.clear();
    CodecResult r = encode(format, ctx, records, &out);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * out.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * records.size()));
}

void bench_decode(benchmark::State& state, uint16_t format) {
  const CodecContext ctx = device_context(path(3, 0));
  const std::vector<Record> records = device_records();
  std::vector<uint8_t> payload;
  if (!encode(format, ctx, records, &payload).ok()) {
    state.SkipWithError("encode failed");
    return;
  }
  std::vector<Record> out;
  out.reserve(records.size());
  for (auto _ : state) {
    out.clear();
    CodecResult r = decode(format, ctx, payload, &out);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * payload.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * records.size()));
}

void BM_FormatSenmlCborEncode(benchmark::State& state) {
  bench_encode(state, CoapContentFormat::kSenmlCbor);
}
BENCHMARK(BM_FormatSenmlCborEncode);

void BM_FormatSenmlCborDecode(benchmark::State& state) {
  bench_decode(state, CoapContentFormat::kSenmlCbor);
}
BENCHMARK(BM_FormatSenmlCborDecode);

void BM_FormatLwm2mCborEncode(benchmark::State& state) {
  bench_encode(state, CoapContentFormat::kLwm2mCbor);
}
BENCHMARK(BM_FormatLwm2mCborEncode);

void BM_FormatLwm2mCborDecode(benchmark::State& state) {
  bench_decode(state, CoapContentFormat::kLwm2mCbor);
}
BENCHMARK(BM_FormatLwm2mCborDecode);

}  // namespace
}  // namespace lwm2msim

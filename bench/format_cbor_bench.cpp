#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "sim/format/format.h"

namespace lwm2msim {
namespace {

Lwm2mPath device_path(uint32_t resource, uint32_t resource_instance = Lwm2mPath::kAbsent) {
  Lwm2mPath p;
  p.object = 3;
  p.instance = 0;
  p.resource = resource;
  p.resource_instance = resource_instance;
  return p;
}

ResourceType device_type(const Lwm2mPath& p) {
  switch (p.resource) {
    case 0:
    case 1:
    case 2:
    case 3:
    case 14:
    case 16:
      return ResourceType::kString;
    case 13:
      return ResourceType::kTime;
    default:
      return ResourceType::kInteger;
  }
}

// A Read of /3/0: twelve resources, three of them with instances.
std::vector<Record> device_instance() {
  return {
      {device_path(0), std::string("Open Mobile Alliance")},
      {device_path(1), std::string("Lightweight M2M Client")},
      {device_path(2), std::string("345000123")},
      {device_path(3), std::string("1.0")},
      {device_path(6, 0), int64_t{1}},
      {device_path(6, 1), int64_t{5}},
      {device_path(7, 0), int64_t{3800}},
      {device_path(7, 1), int64_t{5000}},
      {device_path(8, 0), int64_t{125}},
      {device_path(8, 1), int64_t{900}},
      {device_path(9), int64_t{100}},
      {device_path(10), int64_t{15}},
      {device_path(11, 0), int64_t{0}},
      {device_path(13), TimeValue{1367491215}},
      {device_path(14), std::string("+02:00")},
      {device_path(16), std::string("U")},
  };
}

CodecContext device_context() {
  CodecContext ctx;
  ctx.base.object = 3;
  ctx.base.instance = 0;
  ctx.type_of = device_type;
  return ctx;
}

void bench_encode(benchmark::State& state, uint16_t format) {
  const CodecContext ctx = device_context();
  const std::vector<Record> records = device_instance();
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
  const CodecContext ctx = device_context();
  const std::vector<Record> records = device_instance();
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

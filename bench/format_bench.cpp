#include <benchmark/benchmark.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "sim/format/format.h"

namespace lwm2msim {
namespace {

constexpr uint32_t kNo = Lwm2mPath::kAbsent;

ResourceType device_type(const Lwm2mPath& p) {
  switch (p.resource) {
    case 0:
    case 1:
    case 2:
    case 3:
    case 14:
    case 15:
    case 16:
      return ResourceType::kString;
    case 6:
    case 7:
    case 8:
    case 9:
    case 10:
    case 11:
    case 20:
    case 21:
      return ResourceType::kInteger;
    case 13:
      return ResourceType::kTime;
    default:
      return ResourceType::kNone;
  }
}

bool device_multiple(const Lwm2mPath& p) {
  return p.resource == 6 || p.resource == 7 || p.resource == 8 || p.resource == 11;
}

CodecContext device_context(const Lwm2mPath& base) {
  CodecContext ctx;
  ctx.base = base;
  ctx.type_of = device_type;
  ctx.is_multiple = device_multiple;
  return ctx;
}

// A Device object instance as a simulated client answers a Read of /3/0: 12 resources, one of
// them multiple-instance.
std::vector<Record> device_records() {
  auto r = [](uint32_t res, Value v, uint32_t ri = kNo) {
    return Record{Lwm2mPath{3, 0, res, ri}, std::move(v)};
  };
  return {
      r(0, std::string("Open Mobile Alliance")),
      r(1, std::string("Lightweight M2M Client")),
      r(2, std::string("345000123")),
      r(3, std::string("1.0")),
      r(6, int64_t{1}, 0),
      r(6, int64_t{5}, 1),
      r(9, int64_t{100}),
      r(10, int64_t{15}),
      r(11, int64_t{0}, 0),
      r(13, TimeValue{1367491215}),
      r(14, std::string("+02:00")),
      r(15, std::string("Europe/Berlin")),
      r(16, std::string("U")),
      r(21, int64_t{65536}),
  };
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
  run_encode(state, encode_tlv, device_context(Lwm2mPath{3, 0}), device_records());
}
BENCHMARK(BM_FormatTlvEncode);

void BM_FormatTlvDecode(benchmark::State& state) {
  run_decode(state, encode_tlv, decode_tlv, device_context(Lwm2mPath{3, 0}), device_records());
}
BENCHMARK(BM_FormatTlvDecode);

void BM_FormatOmaJsonEncode(benchmark::State& state) {
  run_encode(state, encode_oma_json, device_context(Lwm2mPath{3, 0}), device_records());
}
BENCHMARK(BM_FormatOmaJsonEncode);

void BM_FormatOmaJsonDecode(benchmark::State& state) {
  run_decode(state, encode_oma_json, decode_oma_json, device_context(Lwm2mPath{3, 0}),
             device_records());
}
BENCHMARK(BM_FormatOmaJsonDecode);

void BM_FormatSenmlJsonEncode(benchmark::State& state) {
  run_encode(state, encode_senml_json, device_context(Lwm2mPath{3, 0}), device_records());
}
BENCHMARK(BM_FormatSenmlJsonEncode);

void BM_FormatSenmlJsonDecode(benchmark::State& state) {
  run_decode(state, encode_senml_json, decode_senml_json, device_context(Lwm2mPath{3, 0}),
             device_records());
}
BENCHMARK(BM_FormatSenmlJsonDecode);

}  // namespace
}  // namespace lwm2msim

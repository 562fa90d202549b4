#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "sim/format/format.h"
#include "sim/util/rng.h"
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

void BM_FormatOpaqueEncode(benchmark::State& state) {
  Rng rng(7);
  const std::vector<Record> records{{path(5, 0, 0), random_opaque(rng, 512)}};
  run_encode(state, encode_opaque, typed_context(path(5, 0, 0), ResourceType::kOpaque), records);
}
BENCHMARK(BM_FormatOpaqueEncode);

void BM_FormatOpaqueDecode(benchmark::State& state) {
  Rng rng(7);
  const std::vector<Record> records{{path(5, 0, 0), random_opaque(rng, 512)}};
  run_decode(state, encode_opaque, decode_opaque,
             typed_context(path(5, 0, 0), ResourceType::kOpaque), records);
}
BENCHMARK(BM_FormatOpaqueDecode);

// The link format of a temperature sensor's Register payload (RFC 6690, LwM2M TS 6.2.1).
std::vector<Link> registration_links() {
  std::vector<Link> links{{"/", {{"rt", "\"oma.lwm2m\""}, {"ct", "11543"}}}};
  for (const char* target : {"/1/0", "/3/0", "/4/0", "/3303/0", "/3303/1", "/5/0"}) {
    links.push_back({target, {}});
  }
  links.push_back({"/3/0/6", {{"dim", "1"}}});
  return links;
}

void BM_LinkFormatEncode(benchmark::State& state) {
  const std::vector<Link> links = registration_links();
  size_t bytes = 0;
  for (auto _ : state) {
    const std::string text = encode_links(links);
    bytes += text.size();
    benchmark::DoNotOptimize(text.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_LinkFormatEncode);

void BM_LinkFormatDecode(benchmark::State& state) {
  const std::string text = encode_links(registration_links());
  std::vector<Link> out;
  std::string error;
  for (auto _ : state) {
    out.clear();
    if (!decode_links(text, &out, &error)) {
      state.SkipWithError(error.c_str());
      break;
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_LinkFormatDecode);

}  // namespace
}  // namespace lwm2msim

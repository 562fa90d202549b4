#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "sim/coap/coap.h"
#include "sim/coap/duplicate_cache.h"

namespace lwm2msim {
namespace {

constexpr std::array<uint8_t, 4> kToken = {0x12, 0x34, 0x56, 0x78};
constexpr std::string_view kRegisterPayload = R"(</>;rt="oma.lwm2m",</1/0>,</3/0>)";
constexpr std::string_view kContentPayload = "22.5";

// POST /rd?ep=sim-000001&lt=300&lwm2m=1.1&b=U, as an LwM2M client registers.
std::span<const uint8_t> build_register(std::span<uint8_t> buf, uint16_t mid) {
  return CoapWriter(buf)
      .header(CoapType::kCon, CoapCode::kPost, mid, kToken)
      .option_path(CoapOption::kUriPath, "rd")
      .option_uint(CoapOption::kContentFormat, CoapContentFormat::kLinkFormat)
      .option_path(CoapOption::kUriQuery, "ep=sim-000001&lt=300&lwm2m=1.1&b=U", '&')
      .payload(kRegisterPayload)
      .finish();
}

// Piggybacked 2.05 Content answering a Read of /3303/0/5700.
std::span<const uint8_t> build_content(std::span<uint8_t> buf, uint16_t mid) {
  return CoapWriter(buf)
      .header(CoapType::kAck, CoapCode::kContent, mid, kToken)
      .option_uint(CoapOption::kContentFormat, CoapContentFormat::kTextPlain)
      .payload(kContentPayload)
      .finish();
}

void BM_CoapParseRegister(benchmark::State& state) {
  std::array<uint8_t, kCoapMaxMessageSize> buf{};
  const auto msg = build_register(buf, 0x1234);
  CoapMessage m;
  for (auto _ : state) {
    benchmark::DoNotOptimize(m.parse(msg));
    benchmark::DoNotOptimize(m.options().size());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * msg.size()));
}
BENCHMARK(BM_CoapParseRegister);

void BM_CoapParseContent(benchmark::State& state) {
  std::array<uint8_t, kCoapMaxMessageSize> buf{};
  const auto msg = build_content(buf, 0x1234);
  CoapMessage m;
  for (auto _ : state) {
    benchmark::DoNotOptimize(m.parse(msg));
    benchmark::DoNotOptimize(m.payload().size());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * msg.size()));
}
BENCHMARK(BM_CoapParseContent);

void BM_CoapBuildRegister(benchmark::State& state) {
  std::array<uint8_t, kCoapMaxMessageSize> buf{};
  uint16_t mid = 0;
  for (auto _ : state) {
    auto msg = build_register(buf, mid++);
    benchmark::DoNotOptimize(msg.data());
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_CoapBuildRegister);

void BM_CoapBuildContent(benchmark::State& state) {
  std::array<uint8_t, kCoapMaxMessageSize> buf{};
  uint16_t mid = 0;
  for (auto _ : state) {
    auto msg = build_content(buf, mid++);
    benchmark::DoNotOptimize(msg.data());
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_CoapBuildContent);

// Steady state of a busy server: the cache is full, so every put also evicts.
void BM_CoapDuplicateCachePutFind(benchmark::State& state) {
  std::array<uint8_t, kCoapMaxMessageSize> buf{};
  const auto response = build_content(buf, 0);
  DuplicateCache cache(4096, 1 << 20, 247 * kUsPerSec);
  uint64_t n = 0;
  for (auto _ : state) {
    const uint64_t peer = n % 10000;
    const auto mid = static_cast<uint16_t>(n);
    cache.put(peer, mid, response, n);
    benchmark::DoNotOptimize(cache.find(peer, mid, n).data());
    ++n;
  }
}
BENCHMARK(BM_CoapDuplicateCachePutFind);

}  // namespace
}  // namespace lwm2msim

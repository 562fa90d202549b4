#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sim/coap/coap.h"
#include "sim/dm/data_model.h"
#include "sim/dm/notification.h"
#include "sim/model/object_definition.h"

namespace lwm2msim {
namespace {

const DataModel& model() {
  static const DataModel m(builtin_profile(ObjectRegistry::builtin()), 1, 1'700'000'000);
  return m;
}

ClientContext context(uint64_t client, TimeUs t, const ClientData* data = nullptr) {
  ClientContext c;
  c.index = client;
  c.t = t;
  c.data = data;
  c.server_uri = "coap://127.0.0.1:5683";
  return c;
}

// What a Read of the Device instance costs a client: the data model's records, then TLV.
void BM_ReadDeviceInstanceTlv(benchmark::State& state) {
  std::vector<Record> records;
  std::vector<uint8_t> out;
  uint64_t client = 0;
  for (auto _ : state) {
    records.clear();
    out.clear();
    model().read({3, 0}, context(client, 5'000'000), &records);
    encode(CoapContentFormat::kLwm2mTlv, model().codec_context({3, 0}), records, &out);
    benchmark::DoNotOptimize(out.data());
    client = (client + 7919) % 1'000'000;
  }
}
BENCHMARK(BM_ReadDeviceInstanceTlv);

void BM_ReadSingleResource(benchmark::State& state) {
  std::vector<Record> records;
  uint64_t client = 0;
  for (auto _ : state) {
    records.clear();
    model().read({3303, 0, 5700}, context(client, 5'000'000), &records);
    benchmark::DoNotOptimize(records.data());
    client = (client + 7919) % 1'000'000;
  }
}
BENCHMARK(BM_ReadSingleResource);

// A Write of one resource into a client that has no data yet, as the first write does.
void BM_WriteIntoEmptyClient(benchmark::State& state) {
  const std::vector<Record> records{{{3303, 0, 5750}, std::string("kitchen")}};
  for (auto _ : state) {
    ClientData data;
    model().write({3303, 0, 5750}, records, WriteMode::kReplace, context(1, 0), &data);
    benchmark::DoNotOptimize(data.written.data());
  }
}
BENCHMARK(BM_WriteIntoEmptyClient);

// One sampling step of an observation with attributes: read, digest, decide.
void BM_ObservationCheck(benchmark::State& state) {
  NotificationAttributes attrs;
  attrs.set_pmin(10);
  attrs.set_pmax(60);
  attrs.set_st(0.5);
  NotificationState st;
  std::vector<Record> records;
  TimeUs t = 0;
  for (auto _ : state) {
    records.clear();
    const ClientContext ctx = context(3, t);
    model().read({3303, 0, 5700}, ctx, &records);
    ObservedSample s{t, records_digest(records), model().number_at({3303, 0, 5700}, ctx)};
    benchmark::DoNotOptimize(decide(attrs, &st, s, kUsPerSec));
    t += kUsPerSec;
  }
}
BENCHMARK(BM_ObservationCheck);

void BM_EffectiveAttributes(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(model().effective_attributes({3303, 0, 5700}, context(3, 0)));
  }
}
BENCHMARK(BM_EffectiveAttributes);

}  // namespace
}  // namespace lwm2msim

#include "sim/scenario/scenario.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "sim/lwm2m/lwm2m.h"
#include "sim/model/object_definition.h"

#ifndef LWM2MSIM_SCENARIOS_DIR
#error "LWM2MSIM_SCENARIOS_DIR must name the repository's scenarios/ (see tests/CMakeLists.txt)"
#endif

namespace lwm2msim {
namespace {

namespace fs = std::filesystem;

const fs::path kScenarios = LWM2MSIM_SCENARIOS_DIR;

const ObjectRegistry& builtin() {
  static const ObjectRegistry registry = ObjectRegistry::builtin();
  return registry;
}

// Profiles and identity files the snippets refer to, in a directory of their own that lives as
// long as the test program.
class Fixtures {
 public:
  Fixtures() {
    dir_ = fs::temp_directory_path() / ("lwm2msim-scenario-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    write("p.yaml",
          "name: p\n"
          "objects:\n"
          "  3303:\n"
          "    0:\n"
          "      5700: {generator: sine, mean: 20, amplitude: 2, period: 1h}\n");
    write("sender.yaml",
          "name: sender\n"
          "send: {period: 1m, paths: [/3303/0/5700]}\n"
          "objects:\n"
          "  3303:\n"
          "    0:\n"
          "      5700: 21.5\n");
    write("bad.yaml",
          "name: bad\n"
          "descripton: typo\n");
    std::string ids = "endpoint,psk_identity,psk_key\n";
    for (int i = 0; i < 12; ++i) {
      ids += "dev-" + std::to_string(i) + ",id-" + std::to_string(i) + ",00ff0" +
             std::to_string(i % 10) + "\n";
    }
    write("ids.csv", ids);
    write("two.csv", "endpoint\nx-1\nx-2\n");
    write("header.csv", "name,key\nx-1,00\n");
    write("badkey.csv", "endpoint,psk_identity,psk_key\nx-1,i-1,0a0b\nx-2,i-2,xyz\n");
  }
  ~Fixtures() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  Fixtures(const Fixtures&) = delete;
  Fixtures& operator=(const Fixtures&) = delete;

  std::string dir() const { return dir_.string(); }

 private:
  void write(const std::string& name, std::string_view text) const {
    std::ofstream out(dir_ / name, std::ios::binary);
    out << text;
  }

  fs::path dir_;
};

const Fixtures& fixtures() {
  static const Fixtures f;
  return f;
}

std::string load(std::string_view yaml, ScenarioPlan* out) {
  return load_scenario_text(yaml, "s.yaml", fixtures().dir(), builtin(), out);
}

std::string errors_of(std::string_view yaml) {
  ScenarioPlan plan;
  return load(yaml, &plan);
}

// --- A complete scenario ------------------------------------------------------------------------

constexpr std::string_view kFull = R"(name: full
description: Every key of the format.
seed: 42
target:
  server: builtin
  builtin:
    threads: 2
    read_rate: 50
    read_paths: [/3/0/0, /3303/0/5700]
    observe_fraction: 10%
    observe_path: /3303/0/5700
    observe_attributes: "pmin=1&pmax=30"
    exercise: 0.5
    exercise_rate: 100
devices: 20
groups:
  - name: sensors
    profile: p.yaml
    count: 5
    endpoint: "sensor-%06d"
    lwm2m_version: "1.2"
    binding: UQ
    lifetime: 5m
    content_formats: [112, 11542]
    behaviours:
      report: {every: 60s, jitter: 5s, via: notify}
      update: {every: 4m}
      queue_mode: {sleep: 2m, awake: 30s}
      reboot: {every: 6h, downtime: 30s}
    faults:
      - {start: 10s, end: 20s, loss: {up: 10%, down: 30%}}
  - name: senders
    profile: sender.yaml
    weight: 3
    identities: ids.csv
    behaviours:
      report: {every: 30s, via: send}
  - name: meters
    profile: p.yaml
    weight: 1
    behaviours:
      report: {every: 1m, via: send, paths: [/3303/0/5700]}
phases:
  - {ramp: {to: 5, over: 10s}}
  - {type: ramp, from: 5, to: 16, duration: 20s, name: warm-up, groups: [sensors, senders]}
  - {hold: 30s}
  - {type: hold, duration: 1m}
  - {type: arrival_rate, rate: 2, duration: 2s, groups: [meters]}
  - {type: churn, per_minute: 5%, duration: 2m}
  - {type: stop, rate: 10}
faults:
  - start: 1m
    end: 2m
    groups: [sensors]
    loss: 20%
    latency: {distribution: normal, mean: 200ms, stddev: 50ms}
    duplicate: 1%
    reorder: {fraction: 1%, delay: 50ms}
    nat_rebind: 5m
  - {latency: 100ms}
  - {latency: {distribution: uniform, min: 10ms, max: 20ms}}
  - {latency: {distribution: exponential, mean: 30ms}}
  - power_outage: {at: 2m, window: 30s}
    groups: [meters]
thresholds:
  - "registration_latency.p99 < 200ms"
  - {threshold: "errors.rate < 0.1%", abort_on_fail: true}
)";

TEST(ScenarioLoader, FullScenarioLoadsEveryKey) {
  ScenarioPlan plan;
  ASSERT_EQ(load(kFull, &plan), "");
  EXPECT_EQ(plan.name, "full");
  EXPECT_EQ(plan.description, "Every key of the format.");
  EXPECT_EQ(plan.source, "s.yaml");
  EXPECT_EQ(plan.seed, 42u);
  EXPECT_EQ(plan.server_uri, "");
  EXPECT_EQ(plan.builtin.threads, 2u);
  EXPECT_EQ(plan.builtin.read_rate, 50);
  EXPECT_EQ(plan.builtin.read_paths,
            (std::vector<Lwm2mPath>{Lwm2mPath{3, 0, 0}, Lwm2mPath{3303, 0, 5700}}));
  EXPECT_DOUBLE_EQ(plan.builtin.observe_fraction, 0.1);
  EXPECT_EQ(plan.builtin.observe_path, (Lwm2mPath{3303, 0, 5700}));
  EXPECT_EQ(plan.builtin.observe_attributes, "pmin=1&pmax=30");
  EXPECT_EQ(plan.builtin.exercise_fraction, 0.5);
  EXPECT_EQ(plan.builtin.exercise_rate, 100);
  EXPECT_EQ(plan.devices, 20u);

  ASSERT_EQ(plan.groups.size(), 3u);
  const GroupPlan& sensors = plan.groups[0];
  EXPECT_EQ(sensors.name, "sensors");
  EXPECT_EQ(sensors.line, 17);
  EXPECT_EQ(sensors.profile_path, "p.yaml");
  ASSERT_NE(sensors.profile, nullptr);
  EXPECT_EQ(sensors.profile->name(), "p");
  EXPECT_EQ(sensors.count, 5u);
  EXPECT_EQ(sensors.weight, 0);
  EXPECT_EQ(sensors.endpoint_pattern, "sensor-%06d");
  EXPECT_TRUE(sensors.identities_path.empty());
  EXPECT_EQ(sensors.version, Lwm2mVersion::k1_2);
  EXPECT_EQ(sensors.binding, "UQ");
  EXPECT_EQ(sensors.lifetime_s, 300u);
  EXPECT_EQ(sensors.content_formats, (std::vector<uint16_t>{112, 11542}));
  EXPECT_EQ(sensors.report.period, 60 * kUsPerSec);
  EXPECT_EQ(sensors.report.jitter, 5 * kUsPerSec);
  EXPECT_FALSE(sensors.report.via_send);
  EXPECT_TRUE(sensors.report.paths.empty());
  EXPECT_EQ(sensors.update_every, 240 * kUsPerSec);
  EXPECT_EQ(sensors.queue_mode.sleep, 120 * kUsPerSec);
  EXPECT_EQ(sensors.queue_mode.awake, 30 * kUsPerSec);
  EXPECT_EQ(sensors.reboot.every, 6 * 3600 * kUsPerSec);
  EXPECT_EQ(sensors.reboot.downtime, 30 * kUsPerSec);
  ASSERT_EQ(sensors.faults.size(), 1u);
  EXPECT_EQ(sensors.faults[0].window.start, 10 * kUsPerSec);
  EXPECT_EQ(sensors.faults[0].window.end, 20 * kUsPerSec);
  EXPECT_DOUBLE_EQ(sensors.faults[0].loss_up, 0.1);
  EXPECT_DOUBLE_EQ(sensors.faults[0].loss_down, 0.3);
  EXPECT_EQ(sensors.faults[0].line, 31);

  // 20 devices, 5 counted: weights 3 and 1 share 15 as 11.25 and 3.75, the larger remainder
  // taking the last device.
  const GroupPlan& senders = plan.groups[1];
  EXPECT_EQ(senders.weight, 3);
  EXPECT_EQ(senders.count, 11u);
  EXPECT_EQ(senders.identities_path, "ids.csv");
  EXPECT_TRUE(senders.endpoint_pattern.empty());
  ASSERT_EQ(senders.endpoints.size(), 12u);
  EXPECT_EQ(senders.endpoints[3], "dev-3");
  ASSERT_EQ(senders.psk_identities.size(), 12u);
  EXPECT_EQ(senders.psk_identities[3], "id-3");
  ASSERT_EQ(senders.psk_keys.size(), 12u);
  EXPECT_EQ(senders.psk_keys[3], (std::vector<uint8_t>{0x00, 0xff, 0x03}));
  EXPECT_EQ(senders.version, Lwm2mVersion::k1_1);
  EXPECT_EQ(senders.binding, "U");
  EXPECT_TRUE(senders.report.via_send);
  EXPECT_EQ(senders.report.period, 30 * kUsPerSec);
  // The profile's send.paths, as the behaviour names none.
  EXPECT_EQ(senders.report.paths, (std::vector<Lwm2mPath>{Lwm2mPath{3303, 0, 5700}}));
  const GroupPlan& meters = plan.groups[2];
  EXPECT_EQ(meters.count, 4u);
  EXPECT_EQ(meters.endpoint_pattern, "meters-%06d");
  EXPECT_EQ(meters.report.paths, (std::vector<Lwm2mPath>{Lwm2mPath{3303, 0, 5700}}));
  EXPECT_EQ(plan.total_devices(), 20u);

  ASSERT_EQ(plan.phases.size(), 7u);
  EXPECT_EQ(plan.phases[0].kind, PhaseKind::kRamp);
  EXPECT_EQ(plan.phases[0].from, 0u);
  EXPECT_EQ(plan.phases[0].to, 5u);
  EXPECT_EQ(plan.phases[0].duration, 10 * kUsPerSec);
  EXPECT_TRUE(plan.phases[0].groups.empty());
  EXPECT_EQ(plan.phases[0].line, 44);
  EXPECT_EQ(plan.phases[1].kind, PhaseKind::kRamp);
  EXPECT_EQ(plan.phases[1].name, "warm-up");
  EXPECT_EQ(plan.phases[1].from, 5u);
  EXPECT_EQ(plan.phases[1].to, 16u);
  EXPECT_EQ(plan.phases[1].groups, (std::vector<std::string>{"sensors", "senders"}));
  EXPECT_EQ(plan.phases[2].kind, PhaseKind::kHold);
  EXPECT_EQ(plan.phases[2].duration, 30 * kUsPerSec);
  EXPECT_EQ(plan.phases[3].kind, PhaseKind::kHold);
  EXPECT_EQ(plan.phases[3].duration, 60 * kUsPerSec);
  EXPECT_EQ(plan.phases[4].kind, PhaseKind::kArrivalRate);
  EXPECT_EQ(plan.phases[4].rate, 2);
  EXPECT_EQ(plan.phases[4].groups, (std::vector<std::string>{"meters"}));
  EXPECT_EQ(plan.phases[5].kind, PhaseKind::kChurn);
  EXPECT_DOUBLE_EQ(plan.phases[5].churn_per_minute, 0.05);
  EXPECT_EQ(plan.phases[5].duration, 120 * kUsPerSec);
  EXPECT_EQ(plan.phases[6].kind, PhaseKind::kStop);
  EXPECT_EQ(plan.phases[6].rate, 10);
  EXPECT_EQ(plan.phases[6].duration, 0u);
  EXPECT_EQ(plan.duration(), 242 * kUsPerSec);

  ASSERT_EQ(plan.faults.size(), 5u);
  const FaultPlan& f = plan.faults[0];
  EXPECT_EQ(f.line, 52);
  EXPECT_EQ(f.window.start, 60 * kUsPerSec);
  EXPECT_EQ(f.window.end, 120 * kUsPerSec);
  EXPECT_EQ(f.groups, (std::vector<std::string>{"sensors"}));
  EXPECT_DOUBLE_EQ(f.loss_up, 0.2);
  EXPECT_DOUBLE_EQ(f.loss_down, 0.2);
  ASSERT_TRUE(f.latency.has_value());
  EXPECT_EQ(f.latency->kind, Distribution::Kind::kNormal);
  EXPECT_EQ(f.latency->a, 200 * kUsPerMs);
  EXPECT_EQ(f.latency->b, 50 * kUsPerMs);
  EXPECT_DOUBLE_EQ(f.duplicate, 0.01);
  EXPECT_DOUBLE_EQ(f.reorder, 0.01);
  EXPECT_EQ(f.reorder_delay, 50 * kUsPerMs);
  EXPECT_EQ(f.nat_rebind_every, 300 * kUsPerSec);
  EXPECT_FALSE(f.power_outage_at.has_value());
  ASSERT_TRUE(plan.faults[1].latency.has_value());
  EXPECT_EQ(plan.faults[1].latency->kind, Distribution::Kind::kFixed);
  EXPECT_EQ(plan.faults[1].latency->a, 100 * kUsPerMs);
  EXPECT_EQ(plan.faults[1].window.end, 0u);
  EXPECT_TRUE(plan.faults[1].window.contains(1000 * kUsPerSec));
  ASSERT_TRUE(plan.faults[2].latency.has_value());
  EXPECT_EQ(plan.faults[2].latency->kind, Distribution::Kind::kUniform);
  EXPECT_EQ(plan.faults[2].latency->a, 10 * kUsPerMs);
  EXPECT_EQ(plan.faults[2].latency->b, 20 * kUsPerMs);
  ASSERT_TRUE(plan.faults[3].latency.has_value());
  EXPECT_EQ(plan.faults[3].latency->kind, Distribution::Kind::kExponential);
  EXPECT_EQ(plan.faults[3].latency->a, 30 * kUsPerMs);
  const FaultPlan& outage = plan.faults[4];
  ASSERT_TRUE(outage.power_outage_at.has_value());
  EXPECT_EQ(*outage.power_outage_at, 120 * kUsPerSec);
  EXPECT_EQ(outage.power_outage_window, 30 * kUsPerSec);
  EXPECT_EQ(outage.groups, (std::vector<std::string>{"meters"}));
  EXPECT_EQ(outage.loss_up, 0);
  EXPECT_FALSE(outage.latency.has_value());

  ASSERT_EQ(plan.thresholds.size(), 2u);
  EXPECT_EQ(plan.thresholds[0].metric, "registration_latency");
  EXPECT_EQ(plan.thresholds[0].field, "p99");
  EXPECT_EQ(plan.thresholds[0].value, 200000);
  EXPECT_FALSE(plan.thresholds[0].abort_on_fail);
  EXPECT_EQ(plan.thresholds[1].metric, "errors");
  EXPECT_DOUBLE_EQ(plan.thresholds[1].value, 0.001);
  EXPECT_TRUE(plan.thresholds[1].abort_on_fail);
}

TEST(ScenarioLoader, DefaultsOfAMinimalScenario) {
  ScenarioPlan plan;
  ASSERT_EQ(load("name: m\n"
                 "groups: [{name: a, profile: p.yaml, count: 3}]\n"
                 "phases: [{ramp: {to: 3, over: 1m30s}}, {hold: 90}, stop]\n",
                 &plan),
            "");
  EXPECT_EQ(plan.seed, 1u);
  EXPECT_EQ(plan.server_uri, "");
  EXPECT_EQ(plan.builtin.read_rate, 0);
  EXPECT_EQ(plan.builtin.observe_fraction, 0);
  EXPECT_EQ(plan.builtin.exercise_fraction, 0);
  EXPECT_EQ(plan.devices, 0u);
  ASSERT_EQ(plan.groups.size(), 1u);
  EXPECT_EQ(plan.groups[0].endpoint_pattern, "a-%06d");
  EXPECT_EQ(plan.groups[0].version, Lwm2mVersion::k1_1);
  EXPECT_EQ(plan.groups[0].binding, "U");
  EXPECT_EQ(plan.groups[0].lifetime_s, 300u);  // the profile's /1/0/1 default
  EXPECT_EQ(plan.groups[0].report.period, 0u);
  EXPECT_EQ(plan.groups[0].queue_mode.sleep, 0u);
  EXPECT_EQ(plan.groups[0].reboot.every, 0u);
  EXPECT_TRUE(plan.faults.empty());
  EXPECT_TRUE(plan.thresholds.empty());
  ASSERT_EQ(plan.phases.size(), 3u);
  EXPECT_EQ(plan.phases[1].duration, 90 * kUsPerSec);
  EXPECT_EQ(plan.phases[2].kind, PhaseKind::kStop);
  EXPECT_EQ(plan.duration(), 180 * kUsPerSec);
  EXPECT_EQ(plan.total_devices(), 3u);
}

TEST(ScenarioLoader, ExternalServerAndBehaviourDefaults) {
  ScenarioPlan plan;
  ASSERT_EQ(load("name: x\n"
                 "target: {server: coaps://lwm2m.example.com:5684}\n"
                 "dtls: {psk_id: \"dev-%d\", psk_key: \"00112233\"}\n"
                 "groups:\n"
                 "  - name: a\n"
                 "    profile: p.yaml\n"
                 "    count: 2\n"
                 "    binding: UQ\n"
                 "    behaviours: {queue_mode: {sleep: 1m}, reboot: {every: 1h}}\n"
                 "phases: [{type: ramp, to: 2, over: 5s}]\n",
                 &plan),
            "");
  EXPECT_EQ(plan.server_uri, "coaps://lwm2m.example.com:5684");
  EXPECT_EQ(plan.groups[0].queue_mode.awake, 93 * kUsPerSec);
  EXPECT_EQ(plan.groups[0].reboot.downtime, 5 * kUsPerSec);
  EXPECT_EQ(plan.phases[0].duration, 5 * kUsPerSec);
}

TEST(ScenarioLoader, RampFromDefaultsToWhatThePhasesBeforeLeave) {
  ScenarioPlan plan;
  ASSERT_EQ(load("name: x\n"
                 "groups:\n"
                 "  - {name: a, profile: p.yaml, count: 10}\n"
                 "  - {name: b, profile: p.yaml, count: 10}\n"
                 "phases:\n"
                 "  - {ramp: {to: 15, over: 10s}}\n"                     // a: 10, b: 5
                 "  - {ramp: {groups: [b], to: 2, over: 10s}}\n"         // from 5
                 "  - {type: arrival_rate, rate: 1.5, duration: 10s}\n"  // 12 + 15 -> 20
                 "  - {ramp: {to: 0, over: 10s}}\n",                     // from 20
                 &plan),
            "");
  EXPECT_EQ(plan.phases[1].from, 5u);
  EXPECT_EQ(plan.phases[3].from, 20u);
}

TEST(ScenarioLoader, WeightsShareTheDevicesExactly) {
  ScenarioPlan plan;
  ASSERT_EQ(load("name: x\n"
                 "devices: 10\n"
                 "groups:\n"
                 "  - {name: a, profile: p.yaml, weight: 1}\n"
                 "  - {name: b, profile: p.yaml, weight: 1}\n"
                 "  - {name: c, profile: p.yaml, weight: 1}\n"
                 "phases: [{hold: 1s}]\n",
                 &plan),
            "");
  EXPECT_EQ(plan.groups[0].count, 4u);
  EXPECT_EQ(plan.groups[1].count, 3u);
  EXPECT_EQ(plan.groups[2].count, 3u);
  EXPECT_EQ(plan.total_devices(), 10u);
}

TEST(ScenarioLoader, GroupsSharingAProfileShareOneInstance) {
  ScenarioPlan plan;
  ASSERT_EQ(load("name: x\n"
                 "groups:\n"
                 "  - {name: a, profile: p.yaml, count: 1}\n"
                 "  - {name: b, profile: ./p.yaml, count: 1}\n"
                 "phases: [{hold: 1s}]\n",
                 &plan),
            "");
  EXPECT_EQ(plan.groups[0].profile, plan.groups[1].profile);
}

TEST(ScenarioLoader, AProfileWithErrorsIsListedOnce) {
  const std::string errors = errors_of(
      "name: x\n"
      "groups: [{name: a, profile: bad.yaml, count: 1}, {name: b, profile: bad.yaml, count: 1}]\n"
      "phases: [{hold: 1s}]\n");
  EXPECT_EQ(errors, "s.yaml:2:29: groups.0.profile: profile bad.yaml has errors:\n" +
                        fixtures().dir() +
                        "/bad.yaml:2:1: descripton: unknown key (expected one of: name, "
                        "description, device, registration, send, objects)\n"
                        "s.yaml:2:69: groups.1.profile: profile bad.yaml has errors (listed at "
                        "groups.0.profile)");
}

TEST(ScenarioLoader, ScenariosSharingACacheShareItsProfiles) {
  ProfileCache cache;
  const std::string yaml =
      "name: x\ngroups: [{name: a, profile: p.yaml, count: 1}]\nphases: [{hold: 1s}]\n";
  ScenarioPlan first;
  ScenarioPlan second;
  ASSERT_EQ(load_scenario_text(yaml, "a.yaml", fixtures().dir(), builtin(), &first, &cache), "");
  ASSERT_EQ(load_scenario_text(yaml, "b.yaml", fixtures().dir(), builtin(), &second, &cache), "");
  EXPECT_EQ(first.groups[0].profile, second.groups[0].profile);

  // Without a cache each load reads the file again.
  ScenarioPlan alone;
  ASSERT_EQ(load(yaml, &alone), "");
  EXPECT_NE(alone.groups[0].profile, first.groups[0].profile);

  // A cached profile with errors is reported in full by every scenario that names it.
  const std::string bad =
      "name: x\ngroups: [{name: a, profile: bad.yaml, count: 1}]\nphases: [{hold: 1s}]\n";
  for (const char* name : {"c.yaml", "d.yaml"}) {
    ScenarioPlan plan;
    const std::string errors =
        load_scenario_text(bad, name, fixtures().dir(), builtin(), &plan, &cache);
    EXPECT_EQ(errors, std::string(name) +
                          ":2:29: groups.0.profile: profile bad.yaml has errors:\n" +
                          fixtures().dir() +
                          "/bad.yaml:2:1: descripton: unknown key (expected one of: name, "
                          "description, device, registration, send, objects)");
  }
}

// --- Broken snippets ----------------------------------------------------------------------------

struct Broken {
  const char* what;
  const char* yaml;
  const char* error;
};

// Each snippet has exactly one mistake; the loader must report exactly that.
const Broken kBroken[] = {
    {"coaps without credentials",
     "name: x\ntarget: {server: \"coaps://127.0.0.1:5684\"}\n"
     "groups: [{name: a, profile: p.yaml, count: 1}]\nphases: [{hold: 1s}]\n",
     "s.yaml:1:1: dtls: missing: a coaps:// server needs credentials (psk_id with psk_seed or "
     "psk_key, certificate and private_key with ca, or identities files with psk columns)"},
    {"a PSK that is not hex",
     "name: x\ntarget: {builtin: {dtls: true}}\ndtls: {psk_key: xyz}\n"
     "groups: [{name: a, profile: p.yaml, count: 1}]\nphases: [{hold: 1s}]\n",
     "s.yaml:3:17: dtls.psk_key: must be hex digits, an even number of them (3 characters given)"},
    {"credentials without a coaps server",
     "name: x\ndtls: {psk_seed: s}\n"
     "groups: [{name: a, profile: p.yaml, count: 1}]\nphases: [{hold: 1s}]\n",
     "s.yaml:2:1: dtls: no server is coaps:// (set target.server to coaps://..., or "
     "target.builtin.dtls: true)"},
    {"unknown top-level key",
     "name: x\nphase: []\ngroups: [{name: a, profile: p.yaml, count: 1}]\nphases: [{hold: 1s}]\n",
     "s.yaml:2:1: phase: unknown key (expected one of: name, description, seed, target, dtls, "
     "devices, "
     "groups, phases, faults, thresholds)"},
    {"unknown key in a group",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1, colour: red}]\nphases: [{hold: 1s}]\n",
     "s.yaml:2:47: groups.0.colour: unknown key (expected one of: name, profile, count, weight, "
     "endpoint, identities, lwm2m_version, binding, lifetime, content_formats, behaviours, "
     "faults)"},
    {"unknown key in a phase",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1}]\n"
     "phases: [{type: hold, duration: 1s, rate: 3}]\n",
     "s.yaml:3:37: phases.0.rate: unknown key (expected one of: type, name, groups, duration)"},
    {"unknown key in a short-form phase",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1}]\n"
     "phases: [{ramp: {to: 1, over: 1s, target: 1}}]\n",
     "s.yaml:3:35: phases.0.ramp.target: unknown key (expected one of: name, groups, from, to, "
     "duration, over)"},
    {"unknown key in a fault",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1}]\nphases: [{hold: 1s}]\n"
     "faults: [{loss: 1%, jitter: 5ms}]\n",
     "s.yaml:4:21: faults.0.jitter: unknown key (expected one of: start, end, groups, loss, "
     "latency, duplicate, reorder, nat_rebind, power_outage, server_outage)"},
    {"groups in a group's fault",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1, faults: [{loss: 1%, groups: [a]}]}]\n"
     "phases: [{hold: 1s}]\n",
     "s.yaml:2:67: groups.0.faults.0.groups: unknown key (expected one of: start, end, loss, "
     "latency, duplicate, reorder, nat_rebind, power_outage)"},
    {"unknown key in a behaviour",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1, "
     "behaviours: {update: {every: 1m, at: 1}}}]\nphases: [{hold: 1s}]\n",
     "s.yaml:2:80: groups.0.behaviours.update.at: unknown key (expected one of: every)"},
    {"missing name", "groups: [{name: a, profile: p.yaml, count: 1}]\nphases: [{hold: 1s}]\n",
     "s.yaml:1:1: name: missing (required)"},
    {"missing groups", "name: x\nphases: [{hold: 1s}]\n",
     "s.yaml:1:1: groups: missing (required: at least one group of devices)"},
    {"missing phases", "name: x\ngroups: [{name: a, profile: p.yaml, count: 1}]\n",
     "s.yaml:1:1: phases: missing (required: at least one phase)"},
    {"empty phases", "name: x\ngroups: [{name: a, profile: p.yaml, count: 1}]\nphases: []\n",
     "s.yaml:3:9: phases: expected a non-empty list of phases, got an empty list"},
    {"group without a profile", "name: x\ngroups: [{name: a, count: 1}]\nphases: [{hold: 1s}]\n",
     "s.yaml:2:10: groups.0.profile: missing (required)"},
    {"group without a name",
     "name: x\ngroups: [{profile: p.yaml, count: 1}]\nphases: [{hold: 1s}]\n",
     "s.yaml:2:10: groups.0.name: missing (required)"},
    {"neither count nor weight",
     "name: x\ngroups: [{name: a, profile: p.yaml}]\nphases: [{hold: 1s}]\n",
     "s.yaml:2:10: groups.0.count: missing (give count or weight)"},
    {"count and weight both",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1, weight: 2}]\nphases: [{hold: 1s}]\n",
     "s.yaml:2:47: groups.0.weight: not allowed together with count (give exactly one)"},
    {"count of the wrong type",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: ten}]\nphases: [{hold: 1s}]\n",
     "s.yaml:2:44: groups.0.count: expected a whole number, got \"ten\""},
    {"groups of the wrong type", "name: x\ngroups: {name: a}\nphases: [{hold: 1s}]\n",
     "s.yaml:2:9: groups: expected a non-empty list of groups, got a map"},
    {"phase of the wrong type",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1}]\nphases: [42]\n",
     "s.yaml:3:10: phases.0: expected a phase such as {ramp: {to: 1000, over: 30s}} or {type: "
     "hold, duration: 1m}, got \"42\""},
    {"negative duration",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1}]\nphases: [{hold: -30s}]\n",
     "s.yaml:3:17: phases.0.hold: must not be negative, got -30s"},
    {"zero duration",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1}]\n"
     "phases: [{type: hold, duration: 0}]\n",
     "s.yaml:3:33: phases.0.duration: must be above 0"},
    {"not a duration",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1}]\n"
     "phases: [{ramp: {to: 1, over: soon}}]\n",
     "s.yaml:3:31: phases.0.ramp.over: expected a duration (seconds, or e.g. 250ms, 30s, 5m, "
     "1h30m), got \"soon\""},
    {"loss above 100%",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1}]\nphases: [{hold: 1s}]\n"
     "faults: [{loss: 150%}]\n",
     "s.yaml:4:17: faults.0.loss: must be at most 100% (1), got 150%"},
    {"loss fraction above 1",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1}]\nphases: [{hold: 1s}]\n"
     "faults: [{loss: {down: 1.5}}]\n",
     "s.yaml:4:24: faults.0.loss.down: must be at most 100% (1), got 1.5"},
    {"ramp without to",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1}]\nphases: [{ramp: {over: 1s}}]\n",
     "s.yaml:3:17: phases.0.ramp.to: missing (required)"},
    {"ramp without a duration",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1}]\nphases: [{type: ramp, to: 1}]\n",
     "s.yaml:3:10: phases.0.duration: missing (required)"},
    {"ramp above the devices",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 5}]\nphases: [{ramp: {to: 6, over: "
     "1s}}]\n",
     "s.yaml:3:22: phases.0.ramp.to: is 6, above the 5 devices of the scenario"},
    {"ramp above its groups' devices",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 5}, {name: b, profile: p.yaml, count: "
     "5}]\n"
     "phases: [{type: ramp, groups: [b], to: 8, over: 1s}]\n",
     "s.yaml:3:40: phases.0.to: is 8, above the 5 devices of groups b"},
    {"ramp from where the phases before do not leave off",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 5}]\n"
     "phases: [{ramp: {to: 4, over: 1s}}, {ramp: {from: 0, to: 5, over: 1s}}]\n",
     "s.yaml:3:51: phases.1.ramp.from: is 0, but the phases before leave 4 devices of the "
     "scenario registered (omit from to start there)"},
    {"phase after stop",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1}]\nphases: [stop, {hold: 1s}]\n",
     "s.yaml:3:16: phases.1: comes after the stop phase (phases.0); stop must be the last phase"},
    {"unknown phase type",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1}]\nphases: [{type: pause}]\n",
     "s.yaml:3:17: phases.0.type: expected ramp, hold, arrival_rate, churn or stop, got \"pause\""},
    {"arrival rate of 0",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1}]\n"
     "phases: [{type: arrival_rate, rate: 0, duration: 1s}]\n",
     "s.yaml:3:37: phases.0.rate: must be above 0"},
    {"churn of 0",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1}]\n"
     "phases: [{churn: {per_minute: 0%, duration: 1m}}]\n",
     "s.yaml:3:31: phases.0.churn.per_minute: must be above 0"},
    {"churn above 100%",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1}]\n"
     "phases: [{churn: {per_minute: 120%, duration: 1m}}]\n",
     "s.yaml:3:31: phases.0.churn.per_minute: must be at most 100% (1), got 120%"},
    {"unknown group in a phase",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1}]\n"
     "phases: [{type: hold, groups: [a, b], duration: 1s}]\n",
     "s.yaml:3:35: phases.0.groups: unknown group 'b' (groups: a)"},
    {"unknown group in a fault",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1}]\nphases: [{hold: 1s}]\n"
     "faults: [{groups: [c], loss: 1%}]\n",
     "s.yaml:4:20: faults.0.groups: unknown group 'c' (groups: a)"},
    {"bad threshold metric",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1}]\nphases: [{hold: 1s}]\n"
     "thresholds: [\"registration_latncy.p99 < 1s\"]\n",
     "s.yaml:4:14: thresholds.0: threshold 'registration_latncy.p99 < 1s': unknown metric "
     "'registration_latncy' (known: CATALOG)"},
    {"bad threshold field",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1}]\nphases: [{hold: 1s}]\n"
     "thresholds: [{threshold: \"errors.p99 < 1\", abort_on_fail: true}]\n",
     "s.yaml:4:26: thresholds.0.threshold: threshold 'errors.p99 < 1': metric 'errors' has no "
     "field 'p99' (fields: rate, count, total)"},
    {"bad profile path",
     "name: x\ngroups: [{name: a, profile: nope.yaml, count: 1}]\nphases: [{hold: 1s}]\n",
     "s.yaml:2:29: groups.0.profile: cannot read nope.yaml (FIXTURES/nope.yaml): no such file"},
    {"profile with its own error",
     "name: x\ngroups: [{name: a, profile: bad.yaml, count: 1}]\nphases: [{hold: 1s}]\n",
     "s.yaml:2:29: groups.0.profile: profile bad.yaml has errors:\n"
     "FIXTURES/bad.yaml:2:1: descripton: unknown key (expected one of: name, description, "
     "device, registration, send, objects)"},
    {"duplicate group names",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1}, {name: a, profile: p.yaml, count: "
     "1}]\n"
     "phases: [{hold: 1s}]\n",
     "s.yaml:2:55: groups.1.name: 'a' is already the name of groups.0"},
    {"server URI not coap",
     "name: x\ntarget: {server: \"http://192.0.2.10:5683\"}\n"
     "groups: [{name: a, profile: p.yaml, count: 1}]\nphases: [{hold: 1s}]\n",
     "s.yaml:2:18: target.server: expected coap://HOST:PORT, coaps://HOST:PORT or builtin, got "
     "\"http://192.0.2.10:5683\""},
    {"builtin settings with an external server",
     "name: x\ntarget: {server: \"coap://192.0.2.10:5683\", builtin: {read_rate: 5}}\n"
     "groups: [{name: a, profile: p.yaml, count: 1}]\nphases: [{hold: 1s}]\n",
     "s.yaml:2:44: target.builtin: only with the built-in server (target.server is "
     "coap://192.0.2.10:5683)"},
    {"identities CSV with too few rows",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 3, identities: two.csv}]\n"
     "phases: [{hold: 1s}]\n",
     "s.yaml:2:59: groups.0.identities: two.csv has 2 identities, fewer than the group's 3 "
     "devices"},
    {"identities CSV without the header",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1, identities: header.csv}]\n"
     "phases: [{hold: 1s}]\n",
     "s.yaml:2:59: groups.0.identities: header.csv: the first row must be the header endpoint or "
     "endpoint,psk_identity,psk_key"},
    {"endpoint and identities both",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1, endpoint: \"d-%d\", identities: "
     "two.csv}]\nphases: [{hold: 1s}]\n",
     "s.yaml:2:65: groups.0.identities: not allowed together with endpoint (give at most one)"},
    {"queue mode without UQ",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1, "
     "behaviours: {queue_mode: {sleep: 1m}}}]\nphases: [{hold: 1s}]\n",
     "s.yaml:2:60: groups.0.behaviours.queue_mode: needs binding: UQ (the group's binding is U)"},
    {"weight without devices",
     "name: x\ngroups: [{name: a, profile: p.yaml, weight: 1}]\nphases: [{hold: 1s}]\n",
     "s.yaml:2:45: groups.0.weight: needs devices: at the top level (the total the weights "
     "share)"},
    {"devices that disagree with the counts",
     "name: x\ndevices: 10\ngroups: [{name: a, profile: p.yaml, count: 3}]\nphases: [{hold: 1s}]\n",
     "s.yaml:2:10: devices: is 10, but the groups' counts add up to 3 (drop devices or make them "
     "agree)"},
    {"power outage after the end",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1}]\nphases: [{hold: 1m}]\n"
     "faults: [{power_outage: {at: 2m}}]\n",
     "s.yaml:4:30: faults.0.power_outage.at: 2m is not before the end of the phases (1m), so the "
     "power outage would never happen"},
    {"power outage with other effects",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1}]\nphases: [{hold: 1m}]\n"
     "faults: [{power_outage: {at: 2s}, loss: 1%}]\n",
     "s.yaml:4:35: faults.0.loss: not allowed with power_outage (it has its own time; give this "
     "effect a fault item of its own)"},
    {"server outage with an external server",
     "name: x\ntarget: {server: \"coap://127.0.0.1:5683\"}\n"
     "groups: [{name: a, profile: p.yaml, count: 1}]\nphases: [{hold: 1m}]\n"
     "faults: [{server_outage: {at: 10s, duration: 5s}}]\n",
     "s.yaml:5:11: faults.0.server_outage: only with the built-in server (target.server is "
     "coap://127.0.0.1:5683); an external server's outage is yours to cause, and a fault with "
     "loss: 100% imitates its silence"},
    {"server outage with another effect",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1}]\nphases: [{hold: 1m}]\n"
     "faults: [{server_outage: {at: 10s, duration: 5s}, loss: 1%}]\n",
     "s.yaml:4:51: faults.0.loss: not allowed with server_outage (it has its own time and hits "
     "every device; give this effect a fault item of its own)"},
    {"server outage without a duration",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1}]\nphases: [{hold: 1m}]\n"
     "faults: [{server_outage: {at: 10s}}]\n",
     "s.yaml:4:26: faults.0.server_outage.duration: missing (required)"},
    {"fault that ends before it starts",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1}]\nphases: [{hold: 1m}]\n"
     "faults: [{start: 30s, end: 10s, loss: 1%}]\n",
     "s.yaml:4:28: faults.0.end: must be after start (30s)"},
    {"fault without an effect",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1}]\nphases: [{hold: 1m}]\n"
     "faults: [{start: 1s}]\n",
     "s.yaml:4:10: faults.0: no effect (give at least one of loss, latency, duplicate, reorder, "
     "nat_rebind or power_outage)"},
    {"unknown latency distribution",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1}]\nphases: [{hold: 1m}]\n"
     "faults: [{latency: {distribution: pareto, mean: 1s}}]\n",
     "s.yaml:4:35: faults.0.latency.distribution: expected fixed, uniform, normal or exponential, "
     "got \"pareto\""},
    {"normal latency without stddev",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1}]\nphases: [{hold: 1m}]\n"
     "faults: [{latency: {distribution: normal, mean: 1s}}]\n",
     "s.yaml:4:20: faults.0.latency.stddev: missing (required by normal)"},
    {"duplicate above 100%",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1}]\nphases: [{hold: 1m}]\n"
     "faults: [{duplicate: 101%}]\n",
     "s.yaml:4:22: faults.0.duplicate: must be at most 100% (1), got 101%"},
    {"Send with LwM2M 1.0",
     "name: x\ngroups: [{name: a, profile: sender.yaml, count: 1, lwm2m_version: \"1.0\", "
     "behaviours: {report: {every: 1m, via: send}}}]\nphases: [{hold: 1s}]\n",
     "s.yaml:2:112: groups.0.behaviours.report.via: Send needs lwm2m_version 1.1 or 1.2 (the "
     "group registers with 1.0)"},
    {"Send without paths",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1, "
     "behaviours: {report: {every: 1m}}}]\nphases: [{hold: 1s}]\n",
     "s.yaml:2:68: groups.0.behaviours.report.paths: missing (the profile has no send.paths; list "
     "the values to send, e.g. paths: [/3303/0/5700])"},
    {"Send of a path the profile lacks",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1, "
     "behaviours: {report: {every: 1m, paths: [/3303/0/5701]}}}]\nphases: [{hold: 1s}]\n",
     "s.yaml:2:88: groups.0.behaviours.report.paths: /3303/0/5701 is not in profile p"},
    {"jitter above the period",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1, "
     "behaviours: {report: {every: 1m, jitter: 2m, via: notify}}}]\nphases: [{hold: 1s}]\n",
     "s.yaml:2:88: groups.0.behaviours.report.jitter: must not exceed every (1m)"},
    {"Updates less often than the lifetime",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1, lifetime: 60, "
     "behaviours: {update: {every: 2m}}}]\nphases: [{hold: 1s}]\n",
     "s.yaml:2:90: groups.0.behaviours.update.every: must be shorter than the lifetime (1m), or "
     "the registration expires between Updates"},
    {"fractional lifetime",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1, lifetime: 1500ms}]\n"
     "phases: [{hold: 1s}]\n",
     "s.yaml:2:57: groups.0.lifetime: must be whole seconds, got 1500ms"},
    {"unknown LwM2M version",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1, lwm2m_version: \"2.0\"}]\n"
     "phases: [{hold: 1s}]\n",
     "s.yaml:2:62: groups.0.lwm2m_version: expected \"1.0\", \"1.1\" or \"1.2\", got \"2.0\""},
    {"unknown binding",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1, binding: S}]\nphases: [{hold: 1s}]\n",
     "s.yaml:2:56: groups.0.binding: expected U or UQ (queue mode), got \"S\""},
    {"content format the simulator does not speak",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1, content_formats: [50]}]\n"
     "phases: [{hold: 1s}]\n",
     "s.yaml:2:65: groups.0.content_formats: expected content-format numbers this simulator "
     "speaks (0, 40, 42, 110, 112, 11542, 11543, 11544), got \"50\""},
    {"bad endpoint pattern",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1, endpoint: fixed}]\n"
     "phases: [{hold: 1s}]\n",
     "s.yaml:2:57: groups.0.endpoint: endpoint pattern 'fixed' has no %d, so every client would "
     "share one name"},
    {"read path in no group's profile",
     "name: x\ntarget: {builtin: {read_rate: 1, read_paths: [/3304/0/5700]}}\n"
     "groups: [{name: a, profile: p.yaml, count: 1}]\nphases: [{hold: 1s}]\n",
     "s.yaml:2:47: target.builtin.read_paths: /3304/0/5700 is in no group's profile"},
    {"observe attributes that are not Write-Attributes",
     "name: x\ntarget: {builtin: {observe_fraction: 1, observe_attributes: \"pmin=5&pmax=1\"}}\n"
     "groups: [{name: a, profile: p.yaml, count: 1}]\nphases: [{hold: 1s}]\n",
     "s.yaml:2:61: target.builtin.observe_attributes: not a valid Write-Attributes query for "
     "/3/0/13 (e.g. pmin=1&pmax=30; names: pmin, pmax, gt, lt, st, epmin, epmax, edge, con)"},
    {"fault window after the end",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1}]\nphases: [{hold: 1m}]\n"
     "faults: [{start: 1m, loss: 1%}]\n",
     "s.yaml:4:18: faults.0.start: 1m is not before the end of the phases (1m), so the fault "
     "would never happen"},
    {"weight that gives a group nothing",
     "name: x\ndevices: 3\ngroups: [{name: a, profile: p.yaml, weight: 100}, "
     "{name: b, profile: p.yaml, weight: 1}]\nphases: [{hold: 1s}]\n",
     "s.yaml:3:86: groups.1.weight: gives this group none of the 3 devices the weights share"},
    {"identities CSV with a bad key",
     "name: x\ngroups: [{name: a, profile: p.yaml, count: 1, identities: badkey.csv}]\n"
     "phases: [{hold: 1s}]\n",
     "s.yaml:2:59: groups.0.identities: badkey.csv:3: psk_key must be hex digits, an even number "
     "of them"},
    {"duplicate key",
     "name: x\nname: y\ngroups: [{name: a, profile: p.yaml, count: 1}]\nphases: [{hold: 1s}]\n",
     "s.yaml:2:1: name: duplicate key"},
    {"YAML syntax error", "name: x\ngroups: [{name: a\n",
     "s.yaml:3:1: yaml: end of map flow not found"},
};

std::string expected_error(const Broken& b) {
  std::string text = b.error;
  const std::string dir = fixtures().dir();
  for (size_t at = text.find("FIXTURES"); at != std::string::npos; at = text.find("FIXTURES")) {
    text.replace(at, 8, dir);
  }
  if (const size_t at = text.find("CATALOG"); at != std::string::npos) {
    std::string names;
    for (const Summary::CatalogEntry& e : Summary::catalog()) {
      names += names.empty() ? "" : ", ";
      names += e.name;
    }
    text.replace(at, 7, names);
  }
  return text;
}

TEST(ScenarioLoader, EachBrokenSnippetReportsExactlyItsError) {
  static_assert(std::size(kBroken) >= 30);
  for (const Broken& b : kBroken) {
    SCOPED_TRACE(b.what);
    EXPECT_EQ(errors_of(b.yaml), expected_error(b));
  }
}

TEST(ScenarioLoader, ReportsEveryErrorAtOnceInLineOrder) {
  const std::string errors = errors_of(
      "name: x\n"
      "faults: [{loss: 200%}]\n"
      "groups:\n"
      "  - {name: a, profile: p.yaml, count: 0}\n"
      "  - {name: b, profile: p.yaml, count: 2, binding: X}\n"
      "phases:\n"
      "  - {type: hold}\n"
      "  - {churn: {per_minute: 5%}}\n"
      "thresholds: [\"errors.rate <\"]\n"
      "extra: 1\n");
  EXPECT_EQ(errors,
            "s.yaml:2:17: faults.0.loss: must be at most 100% (1), got 200%\n"
            "s.yaml:4:39: groups.0.count: must be above 0\n"
            "s.yaml:5:51: groups.1.binding: expected U or UQ (queue mode), got \"X\"\n"
            "s.yaml:7:5: phases.0.duration: missing (required)\n"
            "s.yaml:8:13: phases.1.churn.duration: missing (required)\n"
            "s.yaml:9:14: thresholds.0: threshold 'errors.rate <': '' is not a number\n"
            "s.yaml:10:1: extra: unknown key (expected one of: name, description, seed, target, "
            "dtls, devices, groups, phases, faults, thresholds)");
}

TEST(ScenarioLoader, LeavesThePlanUntouchedOnError) {
  ScenarioPlan plan;
  plan.name = "before";
  EXPECT_NE(load("name: after\ngroups: []\nphases: [{hold: 1s}]\n", &plan), "");
  EXPECT_EQ(plan.name, "before");
}

TEST(ScenarioLoader, MissingFileIsOneError) {
  ScenarioPlan plan;
  EXPECT_EQ(load_scenario("/nonexistent/s.yaml", builtin(), &plan),
            "/nonexistent/s.yaml:0:0: file: cannot read the scenario");
}

TEST(ScenarioLoader, TellsProfilesFromScenarios) {
  EXPECT_TRUE(is_profile_document("name: p\nobjects: {3303: {0: {5700: 1}}}\n"));
  EXPECT_FALSE(is_profile_document("name: s\ngroups: []\nphases: []\n"));
  EXPECT_FALSE(is_profile_document("name: s\nobjects: {}\ngroups: []\n"));
  EXPECT_FALSE(is_profile_document("name: [\n"));
}

TEST(ScenarioPlanTest, NamesAndDurations) {
  EXPECT_EQ(to_string(PhaseKind::kRamp), "ramp");
  EXPECT_EQ(to_string(PhaseKind::kHold), "hold");
  EXPECT_EQ(to_string(PhaseKind::kArrivalRate), "arrival_rate");
  EXPECT_EQ(to_string(PhaseKind::kChurn), "churn");
  EXPECT_EQ(to_string(PhaseKind::kStop), "stop");
  EXPECT_EQ(format_file_duration(0), "0s");
  EXPECT_EQ(format_file_duration(250 * kUsPerMs), "250ms");
  EXPECT_EQ(format_file_duration(90 * kUsPerSec), "1m30s");
  EXPECT_EQ(format_file_duration(3600 * kUsPerSec), "1h");
  EXPECT_EQ(format_file_duration(1500), "1500us");
}

// --- Shipped scenarios --------------------------------------------------------------------------

constexpr const char* kShipped[] = {
    "smoke.yaml",
    "registration-storm.yaml",
    "steady-telemetry.yaml",
    "observe-flood.yaml",
    "flaky-cellular.yaml",
    "sleepy-devices.yaml",
    "churn.yaml",
    "firmware-campaign.yaml",
    "server-restart.yaml",
    "dtls-handshake-storm.yaml",
};

TEST(ShippedScenarios, EveryFileInScenariosDirIsListedHere) {
  std::set<std::string> on_disk;
  for (const fs::directory_entry& e : fs::directory_iterator(kScenarios)) {
    if (e.path().extension() == ".yaml") {
      on_disk.insert(e.path().filename().string());
    }
  }
  EXPECT_EQ(on_disk, std::set<std::string>(std::begin(kShipped), std::end(kShipped)));
}

TEST(ShippedScenarios, ValidateAgainstTheBuiltinRegistry) {
  for (const fs::directory_entry& e : fs::directory_iterator(kScenarios)) {
    if (e.path().extension() != ".yaml") {
      continue;
    }
    SCOPED_TRACE(e.path().filename().string());
    ScenarioPlan plan;
    ASSERT_EQ(load_scenario(e.path().string(), builtin(), &plan), "");
    EXPECT_EQ(plan.name + ".yaml", e.path().filename().string());
    // Modest enough for a 2-core machine.
    EXPECT_LE(plan.total_devices(), 20000u);
    EXPECT_LE(plan.duration(), 3 * 60 * kUsPerSec);
    EXPECT_FALSE(plan.thresholds.empty());
    // Each opens with a comment saying what it reproduces.
    std::ifstream in(e.path());
    std::string first;
    std::getline(in, first);
    EXPECT_TRUE(first.starts_with("# ")) << first;
  }
}

TEST(ShippedScenarios, SmokeIsTheReadmeDemo) {
  ScenarioPlan plan;
  ASSERT_EQ(load_scenario((kScenarios / "smoke.yaml").string(), builtin(), &plan), "");
  EXPECT_TRUE(plan.server_uri.empty());
  ASSERT_EQ(plan.groups.size(), 1u);
  EXPECT_EQ(plan.groups[0].count, 1000u);
  EXPECT_EQ(plan.groups[0].profile->name(), "temperature-sensor");
  ASSERT_EQ(plan.phases.size(), 3u);
  EXPECT_EQ(plan.phases[0].kind, PhaseKind::kRamp);
  EXPECT_EQ(plan.phases[0].to, 1000u);
  EXPECT_EQ(plan.phases[0].duration, 30 * kUsPerSec);
  EXPECT_EQ(plan.phases[1].kind, PhaseKind::kHold);
  EXPECT_EQ(plan.phases[2].kind, PhaseKind::kStop);
}

}  // namespace
}  // namespace lwm2msim

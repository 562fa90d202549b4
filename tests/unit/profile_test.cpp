#include "sim/profile/profile.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "sim/lwm2m/lwm2m.h"
#include "sim/model/object_definition.h"

#ifndef LWM2MSIM_PROFILES_DIR
#error "LWM2MSIM_PROFILES_DIR must name the repository's profiles/ (see tests/CMakeLists.txt)"
#endif

namespace lwm2msim {
namespace {

namespace fs = std::filesystem;

const fs::path kProfiles = LWM2MSIM_PROFILES_DIR;

const ObjectRegistry& builtin() {
  static const ObjectRegistry registry = ObjectRegistry::builtin();
  return registry;
}

// A directory of its own under the system temp dir, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("lwm2msim-profile-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }
  void write(const std::string& name, std::string_view text) const {
    std::ofstream out(path_ / name, std::ios::binary);
    out << text;
  }

 private:
  fs::path path_;
};

std::string load_text(std::string_view yaml, Profile* out, const std::string& base_dir = ".") {
  return load_profile_text(yaml, "t.yaml", base_dir, builtin(), out);
}

std::string errors_of(std::string_view yaml, const std::string& base_dir = ".") {
  Profile p;
  return load_text(yaml, &p, base_dir);
}

const ProfileResource& at(const Profile& p, Lwm2mPath path) {
  const ProfileResource* r = p.find(path);
  EXPECT_NE(r, nullptr) << path.to_string();
  static const ResourceDefinition kNoDefinition;
  static const ProfileResource kMissing{{}, &kNoDefinition, {}};
  return r != nullptr ? *r : kMissing;
}

Value value_at(const Profile& p, Lwm2mPath path, uint64_t client = 0, TimeUs t = 0) {
  const ProfileResource* r = p.find(path);
  if (r == nullptr) {
    ADD_FAILURE() << "no resource " << path.to_string();
    return {};
  }
  return p.value(*r, {1, client, t, 0});
}

// --- Shipped profiles ---------------------------------------------------------------------------

struct Shipped {
  const char* file;
  size_t registration_instances;
  size_t state_bytes;
};

// Every generator is a pure function of (seed, client, time), so no shipped profile needs
// per-client state; a change that adds some shows up here.
constexpr Shipped kShipped[] = {
    {"temperature-sensor.yaml", 4, 0},  // /1/0 /3/0 /4/0 /3303/0
    {"energy-meter.yaml", 4, 0},        // /1/0 /3/0 /4/0 /3331/0
    {"asset-tracker.yaml", 5, 0},       // /1/0 /3/0 /4/0 /5/0 /6/0
    {"street-light.yaml", 6, 0},        // /1/0 /3/0 /4/0 /5/0 /3311/0 /3342/0
    {"gateway.yaml", 37, 0},            // /1/0 /3/0 /4/0 /5/0 /7/0, 16 + 8 + 8 sensors
};

TEST(ShippedProfiles, EveryFileInProfilesDirIsListedHere) {
  std::set<std::string> on_disk;
  for (const fs::directory_entry& e : fs::directory_iterator(kProfiles)) {
    if (e.path().extension() == ".yaml") {
      on_disk.insert(e.path().filename().string());
    }
  }
  std::set<std::string> listed;
  for (const Shipped& s : kShipped) {
    listed.insert(s.file);
  }
  EXPECT_EQ(on_disk, listed);
}

TEST(ShippedProfiles, LoadWithoutErrorsAgainstBuiltinRegistry) {
  for (const Shipped& s : kShipped) {
    SCOPED_TRACE(s.file);
    Profile p;
    const std::string path = (kProfiles / s.file).string();
    ASSERT_EQ(load_profile(path, builtin(), &p), "");
    EXPECT_EQ(p.name(), fs::path(s.file).stem().string());
    EXPECT_FALSE(p.description().empty());
    EXPECT_EQ(p.source(), path);
    EXPECT_EQ(p.registration_instances().size(), s.registration_instances);
    EXPECT_EQ(p.per_client_state_bytes(), s.state_bytes);
    ::testing::Test::RecordProperty(std::string("per_client_state_bytes.") + p.name(),
                                    static_cast<int>(p.per_client_state_bytes()));
    // Security, Server and Device are always there; Security is never announced.
    EXPECT_NE(p.find_instance(0, 0), nullptr);
    EXPECT_NE(p.find_instance(1, 0), nullptr);
    EXPECT_NE(p.find_instance(3, 0), nullptr);
    EXPECT_EQ(p.registration_instances().front(), (Lwm2mPath{1, 0}));
    EXPECT_TRUE(p.registration_links(p.registration_instances())
                    .starts_with("</>;rt=\"oma.lwm2m\",</1/0>,</3/0>,</4/0>"));
  }
}

// Every readable resource of every shipped profile yields a value of the resource's type, within
// its range, for a few clients over a simulated week.
TEST(ShippedProfiles, ValuesHaveTheResourceTypeAndRange) {
  for (const Shipped& s : kShipped) {
    SCOPED_TRACE(s.file);
    Profile p;
    ASSERT_EQ(load_profile((kProfiles / s.file).string(), builtin(), &p), "");
    for (const ProfileResource& r : p.resources()) {
      SCOPED_TRACE(r.path.to_string());
      ASSERT_NE(r.definition, nullptr);
      for (uint64_t client : {0u, 1u, 977u}) {
        for (TimeUs t = 0; t < 7 * 86400 * kUsPerSec; t += 7919 * kUsPerSec) {
          const Value v = p.value(r, {42, client, t, 1'700'000'000});
          if (r.is_executable()) {
            EXPECT_EQ(v.index(), 0u);
            continue;
          }
          ASSERT_EQ(type_of(v), r.definition->type);
          double x = 0;
          if (const auto* i = std::get_if<int64_t>(&v)) {
            x = static_cast<double>(*i);
          } else if (const auto* d = std::get_if<double>(&v)) {
            x = *d;
          } else {
            continue;
          }
          if (r.definition->min) {
            EXPECT_GE(x, *r.definition->min);
          }
          if (r.definition->max) {
            EXPECT_LE(x, *r.definition->max);
          }
        }
      }
    }
  }
}

TEST(ShippedProfiles, TemperatureSensorValues) {
  Profile p;
  ASSERT_EQ(load_profile((kProfiles / "temperature-sensor.yaml").string(), builtin(), &p), "");
  EXPECT_EQ(value_at(p, {3, 0, 0}), Value(std::string("Acme Sensors")));
  EXPECT_EQ(value_at(p, {3, 0, 2}, 42), Value(std::string("TS210-00000042")));
  EXPECT_EQ(value_at(p, {3, 0, 6, 0}), Value(int64_t{1}));
  // Battery: per-device start in [60, 100], 1 % down per 8 h, never below 0.
  const Value start = value_at(p, {3, 0, 9}, 5, 0);
  ASSERT_TRUE(std::holds_alternative<int64_t>(start));
  EXPECT_GE(std::get<int64_t>(start), 60);
  EXPECT_EQ(value_at(p, {3, 0, 9}, 5, 8 * 3600 * kUsPerSec), Value(std::get<int64_t>(start) - 1));
  EXPECT_EQ(value_at(p, {3, 0, 9}, 5, 40 * 86400 * kUsPerSec), Value(int64_t{0}));
  // Temperature: within mean +- (amplitude + noise bound).
  for (TimeUs t = 0; t < 86400 * kUsPerSec; t += 600 * kUsPerSec) {
    const Value v = value_at(p, {3303, 0, 5700}, 3, t);
    ASSERT_TRUE(std::holds_alternative<double>(v));
    EXPECT_GT(std::get<double>(v), 18 - 4 - 1.1);
    EXPECT_LT(std::get<double>(v), 24 + 4 + 1.1);
  }
  EXPECT_EQ(value_at(p, {3303, 0, 5701}), Value(std::string("Cel")));
  EXPECT_TRUE(at(p, {3, 0, 4}).is_executable());
}

TEST(ShippedProfiles, AssetTrackerLatitudeAndLongitudeComeFromTheSameRow) {
  Profile p;
  ASSERT_EQ(load_profile((kProfiles / "asset-tracker.yaml").string(), builtin(), &p), "");
  std::ifstream in(kProfiles / "routes" / "delivery-route.csv");
  std::ostringstream text;
  text << in.rdbuf();
  CsvTable table;
  ASSERT_EQ(parse_csv(text.str(), &table), "");
  std::vector<double> lat;
  std::vector<double> lon;
  ASSERT_EQ(csv_column(table, "latitude", &lat), "");
  ASSERT_EQ(csv_column(table, "longitude", &lon), "");
  EXPECT_GE(lat.size(), 45u);
  std::set<double> first_latitudes;
  for (uint64_t client = 0; client < 20; ++client) {
    for (TimeUs t = 0; t < 3600 * kUsPerSec; t += 250 * kUsPerSec) {
      const double la = std::get<double>(value_at(p, {6, 0, 0}, client, t));
      const double lo = std::get<double>(value_at(p, {6, 0, 1}, client, t));
      bool found = false;
      for (size_t i = 0; i < lat.size(); ++i) {
        found = found || (lat[i] == la && lon[i] == lo);
      }
      EXPECT_TRUE(found) << "client " << client << " t " << t;
    }
    first_latitudes.insert(std::get<double>(value_at(p, {6, 0, 0}, client, 0)));
  }
  // Staggered: the fleet does not start at one point.
  EXPECT_GT(first_latitudes.size(), 10u);
  EXPECT_TRUE(std::holds_alternative<TimeValue>(value_at(p, {6, 0, 5})));
}

TEST(ShippedProfiles, StreetLightFollowsItsSchedule) {
  Profile p;
  ASSERT_EQ(load_profile((kProfiles / "street-light.yaml").string(), builtin(), &p), "");
  const auto hour = [](double h) { return static_cast<TimeUs>(h * 3600) * kUsPerSec; };
  EXPECT_EQ(value_at(p, {3311, 0, 5850}, 0, hour(0)), Value(true));
  EXPECT_EQ(value_at(p, {3311, 0, 5850}, 0, hour(12)), Value(false));
  EXPECT_EQ(value_at(p, {3311, 0, 5850}, 0, hour(20)), Value(true));
  EXPECT_EQ(value_at(p, {3311, 0, 5851}, 0, hour(2)), Value(int64_t{40}));
  EXPECT_EQ(value_at(p, {3311, 0, 5851}, 0, hour(5.5)), Value(int64_t{100}));
  EXPECT_EQ(value_at(p, {3311, 0, 5851}, 0, hour(12)), Value(int64_t{0}));
  EXPECT_EQ(value_at(p, {3311, 0, 5851}, 0, hour(48 + 18)), Value(int64_t{100}));
  // On time counts 60 s a minute while on, nothing while off.
  const auto on_time = [&](double h) {
    return std::get<int64_t>(value_at(p, {3311, 0, 5852}, 9, hour(h)));
  };
  EXPECT_EQ(on_time(2) - on_time(1), 3600);
  EXPECT_EQ(on_time(15) - on_time(8), 0);
  EXPECT_EQ(on_time(24) - on_time(0), 13 * 3600);
  // Two photocell transitions a day.
  const auto transitions = [&](double h) {
    return std::get<int64_t>(value_at(p, {3342, 0, 5501}, 9, hour(h)));
  };
  EXPECT_EQ(transitions(24 * 3) - transitions(0), 6);
  EXPECT_EQ(value_at(p, {3342, 0, 5500}, 0, hour(3)), Value(true));
  EXPECT_TRUE(at(p, {3311, 0, 5851}).definition->operations.write);
}

TEST(ShippedProfiles, GatewayInstancesDrawIndependently) {
  Profile p;
  ASSERT_EQ(load_profile((kProfiles / "gateway.yaml").string(), builtin(), &p), "");
  size_t temperatures = 0;
  for (const ProfileInstance& i : p.instances()) {
    temperatures += i.object == 3303 ? 1 : 0;
  }
  EXPECT_EQ(temperatures, 16u);
  EXPECT_EQ(p.find_instance(3303, 16), nullptr);
  std::set<double> values;
  for (uint16_t i = 0; i < 16; ++i) {
    values.insert(std::get<double>(value_at(p, {3303, i, 5700}, 0, 3600 * kUsPerSec)));
  }
  EXPECT_EQ(values.size(), 16u);
  // Start and Stop of Connectivity Statistics are mandatory executables, added automatically.
  EXPECT_TRUE(at(p, {7, 0, 6}).is_executable());
  EXPECT_TRUE(at(p, {7, 0, 7}).is_executable());
  EXPECT_EQ(value_at(p, {3, 0, 18}), Value(std::string("rev C")));
}

// The annotated example in profiles/README.md is a working profile.
TEST(ShippedProfiles, ReadmeExampleLoads) {
  std::ifstream in(kProfiles / "README.md");
  std::ostringstream text;
  text << in.rdbuf();
  const std::string readme = text.str();
  const size_t begin = readme.find("```yaml\n");
  ASSERT_NE(begin, std::string::npos);
  const size_t end = readme.find("```", begin + 8);
  ASSERT_NE(end, std::string::npos);
  Profile p;
  ASSERT_EQ(load_text(readme.substr(begin + 8, end - begin - 8), &p), "");
  EXPECT_EQ(p.name(), "cold-store-probe");
  EXPECT_EQ(value_at(p, {3, 0, 2}, 3), Value(std::string("CS1-000003")));
  EXPECT_EQ(value_at(p, {3, 0, 7, 2}), Value(int64_t{3600}));
  EXPECT_EQ(value_at(p, {1, 0, 1}), Value(int64_t{60}));
  EXPECT_NE(p.find_instance(3303, 3), nullptr);
  EXPECT_EQ(value_at(p, {3342, 0, 5500}, 0, 7 * 3600 * kUsPerSec + 60 * kUsPerSec), Value(true));
}

// --- Structure and defaults ---------------------------------------------------------------------

TEST(Profile, MinimalProfileGetsSecurityServerAndDevice) {
  Profile p;
  ASSERT_EQ(load_text("name: bare\n", &p), "");
  EXPECT_EQ(p.name(), "bare");
  EXPECT_EQ(p.description(), "");
  ASSERT_EQ(p.instances().size(), 3u);
  EXPECT_EQ(p.registration_links(p.registration_instances()), "</>;rt=\"oma.lwm2m\",</1/0>,</3/0>");
  EXPECT_EQ(value_at(p, {0, 0, 0}), Value(std::string(kServerUriPlaceholder)));
  EXPECT_EQ(value_at(p, {0, 0, 1}), Value(false));
  EXPECT_EQ(value_at(p, {0, 0, 2}), Value(int64_t{3}));
  EXPECT_EQ(value_at(p, {0, 0, 10}), Value(int64_t{1}));
  EXPECT_EQ(value_at(p, {1, 0, 0}), Value(int64_t{1}));
  EXPECT_EQ(value_at(p, {1, 0, 1}), Value(int64_t{300}));
  EXPECT_EQ(value_at(p, {1, 0, 6}), Value(true));
  EXPECT_EQ(value_at(p, {1, 0, 7}), Value(std::string("U")));
  EXPECT_TRUE(at(p, {1, 0, 8}).is_executable());
  EXPECT_EQ(value_at(p, {3, 0, 2}, 12), Value(std::string("SN0000000012")));
  EXPECT_EQ(value_at(p, {3, 0, 11, 0}), Value(int64_t{0}));
  EXPECT_EQ(value_at(p, {3, 0, 13}, 0, 5 * kUsPerSec), Value(TimeValue{5}));
  EXPECT_EQ(value_at(p, {3, 0, 16}), Value(std::string("U")));
  EXPECT_TRUE(at(p, {3, 0, 4}).is_executable());
  EXPECT_EQ(p.per_client_state_bytes(), 0u);
}

TEST(Profile, YamlOverridesDefaultsAndDeviceBlockFillsDevice) {
  Profile p;
  ASSERT_EQ(load_text(R"(name: x
description: demo
device: {manufacturer: ACME, model: M1, serial: "AB%04d", firmware: "9.9"}
objects:
  1:
    0: {1: 60}
  3:
    0:
      0: Override
)",
                      &p),
            "");
  EXPECT_EQ(p.description(), "demo");
  EXPECT_EQ(value_at(p, {1, 0, 1}), Value(int64_t{60}));
  EXPECT_EQ(value_at(p, {1, 0, 7}), Value(std::string("U")));
  EXPECT_EQ(value_at(p, {3, 0, 0}), Value(std::string("Override")));
  EXPECT_EQ(value_at(p, {3, 0, 1}), Value(std::string("M1")));
  EXPECT_EQ(value_at(p, {3, 0, 2}, 7), Value(std::string("AB0007")));
  EXPECT_EQ(value_at(p, {3, 0, 3}), Value(std::string("9.9")));
}

TEST(Profile, LookupsAndMultipleResources) {
  Profile p;
  ASSERT_EQ(load_text(R"(name: x
objects:
  3:
    0:
      6: [0, 1]
      7: {2: 5000, 0: 3300}
  3303:
    count: 3
    resources:
      5700: 21.5
      5605:
)",
                      &p),
            "");
  const auto six = p.find_resource(3, 0, 6);
  ASSERT_EQ(six.size(), 2u);
  EXPECT_EQ(six[0].path, (Lwm2mPath{3, 0, 6, 0}));
  EXPECT_EQ(six[1].path, (Lwm2mPath{3, 0, 6, 1}));
  const auto seven = p.find_resource(3, 0, 7);
  ASSERT_EQ(seven.size(), 2u);
  EXPECT_EQ(seven[0].path.resource_instance, 0u);
  EXPECT_EQ(p.value(seven[1], {}), Value(int64_t{5000}));
  EXPECT_EQ(p.find({3, 0, 6}), nullptr);  // a multiple resource has only instances
  EXPECT_EQ(p.find({3, 0, 6, 2}), nullptr);
  EXPECT_TRUE(p.find_resource(3, 0, 9).empty());
  EXPECT_TRUE(p.find_resource(3, 1, 0).empty());
  for (uint16_t i = 0; i < 3; ++i) {
    EXPECT_EQ(value_at(p, {3303, i, 5700}), Value(21.5));
    EXPECT_TRUE(at(p, {3303, i, 5605}).is_executable());
  }
  const ProfileInstance* inst = p.find_instance(3303, 2);
  ASSERT_NE(inst, nullptr);
  EXPECT_EQ(inst->definition->name, "Temperature");
  ASSERT_EQ(p.resources(*inst).size(), 2u);
  EXPECT_EQ(p.resources(*inst)[0].path, (Lwm2mPath{3303, 2, 5605}));
  EXPECT_EQ(at(p, {3303, 2, 5700}).definition->name, "Sensor Value");
  EXPECT_TRUE(at(p, {3303, 2, 5700}).is_constant());
  EXPECT_EQ(p.initial_value(at(p, {3303, 1, 5700}), 1, 0), Value(21.5));
}

TEST(Profile, BinaryConstantOutsideTheBase64AlphabetIsAnError) {
  // Bytes above 0x7f once made the base64 decoder read outside its table.
  const std::string errors =
      errors_of("name: x\nobjects:\n  0:\n    0:\n      3: !!binary aGVs\xff\xff\xff\n");
  EXPECT_NE(errors.find("invalid base64 in !!binary value"), std::string::npos) << errors;
}

TEST(Profile, ConstantsOfEveryType) {
  Profile p;
  ASSERT_EQ(load_text(R"(name: x
objects:
  0:
    0:
      3: !!binary aGVsbG8=
      4: plain
      17: "21:0"
  1:
    0:
      12: 1700000000
  3:
    0:
      9: 55
  6:
    0:
      0: 52.1
      1: -4
      5: 0
  3311:
    0:
      5850: TRUE
)",
                      &p),
            "");
  EXPECT_EQ(value_at(p, {0, 0, 3}), Value(Opaque{{'h', 'e', 'l', 'l', 'o'}}));
  EXPECT_EQ(value_at(p, {0, 0, 4}), Value(Opaque{{'p', 'l', 'a', 'i', 'n'}}));
  EXPECT_EQ(value_at(p, {0, 0, 17}), Value(Objlnk{21, 0}));
  EXPECT_EQ(value_at(p, {1, 0, 12}), Value(TimeValue{1700000000}));
  EXPECT_EQ(value_at(p, {3, 0, 9}), Value(int64_t{55}));
  EXPECT_EQ(value_at(p, {6, 0, 0}), Value(52.1));
  EXPECT_EQ(value_at(p, {6, 0, 1}), Value(-4.0));
  EXPECT_EQ(value_at(p, {3311, 0, 5850}), Value(true));
}

TEST(Profile, CsvPathIsRelativeToTheProfileFile) {
  TempDir dir;
  fs::create_directories(dir.path() / "routes");
  dir.write("routes/r.csv", "lat,lon\n1.5,2\n2.5,3\n");
  dir.write("p.yaml", R"(name: csv
objects:
  6:
    0:
      0: {generator: csv, file: routes/r.csv, column: lat, period: 10s}
      1: {generator: csv, file: routes/r.csv, column: 1, period: 10s}
      5: {generator: clock}
)");
  Profile p;
  ASSERT_EQ(load_profile((dir.path() / "p.yaml").string(), builtin(), &p), "");
  EXPECT_EQ(value_at(p, {6, 0, 0}, 0, 0), Value(1.5));
  EXPECT_EQ(value_at(p, {6, 0, 0}, 0, 10 * kUsPerSec), Value(2.5));
  EXPECT_EQ(value_at(p, {6, 0, 0}, 0, 20 * kUsPerSec), Value(1.5));
  EXPECT_EQ(value_at(p, {6, 0, 1}, 0, 10 * kUsPerSec), Value(3.0));
}

TEST(Profile, LoadProfileOfMissingFile) {
  Profile p;
  EXPECT_EQ(load_profile("/nonexistent/x.yaml", builtin(), &p),
            "/nonexistent/x.yaml:0:0: file: cannot read the profile");
}

TEST(Profile, FailedLoadLeavesOutputUntouched) {
  Profile p;
  ASSERT_EQ(load_text("name: first\n", &p), "");
  EXPECT_NE(load_text("name: second\nobjects: {3303: {0: {5700: hot}}}\n", &p), "");
  EXPECT_EQ(p.name(), "first");
}

TEST(Profile, RegistryCopyKeepsDefinitionsAlive) {
  Profile p;
  {
    const ObjectRegistry registry = ObjectRegistry::builtin();
    ASSERT_EQ(load_profile_text("name: x\nobjects: {3303: {0: {5700: 1}}}\n", "t.yaml", ".",
                                registry, &p),
              "");
  }
  EXPECT_EQ(at(p, {3303, 0, 5700}).definition->name, "Sensor Value");
}

// --- Errors -------------------------------------------------------------------------------------

struct BrokenCase {
  const char* what;
  const char* yaml;
  const char* error;
};

const BrokenCase kBroken[] = {
    {"unknown top-level key", "name: x\ncolour: red\n",
     "t.yaml:2:1: colour: unknown key (expected one of: name, description, device, registration, "
     "send, objects)"},
    {"name missing", "objects: {}\n", "t.yaml:1:1: name: missing (required)"},
    {"not a map", "- a\n- b\n",
     "t.yaml:1:1: profile: expected a map with name, description, device and objects, got a "
     "list"},
    {"empty document", "",
     "t.yaml:1:1: profile: expected a map with name, description, device and objects, got "
     "nothing"},
    {"yaml syntax", "name: [x\n", "t.yaml:2:1: yaml: end of sequence flow not found"},
    {"duplicate key", "name: x\nname: y\n", "t.yaml:2:1: name: duplicate key"},
    {"unknown object", "name: x\nobjects:\n  9999:\n    0: {5700: 1}\n",
     "t.yaml:3:3: objects.9999: object 9999 is not in the registry (load its DDF file with "
     "--models DIR)"},
    {"object id not a number", "name: x\nobjects:\n  temperature: {}\n",
     "t.yaml:3:3: objects.temperature: expected an object id (0 to 65534)"},
    {"unknown resource", "name: x\nobjects:\n  3303:\n    0:\n      5700: 1\n      5799: 2\n",
     "t.yaml:6:7: objects.3303.0.5799: object 3303 (Temperature) has no resource 5799"},
    {"wrong value type", "name: x\nobjects:\n  3:\n    0:\n      9: high\n",
     "t.yaml:5:10: objects.3.0.9: expected an integer value for Battery Level, got \"high\""},
    {"float for an integer", "name: x\nobjects:\n  3:\n    0:\n      9: 5.5\n",
     "t.yaml:5:10: objects.3.0.9: expected an integer value for Battery Level, got \"5.5\""},
    {"boolean", "name: x\nobjects:\n  3311:\n    0:\n      5850: yes please\n",
     "t.yaml:5:13: objects.3311.0.5850: expected a boolean value for On/Off, got \"yes please\""},
    {"constant out of range", "name: x\nobjects:\n  3:\n    0:\n      9: 120\n",
     "t.yaml:5:10: objects.3.0.9: 120 is outside Battery Level's range 0..100"},
    {"objlnk", "name: x\nobjects:\n  0:\n    0:\n      17: \"21\"\n",
     "t.yaml:5:11: objects.0.0.17: expected an objlnk value for OSCORE Security Mode, got \"21\" "
     "(OBJECT:INSTANCE)"},
    {"numeric generator on a string resource",
     "name: x\nobjects:\n  3303:\n    0:\n      5700: 1\n"
     "      5750: {generator: sine, mean: 1, amplitude: 1, period: 1h}\n",
     "t.yaml:6:25: objects.3303.0.5750.generator: sine needs a numeric (integer, unsigned integer "
     "or float) resource; Application Type is a string"},
    {"pattern on an integer resource",
     "name: x\nobjects:\n  3:\n    0:\n      10: {generator: pattern, format: \"%d\"}\n",
     "t.yaml:5:23: objects.3.0.10.generator: pattern needs a string resource; Memory Free is an "
     "integer"},
    {"bounds inverted",
     "name: x\nobjects:\n  3303:\n    0:\n      5700: {generator: uniform, min: 10, max: 5}\n",
     "t.yaml:5:39: objects.3303.0.5700.min: min 10 is above max 5 (bounds inverted)"},
    {"bounds outside the resource's range",
     "name: x\nobjects:\n  3:\n    0:\n      9: {generator: uniform, min: 150, max: 200}\n",
     "t.yaml:5:10: objects.3.0.9: bounds [150, 200] do not overlap Battery Level's range 0..100"},
    {"uniform without bounds",
     "name: x\nobjects:\n  3303:\n    0:\n      5700:\n"
     "        generator: uniform\n",
     "t.yaml:6:9: objects.3303.0.5700: uniform needs min and max (Sensor Value's range is "
     "unbounded)"},
    {"missing csv file",
     "name: x\nobjects:\n  6:\n    0:\n      0: {generator: csv, file: nope.csv, column: lat, "
     "period: 1s}\n      1: 0\n      5: 0\n",
     "t.yaml:5:33: objects.6.0.0.file: cannot read nope.csv (/no/dir/nope.csv): no such file"},
    {"two instances of a single-instance object", "name: x\nobjects:\n  3:\n    0: {}\n    1: {}\n",
     "t.yaml:5:5: objects.3.1: Device (3) is single-instance; its only instance is 0"},
    {"count above 1 for a single-instance object",
     "name: x\nobjects:\n  6:\n    count: 2\n    resources: {0: 1, 1: 2, 5: 0}\n",
     "t.yaml:4:12: objects.6.count: Location (6) is single-instance; count must be 1, got 2"},
    {"count mixed with instance ids",
     "name: x\nobjects:\n  3303:\n    0: {5700: 1}\n    count: 2\n",
     "t.yaml:5:5: objects.3303.count: expected an instance id; count and resources cannot be "
     "mixed with instance ids"},
    {"misspelt generator parameter",
     "name: x\nobjects:\n  3303:\n    0:\n      5700: {generator: sine, mean: 1, amplitude: 1, "
     "period: 1h, phse: 2h}\n",
     "t.yaml:5:66: objects.3303.0.5700.phse: unknown key (expected one of: generator, mean, "
     "amplitude, period, phase, noise, interval, min, max)"},
    {"unknown generator", "name: x\nobjects:\n  3303:\n    0:\n      5700: {generator: gaussian}\n",
     "t.yaml:5:25: objects.3303.0.5700.generator: unknown generator \"gaussian\" (one of: "
     "constant, pattern, uniform, random_walk, sine, counter, steps, csv, clock)"},
    {"missing generator parameter",
     "name: x\nobjects:\n  3303:\n    0:\n      5700: {generator: sine, mean: 1, amplitude: 1}\n",
     "t.yaml:5:13: objects.3303.0.5700.period: missing (required by sine)"},
    {"bad duration",
     "name: x\nobjects:\n  3303:\n    0:\n      5700: {generator: sine, mean: 1, amplitude: 1, "
     "period: soon}\n",
     "t.yaml:5:62: objects.3303.0.5700.period: expected a duration (seconds, or e.g. 250ms, 30s, "
     "5m, 1h30m, 1d), got \"soon\""},
    {"zero period",
     "name: x\nobjects:\n  3303:\n    0:\n      5700: {generator: sine, mean: 1, amplitude: 1, "
     "period: 0s}\n",
     "t.yaml:5:62: objects.3303.0.5700.period: must be above 0"},
    {"value on an executable", "name: x\nobjects:\n  3:\n    0:\n      4: 1\n",
     "t.yaml:5:10: objects.3.0.4: Reboot is executable and takes no value"},
    {"list for a single resource", "name: x\nobjects:\n  3303:\n    0:\n      5700: [1, 2]\n",
     "t.yaml:5:13: objects.3303.0.5700: Sensor Value is a single resource; a list or map of "
     "resource instances is only for multiple resources"},
    {"no value", "name: x\nobjects:\n  3303:\n    0:\n      5700:\n",
     "t.yaml:5:7: objects.3303.0.5700: needs a value or a generator"},
    {"mandatory resource missing", "name: x\nobjects:\n  3303:\n    0:\n      5701: Cel\n",
     "t.yaml:4:5: objects.3303.0: mandatory resource 5700 (Sensor Value) is missing"},
    {"serial without %d", "name: x\ndevice: {serial: SN}\n",
     "t.yaml:2:18: device.serial: pattern 'SN' has no %d, so every client would share one name"},
    {"unknown device key", "name: x\ndevice: {vendor: ACME}\n",
     "t.yaml:2:10: device.vendor: unknown key (expected one of: manufacturer, model, serial, "
     "firmware, type, hardware, software)"},
    {"steps out of order",
     "name: x\nobjects:\n  3311:\n    0:\n      5850:\n        generator: steps\n"
     "        steps:\n          - {at: 2h, value: true}\n          - {at: 1h, value: false}\n",
     "t.yaml:9:18: objects.3311.0.5850.steps[1].at: steps must be in increasing order of at; the "
     "previous one is at 7200s"},
    {"step value of the wrong type",
     "name: x\nobjects:\n  3311:\n    0:\n      5850:\n        generator: steps\n"
     "        steps:\n          - {at: 0, value: 3}\n",
     "t.yaml:8:28: objects.3311.0.5850.steps[0].value: expected a boolean value for On/Off, got "
     "\"3\""},
    {"step after repeat",
     "name: x\nobjects:\n  3311:\n    0:\n      5850:\n        generator: steps\n"
     "        repeat: 1h\n        steps:\n          - {at: 2h, value: true}\n",
     "t.yaml:7:17: objects.3311.0.5850.repeat: every step must come before repeat; the last is at "
     "7200s"},
    {"wrap without bounds",
     "name: x\nobjects:\n  3303:\n    0:\n      5700: {generator: counter, wrap: true}\n",
     "t.yaml:5:40: objects.3303.0.5700.wrap: needs min and max (Sensor Value's range is "
     "unbounded)"},
    {"walk start outside its bounds",
     "name: x\nobjects:\n  3:\n    0:\n      9: {generator: random_walk, start: 150, step: 1}\n",
     "t.yaml:5:42: objects.3.0.9.start: start must lie within the bounds [0, 100]"},
    {"spread with low above high",
     "name: x\nobjects:\n  3:\n    0:\n      9: {generator: counter, start: [90, 80]}\n",
     "t.yaml:5:38: objects.3.0.9.start: [90, 80]: low is above high"},
    {"negative amplitude",
     "name: x\nobjects:\n  3303:\n    0:\n      5700: {generator: sine, mean: 1, amplitude: -1, "
     "period: 1h}\n",
     "t.yaml:5:51: objects.3303.0.5700.amplitude: must not be negative, got -1"},
    {"bad shape",
     "name: x\nobjects:\n  3331:\n    0:\n      5700: {generator: counter, shape: [0, 0]}\n",
     "t.yaml:5:41: objects.3331.0.5700.shape: at least one weight must be above 0"},
};

TEST(ProfileErrors, EachBrokenSnippetReportsExactlyItsError) {
  for (const BrokenCase& c : kBroken) {
    EXPECT_EQ(errors_of(c.yaml, "/no/dir"), c.error) << c.what << "\n" << c.yaml;
  }
}

TEST(ProfileErrors, CountFormReportsAProblemOnce) {
  EXPECT_EQ(errors_of("name: x\nobjects:\n  3303:\n    count: 4\n    resources: {5700: hot}\n"),
            "t.yaml:5:23: objects.3303.resources.5700: expected a float value for Sensor Value, "
            "got \"hot\"");
}

// A Register is one datagram. The count form is refused before its instances are built, so a
// short file cannot ask for 60,000 of them.
TEST(ProfileErrors, RegistrationLinksMustFitOneRegister) {
  Profile p;
  ASSERT_EQ(load_text("name: x\nobjects:\n  3303:\n    count: 80\n    resources: {5700: 1}\n", &p),
            "");
  const std::string links = p.registration_links(p.registration_instances());
  EXPECT_LE(links.size(), kMaxRegistrationLinks);
  EXPECT_TRUE(links.ends_with(",</3303/78>,</3303/79>")) << links;
  const std::string limit =
      " bytes; a Register carries at most 1024 bytes of them (it is not sent "
      "block-wise): announce fewer instances";
  EXPECT_EQ(errors_of("name: x\nobjects:\n  3303:\n    count: 100\n    resources: {5700: 1}\n"),
            "t.yaml:3:3: objects: the registration links come to 1138" + limit);
  EXPECT_EQ(errors_of("name: x\nobjects:\n  3303:\n    count: 60000\n    resources: {5700: 1}\n"),
            "t.yaml:4:12: objects.3303.count: 60000 instances make at least 600000 bytes of "
            "instance links, more than a Register or a Bootstrap-Discover answer carries (1024; "
            "neither is sent block-wise)");
  // Security is not in the Register, but it is in a Bootstrap-Discover answer.
  EXPECT_EQ(errors_of("name: x\nobjects:\n  0:\n    count: 60000\n"),
            "t.yaml:4:12: objects.0.count: 60000 instances make at least 420000 bytes of instance "
            "links, more than a Register or a Bootstrap-Discover answer carries (1024; neither is "
            "sent block-wise)");
  // An id counts by its value, not by how it is written.
  std::string padded = "name: x\nobjects:\n  3303:\n";
  for (int i = 0; i < 80; ++i) {
    padded += "    00000000" + std::to_string(i / 10) + std::to_string(i % 10) + ": {5700: 1}\n";
  }
  EXPECT_EQ(errors_of(padded + "  3304:\n    count: 1\n    resources: {5700: 1}\n"), "");
  // Instances listed by id count as well, towards a later count form too.
  std::string yaml = "name: x\nobjects:\n  3303:\n";
  for (int i = 0; i < 95; ++i) {
    yaml += "    " + std::to_string(i) + ": {5700: 1}\n";
  }
  EXPECT_EQ(errors_of(yaml), "t.yaml:3:3: objects: the registration links come to 1083" + limit);
  yaml += "  3304:\n    count: 20\n    resources: {5700: 1}\n";
  EXPECT_EQ(errors_of(yaml),
            "t.yaml:100:12: objects.3304.count: 20 instances make at least 1235 bytes of instance "
            "links, more than a Register or a Bootstrap-Discover answer carries (1024; neither is "
            "sent block-wise)");
}

TEST(ProfileErrors, CsvContentErrors) {
  TempDir dir;
  dir.write("r.csv", "lat,lon\n1,2\n# comment\n3,x\n");
  const std::string base = dir.path().string();
  EXPECT_EQ(errors_of("name: x\nobjects:\n  3303:\n    0:\n      5700: {generator: csv, file: "
                      "r.csv, column: alt, period: 1s}\n",
                      base),
            "t.yaml:5:51: objects.3303.0.5700.column: r.csv: no column \"alt\" (columns: lat, "
            "lon)");
  EXPECT_EQ(errors_of("name: x\nobjects:\n  3303:\n    0:\n      5700: {generator: csv, file: "
                      "r.csv, column: lon, period: 1s}\n",
                      base),
            "t.yaml:5:51: objects.3303.0.5700.column: r.csv: line 4: \"x\" is not a number");
  dir.write("empty.csv", "# nothing\n");
  EXPECT_EQ(errors_of("name: x\nobjects:\n  3303:\n    0:\n      5700: {generator: csv, file: "
                      "empty.csv, column: 0, period: 1s}\n",
                      base),
            "t.yaml:5:36: objects.3303.0.5700.file: empty.csv:1: no data rows");
}

// One file with many mistakes: all are reported, in line order, and nothing else.
TEST(ProfileErrors, SeveralErrorsAreAllReported) {
  const char* yaml = R"(name: broken
descripton: typo
device:
  serial: "SN%d%d"
objects:
  3:
    0:
      9: 101
      4: now
  3303:
    0:
      5700: {generator: sine, mean: 20, amplitude: 2}
      5750: {generator: counter}
  4242:
    0: {}
  6:
    0:
      0: {generator: csv, file: missing.csv, column: lat, period: 30s}
      1: {generator: uniform, min: 5, max: -5}
)";
  EXPECT_EQ(errors_of(yaml, "/no/dir"),
            "t.yaml:2:1: descripton: unknown key (expected one of: name, description, device, "
            "registration, send, objects)\n"
            "t.yaml:4:11: device.serial: pattern 'SN%d%d' has more than one %d\n"
            "t.yaml:8:10: objects.3.0.9: 101 is outside Battery Level's range 0..100\n"
            "t.yaml:9:10: objects.3.0.4: Reboot is executable and takes no value\n"
            "t.yaml:12:13: objects.3303.0.5700.period: missing (required by sine)\n"
            "t.yaml:13:25: objects.3303.0.5750.generator: counter needs a numeric (integer, "
            "unsigned integer or float) resource; Application Type is a string\n"
            "t.yaml:14:3: objects.4242: object 4242 is not in the registry (load its DDF file "
            "with --models DIR)\n"
            "t.yaml:17:5: objects.6.0: mandatory resource 5 (Timestamp) is missing\n"
            "t.yaml:18:33: objects.6.0.0.file: cannot read missing.csv (/no/dir/missing.csv): no "
            "such file\n"
            "t.yaml:19:36: objects.6.0.1.min: min 5 is above max -5 (bounds inverted)");
}

}  // namespace
}  // namespace lwm2msim

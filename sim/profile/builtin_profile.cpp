#include <stdexcept>

#include "sim/profile/profile.h"

namespace lwm2msim {
namespace {

// The device a run simulates without --profile: the defaults of Security, Server and Device,
// a battery, signal strength and one temperature sensor, so that every operation (including
// Create and Delete of a multiple-instance object) has something to act on.
constexpr std::string_view kBuiltinProfile = R"(name: generic-sensor
description: Generic battery sensor with one temperature input (built in).
device:
  manufacturer: lwm2m-sim
  model: virtual-device
  serial: "SN%010d"
  firmware: "1.0.0"
objects:
  3:
    0:
      6: [1]
      7: [{generator: random_walk, start: [2950, 3150], step: 3, min: 2700, max: 3200, period: 1h}]
      9: {generator: counter, start: [60, 100], increment: -1, period: 8h, min: 0}
      10: 48
      20: 0
      21: 64
  4:
    0:
      0: 7
      1: [7]
      2: {generator: random_walk, start: [-110, -85], step: 1.5, min: -125, max: -70, period: 5m}
      4: ["10.64.0.2"]
  3303:
    0:
      5700: {generator: sine, mean: [18, 24], amplitude: 4, period: 24h, phase: 9h, noise: 0.3, interval: 60s}
      5701: Cel
      5750: ambient
)";

}  // namespace

std::shared_ptr<const Profile> builtin_profile(const ObjectRegistry& registry) {
  auto profile = std::make_shared<Profile>();
  const std::string errors =
      load_profile_text(kBuiltinProfile, "<built-in profile>", ".", registry, profile.get());
  if (!errors.empty()) {
    // Only a --models directory that redefines a core object can get here.
    throw std::runtime_error("the built-in profile does not fit the object definitions: " + errors);
  }
  return profile;
}

}  // namespace lwm2msim

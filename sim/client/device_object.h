#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "sim/format/format.h"
#include "sim/util/time.h"

namespace lwm2msim {

// The Device object (/3/0) every virtual client exposes until profiles describe richer models.
// Values derive from the client index and the time, so nothing is stored per client.
class DeviceObject {
 public:
  static constexpr uint32_t kObjectId = 3;

  // Appends the readable values under `path` (/3, /3/0, /3/0/R or /3/0/R/I) to out. Returns the
  // CoAP code: 2.05, 4.04 for what the object does not have, 4.05 for an executable resource.
  static uint8_t read(const Lwm2mPath& path, uint64_t client_index, TimeUs now,
                      std::vector<Record>* out);
  static ResourceType type_of(const Lwm2mPath& path);
  static bool is_multiple(const Lwm2mPath& path);
  // Link-format description of the instance's resources for Discover.
  static std::string_view discover_links();
};

}  // namespace lwm2msim

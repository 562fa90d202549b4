#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "sim/util/time.h"

namespace lwm2msim {

// The Device object (/3/0) every virtual client exposes until profiles describe richer models.
// Values derive from the client index and the time, so nothing is stored per client.
class DeviceObject {
 public:
  static constexpr uint32_t kObjectId = 3;

  // Writes the text/plain value of a single-instance resource into out. Returns the CoAP code:
  // 2.05 with *length set, 4.04 for a resource the object does not have, 4.05 for one that is
  // not readable (Execute).
  static uint8_t read_text(uint32_t resource, uint64_t client_index, TimeUs now,
                           int64_t unix_offset_s, std::span<char> out, size_t* length);
  // Link-format description of the instance's resources for Discover.
  static std::string_view discover_links();
  static bool is_executable(uint32_t resource);
};

}  // namespace lwm2msim

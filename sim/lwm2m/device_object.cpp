#include "sim/lwm2m/device_object.h"

#include <cstdio>

#include "sim/coap/coap.h"

namespace lwm2msim {
namespace {

uint8_t put(std::span<char> out, size_t* length, int n) {
  if (n < 0 || static_cast<size_t>(n) >= out.size()) {
    return CoapCode::kInternalServerError;
  }
  *length = static_cast<size_t>(n);
  return CoapCode::kContent;
}

}  // namespace

uint8_t DeviceObject::read_text(uint32_t resource, uint64_t client_index, TimeUs now,
                                int64_t unix_offset_s, std::span<char> out, size_t* length) {
  const unsigned long long idx = client_index;
  const long long seconds = static_cast<long long>(now / kUsPerSec);
  switch (resource) {
    case 0:  // Manufacturer
      return put(out, length, std::snprintf(out.data(), out.size(), "lwm2m-sim"));
    case 1:  // Model Number
      return put(out, length, std::snprintf(out.data(), out.size(), "virtual-device"));
    case 2:  // Serial Number
      return put(out, length, std::snprintf(out.data(), out.size(), "SN%010llu", idx));
    case 3:  // Firmware Version
      return put(out, length, std::snprintf(out.data(), out.size(), "1.0.0"));
    case 9:  // Battery Level, drains 1% every 10 minutes from a per-device start
      return put(out, length,
                 std::snprintf(
                     out.data(), out.size(), "%lld",
                     100 - static_cast<long long>(
                               (idx * 7 + static_cast<unsigned long long>(seconds) / 600) % 100)));
    case 10:  // Memory Free (KiB)
      return put(out, length, std::snprintf(out.data(), out.size(), "%llu", 512 + idx % 256));
    case 13:  // Current Time
      return put(out, length,
                 std::snprintf(out.data(), out.size(), "%lld", seconds + unix_offset_s));
    case 16:  // Supported Binding and Modes
      return put(out, length, std::snprintf(out.data(), out.size(), "U"));
    case 17:  // Device Type
      return put(out, length, std::snprintf(out.data(), out.size(), "sensor"));
    case 18:  // Hardware Version
      return put(out, length, std::snprintf(out.data(), out.size(), "1.0"));
    case 19:  // Software Version
      return put(out, length, std::snprintf(out.data(), out.size(), "1.0.0"));
    case 4:  // Reboot
    case 5:  // Factory Reset
      return CoapCode::kMethodNotAllowed;
    default:
      return CoapCode::kNotFound;
  }
}

std::string_view DeviceObject::discover_links() {
  return "</3/0>,</3/0/0>,</3/0/1>,</3/0/2>,</3/0/3>,</3/0/4>,</3/0/5>,</3/0/9>,</3/0/10>,</3/0/"
         "13>,"
         "</3/0/16>,</3/0/17>,</3/0/18>,</3/0/19>";
}

bool DeviceObject::is_executable(uint32_t resource) {
  return resource == 4 || resource == 5;
}

}  // namespace lwm2msim

// Built-in object definitions: the LwM2M core objects 0-7 (OMA LwM2M TS, latest published object
// versions) and the IPSO objects the shipped profiles use, as resource tables. ddf_test checks
// every table against the OMA registry file of the same object.
#include <charconv>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "sim/model/object_definition.h"

namespace lwm2msim {
namespace {

using T = ResourceType;

constexpr ResourceOperations kNoOps{};
constexpr ResourceOperations kR{.read = true};
constexpr ResourceOperations kW{.write = true};
constexpr ResourceOperations kRW{.read = true, .write = true};
constexpr ResourceOperations kE{.execute = true};

constexpr bool kSingle = false;
constexpr bool kMulti = true;
constexpr bool kOpt = false;
constexpr bool kMand = true;

struct Row {
  uint16_t id;
  std::string_view name;
  ResourceOperations ops;
  bool multiple;
  bool mandatory;
  ResourceType type;
  std::string_view range = {};
  std::string_view units = {};
};

struct Table {
  uint16_t id;
  std::string_view name;
  std::string_view urn;
  std::string_view object_version;
  std::string_view lwm2m_version;
  bool multiple;
  bool mandatory;
  std::span<const Row> rows;
};

// LwM2M Security (0).
constexpr Row kSecurity[] = {
    {0, "LWM2M Server URI", kNoOps, kSingle, kMand, T::kString, "0..255"},
    {1, "Bootstrap-Server", kNoOps, kSingle, kMand, T::kBoolean},
    {2, "Security Mode", kNoOps, kSingle, kMand, T::kInteger, "0..4"},
    {3, "Public Key or Identity", kNoOps, kSingle, kMand, T::kOpaque},
    {4, "Server Public Key", kNoOps, kSingle, kMand, T::kOpaque},
    {5, "Secret Key", kNoOps, kSingle, kMand, T::kOpaque},
    {6, "SMS Security Mode", kNoOps, kSingle, kOpt, T::kInteger, "0..255"},
    {7, "SMS Binding Key Parameters", kNoOps, kSingle, kOpt, T::kOpaque, "6"},
    {8, "SMS Binding Secret Key(s)", kNoOps, kSingle, kOpt, T::kOpaque, "16,32,48"},
    {9, "LwM2M Server SMS Number", kNoOps, kSingle, kOpt, T::kString},
    {10, "Short Server ID", kNoOps, kSingle, kOpt, T::kInteger, "1..65534"},
    {11, "Client Hold Off Time", kNoOps, kSingle, kOpt, T::kInteger, "", "s"},
    {12, "Bootstrap-Server Account Timeout", kNoOps, kSingle, kOpt, T::kInteger, "", "s"},
    {13, "Matching Type", kNoOps, kSingle, kOpt, T::kUnsignedInteger, "0..3"},
    {14, "SNI", kNoOps, kSingle, kOpt, T::kString},
    {15, "Certificate Usage", kNoOps, kSingle, kOpt, T::kUnsignedInteger, "0..3"},
    {16, "DTLS/TLS Ciphersuite", kNoOps, kMulti, kOpt, T::kUnsignedInteger},
    {17, "OSCORE Security Mode", kNoOps, kSingle, kOpt, T::kObjlnk},
    {18, "Groups To Use by Client", kNoOps, kMulti, kOpt, T::kUnsignedInteger, "0..65535"},
    {19, "Signature Algorithms Supported by Server", kNoOps, kMulti, kOpt, T::kUnsignedInteger,
     "0..65535"},
    {20, "Signature Algorithms To Use by Client", kNoOps, kMulti, kOpt, T::kUnsignedInteger,
     "0..65535"},
    {21, "Signature Algorithm Certs Supported by Server", kNoOps, kMulti, kOpt, T::kUnsignedInteger,
     "0..65535"},
    {22, "TLS 1.3 Features To Use by Client", kNoOps, kSingle, kOpt, T::kUnsignedInteger,
     "0..65535"},
    {23, "TLS Extensions Supported by Server", kNoOps, kSingle, kOpt, T::kUnsignedInteger,
     "0..65535"},
    {24, "TLS Extensions To Use by Client", kNoOps, kSingle, kOpt, T::kUnsignedInteger, "0..65535"},
    {25, "Secondary LwM2M Server URI", kNoOps, kMulti, kOpt, T::kString, "0..255"},
    {26, "MQTT Server", kNoOps, kSingle, kOpt, T::kObjlnk},
    {27, "LwM2M COSE Security", kNoOps, kMulti, kOpt, T::kObjlnk},
    {28, "RDS Destination Port", kNoOps, kSingle, kOpt, T::kInteger, "0..15"},
    {29, "RDS Source Port", kNoOps, kSingle, kOpt, T::kInteger, "0..15"},
    {30, "RDS Application ID", kNoOps, kSingle, kOpt, T::kString},
};

// LwM2M Server (1).
constexpr Row kServer[] = {
    {0, "Short Server ID", kR, kSingle, kMand, T::kInteger, "1..65534"},
    {1, "Lifetime", kRW, kSingle, kMand, T::kInteger, "", "s"},
    {2, "Default Minimum Period", kRW, kSingle, kOpt, T::kInteger, "", "s"},
    {3, "Default Maximum Period", kRW, kSingle, kOpt, T::kInteger, "", "s"},
    {4, "Disable", kE, kSingle, kOpt, T::kNone},
    {5, "Disable Timeout", kRW, kSingle, kOpt, T::kInteger, "", "s"},
    {6, "Notification Storing When Disabled or Offline", kRW, kSingle, kMand, T::kBoolean},
    {7, "Binding", kRW, kSingle, kMand, T::kString},
    {8, "Registration Update Trigger", kE, kSingle, kMand, T::kNone},
    {9, "Bootstrap-Request Trigger", kE, kSingle, kOpt, T::kNone},
    {10, "APN Link", kRW, kSingle, kOpt, T::kObjlnk},
    {11, "TLS-DTLS Alert Code", kR, kSingle, kOpt, T::kUnsignedInteger, "0..255"},
    {12, "Last Bootstrapped", kR, kSingle, kOpt, T::kTime},
    {13, "Registration Priority Order", kR, kSingle, kOpt, T::kUnsignedInteger},
    {14, "Initial Registration Delay Timer", kRW, kSingle, kOpt, T::kUnsignedInteger, "", "s"},
    {15, "Registration Failure Block", kR, kSingle, kOpt, T::kBoolean},
    {16, "Bootstrap on Registration Failure", kR, kSingle, kOpt, T::kBoolean},
    {17, "Communication Retry Count", kRW, kSingle, kOpt, T::kUnsignedInteger},
    {18, "Communication Retry Timer", kRW, kSingle, kOpt, T::kUnsignedInteger, "", "s"},
    {19, "Communication Sequence Delay Timer", kRW, kSingle, kOpt, T::kUnsignedInteger, "", "s"},
    {20, "Communication Sequence Retry Count", kRW, kSingle, kOpt, T::kUnsignedInteger},
    {21, "Trigger", kRW, kSingle, kOpt, T::kBoolean},
    {22, "Preferred Transport", kRW, kSingle, kOpt, T::kString,
     "The possible values are those listed in the LwM2M Core Specification"},
    {23, "Mute Send", kRW, kSingle, kOpt, T::kBoolean},
    {24, "Alternate APN Links", kRW, kMulti, kOpt, T::kObjlnk},
    {25, "Supported Server Versions", kRW, kMulti, kOpt, T::kString},
    {26, "Default Notification Mode", kRW, kSingle, kOpt, T::kInteger, "0..1"},
    {27, "Profile ID Hash Algorithm", kRW, kSingle, kOpt, T::kUnsignedInteger, "0..255"},
};

// LwM2M Access Control (2).
constexpr Row kAccessControl[] = {
    {0, "Object ID", kR, kSingle, kMand, T::kInteger, "1..65534"},
    {1, "Object Instance ID", kR, kSingle, kMand, T::kInteger, "0..65535"},
    {2, "ACL", kRW, kMulti, kOpt, T::kInteger, "0..31"},
    {3, "Access Control Owner", kRW, kSingle, kMand, T::kInteger, "0..65535"},
};

// Device (3).
constexpr Row kDevice[] = {
    {0, "Manufacturer", kR, kSingle, kOpt, T::kString},
    {1, "Model Number", kR, kSingle, kOpt, T::kString},
    {2, "Serial Number", kR, kSingle, kOpt, T::kString},
    {3, "Firmware Version", kR, kSingle, kOpt, T::kString},
    {4, "Reboot", kE, kSingle, kMand, T::kNone},
    {5, "Factory Reset", kE, kSingle, kOpt, T::kNone},
    {6, "Available Power Sources", kR, kMulti, kOpt, T::kInteger, "0..7"},
    {7, "Power Source Voltage", kR, kMulti, kOpt, T::kInteger},
    {8, "Power Source Current", kR, kMulti, kOpt, T::kInteger},
    {9, "Battery Level", kR, kSingle, kOpt, T::kInteger, "0..100", "/100"},
    {10, "Memory Free", kR, kSingle, kOpt, T::kInteger},
    {11, "Error Code", kR, kMulti, kMand, T::kInteger, "0..32"},
    {12, "Reset Error Code", kE, kSingle, kOpt, T::kNone},
    {13, "Current Time", kRW, kSingle, kOpt, T::kTime},
    {14, "UTC Offset", kRW, kSingle, kOpt, T::kString},
    {15, "Timezone", kRW, kSingle, kOpt, T::kString},
    {16, "Supported Binding and Modes", kR, kSingle, kMand, T::kString},
    {17, "Device Type", kR, kSingle, kOpt, T::kString},
    {18, "Hardware Version", kR, kSingle, kOpt, T::kString},
    {19, "Software Version", kR, kSingle, kOpt, T::kString},
    {20, "Battery Status", kR, kSingle, kOpt, T::kInteger, "0..6"},
    {21, "Memory Total", kR, kSingle, kOpt, T::kInteger},
    {22, "ExtDevInfo", kR, kMulti, kOpt, T::kObjlnk},
};

// Connectivity Monitoring (4).
constexpr Row kConnectivityMonitoring[] = {
    {0, "Network Bearer", kR, kSingle, kMand, T::kInteger, "0..50"},
    {1, "Available Network Bearer", kR, kMulti, kMand, T::kInteger, "0..50"},
    {2, "Radio Signal Strength", kR, kSingle, kMand, T::kInteger, "", "dBm"},
    {3, "Link Quality", kR, kSingle, kOpt, T::kInteger},
    {4, "IP Addresses", kR, kMulti, kMand, T::kString},
    {5, "Router IP Addresses", kR, kMulti, kOpt, T::kString},
    {6, "Link Utilization", kR, kSingle, kOpt, T::kInteger, "0..100", "/100"},
    {7, "APN", kR, kMulti, kOpt, T::kString},
    {8, "Cell ID", kR, kSingle, kOpt, T::kInteger},
    {9, "SMNC", kR, kSingle, kOpt, T::kInteger, "0..999"},
    {10, "SMCC", kR, kSingle, kOpt, T::kInteger, "0..999"},
    {11, "SignalSNR", kR, kSingle, kOpt, T::kInteger, "", "dB"},
    {12, "LAC", kR, kSingle, kOpt, T::kInteger},
    {13, "Coverage Enhancement Level", kR, kSingle, kOpt, T::kInteger, "0..4"},
};

// Firmware Update (5). Resource 4 was removed from the object in LwM2M 1.0.
constexpr Row kFirmwareUpdate[] = {
    {0, "Package", kW, kSingle, kMand, T::kOpaque},
    {1, "Package URI", kRW, kSingle, kMand, T::kString, "0..255"},
    {2, "Update", kE, kSingle, kMand, T::kNone},
    {3, "State", kR, kSingle, kMand, T::kInteger, "0..3"},
    {5, "Update Result", kR, kSingle, kMand, T::kInteger, "0..11"},
    {6, "PkgName", kR, kSingle, kOpt, T::kString, "0..255"},
    {7, "PkgVersion", kR, kSingle, kOpt, T::kString, "0..255"},
    {8, "Firmware Update Protocol Support", kR, kMulti, kOpt, T::kInteger, "0..5"},
    {9, "Firmware Update Delivery Method", kR, kSingle, kMand, T::kInteger, "0..2"},
    {10, "Cancel", kE, kSingle, kOpt, T::kNone},
    {11, "Severity", kRW, kSingle, kOpt, T::kInteger, "0..2"},
    {12, "Last State Change Time", kR, kSingle, kOpt, T::kTime},
    {13, "Maximum Defer Period", kRW, kSingle, kOpt, T::kUnsignedInteger, "", "s"},
    {14, "Automatic Upgrade at Download", kRW, kSingle, kOpt, T::kBoolean},
};

// Location (6).
constexpr Row kLocation[] = {
    {0, "Latitude", kR, kSingle, kMand, T::kFloat, "", "lat"},
    {1, "Longitude", kR, kSingle, kMand, T::kFloat, "", "lon"},
    {2, "Altitude", kR, kSingle, kOpt, T::kFloat, "", "m"},
    {3, "Radius", kR, kSingle, kOpt, T::kFloat, "", "m"},
    {4, "Velocity", kR, kSingle, kOpt, T::kOpaque},
    {5, "Timestamp", kR, kSingle, kMand, T::kTime},
    {6, "Speed", kR, kSingle, kOpt, T::kFloat, "", "m/s"},
};

// Connectivity Statistics (7).
constexpr Row kConnectivityStatistics[] = {
    {0, "SMS Tx Counter", kR, kSingle, kOpt, T::kInteger},
    {1, "SMS Rx Counter", kR, kSingle, kOpt, T::kInteger},
    {2, "Tx Data", kR, kSingle, kOpt, T::kInteger},
    {3, "Rx Data", kR, kSingle, kOpt, T::kInteger},
    {4, "Max Message Size", kR, kSingle, kOpt, T::kInteger, "", "B"},
    {5, "Average Message Size", kR, kSingle, kOpt, T::kInteger, "", "B"},
    {6, "Start", kE, kSingle, kMand, T::kNone},
    {7, "Stop", kE, kSingle, kMand, T::kNone},
    {8, "Collection Period", kRW, kSingle, kOpt, T::kInteger, "", "s"},
};

// IPSO sensors share the reusable resources 55xx-60xx; each object lists its own subset.
// Generic Sensor (3300).
constexpr Row kGenericSensor[] = {
    {5518, "Timestamp", kR, kSingle, kOpt, T::kTime},
    {5601, "Min Measured Value", kR, kSingle, kOpt, T::kFloat},
    {5602, "Max Measured Value", kR, kSingle, kOpt, T::kFloat},
    {5603, "Min Range Value", kR, kSingle, kOpt, T::kFloat},
    {5604, "Max Range Value", kR, kSingle, kOpt, T::kFloat},
    {5605, "Reset Min and Max Measured Values", kE, kSingle, kOpt, T::kNone},
    {5700, "Sensor Value", kR, kSingle, kMand, T::kFloat},
    {5701, "Sensor Units", kR, kSingle, kOpt, T::kString},
    {5750, "Application Type", kRW, kSingle, kOpt, T::kString},
    {5751, "Sensor Type", kR, kSingle, kOpt, T::kString},
    {6042, "Measurement Quality Indicator", kR, kSingle, kOpt, T::kInteger, "0..23"},
    {6049, "Measurement Quality Level", kR, kSingle, kOpt, T::kInteger, "0..100"},
    {6050, "Fractional Timestamp", kR, kSingle, kOpt, T::kFloat, "0..1", "s"},
};

// Temperature (3303) and Humidity (3304) have the same resources.
constexpr Row kMeasurement[] = {
    {5518, "Timestamp", kR, kSingle, kOpt, T::kTime},
    {5601, "Min Measured Value", kR, kSingle, kOpt, T::kFloat},
    {5602, "Max Measured Value", kR, kSingle, kOpt, T::kFloat},
    {5603, "Min Range Value", kR, kSingle, kOpt, T::kFloat},
    {5604, "Max Range Value", kR, kSingle, kOpt, T::kFloat},
    {5605, "Reset Min and Max Measured Values", kE, kSingle, kOpt, T::kNone},
    {5700, "Sensor Value", kR, kSingle, kMand, T::kFloat},
    {5701, "Sensor Units", kR, kSingle, kOpt, T::kString},
    {5750, "Application Type", kRW, kSingle, kOpt, T::kString},
    {6042, "Measurement Quality Indicator", kR, kSingle, kOpt, T::kInteger, "0..23"},
    {6049, "Measurement Quality Level", kR, kSingle, kOpt, T::kInteger, "0..100"},
    {6050, "Fractional Timestamp", kR, kSingle, kOpt, T::kFloat, "0..1", "s"},
};

// Light Control (3311).
constexpr Row kLightControl[] = {
    {5701, "Sensor Units", kR, kSingle, kOpt, T::kString},
    {5706, "Colour", kRW, kSingle, kOpt, T::kString},
    {5750, "Application Type", kRW, kSingle, kOpt, T::kString},
    {5805, "Cumulative active power", kR, kSingle, kOpt, T::kFloat, "", "Wh"},
    {5820, "Power factor", kR, kSingle, kOpt, T::kFloat},
    {5850, "On/Off", kRW, kSingle, kMand, T::kBoolean},
    {5851, "Dimmer", kRW, kSingle, kOpt, T::kInteger, "0..100", "/100"},
    {5852, "On time", kRW, kSingle, kOpt, T::kInteger, "", "s"},
};

// Pressure (3323).
constexpr Row kPressure[] = {
    {5518, "Timestamp", kR, kSingle, kOpt, T::kTime},
    {5601, "Min Measured Value", kR, kSingle, kOpt, T::kFloat},
    {5602, "Max Measured Value", kR, kSingle, kOpt, T::kFloat},
    {5603, "Min Range Value", kR, kSingle, kOpt, T::kFloat},
    {5604, "Max Range Value", kR, kSingle, kOpt, T::kFloat},
    {5605, "Reset Min and Max Measured Values", kE, kSingle, kOpt, T::kNone},
    {5700, "Sensor Value", kR, kSingle, kMand, T::kFloat},
    {5701, "Sensor Units", kR, kSingle, kOpt, T::kString},
    {5750, "Application Type", kRW, kSingle, kOpt, T::kString},
    {5821, "Current Calibration", kRW, kSingle, kOpt, T::kFloat},
    {6042, "Measurement Quality Indicator", kR, kSingle, kOpt, T::kInteger, "0..23"},
    {6049, "Measurement Quality Level", kR, kSingle, kOpt, T::kInteger, "0..100"},
    {6050, "Fractional Timestamp", kR, kSingle, kOpt, T::kFloat, "0..1", "s"},
};

// Energy (3331), version 1.1: the energy reading moved to Sensor Value.
constexpr Row kEnergy[] = {
    {5518, "Timestamp", kR, kSingle, kOpt, T::kTime},
    {5700, "Sensor Value", kR, kSingle, kMand, T::kFloat},
    {5701, "Sensor Units", kR, kSingle, kOpt, T::kString},
    {5750, "Application Type", kRW, kSingle, kOpt, T::kString},
    {5822, "Reset Cumulative energy", kE, kSingle, kOpt, T::kNone},
    {6042, "Measurement Quality Indicator", kR, kSingle, kOpt, T::kInteger, "0..23"},
    {6049, "Measurement Quality Level", kR, kSingle, kOpt, T::kInteger, "0..100"},
    {6050, "Fractional Timestamp", kR, kSingle, kOpt, T::kFloat, "0..1", "s"},
};

// On/Off Switch (3342).
constexpr Row kOnOffSwitch[] = {
    {5500, "Digital Input State", kR, kSingle, kMand, T::kBoolean},
    {5501, "Digital Input Counter", kR, kSingle, kOpt, T::kInteger},
    {5518, "Timestamp", kR, kSingle, kOpt, T::kTime},
    {5750, "Application Type", kRW, kSingle, kOpt, T::kString},
    {5852, "On time", kRW, kSingle, kOpt, T::kInteger, "", "s"},
    {5854, "Off Time", kRW, kSingle, kOpt, T::kInteger, "", "s"},
    {6050, "Fractional Timestamp", kR, kSingle, kOpt, T::kFloat, "0..1", "s"},
};

constexpr Table kTables[] = {
    {0, "LWM2M Security", "urn:oma:lwm2m:oma:0:1.2", "1.2", "1.1", kMulti, kMand, kSecurity},
    {1, "LwM2M Server", "urn:oma:lwm2m:oma:1:1.2", "1.2", "1.2", kMulti, kMand, kServer},
    {2, "LwM2M Access Control", "urn:oma:lwm2m:oma:2:1.1", "1.1", "1.0", kMulti, kOpt,
     kAccessControl},
    {3, "Device", "urn:oma:lwm2m:oma:3:1.2", "1.2", "1.1", kSingle, kMand, kDevice},
    {4, "Connectivity Monitoring", "urn:oma:lwm2m:oma:4:1.3", "1.3", "1.1", kSingle, kOpt,
     kConnectivityMonitoring},
    {5, "Firmware Update", "urn:oma:lwm2m:oma:5:1.2", "1.2", "1.1", kSingle, kOpt, kFirmwareUpdate},
    {6, "Location", "urn:oma:lwm2m:oma:6", "1.0", "1.0", kSingle, kOpt, kLocation},
    {7, "Connectivity Statistics", "urn:oma:lwm2m:oma:7", "1.0", "1.0", kSingle, kOpt,
     kConnectivityStatistics},
    {3300, "Generic Sensor", "urn:oma:lwm2m:ext:3300:1.1", "1.1", "1.0", kMulti, kOpt,
     kGenericSensor},
    {3303, "Temperature", "urn:oma:lwm2m:ext:3303:1.1", "1.1", "1.0", kMulti, kOpt, kMeasurement},
    {3304, "Humidity", "urn:oma:lwm2m:ext:3304:1.1", "1.1", "1.0", kMulti, kOpt, kMeasurement},
    {3311, "Light Control", "urn:oma:lwm2m:ext:3311", "1.0", "1.0", kMulti, kOpt, kLightControl},
    {3323, "Pressure", "urn:oma:lwm2m:ext:3323:1.1", "1.1", "1.0", kMulti, kOpt, kPressure},
    {3331, "Energy", "urn:oma:lwm2m:ext:3331:1.1", "1.1", "1.0", kMulti, kOpt, kEnergy},
    {3342, "On/Off switch", "urn:oma:lwm2m:ext:3342:1.1", "1.1", "1.0", kMulti, kOpt, kOnOffSwitch},
};

// The tables write every numeric range as "LO..HI" with integer bounds, so this needs none of
// the DDF importer's tolerance; ddf_test checks both give the same bounds.
void set_bounds(std::string_view range, ResourceDefinition* res) {
  const size_t dots = range.find("..");
  if (dots == std::string_view::npos) {
    return;
  }
  const std::string_view lo = range.substr(0, dots);
  const std::string_view hi = range.substr(dots + 2);
  int64_t a = 0;
  int64_t b = 0;
  const auto ra = std::from_chars(lo.data(), lo.data() + lo.size(), a);
  const auto rb = std::from_chars(hi.data(), hi.data() + hi.size(), b);
  if (ra.ec == std::errc() && ra.ptr == lo.data() + lo.size() && rb.ec == std::errc() &&
      rb.ptr == hi.data() + hi.size()) {
    res->min = static_cast<double>(a);
    res->max = static_cast<double>(b);
  }
}

ObjectDefinition build(const Table& table) {
  ObjectDefinition def;
  def.id = table.id;
  def.name = table.name;
  def.urn = table.urn;
  def.object_version = table.object_version;
  def.lwm2m_version = table.lwm2m_version;
  def.multiple = table.multiple;
  def.mandatory = table.mandatory;
  def.resources.reserve(table.rows.size());
  for (const Row& row : table.rows) {
    ResourceDefinition res;
    res.id = row.id;
    res.name = row.name;
    res.operations = row.ops;
    res.multiple = row.multiple;
    res.mandatory = row.mandatory;
    res.type = row.type;
    res.range_text = row.range;
    res.units = row.units;
    if (is_numeric(row.type)) {
      set_bounds(row.range, &res);
    }
    def.resources.push_back(std::move(res));
  }
  return def;
}

}  // namespace

ObjectRegistry ObjectRegistry::builtin() {
  ObjectRegistry registry;
  for (const Table& table : kTables) {
    registry.add(build(table));
  }
  return registry;
}

}  // namespace lwm2msim

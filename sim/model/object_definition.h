// model: LwM2M object definitions (which resources an object has, their types, ranges and
// operations), the built-in set the shipped profiles need, and import of OMA DDF XML files.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/format/format.h"

namespace lwm2msim {

// Operations a resource allows (DDF <Operations>: R, W, RW, E, or empty for none).
struct ResourceOperations {
  bool read = false;
  bool write = false;
  bool execute = false;
  friend bool operator==(const ResourceOperations&, const ResourceOperations&) = default;
};

struct ResourceDefinition {
  uint16_t id = 0;
  std::string name;
  ResourceOperations operations;
  bool multiple = false;
  bool mandatory = false;
  ResourceType type = ResourceType::kNone;
  // Numeric range from <RangeEnumeration> ("0..100", "-40..85"); absent when unbounded or
  // non-numeric.
  std::optional<double> min;
  std::optional<double> max;
  // <RangeEnumeration> as written, for strings and enumerations.
  std::string range_text;
  std::string units;
};

struct ObjectDefinition {
  uint16_t id = 0;
  std::string name;
  std::string urn;             // e.g. "urn:oma:lwm2m:ext:3303:1.1"
  std::string object_version;  // e.g. "1.1"; empty means 1.0
  std::string lwm2m_version;   // e.g. "1.0"
  bool multiple = false;       // multiple instances allowed
  bool mandatory = false;
  std::vector<ResourceDefinition> resources;  // sorted by id

  const ResourceDefinition* resource(uint16_t id) const;
};

// Immutable once built; shared by every client of a fleet.
class ObjectRegistry {
 public:
  // The definitions that ship with the simulator (objects 0-7 and the IPSO objects the shipped
  // profiles use), so it works without any DDF files.
  static ObjectRegistry builtin();

  // Adds or replaces a definition.
  void add(ObjectDefinition def);
  const ObjectDefinition* find(uint16_t object_id) const;
  size_t size() const { return objects_.size(); }
  std::vector<uint16_t> ids() const;

  // Loads every *.xml file of a directory (DDF files), replacing built-in definitions with the
  // same id. Returns an empty string on success, else "FILE:LINE: reason" for the first error of
  // each bad file, one per line.
  std::string load_directory(const std::string& directory);

 private:
  std::map<uint16_t, std::shared_ptr<const ObjectDefinition>> objects_;
};

// Parses one DDF XML document (an <LWM2M> root with one or more <Object>). `source` names the
// file in errors. Empty string on success, else "SOURCE:LINE: reason".
std::string parse_ddf(std::string_view xml, std::string_view source,
                      std::vector<ObjectDefinition>* out);
// "Integer", "Unsigned Integer", "Float", "Boolean", "Opaque", "Time", "Objlnk", "Corelnk",
// "String", "" (none). False on anything else.
bool parse_resource_type(std::string_view text, ResourceType* out);

}  // namespace lwm2msim

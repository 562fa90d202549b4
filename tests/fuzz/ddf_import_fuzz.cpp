// Fuzzes the OMA DDF importer on arbitrary XML. Every object it accepts has its resources sorted
// by unique id, each found by its id, and goes into a registry.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "sim/model/object_definition.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lwm2msim;
  const std::string_view xml(reinterpret_cast<const char*>(data), size);
  std::vector<ObjectDefinition> objects;
  const std::string error = parse_ddf(xml, "fuzz.xml", &objects);
  if (!error.empty()) {
    return 0;
  }
  ObjectRegistry registry;
  for (ObjectDefinition& def : objects) {
    for (size_t i = 1; i < def.resources.size(); ++i) {
      if (def.resources[i - 1].id >= def.resources[i].id) {
        std::abort();
      }
    }
    for (const ResourceDefinition& r : def.resources) {
      if (def.resource(r.id) != &r) {
        std::abort();
      }
    }
    registry.add(std::move(def));
  }
  return 0;
}

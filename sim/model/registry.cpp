#include <tinyxml2.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "sim/model/object_definition.h"

namespace lwm2msim {
namespace {

bool has_xml_extension(const std::filesystem::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".xml";
}

bool read_file(const std::filesystem::path& p, std::string* out) {
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    return false;
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  *out = std::move(buf).str();
  return !in.bad();
}

// A copy of the OMA registry also holds XML that is not an object definition: the DDF index
// (<DDFList>) and the SenML units list (<units>). Those are skipped rather than reported, so the
// registry directory loads as published. Only asked about files parse_ddf rejected, so good
// files are parsed once.
bool is_foreign_document(const std::string& xml) {
  tinyxml2::XMLDocument doc;
  if (doc.Parse(xml.data(), xml.size()) != tinyxml2::XML_SUCCESS) {
    return false;
  }
  const tinyxml2::XMLElement* root = doc.RootElement();
  return root != nullptr && std::string_view(root->Name()) != "LWM2M";
}

// Line of the <ObjectID> naming `id`, for errors found after parsing; 1 if not found.
int object_line(const std::string& xml, uint16_t id) {
  tinyxml2::XMLDocument doc;
  doc.Parse(xml.data(), xml.size());
  const tinyxml2::XMLElement* root = doc.RootElement();
  for (const tinyxml2::XMLElement* obj = root ? root->FirstChildElement("Object") : nullptr;
       obj != nullptr; obj = obj->NextSiblingElement("Object")) {
    const tinyxml2::XMLElement* e = obj->FirstChildElement("ObjectID");
    unsigned value = 0;
    if (e != nullptr && e->QueryUnsignedText(&value) == tinyxml2::XML_SUCCESS && value == id) {
      return e->GetLineNum();
    }
  }
  return 1;
}

}  // namespace

void ObjectRegistry::add(ObjectDefinition def) {
  // resource() binary-searches; definitions built by hand need not arrive sorted.
  std::stable_sort(
      def.resources.begin(), def.resources.end(),
      [](const ResourceDefinition& a, const ResourceDefinition& b) { return a.id < b.id; });
  const uint16_t id = def.id;
  objects_[id] = std::make_shared<const ObjectDefinition>(std::move(def));
}

const ObjectDefinition* ObjectRegistry::find(uint16_t object_id) const {
  const auto it = objects_.find(object_id);
  return it == objects_.end() ? nullptr : it->second.get();
}

std::vector<uint16_t> ObjectRegistry::ids() const {
  std::vector<uint16_t> out;
  out.reserve(objects_.size());
  for (const auto& [id, def] : objects_) {
    out.push_back(id);
  }
  return out;
}

// Good files are loaded even when others fail, so a caller that only warns still gets every
// valid definition. Errors not tied to a line (unreadable file or directory) use line 0. Two files
// defining the same object are an error (which one should win is not knowable); the first in name
// order is kept.
std::string ObjectRegistry::load_directory(const std::string& directory) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(directory, ec)) {
    return directory + ":0: not a readable directory" + (ec ? " (" + ec.message() + ")" : "");
  }
  std::vector<fs::path> files;
  for (fs::directory_iterator it(directory, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (it->is_regular_file(type_ec) && has_xml_extension(it->path())) {
      files.push_back(it->path());
    }
  }
  if (ec) {
    return directory + ":0: cannot list directory (" + ec.message() + ")";
  }
  std::sort(files.begin(), files.end());

  std::string errors;
  const auto report = [&errors](const std::string& line) {
    errors += line;
    errors += '\n';
  };
  std::map<uint16_t, std::string> defined_by;
  for (const fs::path& file : files) {
    const std::string source = file.string();
    std::string xml;
    if (!read_file(file, &xml)) {
      report(source + ":0: cannot read file");
      continue;
    }
    std::vector<ObjectDefinition> defs;
    if (std::string err = parse_ddf(xml, source, &defs); !err.empty()) {
      if (!is_foreign_document(xml)) {
        report(err);
      }
      continue;
    }
    // Checked before adding anything so a file is taken whole or not at all.
    std::string clash;
    for (const ObjectDefinition& def : defs) {
      if (const auto it = defined_by.find(def.id); it != defined_by.end()) {
        clash = source + ":" + std::to_string(object_line(xml, def.id)) + ": object " +
                std::to_string(def.id) + " is also defined in " + it->second;
        break;
      }
    }
    if (!clash.empty()) {
      report(clash);
      continue;
    }
    for (ObjectDefinition& def : defs) {
      defined_by.emplace(def.id, source);
      add(std::move(def));
    }
  }
  if (!errors.empty()) {
    errors.pop_back();
  }
  return errors;
}

}  // namespace lwm2msim

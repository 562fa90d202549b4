// Import of OMA DDF object definitions (the XML format of the OMA LwM2M registry).
//
// Real registry files are hand-edited: whitespace and newlines inside values, comments and CDATA,
// ranges written as "0..100", "0 .. 8", "1...15", "0-100" or free text. Those are accepted. What
// the simulator relies on (object and resource ids, types, operations, the multiple-instance
// flag) is checked strictly, because a wrong guess there produces wrong payloads on the wire.
#include <tinyxml2.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sim/model/object_definition.h"

namespace lwm2msim {
namespace {

using tinyxml2::XMLElement;

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && is_space(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// All text of an element, CDATA included; comments between the pieces are dropped. GetText()
// would stop at the first comment.
std::string text_of(const XMLElement* e) {
  std::string out;
  if (e == nullptr) {
    return out;
  }
  for (const tinyxml2::XMLNode* n = e->FirstChild(); n != nullptr; n = n->NextSibling()) {
    if (const tinyxml2::XMLText* t = n->ToText(); t != nullptr && t->Value() != nullptr) {
      out += t->Value();
    }
  }
  return std::string(trim(out));
}

// Names sometimes wrap over lines or carry doubled spaces; one space between words.
std::string collapse_spaces(std::string_view s) {
  std::string out;
  bool pending_space = false;
  for (char c : trim(s)) {
    if (is_space(c)) {
      pending_space = true;
      continue;
    }
    if (pending_space) {
      out.push_back(' ');
      pending_space = false;
    }
    out.push_back(c);
  }
  return out;
}

bool parse_u16(std::string_view text, uint16_t* out) {
  text = trim(text);
  uint32_t v = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || p != end || v > UINT16_MAX) {
    return false;
  }
  *out = static_cast<uint16_t>(v);
  return true;
}

// A decimal number at the start of `s` ("-40", "0.5", "100"), consumed from `s`. Scanned by hand
// because from_chars would read "0." out of "0..100".
std::optional<double> take_number(std::string_view* s) {
  size_t n = 0;
  if (n < s->size() && ((*s)[n] == '-' || (*s)[n] == '+')) {
    ++n;
  }
  const size_t digits_start = n;
  while (n < s->size() && std::isdigit(static_cast<unsigned char>((*s)[n]))) {
    ++n;
  }
  if (n == digits_start) {
    return std::nullopt;
  }
  if (n + 1 < s->size() && (*s)[n] == '.' &&
      std::isdigit(static_cast<unsigned char>((*s)[n + 1]))) {
    ++n;
    while (n < s->size() && std::isdigit(static_cast<unsigned char>((*s)[n]))) {
      ++n;
    }
  }
  // from_chars rejects a leading '+'.
  const size_t skip = (*s)[0] == '+' ? 1 : 0;
  double v = 0;
  auto [p, ec] = std::from_chars(s->data() + skip, s->data() + n, v);
  if (ec != std::errc() || p != s->data() + n) {
    return std::nullopt;
  }
  s->remove_prefix(n);
  return v;
}

// "LO..HI" with the spellings found in the registry: "..", "...", "-", spaces around. Anything
// else (single values, lists, "0..255 bytes", prose) is not a numeric range.
bool parse_numeric_range(std::string_view text, double* lo, double* hi) {
  std::string_view s = trim(text);
  const std::optional<double> a = take_number(&s);
  if (!a) {
    return false;
  }
  s = trim(s);
  if (s.starts_with("...")) {
    s.remove_prefix(3);
  } else if (s.starts_with("..")) {
    s.remove_prefix(2);
  } else if (s.starts_with("-")) {
    s.remove_prefix(1);
  } else {
    return false;
  }
  s = trim(s);
  const std::optional<double> b = take_number(&s);
  if (!b || !s.empty()) {
    return false;
  }
  // At least one registry file writes a negative range high-to-low ("-30..-120"); the bounds are
  // what was meant either way.
  *lo = std::min(*a, *b);
  *hi = std::max(*a, *b);
  return true;
}

bool parse_operations(std::string_view text, ResourceOperations* out) {
  text = trim(text);
  if (text.empty()) {
    *out = {};
  } else if (iequals(text, "R")) {
    *out = {.read = true};
  } else if (iequals(text, "W")) {
    *out = {.write = true};
  } else if (iequals(text, "RW")) {
    *out = {.read = true, .write = true};
  } else if (iequals(text, "E")) {
    *out = {.execute = true};
  } else {
    return false;
  }
  return true;
}

class DdfParser {
 public:
  explicit DdfParser(std::string_view source) : source_(source) {}

  std::string parse(std::string_view xml, std::vector<ObjectDefinition>* out) {
    tinyxml2::XMLDocument doc;
    if (doc.Parse(xml.data(), xml.size()) != tinyxml2::XML_SUCCESS) {
      // An empty document reports line 0; line 1 still points somewhere useful.
      return error(std::max(doc.ErrorLineNum(), 1),
                   std::string("malformed XML (") + doc.ErrorName() + ")");
    }
    const XMLElement* root = doc.RootElement();
    if (root == nullptr) {
      return error(1, "no root element");
    }
    if (std::string_view(root->Name()) != "LWM2M") {
      return error(root->GetLineNum(),
                   std::string("root element is <") + root->Name() + ">, expected <LWM2M>");
    }
    const XMLElement* first = root->FirstChildElement("Object");
    if (first == nullptr) {
      return error(root->GetLineNum(), "no <Object> element");
    }
    std::vector<ObjectDefinition> parsed;
    std::map<uint16_t, int> object_lines;
    for (const XMLElement* obj = first; obj != nullptr; obj = obj->NextSiblingElement("Object")) {
      // The registry's reusable-resource catalogue (Common.xml) shares the root element but
      // defines no object.
      const char* kind = obj->Attribute("ObjectType");
      if (kind != nullptr && !iequals(trim(kind), "MODefinition")) {
        continue;
      }
      ObjectDefinition def;
      if (std::string err = parse_object(obj, &def); !err.empty()) {
        return err;
      }
      const auto [it, inserted] = object_lines.emplace(def.id, obj->GetLineNum());
      if (!inserted) {
        return error(obj->GetLineNum(), "duplicate ObjectID " + std::to_string(def.id) +
                                            " (first defined at line " +
                                            std::to_string(it->second) + ")");
      }
      parsed.push_back(std::move(def));
    }
    // Nothing is appended unless the whole document is valid.
    for (ObjectDefinition& def : parsed) {
      out->push_back(std::move(def));
    }
    return {};
  }

 private:
  std::string error(int line, std::string_view reason) const {
    std::string out(source_);
    out += ':';
    out += std::to_string(line);
    out += ": ";
    out += reason;
    return out;
  }

  // Single/Multiple and Optional/Mandatory flags; both are required by the schema and change
  // behaviour, so neither is guessed.
  std::string parse_flag(const XMLElement* parent, const char* element, std::string_view yes,
                         std::string_view no, bool* out) const {
    const XMLElement* e = parent->FirstChildElement(element);
    if (e == nullptr) {
      return error(parent->GetLineNum(), std::string("missing <") + element + ">");
    }
    const std::string text = text_of(e);
    if (iequals(text, yes)) {
      *out = true;
    } else if (iequals(text, no)) {
      *out = false;
    } else {
      return error(e->GetLineNum(), std::string("invalid <") + element + "> '" + text +
                                        "', expected " + std::string(yes) + " or " +
                                        std::string(no));
    }
    return {};
  }

  std::string parse_object(const XMLElement* obj, ObjectDefinition* def) const {
    const XMLElement* id = obj->FirstChildElement("ObjectID");
    if (id == nullptr) {
      return error(obj->GetLineNum(), "missing <ObjectID>");
    }
    if (!parse_u16(text_of(id), &def->id)) {
      return error(id->GetLineNum(), "invalid ObjectID '" + text_of(id) + "'");
    }
    def->name = collapse_spaces(text_of(obj->FirstChildElement("Name")));
    def->urn = text_of(obj->FirstChildElement("ObjectURN"));
    def->lwm2m_version = text_of(obj->FirstChildElement("LWM2MVersion"));
    def->object_version = text_of(obj->FirstChildElement("ObjectVersion"));
    if (std::string err =
            parse_flag(obj, "MultipleInstances", "Multiple", "Single", &def->multiple);
        !err.empty()) {
      return err;
    }
    if (std::string err = parse_flag(obj, "Mandatory", "Mandatory", "Optional", &def->mandatory);
        !err.empty()) {
      return err;
    }
    const XMLElement* resources = obj->FirstChildElement("Resources");
    if (resources == nullptr) {
      return error(obj->GetLineNum(), "missing <Resources>");
    }
    std::map<uint16_t, int> lines;
    for (const XMLElement* item = resources->FirstChildElement("Item"); item != nullptr;
         item = item->NextSiblingElement("Item")) {
      ResourceDefinition res;
      if (std::string err = parse_item(item, &res); !err.empty()) {
        return err;
      }
      const auto [it, inserted] = lines.emplace(res.id, item->GetLineNum());
      if (!inserted) {
        return error(item->GetLineNum(), "duplicate resource ID " + std::to_string(res.id) +
                                             " (first defined at line " +
                                             std::to_string(it->second) + ")");
      }
      def->resources.push_back(std::move(res));
    }
    std::sort(def->resources.begin(), def->resources.end(),
              [](const ResourceDefinition& a, const ResourceDefinition& b) { return a.id < b.id; });
    return {};
  }

  std::string parse_item(const XMLElement* item, ResourceDefinition* res) const {
    const char* id = item->Attribute("ID");
    if (id == nullptr) {
      return error(item->GetLineNum(), "<Item> without ID attribute");
    }
    if (!parse_u16(id, &res->id)) {
      return error(item->GetLineNum(), std::string("invalid Item ID '") + id + "'");
    }
    const std::string where = " in resource " + std::to_string(res->id);
    res->name = collapse_spaces(text_of(item->FirstChildElement("Name")));

    const XMLElement* ops = item->FirstChildElement("Operations");
    if (ops == nullptr) {
      return error(item->GetLineNum(), "missing <Operations>" + where);
    }
    if (!parse_operations(text_of(ops), &res->operations)) {
      return error(ops->GetLineNum(), "unknown Operations '" + text_of(ops) + "'" + where +
                                          ", expected R, W, RW, E or empty");
    }
    if (std::string err =
            parse_flag(item, "MultipleInstances", "Multiple", "Single", &res->multiple);
        !err.empty()) {
      return err;
    }
    if (std::string err = parse_flag(item, "Mandatory", "Mandatory", "Optional", &res->mandatory);
        !err.empty()) {
      return err;
    }
    // Executable resources often leave <Type> empty or out; both mean "no value".
    const XMLElement* type = item->FirstChildElement("Type");
    if (type != nullptr && !parse_resource_type(text_of(type), &res->type)) {
      return error(type->GetLineNum(), "unknown Type '" + text_of(type) + "'" + where);
    }
    res->range_text = text_of(item->FirstChildElement("RangeEnumeration"));
    // For strings and opaques the same syntax gives a length, not a value range.
    double lo = 0;
    double hi = 0;
    if (is_numeric(res->type) && parse_numeric_range(res->range_text, &lo, &hi)) {
      res->min = lo;
      res->max = hi;
    }
    res->units = text_of(item->FirstChildElement("Units"));
    return {};
  }

  std::string_view source_;
};

}  // namespace

const ResourceDefinition* ObjectDefinition::resource(uint16_t resource_id) const {
  const auto it =
      std::lower_bound(resources.begin(), resources.end(), resource_id,
                       [](const ResourceDefinition& r, uint16_t wanted) { return r.id < wanted; });
  if (it == resources.end() || it->id != resource_id) {
    return nullptr;
  }
  return &*it;
}

std::string parse_ddf(std::string_view xml, std::string_view source,
                      std::vector<ObjectDefinition>* out) {
  return DdfParser(source).parse(xml, out);
}

bool parse_resource_type(std::string_view text, ResourceType* out) {
  static constexpr std::pair<std::string_view, ResourceType> kNames[] = {
      {"", ResourceType::kNone},           {"String", ResourceType::kString},
      {"Integer", ResourceType::kInteger}, {"Unsigned Integer", ResourceType::kUnsignedInteger},
      {"Float", ResourceType::kFloat},     {"Boolean", ResourceType::kBoolean},
      {"Opaque", ResourceType::kOpaque},   {"Time", ResourceType::kTime},
      {"Objlnk", ResourceType::kObjlnk},   {"Corelnk", ResourceType::kCoreLink},
  };
  // Case differs between schema revisions ("CoreLnk" in the 1.1 change log, "Corelnk" in files).
  for (const auto& [name, type] : kNames) {
    if (iequals(text, name)) {
      *out = type;
      return true;
    }
  }
  return false;
}

}  // namespace lwm2msim

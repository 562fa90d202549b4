// YAML profile loading. The loader walks the whole document and keeps going after a problem, so
// one run reports every mistake in a file; a profile is only returned when there were none.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

#include "sim/coap/coap.h"
#include "sim/profile/profile.h"
#include "sim/profile/yaml_checker.h"
#include "sim/util/address_plan.h"

namespace lwm2msim {
namespace {

namespace fs = std::filesystem;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr uint32_t kMaxId = 65534;  // LwM2M ids are 0..65534; 65535 is reserved

using yaml::describe;
using yaml::fmt;
using yaml::join;
using yaml::KeyValue;
using yaml::parse_double;

std::string_view without_plus(std::string_view s) {
  if (!s.empty() && s.front() == '+') {
    s.remove_prefix(1);
  }
  return s;
}

template <typename Int>
bool parse_int(std::string_view s, Int* out) {
  s = without_plus(s);
  Int v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) {
    return false;
  }
  *out = v;
  return true;
}

// Instance, resource and object ids: plain digits only.
bool parse_id(std::string_view s, uint32_t max, uint32_t* out) {
  if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  uint32_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || v > max) {
    return false;
  }
  *out = v;
  return true;
}

bool is_id_key(const YAML::Node& key) {
  uint32_t ignored = 0;
  return key.IsScalar() && parse_id(key.Scalar(), UINT32_MAX, &ignored);
}

bool parse_bool(std::string_view s, bool* out) {
  std::string lower(s);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "true") {
    *out = true;
    return true;
  }
  if (lower == "false") {
    *out = false;
    return true;
  }
  return false;
}

// "90" (seconds), "1.5", "250ms", "30s", "5m", "2h", "1d", "100us", "1h30m".
bool parse_duration(std::string_view s, TimeUs* out) {
  double plain = 0;
  if (parse_double(s, &plain)) {
    if (plain < 0 || plain > 1e12) {
      return false;
    }
    *out = seconds_to_us(plain);
    return true;
  }
  double total_us = 0;
  while (!s.empty()) {
    size_t n = 0;
    while (n < s.size() && ((s[n] >= '0' && s[n] <= '9') || s[n] == '.')) {
      ++n;
    }
    double number = 0;
    if (n == 0 || !parse_double(s.substr(0, n), &number)) {
      return false;
    }
    s.remove_prefix(n);
    size_t u = 0;
    while (u < s.size() && s[u] >= 'a' && s[u] <= 'z') {
      ++u;
    }
    const std::string_view unit = s.substr(0, u);
    s.remove_prefix(u);
    double scale = 0;
    if (unit == "us") {
      scale = 1;
    } else if (unit == "ms") {
      scale = 1e3;
    } else if (unit == "s") {
      scale = 1e6;
    } else if (unit == "m") {
      scale = 60e6;
    } else if (unit == "h") {
      scale = 3600e6;
    } else if (unit == "d") {
      scale = 86400e6;
    } else {
      return false;
    }
    total_us += number * scale;
  }
  if (total_us > 1e18) {
    return false;
  }
  *out = static_cast<TimeUs>(std::llround(total_us));
  return true;
}

std::string range_of(const ResourceDefinition& def) {
  if (def.min && def.max) {
    return fmt(*def.min) + ".." + fmt(*def.max);
  }
  if (def.min) {
    return ">= " + fmt(*def.min);
  }
  if (def.max) {
    return "<= " + fmt(*def.max);
  }
  return "unbounded";
}

// "an integer", "a float".
std::string a_type(ResourceType t) {
  const std::string_view name = to_string(t);
  const bool vowel = name.find_first_of("aeiou") == 0;
  return (vowel ? "an " : "a ") + std::string(name);
}

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : s) {
    h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  }
  return h;
}

GeneratorSpec constant_spec(ResourceType type, Value v) {
  GeneratorSpec spec;
  spec.type = type;
  spec.params = ConstantParams{std::move(v)};
  return spec;
}

// One resource as parsed: its entries before the instance id (and so the stream) is known.
struct ResourceDraft {
  const ResourceDefinition* def = nullptr;
  // (resource instance id or kAbsent, generator), by id.
  std::vector<std::pair<uint32_t, GeneratorSpec>> entries;
};

// The resources of one instance (or of every instance of a count form) as written.
struct ResourceMap {
  std::map<uint16_t, ResourceDraft> resources;
  // Every resource written, good or not: one that failed is not also reported as missing.
  std::set<uint16_t> written;
  YAML::Mark mark;
  std::string field;
};

struct InstanceDraft {
  const ObjectDefinition* def = nullptr;
  std::shared_ptr<const ResourceMap> written;
};

struct LoadedCsv {
  std::string error;  // reading or parsing the file failed
  CsvTable table;
  std::map<std::string, std::shared_ptr<const std::vector<double>>, std::less<>> columns;
};

}  // namespace

class ProfileLoader : private yaml::Checker {
 public:
  ProfileLoader(std::string_view source, std::string base_dir, const ObjectRegistry& registry)
      : Checker(std::string(source), "plain names or numbers"),
        base_dir_(std::move(base_dir)),
        registry_(registry) {}

  std::string load(std::string_view text, Profile* out) {
    YAML::Node root;
    if (!parse(text, &root)) {
      return report();
    }
    Profile profile;
    if (!root.IsMap()) {
      YAML::Mark start;
      start.line = 0;
      start.column = 0;
      error(root.IsNull() ? start : root.Mark(), "profile",
            "expected a map with name, description, device and objects, got " + describe(root));
      return report();
    }
    const std::vector<KeyValue> top = entries(root, "");
    allow(top, "", {"name", "description", "device", "registration", "send", "objects"});
    if (const KeyValue* kv = find(top, "name")) {
      read_string(*kv, "name", &profile.name_);
    } else {
      error(root.Mark(), "name", "missing (required)");
    }
    if (const KeyValue* kv = find(top, "description")) {
      read_string(*kv, "description", &profile.description_);
    }
    if (const KeyValue* kv = find(top, "device")) {
      parse_device(*kv);
    }
    if (const KeyValue* kv = find(top, "registration")) {
      parse_registration(*kv, &profile.registration_formats_);
    }
    if (const KeyValue* kv = find(top, "send")) {
      parse_send(*kv, &profile.send_);
    }
    std::map<std::pair<uint16_t, uint16_t>, InstanceDraft> instances;
    const KeyValue* objects = find(top, "objects");
    if (objects != nullptr) {
      parse_objects(*objects, &instances);
    }
    add_defaults(&instances);
    build(instances, &profile);
    profile.registry_ = registry_;
    if (const size_t bytes = profile.registration_links(profile.registration_).size();
        bytes > kMaxRegistrationLinks && !links_reported_) {
      error(objects != nullptr ? objects->mark() : root.Mark(), "objects",
            "the registration links come to " + std::to_string(bytes) +
                " bytes; a Register carries at most " + std::to_string(kMaxRegistrationLinks) +
                " bytes of them (it is not sent block-wise): announce fewer instances");
    }
    for (const auto& [path, mark] : send_paths_) {
      check_send_path(profile, path, mark);
    }
    const std::string errors = report();
    if (errors.empty()) {
      profile.source_ = source();
      *out = std::move(profile);
    }
    return errors;
  }

 private:
  bool read_bool(const KeyValue& kv, const std::string& field, bool* out) {
    if (!kv.value.IsScalar() || !parse_bool(kv.value.Scalar(), out)) {
      error(kv.mark(), field, "expected true or false, got " + describe(kv.value));
      return false;
    }
    return true;
  }

  bool read_duration(const KeyValue& kv, const std::string& field, bool positive, TimeUs* out) {
    if (!kv.value.IsScalar() || !parse_duration(kv.value.Scalar(), out)) {
      error(kv.mark(), field,
            "expected a duration (seconds, or e.g. 250ms, 30s, 5m, 1h30m, 1d), got " +
                describe(kv.value));
      return false;
    }
    if (positive && *out == 0) {
      error(kv.mark(), field, "must be above 0");
      return false;
    }
    return true;
  }

  // A number, or [lo, hi] for a per-client draw.
  bool read_spread(const KeyValue& kv, const std::string& field, Spread* out) {
    if (kv.value.IsSequence()) {
      double lo = 0;
      double hi = 0;
      if (kv.value.size() != 2 || !kv.value[0].IsScalar() || !kv.value[1].IsScalar() ||
          !parse_double(kv.value[0].Scalar(), &lo) || !parse_double(kv.value[1].Scalar(), &hi)) {
        error(kv.mark(), field, "expected a number or [low, high] with two numbers");
        return false;
      }
      if (lo > hi) {
        error(kv.mark(), field, "[" + fmt(lo) + ", " + fmt(hi) + "]: low is above high");
        return false;
      }
      *out = {lo, hi};
      return true;
    }
    double v = 0;
    if (!kv.value.IsScalar() || !parse_double(kv.value.Scalar(), &v)) {
      error(kv.mark(), field, "expected a number or [low, high], got " + describe(kv.value));
      return false;
    }
    *out = Spread::fixed(v);
    return true;
  }

  void parse_device(const KeyValue& device) {
    if (!device.value.IsMap()) {
      error(device.mark(), "device", "expected a map, got " + describe(device.value));
      return;
    }
    const std::vector<KeyValue> kvs = entries(device.value, "device");
    allow(kvs, "device",
          {"manufacturer", "model", "serial", "firmware", "type", "hardware", "software"});
    for (const KeyValue& kv : kvs) {
      std::string text;
      const std::string field = join("device", kv.name);
      if (!read_string(kv, field, &text)) {
        continue;
      }
      if (kv.name == "serial") {
        EndpointPattern pattern;
        if (std::string why = EndpointPattern::parse(text, &pattern); !why.empty()) {
          error(kv.mark(), field, pattern_reason(why));
        } else {
          serial_ = std::move(pattern);
        }
      } else {
        device_[kv.name] = text;
      }
    }
  }

  // A Send path must name something the device has and can read.
  void check_send_path(const Profile& profile, const Lwm2mPath& path, const YAML::Mark& mark) {
    const std::string what = path.to_string();
    bool found = false;
    for (const ProfileInstance& pi : profile.instances()) {
      if (pi.object != path.object ||
          (path.instance != Lwm2mPath::kAbsent && pi.instance != path.instance)) {
        continue;
      }
      if (path.depth() <= 2) {
        found = true;
        break;
      }
      const auto entries =
          profile.find_resource(pi.object, pi.instance, static_cast<uint16_t>(path.resource));
      if (entries.empty()) {
        break;
      }
      if (!entries.front().definition->operations.read) {
        error(mark, "send.paths", what + " is not readable");
        return;
      }
      found = path.depth() == 3 || std::any_of(entries.begin(), entries.end(), [&](const auto& r) {
                return r.path.resource_instance == path.resource_instance;
              });
      break;
    }
    if (!found) {
      error(mark, "send.paths", what + " is not in this profile");
    }
  }

  static bool is_senml(uint64_t format) {
    return format == CoapContentFormat::kSenmlJson || format == CoapContentFormat::kSenmlCbor;
  }

  void parse_registration(const KeyValue& reg, std::vector<uint16_t>* formats) {
    if (!reg.value.IsMap()) {
      error(reg.mark(), "registration", "expected a map, got " + describe(reg.value));
      return;
    }
    const std::vector<KeyValue> kvs = entries(reg.value, "registration");
    allow(kvs, "registration", {"content_formats"});
    if (const KeyValue* kv = find(kvs, "content_formats")) {
      const std::string field = "registration.content_formats";
      std::vector<YAML::Node> items;
      if (kv->value.IsSequence()) {
        for (const YAML::Node& n : kv->value) {
          items.push_back(n);
        }
      } else {
        items.push_back(kv->value);
      }
      for (const YAML::Node& n : items) {
        uint32_t f = 0;
        if (!n.IsScalar() || !parse_u32(n.Scalar(), &f) || !is_supported_format(f)) {
          error(n.Mark(), field,
                "expected content-format numbers this simulator speaks (0, 40, 42, 110, 112, "
                "11542, 11543, 11544), got " +
                    describe(n));
          continue;
        }
        formats->push_back(static_cast<uint16_t>(f));
      }
    }
  }

  void parse_send(const KeyValue& send, SendPlan* plan) {
    if (!send.value.IsMap()) {
      error(send.mark(), "send",
            "expected a map with period and paths, got " + describe(send.value));
      return;
    }
    const std::vector<KeyValue> kvs = entries(send.value, "send");
    allow(kvs, "send", {"period", "paths", "format", "confirmable"});
    if (const KeyValue* kv = find(kvs, "period")) {
      read_duration(*kv, "send.period", true, &plan->period);
    } else {
      error(send.mark(), "send.period", "missing (required)");
    }
    if (const KeyValue* kv = find(kvs, "paths");
        kv != nullptr && kv->value.IsSequence() && kv->value.size() > 0) {
      for (const YAML::Node& n : kv->value) {
        Lwm2mPath path;
        if (!n.IsScalar() || !parse_lwm2m_path(n.Scalar(), &path) || path.depth() < 1) {
          error(n.Mark(), "send.paths",
                "expected an LwM2M path like /3303/0/5700, got " + describe(n));
          continue;
        }
        plan->paths.push_back(path);
        send_paths_.push_back({path, n.Mark()});
      }
    } else {
      error(kv != nullptr ? kv->mark() : send.mark(), "send.paths",
            "expected a non-empty list of paths");
    }
    if (const KeyValue* kv = find(kvs, "format")) {
      uint32_t f = 0;
      if (!kv->value.IsScalar() || !parse_u32(kv->value.Scalar(), &f) || !is_senml(f)) {
        error(kv->mark(), "send.format",
              "expected 110 (SenML JSON) or 112 (SenML CBOR), got " + describe(kv->value));
      } else {
        plan->format = static_cast<uint16_t>(f);
      }
    }
    if (const KeyValue* kv = find(kvs, "confirmable")) {
      read_bool(*kv, "send.confirmable", &plan->confirmable);
    }
  }

  // EndpointPattern words its reasons for endpoint names.
  static std::string pattern_reason(std::string why) {
    constexpr std::string_view kPrefix = "endpoint pattern ";
    if (why.starts_with(kPrefix)) {
      why.replace(0, kPrefix.size(), "pattern ");
    }
    return why;
  }

  void parse_objects(const KeyValue& objects,
                     std::map<std::pair<uint16_t, uint16_t>, InstanceDraft>* out) {
    if (objects.value.IsNull()) {
      return;
    }
    if (!objects.value.IsMap()) {
      error(objects.mark(), "objects",
            "expected a map of object id to instances, got " + describe(objects.value));
      return;
    }
    for (const KeyValue& kv : entries(objects.value, "objects")) {
      const std::string field = join("objects", kv.name);
      uint32_t id = 0;
      if (!parse_id(kv.name, kMaxId, &id)) {
        error(kv.key.Mark(), field, "expected an object id (0 to 65534)");
        continue;
      }
      const ObjectDefinition* def = registry_.find(static_cast<uint16_t>(id));
      if (def == nullptr) {
        error(
            kv.key.Mark(), field,
            "object " + kv.name + " is not in the registry (load its DDF file with --models DIR)");
        continue;
      }
      parse_object(kv, field, *def, out);
    }
  }

  void parse_object(const KeyValue& object, const std::string& field, const ObjectDefinition& def,
                    std::map<std::pair<uint16_t, uint16_t>, InstanceDraft>* out) {
    const YAML::Node& body = object.value;
    const std::string usage =
        "expected instances: a map of instance id to resources, or count and resources";
    if (!body.IsMap() || body.size() == 0) {
      error(object.mark(), field, usage + ", got " + describe(body));
      return;
    }
    const std::vector<KeyValue> kvs = entries(body, field);
    if (kvs.empty()) {
      return;
    }
    if (!is_id_key(kvs.front().key)) {
      // The count form: `count` identical instances 0..count-1.
      allow(kvs, field, {"count", "resources"});
      uint32_t count = 1;
      YAML::Mark count_mark = body.Mark();
      if (const KeyValue* c = find(kvs, "count")) {
        count_mark = c->mark();
        const std::string count_field = join(field, "count");
        if (!c->value.IsScalar() || !parse_id(c->value.Scalar(), kMaxId + 1, &count) ||
            count == 0) {
          error(c->mark(), count_field,
                "expected a number of instances (1 to 65535), got " + describe(c->value));
          return;
        }
        if (!def.multiple && count != 1) {
          error(c->mark(), count_field,
                def.name + " (" + std::to_string(def.id) +
                    ") is single-instance; count must be 1, got " + std::to_string(count));
          return;
        }
      } else {
        error(body.Mark(), join(field, "count"), "missing (required)");
      }
      // Each instance adds at least ",</O/I>" to a Register (Security and OSCORE aside) and to a
      // Bootstrap-Discover answer: refuse before building what neither could list.
      link_bytes_ += count * (6 + std::to_string(def.id).size());
      if (link_bytes_ > kMaxRegistrationLinks) {
        links_reported_ = true;
        error(count_mark, join(field, "count"),
              std::to_string(count) + " instances make at least " + std::to_string(link_bytes_) +
                  " bytes of instance links, more than a Register or a Bootstrap-Discover answer "
                  "carries (" +
                  std::to_string(kMaxRegistrationLinks) + "; neither is sent block-wise)");
        return;
      }
      const KeyValue* res = find(kvs, "resources");
      auto map = std::make_shared<ResourceMap>();
      if (res != nullptr) {
        parse_resources(*res, join(field, "resources"), def, map.get());
      }
      map->mark = object.key.Mark();
      map->field = field;
      for (uint32_t i = 0; i < count; ++i) {
        (*out)[{def.id, static_cast<uint16_t>(i)}] = {&def, map};
      }
      return;
    }
    for (const KeyValue& kv : kvs) {
      const std::string inst_field = join(field, kv.name);
      uint32_t instance = 0;
      if (!parse_id(kv.name, kMaxId, &instance)) {
        error(kv.key.Mark(), inst_field,
              is_id_key(kv.key) ? "instance ids go from 0 to 65534"
                                : "expected an instance id; count and resources cannot be mixed "
                                  "with instance ids");
        continue;
      }
      if (!def.multiple && instance != 0) {
        error(kv.key.Mark(), inst_field,
              def.name + " (" + std::to_string(def.id) +
                  ") is single-instance; its only instance is 0");
        continue;
      }
      link_bytes_ += 5 + std::to_string(def.id).size() + std::to_string(instance).size();
      auto map = std::make_shared<ResourceMap>();
      parse_resources(kv, inst_field, def, map.get());
      map->mark = kv.key.Mark();
      map->field = inst_field;
      (*out)[{def.id, static_cast<uint16_t>(instance)}] = {&def, map};
    }
  }

  void parse_resources(const KeyValue& resources, const std::string& field,
                       const ObjectDefinition& def, ResourceMap* out) {
    if (resources.value.IsNull()) {
      return;
    }
    if (!resources.value.IsMap()) {
      error(
          resources.mark(), field,
          "expected a map of resource id to value or generator, got " + describe(resources.value));
      return;
    }
    for (const KeyValue& kv : entries(resources.value, field)) {
      const std::string res_field = join(field, kv.name);
      uint32_t id = 0;
      if (!parse_id(kv.name, kMaxId, &id)) {
        error(kv.key.Mark(), res_field, "expected a resource id (0 to 65534)");
        continue;
      }
      const ResourceDefinition* rdef = def.resource(static_cast<uint16_t>(id));
      if (rdef == nullptr) {
        error(
            kv.key.Mark(), res_field,
            "object " + std::to_string(def.id) + " (" + def.name + ") has no resource " + kv.name);
        continue;
      }
      ResourceDraft draft;
      draft.def = rdef;
      out->written.insert(static_cast<uint16_t>(id));
      if (parse_resource(kv, res_field, *rdef, &draft)) {
        out->resources[static_cast<uint16_t>(id)] = std::move(draft);
      }
    }
  }

  static bool is_spec_map(const YAML::Node& node) {
    return node.IsMap() && (node["generator"] || node["value"]);
  }

  bool parse_resource(const KeyValue& kv, const std::string& field, const ResourceDefinition& def,
                      ResourceDraft* out) {
    if (def.operations.execute || def.type == ResourceType::kNone) {
      if (!kv.value.IsNull()) {
        error(kv.mark(), field, def.name + " is executable and takes no value");
        return false;
      }
      out->entries.emplace_back(Lwm2mPath::kAbsent, constant_spec(ResourceType::kNone, {}));
      return true;
    }
    const bool listed = kv.value.IsSequence();
    const bool keyed = kv.value.IsMap() && !is_spec_map(kv.value) && kv.value.size() > 0 &&
                       is_id_key(kv.value.begin()->first);
    if (!def.multiple) {
      if (listed || keyed) {
        error(kv.mark(), field,
              def.name +
                  " is a single resource; a list or map of resource instances is only "
                  "for multiple resources");
        return false;
      }
      GeneratorSpec spec;
      if (!parse_spec(kv, field, def, &spec)) {
        return false;
      }
      out->entries.emplace_back(Lwm2mPath::kAbsent, std::move(spec));
      return true;
    }
    bool ok = true;
    if (listed) {
      uint32_t i = 0;
      for (auto it = kv.value.begin(); it != kv.value.end(); ++it, ++i) {
        const KeyValue item{std::to_string(i), kv.key, *it};
        GeneratorSpec spec;
        if (parse_spec(item, field + "[" + item.name + "]", def, &spec)) {
          out->entries.emplace_back(i, std::move(spec));
        } else {
          ok = false;
        }
      }
      if (i == 0) {
        error(kv.mark(), field, "an empty list gives the resource no instances");
        return false;
      }
    } else if (keyed) {
      for (const KeyValue& item : entries(kv.value, field)) {
        const std::string item_field = join(field, item.name);
        uint32_t ri = 0;
        if (!parse_id(item.name, kMaxId, &ri)) {
          error(item.key.Mark(), item_field, "expected a resource instance id (0 to 65534)");
          ok = false;
          continue;
        }
        GeneratorSpec spec;
        if (parse_spec(item, item_field, def, &spec)) {
          out->entries.emplace_back(ri, std::move(spec));
        } else {
          ok = false;
        }
      }
      std::sort(out->entries.begin(), out->entries.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
    } else {
      GeneratorSpec spec;
      if (!parse_spec(kv, field, def, &spec)) {
        return false;
      }
      out->entries.emplace_back(0, std::move(spec));
    }
    return ok && !out->entries.empty();
  }

  // A typed constant; the reason on failure.
  static std::string parse_value(const YAML::Node& node, const ResourceDefinition& def,
                                 Value* out) {
    if (!node.IsScalar()) {
      return "expected " + a_type(def.type) + " value for " + def.name + ", got " + describe(node);
    }
    const std::string& s = node.Scalar();
    const auto wrong = [&] {
      return "expected " + a_type(def.type) + " value for " + def.name + ", got \"" + s + "\"";
    };
    double number = 0;
    switch (def.type) {
      case ResourceType::kString:
        *out = s;
        return {};
      case ResourceType::kCoreLink:
        *out = CoreLink{s};
        return {};
      case ResourceType::kBoolean: {
        bool b = false;
        if (!parse_bool(s, &b)) {
          return wrong();
        }
        *out = b;
        return {};
      }
      case ResourceType::kInteger: {
        int64_t v = 0;
        if (!parse_int(s, &v)) {
          return wrong();
        }
        *out = v;
        number = static_cast<double>(v);
        break;
      }
      case ResourceType::kUnsignedInteger: {
        uint64_t v = 0;
        if (!parse_int(s, &v)) {
          return wrong();
        }
        *out = v;
        number = static_cast<double>(v);
        break;
      }
      case ResourceType::kFloat:
        if (!parse_double(s, &number)) {
          return wrong();
        }
        *out = number;
        break;
      case ResourceType::kTime: {
        int64_t v = 0;
        if (!parse_int(s, &v)) {
          return wrong() + " (Unix seconds)";
        }
        *out = TimeValue{v};
        return {};
      }
      case ResourceType::kOpaque: {
        // !!binary is base64; any other scalar stands for its own bytes.
        if (node.Tag() == "tag:yaml.org,2002:binary") {
          // yaml-cpp's decoder indexes a table with each byte as a plain char, so bytes above
          // 0x7f read outside it: only the base64 alphabet and whitespace get that far.
          const bool base64_text = std::all_of(s.begin(), s.end(), [](char c) {
            return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                   c == '+' || c == '/' || c == '=' || c == ' ' || c == '\t' || c == '\n' ||
                   c == '\r';
          });
          if (!base64_text) {
            return "invalid base64 in !!binary value for " + def.name;
          }
          const std::vector<unsigned char> bytes = YAML::DecodeBase64(s);
          if (bytes.empty() && !s.empty()) {
            return "invalid base64 in !!binary value for " + def.name;
          }
          *out = Opaque{std::vector<uint8_t>(bytes.begin(), bytes.end())};
        } else {
          *out = Opaque{std::vector<uint8_t>(s.begin(), s.end())};
        }
        return {};
      }
      case ResourceType::kObjlnk: {
        const size_t colon = s.find(':');
        uint32_t o = 0;
        uint32_t i = 0;
        if (colon == std::string::npos || !parse_id(s.substr(0, colon), 65535, &o) ||
            !parse_id(s.substr(colon + 1), 65535, &i)) {
          return wrong() + " (OBJECT:INSTANCE)";
        }
        *out = Objlnk{static_cast<uint16_t>(o), static_cast<uint16_t>(i)};
        return {};
      }
      case ResourceType::kNone:
        return def.name + " takes no value";
    }
    if ((def.min && number < *def.min) || (def.max && number > *def.max)) {
      return s + " is outside " + def.name + "'s range " + range_of(def);
    }
    return {};
  }

  bool parse_constant(const YAML::Node& node, const YAML::Mark& mark, const std::string& field,
                      const ResourceDefinition& def, GeneratorSpec* out) {
    Value v;
    if (std::string why = parse_value(node, def, &v); !why.empty()) {
      error(mark, field, why);
      return false;
    }
    *out = constant_spec(def.type, std::move(v));
    return true;
  }

  // A resource (instance) value: a scalar, {value: X}, or {generator: KIND, ...}.
  bool parse_spec(const KeyValue& kv, const std::string& field, const ResourceDefinition& def,
                  GeneratorSpec* out) {
    const YAML::Node& node = kv.value;
    if (node.IsNull()) {
      error(kv.mark(), field, "needs a value or a generator");
      return false;
    }
    if (node.IsScalar()) {
      return parse_constant(node, kv.mark(), field, def, out);
    }
    if (!node.IsMap()) {
      error(kv.mark(), field,
            "expected a value, {value: ...} or {generator: ...}, got " + describe(node));
      return false;
    }
    const std::vector<KeyValue> kvs = entries(node, field);
    const KeyValue* gen = find(kvs, "generator");
    if (gen == nullptr) {
      if (const KeyValue* value = find(kvs, "value")) {
        allow(kvs, field, {"value"});
        return parse_constant(value->value, value->mark(), join(field, "value"), def, out);
      }
      error(kv.mark(), join(field, "generator"), "missing (a map value needs generator or value)");
      return false;
    }
    GeneratorKind kind = GeneratorKind::kConstant;
    const std::string gen_field = join(field, "generator");
    if (!gen->value.IsScalar() || !parse_generator_kind(gen->value.Scalar(), &kind)) {
      error(gen->mark(), gen_field,
            "unknown generator " + describe(gen->value) +
                " (one of: constant, pattern, uniform, random_walk, sine, counter, steps, csv, "
                "clock)");
      return false;
    }
    return parse_generator(kind, *gen, kvs, kv.mark(), field, def, out);
  }

  bool check_type(GeneratorKind kind, const KeyValue& gen, const std::string& field,
                  const ResourceDefinition& def) {
    bool ok = true;
    std::string wants;
    if (is_numeric_kind(kind)) {
      ok = is_numeric(def.type);
      wants = "a numeric (integer, unsigned integer or float) resource";
    } else if (kind == GeneratorKind::kClock) {
      ok = def.type == ResourceType::kTime || def.type == ResourceType::kInteger ||
           def.type == ResourceType::kUnsignedInteger;
      wants = "a time or integer resource";
    } else if (kind == GeneratorKind::kPattern) {
      ok = def.type == ResourceType::kString;
      wants = "a string resource";
    }
    if (!ok) {
      error(gen.mark(), join(field, "generator"),
            std::string(to_string(kind)) + " needs " + wants + "; " + def.name + " is " +
                a_type(def.type));
    }
    return ok;
  }

  // The generator's own min/max intersected with the resource's range.
  bool read_bounds(const std::vector<KeyValue>& kvs, const YAML::Mark& mark,
                   const std::string& field, const ResourceDefinition& def, GeneratorSpec* spec) {
    double lo = -kInf;
    double hi = kInf;
    bool ok = true;
    const KeyValue* min = find(kvs, "min");
    const KeyValue* max = find(kvs, "max");
    if (min != nullptr) {
      ok = read_number(*min, join(field, "min"), &lo) && ok;
    }
    if (max != nullptr) {
      ok = read_number(*max, join(field, "max"), &hi) && ok;
    }
    if (!ok) {
      return false;
    }
    if (lo > hi) {
      error(min->mark(), join(field, "min"),
            "min " + fmt(lo) + " is above max " + fmt(hi) + " (bounds inverted)");
      return false;
    }
    const double rlo = def.min.value_or(-kInf);
    const double rhi = def.max.value_or(kInf);
    spec->min = std::max(lo, rlo);
    spec->max = std::min(hi, rhi);
    if (def.type == ResourceType::kUnsignedInteger) {
      spec->min = std::max(spec->min, 0.0);
    }
    if (spec->min > spec->max) {
      error(mark, field,
            "bounds [" + fmt(lo) + ", " + fmt(hi) + "] do not overlap " + def.name + "'s range " +
                range_of(def));
      return false;
    }
    if (is_integral(def.type) && std::ceil(spec->min) > std::floor(spec->max)) {
      error(mark, field,
            "no whole number lies within [" + fmt(spec->min) + ", " + fmt(spec->max) + "]");
      return false;
    }
    return true;
  }

  bool require_finite_bounds(GeneratorKind kind, const YAML::Mark& mark, const std::string& field,
                             const ResourceDefinition& def, const GeneratorSpec& spec) {
    if (std::isfinite(spec.min) && std::isfinite(spec.max)) {
      return true;
    }
    error(mark, field,
          std::string(to_string(kind)) + " needs min and max (" + def.name + "'s range is " +
              range_of(def) + ")");
    return false;
  }

  // `mark` is the generator map's: missing keys and bounds are reported there.
  bool parse_generator(GeneratorKind kind, const KeyValue& gen, const std::vector<KeyValue>& kvs,
                       const YAML::Mark& mark, const std::string& field,
                       const ResourceDefinition& def, GeneratorSpec* out) {
    switch (kind) {
      case GeneratorKind::kConstant:
        allow(kvs, field, {"generator", "value"});
        break;
      case GeneratorKind::kPattern:
        allow(kvs, field, {"generator", "format"});
        break;
      case GeneratorKind::kUniform:
        allow(kvs, field, {"generator", "min", "max", "period"});
        break;
      case GeneratorKind::kRandomWalk:
        allow(kvs, field, {"generator", "start", "step", "min", "max", "period"});
        break;
      case GeneratorKind::kSine:
        allow(kvs, field,
              {"generator", "mean", "amplitude", "period", "phase", "noise", "interval", "min",
               "max"});
        break;
      case GeneratorKind::kCounter:
        allow(kvs, field,
              {"generator", "start", "increment", "period", "wrap", "shape", "shape_period", "min",
               "max"});
        break;
      case GeneratorKind::kSteps:
        allow(kvs, field, {"generator", "steps", "repeat"});
        break;
      case GeneratorKind::kCsv:
        allow(kvs, field,
              {"generator", "file", "column", "period", "loop", "interpolate", "stagger", "min",
               "max"});
        break;
      case GeneratorKind::kClock:
        allow(kvs, field, {"generator", "period"});
        break;
    }
    if (!check_type(kind, gen, field, def)) {
      return false;
    }
    GeneratorSpec spec;
    spec.type = def.type;
    if (is_numeric_kind(kind) || kind == GeneratorKind::kClock) {
      if (!read_bounds(kvs, mark, field, def, &spec)) {
        return false;
      }
    }
    bool ok = true;
    // Reads an optional key with `reader`; a missing required key is reported at the map.
    const auto get = [&](std::string_view name, bool required, auto&& reader) {
      const KeyValue* kv = find(kvs, name);
      if (kv == nullptr) {
        if (required) {
          error(mark, join(field, name),
                "missing (required by " + std::string(to_string(kind)) + ")");
          ok = false;
        }
        return;
      }
      if (!reader(*kv, join(field, name))) {
        ok = false;
      }
    };
    const auto duration = [&](TimeUs* d, bool positive) {
      return [this, d, positive](const KeyValue& kv, const std::string& f) {
        return read_duration(kv, f, positive, d);
      };
    };
    const auto non_negative = [&](double* d) {
      return [this, d](const KeyValue& kv, const std::string& f) {
        return read_non_negative(kv, f, d);
      };
    };
    const auto spread = [&](Spread* s) {
      return [this, s](const KeyValue& kv, const std::string& f) { return read_spread(kv, f, s); };
    };
    const auto boolean = [&](bool* b) {
      return [this, b](const KeyValue& kv, const std::string& f) { return read_bool(kv, f, b); };
    };

    switch (kind) {
      case GeneratorKind::kConstant: {
        get("value", true, [&](const KeyValue& kv, const std::string& f) {
          return parse_constant(kv.value, kv.mark(), f, def, &spec);
        });
        break;
      }
      case GeneratorKind::kPattern: {
        PatternParams p;
        get("format", true, [&](const KeyValue& kv, const std::string& f) {
          std::string text;
          if (!read_string(kv, f, &text)) {
            return false;
          }
          if (std::string why = EndpointPattern::parse(text, &p.pattern); !why.empty()) {
            error(kv.mark(), f, pattern_reason(why));
            return false;
          }
          return true;
        });
        spec.params = std::move(p);
        break;
      }
      case GeneratorKind::kUniform: {
        UniformParams p;
        get("period", false, duration(&p.period, true));
        ok = require_finite_bounds(kind, mark, field, def, spec) && ok;
        spec.params = p;
        break;
      }
      case GeneratorKind::kRandomWalk: {
        RandomWalkParams p;
        get("start", true, spread(&p.start));
        get("step", true, non_negative(&p.step));
        get("period", false, duration(&p.period, true));
        ok = require_finite_bounds(kind, mark, field, def, spec) && ok;
        if (ok && (p.start.lo < spec.min || p.start.hi > spec.max)) {
          error(find(kvs, "start")->mark(), join(field, "start"),
                "start must lie within the bounds [" + fmt(spec.min) + ", " + fmt(spec.max) + "]");
          ok = false;
        }
        spec.params = p;
        break;
      }
      case GeneratorKind::kSine: {
        SineParams p;
        get("mean", true, spread(&p.mean));
        get("amplitude", true, non_negative(&p.amplitude));
        get("period", true, duration(&p.period, true));
        get("phase", false, duration(&p.phase, false));
        get("noise", false, non_negative(&p.noise));
        get("interval", false, duration(&p.interval, true));
        spec.params = p;
        break;
      }
      case GeneratorKind::kCounter: {
        CounterParams p;
        std::vector<double> weights;
        const KeyValue* shape_kv = nullptr;
        TimeUs shape_period = 86400 * kUsPerSec;
        get("start", false, spread(&p.start));
        get("increment", false, spread(&p.increment));
        get("period", false, duration(&p.period, true));
        get("wrap", false, boolean(&p.wrap));
        get("shape_period", false, duration(&shape_period, true));
        get("shape", false, [&](const KeyValue& kv, const std::string& f) {
          shape_kv = &kv;
          if (!kv.value.IsSequence()) {
            error(kv.mark(), f, "expected a list of relative rates, got " + describe(kv.value));
            return false;
          }
          for (auto it = kv.value.begin(); it != kv.value.end(); ++it) {
            double w = 0;
            if (!it->IsScalar() || !parse_double(it->Scalar(), &w)) {
              error(it->Mark(), f, "expected a number, got " + describe(*it));
              return false;
            }
            weights.push_back(w);
          }
          return true;
        });
        if (ok && shape_kv != nullptr) {
          if (std::string why = make_counter_shape(weights, shape_period, &p.shape); !why.empty()) {
            error(shape_kv->mark(), join(field, "shape"), why);
            ok = false;
          }
        } else if (shape_kv == nullptr && find(kvs, "shape_period") != nullptr) {
          error(find(kvs, "shape_period")->key.Mark(), join(field, "shape_period"),
                "has no effect without shape");
          ok = false;
        }
        if (p.wrap && !(std::isfinite(spec.min) && std::isfinite(spec.max))) {
          error(find(kvs, "wrap")->mark(), join(field, "wrap"),
                "needs min and max (" + def.name + "'s range is " + range_of(def) + ")");
          ok = false;
        }
        spec.params = std::move(p);
        break;
      }
      case GeneratorKind::kSteps: {
        StepsParams p;
        get("repeat", false, duration(&p.repeat, true));
        get("steps", true,
            [&](const KeyValue& kv, const std::string& f) { return parse_steps(kv, f, def, &p); });
        if (ok && p.repeat > 0 && p.steps.back().at >= p.repeat) {
          error(find(kvs, "repeat")->mark(), join(field, "repeat"),
                "every step must come before repeat; the last is at " +
                    fmt(static_cast<double>(p.steps.back().at) / 1e6) + "s");
          ok = false;
        }
        spec.params = std::move(p);
        break;
      }
      case GeneratorKind::kCsv: {
        CsvParams p;
        std::string file;
        std::string column;
        const KeyValue* file_kv = nullptr;
        const KeyValue* column_kv = nullptr;
        get("file", true, [&](const KeyValue& kv, const std::string& f) {
          file_kv = &kv;
          return read_string(kv, f, &file);
        });
        get("column", true, [&](const KeyValue& kv, const std::string& f) {
          column_kv = &kv;
          return read_string(kv, f, &column);
        });
        get("period", true, duration(&p.period, true));
        get("loop", false, boolean(&p.loop));
        get("interpolate", false, boolean(&p.interpolate));
        get("stagger", false, boolean(&p.stagger));
        if (file_kv != nullptr && column_kv != nullptr && !file.empty()) {
          ok = load_column(*file_kv, *column_kv, field, file, column, &p) && ok;
        }
        spec.params = std::move(p);
        break;
      }
      case GeneratorKind::kClock: {
        ClockParams p;
        get("period", false, duration(&p.period, true));
        spec.params = p;
        break;
      }
    }
    if (ok) {
      *out = std::move(spec);
    }
    return ok;
  }

  bool parse_steps(const KeyValue& kv, const std::string& field, const ResourceDefinition& def,
                   StepsParams* p) {
    if (!kv.value.IsSequence() || kv.value.size() == 0) {
      error(kv.mark(), field,
            "expected a list of {at: DURATION, value: VALUE}, got " + describe(kv.value));
      return false;
    }
    bool ok = true;
    size_t i = 0;
    for (auto it = kv.value.begin(); it != kv.value.end(); ++it, ++i) {
      const std::string step_field = field + "[" + std::to_string(i) + "]";
      if (!it->IsMap()) {
        error(it->Mark(), step_field,
              "expected {at: DURATION, value: VALUE}, got " + describe(*it));
        ok = false;
        continue;
      }
      const std::vector<KeyValue> kvs = entries(*it, step_field);
      allow(kvs, step_field, {"at", "value"});
      const KeyValue* at = find(kvs, "at");
      const KeyValue* value = find(kvs, "value");
      Step step;
      bool step_ok = true;
      if (at == nullptr) {
        error(it->Mark(), join(step_field, "at"), "missing (required)");
        step_ok = false;
      } else {
        step_ok = read_duration(*at, join(step_field, "at"), false, &step.at) && step_ok;
      }
      if (value == nullptr) {
        error(it->Mark(), join(step_field, "value"), "missing (required)");
        step_ok = false;
      } else if (std::string why = parse_value(value->value, def, &step.value); !why.empty()) {
        error(value->mark(), join(step_field, "value"), why);
        step_ok = false;
      }
      if (step_ok && !p->steps.empty() && step.at <= p->steps.back().at) {
        error(at->mark(), join(step_field, "at"),
              "steps must be in increasing order of at; the previous one is at " +
                  fmt(static_cast<double>(p->steps.back().at) / 1e6) + "s");
        step_ok = false;
      }
      if (step_ok) {
        p->steps.push_back(std::move(step));
      }
      ok = ok && step_ok;
    }
    return ok;
  }

  bool load_column(const KeyValue& file_kv, const KeyValue& column_kv, const std::string& field,
                   const std::string& file, const std::string& column, CsvParams* p) {
    fs::path path(file);
    if (path.is_relative()) {
      path = fs::path(base_dir_) / path;
    }
    const std::string key = path.lexically_normal().string();
    auto [it, inserted] = csv_.try_emplace(key);
    LoadedCsv& csv = it->second;
    if (inserted) {
      std::ifstream in(path, std::ios::binary);
      if (!in) {
        std::error_code ec;
        const bool exists = fs::exists(path, ec);
        csv.error = "cannot read " + file + " (" + key +
                    "): " + (exists ? "permission denied or not a file" : "no such file");
      } else {
        std::ostringstream buf;
        buf << in.rdbuf();
        if (std::string why = parse_csv(buf.str(), &csv.table); !why.empty()) {
          csv.error = file + ":" + why;
        }
      }
    }
    if (!csv.error.empty()) {
      error(file_kv.mark(), join(field, "file"), csv.error);
      return false;
    }
    auto col = csv.columns.find(column);
    if (col == csv.columns.end()) {
      std::vector<double> values;
      if (std::string why = csv_column(csv.table, column, &values); !why.empty()) {
        error(column_kv.mark(), join(field, "column"), file + ": " + why);
        return false;
      }
      col = csv.columns
                .emplace(column, std::make_shared<const std::vector<double>>(std::move(values)))
                .first;
    }
    p->column = col->second;
    p->stagger_salt = fnv1a(key);
    return true;
  }

  // Security /0/0, Server /1/0 and Device /3/0 exist in every profile; what the YAML gives for
  // them wins, the rest comes from here (and Device's from the device: block).
  void add_defaults(std::map<std::pair<uint16_t, uint16_t>, InstanceDraft>* instances) {
    const auto apply = [&](uint16_t object, auto&& fill) {
      const ObjectDefinition* def = registry_.find(object);
      if (def == nullptr) {
        return;
      }
      const bool object_given =
          std::any_of(instances->begin(), instances->end(),
                      [object](const auto& kv) { return kv.first.first == object; });
      auto it = instances->find({object, 0});
      if (object_given && it == instances->end()) {
        return;  // the profile lists its own instances of this object
      }
      auto map = std::make_shared<ResourceMap>();
      if (it != instances->end()) {
        *map = *it->second.written;
      } else {
        map->field = "objects." + std::to_string(object) + ".0";
      }
      const auto set = [&](uint16_t id, GeneratorSpec spec, uint32_t ri = Lwm2mPath::kAbsent) {
        const ResourceDefinition* rdef = def->resource(id);
        if (rdef == nullptr || map->resources.count(id) != 0 || rdef->type != spec.type ||
            rdef->multiple != (ri != Lwm2mPath::kAbsent)) {
          return;  // a replaced definition that does not fit the default
        }
        ResourceDraft draft;
        draft.def = rdef;
        draft.entries.emplace_back(ri, std::move(spec));
        map->resources[id] = std::move(draft);
      };
      fill(set);
      (*instances)[{object, 0}] = {def, std::move(map)};
    };
    using T = ResourceType;
    apply(0, [](auto&& set) {
      set(0, constant_spec(T::kString, std::string(kServerUriPlaceholder)));
      set(1, constant_spec(T::kBoolean, false));
      set(2, constant_spec(T::kInteger, int64_t{3}));  // NoSec
      set(3, constant_spec(T::kOpaque, Opaque{}));
      set(4, constant_spec(T::kOpaque, Opaque{}));
      set(5, constant_spec(T::kOpaque, Opaque{}));
      set(10, constant_spec(T::kInteger, int64_t{1}));
    });
    apply(1, [](auto&& set) {
      set(0, constant_spec(T::kInteger, int64_t{1}));
      set(1, constant_spec(T::kInteger, int64_t{300}));
      set(6, constant_spec(T::kBoolean, true));
      set(7, constant_spec(T::kString, std::string("U")));
    });
    apply(3, [this](auto&& set) {
      const auto text = [this](const char* key, const char* fallback) {
        const auto it = device_.find(key);
        return constant_spec(T::kString, it == device_.end() ? std::string(fallback) : it->second);
      };
      set(0, text("manufacturer", "lwm2m-sim"));
      set(1, text("model", "virtual-device"));
      GeneratorSpec serial;
      serial.type = T::kString;
      if (serial_) {
        serial.params = PatternParams{*serial_};
      } else {
        EndpointPattern fallback;
        EndpointPattern::parse("SN%010d", &fallback);
        serial.params = PatternParams{fallback};
      }
      set(2, std::move(serial));
      set(3, text("firmware", "1.0.0"));
      set(11, constant_spec(T::kInteger, int64_t{0}), 0);  // no error
      GeneratorSpec clock;
      clock.type = T::kTime;
      clock.params = ClockParams{};
      set(13, std::move(clock));
      set(16, constant_spec(T::kString, std::string("U")));
      constexpr std::pair<const char*, uint16_t> kOptional[] = {
          {"type", 17}, {"hardware", 18}, {"software", 19}};
      for (const auto& [key, id] : kOptional) {
        if (device_.count(key) != 0) {
          set(id, text(key, ""));
        }
      }
    });
  }

  void build(const std::map<std::pair<uint16_t, uint16_t>, InstanceDraft>& instances,
             Profile* profile) {
    std::set<std::pair<const ResourceMap*, uint16_t>> missing;
    for (const auto& [key, draft] : instances) {
      const auto [object, instance] = key;
      ProfileInstance pi;
      pi.object = object;
      pi.instance = instance;
      pi.definition = draft.def;
      pi.first_resource = static_cast<uint32_t>(profile->resources_.size());
      const ResourceMap& written = *draft.written;
      std::map<uint16_t, const ResourceDraft*> all;
      for (const auto& [id, res] : written.resources) {
        all[id] = &res;
      }
      std::vector<ResourceDraft> executables;
      executables.reserve(draft.def->resources.size());
      for (const ResourceDefinition& rdef : draft.def->resources) {
        if (!rdef.mandatory || all.count(rdef.id) != 0 || written.written.count(rdef.id) != 0) {
          continue;
        }
        if (rdef.operations.execute || rdef.type == ResourceType::kNone) {
          ResourceDraft exec;
          exec.def = &rdef;
          exec.entries.emplace_back(Lwm2mPath::kAbsent, constant_spec(ResourceType::kNone, {}));
          executables.push_back(std::move(exec));
          all[rdef.id] = &executables.back();
        } else if (missing.insert({&written, rdef.id}).second) {
          // Once for a count form's shared map, not once per instance.
          error(
              written.mark, written.field,
              "mandatory resource " + std::to_string(rdef.id) + " (" + rdef.name + ") is missing");
        }
      }
      for (const auto& [id, res] : all) {
        for (const auto& [ri, spec] : res->entries) {
          ProfileResource pr;
          pr.path = Lwm2mPath{object, instance, id, ri};
          pr.definition = res->def;
          pr.generator = spec;
          pr.generator.stream = path_stream(pr.path);
          profile->state_bytes_ += state_bytes(pr.generator);
          profile->resources_.push_back(std::move(pr));
        }
      }
      pi.resource_count = static_cast<uint32_t>(profile->resources_.size() - pi.first_resource);
      profile->instances_.push_back(pi);
      if (announced_in_register(object)) {
        profile->registration_.push_back(Lwm2mPath{object, instance});
      }
    }
  }

  std::string base_dir_;
  const ObjectRegistry& registry_;
  // A lower bound on the links that list the instances parsed so far, in bytes.
  size_t link_bytes_ = 0;
  bool links_reported_ = false;
  std::vector<std::pair<Lwm2mPath, YAML::Mark>> send_paths_;
  std::map<std::string, std::string> device_;
  std::optional<EndpointPattern> serial_;
  std::map<std::string, LoadedCsv> csv_;
};

std::string load_profile_text(std::string_view yaml, std::string_view source_name,
                              const std::string& base_dir, const ObjectRegistry& registry,
                              Profile* out) {
  ProfileLoader loader(source_name, base_dir, registry);
  return loader.load(yaml, out);
}

bool parse_file_duration(std::string_view text, TimeUs* out) {
  return parse_duration(text, out);
}

std::string load_profile(const std::string& path, const ObjectRegistry& registry, Profile* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return path + ":0:0: file: cannot read the profile";
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  const std::string base = fs::path(path).parent_path().string();
  return load_profile_text(buf.str(), path, base.empty() ? "." : base, registry, out);
}

}  // namespace lwm2msim

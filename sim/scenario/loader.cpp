// YAML scenario loading. Like the profile loader, it walks the whole document and keeps going
// after a problem, so one run reports every mistake in a file, and in the profiles it names; a
// plan is only returned when there were none.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
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
#include <variant>
#include <vector>

#include "sim/dm/attributes.h"
#include "sim/profile/generator.h"
#include "sim/profile/yaml_checker.h"
#include "sim/scenario/scenario.h"
#include "sim/util/address_plan.h"

namespace lwm2msim {
namespace {

namespace fs = std::filesystem;

// Fleet indexes are 32-bit, as for `run --clients`.
constexpr uint64_t kMaxDevices = UINT32_MAX;
// LwM2M 1.1 section 6.5: a queue-mode client stays awake at least MAX_TRANSMIT_WAIT (93 s).
constexpr TimeUs kDefaultAwake = 93 * kUsPerSec;
// As `run --reboot-delay`.
constexpr TimeUs kDefaultRebootDowntime = 5 * kUsPerSec;

using yaml::comma_list;
using yaml::describe;
using yaml::fmt;
using yaml::join;
using yaml::KeyValue;
using yaml::parse_double;

bool parse_u64(std::string_view s, uint64_t* out) {
  if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

// A list's items; anything else is a list of one.
std::vector<YAML::Node> items_of(const YAML::Node& node) {
  std::vector<YAML::Node> out;
  if (node.IsSequence()) {
    for (const YAML::Node& n : node) {
      out.push_back(n);
    }
  } else {
    out.push_back(node);
  }
  return out;
}

bool parse_bool(std::string_view s, bool* out) {
  if (s == "true" || s == "True" || s == "TRUE") {
    *out = true;
    return true;
  }
  if (s == "false" || s == "False" || s == "FALSE") {
    *out = false;
    return true;
  }
  return false;
}

bool parse_hex(std::string_view s, std::vector<uint8_t>* out) {
  if (s.empty() || s.size() % 2 != 0) {
    return false;
  }
  out->clear();
  for (size_t i = 0; i < s.size(); i += 2) {
    uint8_t byte = 0;
    const auto [ptr, ec] = std::from_chars(s.data() + i, s.data() + i + 2, byte, 16);
    if (ec != std::errc() || ptr != s.data() + i + 2) {
      return false;
    }
    out->push_back(byte);
  }
  return true;
}

bool valid_group_name(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

// HOST is an IPv4 literal or a DNS name; PORT defaults to 5683 (coap) or 5684 (coaps).
bool valid_server_uri(std::string_view uri) {
  std::string_view rest;
  if (uri.starts_with("coap://")) {
    rest = uri.substr(7);
  } else if (uri.starts_with("coaps://")) {
    rest = uri.substr(8);
  } else {
    return false;
  }
  if (rest.ends_with('/')) {
    rest.remove_suffix(1);
  }
  const size_t colon = rest.find(':');
  const std::string_view host = rest.substr(0, colon);
  if (colon != std::string_view::npos) {
    uint32_t port = 0;
    if (!parse_u32(rest.substr(colon + 1), &port) || port == 0 || port > 65535) {
      return false;
    }
  }
  return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.';
  });
}

constexpr std::pair<std::string_view, PhaseKind> kPhaseKinds[] = {
    {"ramp", PhaseKind::kRamp},
    {"hold", PhaseKind::kHold},
    {"arrival_rate", PhaseKind::kArrivalRate},
    {"churn", PhaseKind::kChurn},
    {"stop", PhaseKind::kStop},
};

bool parse_phase_kind(std::string_view s, PhaseKind* out) {
  for (const auto& [name, kind] : kPhaseKinds) {
    if (s == name) {
      *out = kind;
      return true;
    }
  }
  return false;
}

// One profile file, loaded once however many groups name it.
struct LoadedProfile {
  std::shared_ptr<const Profile> profile;
  std::string errors;
  std::string first_field;  // the group field that reported the errors in full
};

// What the group pass leaves for the checks that need every group.
struct GroupDraft {
  YAML::Mark mark;
  std::string field;
  bool size_ok = false;  // a valid count or weight
  std::optional<YAML::Mark> weight_mark;
  std::optional<YAML::Mark> identities_mark;
};

// A time that must fall inside the timeline, checked once the phases are known.
struct TimeCheck {
  YAML::Mark mark;
  std::string field;
  TimeUs at = 0;
  std::string what;  // for the message: "the power outage", "the fault"
};

}  // namespace

class ScenarioLoader : private yaml::Checker {
 public:
  ScenarioLoader(std::string_view source, std::string base_dir, const ObjectRegistry& registry,
                 ProfileCache& cache)
      : Checker(std::string(source), "plain names"),
        base_dir_(std::move(base_dir)),
        registry_(registry),
        cache_(cache) {}

  std::string load(std::string_view text, ScenarioPlan* out) {
    YAML::Node root;
    if (!parse(text, &root)) {
      return report();
    }
    if (!root.IsMap()) {
      YAML::Mark start;
      start.line = 0;
      start.column = 0;
      error(root.IsNull() ? start : root.Mark(), "scenario",
            "expected a map with name, groups and phases, got " + describe(root));
      return report();
    }
    ScenarioPlan plan;
    const std::vector<KeyValue> top = entries(root, "");
    allow(top, "",
          {"name", "description", "seed", "target", "dtls", "devices", "groups", "phases", "faults",
           "thresholds"});
    if (const KeyValue* kv = find(top, "name")) {
      read_name(*kv, "name", &plan.name);
    } else {
      error(root.Mark(), "name", "missing (required)");
    }
    if (const KeyValue* kv = find(top, "description")) {
      read_string(*kv, "description", &plan.description);
    }
    if (const KeyValue* kv = find(top, "seed")) {
      read_u64(*kv, "seed", &plan.seed);
    }
    if (const KeyValue* kv = find(top, "devices")) {
      devices_mark_ = kv->mark();
      uint64_t n = 0;
      if (read_u64(*kv, "devices", &n) && check_device_count(*kv, "devices", n)) {
        plan.devices = n;
      }
    }
    if (const KeyValue* kv = find(top, "groups")) {
      parse_groups(*kv, &plan);
    } else {
      error(root.Mark(), "groups", "missing (required: at least one group of devices)");
    }
    resolve_counts(&plan);
    if (const KeyValue* kv = find(top, "phases")) {
      parse_phases(*kv, &plan);
    } else {
      error(root.Mark(), "phases", "missing (required: at least one phase)");
    }
    if (const KeyValue* kv = find(top, "faults")) {
      parse_fault_list(*kv, "faults", true, &plan.faults);
    }
    if (const KeyValue* kv = find(top, "target")) {
      parse_target(*kv, &plan);
    }
    if (const KeyValue* kv = find(top, "dtls")) {
      parse_dtls(*kv, &plan.dtls);
    }
    if (const KeyValue* kv = find(top, "thresholds")) {
      parse_thresholds(*kv, &plan.thresholds);
    }
    check_security(plan, root.Mark(), find(top, "dtls"));
    if (!plan.server_uri.empty()) {
      for (const auto& [mark, field] : server_outage_marks_) {
        error(mark, field,
              "only with the built-in server (target.server is " + plan.server_uri +
                  "); an external server's outage is yours to cause, and a fault with loss: 100% "
                  "imitates its silence");
      }
    }
    check_times(plan);
    const std::string errors = report();
    if (errors.empty()) {
      plan.source = source();
      *out = std::move(plan);
    }
    return errors;
  }

 private:
  // The entries of a map value, or an error naming what the map should hold.
  std::optional<std::vector<KeyValue>> map_of(const KeyValue& kv, const std::string& field,
                                              std::string_view holding) {
    if (!kv.value.IsMap()) {
      error(kv.mark(), field,
            "expected a map with " + std::string(holding) + ", got " + describe(kv.value));
      return std::nullopt;
    }
    return entries(kv.value, field);
  }

  bool read_name(const KeyValue& kv, const std::string& field, std::string* out) {
    if (!read_string(kv, field, out)) {
      return false;
    }
    if (out->empty()) {
      error(kv.mark(), field, "must not be empty");
      return false;
    }
    return true;
  }

  bool read_bool(const KeyValue& kv, const std::string& field, bool* out) {
    if (!kv.value.IsScalar() || !parse_bool(kv.value.Scalar(), out)) {
      error(kv.mark(), field, "expected true or false, got " + describe(kv.value));
      return false;
    }
    return true;
  }

  bool read_positive(const KeyValue& kv, const std::string& field, double* out) {
    if (!read_non_negative(kv, field, out)) {
      return false;
    }
    if (*out == 0) {
      error(kv.mark(), field, "must be above 0");
      return false;
    }
    return true;
  }

  bool read_u64(const KeyValue& kv, const std::string& field, uint64_t* out) {
    if (kv.value.IsScalar() && parse_u64(kv.value.Scalar(), out)) {
      return true;
    }
    double v = 0;
    if (kv.value.IsScalar() && parse_double(kv.value.Scalar(), &v) && v < 0) {
      error(kv.mark(), field, "must not be negative, got " + kv.value.Scalar());
    } else {
      error(kv.mark(), field, "expected a whole number, got " + describe(kv.value));
    }
    return false;
  }

  bool check_device_count(const KeyValue& kv, const std::string& field, uint64_t n) {
    if (n == 0) {
      error(kv.mark(), field, "must be above 0");
      return false;
    }
    if (n > kMaxDevices) {
      error(kv.mark(), field, "at most " + std::to_string(kMaxDevices) + " devices");
      return false;
    }
    return true;
  }

  // Seconds ("90"), or e.g. "250ms", "30s", "5m", "1h30m".
  bool read_duration(const KeyValue& kv, const std::string& field, bool positive, TimeUs* out) {
    const std::string text = kv.value.IsScalar() ? kv.value.Scalar() : std::string();
    TimeUs ignored = 0;
    if (text.starts_with('-') && parse_file_duration(std::string_view(text).substr(1), &ignored)) {
      error(kv.mark(), field, "must not be negative, got " + text);
      return false;
    }
    if (!kv.value.IsScalar() || !parse_file_duration(text, out)) {
      error(kv.mark(), field,
            "expected a duration (seconds, or e.g. 250ms, 30s, 5m, 1h30m), got " +
                describe(kv.value));
      return false;
    }
    if (positive && *out == 0) {
      error(kv.mark(), field, "must be above 0");
      return false;
    }
    return true;
  }

  // A fraction (0.2) or a percentage ("20%"), in [0, 1]; with `positive`, in (0, 1].
  bool read_fraction(const KeyValue& kv, const std::string& field, bool positive, double* out) {
    std::string_view text = kv.value.IsScalar() ? std::string_view(kv.value.Scalar()) : "";
    const bool percent = text.ends_with('%');
    if (percent) {
      text.remove_suffix(1);
    }
    double v = 0;
    if (!kv.value.IsScalar() || !parse_double(text, &v)) {
      error(kv.mark(), field,
            "expected a fraction (0.2) or a percentage (20%), got " + describe(kv.value));
      return false;
    }
    v = percent ? v / 100 : v;
    if (v < 0) {
      error(kv.mark(), field, "must not be negative, got " + kv.value.Scalar());
      return false;
    }
    if (v > 1) {
      error(kv.mark(), field, "must be at most 100% (1), got " + kv.value.Scalar());
      return false;
    }
    if (positive && v == 0) {
      error(kv.mark(), field, "must be above 0");
      return false;
    }
    *out = v;
    return true;
  }

  bool read_path(const YAML::Node& node, const YAML::Mark& mark, const std::string& field,
                 Lwm2mPath* out) {
    if (!node.IsScalar() || !parse_lwm2m_path(node.Scalar(), out) || out->depth() < 1) {
      error(mark, field, "expected an LwM2M path like /3303/0/5700, got " + describe(node));
      return false;
    }
    return true;
  }

  // A list of paths (a single path is a list of one).
  bool read_paths(const KeyValue& kv, const std::string& field,
                  std::vector<std::pair<Lwm2mPath, YAML::Mark>>* out) {
    if (kv.value.IsSequence() && kv.value.size() == 0) {
      error(kv.mark(), field, "expected a non-empty list of paths");
      return false;
    }
    const std::vector<YAML::Node> items = items_of(kv.value);
    bool ok = true;
    for (const YAML::Node& n : items) {
      Lwm2mPath p;
      const YAML::Mark mark = n.IsNull() ? kv.key.Mark() : n.Mark();
      if (read_path(n, mark, field, &p)) {
        out->push_back({p, mark});
      } else {
        ok = false;
      }
    }
    return ok;
  }

  // Group names (a list, or one name), each a group of the scenario.
  bool read_group_names(const KeyValue& kv, const std::string& field,
                        std::vector<std::string>* out) {
    const std::vector<YAML::Node> items = items_of(kv.value);
    if (items.empty()) {
      error(kv.mark(), field, "expected a non-empty list of group names (omit it for every group)");
      return false;
    }
    bool ok = true;
    for (const YAML::Node& n : items) {
      const YAML::Mark mark = n.IsNull() ? kv.key.Mark() : n.Mark();
      if (!n.IsScalar()) {
        error(mark, field, "expected a group name, got " + describe(n));
        ok = false;
      } else if (group_index_.count(n.Scalar()) == 0) {
        // A group whose name was reported is not also an unknown group.
        if (bad_group_names_.count(n.Scalar()) == 0 && !group_index_.empty()) {
          error(mark, field,
                "unknown group '" + n.Scalar() + "' (groups: " + comma_list(group_names_) + ")");
        }
        ok = false;
      } else if (std::find(out->begin(), out->end(), n.Scalar()) != out->end()) {
        error(mark, field, "group '" + n.Scalar() + "' is listed twice");
        ok = false;
      } else {
        out->push_back(n.Scalar());
      }
    }
    return ok;
  }

  // Where a path is missing from a profile, or not readable; empty when it is there.
  static std::string path_problem(const Profile& profile, const Lwm2mPath& path) {
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
      const auto res =
          profile.find_resource(pi.object, pi.instance, static_cast<uint16_t>(path.resource));
      if (res.empty()) {
        break;
      }
      if (!res.front().definition->operations.read) {
        return path.to_string() + " is not readable";
      }
      found = path.depth() == 3 || std::any_of(res.begin(), res.end(), [&](const auto& r) {
                return r.path.resource_instance == path.resource_instance;
              });
      break;
    }
    return found ? std::string() : path.to_string() + " is not in profile " + profile.name();
  }

  // ---- groups ----

  void parse_groups(const KeyValue& kv, ScenarioPlan* plan) {
    if (!kv.value.IsSequence() || kv.value.size() == 0) {
      error(kv.mark(), "groups", "expected a non-empty list of groups, got " + describe(kv.value));
      return;
    }
    size_t index = 0;
    for (const YAML::Node& node : kv.value) {
      GroupPlan group;
      GroupDraft draft;
      draft.field = "groups." + std::to_string(index++);
      draft.mark = node.Mark();
      if (parse_group(node, &draft, &group)) {
        group_index_[group.name] = plan->groups.size();
        group_names_.push_back(group.name);
      }
      drafts_.push_back(draft);
      plan->groups.push_back(std::move(group));
    }
  }

  // False when the group's name is unusable (its other problems are reported either way).
  bool parse_group(const YAML::Node& node, GroupDraft* draft, GroupPlan* g) {
    const std::string& field = draft->field;
    g->line = node.Mark().line + 1;
    if (!node.IsMap()) {
      error(node.Mark(), field,
            "expected a map with name, profile and count or weight, got " + describe(node));
      return false;
    }
    const std::vector<KeyValue> kvs = entries(node, field);
    allow(kvs, field,
          {"name", "profile", "count", "weight", "endpoint", "identities", "lwm2m_version",
           "binding", "lifetime", "content_formats", "behaviours", "faults"});
    bool name_ok = false;
    if (const KeyValue* kv = find(kvs, "name")) {
      const std::string f = join(field, "name");
      if (read_name(*kv, f, &g->name)) {
        if (!valid_group_name(g->name)) {
          error(kv->mark(), f, "'" + g->name + "': use letters, digits, '-', '_' and '.'");
          bad_group_names_.insert(g->name);
        } else if (const auto it = first_group_.find(g->name); it != first_group_.end()) {
          error(kv->mark(), f, "'" + g->name + "' is already the name of " + it->second);
        } else {
          first_group_[g->name] = field;
          name_ok = true;
        }
      }
    } else {
      error(node.Mark(), join(field, "name"), "missing (required)");
    }
    bool profile_ok = false;
    if (const KeyValue* kv = find(kvs, "profile")) {
      profile_ok = load_group_profile(*kv, join(field, "profile"), g);
    } else {
      error(node.Mark(), join(field, "profile"), "missing (required)");
    }
    parse_group_size(kvs, node, draft, g);
    parse_endpoints(kvs, draft, g, name_ok);
    if (const KeyValue* kv = find(kvs, "lwm2m_version")) {
      if (!kv->value.IsScalar() || !parse_lwm2m_version(kv->value.Scalar(), &g->version)) {
        error(kv->mark(), join(field, "lwm2m_version"),
              "expected \"1.0\", \"1.1\" or \"1.2\", got " + describe(kv->value));
      }
    }
    if (const KeyValue* kv = find(kvs, "binding")) {
      if (!kv->value.IsScalar() || (kv->value.Scalar() != "U" && kv->value.Scalar() != "UQ")) {
        error(kv->mark(), join(field, "binding"),
              "expected U or UQ (queue mode), got " + describe(kv->value));
      } else {
        g->binding = kv->value.Scalar();
      }
    }
    bool lifetime_ok = true;
    if (const KeyValue* kv = find(kvs, "lifetime")) {
      lifetime_ok = read_lifetime(*kv, join(field, "lifetime"), &g->lifetime_s);
    } else if (profile_ok) {
      g->lifetime_s = profile_lifetime(*g->profile);
    }
    if (const KeyValue* kv = find(kvs, "content_formats")) {
      read_content_formats(*kv, join(field, "content_formats"), &g->content_formats);
    }
    if (const KeyValue* kv = find(kvs, "behaviours")) {
      parse_behaviours(*kv, join(field, "behaviours"), profile_ok, lifetime_ok, g);
    }
    if (const KeyValue* kv = find(kvs, "faults")) {
      parse_fault_list(*kv, join(field, "faults"), false, &g->faults);
    }
    return name_ok;
  }

  bool load_group_profile(const KeyValue& kv, const std::string& field, GroupPlan* g) {
    if (!read_name(kv, field, &g->profile_path)) {
      return false;
    }
    fs::path path(g->profile_path);
    if (path.is_relative()) {
      path = fs::path(base_dir_) / path;
    }
    const std::string key = path.lexically_normal().string();
    auto [it, inserted] = profiles_.try_emplace(key);
    LoadedProfile& loaded = it->second;
    if (inserted) {
      loaded.first_field = field;
      std::error_code ec;
      if (!fs::is_regular_file(path, ec)) {
        loaded.errors = "cannot read " + g->profile_path + " (" + key +
                        "): " + (fs::exists(path, ec) ? "not a file" : "no such file");
      } else {
        const ProfileCache::Entry& entry = cache_.load(key, registry_);
        if (!entry.errors.empty()) {
          loaded.errors = "profile " + g->profile_path + " has errors:\n" + entry.errors;
        } else {
          loaded.profile = entry.profile;
        }
      }
    } else if (!loaded.errors.empty() && !loaded.errors.starts_with("cannot read")) {
      error(kv.mark(), field,
            "profile " + g->profile_path + " has errors (listed at " + loaded.first_field + ")");
      return false;
    }
    if (!loaded.errors.empty()) {
      error(kv.mark(), field, loaded.errors);
      return false;
    }
    g->profile = loaded.profile;
    return true;
  }

  // The profile's Server lifetime (/1/0/1) when it is a fixed positive number, else 300 s.
  static uint32_t profile_lifetime(const Profile& profile) {
    const ProfileResource* r = profile.find(Lwm2mPath{1, 0, 1});
    if (r != nullptr && r->is_constant()) {
      const Value v = profile.initial_value(*r, 0, 0);
      if (const auto* i = std::get_if<int64_t>(&v); i != nullptr && *i > 0 && *i <= 0x7fffffff) {
        return static_cast<uint32_t>(*i);
      }
    }
    return 300;
  }

  bool read_lifetime(const KeyValue& kv, const std::string& field, uint32_t* out) {
    TimeUs t = 0;
    if (!read_duration(kv, field, true, &t)) {
      return false;
    }
    if (t % kUsPerSec != 0) {
      error(kv.mark(), field, "must be whole seconds, got " + kv.value.Scalar());
      return false;
    }
    if (t / kUsPerSec > 0x7fffffff) {
      error(kv.mark(), field, "at most 2147483647 seconds");
      return false;
    }
    *out = static_cast<uint32_t>(t / kUsPerSec);
    return true;
  }

  void read_content_formats(const KeyValue& kv, const std::string& field,
                            std::vector<uint16_t>* out) {
    const std::vector<YAML::Node> items = items_of(kv.value);
    for (const YAML::Node& n : items) {
      uint32_t f = 0;
      if (!n.IsScalar() || !parse_u32(n.Scalar(), &f) || f > 65535 ||
          !is_supported_format(static_cast<uint16_t>(f))) {
        error(n.IsNull() ? kv.key.Mark() : n.Mark(), field,
              "expected content-format numbers this simulator speaks (0, 40, 42, 110, 112, 11542, "
              "11543, 11544), got " +
                  describe(n));
        continue;
      }
      out->push_back(static_cast<uint16_t>(f));
    }
  }

  void parse_group_size(const std::vector<KeyValue>& kvs, const YAML::Node& node, GroupDraft* draft,
                        GroupPlan* g) {
    const std::string& field = draft->field;
    const KeyValue* count = find(kvs, "count");
    const KeyValue* weight = find(kvs, "weight");
    if (count != nullptr && weight != nullptr) {
      error(weight->key.Mark(), join(field, "weight"),
            "not allowed together with count (give exactly one)");
      return;
    }
    if (count != nullptr) {
      const std::string f = join(field, "count");
      draft->size_ok = read_u64(*count, f, &g->count) && check_device_count(*count, f, g->count);
    } else if (weight != nullptr) {
      draft->weight_mark = weight->mark();
      draft->size_ok = read_positive(*weight, join(field, "weight"), &g->weight);
    } else {
      error(node.Mark(), join(field, "count"), "missing (give count or weight)");
    }
  }

  void parse_endpoints(const std::vector<KeyValue>& kvs, GroupDraft* draft, GroupPlan* g,
                       bool name_ok) {
    const std::string& field = draft->field;
    const KeyValue* pattern = find(kvs, "endpoint");
    const KeyValue* identities = find(kvs, "identities");
    if (pattern != nullptr && identities != nullptr) {
      error(identities->key.Mark(), join(field, "identities"),
            "not allowed together with endpoint (give at most one)");
      return;
    }
    if (identities != nullptr) {
      if (load_identities(*identities, join(field, "identities"), g)) {
        draft->identities_mark = identities->mark();
      }
      return;
    }
    if (pattern != nullptr) {
      const std::string f = join(field, "endpoint");
      EndpointPattern parsed;
      if (read_string(*pattern, f, &g->endpoint_pattern)) {
        if (std::string why = EndpointPattern::parse(g->endpoint_pattern, &parsed); !why.empty()) {
          error(pattern->mark(), f, why);
        }
      }
      return;
    }
    if (name_ok) {
      g->endpoint_pattern = g->name + "-%06d";
    }
  }

  // endpoint[,psk_identity,psk_key]: a header row, then one device per row. False on any
  // problem.
  bool load_identities(const KeyValue& kv, const std::string& field, GroupPlan* g) {
    if (!read_name(kv, field, &g->identities_path)) {
      return false;
    }
    const std::string& file = g->identities_path;
    fs::path path(file);
    if (path.is_relative()) {
      path = fs::path(base_dir_) / path;
    }
    std::ifstream in(path, std::ios::binary);
    std::error_code ec;
    if (!in || !fs::is_regular_file(path, ec)) {
      error(kv.mark(), field,
            "cannot read " + file + " (" + path.lexically_normal().string() +
                "): " + (fs::exists(path, ec) ? "not a file" : "no such file"));
      return false;
    }
    std::ostringstream buf;
    buf << in.rdbuf();
    CsvTable table;
    if (std::string why = parse_csv(buf.str(), &table); !why.empty()) {
      error(kv.mark(), field, file + ":" + why);
      return false;
    }
    const bool with_psk = table.header.size() == 3 && table.header[1] == "psk_identity" &&
                          table.header[2] == "psk_key";
    if (table.header.empty() || table.header[0] != "endpoint" ||
        (table.header.size() != 1 && !with_psk)) {
      error(kv.mark(), field,
            file + ": the first row must be the header endpoint or endpoint,psk_identity,psk_key");
      return false;
    }
    // A long file with one systematic mistake would otherwise bury everything else.
    constexpr int kMaxRowErrors = 5;
    int bad = 0;
    std::map<std::string, size_t> lines;
    for (const CsvTable::Row& row : table.rows) {
      const std::string at = file + ":" + std::to_string(row.line) + ": ";
      std::string why;
      std::vector<uint8_t> key;
      if (row.cells.size() != table.header.size()) {
        why = std::to_string(row.cells.size()) + " cells, the header has " +
              std::to_string(table.header.size());
      } else if (row.cells[0].empty()) {
        why = "empty endpoint";
      } else if (const auto [it, fresh] = lines.try_emplace(row.cells[0], row.line); !fresh) {
        why = "endpoint " + row.cells[0] + " repeats line " + std::to_string(it->second);
      } else if (with_psk && row.cells[1].empty()) {
        why = "empty psk_identity";
      } else if (with_psk && !parse_hex(row.cells[2], &key)) {
        why = "psk_key must be hex digits, an even number of them";
      }
      if (!why.empty()) {
        if (++bad <= kMaxRowErrors) {
          error(kv.mark(), field, at + why);
        }
        continue;
      }
      g->endpoints.push_back(row.cells[0]);
      if (with_psk) {
        g->psk_identities.push_back(row.cells[1]);
        g->psk_keys.push_back(std::move(key));
      }
    }
    if (bad > kMaxRowErrors) {
      error(kv.mark(), field,
            file + ": " + std::to_string(bad - kMaxRowErrors) + " more rows with problems");
    }
    if (bad == 0 && table.rows.empty()) {
      error(kv.mark(), field, file + ": no identities after the header");
      return false;
    }
    return bad == 0;
  }

  // Weighted groups share what the counted ones leave of `devices`; identity files must cover
  // their group.
  void resolve_counts(ScenarioPlan* plan) {
    if (plan->groups.empty() || !std::all_of(drafts_.begin(), drafts_.end(),
                                             [](const GroupDraft& d) { return d.size_ok; })) {
      return;
    }
    uint64_t counted = 0;
    double weights = 0;
    const GroupDraft* first_weighted = nullptr;
    for (size_t i = 0; i < plan->groups.size(); ++i) {
      if (drafts_[i].weight_mark) {
        weights += plan->groups[i].weight;
        first_weighted = first_weighted != nullptr ? first_weighted : &drafts_[i];
      } else {
        counted += plan->groups[i].count;
      }
    }
    if (first_weighted != nullptr) {
      if (plan->devices == 0) {
        if (!devices_mark_) {
          error(*first_weighted->weight_mark, join(first_weighted->field, "weight"),
                "needs devices: at the top level (the total the weights share)");
        }
        return;
      }
      if (counted >= plan->devices) {
        error(*devices_mark_, "devices",
              "is " + std::to_string(plan->devices) + ", and the groups with a count take " +
                  std::to_string(counted) + " of them, leaving none for the weighted groups");
        return;
      }
      if (!split_weights(plan->devices - counted, weights, plan)) {
        return;
      }
    } else if (plan->devices != 0 && plan->devices != counted) {
      error(*devices_mark_, "devices",
            "is " + std::to_string(plan->devices) + ", but the groups' counts add up to " +
                std::to_string(counted) + " (drop devices or make them agree)");
      return;
    }
    const uint64_t total = plan->total_devices();
    if (total > kMaxDevices) {
      error(drafts_.front().mark, "groups",
            "the groups have " + std::to_string(total) + " devices; at most " +
                std::to_string(kMaxDevices));
      return;
    }
    sizes_known_ = true;
    for (size_t i = 0; i < plan->groups.size(); ++i) {
      const GroupPlan& g = plan->groups[i];
      if (drafts_[i].identities_mark && g.endpoints.size() < g.count) {
        error(*drafts_[i].identities_mark, join(drafts_[i].field, "identities"),
              g.identities_path + " has " + std::to_string(g.endpoints.size()) +
                  " identities, fewer than the group's " + std::to_string(g.count) + " devices");
      }
    }
  }

  // Largest remainders, so the shares add up to exactly `devices`.
  bool split_weights(uint64_t devices, double weights, ScenarioPlan* plan) {
    std::vector<std::pair<double, size_t>> remainders;
    uint64_t given = 0;
    for (size_t i = 0; i < plan->groups.size(); ++i) {
      if (!drafts_[i].weight_mark) {
        continue;
      }
      GroupPlan& g = plan->groups[i];
      const double exact = static_cast<double>(devices) * g.weight / weights;
      g.count = static_cast<uint64_t>(std::floor(exact));
      given += g.count;
      remainders.push_back({exact - std::floor(exact), i});
    }
    std::stable_sort(remainders.begin(), remainders.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    for (size_t k = 0; given < devices && k < remainders.size(); ++k, ++given) {
      ++plan->groups[remainders[k].second].count;
    }
    bool ok = true;
    for (size_t i = 0; i < plan->groups.size(); ++i) {
      if (drafts_[i].weight_mark && plan->groups[i].count == 0) {
        error(*drafts_[i].weight_mark, join(drafts_[i].field, "weight"),
              "gives this group none of the " + std::to_string(devices) +
                  " devices the weights share");
        ok = false;
      }
    }
    return ok;
  }

  // ---- behaviours ----

  void parse_behaviours(const KeyValue& kv, const std::string& field, bool profile_ok,
                        bool lifetime_ok, GroupPlan* g) {
    const auto kvs = map_of(kv, field, "report, update, queue_mode, reboot or firmware");
    if (!kvs) {
      return;
    }
    allow(*kvs, field, {"report", "update", "queue_mode", "reboot", "firmware"});
    const TimeUs lifetime = TimeUs{g->lifetime_s} * kUsPerSec;
    const std::string lifetime_text = format_file_duration(lifetime);
    if (const KeyValue* b = find(*kvs, "report")) {
      parse_report(*b, join(field, "report"), profile_ok, g);
    }
    if (const KeyValue* b = find(*kvs, "update")) {
      const std::string f = join(field, "update");
      if (const auto m = map_of(*b, f, "every")) {
        allow(*m, f, {"every"});
        if (const KeyValue* every = find(*m, "every")) {
          if (read_duration(*every, join(f, "every"), true, &g->update_every) && lifetime_ok &&
              g->update_every >= lifetime) {
            error(every->mark(), join(f, "every"),
                  "must be shorter than the lifetime (" + lifetime_text +
                      "), or the registration expires between Updates");
          }
        } else {
          error(b->mark(), join(f, "every"), "missing (required)");
        }
      }
    }
    if (const KeyValue* b = find(*kvs, "queue_mode")) {
      const std::string f = join(field, "queue_mode");
      if (const auto m = map_of(*b, f, "sleep and awake")) {
        allow(*m, f, {"sleep", "awake"});
        g->queue_mode.awake = kDefaultAwake;
        if (const KeyValue* sleep = find(*m, "sleep")) {
          if (read_duration(*sleep, join(f, "sleep"), true, &g->queue_mode.sleep) && lifetime_ok &&
              g->queue_mode.sleep >= lifetime) {
            error(sleep->mark(), join(f, "sleep"),
                  "must be shorter than the lifetime (" + lifetime_text +
                      "): a device wakes with an Update, and must do so before it expires");
          }
        } else {
          error(b->mark(), join(f, "sleep"), "missing (required)");
        }
        if (const KeyValue* awake = find(*m, "awake")) {
          read_duration(*awake, join(f, "awake"), true, &g->queue_mode.awake);
        }
        if (g->binding != "UQ") {
          error(b->key.Mark(), f, "needs binding: UQ (the group's binding is " + g->binding + ")");
        }
      }
    }
    if (const KeyValue* b = find(*kvs, "reboot")) {
      const std::string f = join(field, "reboot");
      if (const auto m = map_of(*b, f, "every and downtime")) {
        allow(*m, f, {"every", "downtime"});
        g->reboot.downtime = kDefaultRebootDowntime;
        if (const KeyValue* every = find(*m, "every")) {
          read_duration(*every, join(f, "every"), true, &g->reboot.every);
        } else {
          error(b->mark(), join(f, "every"), "missing (required)");
        }
        if (const KeyValue* downtime = find(*m, "downtime")) {
          read_duration(*downtime, join(f, "downtime"), false, &g->reboot.downtime);
        }
      }
    }
    if (const KeyValue* b = find(*kvs, "firmware")) {
      const std::string f = join(field, "firmware");
      if (const auto m = map_of(*b, f, "update_time and failure")) {
        allow(*m, f, {"update_time", "failure"});
        if (const KeyValue* t = find(*m, "update_time")) {
          read_duration(*t, join(f, "update_time"), true, &g->firmware.update_time);
        }
        if (const KeyValue* x = find(*m, "failure")) {
          read_fraction(*x, join(f, "failure"), false, &g->firmware.failure);
        }
        if (profile_ok && g->profile != nullptr &&
            !path_problem(*g->profile, Lwm2mPath{5, 0, 1}).empty()) {
          error(b->key.Mark(), f, "the profile has no Firmware Update object (/5/0)");
        }
      }
    }
  }

  void parse_report(const KeyValue& kv, const std::string& field, bool profile_ok, GroupPlan* g) {
    const auto kvs = map_of(kv, field, "every, jitter and via");
    if (!kvs) {
      return;
    }
    allow(*kvs, field, {"every", "jitter", "via", "paths"});
    ReportBehaviour& r = g->report;
    const KeyValue* every = find(*kvs, "every");
    if (every == nullptr) {
      error(kv.mark(), join(field, "every"), "missing (required)");
    } else {
      read_duration(*every, join(field, "every"), true, &r.period);
    }
    if (const KeyValue* jitter = find(*kvs, "jitter")) {
      if (read_duration(*jitter, join(field, "jitter"), false, &r.jitter) && r.period != 0 &&
          r.jitter > r.period) {
        error(jitter->mark(), join(field, "jitter"),
              "must not exceed every (" + format_file_duration(r.period) + ")");
      }
    }
    const KeyValue* via = find(*kvs, "via");
    if (via != nullptr) {
      if (!via->value.IsScalar() ||
          (via->value.Scalar() != "send" && via->value.Scalar() != "notify")) {
        error(via->mark(), join(field, "via"),
              "expected send (LwM2M Send) or notify (notifications of observed values), got " +
                  describe(via->value));
        return;
      }
      r.via_send = via->value.Scalar() == "send";
    }
    const KeyValue* paths = find(*kvs, "paths");
    if (!r.via_send) {
      if (paths != nullptr) {
        error(paths->key.Mark(), join(field, "paths"),
              "only with via: send (notifications carry what the server observes)");
      }
      return;
    }
    if (g->version == Lwm2mVersion::k1_0) {
      error(via != nullptr ? via->mark() : kv.mark(), join(field, "via"),
            "Send needs lwm2m_version 1.1 or 1.2 (the group registers with 1.0)");
    }
    if (paths != nullptr) {
      std::vector<std::pair<Lwm2mPath, YAML::Mark>> parsed;
      read_paths(*paths, join(field, "paths"), &parsed);
      for (const auto& [path, mark] : parsed) {
        if (profile_ok) {
          if (std::string why = path_problem(*g->profile, path); !why.empty()) {
            error(mark, join(field, "paths"), why);
          }
        }
        r.paths.push_back(path);
      }
    } else if (profile_ok) {
      r.paths = g->profile->send().paths;
      if (r.paths.empty()) {
        error(kv.mark(), join(field, "paths"),
              "missing (the profile has no send.paths; list the values to send, e.g. paths: "
              "[/3303/0/5700])");
      }
    }
  }

  // ---- faults ----

  void parse_fault_list(const KeyValue& kv, const std::string& field, bool global,
                        std::vector<FaultPlan>* out) {
    if (!kv.value.IsSequence()) {
      error(kv.mark(), field, "expected a list of faults, got " + describe(kv.value));
      return;
    }
    size_t index = 0;
    for (const YAML::Node& node : kv.value) {
      FaultPlan f;
      if (parse_fault(node, join(field, std::to_string(index++)), global, &f)) {
        out->push_back(std::move(f));
      }
    }
  }

  bool parse_fault(const YAML::Node& node, const std::string& field, bool global, FaultPlan* f) {
    f->line = node.Mark().line + 1;
    if (!node.IsMap()) {
      error(node.Mark(), field,
            "expected a map with loss, latency, duplicate, reorder, nat_rebind, power_outage or "
            "server_outage, got " +
                describe(node));
      return false;
    }
    const std::vector<KeyValue> kvs = entries(node, field);
    std::vector<std::string> allowed = {"start",     "end",     "loss",       "latency",
                                        "duplicate", "reorder", "nat_rebind", "power_outage"};
    if (global) {
      allowed.insert(allowed.begin() + 2, "groups");
      allowed.push_back("server_outage");
    }
    allow(kvs, field, allowed);
    bool ok = true;
    if (const KeyValue* kv = find(kvs, "server_outage"); kv != nullptr && global) {
      for (const KeyValue& other : kvs) {
        if (other.name != "server_outage" &&
            std::find(allowed.begin(), allowed.end(), other.name) != allowed.end()) {
          error(other.key.Mark(), join(field, other.name),
                "not allowed with server_outage (it has its own time and hits every device; give "
                "this effect a fault item of its own)");
          ok = false;
        }
      }
      ok = parse_server_outage(*kv, join(field, "server_outage"), f) && ok;
      return ok;
    }
    if (const KeyValue* kv = find(kvs, "power_outage")) {
      for (const KeyValue& other : kvs) {
        if (other.name != "power_outage" && other.name != "groups" &&
            std::find(allowed.begin(), allowed.end(), other.name) != allowed.end()) {
          error(other.key.Mark(), join(field, other.name),
                "not allowed with power_outage (it has its own time; give this effect a fault "
                "item of its own)");
          ok = false;
        }
      }
      ok = parse_power_outage(*kv, join(field, "power_outage"), f) && ok;
    } else {
      ok = parse_effects(kvs, node, field, f);
    }
    if (const KeyValue* kv = find(kvs, "groups"); kv != nullptr && global) {
      ok = read_group_names(*kv, join(field, "groups"), &f->groups) && ok;
    }
    return ok;
  }

  bool parse_server_outage(const KeyValue& kv, const std::string& field, FaultPlan* f) {
    const auto kvs = map_of(kv, field, "at, duration and forget");
    if (!kvs) {
      return false;
    }
    allow(*kvs, field, {"at", "duration", "forget"});
    bool ok = true;
    if (const KeyValue* at = find(*kvs, "at")) {
      TimeUs t = 0;
      if (read_duration(*at, join(field, "at"), false, &t)) {
        f->server_outage_at = t;
        time_checks_.push_back({at->mark(), join(field, "at"), t, "the server outage"});
      } else {
        ok = false;
      }
    } else {
      error(kv.mark(), join(field, "at"), "missing (required)");
      ok = false;
    }
    if (const KeyValue* d = find(*kvs, "duration")) {
      ok = read_duration(*d, join(field, "duration"), true, &f->server_outage_duration) && ok;
    } else {
      error(kv.mark(), join(field, "duration"), "missing (required)");
      ok = false;
    }
    if (const KeyValue* forget = find(*kvs, "forget")) {
      ok = read_bool(*forget, join(field, "forget"), &f->server_outage_forget) && ok;
    }
    server_outage_marks_.push_back({kv.key.Mark(), field});
    return ok;
  }

  bool parse_power_outage(const KeyValue& kv, const std::string& field, FaultPlan* f) {
    const auto kvs = map_of(kv, field, "at and window");
    if (!kvs) {
      return false;
    }
    allow(*kvs, field, {"at", "window"});
    bool ok = true;
    if (const KeyValue* at = find(*kvs, "at")) {
      TimeUs t = 0;
      if (read_duration(*at, join(field, "at"), false, &t)) {
        f->power_outage_at = t;
        time_checks_.push_back({at->mark(), join(field, "at"), t, "the power outage"});
      } else {
        ok = false;
      }
    } else {
      error(kv.mark(), join(field, "at"), "missing (required)");
      ok = false;
    }
    if (const KeyValue* window = find(*kvs, "window")) {
      ok = read_duration(*window, join(field, "window"), false, &f->power_outage_window) && ok;
    }
    return ok;
  }

  bool parse_effects(const std::vector<KeyValue>& kvs, const YAML::Node& node,
                     const std::string& field, FaultPlan* f) {
    bool ok = true;
    bool any = false;
    if (const KeyValue* kv = find(kvs, "start")) {
      if (read_duration(*kv, join(field, "start"), false, &f->window.start)) {
        time_checks_.push_back({kv->mark(), join(field, "start"), f->window.start, "the fault"});
      } else {
        ok = false;
      }
    }
    if (const KeyValue* kv = find(kvs, "end")) {
      if (!read_duration(*kv, join(field, "end"), true, &f->window.end)) {
        ok = false;
      } else if (f->window.end <= f->window.start) {
        error(kv->mark(), join(field, "end"),
              "must be after start (" + format_file_duration(f->window.start) + ")");
        ok = false;
      }
    }
    if (const KeyValue* kv = find(kvs, "loss")) {
      any = true;
      ok = parse_loss(*kv, join(field, "loss"), f) && ok;
    }
    if (const KeyValue* kv = find(kvs, "latency")) {
      any = true;
      Distribution d;
      if (parse_distribution(*kv, join(field, "latency"), &d)) {
        f->latency = d;
      } else {
        ok = false;
      }
    }
    if (const KeyValue* kv = find(kvs, "duplicate")) {
      any = true;
      ok = read_fraction(*kv, join(field, "duplicate"), false, &f->duplicate) && ok;
    }
    if (const KeyValue* kv = find(kvs, "reorder")) {
      any = true;
      const std::string rf = join(field, "reorder");
      if (const auto m = map_of(*kv, rf, "fraction and delay")) {
        allow(*m, rf, {"fraction", "delay"});
        if (const KeyValue* fraction = find(*m, "fraction")) {
          ok = read_fraction(*fraction, join(rf, "fraction"), false, &f->reorder) && ok;
        } else {
          error(kv->mark(), join(rf, "fraction"), "missing (required)");
          ok = false;
        }
        if (const KeyValue* delay = find(*m, "delay")) {
          ok = read_duration(*delay, join(rf, "delay"), true, &f->reorder_delay) && ok;
        } else {
          error(kv->mark(), join(rf, "delay"), "missing (required)");
          ok = false;
        }
      } else {
        ok = false;
      }
    }
    if (const KeyValue* kv = find(kvs, "nat_rebind")) {
      any = true;
      ok = read_duration(*kv, join(field, "nat_rebind"), true, &f->nat_rebind_every) && ok;
    }
    if (!any) {
      error(node.Mark(), field,
            "no effect (give at least one of loss, latency, duplicate, reorder, nat_rebind or "
            "power_outage)");
      ok = false;
    }
    return ok;
  }

  // 20% both ways, or {up: 10%, down: 30%}.
  bool parse_loss(const KeyValue& kv, const std::string& field, FaultPlan* f) {
    if (!kv.value.IsMap()) {
      double both = 0;
      if (!read_fraction(kv, field, false, &both)) {
        return false;
      }
      f->loss_up = both;
      f->loss_down = both;
      return true;
    }
    const std::vector<KeyValue> kvs = entries(kv.value, field);
    allow(kvs, field, {"up", "down"});
    bool ok = true;
    const KeyValue* up = find(kvs, "up");
    const KeyValue* down = find(kvs, "down");
    if (up != nullptr) {
      ok = read_fraction(*up, join(field, "up"), false, &f->loss_up) && ok;
    }
    if (down != nullptr) {
      ok = read_fraction(*down, join(field, "down"), false, &f->loss_down) && ok;
    }
    if (up == nullptr && down == nullptr) {
      error(kv.mark(), field, "expected a percentage, or a map with up and/or down");
      ok = false;
    }
    return ok;
  }

  // A duration (fixed), or {distribution: fixed|uniform|normal|exponential, ...}.
  bool parse_distribution(const KeyValue& kv, const std::string& field, Distribution* d) {
    if (!kv.value.IsMap()) {
      d->kind = Distribution::Kind::kFixed;
      return read_duration(kv, field, false, &d->a);
    }
    const std::vector<KeyValue> kvs = entries(kv.value, field);
    std::string name = "fixed";
    if (const KeyValue* dist = find(kvs, "distribution")) {
      if (!dist->value.IsScalar()) {
        name.clear();
      } else {
        name = dist->value.Scalar();
      }
      static const std::map<std::string, Distribution::Kind, std::less<>> kKinds = {
          {"fixed", Distribution::Kind::kFixed},
          {"uniform", Distribution::Kind::kUniform},
          {"normal", Distribution::Kind::kNormal},
          {"exponential", Distribution::Kind::kExponential}};
      const auto it = kKinds.find(name);
      if (it == kKinds.end()) {
        error(dist->mark(), join(field, "distribution"),
              "expected fixed, uniform, normal or exponential, got " + describe(dist->value));
        return false;
      }
      d->kind = it->second;
    }
    using K = Distribution::Kind;
    const std::pair<const char*, const char*> params =
        d->kind == K::kFixed     ? std::pair{"value", ""}
        : d->kind == K::kUniform ? std::pair{"min", "max"}
        : d->kind == K::kNormal  ? std::pair{"mean", "stddev"}
                                 : std::pair{"mean", ""};
    std::vector<std::string> allowed = {"distribution", params.first};
    if (*params.second != '\0') {
      allowed.push_back(params.second);
    }
    for (const KeyValue& k : kvs) {
      if (std::find(allowed.begin(), allowed.end(), k.name) == allowed.end()) {
        error(k.key.Mark(), join(field, k.name),
              "unknown key for a " + name +
                  " distribution (expected one of: " + comma_list(allowed) + ")");
      }
    }
    bool ok = true;
    const auto read_param = [&](const char* param, TimeUs* out) {
      if (*param == '\0') {
        return;
      }
      if (const KeyValue* p = find(kvs, param)) {
        ok = read_duration(*p, join(field, param), false, out) && ok;
      } else {
        error(kv.mark(), join(field, param), "missing (required by " + name + ")");
        ok = false;
      }
    };
    read_param(params.first, &d->a);
    read_param(params.second, &d->b);
    if (ok && d->kind == K::kUniform && d->a > d->b) {
      error(find(kvs, "min")->mark(), join(field, "min"),
            "min " + format_file_duration(d->a) + " is above max " + format_file_duration(d->b));
      ok = false;
    }
    return ok;
  }

  // ---- phases ----

  void parse_phases(const KeyValue& kv, ScenarioPlan* plan) {
    if (!kv.value.IsSequence() || kv.value.size() == 0) {
      error(kv.mark(), "phases", "expected a non-empty list of phases, got " + describe(kv.value));
      timeline_ok_ = false;
      return;
    }
    registered_.assign(plan->groups.size(), 0);
    tracking_ = sizes_known_;
    std::optional<std::string> stop_field;
    size_t index = 0;
    for (const YAML::Node& node : kv.value) {
      const std::string field = "phases." + std::to_string(index++);
      if (stop_field) {
        error(node.Mark(), field,
              "comes after the stop phase (" + *stop_field + "); stop must be the last phase");
      }
      PhasePlan p;
      p.line = node.Mark().line + 1;
      parse_phase(node, field, *plan, &p);
      if (p.kind == PhaseKind::kStop && !stop_field) {
        stop_field = field;
      }
      plan->phases.push_back(std::move(p));
    }
  }

  void parse_phase(const YAML::Node& node, const std::string& field, const ScenarioPlan& plan,
                   PhasePlan* p) {
    const std::string usage =
        "expected a phase such as {ramp: {to: 1000, over: 30s}} or {type: hold, duration: 1m}";
    // The short forms: `- stop`, {hold: 1m}, {stop: }, {ramp: {...}}.
    std::optional<std::vector<KeyValue>> body;
    std::string body_field = field;
    YAML::Mark body_mark = node.Mark();
    const KeyValue* bare_duration = nullptr;  // {hold: 1m}, pointing into kvs
    bool long_form = false;
    std::vector<KeyValue> kvs;
    // A phase whose type is unknown leaves the timeline and the registered devices unknown.
    const auto reject = [this](const YAML::Mark& mark, const std::string& f,
                               const std::string& reason) {
      error(mark, f, reason);
      timeline_ok_ = false;
      tracking_ = false;
    };
    if (node.IsScalar()) {
      if (!parse_phase_kind(node.Scalar(), &p->kind)) {
        reject(node.Mark(), field, usage + ", got " + describe(node));
        return;
      }
      body.emplace();
    } else if (!node.IsMap()) {
      reject(node.Mark(), field, usage + ", got " + describe(node));
      return;
    } else {
      kvs = entries(node, field);
      const KeyValue* type = find(kvs, "type");
      const KeyValue* short_kind = nullptr;
      for (const KeyValue& kv : kvs) {
        PhaseKind ignored;
        if (parse_phase_kind(kv.name, &ignored)) {
          short_kind = &kv;
          break;
        }
      }
      if (type != nullptr) {
        if (!type->value.IsScalar() || !parse_phase_kind(type->value.Scalar(), &p->kind)) {
          reject(type->mark(), join(field, "type"),
                 "expected ramp, hold, arrival_rate, churn or stop, got " + describe(type->value));
          return;
        }
        body = kvs;
        long_form = true;
      } else if (short_kind != nullptr && kvs.size() == 1) {
        parse_phase_kind(short_kind->name, &p->kind);
        body_field = join(field, short_kind->name);
        body_mark = short_kind->mark();
        if (short_kind->value.IsMap()) {
          body = entries(short_kind->value, body_field);
        } else if (short_kind->value.IsNull()) {
          body.emplace();
        } else if (p->kind == PhaseKind::kHold && short_kind->value.IsScalar()) {
          body.emplace();
          bare_duration = short_kind;
        } else {
          reject(short_kind->mark(), body_field,
                 "expected a map of the phase's settings, got " + describe(short_kind->value));
          return;
        }
      } else if (short_kind != nullptr) {
        reject(short_kind->key.Mark(), join(field, short_kind->name),
               "the short form {" + short_kind->name + ": {...}} has no other keys; write type: " +
                   short_kind->name + " with the settings beside it");
        return;
      } else {
        reject(node.Mark(), join(field, "type"),
               "missing (give type: ramp, hold, arrival_rate, churn or stop, or use a short form "
               "such as {hold: 1m})");
        return;
      }
    }
    std::vector<std::string> allowed;
    if (long_form) {
      allowed.push_back("type");
    }
    allowed.insert(allowed.end(), {"name", "groups"});
    switch (p->kind) {
      case PhaseKind::kRamp:
        allowed.insert(allowed.end(), {"from", "to", "duration", "over"});
        break;
      case PhaseKind::kHold:
        allowed.push_back("duration");
        break;
      case PhaseKind::kArrivalRate:
        allowed.insert(allowed.end(), {"rate", "duration"});
        break;
      case PhaseKind::kChurn:
        allowed.insert(allowed.end(), {"per_minute", "duration"});
        break;
      case PhaseKind::kStop:
        allowed.push_back("rate");
        break;
    }
    allow(*body, body_field, allowed);
    apply_phase(*body, body_field, body_mark, long_form, bare_duration, plan, p);
  }

  // Reads a phase's settings and follows the registered devices it leaves.
  void apply_phase(const std::vector<KeyValue>& kvs, const std::string& field,
                   const YAML::Mark& mark, bool long_form, const KeyValue* bare_duration,
                   const ScenarioPlan& plan, PhasePlan* p) {
    bool ok = true;
    bool groups_ok = true;
    if (const KeyValue* kv = find(kvs, "name")) {
      read_string(*kv, join(field, "name"), &p->name);
    }
    if (const KeyValue* kv = find(kvs, "groups")) {
      groups_ok = read_group_names(*kv, join(field, "groups"), &p->groups);
      ok = groups_ok;
    }
    if (p->kind != PhaseKind::kStop) {
      const KeyValue* duration = bare_duration != nullptr ? bare_duration : find(kvs, "duration");
      const KeyValue* over = find(kvs, "over");
      if (duration != nullptr && over != nullptr) {
        error(over->key.Mark(), join(field, "over"), "the same as duration (give one of them)");
        timeline_ok_ = false;
      } else if (duration != nullptr || over != nullptr) {
        const KeyValue* d = duration != nullptr ? duration : over;
        const std::string f = d == bare_duration ? field : join(field, d->name);
        if (!read_duration(*d, f, true, &p->duration)) {
          timeline_ok_ = false;
          ok = false;
        }
      } else {
        // A ramp's short form spells it `over`, as in {ramp: {to: 1000, over: 30s}}.
        const bool over_form = p->kind == PhaseKind::kRamp && !long_form;
        error(mark, join(field, over_form ? "over" : "duration"), "missing (required)");
        timeline_ok_ = false;
        ok = false;
      }
    }
    // The phase's groups as indexes, in fleet (file) order; devices are ranked in that order.
    std::vector<size_t> members;
    for (size_t i = 0; i < plan.groups.size(); ++i) {
      if (p->groups.empty() ||
          std::find(p->groups.begin(), p->groups.end(), plan.groups[i].name) != p->groups.end()) {
        members.push_back(i);
      }
    }
    uint64_t capacity = 0;
    uint64_t current = 0;
    for (size_t i : members) {
      capacity += plan.groups[i].count;
      current += tracking_ ? registered_[i] : 0;
    }
    const std::string whose =
        p->groups.empty() ? "the scenario" : "groups " + comma_list(p->groups);
    switch (p->kind) {
      case PhaseKind::kRamp: {
        const KeyValue* to = find(kvs, "to");
        if (to == nullptr) {
          error(mark, join(field, "to"), "missing (required)");
          ok = false;
        } else if (!read_u64(*to, join(field, "to"), &p->to)) {
          ok = false;
        } else if (sizes_known_ && groups_ok && p->to > capacity) {
          error(to->mark(), join(field, "to"),
                "is " + std::to_string(p->to) + ", above the " + std::to_string(capacity) +
                    " devices of " + whose);
          ok = false;
        }
        if (const KeyValue* from = find(kvs, "from")) {
          if (!read_u64(*from, join(field, "from"), &p->from)) {
            ok = false;
          } else if (tracking_ && groups_ok && p->from != current) {
            error(from->mark(), join(field, "from"),
                  "is " + std::to_string(p->from) + ", but the phases before leave " +
                      std::to_string(current) + " devices of " + whose +
                      " registered (omit from to start there)");
            ok = false;
          }
        } else {
          p->from = current;
        }
        if (ok && tracking_) {
          fill(members, p->to, plan);
        }
        break;
      }
      case PhaseKind::kArrivalRate:
        if (const KeyValue* kv = find(kvs, "rate")) {
          ok = read_positive(*kv, join(field, "rate"), &p->rate) && ok;
        } else {
          error(mark, join(field, "rate"), "missing (required: arrivals per second)");
          ok = false;
        }
        if (ok && tracking_) {
          // Arrival n comes at n / rate for n < rate * duration; each registers an idle device.
          const double arrivals = std::ceil(p->rate * static_cast<double>(p->duration) /
                                            static_cast<double>(kUsPerSec));
          const double reached =
              std::min(static_cast<double>(capacity), static_cast<double>(current) + arrivals);
          fill(members, static_cast<uint64_t>(reached), plan);
        }
        break;
      case PhaseKind::kChurn:
        if (const KeyValue* kv = find(kvs, "per_minute")) {
          ok = read_fraction(*kv, join(field, "per_minute"), true, &p->churn_per_minute) && ok;
        } else {
          error(mark, join(field, "per_minute"), "missing (required, e.g. 5%)");
          ok = false;
        }
        break;
      case PhaseKind::kStop:
        if (const KeyValue* kv = find(kvs, "rate")) {
          ok = read_positive(*kv, join(field, "rate"), &p->rate) && ok;
        }
        if (ok && tracking_) {
          fill(members, 0, plan);
        }
        break;
      case PhaseKind::kHold:
        break;
    }
    if (!ok) {
      // What a broken phase leaves is unknown; later `from` checks would only echo it.
      tracking_ = false;
    }
  }

  // `total` registered devices over `members`: the lowest ranks, so the first groups fill first.
  void fill(const std::vector<size_t>& members, uint64_t total, const ScenarioPlan& plan) {
    for (size_t i : members) {
      registered_[i] = std::min(total, plan.groups[i].count);
      total -= registered_[i];
    }
  }

  // ---- target ----

  void parse_target(const KeyValue& kv, ScenarioPlan* plan) {
    const auto kvs = map_of(kv, "target", "server or builtin");
    if (!kvs) {
      return;
    }
    allow(*kvs, "target", {"server", "bootstrap", "builtin"});
    if (const KeyValue* bs = find(*kvs, "bootstrap")) {
      std::string uri;
      if (read_string(*bs, "target.bootstrap", &uri)) {
        if (uri == "builtin" || valid_server_uri(uri)) {
          plan->bootstrap_uri = uri;
        } else {
          error(bs->mark(), "target.bootstrap",
                "expected coap://HOST:PORT, coaps://HOST:PORT or builtin, got " +
                    describe(bs->value));
        }
      }
    }
    if (const KeyValue* server = find(*kvs, "server")) {
      std::string uri;
      if (read_string(*server, "target.server", &uri) && uri != "builtin") {
        if (valid_server_uri(uri)) {
          plan->server_uri = uri;
        } else {
          error(server->mark(), "target.server",
                "expected coap://HOST:PORT, coaps://HOST:PORT or builtin, got " +
                    describe(server->value));
        }
      }
    }
    const KeyValue* builtin = find(*kvs, "builtin");
    if (builtin == nullptr) {
      return;
    }
    if (!plan->server_uri.empty()) {
      error(builtin->key.Mark(), "target.builtin",
            "only with the built-in server (target.server is " + plan->server_uri + ")");
      return;
    }
    parse_builtin(*builtin, *plan, &plan->builtin);
  }

  void parse_builtin(const KeyValue& kv, const ScenarioPlan& plan, BuiltinTarget* b) {
    const std::string field = "target.builtin";
    const auto kvs = map_of(kv, field, "what the built-in server does");
    if (!kvs) {
      return;
    }
    allow(*kvs, field,
          {"threads", "read_rate", "read_paths", "observe_fraction", "observe_path",
           "observe_attributes", "exercise", "exercise_rate", "firmware", "dtls"});
    if (const KeyValue* d = find(*kvs, "dtls")) {
      read_bool(*d, join(field, "dtls"), &b->dtls);
    }
    if (const KeyValue* t = find(*kvs, "threads")) {
      uint64_t n = 0;
      if (read_u64(*t, join(field, "threads"), &n)) {
        if (n < 1 || n > 64) {
          error(t->mark(), join(field, "threads"), "must be 1 to 64, got " + std::to_string(n));
        } else {
          b->threads = static_cast<uint32_t>(n);
        }
      }
    }
    if (const KeyValue* r = find(*kvs, "read_rate")) {
      read_non_negative(*r, join(field, "read_rate"), &b->read_rate);
    }
    std::vector<std::pair<Lwm2mPath, YAML::Mark>> paths;
    if (const KeyValue* r = find(*kvs, "read_paths")) {
      read_paths(*r, join(field, "read_paths"), &paths);
      for (const auto& [path, mark] : paths) {
        b->read_paths.push_back(path);
        check_served(plan, path, mark, join(field, "read_paths"));
      }
    } else {
      // Manufacturer and Current Time: every profile has them (profiles/README.md, defaults).
      b->read_paths = {Lwm2mPath{3, 0, 0}, Lwm2mPath{3, 0, 13}};
    }
    if (const KeyValue* o = find(*kvs, "observe_fraction")) {
      read_fraction(*o, join(field, "observe_fraction"), false, &b->observe_fraction);
    }
    b->observe_path = Lwm2mPath{3, 0, 13};
    bool observe_path_ok = true;
    if (const KeyValue* o = find(*kvs, "observe_path")) {
      observe_path_ok =
          read_path(o->value, o->mark(), join(field, "observe_path"), &b->observe_path);
      if (observe_path_ok) {
        check_served(plan, b->observe_path, o->mark(), join(field, "observe_path"));
      }
    }
    if (const KeyValue* o = find(*kvs, "observe_attributes")) {
      const std::string f = join(field, "observe_attributes");
      if (read_string(*o, f, &b->observe_attributes) && observe_path_ok &&
          !valid_attributes(b->observe_attributes, b->observe_path)) {
        error(o->mark(), f,
              "not a valid Write-Attributes query for " + b->observe_path.to_string() +
                  " (e.g. pmin=1&pmax=30; names: pmin, pmax, gt, lt, st, epmin, epmax, edge, "
                  "con)");
      }
    }
    if (const KeyValue* e = find(*kvs, "exercise")) {
      read_fraction(*e, join(field, "exercise"), false, &b->exercise_fraction);
    }
    if (const KeyValue* e = find(*kvs, "exercise_rate")) {
      read_non_negative(*e, join(field, "exercise_rate"), &b->exercise_rate);
    }
    if (const KeyValue* fw = find(*kvs, "firmware")) {
      parse_campaign(*fw, join(field, "firmware"), plan, b);
    }
  }

  // dtls: {psk_id, psk_seed | psk_key, certificate, private_key, ca, ciphers}
  void parse_dtls(const KeyValue& kv, DtlsPlan* d) {
    const std::string field = "dtls";
    const auto kvs =
        map_of(kv, field, "psk_id, psk_seed or psk_key, or certificate, private_key and ca");
    if (!kvs) {
      return;
    }
    allow(*kvs, field,
          {"psk_id", "psk_seed", "psk_key", "certificate", "private_key", "ca", "ciphers"});
    for (const char* key : {"psk_id", "psk_seed", "psk_key", "certificate", "ca"}) {
      credentials_written_ = credentials_written_ || find(*kvs, key) != nullptr;
    }
    if (const KeyValue* x = find(*kvs, "psk_id")) {
      EndpointPattern pattern;
      if (read_name(*x, join(field, "psk_id"), &d->psk_id)) {
        if (std::string why = EndpointPattern::parse(d->psk_id, &pattern); !why.empty()) {
          error(x->mark(), join(field, "psk_id"), why);
        }
      }
    }
    if (const KeyValue* x = find(*kvs, "psk_seed")) {
      read_name(*x, join(field, "psk_seed"), &d->psk_seed);
    }
    if (const KeyValue* x = find(*kvs, "psk_key")) {
      std::string hex;
      // The key itself is never echoed back in an error.
      if (read_name(*x, join(field, "psk_key"), &hex) && !parse_hex(hex, &d->psk_key)) {
        error(x->mark(), join(field, "psk_key"),
              "must be hex digits, an even number of them (" + std::to_string(hex.size()) +
                  " characters given)");
      }
      if (find(*kvs, "psk_seed") != nullptr) {
        error(x->mark(), join(field, "psk_key"), "give psk_key or psk_seed, not both");
      }
    }
    const auto file = [&](const char* key, std::string* out) {
      const KeyValue* x = find(*kvs, key);
      if (x == nullptr || !read_name(*x, join(field, key), out)) {
        return;
      }
      fs::path path(*out);
      if (path.is_relative()) {
        path = fs::path(base_dir_) / path;
      }
      std::error_code ec;
      if (!fs::is_regular_file(path, ec)) {
        error(x->mark(), join(field, key),
              "cannot read " + *out + " (" + path.lexically_normal().string() + ")");
        return;
      }
      *out = path.lexically_normal().string();
    };
    file("certificate", &d->certificate);
    file("private_key", &d->private_key);
    file("ca", &d->ca);
    if (d->certificate.empty() != d->private_key.empty()) {
      error(kv.mark(), field, "certificate and private_key go together");
    }
    if (const KeyValue* x = find(*kvs, "ciphers")) {
      read_name(*x, join(field, "ciphers"), &d->ciphers);
    }
  }

  // coaps needs credentials, and credentials need coaps.
  void check_security(const ScenarioPlan& plan, const YAML::Mark& top, const KeyValue* dtls) {
    const bool secure_server =
        plan.server_uri.starts_with("coaps://") || (plan.server_uri.empty() && plan.builtin.dtls);
    const bool secure_bootstrap = plan.bootstrap_uri.starts_with("coaps://") ||
                                  (plan.bootstrap_uri == "builtin" && plan.builtin.dtls);
    bool group_psk = false;
    for (const GroupPlan& g : plan.groups) {
      group_psk = group_psk || !g.psk_keys.empty();
    }
    const bool builtin_bootstrap = plan.bootstrap_uri == "builtin";
    if ((secure_server || secure_bootstrap) && !credentials_written_ && !group_psk) {
      error(top, "dtls",
            "missing: a coaps:// server needs credentials (psk_id with psk_seed or psk_key, "
            "certificate and private_key with ca, or identities files with psk columns)");
    }
    if (dtls != nullptr && !secure_server && !secure_bootstrap && !builtin_bootstrap) {
      error(dtls->key.Mark(), "dtls",
            "no server is coaps:// (set target.server to coaps://..., or target.builtin.dtls: "
            "true)");
    }
    if (builtin_bootstrap && !plan.server_uri.empty()) {
      error(top, "target.bootstrap",
            "builtin provisions the built-in server; with target.server " + plan.server_uri +
                " give that server's own bootstrap server URI");
    }
  }

  void parse_campaign(const KeyValue& kv, const std::string& field, const ScenarioPlan& plan,
                      BuiltinTarget* b) {
    const auto kvs = map_of(kv, field, "fraction, rate, size and version");
    if (!kvs) {
      return;
    }
    allow(*kvs, field, {"fraction", "rate", "size", "version"});
    if (const KeyValue* x = find(*kvs, "fraction")) {
      read_fraction(*x, join(field, "fraction"), false, &b->firmware_fraction);
    } else {
      error(kv.mark(), join(field, "fraction"), "missing (required)");
    }
    if (const KeyValue* x = find(*kvs, "rate")) {
      read_non_negative(*x, join(field, "rate"), &b->firmware_rate);
    }
    if (const KeyValue* x = find(*kvs, "size")) {
      uint64_t n = 0;
      if (read_u64(*x, join(field, "size"), &n)) {
        // Block2 numbers are 20 bits: 1 Mi blocks of 1 KiB at most, far above any device.
        if (n < 1 || n > (uint64_t{64} << 20)) {
          error(x->mark(), join(field, "size"),
                "must be 1 to 67108864 bytes, got " + std::to_string(n));
        } else {
          b->firmware_size = n;
        }
      }
    }
    if (const KeyValue* x = find(*kvs, "version")) {
      std::string v;
      if (read_string(*x, join(field, "version"), &v)) {
        if (v.empty() || v.find_first_of("/?# ") != std::string::npos) {
          error(x->mark(), join(field, "version"),
                "must be a non-empty name without '/', '?', '#' or spaces (it ends the package "
                "URI)");
        } else {
          b->firmware_version = v;
        }
      }
    }
    bool any = false;
    for (const GroupPlan& g : plan.groups) {
      any = any || (g.profile != nullptr && path_problem(*g.profile, Lwm2mPath{5, 0, 1}).empty());
    }
    if (!any && !plan.groups.empty()) {
      error(kv.key.Mark(), field, "no group's profile has a Firmware Update object (/5/0)");
    }
  }

  // A path the built-in server reads or observes must be in some group's profile.
  void check_served(const ScenarioPlan& plan, const Lwm2mPath& path, const YAML::Mark& mark,
                    const std::string& field) {
    bool any_profile = false;
    for (const GroupPlan& g : plan.groups) {
      if (g.profile == nullptr) {
        continue;
      }
      any_profile = true;
      if (path_problem(*g.profile, path).empty()) {
        return;
      }
    }
    if (any_profile) {
      error(mark, field, path.to_string() + " is in no group's profile");
    }
  }

  bool valid_attributes(std::string_view query, const Lwm2mPath& path) {
    std::vector<std::string_view> parts;
    while (!query.empty()) {
      const size_t amp = query.find('&');
      parts.push_back(query.substr(0, amp));
      query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    }
    AttributeTarget target;
    target.depth = path.depth();
    target.version = Lwm2mVersion::k1_2;
    if (path.depth() >= 3) {
      if (const ObjectDefinition* def = registry_.find(static_cast<uint16_t>(path.object))) {
        if (const ResourceDefinition* r = def->resource(static_cast<uint16_t>(path.resource))) {
          target.type = r->type;
        }
      }
    }
    NotificationAttributes attrs;
    return apply_write_attributes(parts, target, &attrs) == 0;
  }

  // ---- thresholds ----

  void parse_thresholds(const KeyValue& kv, std::vector<Threshold>* out) {
    if (!kv.value.IsSequence()) {
      error(kv.mark(), "thresholds",
            "expected a list of thresholds such as \"registration_latency.p99 < 200ms\", got " +
                describe(kv.value));
      return;
    }
    size_t index = 0;
    for (const YAML::Node& node : kv.value) {
      const std::string field = "thresholds." + std::to_string(index++);
      std::string expression;
      YAML::Mark mark = node.Mark();
      std::string expression_field = field;
      bool abort_on_fail = false;
      if (node.IsScalar()) {
        expression = node.Scalar();
      } else if (node.IsMap()) {
        const std::vector<KeyValue> kvs = entries(node, field);
        allow(kvs, field, {"threshold", "abort_on_fail"});
        if (const KeyValue* a = find(kvs, "abort_on_fail")) {
          read_bool(*a, join(field, "abort_on_fail"), &abort_on_fail);
        }
        const KeyValue* t = find(kvs, "threshold");
        expression_field = join(field, "threshold");
        if (t == nullptr) {
          error(node.Mark(), expression_field, "missing (required)");
          continue;
        }
        if (!read_string(*t, expression_field, &expression)) {
          continue;
        }
        mark = t->mark();
      } else {
        error(node.Mark(), field,
              "expected \"METRIC.FIELD OP VALUE\" or {threshold: ..., abort_on_fail: true}, got " +
                  describe(node));
        continue;
      }
      // parse_threshold checks the metric and its field against Summary::catalog().
      Threshold t;
      if (std::string why = parse_threshold(expression, &t); !why.empty()) {
        error(mark, expression_field, why);
        continue;
      }
      t.abort_on_fail = abort_on_fail;
      out->push_back(std::move(t));
    }
  }

  // ---- timeline ----

  void check_times(const ScenarioPlan& plan) {
    if (!timeline_ok_ || plan.phases.empty()) {
      return;
    }
    const TimeUs end = plan.duration();
    for (const TimeCheck& c : time_checks_) {
      if (c.at >= end) {
        error(c.mark, c.field,
              format_file_duration(c.at) + " is not before the end of the phases (" +
                  format_file_duration(end) + "), so " + c.what + " would never happen");
      }
    }
  }

  std::string base_dir_;
  bool credentials_written_ = false;  // the dtls section names credentials (valid or not)
  const ObjectRegistry& registry_;
  ProfileCache& cache_;
  std::map<std::string, LoadedProfile> profiles_;
  std::optional<YAML::Mark> devices_mark_;
  std::vector<GroupDraft> drafts_;
  std::map<std::string, std::string> first_group_;  // name -> the field that has it first
  std::map<std::string, size_t> group_index_;
  std::vector<std::string> group_names_;
  std::set<std::string> bad_group_names_;
  bool sizes_known_ = false;  // every group's count is final
  bool timeline_ok_ = true;   // every phase's duration is known
  bool tracking_ = false;     // registered_ follows the phases so far
  std::vector<uint64_t> registered_;
  std::vector<TimeCheck> time_checks_;
  std::vector<std::pair<YAML::Mark, std::string>> server_outage_marks_;  // to check the target
};

const ProfileCache::Entry& ProfileCache::load(const std::string& path,
                                              const ObjectRegistry& registry) {
  if (auto it = entries_.find(path); it != entries_.end()) {
    return it->second;
  }
  Entry entry;
  auto profile = std::make_shared<Profile>();
  entry.errors = load_profile(path, registry, profile.get());
  if (entry.errors.empty()) {
    entry.profile = std::move(profile);
  }
  return entries_.emplace(path, std::move(entry)).first->second;
}

std::string load_scenario_text(std::string_view yaml, std::string_view source_name,
                               const std::string& base_dir, const ObjectRegistry& registry,
                               ScenarioPlan* out, ProfileCache* profiles) {
  ProfileCache own;
  ScenarioLoader loader(source_name, base_dir, registry, profiles != nullptr ? *profiles : own);
  return loader.load(yaml, out);
}

std::string load_scenario(const std::string& path, const ObjectRegistry& registry,
                          ScenarioPlan* out, ProfileCache* profiles) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return path + ":0:0: file: cannot read the scenario";
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  const std::string base = fs::path(path).parent_path().string();
  return load_scenario_text(buf.str(), path, base.empty() ? "." : base, registry, out, profiles);
}

bool is_profile_document(std::string_view yaml) {
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    return root.IsMap() && root["objects"] && !root["phases"] && !root["groups"];
  } catch (const YAML::Exception&) {
    return false;
  }
}

}  // namespace lwm2msim

// The Bootstrap interface of DataModel (LwM2M TS 1.1 sections 5.2.7 and 6.1.7): what a
// bootstrap server may do to a client, unrestricted by access rights and operation flags.
#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "sim/coap/coap.h"
#include "sim/dm/data_model.h"

namespace lwm2msim {
namespace {

constexpr uint32_t kSecurity = 0;
constexpr uint32_t kServer = 1;
constexpr uint32_t kAccessControl = 2;
constexpr uint32_t kDevice = 3;

std::optional<int64_t> as_integer(const Value& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) {
    return *i;
  }
  if (const auto* u = std::get_if<uint64_t>(&v); u != nullptr && *u <= INT64_MAX) {
    return static_cast<int64_t>(*u);
  }
  return std::nullopt;
}

std::vector<uint8_t> as_bytes(const Value& v) {
  if (const auto* o = std::get_if<Opaque>(&v)) {
    return o->bytes;
  }
  if (const auto* s = std::get_if<std::string>(&v)) {
    return {s->begin(), s->end()};
  }
  return {};
}

std::string as_text(const Value& v) {
  const auto* s = std::get_if<std::string>(&v);
  return s != nullptr ? *s : std::string();
}

// A server-written string as a link-format quoted-string (RFC 7230 3.2.6): '"' and '\\' escaped,
// control characters (which no URI contains raw) percent-encoded, so the Discover stays parseable.
void append_quoted(std::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  *out += '"';
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      *out += '\\';
      *out += c;
    } else if (u < 0x20 || u == 0x7f) {
      *out += '%';
      *out += kHex[u >> 4];
      *out += kHex[u & 0xf];
    } else {
      *out += c;
    }
  }
  *out += '"';
}

}  // namespace

bool DataModel::is_bootstrap_account(uint32_t instance, const ClientContext& client) const {
  const Value v = value_at(kSecurity, instance, 1, client);
  const auto* b = std::get_if<bool>(&v);
  return b != nullptr && *b;
}

uint8_t DataModel::bootstrap_write(const Lwm2mPath& path, std::span<const Record> records,
                                   const ClientContext& client, ClientData* data) const {
  const int depth = path.depth();
  if (depth == 0 || depth == 4 || (depth >= 2 && path.instance >= UINT16_MAX)) {
    return CoapCode::kBadRequest;
  }
  const ObjectDefinition* object = object_definition(path.object);
  if (object == nullptr || !object_supported(path.object, client)) {
    return CoapCode::kNotFound;
  }
  if (depth == 3) {
    const ResourceDefinition* def = resource_definition(path);
    if (def == nullptr || def->operations.execute || (records.empty() && !def->multiple)) {
      return CoapCode::kBadRequest;
    }
  }
  // The payload by instance, then by resource (codecs give path order, but do not rely on it).
  std::map<uint32_t, std::vector<Record>> by_instance;
  if (depth >= 2) {
    by_instance[path.instance];
  }
  for (const Record& r : records) {
    if (!is_under(r.path, path) || r.path.depth() < 3 || r.path.instance >= UINT16_MAX) {
      return CoapCode::kBadRequest;
    }
    const ResourceDefinition* def = resource_definition(r.path);
    if (def == nullptr || def->operations.execute || (r.path.depth() == 4) != def->multiple ||
        check_value(r, *def) != 0) {
      return CoapCode::kBadRequest;
    }
    by_instance[r.path.instance].push_back(r);
  }
  if (!object->multiple) {
    // A single-instance object keeps the one instance it has (or gets one).
    std::vector<uint16_t> ids = instances_of(path.object, client);
    for (const auto& [i, unused] : by_instance) {
      ids.push_back(static_cast<uint16_t>(i));
    }
    std::sort(ids.begin(), ids.end());
    if (std::unique(ids.begin(), ids.end()) - ids.begin() > 1) {
      return CoapCode::kBadRequest;
    }
  }
  ClientContext view = client;
  view.data = data;
  for (auto& [instance, values] : by_instance) {
    if (!instance_exists(path.object, instance, view)) {
      add_instance(static_cast<uint16_t>(path.object), static_cast<uint16_t>(instance), data);
    }
    std::stable_sort(values.begin(), values.end(),
                     [](const Record& a, const Record& b) { return path_less(a.path, b.path); });
    if (depth == 3 && values.empty()) {
      // An empty multiple resource: it has no instances from now on.
      apply_write(path, {}, true, view, data);
    }
    for (size_t i = 0; i < values.size();) {
      const Lwm2mPath resource{values[i].path.object, values[i].path.instance,
                               values[i].path.resource, Lwm2mPath::kAbsent};
      size_t j = i + 1;
      while (j < values.size() && values[j].path.resource == resource.resource) {
        ++j;
      }
      apply_write(resource, std::span(values).subspan(i, j - i), true, view, data);
      i = j;
    }
  }
  return CoapCode::kChanged;
}

uint8_t DataModel::bootstrap_delete(const Lwm2mPath& path, const ClientContext& client,
                                    ClientData* data) const {
  const int depth = path.depth();
  if (depth > 2) {
    return CoapCode::kBadRequest;
  }
  ClientContext view = client;
  view.data = data;
  // What survives every Bootstrap-Delete: the bootstrap accounts, the OSCORE instances they
  // use, and the Device object.
  std::set<std::pair<uint32_t, uint32_t>> kept;
  for (uint16_t i : instances_of(kSecurity, view)) {
    if (is_bootstrap_account(i, view)) {
      kept.insert({kSecurity, i});
      const Value oscore = value_at(kSecurity, i, 17, view);
      if (const auto* link = std::get_if<Objlnk>(&oscore)) {
        kept.insert({link->object, link->instance});
      }
    }
  }
  const auto keeps = [&](uint32_t object, uint32_t instance) {
    return object == kDevice || kept.count({object, instance}) != 0;
  };
  if (depth == 2) {
    if (keeps(path.object, path.instance)) {
      return CoapCode::kBadRequest;
    }
    if (instance_exists(path.object, path.instance, view)) {
      drop_instance(static_cast<uint16_t>(path.object), static_cast<uint16_t>(path.instance), data);
    }
    return CoapCode::kDeleted;
  }
  std::vector<std::pair<uint16_t, uint16_t>> targets;
  for (const ProfileInstance& pi : profile_->instances()) {
    if (depth == 0 || pi.object == path.object) {
      targets.emplace_back(pi.object, pi.instance);
    }
  }
  for (const auto& key : data->created) {
    if (depth == 0 || key.first == path.object) {
      targets.push_back(key);
    }
  }
  std::sort(targets.begin(), targets.end());
  targets.erase(std::unique(targets.begin(), targets.end()), targets.end());
  for (const auto& [o, i] : targets) {
    if (!keeps(o, i) && instance_exists(o, i, view)) {
      drop_instance(o, i, data);
    }
  }
  return CoapCode::kDeleted;
}

uint8_t DataModel::bootstrap_discover(const Lwm2mPath& path, Lwm2mVersion version,
                                      const ClientContext& client, std::string* out) const {
  const int depth = path.depth();
  if (depth > 1) {
    return CoapCode::kBadRequest;
  }
  if (depth == 1 && !object_supported(path.object, client)) {
    return CoapCode::kNotFound;
  }
  std::vector<uint32_t> objects;
  if (depth == 1) {
    objects.push_back(path.object);
  } else {
    for (const ProfileInstance& pi : profile_->instances()) {
      objects.push_back(pi.object);
    }
    if (client.data != nullptr) {
      for (const auto& key : client.data->created) {
        objects.push_back(key.first);
      }
    }
    std::sort(objects.begin(), objects.end());
    objects.erase(std::unique(objects.begin(), objects.end()), objects.end());
    std::erase_if(objects, [&](uint32_t o) { return !object_supported(o, client); });
  }
  *out += "</>;lwm2m=";
  *out += to_string(version);
  const auto ssid = [&](uint32_t object, uint32_t instance, uint32_t resource) {
    if (const auto id = as_integer(value_at(object, instance, resource, client))) {
      *out += ";ssid=" + std::to_string(*id);
    }
  };
  for (uint32_t o : objects) {
    const std::vector<uint16_t> instances = instances_of(o, client);
    const ObjectDefinition* def = object_definition(o);
    // Core objects leave their version to lwm2m=, as in the Register (registration_links).
    const bool with_version = o > 7 && !def->object_version.empty() && def->object_version != "1.0";
    if (instances.empty() || with_version) {
      *out += ",</" + std::to_string(o) + '>';
      if (with_version) {
        *out += ";ver=" + def->object_version;
      }
    }
    for (uint16_t i : instances) {
      *out += ",</" + std::to_string(o) + '/' + std::to_string(i) + '>';
      if (o == kSecurity) {
        if (!is_bootstrap_account(i, client)) {
          ssid(o, i, 10);
        }
        const Value uri = value_at(o, i, 0, client);
        if (const auto* text = std::get_if<std::string>(&uri)) {
          *out += ";uri=";
          append_quoted(*text, out);
        }
      } else if (o == kServer) {
        ssid(o, i, 0);
      }
    }
  }
  return CoapCode::kContent;
}

uint8_t DataModel::bootstrap_read(const Lwm2mPath& path, const ClientContext& client,
                                  std::vector<Record>* out) const {
  const int depth = path.depth();
  if (depth == 0 || depth > 2) {
    return CoapCode::kBadRequest;
  }
  if (path.object != kServer && path.object != kAccessControl) {
    return CoapCode::kUnauthorized;
  }
  // Every resource of both objects a value can be read from is readable.
  return read(path, client, out);
}

std::optional<ProvisionedServer> DataModel::provisioned_server(const ClientContext& client) const {
  for (uint16_t i : instances_of(kSecurity, client)) {
    if (is_bootstrap_account(i, client)) {
      continue;
    }
    ProvisionedServer s;
    s.uri = as_text(value_at(kSecurity, i, 0, client));
    s.security_mode = as_integer(value_at(kSecurity, i, 2, client)).value_or(3);
    s.identity = as_bytes(value_at(kSecurity, i, 3, client));
    s.secret_key = as_bytes(value_at(kSecurity, i, 5, client));
    s.short_server_id = as_integer(value_at(kSecurity, i, 10, client)).value_or(0);
    for (uint16_t j : instances_of(kServer, client)) {
      if (as_integer(value_at(kServer, j, 0, client)) != s.short_server_id) {
        continue;
      }
      const auto lifetime = as_integer(value_at(kServer, j, 1, client)).value_or(0);
      s.lifetime_s = lifetime > 0 && lifetime <= UINT32_MAX ? static_cast<uint32_t>(lifetime) : 0;
      s.binding = as_text(value_at(kServer, j, 7, client));
      break;
    }
    return s;
  }
  return std::nullopt;
}

}  // namespace lwm2msim

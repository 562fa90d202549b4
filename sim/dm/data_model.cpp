#include "sim/dm/data_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <tuple>

#include "sim/coap/coap.h"
#include "sim/dm/execute_args.h"

namespace lwm2msim {
namespace {

Lwm2mPath resource_path(const Lwm2mPath& p) {
  return {p.object, p.instance, p.resource, Lwm2mPath::kAbsent};
}
bool same_resource(const Lwm2mPath& a, const Lwm2mPath& b) {
  return a.object == b.object && a.instance == b.instance && a.resource == b.resource;
}
bool same_instance(const Lwm2mPath& p, uint32_t object, uint32_t instance) {
  return p.object == object && p.instance == instance;
}
double as_number(const Value& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) {
    return static_cast<double>(*i);
  }
  if (const auto* u = std::get_if<uint64_t>(&v)) {
    return static_cast<double>(*u);
  }
  if (const auto* d = std::get_if<double>(&v)) {
    return *d;
  }
  if (const auto* tv = std::get_if<TimeValue>(&v)) {
    return static_cast<double>(tv->seconds);
  }
  return std::nan("");
}

// Sorted-vector helpers for ClientData.
template <class T, class Key>
bool sorted_contains(const std::vector<T>& v, const Key& k) {
  return std::binary_search(v.begin(), v.end(), k);
}
template <class T>
void sorted_insert(std::vector<T>* v, const T& k) {
  const auto it = std::lower_bound(v->begin(), v->end(), k);
  if (it == v->end() || *it != k) {
    v->insert(it, k);
  }
}
template <class T>
void sorted_erase(std::vector<T>* v, const T& k) {
  const auto it = std::lower_bound(v->begin(), v->end(), k);
  if (it != v->end() && *it == k) {
    v->erase(it);
  }
}

std::vector<Record>::const_iterator written_lower(const std::vector<Record>& w,
                                                  const Lwm2mPath& p) {
  return std::lower_bound(w.begin(), w.end(), p,
                          [](const Record& r, const Lwm2mPath& k) { return path_less(r.path, k); });
}
const Record* find_written(const ClientData* data, const Lwm2mPath& p) {
  if (data == nullptr) {
    return nullptr;
  }
  const auto it = written_lower(data->written, p);
  return it != data->written.end() && it->path == p ? &*it : nullptr;
}
bool is_replaced(const ClientData* data, const Lwm2mPath& resource) {
  return data != nullptr &&
         std::binary_search(data->replaced.begin(), data->replaced.end(), resource, path_less);
}
void upsert_written(ClientData* data, Record record) {
  const auto it =
      std::lower_bound(data->written.begin(), data->written.end(), record.path,
                       [](const Record& r, const Lwm2mPath& k) { return path_less(r.path, k); });
  if (it != data->written.end() && it->path == record.path) {
    it->value = std::move(record.value);
  } else {
    data->written.insert(it, std::move(record));
  }
}
template <class Pred>
void erase_written_if(ClientData* data, Pred pred) {
  std::erase_if(data->written, [&](const Record& r) { return pred(r.path); });
}
const NotificationAttributes* attributes_at(const ClientData* data, const Lwm2mPath& p) {
  if (data == nullptr) {
    return nullptr;
  }
  const auto it =
      std::lower_bound(data->attributes.begin(), data->attributes.end(), p,
                       [](const auto& e, const Lwm2mPath& k) { return path_less(e.first, k); });
  return it != data->attributes.end() && it->first == p ? &it->second : nullptr;
}

std::pair<uint16_t, uint16_t> instance_key(uint32_t object, uint32_t instance) {
  return {static_cast<uint16_t>(object), static_cast<uint16_t>(instance)};
}

void append_link(std::string* out, const Lwm2mPath& p) {
  if (!out->empty()) {
    *out += ',';
  }
  *out += '<';
  *out += p.to_string();
  *out += '>';
}

uint64_t fnv(uint64_t h, const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < n; ++i) {
    h = (h ^ p[i]) * 0x100000001b3ull;
  }
  return h;
}

}  // namespace

size_t ClientData::heap_bytes() const {
  size_t n = written.capacity() * sizeof(Record) + replaced.capacity() * sizeof(Lwm2mPath) +
             (created.capacity() + deleted.capacity()) * sizeof(created[0]) +
             attributes.capacity() * sizeof(attributes[0]);
  for (const Record& r : written) {
    if (const auto* s = std::get_if<std::string>(&r.value); s != nullptr && s->capacity() > 15) {
      n += s->capacity() + 1;
    } else if (const auto* o = std::get_if<Opaque>(&r.value)) {
      n += o->bytes.capacity();
    }
  }
  return n;
}

uint64_t records_digest(std::span<const Record> records) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (const Record& r : records) {
    const uint32_t ids[] = {r.path.object, r.path.instance, r.path.resource,
                            r.path.resource_instance};
    h = fnv(h, ids, sizeof ids);
    const auto index = static_cast<uint8_t>(r.value.index());
    h = fnv(h, &index, 1);
    std::visit(
        [&h](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::string>) {
            h = fnv(h, v.data(), v.size());
          } else if constexpr (std::is_same_v<T, Opaque>) {
            h = fnv(h, v.bytes.data(), v.bytes.size());
          } else if constexpr (std::is_same_v<T, CoreLink>) {
            h = fnv(h, v.text.data(), v.text.size());
          } else if constexpr (std::is_same_v<T, TimeValue>) {
            h = fnv(h, &v.seconds, sizeof v.seconds);
          } else if constexpr (std::is_same_v<T, Objlnk>) {
            const uint16_t o[] = {v.object, v.instance};
            h = fnv(h, o, sizeof o);
          } else if constexpr (!std::is_same_v<T, std::monostate>) {
            h = fnv(h, &v, sizeof v);
          }
        },
        r.value);
  }
  return h;
}

DataModel::DataModel(std::shared_ptr<const Profile> profile, uint64_t seed, int64_t unix_epoch_s)
    : profile_(std::move(profile)), seed_(seed), unix_epoch_s_(unix_epoch_s) {}

const ObjectDefinition* DataModel::object_definition(uint32_t object) const {
  return object > UINT16_MAX ? nullptr : profile_->registry().find(static_cast<uint16_t>(object));
}

const ResourceDefinition* DataModel::resource_definition(const Lwm2mPath& path) const {
  const ObjectDefinition* def = object_definition(path.object);
  if (def == nullptr || path.resource > UINT16_MAX) {
    return nullptr;
  }
  return def->resource(static_cast<uint16_t>(path.resource));
}

ResourceType DataModel::type_of(const Lwm2mPath& path) const {
  const ResourceDefinition* def = path.depth() >= 3 ? resource_definition(path) : nullptr;
  return def == nullptr ? ResourceType::kNone : def->type;
}

bool DataModel::is_multiple(const Lwm2mPath& path) const {
  const ResourceDefinition* def = path.depth() >= 3 ? resource_definition(path) : nullptr;
  return def != nullptr && def->multiple;
}

CodecContext DataModel::codec_context(const Lwm2mPath& base) const {
  CodecContext ctx;
  ctx.base = base;
  ctx.type_of = [this](const Lwm2mPath& p) { return type_of(p); };
  ctx.is_multiple = [this](const Lwm2mPath& p) { return is_multiple(p); };
  return ctx;
}

bool DataModel::instance_exists(uint32_t object, uint32_t instance,
                                const ClientContext& client) const {
  if (object > UINT16_MAX || instance > UINT16_MAX) {
    return false;
  }
  const auto key = instance_key(object, instance);
  const ClientData* d = client.data;
  if (d != nullptr && sorted_contains(d->created, key)) {
    return true;
  }
  return profile_->find_instance(key.first, key.second) != nullptr &&
         (d == nullptr || !sorted_contains(d->deleted, key));
}

bool DataModel::object_supported(uint32_t object, const ClientContext& client) const {
  if (object_definition(object) == nullptr) {
    return false;
  }
  for (const ProfileInstance& i : profile_->instances()) {
    if (i.object == object) {
      return true;
    }
  }
  const ClientData* d = client.data;
  return d != nullptr && std::any_of(d->created.begin(), d->created.end(),
                                     [object](const auto& k) { return k.first == object; });
}

std::vector<uint16_t> DataModel::instances_of(uint32_t object, const ClientContext& client) const {
  std::vector<uint16_t> ids;
  for (const ProfileInstance& i : profile_->instances()) {
    if (i.object == object && instance_exists(i.object, i.instance, client)) {
      ids.push_back(i.instance);
    }
  }
  if (client.data != nullptr) {
    for (const auto& [o, i] : client.data->created) {
      if (o == object) {
        ids.push_back(i);
      }
    }
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

std::vector<uint16_t> DataModel::resources_of(uint32_t object, uint32_t instance,
                                              const ClientContext& client) const {
  std::vector<uint16_t> ids;
  const ClientData* d = client.data;
  const auto key = instance_key(object, instance);
  const bool created = d != nullptr && sorted_contains(d->created, key);
  if (!created) {
    if (const ProfileInstance* pi = profile_->find_instance(key.first, key.second)) {
      for (const ProfileResource& r : profile_->resources(*pi)) {
        ids.push_back(static_cast<uint16_t>(r.path.resource));
      }
    }
  } else if (const ObjectDefinition* def = object_definition(object)) {
    // A created instance keeps its object's executables: nothing can be written to them.
    for (const ResourceDefinition& r : def->resources) {
      if (r.operations.execute) {
        ids.push_back(r.id);
      }
    }
  }
  if (d != nullptr) {
    for (const Record& r : d->written) {
      if (same_instance(r.path, object, instance)) {
        ids.push_back(static_cast<uint16_t>(r.path.resource));
      }
    }
    for (const Lwm2mPath& p : d->replaced) {
      if (same_instance(p, object, instance)) {
        ids.push_back(static_cast<uint16_t>(p.resource));
      }
    }
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

bool DataModel::exists(const Lwm2mPath& path, const ClientContext& client) const {
  switch (path.depth()) {
    case 0:
      return true;
    case 1:
      return object_supported(path.object, client);
    case 2:
      return instance_exists(path.object, path.instance, client);
    default: {
      if (!instance_exists(path.object, path.instance, client) ||
          resource_definition(path) == nullptr) {
        return false;
      }
      const std::vector<uint16_t> ids = resources_of(path.object, path.instance, client);
      if (!std::binary_search(ids.begin(), ids.end(), static_cast<uint16_t>(path.resource))) {
        return false;
      }
      if (path.depth() == 3) {
        return true;
      }
      std::vector<Record> values;
      append_resource(resource_path(path), path.resource_instance, client, &values);
      return !values.empty();
    }
  }
}

Value DataModel::profile_value(const ProfileResource& r, const ClientContext& client) const {
  if (r.path.object == 1 && r.path.resource == 1) {
    return int64_t{client.lifetime_s};
  }
  if (client.bootstrap_account && r.path.object == 0 && r.path.instance == 0) {
    if (r.path.resource == 0) {
      return std::string(client.server_uri);
    }
    if (r.path.resource == 1) {
      return true;
    }
  }
  Value v = profile_->value(r, {seed_, client.index, client.t, unix_epoch_s_});
  if (r.path.object == 0 && r.path.resource == 0) {
    if (auto* s = std::get_if<std::string>(&v); s != nullptr && *s == kServerUriPlaceholder) {
      *s = std::string(client.server_uri);
    }
  }
  return v;
}

void DataModel::append_resource(const Lwm2mPath& resource, uint32_t ri, const ClientContext& client,
                                std::vector<Record>* out) const {
  const ClientData* d = client.data;
  const auto key = instance_key(resource.object, resource.instance);
  const bool profile_backed =
      profile_->find_instance(key.first, key.second) != nullptr &&
      (d == nullptr || (!sorted_contains(d->deleted, key) && !sorted_contains(d->created, key)));
  if (profile_backed && !is_replaced(d, resource)) {
    const auto entries =
        profile_->find_resource(key.first, key.second, static_cast<uint16_t>(resource.resource));
    if (!entries.empty()) {
      for (const ProfileResource& r : entries) {
        if (ri != Lwm2mPath::kAbsent && r.path.resource_instance != ri) {
          continue;
        }
        if (const Record* w = find_written(d, r.path)) {
          out->push_back(*w);
        } else {
          out->push_back({r.path, profile_value(r, client)});
        }
      }
      return;
    }
  }
  if (d == nullptr) {
    return;
  }
  // Instances sort before the resource's own path (kAbsent is the largest id): start at 0.
  const Lwm2mPath first{resource.object, resource.instance, resource.resource, 0};
  for (auto it = written_lower(d->written, first);
       it != d->written.end() && same_resource(it->path, resource); ++it) {
    if (ri == Lwm2mPath::kAbsent || it->path.resource_instance == ri) {
      out->push_back(*it);
    }
  }
}

uint8_t DataModel::read(const Lwm2mPath& path, const ClientContext& client,
                        std::vector<Record>* out) const {
  const int depth = path.depth();
  if (depth == 0) {
    return CoapCode::kMethodNotAllowed;
  }
  if (!exists(path, client)) {
    return CoapCode::kNotFound;
  }
  const auto read_instance = [&](uint32_t instance) {
    for (uint16_t r : resources_of(path.object, instance, client)) {
      const Lwm2mPath rp{path.object, instance, r, Lwm2mPath::kAbsent};
      const ResourceDefinition* def = resource_definition(rp);
      if (def != nullptr && def->operations.read) {
        append_resource(rp, Lwm2mPath::kAbsent, client, out);
      }
    }
  };
  if (depth == 1) {
    for (uint16_t i : instances_of(path.object, client)) {
      read_instance(i);
    }
    return CoapCode::kContent;
  }
  if (depth == 2) {
    read_instance(path.instance);
    return CoapCode::kContent;
  }
  if (!resource_definition(path)->operations.read) {
    return CoapCode::kMethodNotAllowed;
  }
  append_resource(resource_path(path), path.resource_instance, client, out);
  return CoapCode::kContent;
}

uint8_t DataModel::read_composite(std::span<const Lwm2mPath> paths, const ClientContext& client,
                                  std::vector<Record>* out) const {
  bool any = false;
  for (const Lwm2mPath& p : paths) {
    if (p.depth() == 0 || !exists(p, client)) {
      continue;
    }
    const uint8_t code = read(p, client, out);
    if (code != CoapCode::kContent) {
      return code;
    }
    any = true;
  }
  return any ? CoapCode::kContent : CoapCode::kNotFound;
}

uint8_t DataModel::check_value(const Record& record, const ResourceDefinition& def) const {
  if (std::holds_alternative<std::monostate>(record.value) ||
      lwm2msim::type_of(record.value) != def.type) {
    return CoapCode::kBadRequest;
  }
  if (is_numeric(def.type)) {
    const double v = as_number(record.value);
    if (!std::isfinite(v) || (def.min && v < *def.min) || (def.max && v > *def.max)) {
      return CoapCode::kBadRequest;
    }
  }
  return 0;
}

void DataModel::apply_write(const Lwm2mPath& resource, std::span<const Record> values,
                            bool replace_multiple, const ClientContext& client,
                            ClientData* data) const {
  if (!is_multiple(resource)) {
    for (const Record& r : values) {
      upsert_written(data, r);
    }
    return;
  }
  if (!is_replaced(data, resource)) {
    // The resource's instances now live in the client's data: take the current ones along
    // unless this write replaces them all.
    std::vector<Record> current;
    if (!replace_multiple) {
      ClientContext view = client;
      view.data = data;
      append_resource(resource, Lwm2mPath::kAbsent, view, &current);
    }
    const auto pos =
        std::lower_bound(data->replaced.begin(), data->replaced.end(), resource, path_less);
    data->replaced.insert(pos, resource);
    for (Record& r : current) {
      upsert_written(data, std::move(r));
    }
  }
  if (replace_multiple) {
    erase_written_if(data, [&](const Lwm2mPath& p) { return same_resource(p, resource); });
  }
  for (const Record& r : values) {
    upsert_written(data, r);
  }
}

uint8_t DataModel::write(const Lwm2mPath& path, std::span<const Record> records, WriteMode mode,
                         const ClientContext& client, ClientData* data) const {
  const int depth = path.depth();
  if (depth < 2) {
    return CoapCode::kMethodNotAllowed;
  }
  if (!instance_exists(path.object, path.instance, client)) {
    return CoapCode::kNotFound;
  }
  if (depth >= 3) {
    const ResourceDefinition* def = resource_definition(path);
    if (def == nullptr) {
      return CoapCode::kNotFound;
    }
    if (!def->operations.write) {
      return CoapCode::kMethodNotAllowed;
    }
    if (depth == 4 && !def->multiple) {
      return CoapCode::kNotFound;
    }
  }
  for (const Record& r : records) {
    if (!is_under(r.path, path) || r.path.depth() < 3) {
      return CoapCode::kBadRequest;
    }
    const ResourceDefinition* def = resource_definition(r.path);
    if (def == nullptr) {
      return CoapCode::kNotFound;
    }
    if (!def->operations.write) {
      return CoapCode::kMethodNotAllowed;
    }
    if ((r.path.depth() == 4) != def->multiple) {
      return CoapCode::kBadRequest;
    }
    if (const uint8_t code = check_value(r, *def); code != 0) {
      return code;
    }
  }
  if (depth == 3 && records.empty() && !is_multiple(path)) {
    return CoapCode::kBadRequest;
  }
  // Group by resource (codecs give records in path order, but do not rely on it).
  std::vector<Record> sorted(records.begin(), records.end());
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Record& a, const Record& b) { return path_less(a.path, b.path); });
  const bool replace_multiple = mode == WriteMode::kReplace && depth <= 3;
  if (depth == 3 && is_multiple(path) && sorted.empty()) {
    apply_write(path, {}, replace_multiple, client, data);
  }
  for (size_t i = 0; i < sorted.size();) {
    size_t j = i + 1;
    while (j < sorted.size() && same_resource(sorted[j].path, sorted[i].path)) {
      ++j;
    }
    apply_write(resource_path(sorted[i].path), std::span(sorted).subspan(i, j - i),
                replace_multiple, client, data);
    i = j;
  }
  return CoapCode::kChanged;
}

uint8_t DataModel::write_composite(std::span<const Record> records, const ClientContext& client,
                                   ClientData* data) const {
  if (records.empty()) {
    return CoapCode::kBadRequest;
  }
  for (const Record& r : records) {
    if (r.path.depth() < 3) {
      return CoapCode::kBadRequest;
    }
    if (!instance_exists(r.path.object, r.path.instance, client)) {
      return CoapCode::kNotFound;
    }
    const ResourceDefinition* def = resource_definition(r.path);
    if (def == nullptr) {
      return CoapCode::kNotFound;
    }
    if (!def->operations.write) {
      return CoapCode::kMethodNotAllowed;
    }
    if ((r.path.depth() == 4) != def->multiple) {
      return CoapCode::kBadRequest;
    }
    if (const uint8_t code = check_value(r, *def); code != 0) {
      return code;
    }
  }
  for (const Record& r : records) {
    apply_write(resource_path(r.path), std::span(&r, 1), false, client, data);
  }
  return CoapCode::kChanged;
}

uint8_t DataModel::execute(const Lwm2mPath& path, std::string_view arguments,
                           const ClientContext& client, ExecuteEffect* effect) const {
  *effect = ExecuteEffect::kNone;
  if (path.depth() != 3) {
    return CoapCode::kMethodNotAllowed;
  }
  if (!exists(path, client)) {
    return CoapCode::kNotFound;
  }
  if (!resource_definition(path)->operations.execute) {
    return CoapCode::kMethodNotAllowed;
  }
  std::vector<ExecuteArg> args;
  if (!parse_execute_args(arguments, &args)) {
    return CoapCode::kBadRequest;
  }
  if (path.object == 3 && path.resource == 4) {
    *effect = ExecuteEffect::kReboot;
  } else if (path.object == 3 && path.resource == 5) {
    *effect = ExecuteEffect::kFactoryReset;
  } else if (path.object == 1 && path.resource == 8) {
    *effect = ExecuteEffect::kRegistrationUpdate;
  } else if (path.object == 5 && (path.resource == 2 || path.resource == 10)) {
    const double state = number_at({path.object, path.instance, 3}, client);
    if (path.resource == 2) {
      if (state != static_cast<double>(firmware::kDownloaded)) {
        return CoapCode::kMethodNotAllowed;
      }
      *effect = ExecuteEffect::kFirmwareUpdate;
    } else {
      if (state != static_cast<double>(firmware::kDownloading) &&
          state != static_cast<double>(firmware::kDownloaded)) {
        return CoapCode::kMethodNotAllowed;
      }
      *effect = ExecuteEffect::kFirmwareCancel;
    }
  }
  return CoapCode::kChanged;
}

void DataModel::set_value(const Lwm2mPath& resource, Value value, const ClientContext& client,
                          ClientData* data) const {
  const Record r{resource, std::move(value)};
  apply_write(resource, {&r, 1}, false, client, data);
}

uint8_t DataModel::create(const Lwm2mPath& path, std::span<const Record> records,
                          const ClientContext& client, ClientData* data, uint16_t* instance) const {
  if (path.depth() != 1) {
    return CoapCode::kMethodNotAllowed;
  }
  const ObjectDefinition* def = object_definition(path.object);
  if (def == nullptr || !object_supported(path.object, client) || path.object == 0) {
    return CoapCode::kNotFound;
  }
  const std::vector<uint16_t> existing = instances_of(path.object, client);
  if (!def->multiple && !existing.empty()) {
    return CoapCode::kBadRequest;
  }
  uint32_t id = Lwm2mPath::kAbsent;
  for (const Record& r : records) {
    if (r.path.object != path.object || r.path.depth() < 3 ||
        (id != Lwm2mPath::kAbsent && r.path.instance != id)) {
      return CoapCode::kBadRequest;
    }
    id = r.path.instance;
  }
  if (id == Lwm2mPath::kAbsent) {
    // No instance id in the payload: the client picks the lowest free one.
    id = 0;
    while (std::binary_search(existing.begin(), existing.end(), static_cast<uint16_t>(id))) {
      ++id;
    }
  }
  if (id >= UINT16_MAX || instance_exists(path.object, id, client)) {
    return CoapCode::kBadRequest;
  }
  for (const Record& r : records) {
    const ResourceDefinition* rdef = resource_definition(r.path);
    if (rdef == nullptr || rdef->operations.execute || (r.path.depth() == 4) != rdef->multiple ||
        check_value(r, *rdef) != 0) {
      return CoapCode::kBadRequest;
    }
  }
  if (announced_in_register(path.object)) {
    // The device announces the new instance in an Update, which must still fit one datagram:
    // past that it refuses, as a device whose storage is full.
    std::vector<Lwm2mPath> announced = registration_instances(client);
    const Lwm2mPath added{path.object, id, Lwm2mPath::kAbsent, Lwm2mPath::kAbsent};
    announced.insert(std::lower_bound(announced.begin(), announced.end(), added, path_less), added);
    if (profile_->registration_links(announced).size() > kMaxRegistrationLinks) {
      return CoapCode::kInternalServerError;
    }
  }
  const auto key = instance_key(path.object, id);
  add_instance(key.first, key.second, data);
  for (const Record& r : records) {
    upsert_written(data, r);
  }
  *instance = key.second;
  return CoapCode::kCreated;
}

uint8_t DataModel::remove(const Lwm2mPath& path, const ClientContext& client,
                          ClientData* data) const {
  if (path.depth() != 2) {
    return CoapCode::kMethodNotAllowed;
  }
  if (!instance_exists(path.object, path.instance, client)) {
    return CoapCode::kNotFound;
  }
  if (path.object == 0) {
    return CoapCode::kUnauthorized;
  }
  const ObjectDefinition* def = object_definition(path.object);
  if (def != nullptr && def->mandatory && !def->multiple) {
    return CoapCode::kMethodNotAllowed;
  }
  const auto key = instance_key(path.object, path.instance);
  drop_instance(key.first, key.second, data);
  return CoapCode::kDeleted;
}

void DataModel::add_instance(uint16_t object, uint16_t instance, ClientData* data) const {
  sorted_insert(&data->created, std::pair{object, instance});
  const auto under = [&](const Lwm2mPath& p) { return same_instance(p, object, instance); };
  erase_written_if(data, under);
  std::erase_if(data->replaced, under);
  std::erase_if(data->attributes, [&](const auto& e) { return under(e.first); });
}

void DataModel::drop_instance(uint16_t object, uint16_t instance, ClientData* data) const {
  const auto key = std::pair{object, instance};
  if (sorted_contains(data->created, key)) {
    sorted_erase(&data->created, key);
  }
  if (profile_->find_instance(object, instance) != nullptr) {
    sorted_insert(&data->deleted, key);
  }
  const auto under = [&](const Lwm2mPath& p) { return same_instance(p, object, instance); };
  erase_written_if(data, under);
  std::erase_if(data->replaced, under);
  std::erase_if(data->attributes, [&](const auto& e) { return under(e.first); });
}

Value DataModel::value_at(uint32_t object, uint32_t instance, uint32_t resource,
                          const ClientContext& client) const {
  const Lwm2mPath p{object, instance, resource, Lwm2mPath::kAbsent};
  if (is_multiple(p)) {
    return {};
  }
  std::vector<Record> values;
  append_resource(p, Lwm2mPath::kAbsent, client, &values);
  return values.size() == 1 ? std::move(values.front().value) : Value{};
}

uint8_t DataModel::discover(const Lwm2mPath& path, const ClientContext& client,
                            std::string* out) const {
  const int depth = path.depth();
  if (depth == 0 || depth == 4) {
    return CoapCode::kMethodNotAllowed;
  }
  if (!exists(path, client)) {
    return CoapCode::kNotFound;
  }
  const auto attrs = [&](const Lwm2mPath& p) {
    if (const NotificationAttributes* a = attributes_at(client.data, p)) {
      append_link_params(*a, out);
    }
  };
  const auto resource = [&](uint32_t instance, uint16_t r) {
    const Lwm2mPath rp{path.object, instance, r, Lwm2mPath::kAbsent};
    append_link(out, rp);
    if (is_multiple(rp)) {
      std::vector<Record> values;
      append_resource(rp, Lwm2mPath::kAbsent, client, &values);
      *out += ";dim=" + std::to_string(values.size());
    }
    attrs(rp);
  };
  const auto instance = [&](uint32_t i, bool with_resources) {
    const Lwm2mPath ip{path.object, i, Lwm2mPath::kAbsent, Lwm2mPath::kAbsent};
    append_link(out, ip);
    attrs(ip);
    if (with_resources) {
      for (uint16_t r : resources_of(path.object, i, client)) {
        resource(i, r);
      }
    }
  };
  if (depth == 1) {
    const Lwm2mPath op{path.object, Lwm2mPath::kAbsent, Lwm2mPath::kAbsent, Lwm2mPath::kAbsent};
    append_link(out, op);
    const ObjectDefinition* def = object_definition(path.object);
    if (def != nullptr && !def->object_version.empty() && def->object_version != "1.0") {
      *out += ";ver=" + def->object_version;
    }
    attrs(op);
    for (uint16_t i : instances_of(path.object, client)) {
      instance(i, true);
    }
  } else if (depth == 2) {
    instance(path.instance, true);
  } else {
    resource(path.instance, static_cast<uint16_t>(path.resource));
  }
  return CoapCode::kContent;
}

uint8_t DataModel::write_attributes(const Lwm2mPath& path,
                                    std::span<const std::string_view> queries, Lwm2mVersion version,
                                    const ClientContext& client, ClientData* data) const {
  if (path.depth() == 0) {
    return CoapCode::kMethodNotAllowed;
  }
  if (!exists(path, client)) {
    return CoapCode::kNotFound;
  }
  AttributeTarget target;
  target.depth = path.depth();
  if (path.depth() == 4 || (path.depth() == 3 && !is_multiple(path))) {
    target.type = type_of(path);
  }
  target.version = version;
  const NotificationAttributes* current = attributes_at(data, path);
  NotificationAttributes attrs = current != nullptr ? *current : NotificationAttributes{};
  if (const uint8_t code = apply_write_attributes(queries, target, &attrs); code != 0) {
    return code;
  }
  auto it =
      std::lower_bound(data->attributes.begin(), data->attributes.end(), path,
                       [](const auto& e, const Lwm2mPath& k) { return path_less(e.first, k); });
  const bool found = it != data->attributes.end() && it->first == path;
  if (attrs.empty()) {
    if (found) {
      data->attributes.erase(it);
    }
  } else if (found) {
    it->second = attrs;
  } else {
    data->attributes.insert(it, {path, attrs});
  }
  return CoapCode::kChanged;
}

NotificationAttributes DataModel::effective_attributes(const Lwm2mPath& path,
                                                       const ClientContext& client) const {
  std::vector<const NotificationAttributes*> levels;
  const uint32_t ids[] = {path.object, path.instance, path.resource, path.resource_instance};
  Lwm2mPath p;
  uint32_t* dst[] = {&p.object, &p.instance, &p.resource, &p.resource_instance};
  for (int i = 0; i < path.depth(); ++i) {
    *dst[i] = ids[i];
    levels.push_back(attributes_at(client.data, p));
  }
  // The Server object's Default Minimum / Maximum Period (/1/x/2, /1/x/3).
  uint32_t default_pmin = 0;
  std::optional<uint32_t> default_pmax;
  std::vector<Record> values;
  for (uint16_t i : instances_of(1, client)) {
    for (uint32_t r : {2u, 3u}) {
      values.clear();
      append_resource({1, i, r, Lwm2mPath::kAbsent}, Lwm2mPath::kAbsent, client, &values);
      if (!values.empty()) {
        const double v = as_number(values.front().value);
        if (std::isfinite(v) && v >= 0) {
          if (r == 2) {
            default_pmin = static_cast<uint32_t>(v);
          } else {
            default_pmax = static_cast<uint32_t>(v);
          }
        }
      }
    }
    break;
  }
  return lwm2msim::effective_attributes(levels, default_pmin, default_pmax);
}

double DataModel::number_at(const Lwm2mPath& path, const ClientContext& client) const {
  if (path.depth() < 3 || (path.depth() == 3 && is_multiple(path))) {
    return std::nan("");
  }
  std::vector<Record> values;
  append_resource(resource_path(path), path.resource_instance, client, &values);
  return values.size() == 1 ? as_number(values.front().value) : std::nan("");
}

bool DataModel::is_constant(const Lwm2mPath& path, const ClientContext& client) const {
  const ClientData* d = client.data;
  for (const ProfileResource& r : profile_->resources()) {
    if (!is_under(r.path, path) || r.is_constant()) {
      continue;
    }
    if (!instance_exists(r.path.object, r.path.instance, client) ||
        is_replaced(d, resource_path(r.path)) || find_written(d, r.path) != nullptr ||
        (d != nullptr &&
         sorted_contains(d->created, instance_key(r.path.object, r.path.instance)))) {
      continue;
    }
    return false;
  }
  return true;
}

std::vector<Lwm2mPath> DataModel::registration_instances(const ClientContext& client) const {
  const auto announced = profile_->registration_instances();
  const ClientData* d = client.data;
  if (d == nullptr || (d->created.empty() && d->deleted.empty())) {
    return {announced.begin(), announced.end()};
  }
  std::vector<Lwm2mPath> out;
  for (const Lwm2mPath& p : announced) {
    if (!sorted_contains(d->deleted, instance_key(p.object, p.instance))) {
      out.push_back(p);
    }
  }
  for (const auto& [o, i] : d->created) {
    if (announced_in_register(o)) {
      out.push_back({o, i, Lwm2mPath::kAbsent, Lwm2mPath::kAbsent});
    }
  }
  std::sort(out.begin(), out.end(), path_less);
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string DataModel::registration_links(const ClientContext& client) const {
  return profile_->registration_links(registration_instances(client));
}

uint32_t DataModel::profile_lifetime() const {
  const ProfileResource* r = profile_->find({1, 0, 1, Lwm2mPath::kAbsent});
  if (r == nullptr || !r->is_constant()) {
    return 0;
  }
  const double v = as_number(std::get<ConstantParams>(r->generator.params).value);
  return std::isfinite(v) && v > 0 && v <= UINT32_MAX ? static_cast<uint32_t>(v) : 0;
}

}  // namespace lwm2msim

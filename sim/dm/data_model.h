// dm: a virtual client's LwM2M data model: the device-management and reporting operations on the
// objects of a shared, immutable profile, with each client's differences kept sparsely.
//
// One DataModel serves every client of a profile. It never sees the wire: operations take and
// give typed records (sim/format turns them into payloads) and answer CoAP codes, as LwM2M TS 1.1
// sections 6.3 and 6.4 prescribe for each error case. What a server changes on one client
// (written values, created and deleted instances, attributes) lives in that client's ClientData,
// which does not exist until the first change: a fleet no server writes to holds none.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sim/dm/attributes.h"
#include "sim/format/format.h"
#include "sim/lwm2m/lwm2m.h"
#include "sim/profile/profile.h"
#include "sim/util/time.h"

namespace lwm2msim {

// What a server changed on one client.
struct ClientData {
  // Values written by a server or given at Create, sorted by path. For a multiple resource
  // listed in `replaced`, its instances here are all it has.
  std::vector<Record> written;
  // Multiple resources (depth-3 paths) whose profile instances were replaced by a write.
  std::vector<Lwm2mPath> replaced;
  // Instances created at run time and profile instances deleted, as (object, instance), sorted.
  std::vector<std::pair<uint16_t, uint16_t>> created;
  std::vector<std::pair<uint16_t, uint16_t>> deleted;
  // Write-Attributes results by target path, sorted by path.
  std::vector<std::pair<Lwm2mPath, NotificationAttributes>> attributes;

  bool empty() const {
    return written.empty() && replaced.empty() && created.empty() && deleted.empty() &&
           attributes.empty();
  }
  // Heap bytes this client holds (for the memory figures).
  size_t heap_bytes() const;
};

// The sparse per-client store of a worker: clients without changes cost nothing.
class ClientDataStore {
 public:
  const ClientData* find(uint32_t client) const {
    const auto it = data_.find(client);
    return it == data_.end() ? nullptr : &it->second;
  }
  ClientData& get(uint32_t client) { return data_[client]; }
  // Drops the entry when a change left nothing behind.
  void compact(uint32_t client) {
    const auto it = data_.find(client);
    if (it != data_.end() && it->second.empty()) {
      data_.erase(it);
    }
  }
  void erase(uint32_t client) { data_.erase(client); }
  size_t size() const { return data_.size(); }

 private:
  std::unordered_map<uint32_t, ClientData> data_;
};

// The client an operation applies to.
struct ClientContext {
  uint64_t index = 0;  // fleet-wide index (generators, serial numbers)
  TimeUs t = 0;        // now, since the simulation epoch
  const ClientData* data = nullptr;
  // Values the run decides rather than the profile: the lifetime in use (/1/x/1) and the
  // server URI (replaces the profile's ${server} in /0/x/0).
  uint32_t lifetime_s = 300;
  std::string_view server_uri;
  // The client starts from a bootstrap server: the profile's Security instance /0/0 is its
  // Bootstrap-Server account (/0/0/1 reads true and /0/0/0 is server_uri, the bootstrap
  // server's URI), which Bootstrap-Delete keeps and provisioned_server() passes over.
  bool bootstrap_account = false;
};

// The LwM2M server account a bootstrap provisioned (DataModel::provisioned_server).
struct ProvisionedServer {
  std::string uri;                  // /0/x/0
  int64_t security_mode = 3;        // /0/x/2: 0 PSK, 1 RPK, 2 certificate, 3 NoSec, 4 cert+EST
  std::vector<uint8_t> identity;    // /0/x/3 (PSK identity)
  std::vector<uint8_t> secret_key;  // /0/x/5 (PSK key); never printed
  int64_t short_server_id = 0;      // /0/x/10
  uint32_t lifetime_s = 0;          // /1/y/1 of the matching Server instance (0: none)
  std::string binding;              // /1/y/7
};

// What an Execute asks the client to do besides answering 2.04.
enum class ExecuteEffect : uint8_t {
  kNone,
  kReboot,              // /3/0/4: drop everything and register again after a delay
  kFactoryReset,        // /3/0/5: forget what servers changed, then reboot
  kRegistrationUpdate,  // /1/x/8: send an Update now
  kFirmwareUpdate,      // /5/x/2 in state Downloaded: install the package, then reboot
  kFirmwareCancel,      // /5/x/10 while downloading or downloaded: back to Idle
};

enum class WriteMode : uint8_t { kReplace, kPartialUpdate };

class DataModel {
 public:
  // Both spellings name the same type.
  using ProvisionedServer = lwm2msim::ProvisionedServer;

  // unix_epoch_s is the Unix time at the simulation epoch (EvalContext).
  DataModel(std::shared_ptr<const Profile> profile, uint64_t seed, int64_t unix_epoch_s);

  const Profile& profile() const { return *profile_; }

  // Read of an object, instance, resource or resource instance: appends readable values.
  // 2.05, 4.04 (absent), 4.05 (not readable: an executable or write-only resource).
  uint8_t read(const Lwm2mPath& path, const ClientContext& client, std::vector<Record>* out) const;
  // Read-Composite: values of every listed path that exists (2.05), 4.04 when none does, 4.05
  // when one is not readable.
  uint8_t read_composite(std::span<const Lwm2mPath> paths, const ClientContext& client,
                         std::vector<Record>* out) const;

  // Write (replace or partial update) of an instance, resource or resource instance with
  // decoded records: 2.04, 4.00 (records outside the target, wrong type, out of range), 4.04,
  // 4.05 (read-only or executable resource; object-level target).
  uint8_t write(const Lwm2mPath& path, std::span<const Record> records, WriteMode mode,
                const ClientContext& client, ClientData* data) const;
  // Write-Composite: every record at its own full path, all or nothing.
  uint8_t write_composite(std::span<const Record> records, const ClientContext& client,
                          ClientData* data) const;

  // Execute with the raw argument text: 2.04, 4.00 (bad arguments), 4.04, 4.05 (also Firmware
  // Update's Update outside state Downloaded, and Cancel outside Downloading and Downloaded).
  uint8_t execute(const Lwm2mPath& path, std::string_view arguments, const ClientContext& client,
                  ExecuteEffect* effect) const;

  // A value the device changes itself (firmware state, installed version): no access or range
  // checks; `resource` is a single resource's path.
  void set_value(const Lwm2mPath& resource, Value value, const ClientContext& client,
                 ClientData* data) const;

  // Create on an object: 2.01 with *instance set; 4.00 when the instance exists (or a
  // single-instance object has its instance) or the payload does not fit the definition; 4.04
  // when the profile does not support the object.
  uint8_t create(const Lwm2mPath& path, std::span<const Record> records,
                 const ClientContext& client, ClientData* data, uint16_t* instance) const;
  // Delete of an instance: 2.02, 4.04, 4.05 (not an instance; a mandatory single instance),
  // 4.01 (Security, which only a bootstrap server may delete).
  uint8_t remove(const Lwm2mPath& path, const ClientContext& client, ClientData* data) const;

  // Discover: link format with attributes (TS 1.1 5.4.2): 2.05, 4.04, 4.05 (depth 4).
  uint8_t discover(const Lwm2mPath& path, const ClientContext& client, std::string* out) const;
  // Write-Attributes with the request's Uri-Query values: 2.04, 4.00, 4.04.
  uint8_t write_attributes(const Lwm2mPath& path, std::span<const std::string_view> queries,
                           Lwm2mVersion version, const ClientContext& client,
                           ClientData* data) const;
  // Attributes in force for an observation of `path` (levels inherited, Server defaults).
  NotificationAttributes effective_attributes(const Lwm2mPath& path,
                                              const ClientContext& client) const;

  // Whether a path exists for this client (an object counts when the profile supports it).
  bool exists(const Lwm2mPath& path, const ClientContext& client) const;
  // Definitions for codecs: resource type and multiplicity by path.
  ResourceType type_of(const Lwm2mPath& path) const;
  bool is_multiple(const Lwm2mPath& path) const;
  // A codec context for payloads at `base` (type and multiplicity from the definitions).
  CodecContext codec_context(const Lwm2mPath& base) const;
  // The value of a numeric single resource, for gt/lt/st; NaN otherwise.
  double number_at(const Lwm2mPath& path, const ClientContext& client) const;
  // Whether nothing under `path` changes with time (observations then only need pmax).
  bool is_constant(const Lwm2mPath& path, const ClientContext& client) const;

  // The instances this client announces in Register/Update, and its links payload.
  std::vector<Lwm2mPath> registration_instances(const ClientContext& client) const;
  std::string registration_links(const ClientContext& client) const;
  // The profile's /1/0/1 when it sets a constant lifetime, else 0.
  uint32_t profile_lifetime() const;

  // The Bootstrap interface (LwM2M TS 1.1 5.2.7): a bootstrap server's operations, which access
  // rights and the resources' operation flags do not restrict (bootstrap.cpp).
  //
  // Bootstrap-Write of an object, instance or resource: creates the instances the payload names
  // when absent, and replaces the values (all instances of a multiple resource) it carries,
  // keeping the instance's other resources. All or nothing. 2.04; 4.00 (root or resource
  // instance target, payload outside the target, an undefined or executable resource, wrong
  // type or out of range, a second instance of a single-instance object); 4.04 (object not
  // supported by the profile).
  uint8_t bootstrap_write(const Lwm2mPath& path, std::span<const Record> records,
                          const ClientContext& client, ClientData* data) const;
  // Bootstrap-Delete of "/" (empty path), an object or an instance: 2.02, also when there was
  // nothing to delete. Never deletes the Bootstrap-Server account (a Security instance whose
  // resource 1 is true), the OSCORE instance it links to (/0/x/17) nor the Device object (3):
  // "/" and object targets pass over them, an instance target naming one answers 4.00. 4.00
  // for a resource path.
  uint8_t bootstrap_delete(const Lwm2mPath& path, const ClientContext& client,
                           ClientData* data) const;
  // Bootstrap-Discover of "/" or an object (TS 1.1 5.2.7.3):
  // `</>;lwm2m=1.1,</0/0>;uri="coap://bs",</0/1>;ssid=101;uri="coap://s",</1/0>;ssid=101,</3/0>`
  // Security instances carry ssid (/0/x/10; not for the bootstrap account) and uri (/0/x/0),
  // Server instances ssid (/1/x/0); an object without instances is listed as </O>, and objects
  // beyond the core ones (0-7) whose version is not 1.0 as </O>;ver=V before their instances.
  // `version` gives the lwm2m= value. 2.05; 4.00 for deeper paths; 4.04 for an object the
  // profile does not support.
  uint8_t bootstrap_discover(const Lwm2mPath& path, Lwm2mVersion version,
                             const ClientContext& client, std::string* out) const;
  // Bootstrap-Read (TS 1.1): Server (1) and Access Control (2) objects or instances only.
  // 2.05; 4.00 for the root or a resource path; 4.01 for other objects; 4.04 when absent.
  uint8_t bootstrap_read(const Lwm2mPath& path, const ClientContext& client,
                         std::vector<Record>* out) const;
  // The LwM2M server account a bootstrap provisioned: the first Security instance (ascending
  // id) whose Bootstrap-Server resource (1) is not true, with the Server instance of the same
  // Short Server ID. nullopt when there is none.
  std::optional<ProvisionedServer> provisioned_server(const ClientContext& client) const;

 private:
  const ObjectDefinition* object_definition(uint32_t object) const;
  const ResourceDefinition* resource_definition(const Lwm2mPath& path) const;
  bool instance_exists(uint32_t object, uint32_t instance, const ClientContext& client) const;
  bool object_supported(uint32_t object, const ClientContext& client) const;
  // Instance ids of an object this client has, ascending.
  std::vector<uint16_t> instances_of(uint32_t object, const ClientContext& client) const;
  // Resource ids an instance has (profile and written), ascending.
  std::vector<uint16_t> resources_of(uint32_t object, uint32_t instance,
                                     const ClientContext& client) const;
  // Appends the values of one resource (every instance of a multiple one, or just `ri`).
  void append_resource(const Lwm2mPath& resource, uint32_t ri, const ClientContext& client,
                       std::vector<Record>* out) const;
  Value profile_value(const ProfileResource& r, const ClientContext& client) const;
  // Checks a written record against its definition (type, range); 0 or the CoAP code.
  uint8_t check_value(const Record& record, const ResourceDefinition& def) const;
  void apply_write(const Lwm2mPath& resource, std::span<const Record> values, bool replace_multiple,
                   const ClientContext& client, ClientData* data) const;
  // Marks an instance created, without values yet (Create, Bootstrap-Write).
  void add_instance(uint16_t object, uint16_t instance, ClientData* data) const;
  // Deletes an instance and everything the client kept for it (Delete, Bootstrap-Delete).
  void drop_instance(uint16_t object, uint16_t instance, ClientData* data) const;
  // The value of a single resource, monostate when it has none.
  Value value_at(uint32_t object, uint32_t instance, uint32_t resource,
                 const ClientContext& client) const;
  // Whether a Security instance is a Bootstrap-Server account (/0/x/1 true).
  bool is_bootstrap_account(uint32_t instance, const ClientContext& client) const;

  std::shared_ptr<const Profile> profile_;
  uint64_t seed_;
  int64_t unix_epoch_s_;
};

// A 64-bit digest of records (paths and values), for "has the observed value changed".
uint64_t records_digest(std::span<const Record> records);

}  // namespace lwm2msim

// profile: device profiles. A profile says which objects, instances and resources a device type
// has, their initial values and how sensor values evolve (generator.h). It is loaded from YAML
// (profiles/README.md has the format), validated against an ObjectRegistry, and then immutable:
// one Profile is shared by every client of a group, and a client needs
// per_client_state_bytes() of its own for it (0 with the current generators, which are pure
// functions of seed, client index and time).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sim/format/format.h"
#include "sim/lwm2m/lwm2m.h"
#include "sim/model/object_definition.h"
#include "sim/profile/generator.h"

namespace lwm2msim {

// The Security instance's server URI until the run fills in its --server (the client
// substitutes it when it reads /0/0/0).
inline constexpr std::string_view kServerUriPlaceholder = "${server}";

// One resource of one object instance, or one instance of a multiple resource.
struct ProfileResource {
  // /O/I/R for a single resource or an executable, /O/I/R/RI for an instance of a multiple one.
  Lwm2mPath path;
  const ResourceDefinition* definition = nullptr;
  // A ConstantParams holds the value of a fixed (or written-to-be) resource; executables hold a
  // constant monostate.
  GeneratorSpec generator;

  bool is_executable() const { return definition->operations.execute; }
  // The value is the same for every client at every time.
  bool is_constant() const { return generator.kind() == GeneratorKind::kConstant; }
};

struct ProfileInstance {
  uint16_t object = 0;
  uint16_t instance = 0;
  const ObjectDefinition* definition = nullptr;
  // Its resources, a range of Profile::resources() in path order.
  uint32_t first_resource = 0;
  uint32_t resource_count = 0;
};

// Client-initiated Send (LwM2M 1.1 POST /dp): which values, how often, how.
struct SendPlan {
  TimeUs period = 0;  // 0: the device never sends
  std::vector<Lwm2mPath> paths;
  uint16_t format = 112;  // SenML CBOR (112) or SenML JSON (110)
  bool confirmable = true;
};

class Profile {
 public:
  const std::string& name() const { return name_; }
  const std::string& description() const { return description_; }
  // The file (or source name) it was loaded from.
  const std::string& source() const { return source_; }

  // Every instance, in (object, instance) order.
  std::span<const ProfileInstance> instances() const { return instances_; }
  // The instances a Register announces, in that order: all but Security (0) and OSCORE (21),
  // which LwM2M TS 1.1 section 6.2.1 keeps out of the registration. For registration_links().
  std::span<const Lwm2mPath> registration_instances() const { return registration_; }
  // The ct= of the Register's root link (empty: none, which every server accepts and which means
  // TLV or the version's default).
  const std::vector<uint16_t>& registration_formats() const { return registration_formats_; }
  // The link-format payload of a Register announcing these instances (registration_instances(), or
  // a client's own after Creates and Deletes): the root link with rt= and ct=, then each instance,
  // after a ver= link for an object whose version is not 1.0. At most kMaxRegistrationLinks bytes
  // for the profile's own instances.
  std::string registration_links(std::span<const Lwm2mPath> instances) const;
  const SendPlan& send() const { return send_; }

  // Every resource (and resource instance) of every instance, in path order.
  std::span<const ProfileResource> resources() const { return resources_; }
  std::span<const ProfileResource> resources(const ProfileInstance& instance) const;

  const ProfileInstance* find_instance(uint16_t object, uint16_t instance) const;
  // The entries of /O/I/R: one for a single resource, one per instance for a multiple one,
  // none when the instance lacks the resource.
  std::span<const ProfileResource> find_resource(uint16_t object, uint16_t instance,
                                                 uint16_t resource) const;
  // The entry at exactly this path (depth 3 for single resources, 4 for resource instances).
  const ProfileResource* find(const Lwm2mPath& path) const;

  // The value of a resource for one client at one time (monostate for executables).
  Value value(const ProfileResource& resource, const EvalContext& ctx) const {
    return evaluate(resource.generator, ctx);
  }
  // The value a client starts with: the generator at t = 0.
  Value initial_value(const ProfileResource& resource, uint64_t seed, uint64_t client_index,
                      int64_t unix_epoch_s = 0) const {
    return evaluate(resource.generator, {seed, client_index, 0, unix_epoch_s});
  }

  // Bytes each client needs for stateful generators: the sum of state_bytes() over every
  // resource. 0 for every generator kind so far (random_walk included: its value is computed
  // from a Brownian bridge, not stored). Values a server writes are not generator state; the
  // client keeps those itself, sparsely, and they are not counted here.
  size_t per_client_state_bytes() const { return state_bytes_; }

  // The registry the definitions point into (a copy that shares the definitions, so the
  // pointers live as long as the profile).
  const ObjectRegistry& registry() const { return registry_; }

 private:
  friend class ProfileLoader;

  std::string name_;
  std::string description_;
  std::string source_;
  std::vector<ProfileInstance> instances_;
  std::vector<Lwm2mPath> registration_;
  std::vector<uint16_t> registration_formats_;
  SendPlan send_;
  std::vector<ProfileResource> resources_;
  size_t state_bytes_ = 0;
  ObjectRegistry registry_;
};

// The profile a run uses without --profile (a generic battery sensor with Device, Connectivity
// Monitoring and one Temperature instance), checked against `registry`.
std::shared_ptr<const Profile> builtin_profile(const ObjectRegistry& registry);

// Loads and validates a profile file. Returns an empty string on success; else every problem
// found, one per line, as "FILE:LINE:COLUMN: FIELD: reason" (FIELD is the dotted key path, e.g.
// objects.3303.0.5700.period), and *out is left untouched. CSV files are read relative to the
// profile's directory.
std::string load_profile(const std::string& path, const ObjectRegistry& registry, Profile* out);
// The same from text: source_name stands for FILE in errors, base_dir resolves CSV paths.
std::string load_profile_text(std::string_view yaml, std::string_view source_name,
                              const std::string& base_dir, const ObjectRegistry& registry,
                              Profile* out);

// A duration as profile and scenario files write it: seconds ("90", "1.5") or numbers with units,
// optionally combined ("250ms", "30s", "5m", "2h", "1d", "100us", "1h30m"). False on anything
// else, negative values included.
bool parse_file_duration(std::string_view text, TimeUs* out);

}  // namespace lwm2msim

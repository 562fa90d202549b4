// scenario: a whole test as data: the target, groups of devices with their profiles, behaviours
// and faults, phases on a timeline, and thresholds. A plan is validated (every error at once,
// each naming file, line and field) and immutable; the fleet runs it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/fault/fault.h"  // Distribution, Window
#include "sim/lwm2m/lwm2m.h"
#include "sim/model/object_definition.h"
#include "sim/profile/profile.h"
#include "sim/report/report.h"
#include "sim/util/time.h"

namespace lwm2msim {

struct FaultPlan {
  Window window;
  double loss_up = 0;                   // fraction of client-to-server datagrams dropped
  double loss_down = 0;                 // fraction of server-to-client datagrams dropped
  std::optional<Distribution> latency;  // extra delay of each datagram, both directions
  double duplicate = 0;                 // fraction of datagrams sent twice
  double reorder = 0;                   // fraction of datagrams held back behind the next ones
  TimeUs reorder_delay = 0;
  TimeUs nat_rebind_every = 0;  // 0: never; else each client's source port changes this often
  // Power-outage storm: every device of the group drops at `at` (no De-register) and each comes
  // back at a uniformly drawn time within `window` after it; all then register at once.
  std::optional<TimeUs> power_outage_at;
  TimeUs power_outage_window = 0;
  // Built-in server outage: silent from `at` for `duration` (every datagram lost, nothing sent);
  // with `forget` it comes back without its registrations, as a server restarted without
  // persistence does, and every device must register again.
  std::optional<TimeUs> server_outage_at;
  TimeUs server_outage_duration = 0;
  bool server_outage_forget = true;
  std::vector<std::string> groups;  // a global fault's groups (empty: all)
  int line = 0;                     // where the fault is in the file
};

struct ReportBehaviour {
  TimeUs period = 0;     // 0: off
  TimeUs jitter = 0;     // each report moves by up to this, uniformly
  bool via_send = true;  // Send (POST /dp, 1.1+); else value changes for observations
  // What a Send carries: the behaviour's own `paths`, else the profile's send.paths.
  std::vector<Lwm2mPath> paths;
};
// LwM2M 1.1 section 6.5 queue mode: awake for `awake` after each wake-up (an Update), then
// asleep for `sleep`; requests while asleep wait for the next wake-up.
struct QueueModeBehaviour {
  TimeUs sleep = 0;  // 0: off
  TimeUs awake = 0;
};
// Firmware update (object 5): how the device installs a package the server sends it.
struct FirmwareBehaviour {
  TimeUs update_time = 5 * kUsPerSec;  // installing takes about this long, then a reboot
  double failure = 0;                  // fraction of installations that fail (Update Result 8)
};
struct RebootBehaviour {
  TimeUs every = 0;     // 0: off; the mean time between reboots of one device
  TimeUs downtime = 0;  // silent this long before registering again
};

struct GroupPlan {
  std::string name;
  std::string profile_path;  // as written (resolved against the scenario's directory)
  std::shared_ptr<const Profile> profile;
  // Exactly one of count and weight is written; for a weighted group the loader fills count
  // with its share of what the counted groups leave of the scenario's `devices`.
  uint64_t count = 0;
  double weight = 0;             // share of the scenario's total `devices`
  std::string endpoint_pattern;  // e.g. "meter-%06d"
  std::string identities_path;   // CSV: endpoint[, psk_identity, psk_key]; replaces the pattern
  std::vector<std::string> endpoints;  // loaded from identities_path
  // With the CSV's PSK columns, one entry per endpoint (the key as bytes); else empty.
  std::vector<std::string> psk_identities;
  std::vector<std::vector<uint8_t>> psk_keys;
  Lwm2mVersion version = Lwm2mVersion::k1_1;
  std::string binding = "U";
  uint32_t lifetime_s = 300;
  std::vector<uint16_t> content_formats;  // preferred formats when a request has no Accept
  ReportBehaviour report;
  TimeUs update_every = 0;  // 0: the lifetime decides (update margin)
  QueueModeBehaviour queue_mode;
  RebootBehaviour reboot;
  FirmwareBehaviour firmware;
  std::vector<FaultPlan> faults;
  int line = 0;
};

enum class PhaseKind : uint8_t {
  kRamp,         // registered devices go from `from` to `to` over `duration`
  kHold,         // keep the registered devices as they are for `duration`
  kArrivalRate,  // open model: `rate` registrations per second for `duration`; arrivals the
                 // fleet has no idle device for are dropped and counted, never delayed
  kChurn,        // `churn_per_minute` of the registered devices de-register and register again
  kStop,         // every device de-registers (paced by `rate` when given)
};
std::string_view to_string(PhaseKind kind);

struct PhasePlan {
  PhaseKind kind = PhaseKind::kHold;
  std::string name;  // optional label for progress and reports
  TimeUs duration = 0;
  uint64_t from = 0;                // ramp
  uint64_t to = 0;                  // ramp
  double rate = 0;                  // arrival rate (per second); stop pacing (0: fleet default)
  double churn_per_minute = 0;      // fraction, e.g. 0.05 for 5 %
  std::vector<std::string> groups;  // empty: every group
  int line = 0;
};

// The built-in server and the load it drives, when the target is not an external server.
struct BuiltinTarget {
  uint32_t threads = 1;
  double read_rate = 0;
  std::vector<Lwm2mPath> read_paths;
  double observe_fraction = 0;
  Lwm2mPath observe_path;
  std::string
      observe_attributes;  // Write-Attributes query before the Observe, e.g. "pmin=1&pmax=30"
  double exercise_fraction = 0;
  double exercise_rate = 2000;
  // A firmware campaign: this fraction of newly registered devices with object 5 is sent a
  // package of firmware_size bytes named firmware_version, at most firmware_rate per second.
  double firmware_fraction = 0;
  double firmware_rate = 2000;
  uint64_t firmware_size = 65536;
  std::string firmware_version = "9.9.9";
  bool dtls = false;  // the built-in server speaks coaps (DTLS)
};

// DTLS for coaps:// servers: how devices authenticate. With a PSK the identity comes from a
// group's identities file, else psk_id, else it is the endpoint name; the key from the file,
// else derived from psk_seed, else psk_key for every device.
struct DtlsPlan {
  std::string psk_id;            // identity pattern, e.g. "dev-%06d"
  std::string psk_seed;          // key = HMAC-SHA256(seed, identity), first 16 bytes
  std::vector<uint8_t> psk_key;  // one key for every device
  std::string certificate;       // X.509: the devices' certificate (PEM), resolved path
  std::string private_key;       // ... its key
  std::string ca;                // the trust anchor for the server's certificate
  std::string ciphers;           // OpenSSL cipher list; empty: the LwM2M mandatory suites
};

struct ScenarioPlan {
  std::string name;
  std::string description;
  std::string source;  // the file
  uint64_t seed = 1;
  std::string server_uri;  // coap:// or coaps://; empty: the built-in server
  // Devices first ask a bootstrap server for their LwM2M server account: coap:// or coaps://,
  // or "builtin" (a built-in bootstrap server that provisions the built-in server).
  std::string bootstrap_uri;
  BuiltinTarget builtin;
  DtlsPlan dtls;
  uint64_t devices = 0;  // total when groups use weights
  std::vector<GroupPlan> groups;
  std::vector<PhasePlan> phases;
  std::vector<FaultPlan> faults;  // apply to every group
  std::vector<Threshold> thresholds;

  // Sum of the phases' durations.
  TimeUs duration() const;
  // Devices of every group together.
  uint64_t total_devices() const;
};

// Device profiles by normalised path, loaded once and shared by every scenario loaded through the
// cache (`validate` over many files, the fuzzer). Serves one registry; not thread-safe.
class ProfileCache {
 public:
  struct Entry {
    std::shared_ptr<const Profile> profile;  // null when the file has errors
    std::string errors;                      // as load_profile() reports them
  };
  const Entry& load(const std::string& path, const ObjectRegistry& registry);

 private:
  std::map<std::string, Entry, std::less<>> entries_;
};

// Loads and validates a scenario file: profiles are loaded (relative to the scenario's directory)
// against `registry`, thresholds parsed against the summary catalog. Returns an empty string on
// success; else every problem, one per line, as "FILE:LINE:COLUMN: FIELD: reason" (FIELD is the
// dotted key path, e.g. phases.2.rate), and *out is left untouched. Profiles come from `profiles`
// when given, else they are read for this scenario alone.
std::string load_scenario(const std::string& path, const ObjectRegistry& registry,
                          ScenarioPlan* out, ProfileCache* profiles = nullptr);
std::string load_scenario_text(std::string_view yaml, std::string_view source_name,
                               const std::string& base_dir, const ObjectRegistry& registry,
                               ScenarioPlan* out, ProfileCache* profiles = nullptr);

// A duration as scenario files write it, in its shortest form: "1m30s", "250ms", "2h".
std::string format_file_duration(TimeUs us);

// True when a YAML document is a device profile rather than a scenario: its top level has
// `objects:` and neither `phases:` nor `groups:`. A document that does not parse is neither.
bool is_profile_document(std::string_view yaml);

}  // namespace lwm2msim

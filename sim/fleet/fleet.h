// fleet: the thread pool that runs virtual clients. A Worker is one thread with its own
// event loop, sockets, timer wheel, clients and stats; the Fleet splits the clients among them.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/client/virtual_client.h"
#include "sim/dtls/dtls.h"
#include "sim/fault/fault.h"
#include "sim/fleet/outage.h"
#include "sim/phase/phase.h"
#include "sim/profile/profile.h"
#include "sim/stats/histogram.h"
#include "sim/transport/udp_transport.h"
#include "sim/util/address_plan.h"

namespace lwm2msim {

// Each device's pre-shared key for DTLS. The identity comes from an identities file, else the
// pattern, else it is the endpoint name; the key from the file, else derived from the seed, else
// the one fixed key.
struct PskPlan {
  std::shared_ptr<const std::vector<std::string>> identities;  // by device, from `first`
  std::shared_ptr<const std::vector<std::vector<uint8_t>>> keys;
  uint64_t first = 0;  // fleet index of identities[0]
  std::optional<EndpointPattern> identity_pattern;
  std::string seed;
  std::vector<uint8_t> key;

  bool empty() const { return !identities && !identity_pattern && seed.empty() && key.empty(); }
  // The PSK of device `index` whose endpoint name is `endpoint`.
  DtlsPsk psk_of(uint64_t index, std::string_view endpoint) const;
};

// A group of devices: consecutive fleet indexes with one profile and one set of settings.
struct FleetGroup {
  std::string name;
  uint64_t first = 0;  // fleet index of its first device (the Fleet fills it in)
  uint64_t count = 0;
  // Endpoint pattern, lifetime, update margin, version and binding are the group's; transmission,
  // backoff and the server come from FleetConfig::client.
  ClientConfig client;
  std::shared_ptr<const Profile> profile;
  // Network faults on the links of its devices (its own and the scenario's global ones).
  std::vector<FaultSpec> faults;
  // Behaviours: Send every send_period (0: the profile's) moved by up to send_jitter; each device
  // reboots on average every reboot_every (0: never), silent for reboot_downtime.
  TimeUs send_period = 0;
  TimeUs send_jitter = 0;
  std::vector<Lwm2mPath> send_paths;  // empty: the profile's
  // Observations of these devices notify at least this often when no pmax says otherwise (a
  // report behaviour through notifications); 0: off.
  TimeUs notify_every = 0;
  TimeUs reboot_every = 0;
  TimeUs reboot_downtime = 0;
  // Queue mode (LwM2M 1.1 6.5): after each Update awake for queue_awake, then asleep for
  // queue_sleep until the next (0: always awake). The binding gains Q.
  TimeUs queue_sleep = 0;
  TimeUs queue_awake = 0;
  // Firmware update: installing takes about this long (within a fifth either way), and this
  // fraction of installations fails (Update Result 8).
  TimeUs firmware_update_time = 5 * kUsPerSec;
  double firmware_failure = 0;
  // DTLS with a PSK (coaps:// servers): the key each device holds for its server, or for its
  // bootstrap server when it bootstraps.
  PskPlan psk;
};

struct FleetConfig {
  // Fleet-wide client settings, and those of the single group when `groups` is empty.
  ClientConfig client;
  uint64_t clients = 1000;
  // Registrations started per second across the fleet (0: all at once).
  double rate = 1000;
  uint32_t threads = 0;  // 0: one per core
  AddressPlan local_addrs;
  // One socket per client (for networks with a single usable IP) instead of many per socket.
  bool socket_per_client = false;
  uint64_t seed = 1;
  // Stop: de-registrations started per second, and the bound on the whole stop.
  double stop_rate = 20000;
  TimeUs stop_timeout = 15 * kUsPerSec;
  // When a worker's next timer is due within this, it reads input at that tick instead of waking
  // for each datagram (kernel timestamps keep the measured times exact); 0: wake for every input.
  TimeUs io_coalesce = 1000;
  // The device every client is when `groups` is empty (default: the built-in profile).
  std::shared_ptr<const Profile> profile;
  // Groups in fleet-index order; empty: one group of `clients` devices of `profile`. When
  // given, `clients` becomes their total.
  std::vector<FleetGroup> groups;
  // The timeline; empty: one ramp of every device at `rate`, then the devices stay until
  // stopped.
  std::vector<PhaseSpec> phases;
  // The server URI clients report in /0/x/0.
  std::string server_uri;
  // coaps: the client side of DTLS (cipher suites, certificates); null when no server is coaps.
  std::shared_ptr<const DtlsContext> dtls;
  // The PSKs of the single group when `groups` is empty.
  PskPlan psk;
  bool server_secure = false;     // the LwM2M server is coaps://
  bool bootstrap_secure = false;  // the bootstrap server (client.bootstrap) is coaps://
  std::string bootstrap_uri;      // what clients report in their bootstrap Security instance
  // Unix time at the simulation epoch (generators follow the UTC clock from it).
  int64_t unix_epoch_s = 0;
  // Notifications: every Nth is CON (0: all NON, 1: all CON), unless a 1.2 con attribute says.
  uint32_t notify_con_every = 0;
  // How often an observed value is sampled when no epmin/epmax says otherwise.
  TimeUs sample_period = kUsPerSec;
  // A rebooting client (Execute /3/0/4) registers again after this long.
  TimeUs reboot_delay = 5 * kUsPerSec;
};

// Response codes a client sends, as slots of RequestStats::by_operation_code.
constexpr std::array<uint8_t, 13> kResponseCodes = {CoapCode::kCreated,
                                                    CoapCode::kDeleted,
                                                    CoapCode::kChanged,
                                                    CoapCode::kContent,
                                                    CoapCode::kBadRequest,
                                                    CoapCode::kUnauthorized,
                                                    CoapCode::kBadOption,
                                                    CoapCode::kNotFound,
                                                    CoapCode::kMethodNotAllowed,
                                                    CoapCode::kNotAcceptable,
                                                    CoapCode::kUnsupportedContentFormat,
                                                    CoapCode::kInternalServerError,
                                                    CoapCode::kNotImplemented};
constexpr size_t kOperationCount = static_cast<size_t>(Lwm2mOperation::kUnknown) + 1;
// Slot of a response code in kResponseCodes; codes not listed share the last slot + 1.
size_t response_code_slot(uint8_t code);
constexpr size_t kResponseCodeSlots = kResponseCodes.size() + 1;

// Per-worker statistics of server-initiated requests (client side).
struct RequestStats {
  Counter requests;                // requests received from the server (duplicates excluded)
  Counter duplicates;              // retransmitted CONs answered from the duplicate cache
  Counter responses_2xx;           // success responses sent
  Counter responses_4xx;           // client-error responses sent
  Counter responses_5xx;           // server-error responses sent
  Counter observations;            // observations established
  Counter notifications;           // notifications sent (CON and NON; not retransmissions)
  Counter notifications_con;       // of which CON
  Counter notification_timeouts;   // CON notifications never ACKed: observation dropped
  Counter observations_cancelled;  // observations ended by RST or Cancel Observe
  Counter sends;                   // Send (POST /dp) requests started
  Counter sends_ok;                // 2.04 answers to Sends
  Counter sends_failed;            // error answers or timeouts of Sends
  Counter reboots;                 // reboots and factory resets executed
  Counter writes_applied;          // Write, Write-Composite, Create and Delete that changed data
  Counter malformed;               // datagrams that failed to parse
  std::array<Counter, kCoapParseErrorCount> malformed_by;  // the same, by CoapParseError
  Counter bad_option;  // responses refused for an unrecognised critical option (RFC 7252 5.4.1)
  Counter pings;       // empty Confirmable messages (CoAP ping), answered with a Reset
  Counter unknown_address;  // datagrams for an address no client of ours has
  // responses sent, by Lwm2mOperation and response_code_slot()
  std::array<std::array<Counter, kResponseCodeSlots>, kOperationCount> by_operation_code;
};

// Per-worker statistics of the clients' DTLS sessions.
struct DtlsStats {
  Counter handshakes;                             // handshakes completed
  Counter resumed;                                // of which abbreviated (session resumption)
  std::array<Counter, kDtlsFailureCount> failed;  // handshakes failed, by DtlsFailure
  Counter retransmits;                            // handshake flights sent again
  Counter closes;            // close_notify sent (De-register, Bootstrap-Finish)
  Counter peer_closes;       // close_notify or fatal alert from a server
  Counter records_dropped;   // records that failed authentication, replays, malformed
  Counter plain_dropped;     // plain CoAP requests that reached a client on a secure link
  Counter unsent;            // messages with no established session to carry them
  Gauge established;         // sessions established now
  Histogram handshake_time;  // us, from the ClientHello to the finished handshake
};

// Exchanges the fleet starts and must see end: the registration interface, CON notifications,
// confirmable Sends and Bootstrap-Requests.
enum class ExchangeKind : uint8_t {
  kRegister,
  kUpdate,
  kDeregister,
  kNotification,
  kSend,
  kBootstrapRequest,
};
constexpr size_t kExchangeKindCount = 6;
std::string_view to_string(ExchangeKind kind);

// Each exchange started ends exactly one way, so once none is in flight (after a stop)
// sent == answered + timed_out + abandoned.
struct ExchangeTally {
  uint64_t sent = 0;
  uint64_t answered = 0;   // a response, an ACK or an RST
  uint64_t timed_out = 0;  // out of retransmissions
  uint64_t abandoned = 0;  // dropped unanswered: reboot, power loss, observation ended, stop bound
};

// A consistent-enough view of the whole fleet, summed over workers.
struct FleetSnapshot {
  std::array<int64_t, kClientStateCount> states{};
  uint64_t register_sent = 0, register_ok = 0, register_failed = 0;
  uint64_t update_sent = 0, update_ok = 0, update_failed = 0, update_not_found = 0;
  uint64_t deregister_sent = 0, deregister_ok = 0, deregister_failed = 0;
  uint64_t retransmissions = 0, timeouts = 0, backoffs = 0, unexpected = 0;
  uint64_t requests = 0, request_duplicates = 0, notifications = 0, observations = 0;
  uint64_t notifications_con = 0, notification_timeouts = 0, observations_cancelled = 0;
  uint64_t sends = 0, sends_ok = 0, sends_failed = 0, reboots = 0, writes_applied = 0;
  uint64_t clients_with_data = 0, client_data_bytes = 0;  // sparse per-client data-model state
  uint64_t malformed = 0, unknown_address = 0;
  // Untrusted input refused: malformed by CoapParseError (datagrams cut by the receive buffer
  // count as kTooLarge), responses with an unknown critical option, CoAP pings, and the Resets
  // sent to reject Confirmable messages (RFC 7252 4.2).
  std::array<uint64_t, kCoapParseErrorCount> malformed_by{};
  uint64_t bad_option = 0, pings = 0, resets = 0;
  uint64_t datagrams_in = 0, datagrams_out = 0, bytes_in = 0, bytes_out = 0, send_errors = 0;
  uint64_t abandoned = 0;
  uint64_t dropped_arrivals = 0;  // open-model arrivals that found no idle device
  uint64_t faults_dropped_up = 0, faults_dropped_down = 0;  // datagrams lost to faults
  uint64_t faults_delayed = 0, faults_duplicated = 0;
  uint64_t outage_drops = 0;      // devices taken down by power outages
  uint64_t nat_drops = 0;         // datagrams to a NAT port the device had left
  uint64_t sleep_drops = 0;       // datagrams that reached a queue-mode device asleep
  uint64_t reports_deferred = 0;  // notifications and Sends held until the device woke
  // Firmware update (object 5): downloads started, blocks received, downloads complete and
  // failed, installations succeeded and failed.
  uint64_t fw_downloads = 0, fw_blocks = 0, fw_downloaded = 0, fw_download_failed = 0;
  uint64_t fw_updated = 0, fw_update_failed = 0;
  uint64_t churned = 0;  // de-register + register cycles by churn phases
  // Bootstrap (client side): requests started, finished (provisioned), failed.
  uint64_t bootstrap_sent = 0, bootstrap_ok = 0, bootstrap_failed = 0;
  uint64_t link_failed = 0;  // exchanges that never started: their handshake failed
  // DTLS (client side), as DtlsStats.
  uint64_t dtls_handshakes = 0, dtls_resumed = 0;
  std::array<uint64_t, kDtlsFailureCount> dtls_failed{};
  uint64_t dtls_retransmits = 0, dtls_closes = 0, dtls_peer_closes = 0;
  uint64_t dtls_records_dropped = 0, dtls_plain_dropped = 0, dtls_unsent = 0;
  int64_t dtls_established = 0;
  HistogramSnapshot dtls_handshake_time;
  HistogramSnapshot bootstrap_latency;
  uint32_t phase = 0;  // index of the phase the slowest worker is in
  HistogramSnapshot register_latency;
  HistogramSnapshot register_rtt;
  HistogramSnapshot update_latency;
  HistogramSnapshot update_rtt;
  HistogramSnapshot deregister_latency;
  HistogramSnapshot deregister_rtt;
  // responses to server requests, by Lwm2mOperation and response_code_slot()
  std::array<std::array<uint64_t, kResponseCodeSlots>, kOperationCount> responses{};
  HistogramSnapshot timer_lateness;
  std::array<ExchangeTally, kExchangeKindCount> exchanges{};  // by ExchangeKind
  OutageSummary outages;                                      // server outages, merged over workers
};

class Worker;

class Fleet {
 public:
  explicit Fleet(FleetConfig config);
  ~Fleet();
  Fleet(const Fleet&) = delete;
  Fleet& operator=(const Fleet&) = delete;

  // The configuration's own problems (no clients, too few endpoint names or local ports for the
  // clients): empty string when there are none, else the reason.
  std::string check() const;
  // check(), then opens every socket (so address or open-files problems surface before anything
  // is sent). Empty string on success, else the reason.
  std::string prepare();
  // Starts the worker threads; the ramp begins now.
  void start();
  // Asks every worker to de-register its clients (paced, bounded by stop_timeout).
  void stop();
  // True once every worker has finished stopping.
  bool stopped() const;
  // Waits for the workers to exit.
  void join();

  FleetSnapshot snapshot() const;
  const FleetConfig& config() const { return config_; }
  uint32_t threads() const { return static_cast<uint32_t>(workers_.size()); }
  // Bytes of one client object (the fixed part; the location string may add heap).
  static size_t client_size();

 private:
  FleetConfig config_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::chrono::steady_clock::time_point epoch_{};  // the workers' time 0
};

}  // namespace lwm2msim

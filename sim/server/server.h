// server: the built-in LwM2M server: a registration directory (/rd) with lifetime expiry, a
// driver that sends Read and Observe to registered clients at a set rate, the exercise walk
// (every server-to-client operation, checked) for new registrations, firmware-update campaigns
// (object 5, pull mode, the package served at /fw/<version>), queue mode for clients that sleep,
// Send (/dp), and the bootstrap-server role (/bs). Same transport as clients, in clear (coap) or
// over DTLS 1.2 (coaps).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sim/coap/transmission.h"
#include "sim/dtls/dtls.h"
#include "sim/lwm2m/lwm2m.h"
#include "sim/model/object_definition.h"
#include "sim/server/bootstrap.h"
#include "sim/server/exercise.h"
#include "sim/server/firmware.h"
#include "sim/stats/histogram.h"
#include "sim/util/address_plan.h"

namespace lwm2msim {

// A time the server is down: silent from `at` (since it started) for `duration`; with `forget`
// it lost its registrations, as a server restarted without persistence has.
struct ServerOutage {
  TimeUs at = 0;
  TimeUs duration = 0;
  bool forget = true;
};

struct ServerConfig {
  Endpoint4 listen{0x7f000001, 5683};
  uint32_t threads = 1;
  CoapTransmissionParams coap;
  uint64_t seed = 1;
  // Reads sent per second across all registered clients (0: none), cycling through read_paths.
  double read_rate = 0;
  std::vector<Lwm2mPath> read_paths;
  // Fraction of clients that get an Observe on observe_path right after they register.
  double observe_fraction = 0;
  Lwm2mPath observe_path;
  // Write-Attributes query sent before each Observe ("pmin=1&pmax=30"); empty: none.
  std::string observe_attributes;
  // Registrations live this much past their lifetime before they are removed.
  TimeUs expiry_grace = 2 * kUsPerSec;
  // Fraction of newly registered clients that get the exercise walk.
  double exercise_fraction = 0;
  // Walks started per second at most, split evenly over the threads (0: no cap); a registration
  // past the cap goes without a walk.
  double exercise_rate = 2000;
  // A queue-mode client (LwM2M TS 6.5) is reachable for this long after each message it sends
  // (CoAP MAX_TRANSMIT_WAIT); requests due while it sleeps wait for its next Register or Update.
  TimeUs queue_awake = 93 * kUsPerSec;
  // Fraction of newly registered clients announcing Firmware Update (</5/0>) that get a campaign:
  // Observe State, write the package URI, Execute once downloaded, check the result after the
  // reboot.
  double firmware_fraction = 0;
  // Campaigns started per second at most, split evenly over the threads (0: no cap).
  double firmware_rate = 2000;
  // The package, served at /fw/<firmware_version> with the server's listen address in its URI
  // (so listen on an address clients can reach, not 0.0.0.0).
  uint32_t firmware_size = 65536;
  std::string firmware_version = "9.9.9";
  // Object definitions for payload types (Create, decoding answers and Sends); null: builtin().
  std::shared_ptr<const ObjectRegistry> registry;
  // Outages (scenario faults), in time order.
  std::vector<ServerOutage> outages;
  // coaps: every datagram goes through a DTLS session per peer (null: plain CoAP; CoAP datagrams
  // then are dropped). The server side's credentials live in the context's DtlsConfig (role
  // kServer): PSK clients are looked up by identity through its psk_lookup, certificates come
  // from its files.
  std::shared_ptr<const DtlsContext> dtls;
  // Bootstrap-server role (LwM2M TS 1.1 section 6.1): Register is refused with 4.04; a
  // Bootstrap-Request (POST /bs?ep=NAME) starts the flow that provisions bootstrap_config.
  bool bootstrap = false;
  BootstrapConfig bootstrap_config;
};

// Per-thread statistics, summed by snapshot().
struct ServerStats {
  Counter registers;          // 2.01 Created sent for new registrations
  Counter reregisters;        // Registers that replaced an existing registration
  Counter register_errors;    // Registers refused (4.00; 4.04 in the bootstrap role)
  Counter updates;            // 2.04 Changed
  Counter updates_not_found;  // Updates for unknown locations (4.04)
  Counter deregisters;        // 2.02 Deleted
  Counter deregisters_not_found;
  Counter expired;        // registrations removed by lifetime expiry
  Counter duplicates;     // retransmitted CONs answered from the cache
  Counter malformed;      // datagrams that failed to parse
  Counter resets;         // Resets sent to reject a Confirmable message that could not be processed
  Counter bad_requests;   // other requests answered with 4.xx
  Counter reads_sent;     // Reads started
  Counter reads_ok;       // 2.05 answers to Reads
  Counter reads_error;    // other answers to Reads
  Counter observes_sent;  // Observes started
  Counter observes_ok;    // 2.05 answers with an Observe option
  Counter observes_error;         // other answers to Observes
  Counter notifications;          // notifications for known observations
  Counter unknown_notifications;  // notifications answered with RST
  Counter request_timeouts;       // server requests that ran out of retransmissions
  Counter outage_drops;           // datagrams that arrived during an outage, lost
  Counter outage_forgotten;       // registrations an outage with forget wiped
  Counter retransmissions;        // server request retransmissions
  Counter reads_skipped;  // Reads due while no client was registered (open model: not delayed)
  std::array<Counter, kExerciseStepCount> exercise_ok;          // expected code (and payload)
  std::array<Counter, kExerciseStepCount> exercise_unexpected;  // other code, RST or timeout
  Counter exercise_started;
  Counter exercise_completed;      // every step done and its observations cancelled
  Counter exercise_skipped;        // steps the client cannot take (no creatable object, LwM2M 1.0)
  Counter exercise_abandoned;      // registration gone, or notifications stopped, mid-walk
  Counter exercise_rate_limited;   // registrations picked for a walk but over exercise_rate
  Counter observations_cancelled;  // walk and campaign observations ended with RST
  Counter sends;                   // Sends (POST /dp) answered 2.04
  Counter send_records;            // records in those Sends
  Counter sends_bad;               // Sends answered 4.00 or 4.15
  Counter queued;                  // requests held for a sleeping queue-mode client
  Counter queue_flushed;           // held requests sent when their client woke up
  Counter queue_overflow;          // requests dropped because their client's queue was full
  Counter queue_dropped;           // held requests dropped with their registration
  Counter queue_wakeups;           // wake-ups that sent at least one held request
  Counter firmware_started;        // campaigns started
  Counter firmware_rate_limited;   // registrations picked for a campaign but over firmware_rate
  Counter firmware_downloads;      // package downloads (block 0 served)
  Counter firmware_blocks;         // package blocks served
  Counter firmware_downloaded;     // campaigns whose client reported State 2 (Downloaded)
  Counter firmware_executed;       // Executes of /5/0/2 answered 2.04
  Counter firmware_succeeded;      // Update Result 1 and the new version after the reboot
  Counter firmware_failed;         // error code, RST, timeout, State 0 or a wrong result
  Counter firmware_abandoned;      // registration gone, or no progress for 10 minutes
  std::array<Counter, kFirmwareStepCount> firmware_failed_at;  // firmware_failed by step
  Counter dtls_handshakes;  // handshakes completed (full and abbreviated)
  Counter dtls_resumed;     // ... of them abbreviated (session resumption)
  Counter dtls_failed;      // handshakes that failed
  std::array<Counter, kDtlsFailureCount> dtls_failed_by;  // dtls_failed by DtlsFailure
  Counter dtls_hello_verify;           // ClientHellos without a cookie answered statelessly
  Gauge dtls_sessions;                 // established sessions now
  Counter dtls_records_dropped;        // records that failed to decrypt, replays, stray records
  Counter dtls_retransmits;            // handshake flights sent again
  Counter dtls_closed;                 // sessions the peer ended (close_notify or fatal alert)
  Counter dtls_idle_dropped;           // sessions dropped after their idle limit
  Counter dtls_plain_dropped;          // plain CoAP datagrams at a coaps server
  Counter dtls_unsent;                 // datagrams for a peer without an established session
  Counter bootstrap_requests;          // Bootstrap-Requests answered 2.04 (a flow started)
  Counter bootstrap_finished;          // Bootstrap-Finish answered 2.04
  Counter bootstrap_failed;            // flows ended by an unexpected answer, RST or timeout
  Counter bootstrap_discover_ok;       // Bootstrap-Discover answered 2.05
  Counter bootstrap_read_unsupported;  // Bootstrap-Read refused (LwM2M 1.0 clients)
  Counter bootstrap_restarted;         // flows replaced by a new Bootstrap-Request
  std::array<Counter, kBootstrapStepCount> bootstrap_failed_at;  // bootstrap_failed by step
  Histogram read_latency;         // us, from when the Read was due to its response
  Histogram observe_latency;      // us, from the Observe's send to its first response
  Histogram queue_delay;          // us, from when a request was held to when it was sent
  Histogram firmware_duration;    // us, from the State Observe due to Update Result 1
  Histogram dtls_handshake_time;  // us, from the ClientHello that started it to completion
  Histogram bootstrap_time;       // us, from the Bootstrap-Request to Finish's 2.04
};

struct ServerSnapshot {
  uint64_t registered = 0;  // registrations in the directory now
  uint64_t registers = 0, reregisters = 0, register_errors = 0;
  uint64_t updates = 0, updates_not_found = 0, deregisters = 0, deregisters_not_found = 0;
  uint64_t expired = 0, duplicates = 0, malformed = 0, resets = 0, bad_requests = 0;
  uint64_t reads_sent = 0, reads_ok = 0, reads_error = 0, reads_skipped = 0;
  uint64_t observes_sent = 0, observes_ok = 0, observes_error = 0;
  uint64_t notifications = 0, unknown_notifications = 0;
  uint64_t request_timeouts = 0, retransmissions = 0, outage_drops = 0, outage_forgotten = 0;
  uint64_t datagrams_in = 0, datagrams_out = 0;
  std::array<uint64_t, kExerciseStepCount> exercise_ok{}, exercise_unexpected{};
  uint64_t exercise_started = 0, exercise_completed = 0, exercise_skipped = 0;
  uint64_t exercise_abandoned = 0, exercise_rate_limited = 0, observations_cancelled = 0;
  uint64_t sends = 0, send_records = 0, sends_bad = 0;
  uint64_t queued = 0, queue_flushed = 0, queue_overflow = 0, queue_dropped = 0;
  uint64_t queue_wakeups = 0;
  uint64_t firmware_started = 0, firmware_rate_limited = 0, firmware_downloads = 0;
  uint64_t firmware_blocks = 0, firmware_downloaded = 0, firmware_executed = 0;
  uint64_t firmware_succeeded = 0, firmware_failed = 0, firmware_abandoned = 0;
  std::array<uint64_t, kFirmwareStepCount> firmware_failed_at{};
  uint64_t dtls_handshakes = 0, dtls_resumed = 0, dtls_failed = 0, dtls_hello_verify = 0;
  std::array<uint64_t, kDtlsFailureCount> dtls_failed_by{};
  uint64_t dtls_sessions = 0, dtls_records_dropped = 0, dtls_retransmits = 0, dtls_closed = 0;
  uint64_t dtls_idle_dropped = 0, dtls_plain_dropped = 0, dtls_unsent = 0;
  uint64_t bootstrap_requests = 0, bootstrap_finished = 0, bootstrap_failed = 0;
  uint64_t bootstrap_discover_ok = 0, bootstrap_read_unsupported = 0, bootstrap_restarted = 0;
  std::array<uint64_t, kBootstrapStepCount> bootstrap_failed_at{};
  HistogramSnapshot read_latency;
  HistogramSnapshot observe_latency;
  HistogramSnapshot queue_delay;
  HistogramSnapshot firmware_duration;
  HistogramSnapshot dtls_handshake_time;
  HistogramSnapshot bootstrap_time;

  // "key=value" lines, the body of GET /sim/stats. The per-step exercise lines
  // (exercise_<step>_ok, exercise_<step>_unexpected) appear once a walk has started, the
  // per-step firmware failures (firmware_<step>_failed) once a campaign has, the per-reason
  // handshake failures (dtls_failed_<reason>) once a handshake failed, and the per-step bootstrap
  // failures (bootstrap_<step>_failed) once a Bootstrap-Request came.
  std::string to_text() const;
};

class Directory;
class ServerThread;

class Lwm2mServer {
 public:
  explicit Lwm2mServer(ServerConfig config);
  ~Lwm2mServer();
  Lwm2mServer(const Lwm2mServer&) = delete;
  Lwm2mServer& operator=(const Lwm2mServer&) = delete;

  // Binds the sockets (a port of 0 picks a free one) and starts the threads; empty on success.
  std::string start();
  void stop();
  // Where clients reach the server (with the chosen port).
  Endpoint4 address() const { return address_; }
  ServerSnapshot snapshot() const;
  uint64_t registered() const;

 private:
  ServerConfig config_;
  std::atomic<uint32_t> exercise_log_lines_{0};
  Endpoint4 address_;
  std::unique_ptr<Directory> directory_;
  std::unique_ptr<FirmwareRollout> rollout_;
  std::vector<std::unique_ptr<ServerThread>> threads_;
};

}  // namespace lwm2msim

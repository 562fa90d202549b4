// server: the built-in LwM2M server: a registration directory (/rd) with lifetime expiry, a
// driver that sends Read and Observe to registered clients at a set rate, the exercise walk
// (every server-to-client operation, checked) for new registrations, and Send (/dp). Same
// transport as clients.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sim/coap/transmission.h"
#include "sim/lwm2m/lwm2m.h"
#include "sim/model/object_definition.h"
#include "sim/server/exercise.h"
#include "sim/stats/histogram.h"
#include "sim/util/address_plan.h"

namespace lwm2msim {

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
  // Object definitions for payload types (Create, decoding answers and Sends); null: builtin().
  std::shared_ptr<const ObjectRegistry> registry;
};

// Per-thread statistics, summed by snapshot().
struct ServerStats {
  Counter registers;          // 2.01 Created sent for new registrations
  Counter reregisters;        // Registers that replaced an existing registration
  Counter register_errors;    // Registers refused (4.00)
  Counter updates;            // 2.04 Changed
  Counter updates_not_found;  // Updates for unknown locations (4.04)
  Counter deregisters;        // 2.02 Deleted
  Counter deregisters_not_found;
  Counter expired;                // registrations removed by lifetime expiry
  Counter duplicates;             // retransmitted CONs answered from the cache
  Counter malformed;              // datagrams that failed to parse
  Counter bad_requests;           // other requests answered with 4.xx
  Counter reads_sent;             // Reads started
  Counter reads_ok;               // 2.05 answers to Reads
  Counter reads_error;            // other answers to Reads
  Counter observes_sent;          // Observes started
  Counter observes_ok;            // 2.05 answers with an Observe option
  Counter observes_error;         // other answers to Observes
  Counter notifications;          // notifications for known observations
  Counter unknown_notifications;  // notifications answered with RST
  Counter request_timeouts;       // server requests that ran out of retransmissions
  Counter retransmissions;        // server request retransmissions
  Counter reads_skipped;  // Reads due while no client was registered (open model: not delayed)
  std::array<Counter, kExerciseStepCount> exercise_ok;          // expected code (and payload)
  std::array<Counter, kExerciseStepCount> exercise_unexpected;  // other code, RST or timeout
  Counter exercise_started;
  Counter exercise_completed;      // every step done and its observations cancelled
  Counter exercise_skipped;        // steps the client cannot take (no creatable object, LwM2M 1.0)
  Counter exercise_abandoned;      // registration gone, or notifications stopped, mid-walk
  Counter exercise_rate_limited;   // registrations picked for a walk but over exercise_rate
  Counter observations_cancelled;  // walk observations ended with RST to a notification
  Counter sends;                   // Sends (POST /dp) answered 2.04
  Counter send_records;            // records in those Sends
  Counter sends_bad;               // Sends answered 4.00 or 4.15
  Histogram read_latency;          // us, from when the Read was due to its response
  Histogram observe_latency;       // us, from the Observe's send to its first response
};

struct ServerSnapshot {
  uint64_t registered = 0;  // registrations in the directory now
  uint64_t registers = 0, reregisters = 0, register_errors = 0;
  uint64_t updates = 0, updates_not_found = 0, deregisters = 0, deregisters_not_found = 0;
  uint64_t expired = 0, duplicates = 0, malformed = 0, bad_requests = 0;
  uint64_t reads_sent = 0, reads_ok = 0, reads_error = 0, reads_skipped = 0;
  uint64_t observes_sent = 0, observes_ok = 0, observes_error = 0;
  uint64_t notifications = 0, unknown_notifications = 0;
  uint64_t request_timeouts = 0, retransmissions = 0;
  uint64_t datagrams_in = 0, datagrams_out = 0;
  std::array<uint64_t, kExerciseStepCount> exercise_ok{}, exercise_unexpected{};
  uint64_t exercise_started = 0, exercise_completed = 0, exercise_skipped = 0;
  uint64_t exercise_abandoned = 0, exercise_rate_limited = 0, observations_cancelled = 0;
  uint64_t sends = 0, send_records = 0, sends_bad = 0;
  HistogramSnapshot read_latency;
  HistogramSnapshot observe_latency;

  // "key=value" lines, the body of GET /sim/stats. The per-step exercise lines
  // (exercise_<step>_ok, exercise_<step>_unexpected) appear once a walk has started.
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
  std::vector<std::unique_ptr<ServerThread>> threads_;
};

}  // namespace lwm2msim

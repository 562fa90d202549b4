// client: one virtual LwM2M device as a compact explicit state machine (bootstrap, registration:
// Register, Update, De-register, backoff). It owns no sockets, sessions or timers; its env does.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sim/coap/coap.h"
#include "sim/coap/transmission.h"
#include "sim/lwm2m/lwm2m.h"
#include "sim/stats/histogram.h"
#include "sim/util/address_plan.h"
#include "sim/util/rng.h"
#include "sim/util/time.h"

namespace lwm2msim {

enum class ClientState : uint8_t {
  kIdle,           // not started yet (waiting for its slot in the ramp)
  kRegistering,    // Register sent, waiting for 2.01
  kRegistered,     // registered; the timer is the next Update
  kUpdating,       // Update sent, waiting for 2.04
  kDeregistering,  // De-register sent, waiting for 2.02
  kBackoff,        // a failure happened; the timer is the next Register attempt
  kStopped,        // done; never leaves this state
  kConnecting,     // the secure link's handshake runs; the exchange waits for it
  kBootstrapping,  // Bootstrap-Request sent, then provisioned until Bootstrap-Finish
};
constexpr size_t kClientStateCount = 9;
std::string_view to_string(ClientState s);

// How a client-initiated exchange ended: any answer (a response or an RST), out of
// retransmissions, or dropped unanswered (a reboot, a power loss, the stop bound running out).
enum class ExchangeEnd : uint8_t { kAnswered, kTimedOut, kAbandoned };

// Settings shared by every client of a fleet; immutable while the fleet runs.
struct ClientConfig {
  Endpoint4 server;
  EndpointPattern endpoint_pattern;
  // Endpoint names from an identity file instead of the pattern: client i of the fleet is
  // (*endpoint_names)[i - endpoint_base].
  std::shared_ptr<const std::vector<std::string>> endpoint_names;
  uint64_t endpoint_base = 0;
  uint32_t lifetime_s = 300;
  // An Update goes out this long before the lifetime ends (0: a tenth of the lifetime).
  TimeUs update_margin = 0;
  // A fixed Update period instead (0: the lifetime decides); capped by the lifetime's.
  TimeUs update_every = 0;
  Lwm2mVersion version = Lwm2mVersion::k1_1;
  std::string binding = "U";
  CoapTransmissionParams coap;
  // How long to wait for a separate response after an empty ACK.
  TimeUs separate_response_timeout = 30 * kUsPerSec;
  // Retry delay after the n-th consecutive failure: min(max, base * 2^(n-1)), then drawn uniformly
  // from its upper half (so a fleet that failed together does not retry together).
  TimeUs backoff_base = 1 * kUsPerSec;
  TimeUs backoff_max = 60 * kUsPerSec;
  // Client-initiated bootstrap (LwM2M TS 1.1 6.1.3): ask the bootstrap server for the LwM2M
  // server account before the first Register, and wait this long for its Bootstrap-Finish.
  bool bootstrap = false;
  Endpoint4 bootstrap_server;
  TimeUs bootstrap_timeout = 60 * kUsPerSec;
  // Content format the client prefers for bootstrap writes (pct=, 1.1 and later); 0: none.
  uint16_t bootstrap_format = 0;

  // The endpoint name of fleet device `index`, written into `buf` (64 bytes) when a pattern.
  std::string_view endpoint_name(uint64_t index, std::span<char> buf) const;
  // When the next Update is due after a successful exchange, for a lifetime in seconds.
  TimeUs update_interval(uint32_t lifetime_seconds) const;
};

// Per-worker statistics of client-initiated exchanges. Single writer (the worker thread).
struct ClientStats {
  Counter register_sent;         // Register requests started (not counting retransmissions)
  Counter register_ok;           // 2.01 Created received
  Counter register_failed;       // error response or timeout
  Counter update_sent;           // Updates started
  Counter update_ok;             // 2.04 Changed received
  Counter update_failed;         // error response or timeout (4.04 included)
  Counter update_not_found;      // 4.04 to an Update: the server forgot us, register again
  Counter deregister_sent;       // De-registers started
  Counter deregister_ok;         // 2.02 Deleted received
  Counter deregister_failed;     // error response or timeout
  Counter bootstrap_sent;        // Bootstrap-Requests started
  Counter bootstrap_ok;          // Bootstrap-Finish received: provisioned
  Counter bootstrap_failed;      // refused, timed out, or no Finish in time
  Counter link_failed;           // exchanges that could not start: the handshake failed
  Counter retransmissions;       // CON retransmissions
  Counter timeouts;              // exchanges that ran out of retransmissions
  Counter backoffs;              // entries into Backoff
  Counter separate_responses;    // responses that came after an empty ACK
  Counter unexpected;            // responses matching no exchange of their client
  Counter resets;                // Resets sent to reject a Confirmable message (RFC 7252 4.2)
  Histogram register_latency;    // us, from when the Register was due to the 2.01
  Histogram register_rtt;        // us, from the first transmission to the 2.01
  Histogram update_latency;      // us, from when the Update was due to the 2.04
  Histogram update_rtt;          // us, from the Update's first transmission to the 2.04
  Histogram deregister_latency;  // us, from when the De-register was due to the 2.02
  Histogram deregister_rtt;      // us, from the De-register's first transmission to the 2.02
  Histogram bootstrap_latency;   // us, from when the Bootstrap-Request was due to the Finish
};

// What a client needs from its worker; passed into every call so clients store none of it.
class ClientEnv {
 public:
  virtual ~ClientEnv() = default;
  // The settings of the client's group.
  virtual const ClientConfig& config(uint32_t client) const = 0;
  // When the event being handled happened: a datagram's arrival while it is handled.
  virtual TimeUs now() const = 0;
  // When a message queued now leaves (the clock, even while input is handled late): round trips
  // count from here.
  virtual TimeUs send_time() const { return now(); }
  virtual Rng& rng() = 0;
  virtual ClientStats& stats() = 0;
  // Fleet-wide index of the worker-local client id (for its endpoint name).
  virtual uint64_t global_index(uint32_t client) const = 0;
  // The client's lifetime (a server may have written /1/x/1) and its registration links (its
  // data model's instances); the view lives until the next call.
  virtual uint32_t lifetime(uint32_t client) const = 0;
  virtual std::string_view links(uint32_t client) = 0;
  virtual void send(uint32_t client, std::span<const uint8_t> datagram) = 0;
  virtual void schedule(uint32_t client, TimeUs due) = 0;
  virtual void cancel_timer(uint32_t client) = 0;
  virtual void on_state_change(uint32_t client, ClientState from, ClientState to) = 0;
  // The secure link to the bootstrap server (`bootstrap`) or the LwM2M server: false when an
  // exchange must wait for a handshake. Plain CoAP is always ready.
  virtual bool link_ready(uint32_t /*client*/, bool /*bootstrap*/) { return true; }
  // Starts that handshake; the env answers with VirtualClient::on_link_up or on_link_failed.
  virtual void connect(uint32_t /*client*/, bool /*bootstrap*/) {}
  // An exchange timed out: the server may have lost the session, so the next one handshakes
  // again (resuming when the server still can).
  virtual void link_lost(uint32_t /*client*/) {}
  // Done with a server (De-register, Bootstrap-Finish): close the link cleanly (close_notify).
  virtual void disconnect(uint32_t /*client*/) {}
  // The exchange the client sent in state `exchange` (Registering, Updating, Deregistering or
  // Bootstrapping) ended; called before the client leaves that state.
  virtual void exchange_ended(uint32_t /*client*/, ClientState /*exchange*/, ExchangeEnd /*end*/) {}
};

class VirtualClient {
 public:
  // Arms the first Register for `due` (its place in the ramp).
  void start(ClientEnv& env, uint32_t id, TimeUs due);
  // The client's single timer fired; `due` is when it was due (for latency accounting).
  void on_timer(ClientEnv& env, uint32_t id, TimeUs due);
  // A response, ACK or RST arrived at this client's address.
  void on_response(ClientEnv& env, uint32_t id, const CoapMessage& message);
  // De-register if registered (or as soon as a pending Register/Update completes), else stop.
  void stop(ClientEnv& env, uint32_t id);
  // Drops every exchange without telling the server (power loss); the client ends Stopped.
  void abandon(ClientEnv& env, uint32_t id);
  // An Update is needed now (Registration Update Trigger, a new lifetime, changed instances);
  // it carries lt= and the links when those changed. Waits for a pending exchange to finish.
  void request_update(ClientEnv& env, uint32_t id, bool lifetime_changed, bool links_changed);
  // Reboot: drops the pending exchange and the registration without a word to the server and
  // registers again at `due`, as a device that restarts does.
  void reboot(ClientEnv& env, uint32_t id, TimeUs due);
  // De-registers (after a pending exchange) and ends Idle, ready to start again; with `again`
  // registers anew right after (churn).
  void retire(ClientEnv& env, uint32_t id, bool again);
  // The handshake connect() started finished: the waiting exchange goes out.
  void on_link_up(ClientEnv& env, uint32_t id);
  // ... or failed: the waiting exchange fails (backoff).
  void on_link_failed(ClientEnv& env, uint32_t id);
  // Bootstrap-Finish from the bootstrap server (already answered 2.04): the client holds an
  // account now and registers with it.
  void on_bootstrap_finish(ClientEnv& env, uint32_t id);
  // A factory reset forgot the account: the next start bootstraps again.
  void forget_account() { flags_ &= static_cast<uint16_t>(~kBootstrapped); }
  // Acknowledged by its bootstrap server and waiting for Bootstrap-Finish.
  bool provisioning() const {
    return state_ == ClientState::kBootstrapping && (flags_ & kProvisioning) != 0;
  }
  // Whether the client talks to its bootstrap server now (rather than its LwM2M server).
  bool bootstrapping() const {
    return state_ == ClientState::kBootstrapping ||
           (state_ == ClientState::kConnecting && after_connect_ == ClientState::kBootstrapping);
  }

  // Idle with no Register scheduled: free for a phase to start.
  bool idle() const { return state_ == ClientState::kIdle && (flags_ & kStartScheduled) == 0; }

  ClientState state() const { return state_; }
  std::string_view location() const { return location_; }
  uint16_t next_message_id() const { return next_mid_; }
  // Allocates a message id for a message the worker sends on this client's behalf (notifications).
  uint16_t take_message_id() { return next_mid_++; }

 private:
  enum Flags : uint16_t {
    kStopRequested = 1,
    kAwaitingSeparate = 2,
    kSeeded = 4,
    kUpdateWanted = 8,      // an Update is due as soon as the pending exchange completes
    kLifetimeChanged = 16,  // the next Update carries lt=
    kLinksChanged = 32,     // the next Update carries the object links
    kRetire = 64,           // de-register, then Idle instead of Stopped
    kCycle = 128,           // ... and register again at once
    kStartScheduled = 256,  // Idle with its Register timer armed
    kBootstrapped = 512,    // holds an account from its bootstrap server
    kProvisioning = 1024,   // Bootstrap-Request acknowledged; waiting for Bootstrap-Finish
  };

  void set_state(ClientEnv& env, uint32_t id, ClientState next);
  // A Register, Update, De-register or Bootstrap-Request is waiting for its answer.
  bool exchange_pending() const;
  // Register, or Bootstrap-Request for a client that has no account yet.
  ClientState first_exchange(ClientEnv& env, uint32_t id) const;
  void begin_exchange(ClientEnv& env, uint32_t id, ClientState next, TimeUs due);
  void transmit(ClientEnv& env, uint32_t id);
  void exchange_failed(ClientEnv& env, uint32_t id, bool timed_out);
  void exchange_done(ClientEnv& env, uint32_t id, const CoapMessage& response);
  void enter_registered(ClientEnv& env, uint32_t id);
  void enter_backoff(ClientEnv& env, uint32_t id);
  void begin_deregister(ClientEnv& env, uint32_t id, TimeUs due);
  void finish(ClientEnv& env, uint32_t id);

  std::string location_;            // from the 2.01's Location-Path, e.g. "rd/17"
  TimeUs due_at_ = 0;               // when the pending exchange was due
  TimeUs sent_at_ = 0;              // first transmission of the pending exchange
  uint32_t token_ = 0;              // token of the pending exchange (4 bytes)
  uint32_t timeout_ = 0;            // current retransmission timeout, us
  uint16_t next_mid_ = 0;           // next message id to use
  uint16_t pending_mid_ = 0;        // message id of the pending exchange
  uint16_t last_separate_mid_ = 0;  // last separate CON response, ACKed again if repeated
  ClientState state_ = ClientState::kIdle;
  ClientState after_connect_ = ClientState::kIdle;  // the exchange kConnecting waits to begin
  uint16_t flags_ = 0;
  uint8_t retransmits_ = 0;  // retransmissions of the pending exchange
  uint8_t failures_ = 0;     // consecutive failed exchanges (drives backoff)
};

}  // namespace lwm2msim

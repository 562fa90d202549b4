#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "sim/coap/duplicate_cache.h"
#include "sim/dm/data_model.h"
#include "sim/dm/notification.h"
#include "sim/fault/delay_line.h"
#include "sim/fault/fault.h"
#include "sim/fleet/fleet.h"
#include "sim/timer/timer_wheel.h"
#include "sim/transport/event_loop.h"

namespace lwm2msim {

// How client i of the fleet maps to a worker, a socket and a source address. With W workers and
// S sockets (S a multiple of W), client i lives on worker i % W as local id i / W, and in
// multiplexed mode leaves through socket i % S from the (i / S)-th address of the plan.
struct ShardLayout {
  uint64_t clients = 0;
  uint32_t workers = 1;
  uint32_t sockets = 1;  // multiplexed sockets in the whole fleet
  bool socket_per_client = false;
  // NAT rebinding moves a client to another port: each multiplexed socket has this many
  // generations (sockets on other ports), and a client leaves through the one its NAT epoch
  // picks; datagrams to an older generation find no mapping and are dropped.
  uint32_t nat_ports = 1;

  uint64_t local_count(uint32_t worker) const {
    return worker < clients ? (clients - worker + workers - 1) / workers : 0;
  }
};

class Worker final : public ClientEnv,
                     public DatagramHandler,
                     public PhaseTarget,
                     public DtlsOutput {
 public:
  Worker(const FleetConfig& config, const ShardLayout& layout, uint32_t index);
  ~Worker() override;

  std::string prepare();
  void start(std::chrono::steady_clock::time_point epoch);
  // Thread-safe.
  void request_stop();
  bool finished() const { return finished_.load(std::memory_order_acquire); }
  void join();
  void collect(FleetSnapshot* out) const;
  // The worker's record of server outages; any thread.
  std::vector<OutageRecord> outage_records() const { return outage_.records(); }

  // ClientEnv
  const ClientConfig& config(uint32_t client) const override { return group(client).spec->client; }
  TimeUs now() const override;
  TimeUs send_time() const override;
  Rng& rng() override { return rng_; }
  ClientStats& stats() override { return client_stats_; }
  uint64_t global_index(uint32_t client) const override {
    return uint64_t{client} * layout_.workers + index_;
  }
  uint32_t lifetime(uint32_t client) const override;
  std::string_view links(uint32_t client) override;
  void send(uint32_t client, std::span<const uint8_t> datagram) override;
  void schedule(uint32_t client, TimeUs due) override;
  void cancel_timer(uint32_t client) override { wheel_.cancel(client); }
  void on_state_change(uint32_t client, ClientState from, ClientState to) override;
  bool link_ready(uint32_t client, bool bootstrap) override;
  void connect(uint32_t client, bool bootstrap) override;
  void link_lost(uint32_t client) override;
  void disconnect(uint32_t client) override;
  void exchange_ended(uint32_t client, ClientState exchange, ExchangeEnd end) override;

  // DtlsOutput: what the session of link_client_ writes and decrypts.
  void send_datagram(std::span<const uint8_t> datagram) override;
  void deliver(std::span<const uint8_t> plaintext) override;

  // DatagramHandler
  void on_datagram(const ReceivedDatagram& datagram) override;
  void on_batch_end() override;

  // PhaseTarget
  uint32_t workers() const override { return layout_.workers; }
  uint32_t worker_index() const override { return index_; }
  bool start_device(uint32_t local, TimeUs due) override;
  void retire_device(uint32_t local, TimeUs due) override;
  void cycle_device(uint32_t local, TimeUs due) override;
  bool is_idle(uint32_t local) const override;
  bool is_registered(uint32_t local) const override;
  void dropped_arrival() override { dropped_arrivals_.add(); }
  void stop_all(double rate) override;

 private:
  // A group's share of the worker: its settings and the data model of its profile.
  struct GroupRuntime {
    uint64_t first = 0;  // fleet index of the group's first device
    uint64_t count = 0;
    const FleetGroup* spec = nullptr;
    std::unique_ptr<DataModel> model;
    std::string default_links;  // Register payload of a client nobody changed
    LinkFaults faults;
  };
  const GroupRuntime& group(uint32_t client) const;
  const DataModel& model(uint32_t client) const { return *group(client).model; }

  enum class ReportKind : uint8_t {
    kObservation,
    kSend,
    kDownload,       // a firmware package fetched block by block (RFC 7959 Block2)
    kFirmwareApply,  // a package being installed; the timer is when the device reboots
  };
  // An observation, a client's periodic Send or a firmware download or installation: a slot with
  // its own timer and, while a CON is unacknowledged, its retransmission state (RFC 7641 4.5:
  // one CON in flight per observation).
  struct Report {
    uint32_t client = UINT32_MAX;  // UINT32_MAX: free slot
    uint32_t next = UINT32_MAX;    // the client's next report slot (UINT32_MAX: the last)
    uint32_t sequence = 0;         // Observe option value of the last notification; next block
    uint32_t count = 0;            // notifications or Sends so far (CON every N); bytes fetched
    uint32_t timeout = 0;          // us, retransmission timeout while awaiting an ACK
    uint32_t total = 0;            // download: the package size the server gave (Size2), or 0
    uint16_t mid = 0;              // message id of the last message sent
    uint16_t format = 0;           // content format of the notifications or Sends; block SZX
    uint8_t retransmits = 0;
    bool awaiting_ack = false;
    ReportKind kind = ReportKind::kObservation;
    Endpoint4 peer;  // where its messages go: the server, or a download's host
    CoapToken token;
    Lwm2mPath path;                    // observed path (unused for composites and Sends)
    std::vector<Lwm2mPath> composite;  // Observe-Composite paths, or the Send's paths
    NotificationAttributes attrs;      // in force; refreshed when the client's data changes
    NotificationState state;
    std::vector<uint8_t> inflight;  // the unacknowledged CON, for retransmission
  };

  // A client's DTLS association with its bootstrap server or its LwM2M server
  // (sim/fleet/secure_link.cpp).
  struct SecureLink {
    DtlsSession session;
    TimeUs started = 0;      // when its handshake began
    TimeUs active = 0;       // when a record last went out or came in
    bool bootstrap = false;  // with the bootstrap server (else the LwM2M server)
  };
  // The LwM2M server a bootstrap server provisioned a client with.
  struct Account {
    Endpoint4 server;
    bool secure = false;  // Security Mode PSK or certificate: coaps
  };
  // Whether the client reaches that server over DTLS.
  bool secure(uint32_t client, bool bootstrap) const;
  // Where the client's messages go now: its bootstrap server while it bootstraps, else its
  // LwM2M server (a provisioned one after a bootstrap).
  Endpoint4 server_of(uint32_t client) const;
  // The PSK the client holds for that server (null when certificates authenticate).
  std::optional<DtlsPsk> psk_for(uint32_t client, bool bootstrap) const;
  // Accounts for what one session call did: counters, handshake outcome, the client's timer.
  void link_events(uint32_t client, const DtlsEvents& e, bool was_established);
  void link_timer(uint32_t client);
  // A datagram that arrived on a client's secure link.
  void secure_receive(uint32_t client, std::span<const uint8_t> datagram);
  // Drops a client's session without a word (reboot, power loss); `forget` also drops what it
  // needs to resume.
  void reset_link(uint32_t client, bool forget);
  // The bootstrap interface (sim/fleet/bootstrap.cpp): requests from the bootstrap server
  // while the client is provisioned.
  void handle_bootstrap_request(uint32_t client, const CoapMessage& request);

  void run();
  // Fires the timers due by now and sends what they queued.
  void on_wake();
  void fire(uint32_t id, uint64_t due_tick);
  void stop_sweep();
  void begin_stop();
  // Faults: a datagram's fate; true when it goes through now.
  bool delay_or_drop(uint32_t client, Direction direction, std::span<const uint8_t> datagram,
                     const Verdict& v, TimeUs t);
  void arm_delay_line();
  void release_delayed();
  void transmit_now(uint32_t client, std::span<const uint8_t> datagram);
  // To another host than the server (a firmware download): the server's faults do not apply.
  void send_to(uint32_t client, const Endpoint4& to, std::span<const uint8_t> datagram);
  void transmit_raw(uint32_t client, const Endpoint4& to, std::span<const uint8_t> datagram);
  void handle_datagram(const ReceivedDatagram& d);
  // A datagram for a client, after the link's faults: through its secure link, if any.
  void dispatch(uint32_t client, std::span<const uint8_t> datagram);
  // A CoAP message for a client, in clear.
  void dispatch_coap(uint32_t client, std::span<const uint8_t> message, bool secure_link);
  // Client to server, in clear and past any session: the link's faults, then the socket.
  void link_send(uint32_t client, std::span<const uint8_t> datagram);
  void power_outages(TimeUs t);
  // Reboots of groups with a reboot behaviour due by t; returns when the next one is.
  TimeUs reboots(TimeUs t);
  // The worker's local ids of a group: [first, second).
  std::pair<uint32_t, uint32_t> local_range(const GroupRuntime& g) const;
  // Runs the phase executors: everything due now, then the next wake-up.
  void director_tick();
  void finish_stop();
  // Counts how an exchange ended and tells the outage tracker.
  void exchange_end(ExchangeKind kind, ExchangeEnd end);
  // The client a datagram is for, or UINT32_MAX; *stale when it came to a NAT port the client
  // has since left.
  uint32_t client_of(const ReceivedDatagram& d, bool* stale) const;
  // The port generation client leaves through now (0 without NAT rebinding).
  uint32_t nat_generation(uint32_t client, TimeUs t) const;
  ClientContext context(uint32_t client) const;
  void handle_request(uint32_t client, const CoapMessage& request);
  // Operations that change the client's data: Write, Write-Attributes, Execute, Create, Delete,
  // Write-Composite. Return the code to answer.
  uint8_t handle_change(uint32_t client, const CoapMessage& request, Lwm2mOperation op,
                        const Lwm2mPath& path, std::string* location);
  // After a change: a new lifetime or new instances make an Update; observed values are checked.
  void after_change(uint32_t client, uint32_t lifetime_before, const std::string& links_before);
  void reply(uint32_t client, const CoapMessage& request, Lwm2mOperation op, uint8_t code,
             uint16_t format, std::span<const uint8_t> payload, const uint32_t* observe,
             std::string_view location = {});
  uint16_t default_format(uint32_t client, const Lwm2mPath& path) const;
  // Encodes records read at `base`: 2.05, or 4.06 when the format cannot carry them.
  uint8_t encode_records(uint32_t client, const Lwm2mPath& base, uint16_t format,
                         std::span<const Record> records, std::vector<uint8_t>* out) const;
  // Reads what a report covers: a path, or a composite's paths.
  uint8_t read_report(const Report& r, const ClientContext& ctx, std::vector<Record>* out) const;
  ObservedSample sample_of(const Report& r, const ClientContext& ctx,
                           std::span<const Record> records) const;

  uint32_t alloc_report(uint32_t client);
  void free_report(uint32_t slot);
  Report* find_report(uint32_t client, std::span<const uint8_t> token);
  uint32_t add_observation(uint32_t client, const CoapMessage& request, const Lwm2mPath& path,
                           std::vector<Lwm2mPath> composite, uint16_t format,
                           std::span<const Record> records);
  // The attributes in force for an observation, with the group's report behaviour.
  NotificationAttributes observation_attributes(uint32_t client, const Lwm2mPath& path,
                                                const ClientContext& ctx) const;
  void cancel_observation(uint32_t client, std::span<const uint8_t> token);
  void drop_reports(uint32_t client);
  void start_send(uint32_t client);
  // The group's Send period (a scenario's report behaviour, else the profile's), and one interval
  // with the group's jitter drawn.
  TimeUs send_period(uint32_t client) const;
  TimeUs send_interval(uint32_t client);
  void on_report_timer(uint32_t slot);
  void check_observation(uint32_t slot);
  void send_notification(uint32_t slot, std::span<const Record> records);
  void do_send(uint32_t slot);
  // Sends a report's CON/NON and, for a CON, arms its retransmission.
  void transmit_report(uint32_t slot, std::span<const uint8_t> message, bool con);
  // An ACK, RST or response to a report's message; true when it was one.
  bool on_report_response(uint32_t client, const CoapMessage& m);
  void schedule_report(uint32_t slot, TimeUs due);
  // A copy of the client's report slots, for loops that free some.
  std::vector<uint32_t> report_slots(uint32_t client) const;
  void refresh_observations(uint32_t client);
  // Firmware update, pull over CoAP (sim/fleet/firmware.cpp). A Package URI write starts (or,
  // empty, cancels) a download; Execute Update installs and reboots.
  void firmware_uri_written(uint32_t client, const Lwm2mPath& path);
  void firmware_execute(uint32_t client, const Lwm2mPath& path, ExecuteEffect effect);
  void request_block(uint32_t slot);
  void on_download_response(uint32_t slot, const CoapMessage& m);
  // Ends a download (or an installation) with an Update Result, back in state Idle.
  void firmware_failed(uint32_t slot, int64_t result);
  void firmware_apply(uint32_t slot);
  // Sets State and Update Result of /5/instance and, with `notify`, tells observers.
  void set_firmware_state(uint32_t client, uint32_t instance, int64_t state, int64_t result,
                          bool notify = true);
  Report* find_report_kind(uint32_t client, ReportKind kind);
  // Queue mode: registered, and past its awake window until the next Update.
  bool asleep(uint32_t client, TimeUs t) const;
  // Bytes the client's sparse data takes (0 without any).
  int64_t data_bytes(uint32_t client) const;

  static uint64_t to_tick(TimeUs t) { return (t + kTickUs - 1) / kTickUs; }
  static constexpr TimeUs kTickUs = 1000;

  const FleetConfig& config_;
  ShardLayout layout_;
  uint32_t index_;
  uint32_t local_count_;
  uint32_t stop_timer_id_;
  uint32_t first_report_id_;
  uint32_t director_timer_id_;
  uint32_t delay_timer_id_;
  DelayLine delay_line_;
  // Power outages still to come: (when, group index), by time.
  std::vector<std::pair<TimeUs, uint32_t>> outages_;
  std::vector<TimeUs> reboot_next_;  // by group: the next reboot (0: not drawn yet)
  Timeline timeline_;
  std::unique_ptr<PhaseExecutor> executor_;
  std::atomic<uint32_t> phase_{0};
  double stop_rate_;

  EventLoop loop_;
  std::chrono::steady_clock::time_point epoch_;
  // While a datagram is handled, now() is when it arrived: input read at a later tick still
  // measures and schedules from its arrival.
  bool at_arrival_ = false;
  TimeUs arrival_ = 0;

  UdpTransport transport_;
  TimerWheel wheel_;
  std::vector<VirtualClient> clients_;
  Rng rng_;
  DuplicateCache duplicates_;
  std::vector<GroupRuntime> groups_;
  ClientDataStore data_;
  std::string links_scratch_;
  std::vector<Record> records_scratch_;   // a Send's records
  std::vector<uint8_t> payload_scratch_;  // a Send's encoded payload
  std::vector<Report> reports_;
  std::vector<uint32_t> free_reports_;
  // By client: its first report slot (UINT32_MAX: none); a client's slots chain through
  // Report::next. 4 bytes a client instead of a hash-map node for each one that reports.
  std::vector<uint32_t> report_head_;

  // By client, when some server is coaps (else empty).
  std::vector<SecureLink> secure_links_;
  // By client, when some group bootstraps (else empty).
  std::vector<Account> accounts_;
  std::unique_ptr<DtlsScratch> dtls_scratch_;
  uint32_t link_client_ = UINT32_MAX;  // whose session is writing output now
  // Decrypted records of the datagram being handled, each length-prefixed (2 bytes): handled
  // after the session call returns, so replies never re-enter it.
  std::vector<uint8_t> inbound_;
  DtlsStats dtls_stats_;

  bool stopping_ = false;
  uint32_t stop_cursor_ = 0;
  TimeUs stop_deadline_ = 0;
  TimeUs stop_started_ = 0;

  std::thread thread_;
  std::atomic<bool> finished_{false};

  ClientStats client_stats_;
  RequestStats request_stats_;
  Histogram timer_lateness_;  // us between a timer's due time and its firing
  std::array<Gauge, kClientStateCount> state_counts_;
  Counter abandoned_;            // clients still registered when the stop bound ran out
  Counter dropped_arrivals_;     // open-model arrivals with no idle device
  Counter faults_dropped_up_;    // client-to-server datagrams a fault dropped
  Counter faults_dropped_down_;  // server-to-client datagrams a fault dropped
  Counter faults_delayed_;       // datagrams held back by latency or reordering
  Counter faults_duplicated_;    // datagrams sent twice
  Counter outage_drops_;         // devices a power outage took down
  Counter nat_stale_drops_;      // datagrams to a NAT port the client had left, dropped
  Counter sleep_drops_;          // datagrams that reached a queue-mode device while it slept
  Counter reports_deferred_;     // notifications and Sends held until a sleeping device woke
  Counter fw_downloads_;         // firmware downloads started (Package URI written)
  Counter fw_blocks_;            // package blocks received
  Counter fw_downloaded_;        // downloads complete (state Downloaded)
  Counter fw_download_failed_;   // downloads ended by an error, timeout, bad URI or size
  Counter fw_updated_;           // packages installed (Update Result 1)
  Counter fw_update_failed_;     // installations that failed (Update Result 8)
  Counter churned_;              // churn cycles started
  Gauge clients_with_data_;      // clients holding changes a server made
  Gauge client_data_bytes_;      // heap bytes of those changes
  // How exchanges ended, by ExchangeKind (started: the client stats, notifications_con and
  // sends_confirmable_).
  struct ExchangeEnds {
    Counter answered;
    Counter timed_out;
    Counter abandoned;
  };
  std::array<ExchangeEnds, kExchangeKindCount> exchange_ends_;
  Counter sends_confirmable_;  // CON Sends started
  OutageTracker outage_;
};

}  // namespace lwm2msim

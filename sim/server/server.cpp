#include "sim/server/server.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <deque>
#include <functional>
#include <thread>
#include <unordered_map>

#include "sim/coap/coap.h"
#include "sim/coap/duplicate_cache.h"
#include "sim/server/directory.h"
#include "sim/server/queue.h"
#include "sim/timer/timer_wheel.h"
#include "sim/transport/event_loop.h"
#include "sim/transport/udp_transport.h"

namespace lwm2msim {
namespace {

// Whether a datagram opens with an epoch-0 handshake record carrying a ClientHello (RFC 6347
// 4.1 and 4.2.2: type 22, epoch 0, then handshake type 1).
bool starts_with_client_hello(std::span<const uint8_t> d) {
  return d.size() >= 14 && d[0] == 22 && d[3] == 0 && d[4] == 0 && d[13] == 1;
}

constexpr TimeUs kTickUs = 2000;              // driver and retransmission granularity
constexpr TimeUs kExpirySweepUs = kUsPerSec;  // how often lifetimes are checked
constexpr uint32_t kDefaultLifetime = 86400;  // LwM2M TS: lt defaults to 86400 s
constexpr size_t kMaxReadsPerTick = 20000;    // beyond this a stalled thread skips, and counts
constexpr uint32_t kNoSlot = UINT32_MAX;
// A walk whose steps are done waits this long for the notifications that let it cancel its
// observations (pmax=2 makes them due every 2 s) before it gives up.
constexpr TimeUs kObservationWaitUs = 120 * kUsPerSec;
constexpr uint32_t kMaxExerciseLogLines = 20;  // per run: enough to see what goes wrong
// Stats answers larger than this go block-wise (RFC 7959), in blocks of this size (SZX 6).
constexpr size_t kStatsBlockSize = 1024;
constexpr uint32_t kStatsBlockSzx = 6;
// Later blocks come from the text block 0 was cut from (the counters move, the query itself moves
// datagrams_in), if the same reader asks within this long.
constexpr TimeUs kStatsCacheUs = 10 * kUsPerSec;
// A firmware campaign without an answer or notification for this long is abandoned, as is one
// whose client does not register again this long after the Execute.
constexpr TimeUs kFirmwareStallUs = 600 * kUsPerSec;
// A DTLS session that carried no registration is dropped after this long without a datagram
// (one with a registration after its lifetime and expiry_grace).
constexpr TimeUs kUnregisteredIdleUs = 300 * kUsPerSec;
// How long a server request waits for its separate answer after an empty ACK.
constexpr TimeUs kSeparateAnswerUs = 30 * kUsPerSec;

// Paces walk and campaign starts per thread: holds a tenth of a second of the rate (at least
// one start), full at first.
struct TokenBucket {
  double tokens = 0;
  TimeUs refilled = 0;
  bool filled = false;

  // rate: starts per second; 0 or less: no cap.
  bool take(double rate, TimeUs t) {
    if (rate <= 0) {
      return true;
    }
    const double cap = std::max(1.0, rate / 10);
    if (!filled) {
      filled = true;
      tokens = cap;
      refilled = t;
    }
    tokens = std::min(cap, tokens + static_cast<double>(t - refilled) * rate / 1e6);
    refilled = t;
    if (tokens < 1) {
      return false;
    }
    tokens -= 1;
    return true;
  }
};

std::span<const uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// FNV-1a: the ETag of a block-wise stats answer, so a reader notices the text changed between
// blocks.
uint32_t fnv1a(std::string_view s) {
  uint32_t h = 2166136261u;
  for (char c : s) {
    h = (h ^ static_cast<uint8_t>(c)) * 16777619u;
  }
  return h;
}

}  // namespace

std::string ServerSnapshot::to_text() const {
  std::string s;
  auto line = [&s](std::string_view key, uint64_t v) {
    s += key;
    s += '=';
    s += std::to_string(v);
    s += '\n';
  };
  line("registered", registered);
  line("registers", registers);
  line("reregisters", reregisters);
  line("register_errors", register_errors);
  line("updates", updates);
  line("updates_not_found", updates_not_found);
  line("deregisters", deregisters);
  line("deregisters_not_found", deregisters_not_found);
  line("expired", expired);
  line("duplicates", duplicates);
  line("malformed", malformed);
  line("resets", resets);
  line("bad_requests", bad_requests);
  line("reads_sent", reads_sent);
  line("reads_ok", reads_ok);
  line("reads_error", reads_error);
  line("reads_skipped", reads_skipped);
  line("observes_sent", observes_sent);
  line("observes_ok", observes_ok);
  line("observes_error", observes_error);
  line("notifications", notifications);
  line("unknown_notifications", unknown_notifications);
  line("request_timeouts", request_timeouts);
  line("outage_drops", outage_drops);
  line("outage_forgotten", outage_forgotten);
  line("retransmissions", retransmissions);
  line("datagrams_in", datagrams_in);
  line("datagrams_out", datagrams_out);
  line("exercise_started", exercise_started);
  line("exercise_completed", exercise_completed);
  line("exercise_skipped", exercise_skipped);
  line("exercise_abandoned", exercise_abandoned);
  line("exercise_rate_limited", exercise_rate_limited);
  line("observations_cancelled", observations_cancelled);
  line("sends", sends);
  line("send_records", send_records);
  line("sends_bad", sends_bad);
  line("queued", queued);
  line("queue_flushed", queue_flushed);
  line("queue_overflow", queue_overflow);
  line("queue_dropped", queue_dropped);
  line("queue_wakeups", queue_wakeups);
  line("firmware_started", firmware_started);
  line("firmware_rate_limited", firmware_rate_limited);
  line("firmware_downloads", firmware_downloads);
  line("firmware_blocks", firmware_blocks);
  line("firmware_downloaded", firmware_downloaded);
  line("firmware_executed", firmware_executed);
  line("firmware_succeeded", firmware_succeeded);
  line("firmware_failed", firmware_failed);
  line("firmware_abandoned", firmware_abandoned);
  line("dtls_handshakes", dtls_handshakes);
  line("dtls_resumed", dtls_resumed);
  line("dtls_failed", dtls_failed);
  line("dtls_hello_verify", dtls_hello_verify);
  line("dtls_sessions", dtls_sessions);
  line("dtls_records_dropped", dtls_records_dropped);
  line("dtls_retransmits", dtls_retransmits);
  line("dtls_closed", dtls_closed);
  line("dtls_idle_dropped", dtls_idle_dropped);
  line("dtls_plain_dropped", dtls_plain_dropped);
  line("dtls_unsent", dtls_unsent);
  line("dtls_handshake_time_count", dtls_handshake_time.count());
  line("dtls_handshake_time_p50_us", dtls_handshake_time.percentile(50));
  line("dtls_handshake_time_p99_us", dtls_handshake_time.percentile(99));
  line("bootstrap_requests", bootstrap_requests);
  line("bootstrap_finished", bootstrap_finished);
  line("bootstrap_failed", bootstrap_failed);
  line("bootstrap_discover_ok", bootstrap_discover_ok);
  line("bootstrap_read_unsupported", bootstrap_read_unsupported);
  line("bootstrap_restarted", bootstrap_restarted);
  line("bootstrap_time_count", bootstrap_time.count());
  line("bootstrap_time_p50_us", bootstrap_time.percentile(50));
  line("bootstrap_time_p99_us", bootstrap_time.percentile(99));
  if (exercise_started > 0) {
    for (size_t i = 0; i < kExerciseStepCount; ++i) {
      const std::string name(to_string(static_cast<ExerciseStep>(i)));
      line("exercise_" + name + "_ok", exercise_ok[i]);
      line("exercise_" + name + "_unexpected", exercise_unexpected[i]);
    }
  }
  if (firmware_started > 0) {
    for (size_t i = 0; i < kFirmwareStepCount; ++i) {
      const std::string name(to_string(static_cast<FirmwareStep>(i)));
      line("firmware_" + name + "_failed", firmware_failed_at[i]);
    }
  }
  if (dtls_failed > 0) {
    // kNone is never a failure's reason.
    for (size_t i = 1; i < kDtlsFailureCount; ++i) {
      line("dtls_failed_" + std::string(to_string(static_cast<DtlsFailure>(i))), dtls_failed_by[i]);
    }
  }
  if (bootstrap_requests > 0) {
    for (size_t i = 0; i < kBootstrapStepCount; ++i) {
      const std::string name(to_string(static_cast<BootstrapStep>(i)));
      line("bootstrap_" + name + "_failed", bootstrap_failed_at[i]);
    }
  }
  return s;
}

class ServerThread final : public DatagramHandler {
 public:
  ServerThread(const ServerConfig& config, Directory& directory, FirmwareRollout& rollout,
               const std::vector<std::unique_ptr<ServerThread>>& peers, uint32_t index,
               uint32_t count, std::function<std::string()> stats_text,
               std::atomic<uint32_t>& log_lines)
      : config_(config),
        registry_(*config.registry),
        directory_(directory),
        rollout_(rollout),
        peers_(peers),
        index_(index),
        count_(count),
        stats_text_(std::move(stats_text)),
        log_lines_(log_lines),
        transport_(*this),
        rng_(mix_seed(config.seed, 0x5e7e7 + index)),
        duplicates_(262144, 262144 * 96, config.coap.exchange_lifetime()),
        next_mid_(static_cast<uint16_t>(rng_.next())),
        firmware_etag_(firmware_etag(config.firmware_version, config.firmware_size)) {
    if (config.dtls) {
      scratch_ = std::make_unique<DtlsScratch>();
    }
  }

  ~ServerThread() override { join(); }

  int open(const Endpoint4& bind, std::string* error) {
    return transport_.open(bind, false, true, error);
  }
  Endpoint4 local_address() const { return transport_.local_address(0); }

  // firmware_uri: the package URI campaigns write to /5/0/1.
  void start(std::chrono::steady_clock::time_point epoch, std::string firmware_uri) {
    epoch_ = epoch;
    firmware_uri_ = std::move(firmware_uri);
    thread_ = std::thread([this] { run(); });
  }

  void stop() { loop_.stop(); }

  void join() {
    if (thread_.joinable()) {
      thread_.join();
    }
  }

  const ServerStats& stats() const { return stats_; }
  const TransportStats& transport_stats() const { return transport_.stats(); }

  // Thread-safe: a queue-mode client of this thread was heard from at `peer` (an Update that
  // another thread received); its held requests go out.
  void post_wake(uint32_t registration, const Endpoint4& peer) {
    loop_.post([this, registration, peer] { wake(registration, &peer, now()); });
  }

  void on_datagram(const ReceivedDatagram& d) override {
    const TimeUs t = now();
    if (down(t)) {
      stats_.outage_drops.add();
      return;
    }
    if (config_.dtls) {
      on_dtls_datagram(d.peer, d.data, t);
      return;
    }
    on_coap(d.peer, d.data);
  }

  // Thread-safe: a datagram for `peer`, whose DTLS session is not on the thread that has it to
  // send (the peer's address now hashes to another thread). Each thread in turn tries; `hops`
  // counts those that did not have it.
  void post_relay(const Endpoint4& peer, std::span<const uint8_t> data, uint32_t hops) {
    loop_.post([this, peer, hops, bytes = std::vector<uint8_t>(data.begin(), data.end())] {
      relay(peer, bytes, hops);
    });
  }

  // Thread-safe: an answer or notification for a request this thread sent, received by another.
  void post_response(const Endpoint4& peer, std::span<const uint8_t> data) {
    loop_.post([this, peer, bytes = std::vector<uint8_t>(data.begin(), data.end())] {
      CoapMessage m;
      if (m.parse(bytes) == CoapParseError::kOk) {
        handle_response(peer, m);
      }
    });
  }

 private:
  // kAttributes: the Write-Attributes that precedes an Observe when observe_attributes is set.
  enum class Kind : uint8_t { kRead, kObserve, kAttributes, kExercise, kFirmware, kBootstrap };
  struct Pending {
    uint32_t generation = 0;
    uint32_t registration = 0;
    uint32_t index = 0;  // into walks_ (exercise) or campaigns_ (firmware)
    Endpoint4 peer;
    TimeUs due = 0;
    TimeUs sent = 0;
    uint32_t timeout = 0;
    uint16_t mid = 0;
    uint16_t path = 0;  // index into read_paths (reads)
    Kind kind = Kind::kRead;
    uint8_t retransmits = 0;
    bool used = false;
    bool awaiting_separate = false;
  };
  // One client's exercise walk; lives from its Register until its steps are done and its
  // observations cancelled.
  struct Walk {
    uint32_t registration = 0;
    uint32_t pending = kNoSlot;  // the step's request in flight
    Endpoint4 peer;
    ExerciseTarget target;
    TimeUs waiting_since = 0;                // when the steps ended
    std::array<uint64_t, 2> observations{};  // tokens of observe and observe_composite; 0: none
    std::array<uint8_t, 2> notified{};       // notifications seen for each (saturating)
    uint32_t serial = 0;                     // tells a reused slot from the walk a held step had
    uint8_t step = 0;
    bool used = false;
  };
  // One client's firmware campaign on this thread: from its Register to the Execute, or from the
  // Register after the reboot to the verdict.
  struct Campaign {
    std::string endpoint;
    uint32_t registration = 0;
    uint32_t pending = kNoSlot;  // the step's request in flight
    uint32_t serial = 0;
    uint64_t observation = 0;  // token of the State observation; 0: none
    TimeUs started = 0;        // when the State Observe was due
    TimeUs progressed = 0;     // last answer or notification
    TimeUs executed_at = 0;    // when the Execute fell due
    TimeUs result_at = 0;      // when Update Result 1 came
    FirmwareStep step = FirmwareStep::kObserveState;
    bool downloading = false;  // URI written or State 1 seen: State 0 now means the download failed
    bool downloaded = false;   // State 2 seen
    bool used = false;
  };
  // An Execute that was answered: the campaign waits for the client's next Register.
  struct Executed {
    std::string endpoint;
    TimeUs executed_at = 0;
  };
  // One client's bootstrap, from its Bootstrap-Request to Finish's answer.
  struct BootstrapFlow {
    std::string endpoint;
    Endpoint4 peer;
    uint32_t pending = kNoSlot;  // the step's request in flight
    TimeUs started = 0;          // when the Bootstrap-Request came
    BootstrapStep step = BootstrapStep::kDiscover;
    bool used = false;
  };
  // The DTLS association with one peer (coaps only).
  struct PeerSession {
    DtlsSession session;
    Endpoint4 peer;
    TimeUs heard = 0;          // the last datagram from the peer
    TimeUs started = 0;        // the ClientHello that started the current handshake
    uint32_t lifetime_s = 0;   // of the registration made through it; 0: none yet
    bool established = false;  // counted in dtls_sessions
    bool used = false;
  };
  // Where a session's output goes while it handles one event: datagrams to its peer, decrypted
  // CoAP set aside to be handled once the session call has returned.
  class PeerOutput final : public DtlsOutput {
   public:
    PeerOutput(ServerThread& thread, const Endpoint4& peer) : thread_(thread), peer_(peer) {}
    void send_datagram(std::span<const uint8_t> datagram) override {
      sent_ = true;
      thread_.transport_.send(0, 0, peer_, datagram);
    }
    void deliver(std::span<const uint8_t> plaintext) override {
      thread_.delivered_.emplace_back(thread_.delivered_bytes_.size(), plaintext.size());
      thread_.delivered_bytes_.insert(thread_.delivered_bytes_.end(), plaintext.begin(),
                                      plaintext.end());
    }
    bool sent() const { return sent_; }

   private:
    ServerThread& thread_;
    Endpoint4 peer_;
    bool sent_ = false;
  };

  TimeUs now() const {
    return static_cast<TimeUs>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now() - epoch_)
                                   .count());
  }

  // A CoAP datagram from `peer`, in clear or decrypted from its DTLS session.
  void on_coap(const Endpoint4& peer, std::span<const uint8_t> data) {
    CoapMessage m;
    const CoapScreen screen = coap_screen(data, &m);
    if (screen.reset_mid >= 0) {
      std::array<uint8_t, 4> reset;
      stats_.resets.add();
      send_to(peer,
              coap_write_empty(reset, CoapType::kRst, static_cast<uint16_t>(screen.reset_mid)));
    }
    if (screen.verdict == CoapVerdict::kMalformed || screen.verdict == CoapVerdict::kBadOption) {
      stats_.malformed.add();
    }
    if (screen.verdict != CoapVerdict::kAccept) {
      return;
    }
    if (m.is_request()) {
      handle_request(peer, m);
      return;
    }
    const uint32_t owner = m.token().size() == 8 ? m.token()[0] : index_;
    if (owner != index_ && owner < peers_.size() && count_ <= 256) {
      peers_[owner]->post_response(peer, data);
      return;
    }
    handle_response(peer, m);
  }

  // The only way out to a client: in clear, or through the peer's DTLS session.
  void send_to(const Endpoint4& peer, std::span<const uint8_t> message) {
    if (!config_.dtls) {
      transport_.send(0, 0, peer, message);
      return;
    }
    auto it = session_of_.find(peer.key());
    if (it == session_of_.end()) {
      relay(peer, message, 0);
      return;
    }
    PeerOutput out(*this, peer);
    if (!sessions_[it->second].session.send(message, *scratch_, out)) {
      stats_.dtls_unsent.add();
    }
  }

  // Sends through this thread's session with `peer`, or hands the datagram to the next thread.
  void relay(const Endpoint4& peer, std::span<const uint8_t> message, uint32_t hops) {
    auto it = session_of_.find(peer.key());
    if (it != session_of_.end()) {
      PeerOutput out(*this, peer);
      if (!sessions_[it->second].session.send(message, *scratch_, out)) {
        stats_.dtls_unsent.add();
      }
      return;
    }
    if (hops + 1 >= count_ || count_ > peers_.size()) {
      stats_.dtls_unsent.add();
      return;
    }
    peers_[(index_ + 1) % count_]->post_relay(peer, message, hops + 1);
  }

  // The peer as bytes, what its cookie is bound to.
  static std::array<uint8_t, 6> peer_bytes(const Endpoint4& peer) {
    return {static_cast<uint8_t>(peer.ip >> 24),  static_cast<uint8_t>(peer.ip >> 16),
            static_cast<uint8_t>(peer.ip >> 8),   static_cast<uint8_t>(peer.ip),
            static_cast<uint8_t>(peer.port >> 8), static_cast<uint8_t>(peer.port)};
  }

  void on_dtls_datagram(const Endpoint4& peer, std::span<const uint8_t> data, TimeUs t) {
    if (!looks_like_dtls(data)) {
      stats_.dtls_plain_dropped.add();
      return;
    }
    delivered_.clear();
    delivered_bytes_.clear();
    PeerOutput out(*this, peer);
    uint32_t slot = kNoSlot;
    DtlsEvents ev;
    auto it = session_of_.find(peer.key());
    if (it != session_of_.end()) {
      slot = it->second;
      PeerSession& s = sessions_[slot];
      if (starts_with_client_hello(data)) {
        // A new handshake (the peer lost its session), while the old keys still serve.
        s.started = t;
      }
      ev = s.session.on_datagram(data, t, *scratch_, out);
    } else {
      DtlsSession fresh;
      const auto id = peer_bytes(peer);
      ev = fresh.accept(*config_.dtls, id, data, t, *scratch_, out);
      if (fresh.state() == DtlsSession::State::kIdle) {
        // Stateless: a HelloVerifyRequest went out (or a stray record was dropped).
        if (out.sent()) {
          stats_.dtls_hello_verify.add();
        }
        stats_.dtls_records_dropped.add(ev.records_dropped);
        return;
      }
      slot = add_session(peer, std::move(fresh), t);
    }
    sessions_[slot].heard = t;
    // Decrypted CoAP first: what the peer sent before a close_notify in the same datagram counts.
    current_session_ = slot;
    for (const auto& [offset, length] : delivered_) {
      on_coap(peer, std::span<const uint8_t>(delivered_bytes_).subspan(offset, length));
    }
    current_session_ = kNoSlot;
    settle(slot, ev, t);
  }

  uint32_t add_session(const Endpoint4& peer, DtlsSession session, TimeUs t) {
    uint32_t slot = 0;
    if (!free_sessions_.empty()) {
      slot = free_sessions_.back();
      free_sessions_.pop_back();
    } else {
      slot = static_cast<uint32_t>(sessions_.size());
      sessions_.emplace_back();
      dtls_timers_.reserve(slot + 1);
    }
    PeerSession& s = sessions_[slot];
    s.session = std::move(session);
    s.peer = peer;
    s.heard = t;
    s.started = t;
    s.lifetime_s = 0;
    s.established = false;
    s.used = true;
    session_of_[peer.key()] = slot;
    return slot;
  }

  // Counts what a session call did and keeps the session, its timer and dtls_sessions in step
  // with its state; a failed or closed session is dropped.
  void settle(uint32_t slot, const DtlsEvents& ev, TimeUs t) {
    PeerSession& s = sessions_[slot];
    stats_.dtls_records_dropped.add(ev.records_dropped);
    stats_.dtls_retransmits.add(ev.retransmits);
    if (ev.handshake_done) {
      stats_.dtls_handshakes.add();
      if (ev.resumed) {
        stats_.dtls_resumed.add();
      }
      stats_.dtls_handshake_time.record(t - s.started);
      if (!s.established) {
        s.established = true;
        stats_.dtls_sessions.add(1);
      }
    }
    if (ev.failed) {
      stats_.dtls_failed.add();
      stats_.dtls_failed_by[static_cast<size_t>(s.session.failure())].add();
      drop_session(slot);
      return;
    }
    if (ev.closed) {
      stats_.dtls_closed.add();
      drop_session(slot);
      return;
    }
    switch (s.session.state()) {
      case DtlsSession::State::kHandshaking: {
        const TimeUs due = s.session.next_timer();
        if (due != 0) {
          dtls_timers_.schedule(slot, (due + 999) / 1000);
        }
        return;
      }
      case DtlsSession::State::kEstablished:
        dtls_timers_.cancel(slot);
        return;
      case DtlsSession::State::kIdle:
      case DtlsSession::State::kFailed:
        drop_session(slot);
        return;
    }
  }

  void drop_session(uint32_t slot) {
    PeerSession& s = sessions_[slot];
    if (!s.used) {
      return;
    }
    if (s.established) {
      stats_.dtls_sessions.add(-1);
    }
    session_of_.erase(s.peer.key());
    dtls_timers_.cancel(slot);
    s.session = DtlsSession();
    s.used = false;
    free_sessions_.push_back(slot);
  }

  void on_dtls_timer(uint32_t slot, TimeUs t) {
    PeerSession& s = sessions_[slot];
    if (!s.used) {
      return;
    }
    PeerOutput out(*this, s.peer);
    const DtlsEvents ev = s.session.on_timer(t, *scratch_, out);
    settle(slot, ev, t);
  }

  // A slice of the sessions per tick, so each is looked at about once a second without a pass
  // over all of them at once: those idle past their limit are dropped (the peer went away
  // without close_notify).
  void sweep_sessions(TimeUs t) {
    const size_t n = sessions_.size();
    size_t budget = n / static_cast<size_t>(kUsPerSec / kTickUs) + 1;
    while (n > 0 && budget-- > 0) {
      if (session_cursor_ >= n) {
        session_cursor_ = 0;
      }
      const uint32_t slot = session_cursor_++;
      const PeerSession& s = sessions_[slot];
      if (!s.used || s.session.state() == DtlsSession::State::kHandshaking) {
        continue;
      }
      const TimeUs limit = s.lifetime_s == 0
                               ? kUnregisteredIdleUs
                               : TimeUs{s.lifetime_s} * kUsPerSec + config_.expiry_grace;
      if (t - s.heard > limit) {
        stats_.dtls_idle_dropped.add();
        drop_session(slot);
      }
    }
  }

  // A Register or Update with a lifetime came through the session at hand: the session lives as
  // long as the registration could.
  void note_lifetime(uint32_t lifetime_s) {
    if (current_session_ != kNoSlot && lifetime_s != 0) {
      sessions_[current_session_].lifetime_s = lifetime_s;
    }
  }

  void run() {
    loop_.set_input(transport_.epoll_fd());
    // The server answers every datagram at once: its latency is what the fleet measures.
    auto next_tick = std::chrono::steady_clock::now() + std::chrono::microseconds(kTickUs);
    while (!loop_.stopped()) {
      const bool input = loop_.wait(next_tick, true);
      loop_.run_posted();
      if (input) {
        transport_.drain_ready();
      }
      if (std::chrono::steady_clock::now() >= next_tick) {
        on_tick();
        next_tick = std::chrono::steady_clock::now() + std::chrono::microseconds(kTickUs);
      }
      transport_.flush();
    }
    transport_.close();
  }

  // Within an outage: nothing is received or sent; timers wait for the server to come back.
  bool down(TimeUs t) const {
    for (const ServerOutage& o : config_.outages) {
      if (t >= o.at && t < o.at + o.duration) {
        return true;
      }
    }
    return false;
  }

  void on_tick() {
    const TimeUs t = now();
    // Thread 0 wipes the registrations when a forgetting outage begins: the crash loses them.
    while (index_ == 0 && next_outage_ < config_.outages.size() &&
           t >= config_.outages[next_outage_].at) {
      if (config_.outages[next_outage_].forget) {
        stats_.outage_forgotten.add(directory_.clear());
      }
      ++next_outage_;
    }
    if (down(t)) {
      drive_reads(t, false);
      return;
    }
    wheel_.advance(t / 1000, [this](uint32_t slot, uint64_t) { on_request_timer(slot); });
    if (config_.dtls) {
      dtls_timers_.advance(t / 1000,
                           [this, t](uint32_t slot, uint64_t) { on_dtls_timer(slot, t); });
      sweep_sessions(t);
    }
    drive_reads(t);
    if (t >= next_sweep_) {
      next_sweep_ = t + kExpirySweepUs;
      for (uint32_t s = index_; s < Directory::kShards; s += count_) {
        stats_.expired.add(directory_.expire(s, t));
      }
      sweep_queues();
      sweep_walks(t);
      sweep_campaigns(t);
    }
    transport_.flush();
  }

  void respond(const Endpoint4& peer, const CoapMessage& req, uint8_t code,
               std::string_view location, uint16_t format, std::span<const uint8_t> payload) {
    std::array<uint8_t, kCoapMaxMessageSize> buf;
    const bool con = req.type() == CoapType::kCon;
    CoapWriter w(buf);
    w.header(con ? CoapType::kAck : CoapType::kNon, code, con ? req.message_id() : next_mid_++,
             req.token());
    if (!location.empty()) {
      w.option_path(CoapOption::kLocationPath, location);
    }
    if (!payload.empty()) {
      w.option_uint(CoapOption::kContentFormat, format);
    }
    w.payload(payload);
    const auto msg = w.finish();
    if (msg.empty()) {
      return;
    }
    if (con) {
      duplicates_.put(peer.key(), req.message_id(), msg, now());
    }
    send_to(peer, msg);
  }

  void handle_request(const Endpoint4& peer, const CoapMessage& req) {
    const TimeUs t = now();
    if (req.type() == CoapType::kCon) {
      const auto cached = duplicates_.find(peer.key(), req.message_id(), t);
      if (!cached.empty()) {
        stats_.duplicates.add();
        send_to(peer, cached);
        return;
      }
    }
    if (req.first_unknown_critical() != 0) {
      // RFC 7252 5.4.1: 4.02 to a Confirmable request, a Non-confirmable one is dropped.
      stats_.bad_requests.add();
      if (req.type() == CoapType::kCon) {
        respond(peer, req, CoapCode::kBadOption, {}, 0, {});
      }
      return;
    }
    std::array<char, 128> path_buf;
    bool ok = false;
    const std::string_view path = req.join(CoapOption::kUriPath, path_buf, &ok);
    if (!ok) {
      stats_.bad_requests.add();
      respond(peer, req, CoapCode::kBadRequest, {}, 0, {});
      return;
    }
    if (path == "rd" && req.code() == CoapCode::kPost) {
      if (config_.bootstrap) {
        // A bootstrap server has no registration interface (LwM2M TS 1.1 section 6.1).
        stats_.register_errors.add();
        respond(peer, req, CoapCode::kNotFound, {}, 0, {});
        return;
      }
      handle_register(peer, req, t);
      return;
    }
    if (path == "bs" && req.code() == CoapCode::kPost && config_.bootstrap) {
      handle_bootstrap_request(peer, req, t);
      return;
    }
    if (path.starts_with("rd/")) {
      uint32_t id = 0;
      if (!parse_u32(path.substr(3), &id)) {
        stats_.updates_not_found.add();
        respond(peer, req, CoapCode::kNotFound, {}, 0, {});
        return;
      }
      if (req.code() == CoapCode::kPost) {
        handle_update(peer, req, id, t);
        return;
      }
      if (req.code() == CoapCode::kDelete) {
        if (directory_.remove(id)) {
          stats_.deregisters.add();
          respond(peer, req, CoapCode::kDeleted, {}, 0, {});
        } else {
          stats_.deregisters_not_found.add();
          respond(peer, req, CoapCode::kNotFound, {}, 0, {});
        }
        return;
      }
      stats_.bad_requests.add();
      respond(peer, req, CoapCode::kMethodNotAllowed, {}, 0, {});
      return;
    }
    if (path == "dp" && req.code() == CoapCode::kPost) {
      handle_send(peer, req);
      return;
    }
    if (path == "sim/stats" && req.code() == CoapCode::kGet) {
      respond_stats(peer, req);
      return;
    }
    if (path == "fw" || path.starts_with("fw/")) {
      respond_firmware(peer, req, path);
      return;
    }
    stats_.bad_requests.add();
    respond(peer, req, CoapCode::kNotFound, {}, 0, {});
  }

  void handle_register(const Endpoint4& peer, const CoapMessage& req, TimeUs t) {
    std::string_view endpoint;
    uint32_t lifetime = kDefaultLifetime;
    // Without lwm2m= the client is taken for 1.0, which had no composite operations.
    Lwm2mVersion version = Lwm2mVersion::k1_0;
    for (const CoapOptionView& o : req.options()) {
      if (o.number != CoapOption::kUriQuery) {
        continue;
      }
      const std::string_view q = o.as_string();
      if (q.starts_with("ep=")) {
        endpoint = q.substr(3);
      } else if (q.starts_with("lwm2m=")) {
        parse_lwm2m_version(q.substr(6), &version);
      } else if (q.starts_with("lt=") && (!parse_u32(q.substr(3), &lifetime) || lifetime == 0)) {
        endpoint = {};
        break;
      }
    }
    if (endpoint.empty()) {
      stats_.register_errors.add();
      respond(peer, req, CoapCode::kBadRequest, {}, 0, {});
      return;
    }
    Directory::Entry e;
    e.address = peer;
    e.lifetime_s = lifetime;
    e.expires_at = t + TimeUs{lifetime} * kUsPerSec + config_.expiry_grace;
    e.owner = index_;
    e.queue_mode = register_wants_queue_mode(req);
    const auto payload = req.payload();
    e.links.assign(reinterpret_cast<const char*>(payload.data()), payload.size());
    bool replaced = false;
    const uint32_t id = directory_.add(endpoint, e, &replaced);
    (replaced ? stats_.reregisters : stats_.registers).add();
    note_lifetime(lifetime);
    char location[24];
    auto [end, ec] = std::to_chars(location + 3, location + sizeof location, id);
    std::copy_n("rd/", 3, location);
    respond(peer, req, CoapCode::kCreated,
            std::string_view(location, static_cast<size_t>(end - location)), 0, {});
    owned_.push_back(id);
    if (e.queue_mode) {
      queues_.add(id, peer, t + config_.queue_awake);
    }
    if (config_.observe_fraction > 0 && rng_.uniform() < config_.observe_fraction) {
      start_request(config_.observe_attributes.empty() ? Kind::kObserve : Kind::kAttributes, id,
                    peer, 0, t);
    }
    if (config_.exercise_fraction > 0 && rng_.uniform() < config_.exercise_fraction) {
      if (exercise_bucket_.take(config_.exercise_rate / count_, t)) {
        ExerciseTarget target;
        target.lifetime_s = lifetime;
        target.version = version;
        target.can_create =
            pick_create_target(e.links, registry_, &target.create_object, &target.create_instance);
        start_walk(id, peer, target, t);
      } else {
        stats_.exercise_rate_limited.add();
      }
    }
    if (config_.firmware_fraction > 0) {
      register_firmware(id, endpoint, e.links, t);
    }
  }

  // A Register while campaigns run: the return of a client whose Execute went out, or a client to
  // pick for a new campaign.
  void register_firmware(uint32_t id, std::string_view endpoint, std::string_view links, TimeUs t) {
    TimeUs started = 0;
    if (rollout_.take_rebooted(endpoint, &started)) {
      start_campaign(id, endpoint, FirmwareStep::kReadResult, started, t);
      return;
    }
    if (!links_announce_firmware(links) || rng_.uniform() >= config_.firmware_fraction) {
      return;
    }
    if (!firmware_bucket_.take(config_.firmware_rate / count_, t)) {
      stats_.firmware_rate_limited.add();
      return;
    }
    // A client already in a campaign (registering again mid-way) does not start another.
    if (rollout_.begin(endpoint)) {
      stats_.firmware_started.add();
      start_campaign(id, endpoint, FirmwareStep::kObserveState, t, t);
    }
  }

  void handle_send(const Endpoint4& peer, const CoapMessage& req) {
    std::vector<Record> records;
    const CodecResult r = decode_send(req, registry_, &records);
    if (!r.ok()) {
      stats_.sends_bad.add();
      respond(peer, req, r.code, {}, 0, {});
      return;
    }
    stats_.sends.add();
    stats_.send_records.add(records.size());
    respond(peer, req, CoapCode::kChanged, {}, 0, {});
  }

  // GET /sim/stats: whole when it fits one block, else the block the request asks for (block 0
  // when it names none), with an ETag of the text.
  void respond_stats(const Endpoint4& peer, const CoapMessage& req) {
    const CoapOptionView* block = req.find(CoapOption::kBlock2);
    uint32_t num = 0;
    uint32_t szx = kStatsBlockSzx;
    if (block != nullptr) {
      num = block->as_uint() >> 4;
      szx = std::min(block->as_uint() & 7, kStatsBlockSzx);
    }
    const TimeUs t = now();
    if (num == 0 || stats_cache_peer_ != peer || t - stats_cache_at_ > kStatsCacheUs) {
      stats_cache_ = stats_text_();
      stats_cache_peer_ = peer;
      stats_cache_at_ = t;
    }
    const std::string& text = stats_cache_;
    if (block == nullptr && text.size() <= kStatsBlockSize) {
      respond(peer, req, CoapCode::kContent, {}, CoapContentFormat::kTextPlain, bytes_of(text));
      return;
    }
    const size_t size = size_t{16} << szx;
    const size_t offset = size_t{num} * size;
    if (offset >= text.size() && num > 0) {
      stats_.bad_requests.add();
      respond(peer, req, CoapCode::kBadOption, {}, 0, {});
      return;
    }
    const size_t length = std::min(size, text.size() - offset);
    const bool more = offset + length < text.size();
    const uint32_t etag = fnv1a(text);
    const uint8_t etag_bytes[] = {static_cast<uint8_t>(etag >> 24),
                                  static_cast<uint8_t>(etag >> 16), static_cast<uint8_t>(etag >> 8),
                                  static_cast<uint8_t>(etag)};
    std::array<uint8_t, kCoapMaxMessageSize> buf;
    const bool con = req.type() == CoapType::kCon;
    CoapWriter w(buf);
    w.header(con ? CoapType::kAck : CoapType::kNon, CoapCode::kContent,
             con ? req.message_id() : next_mid_++, req.token())
        .option(CoapOption::kETag, etag_bytes)
        .option_uint(CoapOption::kContentFormat, CoapContentFormat::kTextPlain)
        .option_uint(CoapOption::kBlock2, (num << 4) | (more ? 8u : 0u) | szx)
        .option_uint(CoapOption::kSize2, static_cast<uint32_t>(text.size()))
        .payload(std::string_view(text).substr(offset, length));
    const auto msg = w.finish();
    if (msg.empty()) {
      return;
    }
    if (con) {
      duplicates_.put(peer.key(), req.message_id(), msg, now());
    }
    send_to(peer, msg);
  }

  void handle_update(const Endpoint4& peer, const CoapMessage& req, uint32_t id, TimeUs t) {
    uint32_t lifetime = 0;
    for (const CoapOptionView& o : req.options()) {
      if (o.number == CoapOption::kUriQuery && o.as_string().starts_with("lt=")) {
        if (!parse_u32(o.as_string().substr(3), &lifetime) || lifetime == 0) {
          stats_.bad_requests.add();
          respond(peer, req, CoapCode::kBadRequest, {}, 0, {});
          return;
        }
      }
    }
    uint32_t owner = 0;
    bool queue_mode = false;
    if (!directory_.update(id, peer, lifetime, t, config_.expiry_grace, &owner, &queue_mode)) {
      stats_.updates_not_found.add();
      respond(peer, req, CoapCode::kNotFound, {}, 0, {});
      return;
    }
    stats_.updates.add();
    note_lifetime(lifetime);
    respond(peer, req, CoapCode::kChanged, {}, 0, {});
    if (!queue_mode) {
      return;
    }
    // The queue lives on the registration's thread; the Update may hash to another one.
    if (owner == index_) {
      wake(id, &peer, t);
    } else if (owner < peers_.size()) {
      peers_[owner]->post_wake(id, peer);
    }
  }

  // `up` false: the server is down and the Reads falling due are skipped (open model).
  void drive_reads(TimeUs t, bool up = true) {
    if (config_.read_rate <= 0 || config_.read_paths.empty()) {
      return;
    }
    const double interval = 1e6 * count_ / config_.read_rate;
    if (next_read_due_ == 0) {
      next_read_due_ = t;
    }
    size_t sent = 0;
    while (static_cast<double>(next_read_due_) <= static_cast<double>(t)) {
      const TimeUs due = next_read_due_;
      next_read_due_ += static_cast<TimeUs>(interval);
      if (!up || sent++ >= kMaxReadsPerTick) {
        stats_.reads_skipped.add();
        continue;
      }
      uint32_t id = 0;
      Endpoint4 peer;
      if (!pick_registered(&id, &peer)) {
        stats_.reads_skipped.add();
        continue;
      }
      start_request(Kind::kRead, id, peer,
                    static_cast<uint16_t>(read_cursor_++ % config_.read_paths.size()), due);
    }
  }

  bool pick_registered(uint32_t* id, Endpoint4* peer) {
    for (int attempt = 0; attempt < 8 && !owned_.empty(); ++attempt) {
      const size_t k = rng_.below(owned_.size());
      if (directory_.lookup(owned_[k], peer)) {
        *id = owned_[k];
        return true;
      }
      owned_[k] = owned_.back();
      owned_.pop_back();
    }
    return false;
  }

  // A server request falls due: it goes out now, or waits while its queue-mode client sleeps.
  void start_request(Kind kind, uint32_t registration, Endpoint4 peer, uint16_t path, TimeUs due,
                     uint32_t index = 0) {
    if (!queues_.empty()) {
      HeldRequest h;
      h.kind = static_cast<uint8_t>(kind);
      h.path = path;
      h.index = index;
      h.serial = serial_of(kind, index);
      h.due = due;
      h.held_at = now();
      switch (queues_.admit(registration, h.held_at, h, &peer)) {
        case SleepQueues::Admit::kSend:
          break;
        case SleepQueues::Admit::kHeld:
          stats_.queued.add();
          return;
        case SleepQueues::Admit::kFull:
          stats_.queue_overflow.add();
          request_dropped(kind, index);
          return;
      }
    }
    send_request(kind, registration, peer, path, due, index);
  }

  // The walk or campaign a held request belongs to, told apart from a later one in the same slot.
  uint32_t serial_of(Kind kind, uint32_t index) const {
    if (kind == Kind::kExercise) {
      return walks_[index].serial;
    }
    return kind == Kind::kFirmware ? campaigns_[index].serial : 0;
  }

  // Whether a held request still has someone waiting for it.
  bool still_wanted(const HeldRequest& h, uint32_t registration) const {
    const auto kind = static_cast<Kind>(h.kind);
    if (kind == Kind::kExercise) {
      const Walk& k = walks_[h.index];
      return k.used && k.serial == h.serial && k.registration == registration;
    }
    if (kind == Kind::kFirmware) {
      const Campaign& c = campaigns_[h.index];
      return c.used && c.serial == h.serial && c.registration == registration;
    }
    return true;
  }

  // A request that did not fit its client's queue: a walk or campaign cannot go on without it.
  void request_dropped(Kind kind, uint32_t index) {
    if (kind == Kind::kExercise) {
      abandon_walk(index);
    } else if (kind == Kind::kFirmware) {
      abandon_campaign(index);
    }
  }

  // A queue-mode client was heard from (Register, Update, an answer, a notification): it is
  // awake for queue_awake, at `peer` when given, and what was held for it goes out in order.
  void wake(uint32_t registration, const Endpoint4* peer, TimeUs t) {
    Endpoint4 to;
    const std::vector<HeldRequest> held =
        queues_.wake(registration, peer, t + config_.queue_awake, &to);
    if (held.empty()) {
      return;
    }
    stats_.queue_wakeups.add();
    for (const HeldRequest& h : held) {
      if (!still_wanted(h, registration)) {
        stats_.queue_dropped.add();
        continue;
      }
      stats_.queue_flushed.add();
      stats_.queue_delay.record(t - h.held_at);
      send_request(static_cast<Kind>(h.kind), registration, to, h.path, h.due, h.index);
    }
  }

  // A message from a client that answers a server request or notifies: for a queue-mode client,
  // proof that it is awake.
  void heard_from(uint32_t registration, TimeUs t) {
    if (queues_.empty() || !queues_.contains(registration)) {
      return;
    }
    if (!queues_.has_held(registration)) {
      Endpoint4 to;
      queues_.wake(registration, nullptr, t + config_.queue_awake, &to);
      return;
    }
    // Sent after the message at hand is handled: sending now could move the pending requests it
    // refers to.
    loop_.post([this, registration] { wake(registration, nullptr, now()); });
  }

  // Held requests of registrations that went away (De-register, expiry, a new Register) are
  // dropped with their queue.
  void sweep_queues() {
    if (queues_.empty()) {
      return;
    }
    stats_.queue_dropped.add(queues_.drop_if([this](uint32_t registration) {
      Endpoint4 address;
      return !directory_.lookup(registration, &address);
    }));
  }

  void send_request(Kind kind, uint32_t registration, const Endpoint4& peer, uint16_t path,
                    TimeUs due, uint32_t index) {
    uint32_t slot = 0;
    if (!free_.empty()) {
      slot = free_.back();
      free_.pop_back();
    } else {
      slot = static_cast<uint32_t>(pending_.size());
      pending_.emplace_back();
      wheel_.reserve(slot + 1);
    }
    Pending& p = pending_[slot];
    p.used = true;
    p.generation++;
    p.registration = registration;
    p.peer = peer;
    p.kind = kind;
    p.path = path;
    p.index = index;
    p.due = due;
    p.sent = now();
    p.mid = next_mid_++;
    p.retransmits = 0;
    p.awaiting_separate = false;
    p.timeout = static_cast<uint32_t>(config_.coap.initial_timeout(rng_));
    by_mid_[p.mid] = slot;
    if (kind == Kind::kExercise) {
      walks_[index].pending = slot;
    } else if (kind == Kind::kFirmware) {
      campaigns_[index].pending = slot;
    } else if (kind == Kind::kBootstrap) {
      flows_[index].pending = slot;
    } else if (kind != Kind::kAttributes) {
      (kind == Kind::kRead ? stats_.reads_sent : stats_.observes_sent).add();
    }
    if (!transmit(slot)) {
      if (kind == Kind::kFirmware) {
        firmware_failed(slot, "could not build the request");
      } else if (kind == Kind::kBootstrap) {
        bootstrap_step_failed(slot, "could not build the request");
      } else {
        exercise_failed(slot, "could not build the request", p.sent);
      }
      return;
    }
    wheel_.schedule(slot, deadline(p, p.sent + p.timeout) / 1000);
  }

  // When a request's timer is due next: `at`, or sooner when a bootstrap step's time runs out.
  TimeUs deadline(const Pending& p, TimeUs at) const {
    const TimeUs limit = config_.bootstrap_config.step_timeout;
    if (p.kind != Kind::kBootstrap || limit <= 0) {
      return at;
    }
    return std::min(at, p.sent + limit);
  }

  // Tokens name the thread (top byte), so an answer that reaches another thread (a client whose
  // address changed hashes elsewhere) finds its way back, then the slot's generation and the slot.
  uint64_t token_of(uint32_t slot, uint32_t generation) const {
    return (uint64_t{index_ & 0xff} << 56) | (uint64_t{generation & 0xffffff} << 32) | slot;
  }

  // False when the request cannot be built (exercise and firmware steps only).
  bool transmit(uint32_t slot) {
    const Pending& p = pending_[slot];
    if (p.kind == Kind::kBootstrap) {
      const BootstrapFlow& k = flows_[p.index];
      std::array<uint8_t, kCoapMaxMessageSize> buf;
      const auto msg =
          build_bootstrap_step(k.step, config_.bootstrap_config, k.endpoint, registry_, p.mid,
                               CoapToken::from_u64(token_of(slot, p.generation), 8), buf);
      if (msg.empty()) {
        return false;
      }
      send_to(p.peer, msg);
      return true;
    }
    if (p.kind == Kind::kFirmware) {
      std::array<uint8_t, kCoapMaxMessageSize> buf;
      const auto msg =
          build_firmware_request(campaigns_[p.index].step, firmware_uri_, p.mid,
                                 CoapToken::from_u64(token_of(slot, p.generation), 8), buf);
      if (msg.empty()) {
        return false;
      }
      send_to(p.peer, msg);
      return true;
    }
    if (p.kind == Kind::kExercise) {
      const Walk& k = walks_[p.index];
      std::array<uint8_t, kCoapMaxMessageSize> buf;
      const auto msg =
          build_exercise_request(static_cast<ExerciseStep>(k.step), k.target, registry_, p.mid,
                                 CoapToken::from_u64(token_of(slot, p.generation), 8), buf);
      if (msg.empty()) {
        return false;
      }
      send_to(p.peer, msg);
      return true;
    }
    const Lwm2mPath& path =
        p.kind == Kind::kRead ? config_.read_paths[p.path] : config_.observe_path;
    std::array<uint8_t, 256> buf;
    const CoapToken token = CoapToken::from_u64(token_of(slot, p.generation), 8);
    CoapWriter w(buf);
    const bool attributes = p.kind == Kind::kAttributes;
    w.header(CoapType::kCon, attributes ? CoapCode::kPut : CoapCode::kGet, p.mid, token.view());
    if (p.kind == Kind::kObserve) {
      w.option_uint(CoapOption::kObserve, 0);
    }
    const uint32_t ids[] = {path.object, path.instance, path.resource, path.resource_instance};
    for (int i = 0; i < path.depth(); ++i) {
      char digits[12];
      auto [end, ec] = std::to_chars(digits, digits + sizeof digits, ids[i]);
      w.option(CoapOption::kUriPath, std::string_view(digits, static_cast<size_t>(end - digits)));
    }
    if (attributes) {
      // "pmin=1&pmax=30": one Uri-Query option per attribute.
      std::string_view rest = config_.observe_attributes;
      while (!rest.empty()) {
        const size_t amp = rest.find('&');
        w.option(CoapOption::kUriQuery, rest.substr(0, amp));
        rest.remove_prefix(amp == std::string_view::npos ? rest.size() : amp + 1);
      }
    } else {
      w.option_uint(CoapOption::kAccept, CoapContentFormat::kTextPlain);
    }
    if (w.ok()) {
      send_to(p.peer, w.finish());
    }
    return true;
  }

  void release(uint32_t slot) {
    Pending& p = pending_[slot];
    by_mid_.erase(p.mid);
    wheel_.cancel(slot);
    p.used = false;
    free_.push_back(slot);
  }

  void on_request_timer(uint32_t slot) {
    Pending& p = pending_[slot];
    if (!p.used) {
      return;
    }
    const TimeUs t = now();
    const bool out_of_time = deadline(p, t + 1) <= t;
    if (p.awaiting_separate || p.retransmits >= config_.coap.max_retransmit || out_of_time) {
      stats_.request_timeouts.add();
      if (p.kind == Kind::kExercise) {
        exercise_failed(slot, "got no answer", t);
      } else if (p.kind == Kind::kFirmware) {
        firmware_failed(slot, "got no answer");
      } else if (p.kind == Kind::kBootstrap) {
        bootstrap_step_failed(slot, "got no answer");
      } else {
        release(slot);
      }
      return;
    }
    ++p.retransmits;
    p.timeout *= 2;
    stats_.retransmissions.add();
    transmit(slot);
    wheel_.schedule(slot, deadline(p, t + p.timeout) / 1000);
  }

  void handle_response(const Endpoint4& peer, const CoapMessage& m) {
    const TimeUs t = now();
    if (m.is_empty()) {
      auto it = by_mid_.find(m.message_id());
      if (it == by_mid_.end()) {
        return;
      }
      Pending& p = pending_[it->second];
      heard_from(p.registration, t);
      if (m.type() == CoapType::kRst) {
        if (p.kind == Kind::kExercise) {
          exercise_failed(it->second, "got RST", t);
        } else if (p.kind == Kind::kFirmware) {
          firmware_failed(it->second, "got RST");
        } else if (p.kind == Kind::kBootstrap) {
          bootstrap_step_failed(it->second, "got RST");
        } else {
          (p.kind == Kind::kRead ? stats_.reads_error : stats_.observes_error).add();
          release(it->second);
        }
      } else if (m.type() == CoapType::kAck) {
        p.awaiting_separate = true;
        wheel_.schedule(it->second, deadline(p, t + kSeparateAnswerUs) / 1000);
      }
      return;
    }
    std::array<uint8_t, 4> ack;
    const CoapToken token = m.token_value();
    const uint64_t value = token.length == 8 ? token.as_u64() : 0;
    const uint32_t slot = static_cast<uint32_t>(value & 0xffffffffu);
    const bool matches = token.length == 8 && slot < pending_.size() && pending_[slot].used &&
                         token_of(slot, pending_[slot].generation) == value;
    if (!matches) {
      if (token.length == 8) {
        auto walk = walk_observations_.find(value);
        if (walk != walk_observations_.end()) {
          walk_notification(peer, m, walk);
          return;
        }
        auto campaign = campaign_observations_.find(value);
        if (campaign != campaign_observations_.end()) {
          firmware_notification(peer, m, campaign->second, t);
          return;
        }
        if (cancel_firmware_observation(peer, m, value)) {
          return;
        }
      }
      const auto observation = token.length == 8 ? observations_.find(value) : observations_.end();
      const bool known = observation != observations_.end();
      if (known) {
        heard_from(observation->second, t);
      }
      if (m.type() == CoapType::kCon) {
        send_to(peer,
                coap_write_empty(ack, known ? CoapType::kAck : CoapType::kRst, m.message_id()));
      }
      if (known) {
        stats_.notifications.add();
      } else {
        stats_.unknown_notifications.add();
        if (m.type() == CoapType::kNon) {
          send_to(peer, coap_write_empty(ack, CoapType::kRst, m.message_id()));
        }
      }
      return;
    }
    if (m.type() == CoapType::kCon) {
      send_to(peer, coap_write_empty(ack, CoapType::kAck, m.message_id()));
    }
    Pending& p = pending_[slot];
    heard_from(p.registration, t);
    if (p.kind == Kind::kExercise) {
      exercise_answer(slot, m, value, t);
      return;
    }
    if (p.kind == Kind::kFirmware) {
      firmware_answer(slot, m, value, t);
      return;
    }
    if (p.kind == Kind::kBootstrap) {
      bootstrap_answer(slot, m, t);
      return;
    }
    const bool success = coap_code_class(m.code()) == 2;
    if (p.kind == Kind::kAttributes) {
      const uint32_t registration = p.registration;
      const Endpoint4 to = p.peer;
      release(slot);
      if (success) {
        start_request(Kind::kObserve, registration, to, 0, t);
      } else {
        stats_.observes_error.add();
      }
      return;
    }
    if (p.kind == Kind::kRead) {
      (success ? stats_.reads_ok : stats_.reads_error).add();
      if (success) {
        stats_.read_latency.record(t - p.due);
      }
    } else if (success && m.find(CoapOption::kObserve) != nullptr) {
      stats_.observes_ok.add();
      stats_.observe_latency.record(t - p.sent);
      observations_[value] = p.registration;
    } else {
      stats_.observes_error.add();
    }
    release(slot);
  }

  void start_walk(uint32_t registration, const Endpoint4& peer, const ExerciseTarget& target,
                  TimeUs t) {
    uint32_t w = 0;
    if (!free_walks_.empty()) {
      w = free_walks_.back();
      free_walks_.pop_back();
    } else {
      w = static_cast<uint32_t>(walks_.size());
      walks_.emplace_back();
    }
    Walk& k = walks_[w];
    const uint32_t serial = k.serial + 1;
    k = Walk{};
    k.serial = serial;
    k.used = true;
    k.registration = registration;
    k.peer = peer;
    k.target = target;
    stats_.exercise_started.add();
    advance_walk(w, t);
  }

  // Sends the walk's current step, skipping those its client cannot take; when none is left the
  // walk waits for its observations to be cancelled.
  void advance_walk(uint32_t w, TimeUs t) {
    Walk& k = walks_[w];
    while (k.step < kExerciseStepCount &&
           !exercise_step_applies(static_cast<ExerciseStep>(k.step), k.target)) {
      stats_.exercise_skipped.add();
      ++k.step;
    }
    if (k.step < kExerciseStepCount) {
      start_request(Kind::kExercise, k.registration, k.peer, 0, t, w);
      return;
    }
    k.waiting_since = t;
    finish_walk_if_done(w);
  }

  void next_step(uint32_t slot, TimeUs t) {
    const uint32_t w = pending_[slot].index;
    release(slot);
    walks_[w].pending = kNoSlot;
    ++walks_[w].step;
    advance_walk(w, t);
  }

  void exercise_answer(uint32_t slot, const CoapMessage& m, uint64_t token, TimeUs t) {
    Walk& k = walks_[pending_[slot].index];
    const auto step = static_cast<ExerciseStep>(k.step);
    const std::string problem = check_exercise_response(step, k.target, m, registry_);
    if (!problem.empty()) {
      exercise_failed(slot, problem, t);
      return;
    }
    stats_.exercise_ok[k.step].add();
    if (step == ExerciseStep::kObserve || step == ExerciseStep::kObserveComposite) {
      k.observations[step == ExerciseStep::kObserve ? 0 : 1] = token;
      walk_observations_[token] = pending_[slot].index;
    }
    next_step(slot, t);
  }

  void exercise_failed(uint32_t slot, std::string_view problem, TimeUs t) {
    const Walk& k = walks_[pending_[slot].index];
    stats_.exercise_unexpected[k.step].add();
    log_unexpected(k, static_cast<ExerciseStep>(k.step), problem);
    next_step(slot, t);
  }

  void log_unexpected(const Walk& k, ExerciseStep step, std::string_view problem) {
    if (log_lines_.load(std::memory_order_relaxed) >= kMaxExerciseLogLines ||
        log_lines_.fetch_add(1, std::memory_order_relaxed) >= kMaxExerciseLogLines) {
      return;
    }
    std::string endpoint = directory_.endpoint_of(k.registration);
    if (endpoint.empty()) {
      endpoint = "rd/" + std::to_string(k.registration);
    }
    std::fprintf(stderr, "exercise: %s %.*s: expected %s, %.*s\n", endpoint.c_str(),
                 static_cast<int>(to_string(step).size()), to_string(step).data(),
                 coap_code_text(expected_code(step)).c_str(), static_cast<int>(problem.size()),
                 problem.data());
  }

  // A notification for a walk's observation: ACKed (when CON) until the walk is past
  // observe_composite and has seen two for it; the next one is answered with RST, which ends the
  // observation on the client (RFC 7641 section 3.6).
  void walk_notification(const Endpoint4& peer, const CoapMessage& m,
                         std::unordered_map<uint64_t, uint32_t>::iterator it) {
    stats_.notifications.add();
    const uint32_t w = it->second;
    Walk& k = walks_[w];
    heard_from(k.registration, now());
    const size_t i = k.observations[0] == it->first ? 0 : 1;
    std::array<uint8_t, 4> reply;
    const bool cancel =
        k.step > static_cast<uint8_t>(ExerciseStep::kObserveComposite) && k.notified[i] >= 2;
    if (!cancel) {
      k.notified[i] = static_cast<uint8_t>(std::min(255, k.notified[i] + 1));
      if (m.type() == CoapType::kCon) {
        send_to(peer, coap_write_empty(reply, CoapType::kAck, m.message_id()));
      }
      return;
    }
    send_to(peer, coap_write_empty(reply, CoapType::kRst, m.message_id()));
    walk_observations_.erase(it);
    k.observations[i] = 0;
    stats_.observations_cancelled.add();
    finish_walk_if_done(w);
  }

  void finish_walk_if_done(uint32_t w) {
    const Walk& k = walks_[w];
    if (k.step < kExerciseStepCount || k.observations[0] != 0 || k.observations[1] != 0) {
      return;
    }
    stats_.exercise_completed.add();
    free_walk(w);
  }

  void free_walk(uint32_t w) {
    walks_[w].used = false;
    free_walks_.push_back(w);
  }

  // Once a second: walks whose registration went away (De-register, expiry, a new Register) or
  // whose observations stopped notifying are dropped.
  void sweep_walks(TimeUs t) {
    for (uint32_t w = 0; w < walks_.size(); ++w) {
      Walk& k = walks_[w];
      if (!k.used) {
        continue;
      }
      Endpoint4 address;
      const bool stalled = k.step >= kExerciseStepCount && t - k.waiting_since > kObservationWaitUs;
      if (!stalled && directory_.lookup(k.registration, &address)) {
        continue;
      }
      abandon_walk(w);
    }
  }

  void abandon_walk(uint32_t w) {
    Walk& k = walks_[w];
    if (k.pending != kNoSlot) {
      release(k.pending);
      k.pending = kNoSlot;
    }
    for (uint64_t token : k.observations) {
      if (token != 0) {
        walk_observations_.erase(token);
      }
    }
    stats_.exercise_abandoned.add();
    free_walk(w);
  }

  // GET /fw/<version>: the package, block-wise. Blocks stay out of the duplicate cache: one is
  // cheap to cut again, and a retransmitted GET gets the same bytes.
  void respond_firmware(const Endpoint4& peer, const CoapMessage& req, std::string_view path) {
    if (!path.starts_with("fw/") || path.substr(3) != config_.firmware_version) {
      stats_.bad_requests.add();
      respond(peer, req, CoapCode::kNotFound, {}, 0, {});
      return;
    }
    if (req.code() != CoapCode::kGet) {
      stats_.bad_requests.add();
      respond(peer, req, CoapCode::kMethodNotAllowed, {}, 0, {});
      return;
    }
    std::array<uint8_t, kCoapMaxMessageSize> buf;
    const uint16_t mid = req.type() == CoapType::kCon ? req.message_id() : next_mid_++;
    const FirmwareBlockAnswer a =
        build_firmware_block(req, mid, config_.firmware_size, firmware_etag_, buf);
    if (a.message.empty()) {
      return;
    }
    if (a.code == CoapCode::kContent) {
      stats_.firmware_blocks.add();
      if (a.num == 0) {
        stats_.firmware_downloads.add();
      }
    } else {
      stats_.bad_requests.add();
    }
    send_to(peer, a.message);
  }

  void start_campaign(uint32_t registration, std::string_view endpoint, FirmwareStep step,
                      TimeUs started, TimeUs t) {
    uint32_t c = 0;
    if (!free_campaigns_.empty()) {
      c = free_campaigns_.back();
      free_campaigns_.pop_back();
    } else {
      c = static_cast<uint32_t>(campaigns_.size());
      campaigns_.emplace_back();
    }
    Campaign& k = campaigns_[c];
    const uint32_t serial = k.serial + 1;
    k = Campaign{};
    k.serial = serial;
    k.used = true;
    k.endpoint.assign(endpoint);
    k.registration = registration;
    k.started = started;
    k.progressed = t;
    campaign_step(c, step, t);
  }

  // Sends the campaign's request for `step` to the registration's current address.
  void campaign_step(uint32_t c, FirmwareStep step, TimeUs t) {
    Campaign& k = campaigns_[c];
    k.step = step;
    Endpoint4 address;
    if (!directory_.lookup(k.registration, &address)) {
      abandon_campaign(c);
      return;
    }
    if (step == FirmwareStep::kExecute) {
      // From here the client's next Register, on whichever thread, continues the campaign.
      k.executed_at = t;
      rollout_.executing(k.endpoint, k.started, t);
    }
    start_request(Kind::kFirmware, k.registration, address, 0, t, c);
  }

  void firmware_answer(uint32_t slot, const CoapMessage& m, uint64_t token, TimeUs t) {
    const uint32_t c = pending_[slot].index;
    release(slot);
    Campaign& k = campaigns_[c];
    k.pending = kNoSlot;
    k.progressed = t;
    int64_t state = 0;
    const std::string problem =
        check_firmware_response(k.step, m, config_.firmware_version, &state);
    if (!problem.empty()) {
      campaign_failed(c, problem);
      return;
    }
    switch (k.step) {
      case FirmwareStep::kObserveState:
        k.observation = token;
        campaign_observations_[token] = c;
        campaign_step(c, FirmwareStep::kWriteUri, t);
        return;
      case FirmwareStep::kWriteUri:
        k.downloading = true;
        if (k.downloaded) {
          campaign_step(c, FirmwareStep::kExecute, t);
        } else {
          k.step = FirmwareStep::kDownload;
        }
        return;
      case FirmwareStep::kExecute:
        stats_.firmware_executed.add();
        executed_.push_back({k.endpoint, k.executed_at});
        end_campaign(c);
        return;
      case FirmwareStep::kReadResult:
        k.result_at = t;
        campaign_step(c, FirmwareStep::kReadVersion, t);
        return;
      case FirmwareStep::kReadVersion:
        stats_.firmware_succeeded.add();
        stats_.firmware_duration.record(k.result_at - k.started);
        rollout_.end(k.endpoint);
        end_campaign(c);
        return;
      case FirmwareStep::kDownload:
        return;
    }
  }

  // A notification of a campaign's State: 1 and 2 move the download on, 0 after the URI went in
  // means it failed; once the Execute is out they are only acknowledged.
  void firmware_notification(const Endpoint4& peer, const CoapMessage& m, uint32_t c, TimeUs t) {
    stats_.notifications.add();
    Campaign& k = campaigns_[c];
    heard_from(k.registration, t);
    k.progressed = t;
    if (m.type() == CoapType::kCon) {
      std::array<uint8_t, 4> reply;
      send_to(peer, coap_write_empty(reply, CoapType::kAck, m.message_id()));
    }
    if (k.step > FirmwareStep::kDownload) {
      return;
    }
    if (m.code() != CoapCode::kContent) {
      // An error code ends the observation (RFC 7641 section 4.2).
      campaign_failed(c, "got a " + coap_code_text(m.code()) + " notification");
      return;
    }
    int64_t state = 0;
    if (!parse_text_integer(m.payload(), &state)) {
      return;
    }
    if (state == firmware::kDownloading) {
      k.downloading = true;
    } else if (state == firmware::kDownloaded) {
      if (!k.downloaded) {
        k.downloaded = true;
        stats_.firmware_downloaded.add();
      }
      if (k.step == FirmwareStep::kDownload) {
        campaign_step(c, FirmwareStep::kExecute, t);
      }
    } else if (state == firmware::kIdle && k.downloading) {
      campaign_failed(c, "got State 0: the download failed");
    }
  }

  // A notification of an ended campaign's observation: RST ends it on the client (RFC 7641
  // section 3.6).
  bool cancel_firmware_observation(const Endpoint4& peer, const CoapMessage& m, uint64_t token) {
    auto it = cancelled_observations_.find(token);
    if (it == cancelled_observations_.end()) {
      return false;
    }
    std::array<uint8_t, 4> reply;
    send_to(peer, coap_write_empty(reply, CoapType::kRst, m.message_id()));
    cancelled_observations_.erase(it);
    stats_.observations_cancelled.add();
    return true;
  }

  // A step's request got an unexpected answer, RST or no answer.
  void firmware_failed(uint32_t slot, std::string_view problem) {
    const uint32_t c = pending_[slot].index;
    release(slot);
    campaigns_[c].pending = kNoSlot;
    campaign_failed(c, problem);
  }

  void campaign_failed(uint32_t c, std::string_view problem) {
    Campaign& k = campaigns_[c];
    if (k.step == FirmwareStep::kExecute) {
      if (!rollout_.cancel_executing(k.endpoint, k.executed_at)) {
        // The client registered again before the Execute's answer came: the campaign goes on
        // with that registration.
        end_campaign(c);
        return;
      }
    } else {
      rollout_.end(k.endpoint);
    }
    stats_.firmware_failed.add();
    stats_.firmware_failed_at[static_cast<size_t>(k.step)].add();
    log_firmware(k, problem);
    end_campaign(c);
  }

  void abandon_campaign(uint32_t c) {
    Campaign& k = campaigns_[c];
    if (k.step == FirmwareStep::kExecute) {
      if (!rollout_.cancel_executing(k.endpoint, k.executed_at)) {
        end_campaign(c);
        return;
      }
    } else {
      rollout_.end(k.endpoint);
    }
    stats_.firmware_abandoned.add();
    end_campaign(c);
  }

  // Frees the campaign's slot; its observation is cancelled at its next notification.
  void end_campaign(uint32_t c) {
    Campaign& k = campaigns_[c];
    if (k.pending != kNoSlot) {
      release(k.pending);
      k.pending = kNoSlot;
    }
    if (k.observation != 0) {
      campaign_observations_.erase(k.observation);
      cancelled_observations_[k.observation] = now();
      k.observation = 0;
    }
    k.used = false;
    k.endpoint = std::string();
    free_campaigns_.push_back(c);
  }

  void log_firmware(const Campaign& k, std::string_view problem) {
    if (log_lines_.load(std::memory_order_relaxed) >= kMaxExerciseLogLines ||
        log_lines_.fetch_add(1, std::memory_order_relaxed) >= kMaxExerciseLogLines) {
      return;
    }
    const std::string_view step = to_string(k.step);
    std::fprintf(stderr, "firmware: %s %.*s: %.*s\n", k.endpoint.c_str(),
                 static_cast<int>(step.size()), step.data(), static_cast<int>(problem.size()),
                 problem.data());
  }

  // Once a second: campaigns whose registration went away before the Execute, or that made no
  // progress for kFirmwareStallUs, are abandoned, as are Executes whose client never registered
  // again; observations of ended campaigns that stopped notifying are forgotten.
  void sweep_campaigns(TimeUs t) {
    for (uint32_t c = 0; c < campaigns_.size(); ++c) {
      const Campaign& k = campaigns_[c];
      if (!k.used) {
        continue;
      }
      Endpoint4 address;
      const bool stalled = t - k.progressed > kFirmwareStallUs;
      // Once the Execute is out the old registration may give way to the new one at any time.
      if (!stalled &&
          (k.step == FirmwareStep::kExecute || directory_.lookup(k.registration, &address))) {
        continue;
      }
      abandon_campaign(c);
    }
    while (!executed_.empty() && t - executed_.front().executed_at > kFirmwareStallUs) {
      if (rollout_.cancel_executing(executed_.front().endpoint, executed_.front().executed_at)) {
        stats_.firmware_abandoned.add();
      }
      executed_.pop_front();
    }
    std::erase_if(cancelled_observations_,
                  [t](const auto& entry) { return t - entry.second > kObservationWaitUs; });
  }

  // POST /bs?ep=NAME: 2.04, then the flow's first step. A new request from an endpoint whose flow
  // runs starts it over.
  void handle_bootstrap_request(const Endpoint4& peer, const CoapMessage& req, TimeUs t) {
    const std::string_view endpoint = bootstrap_request_endpoint(req);
    if (endpoint.empty()) {
      stats_.bad_requests.add();
      respond(peer, req, CoapCode::kBadRequest, {}, 0, {});
      return;
    }
    stats_.bootstrap_requests.add();
    respond(peer, req, CoapCode::kChanged, {}, 0, {});
    auto it = flow_of_.find(std::string(endpoint));
    if (it != flow_of_.end()) {
      stats_.bootstrap_restarted.add();
      end_flow(it->second);
    }
    uint32_t f = 0;
    if (!free_flows_.empty()) {
      f = free_flows_.back();
      free_flows_.pop_back();
    } else {
      f = static_cast<uint32_t>(flows_.size());
      flows_.emplace_back();
    }
    BootstrapFlow& k = flows_[f];
    k = BootstrapFlow{};
    k.used = true;
    k.endpoint.assign(endpoint);
    k.peer = peer;
    k.started = t;
    flow_of_[k.endpoint] = f;
    // Not through start_request: a bootstrapping client has no registration to sleep on.
    send_request(Kind::kBootstrap, kNoSlot, peer, 0, t, f);
  }

  void bootstrap_answer(uint32_t slot, const CoapMessage& m, TimeUs t) {
    const uint32_t f = pending_[slot].index;
    BootstrapFlow& k = flows_[f];
    std::string problem;
    const BootstrapVerdict verdict = check_bootstrap_response(k.step, m, &problem);
    if (verdict == BootstrapVerdict::kFailed) {
      bootstrap_step_failed(slot, problem);
      return;
    }
    release(slot);
    k.pending = kNoSlot;
    if (verdict == BootstrapVerdict::kUnsupported) {
      stats_.bootstrap_read_unsupported.add();
    } else if (k.step == BootstrapStep::kDiscover) {
      stats_.bootstrap_discover_ok.add();
    }
    if (k.step == BootstrapStep::kFinish) {
      stats_.bootstrap_finished.add();
      stats_.bootstrap_time.record(t - k.started);
      end_flow(f);
      return;
    }
    k.step = static_cast<BootstrapStep>(static_cast<uint8_t>(k.step) + 1);
    send_request(Kind::kBootstrap, kNoSlot, k.peer, 0, t, f);
  }

  // A step's request got an unexpected answer, RST or no answer: the flow ends.
  void bootstrap_step_failed(uint32_t slot, std::string_view problem) {
    const uint32_t f = pending_[slot].index;
    const BootstrapFlow& k = flows_[f];
    stats_.bootstrap_failed.add();
    stats_.bootstrap_failed_at[static_cast<size_t>(k.step)].add();
    log_bootstrap(k, problem);
    end_flow(f);
  }

  void end_flow(uint32_t f) {
    BootstrapFlow& k = flows_[f];
    if (k.pending != kNoSlot) {
      release(k.pending);
      k.pending = kNoSlot;
    }
    flow_of_.erase(k.endpoint);
    k.used = false;
    k.endpoint = std::string();
    free_flows_.push_back(f);
  }

  void log_bootstrap(const BootstrapFlow& k, std::string_view problem) {
    if (log_lines_.load(std::memory_order_relaxed) >= kMaxExerciseLogLines ||
        log_lines_.fetch_add(1, std::memory_order_relaxed) >= kMaxExerciseLogLines) {
      return;
    }
    const std::string_view step = to_string(k.step);
    std::fprintf(stderr, "bootstrap: %s %.*s: %.*s\n", k.endpoint.c_str(),
                 static_cast<int>(step.size()), step.data(), static_cast<int>(problem.size()),
                 problem.data());
  }

  const ServerConfig& config_;
  const ObjectRegistry& registry_;
  Directory& directory_;
  FirmwareRollout& rollout_;
  const std::vector<std::unique_ptr<ServerThread>>& peers_;  // every thread, this one included
  uint32_t index_;
  uint32_t count_;
  std::function<std::string()> stats_text_;
  std::atomic<uint32_t>& log_lines_;
  EventLoop loop_;
  UdpTransport transport_;
  TimerWheel wheel_;
  Rng rng_;
  DuplicateCache duplicates_;
  uint16_t next_mid_;
  std::chrono::steady_clock::time_point epoch_;
  std::thread thread_;
  std::vector<Pending> pending_;
  std::vector<uint32_t> free_;
  std::unordered_map<uint16_t, uint32_t> by_mid_;
  std::unordered_map<uint64_t, uint32_t> observations_;  // token -> registration
  std::vector<Walk> walks_;
  std::vector<uint32_t> free_walks_;
  std::unordered_map<uint64_t, uint32_t> walk_observations_;  // observation token -> walk
  SleepQueues queues_;  // queue-mode registrations this thread owns
  std::vector<Campaign> campaigns_;
  std::vector<uint32_t> free_campaigns_;
  std::unordered_map<uint64_t, uint32_t> campaign_observations_;  // State observation -> campaign
  std::unordered_map<uint64_t, TimeUs> cancelled_observations_;   // of ended campaigns -> since
  std::deque<Executed> executed_;                                 // answered Executes, oldest first
  uint32_t firmware_etag_;
  std::string firmware_uri_;
  TokenBucket exercise_bucket_;
  TokenBucket firmware_bucket_;
  std::vector<BootstrapFlow> flows_;
  std::vector<uint32_t> free_flows_;
  std::unordered_map<std::string, uint32_t> flow_of_;  // endpoint -> its flow in flows_
  std::unique_ptr<DtlsScratch> scratch_;               // coaps only
  std::vector<PeerSession> sessions_;
  std::vector<uint32_t> free_sessions_;
  std::unordered_map<uint64_t, uint32_t> session_of_;  // peer key -> sessions_ index
  TimerWheel dtls_timers_;              // handshaking sessions, by sessions_ index; 1 tick = 1 ms
  uint32_t session_cursor_ = 0;         // where sweep_sessions goes on
  uint32_t current_session_ = kNoSlot;  // the session whose CoAP is being handled
  std::vector<std::pair<size_t, size_t>> delivered_;  // offset and length in delivered_bytes_
  std::vector<uint8_t> delivered_bytes_;
  std::string stats_cache_;  // the text block-wise stats answers are cut from
  Endpoint4 stats_cache_peer_;
  TimeUs stats_cache_at_ = 0;
  std::vector<uint32_t> owned_;
  TimeUs next_read_due_ = 0;
  size_t next_outage_ = 0;  // the first outage not begun yet (thread 0)
  TimeUs next_sweep_ = 0;
  uint64_t read_cursor_ = 0;
  ServerStats stats_;
};

Lwm2mServer::Lwm2mServer(ServerConfig config)
    : config_(std::move(config)),
      directory_(std::make_unique<Directory>()),
      rollout_(std::make_unique<FirmwareRollout>()) {
  if (!config_.registry) {
    config_.registry = std::make_shared<const ObjectRegistry>(ObjectRegistry::builtin());
  }
}

Lwm2mServer::~Lwm2mServer() {
  stop();
}

std::string Lwm2mServer::start() {
  const uint32_t n = std::max(1u, config_.threads);
  Endpoint4 bind = config_.listen;
  std::string error;
  auto text = [this] { return snapshot().to_text(); };
  for (uint32_t i = 0; i < n; ++i) {
    threads_.push_back(std::make_unique<ServerThread>(config_, *directory_, *rollout_, threads_, i,
                                                      n, text, exercise_log_lines_));
    if (threads_.back()->open(bind, &error) < 0) {
      threads_.clear();
      return error;
    }
    // The first socket fixes the port; the others join it with SO_REUSEPORT.
    bind = threads_.front()->local_address();
  }
  address_ = threads_.front()->local_address();
  const std::string uri =
      firmware_package_uri(address_, config_.firmware_version, config_.dtls != nullptr);
  const auto epoch = std::chrono::steady_clock::now();
  for (auto& t : threads_) {
    t->start(epoch, uri);
  }
  return {};
}

void Lwm2mServer::stop() {
  for (auto& t : threads_) {
    t->stop();
  }
  for (auto& t : threads_) {
    t->join();
  }
  threads_.clear();
}

uint64_t Lwm2mServer::registered() const {
  return directory_->size();
}

ServerSnapshot Lwm2mServer::snapshot() const {
  ServerSnapshot s;
  s.registered = directory_->size();
  for (const auto& t : threads_) {
    const ServerStats& x = t->stats();
    s.registers += x.registers.value();
    s.reregisters += x.reregisters.value();
    s.register_errors += x.register_errors.value();
    s.updates += x.updates.value();
    s.updates_not_found += x.updates_not_found.value();
    s.deregisters += x.deregisters.value();
    s.deregisters_not_found += x.deregisters_not_found.value();
    s.expired += x.expired.value();
    s.duplicates += x.duplicates.value();
    s.malformed += x.malformed.value();
    s.resets += x.resets.value();
    s.bad_requests += x.bad_requests.value();
    s.reads_sent += x.reads_sent.value();
    s.reads_ok += x.reads_ok.value();
    s.reads_error += x.reads_error.value();
    s.reads_skipped += x.reads_skipped.value();
    s.observes_sent += x.observes_sent.value();
    s.observes_ok += x.observes_ok.value();
    s.observes_error += x.observes_error.value();
    s.notifications += x.notifications.value();
    s.unknown_notifications += x.unknown_notifications.value();
    s.request_timeouts += x.request_timeouts.value();
    s.outage_drops += x.outage_drops.value();
    s.outage_forgotten += x.outage_forgotten.value();
    s.retransmissions += x.retransmissions.value();
    s.datagrams_in += t->transport_stats().datagrams_in.value();
    s.datagrams_out += t->transport_stats().datagrams_out.value();
    for (size_t i = 0; i < kExerciseStepCount; ++i) {
      s.exercise_ok[i] += x.exercise_ok[i].value();
      s.exercise_unexpected[i] += x.exercise_unexpected[i].value();
    }
    s.exercise_started += x.exercise_started.value();
    s.exercise_completed += x.exercise_completed.value();
    s.exercise_skipped += x.exercise_skipped.value();
    s.exercise_abandoned += x.exercise_abandoned.value();
    s.exercise_rate_limited += x.exercise_rate_limited.value();
    s.observations_cancelled += x.observations_cancelled.value();
    s.sends += x.sends.value();
    s.send_records += x.send_records.value();
    s.sends_bad += x.sends_bad.value();
    s.queued += x.queued.value();
    s.queue_flushed += x.queue_flushed.value();
    s.queue_overflow += x.queue_overflow.value();
    s.queue_dropped += x.queue_dropped.value();
    s.queue_wakeups += x.queue_wakeups.value();
    s.firmware_started += x.firmware_started.value();
    s.firmware_rate_limited += x.firmware_rate_limited.value();
    s.firmware_downloads += x.firmware_downloads.value();
    s.firmware_blocks += x.firmware_blocks.value();
    s.firmware_downloaded += x.firmware_downloaded.value();
    s.firmware_executed += x.firmware_executed.value();
    s.firmware_succeeded += x.firmware_succeeded.value();
    s.firmware_failed += x.firmware_failed.value();
    s.firmware_abandoned += x.firmware_abandoned.value();
    for (size_t i = 0; i < kFirmwareStepCount; ++i) {
      s.firmware_failed_at[i] += x.firmware_failed_at[i].value();
    }
    s.dtls_handshakes += x.dtls_handshakes.value();
    s.dtls_resumed += x.dtls_resumed.value();
    s.dtls_failed += x.dtls_failed.value();
    for (size_t i = 0; i < kDtlsFailureCount; ++i) {
      s.dtls_failed_by[i] += x.dtls_failed_by[i].value();
    }
    s.dtls_hello_verify += x.dtls_hello_verify.value();
    s.dtls_sessions += static_cast<uint64_t>(std::max<int64_t>(0, x.dtls_sessions.value()));
    s.dtls_records_dropped += x.dtls_records_dropped.value();
    s.dtls_retransmits += x.dtls_retransmits.value();
    s.dtls_closed += x.dtls_closed.value();
    s.dtls_idle_dropped += x.dtls_idle_dropped.value();
    s.dtls_plain_dropped += x.dtls_plain_dropped.value();
    s.dtls_unsent += x.dtls_unsent.value();
    s.bootstrap_requests += x.bootstrap_requests.value();
    s.bootstrap_finished += x.bootstrap_finished.value();
    s.bootstrap_failed += x.bootstrap_failed.value();
    s.bootstrap_discover_ok += x.bootstrap_discover_ok.value();
    s.bootstrap_read_unsupported += x.bootstrap_read_unsupported.value();
    s.bootstrap_restarted += x.bootstrap_restarted.value();
    for (size_t i = 0; i < kBootstrapStepCount; ++i) {
      s.bootstrap_failed_at[i] += x.bootstrap_failed_at[i].value();
    }
    s.dtls_handshake_time.merge(x.dtls_handshake_time.snapshot());
    s.bootstrap_time.merge(x.bootstrap_time.snapshot());
    s.read_latency.merge(x.read_latency.snapshot());
    s.observe_latency.merge(x.observe_latency.snapshot());
    s.queue_delay.merge(x.queue_delay.snapshot());
    s.firmware_duration.merge(x.firmware_duration.snapshot());
  }
  return s;
}

}  // namespace lwm2msim

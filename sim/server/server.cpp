#include "sim/server/server.h"

#include <algorithm>
#include <array>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <functional>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "sim/coap/coap.h"
#include "sim/coap/duplicate_cache.h"
#include "sim/server/directory.h"
#include "sim/timer/timer_wheel.h"
#include "sim/transport/udp_transport.h"

namespace lwm2msim {
namespace {

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
  if (exercise_started > 0) {
    for (size_t i = 0; i < kExerciseStepCount; ++i) {
      const std::string name(to_string(static_cast<ExerciseStep>(i)));
      line("exercise_" + name + "_ok", exercise_ok[i]);
      line("exercise_" + name + "_unexpected", exercise_unexpected[i]);
    }
  }
  return s;
}

class ServerThread final : public DatagramHandler {
 public:
  ServerThread(const ServerConfig& config, Directory& directory, uint32_t index, uint32_t count,
               std::function<std::string()> stats_text, std::atomic<uint32_t>& log_lines)
      : config_(config),
        registry_(*config.registry),
        directory_(directory),
        index_(index),
        count_(count),
        stats_text_(std::move(stats_text)),
        log_lines_(log_lines),
        tick_timer_(io_),
        transport_(io_, *this),
        rng_(mix_seed(config.seed, 0x5e7e7 + index)),
        duplicates_(262144, 262144 * 96, config.coap.exchange_lifetime()),
        next_mid_(static_cast<uint16_t>(rng_.next())) {}

  ~ServerThread() override { join(); }

  int open(const Endpoint4& bind, std::string* error) {
    return transport_.open(bind, false, true, error);
  }
  Endpoint4 local_address() const { return transport_.local_address(0); }

  void start(std::chrono::steady_clock::time_point epoch) {
    epoch_ = epoch;
    thread_ = std::thread([this] {
      transport_.start();
      arm_tick();
      io_.run();
    });
  }

  void stop() {
    asio::post(io_, [this] {
      transport_.close();
      tick_timer_.cancel();
      io_.stop();
    });
  }

  void join() {
    if (thread_.joinable()) {
      thread_.join();
    }
  }

  const ServerStats& stats() const { return stats_; }
  const TransportStats& transport_stats() const { return transport_.stats(); }

  void on_datagram(const ReceivedDatagram& d) override {
    CoapMessage m;
    if (m.parse(d.data) != CoapParseError::kOk) {
      stats_.malformed.add();
      return;
    }
    if (m.is_request()) {
      handle_request(d.peer, m);
    } else {
      handle_response(d.peer, m);
    }
  }

 private:
  // kAttributes: the Write-Attributes that precedes an Observe when observe_attributes is set.
  enum class Kind : uint8_t { kRead, kObserve, kAttributes, kExercise };
  struct Pending {
    uint32_t generation = 0;
    uint32_t registration = 0;
    uint32_t walk = 0;  // index into walks_ (exercise)
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
    uint8_t step = 0;
    bool used = false;
  };

  TimeUs now() const {
    return static_cast<TimeUs>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now() - epoch_)
                                   .count());
  }

  void arm_tick() {
    tick_timer_.expires_after(std::chrono::microseconds(kTickUs));
    tick_timer_.async_wait([this](const asio::error_code& ec) {
      if (ec) {
        return;
      }
      on_tick();
      arm_tick();
    });
  }

  void on_tick() {
    const TimeUs t = now();
    wheel_.advance(t / 1000, [this](uint32_t slot, uint64_t) { on_request_timer(slot); });
    drive_reads(t);
    if (t >= next_sweep_) {
      next_sweep_ = t + kExpirySweepUs;
      for (uint32_t s = index_; s < Directory::kShards; s += count_) {
        stats_.expired.add(directory_.expire(s, t));
      }
      sweep_walks(t);
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
    transport_.send(0, 0, peer, msg);
  }

  void handle_request(const Endpoint4& peer, const CoapMessage& req) {
    const TimeUs t = now();
    if (req.type() == CoapType::kCon) {
      const auto cached = duplicates_.find(peer.key(), req.message_id(), t);
      if (!cached.empty()) {
        stats_.duplicates.add();
        transport_.send(0, 0, peer, cached);
        return;
      }
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
      handle_register(peer, req, t);
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
    const auto payload = req.payload();
    e.links.assign(reinterpret_cast<const char*>(payload.data()), payload.size());
    bool replaced = false;
    const uint32_t id = directory_.add(endpoint, e, &replaced);
    (replaced ? stats_.reregisters : stats_.registers).add();
    char location[24];
    auto [end, ec] = std::to_chars(location + 3, location + sizeof location, id);
    std::copy_n("rd/", 3, location);
    respond(peer, req, CoapCode::kCreated,
            std::string_view(location, static_cast<size_t>(end - location)), 0, {});
    owned_.push_back(id);
    if (config_.observe_fraction > 0 && rng_.uniform() < config_.observe_fraction) {
      start_request(config_.observe_attributes.empty() ? Kind::kObserve : Kind::kAttributes, id,
                    peer, 0, t);
    }
    if (config_.exercise_fraction > 0 && rng_.uniform() < config_.exercise_fraction) {
      if (take_exercise_token(t)) {
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
    transport_.send(0, 0, peer, msg);
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
    if (!directory_.update(id, peer, lifetime, t, config_.expiry_grace)) {
      stats_.updates_not_found.add();
      respond(peer, req, CoapCode::kNotFound, {}, 0, {});
      return;
    }
    stats_.updates.add();
    respond(peer, req, CoapCode::kChanged, {}, 0, {});
  }

  void drive_reads(TimeUs t) {
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
      if (sent++ >= kMaxReadsPerTick) {
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

  void start_request(Kind kind, uint32_t registration, const Endpoint4& peer, uint16_t path,
                     TimeUs due, uint32_t walk = 0) {
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
    p.walk = walk;
    p.due = due;
    p.sent = now();
    p.mid = next_mid_++;
    p.retransmits = 0;
    p.awaiting_separate = false;
    p.timeout = static_cast<uint32_t>(config_.coap.initial_timeout(rng_));
    by_mid_[p.mid] = slot;
    if (kind == Kind::kExercise) {
      walks_[walk].pending = slot;
    } else if (kind != Kind::kAttributes) {
      (kind == Kind::kRead ? stats_.reads_sent : stats_.observes_sent).add();
    }
    if (!transmit(slot)) {
      exercise_failed(slot, "could not build the request", p.sent);
      return;
    }
    wheel_.schedule(slot, (p.sent + p.timeout) / 1000);
  }

  static uint64_t token_of(uint32_t slot, uint32_t generation) {
    return (uint64_t{generation} << 32) | slot;
  }

  // False when the request cannot be built (exercise steps only).
  bool transmit(uint32_t slot) {
    const Pending& p = pending_[slot];
    if (p.kind == Kind::kExercise) {
      const Walk& k = walks_[p.walk];
      std::array<uint8_t, kCoapMaxMessageSize> buf;
      const auto msg =
          build_exercise_request(static_cast<ExerciseStep>(k.step), k.target, registry_, p.mid,
                                 CoapToken::from_u64(token_of(slot, p.generation), 8), buf);
      if (msg.empty()) {
        return false;
      }
      transport_.send(0, 0, p.peer, msg);
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
      transport_.send(0, 0, p.peer, w.finish());
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
    if (p.awaiting_separate || p.retransmits >= config_.coap.max_retransmit) {
      stats_.request_timeouts.add();
      if (p.kind == Kind::kExercise) {
        exercise_failed(slot, "got no answer", now());
      } else {
        release(slot);
      }
      return;
    }
    ++p.retransmits;
    p.timeout *= 2;
    stats_.retransmissions.add();
    transmit(slot);
    wheel_.schedule(slot, (now() + p.timeout) / 1000);
  }

  void handle_response(const Endpoint4& peer, const CoapMessage& m) {
    const TimeUs t = now();
    if (m.is_empty()) {
      auto it = by_mid_.find(m.message_id());
      if (it == by_mid_.end()) {
        return;
      }
      Pending& p = pending_[it->second];
      if (m.type() == CoapType::kRst) {
        if (p.kind == Kind::kExercise) {
          exercise_failed(it->second, "got RST", t);
        } else {
          (p.kind == Kind::kRead ? stats_.reads_error : stats_.observes_error).add();
          release(it->second);
        }
      } else if (m.type() == CoapType::kAck) {
        p.awaiting_separate = true;
        wheel_.schedule(it->second, (t + 30 * kUsPerSec) / 1000);
      }
      return;
    }
    std::array<uint8_t, 4> ack;
    const CoapToken token = m.token_value();
    const uint64_t value = token.length == 8 ? token.as_u64() : 0;
    const uint32_t slot = static_cast<uint32_t>(value & 0xffffffffu);
    const bool matches = token.length == 8 && slot < pending_.size() && pending_[slot].used &&
                         pending_[slot].generation == (value >> 32);
    if (!matches) {
      if (token.length == 8) {
        auto walk = walk_observations_.find(value);
        if (walk != walk_observations_.end()) {
          walk_notification(peer, m, walk);
          return;
        }
      }
      const bool known = token.length == 8 && observations_.contains(value);
      if (m.type() == CoapType::kCon) {
        transport_.send(
            0, 0, peer,
            coap_write_empty(ack, known ? CoapType::kAck : CoapType::kRst, m.message_id()));
      }
      if (known) {
        stats_.notifications.add();
      } else {
        stats_.unknown_notifications.add();
        if (m.type() == CoapType::kNon) {
          transport_.send(0, 0, peer, coap_write_empty(ack, CoapType::kRst, m.message_id()));
        }
      }
      return;
    }
    if (m.type() == CoapType::kCon) {
      transport_.send(0, 0, peer, coap_write_empty(ack, CoapType::kAck, m.message_id()));
    }
    Pending& p = pending_[slot];
    if (p.kind == Kind::kExercise) {
      exercise_answer(slot, m, value, t);
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
      observations_.insert(value);
    } else {
      stats_.observes_error.add();
    }
    release(slot);
  }

  // Walks are paced per thread: a bucket holding a tenth of a second of this thread's share.
  bool take_exercise_token(TimeUs t) {
    if (config_.exercise_rate <= 0) {
      return true;
    }
    const double rate = config_.exercise_rate / count_;
    const double cap = std::max(1.0, rate / 10);
    exercise_tokens_ =
        std::min(cap, exercise_tokens_ + static_cast<double>(t - exercise_refilled_) * rate / 1e6);
    exercise_refilled_ = t;
    if (exercise_tokens_ < 1) {
      return false;
    }
    exercise_tokens_ -= 1;
    return true;
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
    k = Walk{};
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
    const uint32_t w = pending_[slot].walk;
    release(slot);
    walks_[w].pending = kNoSlot;
    ++walks_[w].step;
    advance_walk(w, t);
  }

  void exercise_answer(uint32_t slot, const CoapMessage& m, uint64_t token, TimeUs t) {
    Walk& k = walks_[pending_[slot].walk];
    const auto step = static_cast<ExerciseStep>(k.step);
    const std::string problem = check_exercise_response(step, k.target, m, registry_);
    if (!problem.empty()) {
      exercise_failed(slot, problem, t);
      return;
    }
    stats_.exercise_ok[k.step].add();
    if (step == ExerciseStep::kObserve || step == ExerciseStep::kObserveComposite) {
      k.observations[step == ExerciseStep::kObserve ? 0 : 1] = token;
      walk_observations_[token] = pending_[slot].walk;
    }
    next_step(slot, t);
  }

  void exercise_failed(uint32_t slot, std::string_view problem, TimeUs t) {
    const Walk& k = walks_[pending_[slot].walk];
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
    const size_t i = k.observations[0] == it->first ? 0 : 1;
    std::array<uint8_t, 4> reply;
    const bool cancel =
        k.step > static_cast<uint8_t>(ExerciseStep::kObserveComposite) && k.notified[i] >= 2;
    if (!cancel) {
      k.notified[i] = static_cast<uint8_t>(std::min(255, k.notified[i] + 1));
      if (m.type() == CoapType::kCon) {
        transport_.send(0, 0, peer, coap_write_empty(reply, CoapType::kAck, m.message_id()));
      }
      return;
    }
    transport_.send(0, 0, peer, coap_write_empty(reply, CoapType::kRst, m.message_id()));
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
      if (k.pending != kNoSlot) {
        release(k.pending);
      }
      for (uint64_t token : k.observations) {
        if (token != 0) {
          walk_observations_.erase(token);
        }
      }
      stats_.exercise_abandoned.add();
      free_walk(w);
    }
  }

  const ServerConfig& config_;
  const ObjectRegistry& registry_;
  Directory& directory_;
  uint32_t index_;
  uint32_t count_;
  std::function<std::string()> stats_text_;
  std::atomic<uint32_t>& log_lines_;
  asio::io_context io_;
  asio::steady_timer tick_timer_;
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
  std::unordered_set<uint64_t> observations_;
  std::vector<Walk> walks_;
  std::vector<uint32_t> free_walks_;
  std::unordered_map<uint64_t, uint32_t> walk_observations_;  // observation token -> walk
  double exercise_tokens_ = 0;
  TimeUs exercise_refilled_ = 0;
  std::string stats_cache_;  // the text block-wise stats answers are cut from
  Endpoint4 stats_cache_peer_;
  TimeUs stats_cache_at_ = 0;
  std::vector<uint32_t> owned_;
  TimeUs next_read_due_ = 0;
  TimeUs next_sweep_ = 0;
  uint64_t read_cursor_ = 0;
  ServerStats stats_;
};

Lwm2mServer::Lwm2mServer(ServerConfig config)
    : config_(std::move(config)), directory_(std::make_unique<Directory>()) {
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
    threads_.push_back(
        std::make_unique<ServerThread>(config_, *directory_, i, n, text, exercise_log_lines_));
    if (threads_.back()->open(bind, &error) < 0) {
      threads_.clear();
      return error;
    }
    // The first socket fixes the port; the others join it with SO_REUSEPORT.
    bind = threads_.front()->local_address();
  }
  address_ = threads_.front()->local_address();
  const auto epoch = std::chrono::steady_clock::now();
  for (auto& t : threads_) {
    t->start(epoch);
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
    s.read_latency.merge(x.read_latency.snapshot());
    s.observe_latency.merge(x.observe_latency.snapshot());
  }
  return s;
}

}  // namespace lwm2msim

#include "sim/server/server.h"

#include <algorithm>
#include <array>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <charconv>
#include <chrono>
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

std::span<const uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
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
  line("reads_sent", reads_sent);
  line("reads_ok", reads_ok);
  line("reads_error", reads_error);
  line("observes_sent", observes_sent);
  line("observes_ok", observes_ok);
  line("notifications", notifications);
  line("request_timeouts", request_timeouts);
  return s;
}

class ServerThread final : public DatagramHandler {
 public:
  ServerThread(const ServerConfig& config, Directory& directory, uint32_t index, uint32_t count,
               std::function<std::string()> stats_text)
      : config_(config),
        directory_(directory),
        index_(index),
        count_(count),
        stats_text_(std::move(stats_text)),
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
  enum class Kind : uint8_t { kRead, kObserve };
  struct Pending {
    uint32_t generation = 0;
    uint32_t registration = 0;
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
    if (path == "sim/stats" && req.code() == CoapCode::kGet) {
      const std::string text = stats_text_();
      respond(peer, req, CoapCode::kContent, {}, CoapContentFormat::kTextPlain, bytes_of(text));
      return;
    }
    stats_.bad_requests.add();
    respond(peer, req, CoapCode::kNotFound, {}, 0, {});
  }

  void handle_register(const Endpoint4& peer, const CoapMessage& req, TimeUs t) {
    std::string_view endpoint;
    uint32_t lifetime = kDefaultLifetime;
    for (const CoapOptionView& o : req.options()) {
      if (o.number != CoapOption::kUriQuery) {
        continue;
      }
      const std::string_view q = o.as_string();
      if (q.starts_with("ep=")) {
        endpoint = q.substr(3);
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
      start_request(Kind::kObserve, id, peer, 0, t);
    }
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
                     TimeUs due) {
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
    p.due = due;
    p.sent = now();
    p.mid = next_mid_++;
    p.retransmits = 0;
    p.awaiting_separate = false;
    p.timeout = static_cast<uint32_t>(config_.coap.initial_timeout(rng_));
    by_mid_[p.mid] = slot;
    (kind == Kind::kRead ? stats_.reads_sent : stats_.observes_sent).add();
    transmit(slot);
    wheel_.schedule(slot, (p.sent + p.timeout) / 1000);
  }

  static uint64_t token_of(uint32_t slot, uint32_t generation) {
    return (uint64_t{generation} << 32) | slot;
  }

  void transmit(uint32_t slot) {
    const Pending& p = pending_[slot];
    const Lwm2mPath& path =
        p.kind == Kind::kRead ? config_.read_paths[p.path] : config_.observe_path;
    std::array<uint8_t, 128> buf;
    const CoapToken token = CoapToken::from_u64(token_of(slot, p.generation), 8);
    CoapWriter w(buf);
    w.header(CoapType::kCon, CoapCode::kGet, p.mid, token.view());
    if (p.kind == Kind::kObserve) {
      w.option_uint(CoapOption::kObserve, 0);
    }
    const uint32_t ids[] = {path.object, path.instance, path.resource, path.resource_instance};
    for (int i = 0; i < path.depth(); ++i) {
      char digits[12];
      auto [end, ec] = std::to_chars(digits, digits + sizeof digits, ids[i]);
      w.option(CoapOption::kUriPath, std::string_view(digits, static_cast<size_t>(end - digits)));
    }
    w.option_uint(CoapOption::kAccept, CoapContentFormat::kTextPlain);
    if (w.ok()) {
      transport_.send(0, 0, p.peer, w.finish());
    }
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
      release(slot);
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
        (p.kind == Kind::kRead ? stats_.reads_error : stats_.observes_error).add();
        release(it->second);
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
    if (m.type() == CoapType::kCon) {
      const bool known = matches || observations_.contains(value);
      transport_.send(
          0, 0, peer,
          coap_write_empty(ack, known ? CoapType::kAck : CoapType::kRst, m.message_id()));
    }
    if (!matches) {
      if (token.length == 8 && observations_.contains(value)) {
        stats_.notifications.add();
      } else {
        stats_.unknown_notifications.add();
        if (m.type() == CoapType::kNon) {
          transport_.send(0, 0, peer, coap_write_empty(ack, CoapType::kRst, m.message_id()));
        }
      }
      return;
    }
    Pending& p = pending_[slot];
    const bool success = coap_code_class(m.code()) == 2;
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

  const ServerConfig& config_;
  Directory& directory_;
  uint32_t index_;
  uint32_t count_;
  std::function<std::string()> stats_text_;
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
  std::vector<uint32_t> owned_;
  TimeUs next_read_due_ = 0;
  TimeUs next_sweep_ = 0;
  uint64_t read_cursor_ = 0;
  ServerStats stats_;
};

Lwm2mServer::Lwm2mServer(ServerConfig config)
    : config_(std::move(config)), directory_(std::make_unique<Directory>()) {}

Lwm2mServer::~Lwm2mServer() {
  stop();
}

std::string Lwm2mServer::start() {
  const uint32_t n = std::max(1u, config_.threads);
  Endpoint4 bind = config_.listen;
  std::string error;
  auto text = [this] { return snapshot().to_text(); };
  for (uint32_t i = 0; i < n; ++i) {
    threads_.push_back(std::make_unique<ServerThread>(config_, *directory_, i, n, text));
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
    s.read_latency.merge(x.read_latency.snapshot());
    s.observe_latency.merge(x.observe_latency.snapshot());
  }
  return s;
}

}  // namespace lwm2msim

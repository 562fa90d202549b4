#include "sim/fleet/worker.h"

#include <algorithm>
#include <array>
#include <asio/post.hpp>
#include <cmath>

#include "sim/client/device_object.h"

namespace lwm2msim {
namespace {

size_t duplicate_entries(uint64_t clients) {
  return static_cast<size_t>(std::clamp<uint64_t>(clients, 1024, 65536));
}

}  // namespace

Worker::Worker(const FleetConfig& config, const ShardLayout& layout, uint32_t index)
    : config_(config),
      layout_(layout),
      index_(index),
      local_count_(static_cast<uint32_t>(layout.local_count(index))),
      stop_timer_id_(local_count_),
      first_observation_id_(local_count_ + 1),
      wake_timer_(io_),
      transport_(io_, *this),
      wheel_(local_count_ + 1),
      clients_(local_count_),
      rng_(mix_seed(config.seed, index)),
      duplicates_(duplicate_entries(local_count_), duplicate_entries(local_count_) * 160,
                  config.client.coap.exchange_lifetime()) {
  state_counts_[static_cast<size_t>(ClientState::kIdle)].set(local_count_);
}

Worker::~Worker() {
  if (thread_.joinable()) {
    io_.stop();
    thread_.join();
  }
}

std::string Worker::prepare() {
  std::string error;
  const AddressPlan& plan = config_.local_addrs;
  if (layout_.socket_per_client) {
    for (uint32_t l = 0; l < local_count_; ++l) {
      const uint64_t i = global_index(l);
      Endpoint4 bind{plan.ip_at(i % plan.ip_count()), 0};
      if (plan.port_first() != 0) {
        bind.port = static_cast<uint16_t>(plan.port_first() + i / plan.ip_count());
      }
      if (transport_.open(bind, false, false, &error) < 0) {
        return error;
      }
    }
    return {};
  }
  const uint32_t per_worker = layout_.sockets / layout_.workers;
  for (uint32_t j = 0; j < per_worker; ++j) {
    const uint32_t s = j * layout_.workers + index_;
    Endpoint4 bind{0, 0};
    if (plan.port_first() != 0) {
      bind.port = static_cast<uint16_t>(plan.port_first() + s);
    }
    if (transport_.open(bind, true, false, &error) < 0) {
      return error;
    }
  }
  return {};
}

void Worker::start(std::chrono::steady_clock::time_point epoch) {
  epoch_ = epoch;
  thread_ = std::thread([this] { run(); });
}

void Worker::join() {
  if (thread_.joinable()) {
    thread_.join();
  }
}

TimeUs Worker::now() const {
  return static_cast<TimeUs>(std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::steady_clock::now() - epoch_)
                                 .count());
}

void Worker::run() {
  in_dispatch_ = true;
  for (uint32_t l = 0; l < local_count_; ++l) {
    const uint64_t i = global_index(l);
    const TimeUs due =
        config_.rate > 0 ? static_cast<TimeUs>(static_cast<double>(i) / config_.rate * 1e6) : 0;
    clients_[l].start(*this, l, due);
  }
  in_dispatch_ = false;
  transport_.start();
  arm();
  io_.run();
  finished_.store(true, std::memory_order_release);
}

void Worker::arm() {
  const std::optional<uint64_t> next = wheel_.next_wakeup();
  if (!next) {
    if (armed_tick_ != UINT64_MAX) {
      armed_tick_ = UINT64_MAX;
      wake_timer_.cancel();
    }
    return;
  }
  if (*next == armed_tick_) {
    return;
  }
  armed_tick_ = *next;
  wake_timer_.expires_at(epoch_ + std::chrono::microseconds(*next * kTickUs));
  wake_timer_.async_wait([this](const asio::error_code& ec) {
    if (ec) {
      return;
    }
    on_wake();
  });
}

void Worker::on_wake() {
  armed_tick_ = UINT64_MAX;
  in_dispatch_ = true;
  wheel_.advance(now() / kTickUs, [this](uint32_t id, uint64_t due_tick) { fire(id, due_tick); });
  in_dispatch_ = false;
  transport_.flush();
  arm();
}

void Worker::fire(uint32_t id, uint64_t due_tick) {
  const TimeUs due = due_tick * kTickUs;
  const TimeUs t = now();
  timer_lateness_.record(t > due ? t - due : 0);
  if (id < local_count_) {
    clients_[id].on_timer(*this, id, due);
  } else if (id == stop_timer_id_) {
    stop_sweep();
  } else {
    notify(id - first_observation_id_);
  }
}

void Worker::schedule(uint32_t client, TimeUs due) {
  const uint64_t tick = to_tick(due);
  wheel_.schedule(client, tick);
  if (!in_dispatch_ && tick < armed_tick_) {
    arm();
  }
}

void Worker::send(uint32_t client, std::span<const uint8_t> datagram) {
  if (layout_.socket_per_client) {
    transport_.send(client, 0, config_.client.server, datagram);
    return;
  }
  const uint64_t i = global_index(client);
  const uint32_t s = static_cast<uint32_t>(i % layout_.sockets);
  transport_.send(s / layout_.workers, config_.local_addrs.ip_at(i / layout_.sockets),
                  config_.client.server, datagram);
}

void Worker::on_state_change(uint32_t client, ClientState from, ClientState to) {
  state_counts_[static_cast<size_t>(from)].add(-1);
  state_counts_[static_cast<size_t>(to)].add(1);
  if (to == ClientState::kStopped) {
    drop_observations(client);
    if (stopping_ && state_counts_[static_cast<size_t>(ClientState::kStopped)].value() ==
                         int64_t{local_count_}) {
      asio::post(io_, [this] { finish_stop(); });
    }
  }
}

uint32_t Worker::client_of(const ReceivedDatagram& d) const {
  if (layout_.socket_per_client) {
    return d.socket;
  }
  const uint64_t ip_index = config_.local_addrs.index_of_ip(d.local.ip);
  if (ip_index == UINT64_MAX) {
    return UINT32_MAX;
  }
  const uint64_t s = uint64_t{d.socket} * layout_.workers + index_;
  const uint64_t i = ip_index * layout_.sockets + s;
  if (i >= layout_.clients) {
    return UINT32_MAX;
  }
  return static_cast<uint32_t>(i / layout_.workers);
}

void Worker::on_datagram(const ReceivedDatagram& d) {
  const uint32_t client = client_of(d);
  if (client == UINT32_MAX) {
    request_stats_.unknown_address.add();
    return;
  }
  CoapMessage m;
  if (m.parse(d.data) != CoapParseError::kOk) {
    request_stats_.malformed.add();
    return;
  }
  if (m.is_request()) {
    handle_request(client, m);
    return;
  }
  if (m.type() == CoapType::kRst) {
    // A server that no longer wants a notification answers it with RST (RFC 7641 3.6).
    auto it = observations_by_client_.find(client);
    if (it != observations_by_client_.end()) {
      for (uint32_t slot : it->second) {
        if (observations_[slot].last_mid == m.message_id()) {
          cancel_observation(client, observations_[slot].token.view());
          return;
        }
      }
    }
  }
  clients_[client].on_response(*this, client, m);
}

void Worker::on_batch_end() {}

uint16_t Worker::default_format(const Lwm2mPath& path) const {
  // Without an Accept option the client picks (LwM2M TS 1.1 6.3.1): plain text for a single
  // resource, else the version's preferred multi-value format.
  if (path.depth() >= 3 && !(path.depth() == 3 && DeviceObject::is_multiple(path))) {
    return CoapContentFormat::kTextPlain;
  }
  return config_.client.version == Lwm2mVersion::k1_2 ? CoapContentFormat::kLwm2mCbor
                                                      : CoapContentFormat::kLwm2mTlv;
}

uint8_t Worker::encode_device(const Lwm2mPath& path, uint32_t client, TimeUs t, uint16_t format,
                              std::vector<uint8_t>* out) const {
  if (!is_supported_format(format)) {
    return CoapCode::kNotAcceptable;
  }
  std::vector<Record> records;
  const uint8_t code = DeviceObject::read(path, global_index(client), t, &records);
  if (code != CoapCode::kContent) {
    return code;
  }
  CodecContext ctx;
  ctx.base = path;
  ctx.type_of = [](const Lwm2mPath& p) { return DeviceObject::type_of(p); };
  ctx.is_multiple = [](const Lwm2mPath& p) { return DeviceObject::is_multiple(p); };
  const CodecResult r = encode(format, ctx, records, out);
  if (!r.ok()) {
    // The format cannot carry this target (e.g. a whole instance as plain text).
    return coap_code_class(r.code) == 4 ? CoapCode::kNotAcceptable : r.code;
  }
  return CoapCode::kContent;
}

void Worker::handle_request(uint32_t client, const CoapMessage& request) {
  const TimeUs t = now();
  if (request.type() == CoapType::kCon) {
    const std::span<const uint8_t> cached = duplicates_.find(client, request.message_id(), t);
    if (!cached.empty()) {
      request_stats_.duplicates.add();
      send(client, cached);
      return;
    }
  }
  request_stats_.requests.add();
  Lwm2mOperation op = Lwm2mOperation::kUnknown;
  if (request.first_unknown_critical() != 0) {
    reply(client, request, op, CoapCode::kBadOption, 0, {}, nullptr);
    return;
  }
  Lwm2mPath path;
  if (!lwm2m_path_from_request(request, &path)) {
    reply(client, request, op, CoapCode::kNotFound, 0, {}, nullptr);
    return;
  }
  op = classify_request(request, path);
  const bool device_instance = path.object == DeviceObject::kObjectId &&
                               (path.instance == 0 || path.instance == Lwm2mPath::kAbsent);
  const CoapOptionView* accept = request.find(CoapOption::kAccept);
  switch (op) {
    case Lwm2mOperation::kRead:
    case Lwm2mOperation::kObserve:
    case Lwm2mOperation::kCancelObserve: {
      const uint16_t format =
          accept != nullptr ? static_cast<uint16_t>(accept->as_uint()) : default_format(path);
      std::vector<uint8_t> payload;
      const uint8_t code = encode_device(path, client, t, format, &payload);
      if (code != CoapCode::kContent) {
        reply(client, request, op, code, 0, {}, nullptr);
        return;
      }
      if (op == Lwm2mOperation::kObserve) {
        const uint32_t seq = add_observation(client, request, path, format);
        reply(client, request, op, code, format, payload, &seq);
        return;
      }
      if (op == Lwm2mOperation::kCancelObserve) {
        cancel_observation(client, request.token());
      }
      reply(client, request, op, code, format, payload, nullptr);
      return;
    }
    case Lwm2mOperation::kDiscover: {
      if (!device_instance || path.depth() > 2) {
        reply(client, request, op,
              path.depth() > 2 && device_instance ? CoapCode::kNotImplemented : CoapCode::kNotFound,
              0, {}, nullptr);
        return;
      }
      const std::string_view links = DeviceObject::discover_links();
      reply(client, request, op, CoapCode::kContent, CoapContentFormat::kLinkFormat,
            {reinterpret_cast<const uint8_t*>(links.data()), links.size()}, nullptr);
      return;
    }
    case Lwm2mOperation::kWrite:
    case Lwm2mOperation::kWritePartial:
    case Lwm2mOperation::kWriteAttributes:
    case Lwm2mOperation::kExecute:
    case Lwm2mOperation::kCreate:
    case Lwm2mOperation::kDelete:
    case Lwm2mOperation::kReadComposite:
    case Lwm2mOperation::kObserveComposite:
    case Lwm2mOperation::kWriteComposite:
      if (!device_instance) {
        reply(client, request, op, CoapCode::kNotFound, 0, {}, nullptr);
        return;
      }
      reply(client, request, op, CoapCode::kNotImplemented, 0, {}, nullptr);
      return;
    case Lwm2mOperation::kUnknown:
      reply(client, request, op, CoapCode::kMethodNotAllowed, 0, {}, nullptr);
      return;
  }
}

void Worker::reply(uint32_t client, const CoapMessage& request, Lwm2mOperation op, uint8_t code,
                   uint16_t format, std::span<const uint8_t> payload, const uint32_t* observe) {
  std::array<uint8_t, kCoapMaxMessageSize> buf;
  const bool con = request.type() == CoapType::kCon;
  const uint16_t mid = con ? request.message_id() : clients_[client].take_message_id();
  CoapWriter w(buf);
  w.header(con ? CoapType::kAck : CoapType::kNon, code, mid, request.token());
  if (observe != nullptr) {
    w.option_uint(CoapOption::kObserve, *observe);
  }
  if (!payload.empty()) {
    w.option_uint(CoapOption::kContentFormat, format);
  }
  w.payload(payload);
  const std::span<const uint8_t> msg = w.finish();
  if (msg.empty()) {
    return;
  }
  request_stats_.by_operation_code[static_cast<size_t>(op)][response_code_slot(code)].add();
  switch (coap_code_class(code)) {
    case 2:
      request_stats_.responses_2xx.add();
      break;
    case 4:
      request_stats_.responses_4xx.add();
      break;
    default:
      request_stats_.responses_5xx.add();
      break;
  }
  if (con) {
    duplicates_.put(client, request.message_id(), msg, now());
  }
  send(client, msg);
}

uint32_t Worker::add_observation(uint32_t client, const CoapMessage& request, const Lwm2mPath& path,
                                 uint16_t format) {
  std::vector<uint32_t>& mine = observations_by_client_[client];
  const CoapToken token = request.token_value();
  for (uint32_t slot : mine) {
    if (observations_[slot].token == token) {
      // Re-registration of the same observation (RFC 7641 4.1): keep it, restart the sequence.
      observations_[slot].path = path;
      observations_[slot].format = format;
      return observations_[slot].sequence;
    }
  }
  uint32_t slot = 0;
  if (!free_observations_.empty()) {
    slot = free_observations_.back();
    free_observations_.pop_back();
  } else {
    slot = static_cast<uint32_t>(observations_.size());
    observations_.emplace_back();
    wheel_.reserve(first_observation_id_ + slot + 1);
  }
  Observation& o = observations_[slot];
  o.client = client;
  o.sequence = 1;
  o.token = token;
  o.path = path;
  o.format = format;
  mine.push_back(slot);
  request_stats_.observations.add();
  schedule(first_observation_id_ + slot, now() + config_.notify_period);
  return o.sequence;
}

void Worker::cancel_observation(uint32_t client, std::span<const uint8_t> token) {
  auto it = observations_by_client_.find(client);
  if (it == observations_by_client_.end()) {
    return;
  }
  const CoapToken t = CoapToken::from(token);
  auto& slots = it->second;
  for (size_t k = 0; k < slots.size(); ++k) {
    const uint32_t slot = slots[k];
    if (observations_[slot].token == t) {
      wheel_.cancel(first_observation_id_ + slot);
      observations_[slot].client = UINT32_MAX;
      free_observations_.push_back(slot);
      slots.erase(slots.begin() + static_cast<std::ptrdiff_t>(k));
      break;
    }
  }
  if (slots.empty()) {
    observations_by_client_.erase(it);
  }
}

void Worker::drop_observations(uint32_t client) {
  auto it = observations_by_client_.find(client);
  if (it == observations_by_client_.end()) {
    return;
  }
  for (uint32_t slot : it->second) {
    wheel_.cancel(first_observation_id_ + slot);
    observations_[slot].client = UINT32_MAX;
    free_observations_.push_back(slot);
  }
  observations_by_client_.erase(it);
}

void Worker::notify(uint32_t slot) {
  Observation& o = observations_[slot];
  if (o.client == UINT32_MAX) {
    return;
  }
  VirtualClient& c = clients_[o.client];
  if (c.state() == ClientState::kRegistered || c.state() == ClientState::kUpdating) {
    std::vector<uint8_t> payload;
    if (encode_device(o.path, o.client, now(), o.format, &payload) == CoapCode::kContent) {
      o.sequence = (o.sequence + 1) & 0xffffff;
      o.last_mid = c.take_message_id();
      std::array<uint8_t, kCoapMaxMessageSize> buf;
      CoapWriter w(buf);
      w.header(CoapType::kNon, CoapCode::kContent, o.last_mid, o.token.view())
          .option_uint(CoapOption::kObserve, o.sequence)
          .option_uint(CoapOption::kContentFormat, o.format)
          .payload(payload);
      if (w.ok()) {
        send(o.client, w.finish());
        request_stats_.notifications.add();
      }
    }
  }
  schedule(first_observation_id_ + slot, now() + config_.notify_period);
}

void Worker::request_stop() {
  asio::post(io_, [this] {
    if (stopping_) {
      return;
    }
    stopping_ = true;
    stop_started_ = now();
    stop_deadline_ = stop_started_ + config_.stop_timeout;
    if (state_counts_[static_cast<size_t>(ClientState::kStopped)].value() ==
        int64_t{local_count_}) {
      asio::post(io_, [this] { finish_stop(); });
      return;
    }
    stop_sweep();
    transport_.flush();
  });
}

void Worker::stop_sweep() {
  const TimeUs t = now();
  if (stop_cursor_ < local_count_) {
    // Paced so a large fleet's De-registers do not arrive as one burst.
    const double per_worker = config_.stop_rate / layout_.workers;
    const TimeUs elapsed = t - stop_started_;
    const uint64_t allowed =
        per_worker <= 0
            ? local_count_
            : static_cast<uint64_t>(per_worker * static_cast<double>(elapsed) / 1e6) + 1;
    const uint32_t target = static_cast<uint32_t>(std::min<uint64_t>(allowed, local_count_));
    const bool was_dispatching = in_dispatch_;
    in_dispatch_ = true;
    while (stop_cursor_ < target) {
      const uint32_t id = stop_cursor_++;
      clients_[id].stop(*this, id);
    }
    in_dispatch_ = was_dispatching;
  }
  if (t >= stop_deadline_) {
    // Out of time: whoever has not finished is dropped and counted.
    for (uint32_t id = 0; id < local_count_; ++id) {
      if (clients_[id].state() != ClientState::kStopped) {
        abandoned_.add();
        clients_[id].abandon(*this, id);
      }
    }
    asio::post(io_, [this] { finish_stop(); });
    return;
  }
  schedule(stop_timer_id_, stop_cursor_ < local_count_ ? t + kTickUs : stop_deadline_);
}

void Worker::finish_stop() {
  if (finished_.load(std::memory_order_relaxed) || io_.stopped()) {
    return;
  }
  transport_.close();
  wake_timer_.cancel();
  io_.stop();
}

void Worker::collect(FleetSnapshot* out) const {
  for (size_t s = 0; s < kClientStateCount; ++s) {
    out->states[s] += state_counts_[s].value();
  }
  const ClientStats& c = client_stats_;
  out->register_sent += c.register_sent.value();
  out->register_ok += c.register_ok.value();
  out->register_failed += c.register_failed.value();
  out->update_sent += c.update_sent.value();
  out->update_ok += c.update_ok.value();
  out->update_failed += c.update_failed.value();
  out->update_not_found += c.update_not_found.value();
  out->deregister_sent += c.deregister_sent.value();
  out->deregister_ok += c.deregister_ok.value();
  out->deregister_failed += c.deregister_failed.value();
  out->retransmissions += c.retransmissions.value();
  out->timeouts += c.timeouts.value();
  out->backoffs += c.backoffs.value();
  out->unexpected += c.unexpected.value();
  const RequestStats& r = request_stats_;
  out->requests += r.requests.value();
  out->request_duplicates += r.duplicates.value();
  out->notifications += r.notifications.value();
  out->observations += r.observations.value();
  out->malformed += r.malformed.value();
  out->unknown_address += r.unknown_address.value();
  const TransportStats& t = transport_.stats();
  out->datagrams_in += t.datagrams_in.value();
  out->datagrams_out += t.datagrams_out.value();
  out->bytes_in += t.bytes_in.value();
  out->bytes_out += t.bytes_out.value();
  out->send_errors += t.send_errors.value();
  out->abandoned += abandoned_.value();
  out->register_latency.merge(c.register_latency.snapshot());
  out->register_rtt.merge(c.register_rtt.snapshot());
  out->update_latency.merge(c.update_latency.snapshot());
  out->update_rtt.merge(c.update_rtt.snapshot());
  out->deregister_latency.merge(c.deregister_latency.snapshot());
  out->deregister_rtt.merge(c.deregister_rtt.snapshot());
  for (size_t op = 0; op < kOperationCount; ++op) {
    for (size_t code = 0; code < kResponseCodeSlots; ++code) {
      out->responses[op][code] += r.by_operation_code[op][code].value();
    }
  }
  out->timer_lateness.merge(timer_lateness_.snapshot());
}

}  // namespace lwm2msim

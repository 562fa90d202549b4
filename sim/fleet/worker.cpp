#include "sim/fleet/worker.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace lwm2msim {
namespace {

// What a server may store in one device (written values, created instances): beyond it, changes
// that add data get 5.00, as a device whose storage is full answers.
constexpr int64_t kMaxClientDataBytes = 64 * 1024;

size_t duplicate_entries(uint64_t clients) {
  return static_cast<size_t>(std::clamp<uint64_t>(clients, 1024, 65536));
}

// Timeouts and no answer for this long make a server outage: under packet loss a few exchanges
// time out now and then, but others are answered in between.
constexpr TimeUs kOutageMinSpan = kUsPerSec;

// After an outage, a device that was registered through it learns at its next Update (4.04, or
// a timeout) that the registration is gone: that is at most an Update period and an exchange.
TimeUs outage_window(const FleetConfig& config) {
  TimeUs longest = config.client.update_interval(config.client.lifetime_s);
  for (const FleetGroup& g : config.groups) {
    longest = std::max(longest, g.client.update_interval(g.client.lifetime_s));
  }
  return longest + config.client.coap.max_transmit_wait();
}

}  // namespace

Worker::Worker(const FleetConfig& config, const ShardLayout& layout, uint32_t index)
    : config_(config),
      layout_(layout),
      index_(index),
      local_count_(static_cast<uint32_t>(layout.local_count(index))),
      stop_timer_id_(local_count_),
      first_report_id_(local_count_ + 3),
      director_timer_id_(local_count_ + 1),
      delay_timer_id_(local_count_ + 2),
      timeline_(config.phases),
      stop_rate_(config.stop_rate),
      transport_(*this),
      wheel_(local_count_ + 3),
      clients_(local_count_),
      rng_(mix_seed(config.seed, index)),
      duplicates_(duplicate_entries(local_count_), duplicate_entries(local_count_) * 160,
                  config.client.coap.exchange_lifetime()),
      report_head_(local_count_, UINT32_MAX),
      outage_(local_count_, kOutageMinSpan, outage_window(config)) {
  state_counts_[static_cast<size_t>(ClientState::kIdle)].set(local_count_);
  for (const FleetGroup& g : config.groups) {
    GroupRuntime& r = groups_.emplace_back();
    r.first = g.first;
    r.count = g.count;
    r.spec = &g;
    r.model = std::make_unique<DataModel>(g.profile, config.seed, config.unix_epoch_s);
    r.default_links = r.model->registration_links(ClientContext{});
    r.faults = LinkFaults(g.faults);
    reboot_next_.push_back(0);
    if (const auto at = r.faults.outage_at()) {
      outages_.push_back({*at, static_cast<uint32_t>(groups_.size() - 1)});
    }
    if (g.client.bootstrap && accounts_.empty()) {
      accounts_.resize(local_count_);
    }
  }
  if (config.dtls) {
    secure_links_.resize(local_count_);
    dtls_scratch_ = std::make_unique<DtlsScratch>();
  }
}

const Worker::GroupRuntime& Worker::group(uint32_t client) const {
  const uint64_t i = global_index(client);
  // Few groups: the last one that starts at or before i.
  auto it = std::upper_bound(groups_.begin(), groups_.end(), i,
                             [](uint64_t v, const GroupRuntime& g) { return v < g.first; });
  return *(it - 1);
}

Worker::~Worker() {
  if (thread_.joinable()) {
    loop_.stop();
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
      if (transport_.open(bind, false, false, &error, config_.io_coalesce > 0) < 0) {
        return error;
      }
    }
    return {};
  }
  // Worker socket g * per_worker + j is fleet socket j * workers + index in port generation g.
  const uint32_t per_worker = layout_.sockets / layout_.workers;
  for (uint32_t g = 0; g < layout_.nat_ports; ++g) {
    for (uint32_t j = 0; j < per_worker; ++j) {
      const uint32_t s = j * layout_.workers + index_;
      Endpoint4 bind{0, 0};
      if (plan.port_first() != 0) {
        bind.port = static_cast<uint16_t>(plan.port_first() + g * layout_.sockets + s);
      }
      if (transport_.open(bind, true, false, &error, config_.io_coalesce > 0) < 0) {
        return error;
      }
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
  return at_arrival_ ? arrival_ : send_time();
}

TimeUs Worker::send_time() const {
  return static_cast<TimeUs>(std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::steady_clock::now() - epoch_)
                                 .count());
}

void Worker::run() {
  director_tick();
  loop_.set_input(transport_.epoll_fd());
  const auto coalesce = std::chrono::microseconds(config_.io_coalesce);
  while (!loop_.stopped()) {
    const std::optional<uint64_t> next = wheel_.next_wakeup();
    const auto deadline = next ? epoch_ + std::chrono::microseconds(*next * kTickUs)
                               : std::chrono::steady_clock::time_point::max();
    // Under load a timer is due every tick: input then waits for that tick, so one wake-up
    // serves both (at most io_coalesce later; arrival times come from the kernel).
    const bool batch_input =
        next && coalesce.count() > 0 && deadline - std::chrono::steady_clock::now() <= coalesce;
    const bool input = loop_.wait(deadline, !batch_input);
    loop_.run_posted();
    if (input || batch_input) {
      transport_.drain_ready();
    }
    on_wake();
  }
  finished_.store(true, std::memory_order_release);
}

void Worker::on_wake() {
  wheel_.advance(now() / kTickUs, [this](uint32_t id, uint64_t due_tick) { fire(id, due_tick); });
  transport_.flush();
}

void Worker::fire(uint32_t id, uint64_t due_tick) {
  const TimeUs due = due_tick * kTickUs;
  const TimeUs t = now();
  timer_lateness_.record(t > due ? t - due : 0);
  if (id < local_count_) {
    if (!secure_links_.empty() && clients_[id].state() == ClientState::kConnecting) {
      link_timer(id);
    } else {
      clients_[id].on_timer(*this, id, due);
    }
  } else if (id == stop_timer_id_) {
    stop_sweep();
  } else if (id == director_timer_id_) {
    director_tick();
  } else if (id == delay_timer_id_) {
    release_delayed();
  } else {
    on_report_timer(id - first_report_id_);
  }
}

void Worker::schedule(uint32_t client, TimeUs due) {
  wheel_.schedule(client, to_tick(due));
}

void Worker::send(uint32_t client, std::span<const uint8_t> datagram) {
  const bool bootstrap = clients_[client].bootstrapping();
  if (!secure(client, bootstrap)) {
    link_send(client, datagram);
    return;
  }
  SecureLink& l = secure_links_[client];
  if (l.bootstrap != bootstrap || l.session.state() != DtlsSession::State::kEstablished) {
    dtls_stats_.unsent.add();
    return;
  }
  l.active = now();
  link_client_ = client;
  l.session.send(datagram, *dtls_scratch_, *this);
  link_client_ = UINT32_MAX;
}

void Worker::link_send(uint32_t client, std::span<const uint8_t> datagram) {
  const LinkFaults& faults = group(client).faults;
  if (faults.any()) {
    const TimeUs t = now();
    if (faults.active(t)) {
      const Verdict v = faults.decide(Direction::kUp, t, rng_);
      if (!delay_or_drop(client, Direction::kUp, datagram, v, t)) {
        return;
      }
    }
  }
  transmit_now(client, datagram);
}

bool Worker::delay_or_drop(uint32_t client, Direction direction, std::span<const uint8_t> datagram,
                           const Verdict& v, TimeUs t) {
  if (v.copies == 0) {
    (direction == Direction::kUp ? faults_dropped_up_ : faults_dropped_down_).add();
    return false;
  }
  if (v.copies == 2) {
    faults_duplicated_.add();
    delay_line_.push(t + v.duplicate_delay, client, direction, datagram);
  }
  if (v.delay == 0) {
    if (v.copies == 2) {
      arm_delay_line();
    }
    return true;
  }
  faults_delayed_.add();
  delay_line_.push(t + v.delay, client, direction, datagram);
  arm_delay_line();
  return false;
}

void Worker::arm_delay_line() {
  if (const std::optional<TimeUs> due = delay_line_.next_due()) {
    schedule(delay_timer_id_, *due);
  }
}

void Worker::release_delayed() {
  delay_line_.pop_due(now(),
                      [this](uint32_t client, Direction direction, std::span<const uint8_t> bytes) {
                        if (direction == Direction::kUp) {
                          transmit_now(client, bytes);
                        } else {
                          dispatch(client, bytes);
                        }
                      });
  arm_delay_line();
}

void Worker::transmit_now(uint32_t client, std::span<const uint8_t> datagram) {
  transmit_raw(client, server_of(client), datagram);
}

void Worker::send_to(uint32_t client, const Endpoint4& to, std::span<const uint8_t> datagram) {
  if (to == server_of(client)) {
    send(client, datagram);
  } else {
    transmit_raw(client, to, datagram);
  }
}

void Worker::transmit_raw(uint32_t client, const Endpoint4& to, std::span<const uint8_t> datagram) {
  if (layout_.socket_per_client) {
    transport_.send(client, 0, to, datagram);
    return;
  }
  const uint64_t i = global_index(client);
  const uint32_t s = static_cast<uint32_t>(i % layout_.sockets);
  const uint32_t generation = nat_generation(client, now());
  transport_.send(generation * (layout_.sockets / layout_.workers) + s / layout_.workers,
                  config_.local_addrs.ip_at(i / layout_.sockets), to, datagram);
}

uint32_t Worker::nat_generation(uint32_t client, TimeUs t) const {
  if (layout_.nat_ports == 1) {
    return 0;
  }
  const LinkFaults& faults = group(client).faults;
  return faults.rebinds() ? faults.nat_epoch(global_index(client), t) % layout_.nat_ports : 0;
}

void Worker::on_state_change(uint32_t client, ClientState from, ClientState to) {
  state_counts_[static_cast<size_t>(from)].add(-1);
  state_counts_[static_cast<size_t>(to)].add(1);
  if (from == ClientState::kUpdating &&
      (to == ClientState::kBackoff || to == ClientState::kRegistering)) {
    outage_.registration_lost(client, now());
  } else if (from == ClientState::kRegistering && to == ClientState::kRegistered) {
    outage_.registered(client, now());
  } else if (to == ClientState::kStopped || to == ClientState::kIdle) {
    outage_.gone(client);
  }
  if (to == ClientState::kRegistered && from == ClientState::kRegistering) {
    start_send(client);
  }
  if (to == ClientState::kStopped || to == ClientState::kIdle || to == ClientState::kBackoff) {
    // Observations and Sends belong to a registration (LwM2M TS 1.1 6.4.1).
    drop_reports(client);
    if (!secure_links_.empty() &&
        secure_links_[client].session.state() == DtlsSession::State::kHandshaking) {
      reset_link(client, false);
    }
  }
  if (to == ClientState::kStopped) {
    if (stopping_ && state_counts_[static_cast<size_t>(ClientState::kStopped)].value() ==
                         int64_t{local_count_}) {
      loop_.post([this] { finish_stop(); });
    }
  }
}

void Worker::exchange_ended(uint32_t, ClientState exchange, ExchangeEnd end) {
  switch (exchange) {
    case ClientState::kRegistering:
      exchange_end(ExchangeKind::kRegister, end);
      return;
    case ClientState::kUpdating:
      exchange_end(ExchangeKind::kUpdate, end);
      return;
    case ClientState::kDeregistering:
      exchange_end(ExchangeKind::kDeregister, end);
      return;
    case ClientState::kBootstrapping:
      exchange_end(ExchangeKind::kBootstrapRequest, end);
      return;
    default:
      return;
  }
}

void Worker::exchange_end(ExchangeKind kind, ExchangeEnd end) {
  ExchangeEnds& e = exchange_ends_[static_cast<size_t>(kind)];
  // Bootstrap-Requests go to the bootstrap server, not the one whose outages count here.
  const bool dm_server = kind != ExchangeKind::kBootstrapRequest;
  switch (end) {
    case ExchangeEnd::kAnswered:
      e.answered.add();
      if (dm_server) {
        outage_.answered(now());
      }
      return;
    case ExchangeEnd::kTimedOut:
      e.timed_out.add();
      if (dm_server) {
        outage_.timed_out(now());
      }
      return;
    case ExchangeEnd::kAbandoned:
      e.abandoned.add();
      return;
  }
}

uint32_t Worker::client_of(const ReceivedDatagram& d, bool* stale) const {
  if (layout_.socket_per_client) {
    return d.socket;
  }
  const uint64_t ip_index = config_.local_addrs.index_of_ip(d.local.ip);
  if (ip_index == UINT64_MAX) {
    return UINT32_MAX;
  }
  const uint32_t per_worker = layout_.sockets / layout_.workers;
  const uint32_t generation = d.socket / per_worker;
  const uint64_t s = uint64_t{d.socket % per_worker} * layout_.workers + index_;
  const uint64_t i = ip_index * layout_.sockets + s;
  if (i >= layout_.clients) {
    return UINT32_MAX;
  }
  const auto client = static_cast<uint32_t>(i / layout_.workers);
  *stale = layout_.nat_ports > 1 && generation != nat_generation(client, now());
  return client;
}

void Worker::on_datagram(const ReceivedDatagram& d) {
  if (d.arrival_ns != 0) {
    const auto since_epoch = std::chrono::nanoseconds(d.arrival_ns) - epoch_.time_since_epoch();
    arrival_ = since_epoch.count() > 0 ? static_cast<TimeUs>(since_epoch.count() / 1000) : 0;
    at_arrival_ = true;
  }
  handle_datagram(d);
  at_arrival_ = false;
}

void Worker::handle_datagram(const ReceivedDatagram& d) {
  bool stale = false;
  const uint32_t client = client_of(d, &stale);
  if (client == UINT32_MAX) {
    request_stats_.unknown_address.add();
    return;
  }
  if (stale) {
    // The NAT forgot the old mapping: the datagram never reaches the device.
    nat_stale_drops_.add();
    return;
  }
  if (group(client).spec->queue_sleep > 0 && asleep(client, now())) {
    // Radio off: a server that does not queue for queue-mode clients loses this.
    sleep_drops_.add();
    return;
  }
  const LinkFaults& faults = group(client).faults;
  if (faults.any()) {
    const TimeUs t = now();
    if (faults.active(t)) {
      const Verdict v = faults.decide(Direction::kDown, t, rng_);
      if (!delay_or_drop(client, Direction::kDown, d.data, v, t)) {
        return;
      }
    }
  }
  dispatch(client, d.data);
}

void Worker::dispatch(uint32_t client, std::span<const uint8_t> datagram) {
  if (!secure_links_.empty() && looks_like_dtls(datagram)) {
    secure_receive(client, datagram);
    return;
  }
  dispatch_coap(client, datagram, false);
}

void Worker::dispatch_coap(uint32_t client, std::span<const uint8_t> datagram, bool secure_link) {
  // Rejections go back over the link the message came on; a device on a secure link never
  // answers clear text with anything.
  const bool clear_on_secure = !secure_link && secure(client, clients_[client].bootstrapping());
  CoapMessage m;
  const CoapScreen screen = coap_screen(datagram, &m);
  if (screen.reset_mid >= 0 && !clear_on_secure) {
    std::array<uint8_t, 4> reset;
    client_stats_.resets.add();
    send(client, coap_write_empty(reset, CoapType::kRst, static_cast<uint16_t>(screen.reset_mid)));
  }
  switch (screen.verdict) {
    case CoapVerdict::kAccept:
      break;
    case CoapVerdict::kMalformed:
      request_stats_.malformed.add();
      request_stats_.malformed_by[static_cast<size_t>(screen.error)].add();
      return;
    case CoapVerdict::kPing:
      request_stats_.pings.add();
      return;
    case CoapVerdict::kBadOption:
      request_stats_.bad_option.add();
      return;
  }
  if (m.is_request() && clear_on_secure) {
    // A server on a secure link never asks in clear (a download host may answer in clear).
    dtls_stats_.plain_dropped.add();
    return;
  }
  if (m.is_request()) {
    handle_request(client, m);
    return;
  }
  if (on_report_response(client, m)) {
    return;
  }
  clients_[client].on_response(*this, client, m);
}

void Worker::on_batch_end() {}

uint32_t Worker::lifetime(uint32_t client) const {
  const ClientData* d = data_.find(client);
  if (d != nullptr) {
    const auto it = std::find_if(d->written.begin(), d->written.end(), [](const Record& r) {
      return r.path.object == 1 && r.path.resource == 1;
    });
    if (it != d->written.end()) {
      if (const auto* v = std::get_if<int64_t>(&it->value); v != nullptr && *v > 0) {
        return static_cast<uint32_t>(std::min<int64_t>(*v, UINT32_MAX));
      }
    }
  }
  return config(client).lifetime_s;
}

std::string_view Worker::links(uint32_t client) {
  const ClientData* d = data_.find(client);
  if (d == nullptr || (d->created.empty() && d->deleted.empty())) {
    return group(client).default_links;
  }
  links_scratch_ = model(client).registration_links(context(client));
  return links_scratch_;
}

ClientContext Worker::context(uint32_t client) const {
  ClientContext ctx;
  ctx.index = global_index(client);
  ctx.t = now();
  ctx.data = data_.find(client);
  ctx.lifetime_s = config(client).lifetime_s;
  if (config(client).bootstrap) {
    // The profile's Security /0/0 is the account of the bootstrap server.
    ctx.bootstrap_account = true;
    ctx.server_uri = config_.bootstrap_uri;
  } else {
    ctx.server_uri = config_.server_uri;
  }
  return ctx;
}

uint16_t Worker::default_format(uint32_t client, const Lwm2mPath& path) const {
  // Without an Accept option the client picks (LwM2M TS 1.1 6.3.1): plain text for a single
  // resource (opaque for an Opaque one), else the version's preferred multi-value format.
  if (path.depth() == 4 || (path.depth() == 3 && !model(client).is_multiple(path))) {
    return model(client).type_of(path) == ResourceType::kOpaque ? CoapContentFormat::kOctetStream
                                                                : CoapContentFormat::kTextPlain;
  }
  return config(client).version == Lwm2mVersion::k1_2 ? CoapContentFormat::kLwm2mCbor
                                                      : CoapContentFormat::kLwm2mTlv;
}

uint8_t Worker::encode_records(uint32_t client, const Lwm2mPath& base, uint16_t format,
                               std::span<const Record> records, std::vector<uint8_t>* out) const {
  if (!is_supported_format(format) || format == CoapContentFormat::kLinkFormat) {
    return CoapCode::kNotAcceptable;
  }
  CodecContext ctx = model(client).codec_context(base);
  const CodecResult r = encode(format, ctx, records, out);
  if (!r.ok()) {
    // The format cannot carry this target (e.g. a whole instance as plain text).
    return coap_code_class(r.code) == 4 ? CoapCode::kNotAcceptable : r.code;
  }
  return CoapCode::kContent;
}

namespace {

bool is_composite_format(uint16_t format, Lwm2mVersion version) {
  return format == CoapContentFormat::kSenmlJson || format == CoapContentFormat::kSenmlCbor ||
         (version == Lwm2mVersion::k1_2 && format == CoapContentFormat::kLwm2mCbor);
}

std::vector<std::string_view> queries_of(const CoapMessage& m) {
  std::vector<std::string_view> out;
  for (const CoapOptionView& o : m.options()) {
    if (o.number == CoapOption::kUriQuery) {
      out.push_back(o.as_string());
    }
  }
  return out;
}

}  // namespace

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
  if (clients_[client].provisioning()) {
    handle_bootstrap_request(client, request);
    return;
  }
  Lwm2mPath path;
  if (!lwm2m_path_from_request(request, &path)) {
    reply(client, request, op, CoapCode::kNotFound, 0, {}, nullptr);
    return;
  }
  op = classify_request(request, path);
  const Lwm2mVersion version = config(client).version;
  const CoapOptionView* accept = request.find(CoapOption::kAccept);
  const CoapOptionView* content_format = request.find(CoapOption::kContentFormat);
  const ClientContext ctx = context(client);
  std::vector<Record> records;
  std::vector<uint8_t> payload;
  switch (op) {
    case Lwm2mOperation::kRead:
    case Lwm2mOperation::kObserve:
    case Lwm2mOperation::kCancelObserve: {
      const uint16_t format = accept != nullptr ? static_cast<uint16_t>(accept->as_uint())
                                                : default_format(client, path);
      uint8_t code = model(client).read(path, ctx, &records);
      if (code == CoapCode::kContent) {
        code = encode_records(client, path, format, records, &payload);
      }
      if (code != CoapCode::kContent) {
        if (op == Lwm2mOperation::kCancelObserve) {
          cancel_observation(client, request.token());
        }
        reply(client, request, op, code, 0, {}, nullptr);
        return;
      }
      if (op == Lwm2mOperation::kObserve) {
        const uint32_t seq = add_observation(client, request, path, {}, format, records);
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
      std::string links;
      const uint8_t code = model(client).discover(path, ctx, &links);
      reply(client, request, op, code, CoapContentFormat::kLinkFormat,
            {reinterpret_cast<const uint8_t*>(links.data()), links.size()}, nullptr);
      return;
    }
    case Lwm2mOperation::kReadComposite:
    case Lwm2mOperation::kObserveComposite: {
      if (version == Lwm2mVersion::k1_0 || path.depth() != 0) {
        reply(client, request, op, CoapCode::kMethodNotAllowed, 0, {}, nullptr);
        return;
      }
      const uint16_t in_format =
          content_format != nullptr ? static_cast<uint16_t>(content_format->as_uint()) : 0;
      if (!is_composite_format(in_format, version)) {
        reply(client, request, op, CoapCode::kUnsupportedContentFormat, 0, {}, nullptr);
        return;
      }
      const uint16_t format =
          accept != nullptr ? static_cast<uint16_t>(accept->as_uint()) : in_format;
      std::vector<Record> listed;
      if (!decode(in_format, model(client).codec_context(path), request.payload(), &listed).ok()) {
        reply(client, request, op, CoapCode::kBadRequest, 0, {}, nullptr);
        return;
      }
      std::vector<Lwm2mPath> paths;
      paths.reserve(listed.size());
      for (const Record& r : listed) {
        paths.push_back(r.path);
      }
      uint8_t code = model(client).read_composite(paths, ctx, &records);
      if (code == CoapCode::kContent) {
        code = is_composite_format(format, version)
                   ? encode_records(client, path, format, records, &payload)
                   : CoapCode::kNotAcceptable;
      }
      if (code != CoapCode::kContent) {
        reply(client, request, op, code, 0, {}, nullptr);
        return;
      }
      if (op == Lwm2mOperation::kObserveComposite) {
        const uint32_t seq =
            add_observation(client, request, path, std::move(paths), format, records);
        reply(client, request, op, code, format, payload, &seq);
        return;
      }
      reply(client, request, op, code, format, payload, nullptr);
      return;
    }
    case Lwm2mOperation::kWrite:
    case Lwm2mOperation::kWritePartial:
    case Lwm2mOperation::kWriteAttributes:
    case Lwm2mOperation::kExecute:
    case Lwm2mOperation::kCreate:
    case Lwm2mOperation::kDelete:
    case Lwm2mOperation::kWriteComposite: {
      const uint32_t lifetime_before = lifetime(client);
      const std::string links_before(links(client));
      const int64_t bytes_before = data_bytes(client);
      if (bytes_before >= kMaxClientDataBytes && op != Lwm2mOperation::kExecute &&
          op != Lwm2mOperation::kDelete) {
        // A device's storage is finite: a server cannot grow one without bound.
        reply(client, request, op, CoapCode::kInternalServerError, 0, {}, nullptr);
        return;
      }
      std::string location;
      const uint8_t code = handle_change(client, request, op, path, &location);
      reply(client, request, op, code, 0, {}, nullptr, location);
      if (coap_code_class(code) == 2) {
        after_change(client, lifetime_before, links_before);
      }
      data_.compact(client);
      clients_with_data_.set(static_cast<int64_t>(data_.size()));
      client_data_bytes_.add(data_bytes(client) - bytes_before);
      return;
    }
    case Lwm2mOperation::kUnknown:
      reply(client, request, op, CoapCode::kMethodNotAllowed, 0, {}, nullptr);
      return;
  }
}

uint8_t Worker::handle_change(uint32_t client, const CoapMessage& request, Lwm2mOperation op,
                              const Lwm2mPath& path, std::string* location) {
  const Lwm2mVersion version = config(client).version;
  const ClientContext ctx = context(client);
  const CoapOptionView* cf = request.find(CoapOption::kContentFormat);
  std::vector<Record> records;
  // Decodes the payload at `base`; 0 or the code to answer.
  const auto decode_payload = [&](const Lwm2mPath& base) -> uint8_t {
    // Without Content-Format a single value is plain text (CoAP has no other default).
    const uint16_t format =
        cf != nullptr ? static_cast<uint16_t>(cf->as_uint()) : CoapContentFormat::kTextPlain;
    if (!is_supported_format(format) || format == CoapContentFormat::kLinkFormat) {
      return CoapCode::kUnsupportedContentFormat;
    }
    if (op == Lwm2mOperation::kWriteComposite && !is_composite_format(format, version)) {
      return CoapCode::kUnsupportedContentFormat;
    }
    const CodecResult r =
        decode(format, model(client).codec_context(base), request.payload(), &records);
    return r.ok() ? 0 : CoapCode::kBadRequest;
  };
  switch (op) {
    case Lwm2mOperation::kWrite:
    case Lwm2mOperation::kWritePartial: {
      if (path.depth() < 2) {
        return CoapCode::kMethodNotAllowed;
      }
      if (!model(client).exists(path, ctx)) {
        return CoapCode::kNotFound;
      }
      if (const uint8_t code = decode_payload(path); code != 0) {
        return code;
      }
      const uint8_t code = model(client).write(
          path, records,
          op == Lwm2mOperation::kWrite ? WriteMode::kReplace : WriteMode::kPartialUpdate, ctx,
          &data_.get(client));
      if (code == CoapCode::kChanged) {
        request_stats_.writes_applied.add();
        if (path.object == 5 && path.depth() >= 2 && (path.depth() == 2 || path.resource == 1)) {
          // After the answer: the download's first request follows the 2.04.
          loop_.post([this, client, path] {
            firmware_uri_written(client, path);
            transport_.flush();
          });
        }
      }
      return code;
    }
    case Lwm2mOperation::kWriteComposite: {
      if (version == Lwm2mVersion::k1_0 || path.depth() != 0) {
        return CoapCode::kMethodNotAllowed;
      }
      if (const uint8_t code = decode_payload(path); code != 0) {
        return code;
      }
      const uint8_t code = model(client).write_composite(records, ctx, &data_.get(client));
      if (code == CoapCode::kChanged) {
        request_stats_.writes_applied.add();
      }
      return code;
    }
    case Lwm2mOperation::kWriteAttributes: {
      const std::vector<std::string_view> queries = queries_of(request);
      return model(client).write_attributes(path, queries, version, ctx, &data_.get(client));
    }
    case Lwm2mOperation::kExecute: {
      const auto body = request.payload();
      ExecuteEffect effect = ExecuteEffect::kNone;
      const uint8_t code = model(client).execute(
          path, {reinterpret_cast<const char*>(body.data()), body.size()}, ctx, &effect);
      if (code != CoapCode::kChanged) {
        return code;
      }
      switch (effect) {
        case ExecuteEffect::kFactoryReset:
          client_data_bytes_.add(-data_bytes(client));
          data_.erase(client);
          clients_[client].forget_account();
          [[fallthrough]];
        case ExecuteEffect::kReboot:
          // Answer first (the caller replies before anything else happens), then go down.
          request_stats_.reboots.add();
          loop_.post([this, client] {
            drop_reports(client);
            reset_link(client, true);
            clients_[client].reboot(*this, client, now() + config_.reboot_delay);
            transport_.flush();
          });
          break;
        case ExecuteEffect::kRegistrationUpdate:
          loop_.post([this, client] {
            clients_[client].request_update(*this, client, false, false);
            transport_.flush();
          });
          break;
        case ExecuteEffect::kFirmwareUpdate:
        case ExecuteEffect::kFirmwareCancel:
          firmware_execute(client, path, effect);
          break;
        case ExecuteEffect::kNone:
          break;
      }
      return code;
    }
    case Lwm2mOperation::kCreate: {
      if (!model(client).exists(path, ctx)) {
        return CoapCode::kNotFound;
      }
      if (const uint8_t code = decode_payload(path); code != 0) {
        return code;
      }
      uint16_t instance = 0;
      const uint8_t code = model(client).create(path, records, ctx, &data_.get(client), &instance);
      if (code == CoapCode::kCreated) {
        request_stats_.writes_applied.add();
        *location = std::to_string(path.object) + "/" + std::to_string(instance);
      }
      return code;
    }
    case Lwm2mOperation::kDelete: {
      const uint8_t code = model(client).remove(path, ctx, &data_.get(client));
      if (code == CoapCode::kDeleted) {
        request_stats_.writes_applied.add();
      }
      return code;
    }
    default:
      return CoapCode::kMethodNotAllowed;
  }
}

void Worker::after_change(uint32_t client, uint32_t lifetime_before,
                          const std::string& links_before) {
  const bool lifetime_changed = lifetime(client) != lifetime_before;
  const bool links_changed = links(client) != links_before;
  if (lifetime_changed || links_changed) {
    clients_[client].request_update(*this, client, lifetime_changed, links_changed);
  }
  refresh_observations(client);
}

int64_t Worker::data_bytes(uint32_t client) const {
  const ClientData* d = data_.find(client);
  // The map node: key, value and two pointers of bucket bookkeeping.
  return d == nullptr ? 0
                      : static_cast<int64_t>(sizeof(ClientData) + sizeof(uint32_t) +
                                             2 * sizeof(void*) + d->heap_bytes());
}

void Worker::reply(uint32_t client, const CoapMessage& request, Lwm2mOperation op, uint8_t code,
                   uint16_t format, std::span<const uint8_t> payload, const uint32_t* observe,
                   std::string_view location) {
  std::array<uint8_t, kCoapMaxMessageSize> buf;
  const bool con = request.type() == CoapType::kCon;
  const uint16_t mid = con ? request.message_id() : clients_[client].take_message_id();
  CoapWriter w(buf);
  w.header(con ? CoapType::kAck : CoapType::kNon, code, mid, request.token());
  if (observe != nullptr) {
    w.option_uint(CoapOption::kObserve, *observe);
  }
  if (!location.empty()) {
    w.option_path(CoapOption::kLocationPath, location);
  }
  if (!payload.empty()) {
    w.option_uint(CoapOption::kContentFormat, format);
  }
  w.payload(payload);
  std::span<const uint8_t> msg = w.finish();
  if (msg.empty()) {
    // Too large for one datagram (block-wise transfer is not offered): say so.
    code = CoapCode::kInternalServerError;
    CoapWriter e(buf);
    e.header(con ? CoapType::kAck : CoapType::kNon, code, mid, request.token());
    msg = e.finish();
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

uint32_t Worker::alloc_report(uint32_t client) {
  uint32_t slot = 0;
  if (!free_reports_.empty()) {
    slot = free_reports_.back();
    free_reports_.pop_back();
  } else {
    slot = static_cast<uint32_t>(reports_.size());
    reports_.emplace_back();
    wheel_.reserve(first_report_id_ + slot + 1);
  }
  reports_[slot] = Report{};
  reports_[slot].client = client;
  reports_[slot].peer = config_.client.server;
  reports_[slot].next = report_head_[client];
  report_head_[client] = slot;
  return slot;
}

void Worker::free_report(uint32_t slot) {
  Report& r = reports_[slot];
  if (r.client == UINT32_MAX) {
    return;
  }
  if (r.awaiting_ack && r.kind == ReportKind::kObservation) {
    exchange_end(ExchangeKind::kNotification, ExchangeEnd::kAbandoned);
  } else if (r.awaiting_ack && r.kind == ReportKind::kSend) {
    exchange_end(ExchangeKind::kSend, ExchangeEnd::kAbandoned);
  }
  wheel_.cancel(first_report_id_ + slot);
  for (uint32_t* link = &report_head_[r.client]; *link != UINT32_MAX;
       link = &reports_[*link].next) {
    if (*link == slot) {
      *link = r.next;
      break;
    }
  }
  r = Report{};
  free_reports_.push_back(slot);
}

Worker::Report* Worker::find_report(uint32_t client, std::span<const uint8_t> token) {
  const CoapToken t = CoapToken::from(token);
  for (uint32_t slot = report_head_[client]; slot != UINT32_MAX; slot = reports_[slot].next) {
    if (reports_[slot].token == t) {
      return &reports_[slot];
    }
  }
  return nullptr;
}

void Worker::schedule_report(uint32_t slot, TimeUs due) {
  if (due == kNoCheck) {
    wheel_.cancel(first_report_id_ + slot);
    return;
  }
  schedule(first_report_id_ + slot, due);
}

uint8_t Worker::read_report(const Report& r, const ClientContext& ctx,
                            std::vector<Record>* out) const {
  if (!r.composite.empty()) {
    return model(r.client).read_composite(r.composite, ctx, out);
  }
  return model(r.client).read(r.path, ctx, out);
}

ObservedSample Worker::sample_of(const Report& r, const ClientContext& ctx,
                                 std::span<const Record> records) const {
  ObservedSample s;
  s.t = ctx.t;
  s.digest = records_digest(records);
  if (r.composite.empty()) {
    const double v = model(r.client).number_at(r.path, ctx);
    if (!std::isnan(v)) {
      s.number = v;
    } else if (records.size() == 1) {
      if (const auto* b = std::get_if<bool>(&records.front().value)) {
        s.number = *b ? 1.0 : 0.0;
      }
    }
  }
  return s;
}

uint32_t Worker::add_observation(uint32_t client, const CoapMessage& request, const Lwm2mPath& path,
                                 std::vector<Lwm2mPath> composite, uint16_t format,
                                 std::span<const Record> records) {
  Report* existing = find_report(client, request.token());
  uint32_t slot = 0;
  if (existing != nullptr && existing->kind == ReportKind::kObservation) {
    // Re-registration of the same observation (RFC 7641 4.1): keep it, new target.
    slot = static_cast<uint32_t>(existing - reports_.data());
  } else {
    slot = alloc_report(client);
    request_stats_.observations.add();
  }
  Report& r = reports_[slot];
  r.token = request.token_value();
  r.path = path;
  r.composite = std::move(composite);
  r.format = format;
  r.sequence = next_observe_sequence(r.sequence);
  const ClientContext ctx = context(client);
  r.attrs = observation_attributes(client, r.composite.empty() ? path : Lwm2mPath{}, ctx);
  const ObservedSample sample = sample_of(r, ctx, records);
  r.state.reset(sample);
  const TimeUs period = model(client).is_constant(path, ctx) && r.composite.empty()
                            ? kNoCheck
                            : config_.sample_period;
  schedule_report(slot, decide(r.attrs, &r.state, sample, period).next_check);
  return r.sequence;
}

NotificationAttributes Worker::observation_attributes(uint32_t client, const Lwm2mPath& path,
                                                      const ClientContext& ctx) const {
  NotificationAttributes attrs = model(client).effective_attributes(path, ctx);
  const TimeUs every = group(client).spec->notify_every;
  if (every > 0 && !attrs.has(Attr::kPmax)) {
    attrs.set_pmax(static_cast<uint32_t>(std::max<TimeUs>(every / kUsPerSec, 1)));
  }
  return attrs;
}

void Worker::cancel_observation(uint32_t client, std::span<const uint8_t> token) {
  Report* r = find_report(client, token);
  if (r != nullptr && r->kind == ReportKind::kObservation) {
    request_stats_.observations_cancelled.add();
    free_report(static_cast<uint32_t>(r - reports_.data()));
  }
}

void Worker::drop_reports(uint32_t client) {
  while (report_head_[client] != UINT32_MAX) {
    const uint32_t slot = report_head_[client];
    const ReportKind kind = reports_[slot].kind;
    const uint32_t instance = reports_[slot].path.instance;
    free_report(slot);
    // A download or an installation the device went down in the middle of is lost.
    if (kind == ReportKind::kDownload) {
      fw_download_failed_.add();
      set_firmware_state(client, instance, firmware::kIdle, firmware::kResultConnectionLost, false);
    } else if (kind == ReportKind::kFirmwareApply) {
      fw_update_failed_.add();
      set_firmware_state(client, instance, firmware::kIdle, firmware::kResultFailed, false);
    }
  }
}

std::vector<uint32_t> Worker::report_slots(uint32_t client) const {
  std::vector<uint32_t> slots;
  for (uint32_t slot = report_head_[client]; slot != UINT32_MAX; slot = reports_[slot].next) {
    slots.push_back(slot);
  }
  return slots;
}

void Worker::refresh_observations(uint32_t client) {
  if (report_head_[client] == UINT32_MAX) {
    return;
  }
  const ClientContext ctx = context(client);
  for (uint32_t slot : report_slots(client)) {
    Report& r = reports_[slot];
    if (r.kind != ReportKind::kObservation) {
      continue;
    }
    r.attrs = observation_attributes(client, r.composite.empty() ? r.path : Lwm2mPath{}, ctx);
    if (!r.awaiting_ack) {
      // A write may have changed the observed value: look now.
      check_observation(slot);
    }
  }
}

void Worker::on_report_timer(uint32_t slot) {
  Report& r = reports_[slot];
  if (r.client == UINT32_MAX) {
    return;
  }
  if (r.awaiting_ack) {
    if (r.retransmits < config_.client.coap.max_retransmit) {
      ++r.retransmits;
      r.timeout *= 2;
      client_stats_.retransmissions.add();
      send_to(r.client, r.peer, r.inflight);
      schedule_report(slot, now() + r.timeout);
      return;
    }
    // RFC 7641 4.5: a CON notification nobody acknowledges ends the observation.
    client_stats_.timeouts.add();
    if (r.kind == ReportKind::kDownload) {
      firmware_failed(slot, firmware::kResultConnectionLost);
      return;
    }
    r.awaiting_ack = false;
    if (r.kind == ReportKind::kSend) {
      exchange_end(ExchangeKind::kSend, ExchangeEnd::kTimedOut);
      request_stats_.sends_failed.add();
      r.inflight.clear();
      schedule_report(slot, r.state.last_notified_at + send_interval(r.client));
      return;
    }
    exchange_end(ExchangeKind::kNotification, ExchangeEnd::kTimedOut);
    request_stats_.notification_timeouts.add();
    free_report(slot);
    return;
  }
  switch (r.kind) {
    case ReportKind::kSend:
    case ReportKind::kObservation: {
      const TimeUs t = now();
      if (asleep(r.client, t)) {
        // Queue mode: what comes due while the radio is off goes out when the device wakes.
        reports_deferred_.add();
        schedule_report(slot, wheel_.due(r.client) * kTickUs);
        return;
      }
      if (r.kind == ReportKind::kSend) {
        do_send(slot);
      } else {
        check_observation(slot);
      }
      return;
    }
    case ReportKind::kDownload:
      // The separate response after an empty ACK never came.
      firmware_failed(slot, firmware::kResultConnectionLost);
      return;
    case ReportKind::kFirmwareApply:
      firmware_apply(slot);
      return;
  }
}

bool Worker::asleep(uint32_t client, TimeUs t) const {
  const TimeUs sleep = group(client).spec->queue_sleep;
  // Registered, the timer is the wake-up Update, and the awake window before the sleep is over.
  return sleep > 0 && clients_[client].state() == ClientState::kRegistered &&
         wheel_.armed(client) && t + sleep >= wheel_.due(client) * kTickUs;
}

void Worker::check_observation(uint32_t slot) {
  Report& r = reports_[slot];
  const ClientState state = clients_[r.client].state();
  const ClientContext ctx = context(r.client);
  if (state != ClientState::kRegistered && state != ClientState::kUpdating) {
    schedule_report(slot, ctx.t + config_.sample_period);
    return;
  }
  std::vector<Record> records;
  const uint8_t code = read_report(r, ctx, &records);
  if (code != CoapCode::kContent) {
    // The target is gone (deleted instance): the last notification says so (RFC 7641 3.2).
    std::array<uint8_t, 64> buf;
    CoapWriter w(buf);
    w.header(CoapType::kNon, code, clients_[r.client].take_message_id(), r.token.view());
    if (w.ok()) {
      send(r.client, w.finish());
    }
    request_stats_.observations_cancelled.add();
    free_report(slot);
    return;
  }
  const ObservedSample sample = sample_of(r, ctx, records);
  const TimeUs period = r.composite.empty() && model(r.client).is_constant(r.path, ctx)
                            ? kNoCheck
                            : config_.sample_period;
  const NotifyDecision d = decide(r.attrs, &r.state, sample, period);
  if (d.notify) {
    send_notification(slot, records);
  }
  if (!reports_[slot].awaiting_ack) {
    schedule_report(slot, d.next_check);
  }
}

void Worker::send_notification(uint32_t slot, std::span<const Record> records) {
  Report& r = reports_[slot];
  std::vector<uint8_t> payload;
  const Lwm2mPath base = r.composite.empty() ? r.path : Lwm2mPath{};
  if (encode_records(r.client, base, r.format, records, &payload) != CoapCode::kContent) {
    return;
  }
  r.sequence = next_observe_sequence(r.sequence);
  const bool con = notification_is_confirmable(r.attrs, ++r.count, config_.notify_con_every);
  r.mid = clients_[r.client].take_message_id();
  std::array<uint8_t, kCoapMaxMessageSize> buf;
  CoapWriter w(buf);
  w.header(con ? CoapType::kCon : CoapType::kNon, CoapCode::kContent, r.mid, r.token.view())
      .option_uint(CoapOption::kObserve, r.sequence)
      .option_uint(CoapOption::kContentFormat, r.format)
      .payload(payload);
  if (!w.ok()) {
    return;
  }
  request_stats_.notifications.add();
  if (con) {
    request_stats_.notifications_con.add();
  }
  transmit_report(slot, w.finish(), con);
}

void Worker::transmit_report(uint32_t slot, std::span<const uint8_t> message, bool con) {
  Report& r = reports_[slot];
  if (con) {
    r.inflight.assign(message.begin(), message.end());
    r.awaiting_ack = true;
    r.retransmits = 0;
    r.timeout = static_cast<uint32_t>(config_.client.coap.initial_timeout(rng_));
    schedule_report(slot, now() + r.timeout);
  }
  send_to(r.client, r.peer, message);
}

void Worker::start_send(uint32_t client) {
  const SendPlan& plan = group(client).spec->profile->send();
  const std::vector<Lwm2mPath>& paths =
      group(client).spec->send_paths.empty() ? plan.paths : group(client).spec->send_paths;
  const TimeUs period = send_period(client);
  if (period == 0 || paths.empty() || config(client).version == Lwm2mVersion::k1_0) {
    return;
  }
  for (uint32_t slot = report_head_[client]; slot != UINT32_MAX; slot = reports_[slot].next) {
    if (reports_[slot].kind == ReportKind::kSend) {
      return;
    }
  }
  const uint32_t slot = alloc_report(client);
  Report& r = reports_[slot];
  r.kind = ReportKind::kSend;
  r.composite = paths;
  r.format = plan.format;
  r.token = CoapToken::from_u64(rng_.next(), 8);
  // Devices that registered together do not all send together.
  const TimeUs t = now();
  r.state.last_notified_at = t;
  schedule_report(slot, t + rng_.below(period) + 1);
}

TimeUs Worker::send_period(uint32_t client) const {
  const FleetGroup& g = *group(client).spec;
  return g.send_period > 0 ? g.send_period : g.profile->send().period;
}

TimeUs Worker::send_interval(uint32_t client) {
  const TimeUs period = send_period(client);
  const TimeUs jitter = std::min(group(client).spec->send_jitter, period / 2);
  // Uniform in [period - jitter, period + jitter].
  return period - jitter + (jitter > 0 ? rng_.below(2 * jitter + 1) : 0);
}

void Worker::do_send(uint32_t slot) {
  Report& r = reports_[slot];
  const SendPlan& plan = group(r.client).spec->profile->send();
  const ClientContext ctx = context(r.client);
  r.state.last_notified_at = ctx.t;
  // Scratch buffers of the worker: a Send allocates nothing once they have grown.
  std::vector<Record>& records = records_scratch_;
  std::vector<uint8_t>& payload = payload_scratch_;
  records.clear();
  payload.clear();
  const ClientState state = clients_[r.client].state();
  if ((state != ClientState::kRegistered && state != ClientState::kUpdating) ||
      model(r.client).read_composite(r.composite, ctx, &records) != CoapCode::kContent) {
    schedule_report(slot, ctx.t + send_interval(r.client));
    return;
  }
  CodecContext codec = model(r.client).codec_context({});
  codec.base_time = config_.unix_epoch_s + static_cast<int64_t>(ctx.t / kUsPerSec);
  if (!encode(r.format, codec, records, &payload).ok()) {
    schedule_report(slot, ctx.t + send_interval(r.client));
    return;
  }
  r.mid = clients_[r.client].take_message_id();
  std::array<uint8_t, kCoapMaxMessageSize> buf;
  CoapWriter w(buf);
  w.header(plan.confirmable ? CoapType::kCon : CoapType::kNon, CoapCode::kPost, r.mid,
           r.token.view())
      .option(CoapOption::kUriPath, std::string_view("dp"))
      .option_uint(CoapOption::kContentFormat, r.format)
      .payload(payload);
  if (!w.ok()) {
    schedule_report(slot, ctx.t + send_interval(r.client));
    return;
  }
  request_stats_.sends.add();
  if (plan.confirmable) {
    sends_confirmable_.add();
  }
  ++r.count;
  transmit_report(slot, w.finish(), plan.confirmable);
  if (!plan.confirmable) {
    schedule_report(slot, ctx.t + send_interval(r.client));
  }
}

bool Worker::on_report_response(uint32_t client, const CoapMessage& m) {
  if (report_head_[client] == UINT32_MAX) {
    return false;
  }
  const bool empty_or_ack = m.type() == CoapType::kAck || m.type() == CoapType::kRst;
  for (uint32_t slot = report_head_[client]; slot != UINT32_MAX; slot = reports_[slot].next) {
    Report& r = reports_[slot];
    const bool by_mid =
        empty_or_ack && r.mid == m.message_id() && (r.awaiting_ack || m.type() == CoapType::kRst);
    const bool by_token = !empty_or_ack &&
                          (r.kind == ReportKind::kSend || r.kind == ReportKind::kDownload) &&
                          m.is_response() && r.token == m.token_value();
    if (!by_mid && !by_token) {
      continue;
    }
    if (r.kind == ReportKind::kDownload) {
      on_download_response(slot, m);
      return true;
    }
    if (r.awaiting_ack) {
      exchange_end(r.kind == ReportKind::kSend ? ExchangeKind::kSend : ExchangeKind::kNotification,
                   ExchangeEnd::kAnswered);
      r.awaiting_ack = false;
    } else {
      outage_.answered(now());
    }
    if (m.type() == CoapType::kRst) {
      // RFC 7641 3.6: the server does not want this notification; for a Send, a refusal.
      if (r.kind == ReportKind::kSend) {
        request_stats_.sends_failed.add();
        r.awaiting_ack = false;
        r.inflight.clear();
        schedule_report(slot, r.state.last_notified_at + send_interval(client));
      } else {
        request_stats_.observations_cancelled.add();
        free_report(slot);
      }
      return true;
    }
    if (m.type() == CoapType::kCon) {
      std::array<uint8_t, 4> ack;
      send(client, coap_write_empty(ack, CoapType::kAck, m.message_id()));
    }
    r.awaiting_ack = false;
    r.inflight.clear();
    r.inflight.shrink_to_fit();
    if (r.kind == ReportKind::kSend) {
      if (m.is_empty() || coap_code_class(m.code()) == 2) {
        request_stats_.sends_ok.add();
      } else {
        request_stats_.sends_failed.add();
      }
      schedule_report(slot, r.state.last_notified_at + send_interval(client));
    } else {
      check_observation(slot);
    }
    return true;
  }
  return false;
}

void Worker::power_outages(TimeUs t) {
  // Every device of the group goes down at once, silently, and comes back within the window.
  while (!outages_.empty() && outages_.front().first <= t) {
    const GroupRuntime& g = groups_[outages_.front().second];
    outages_.erase(outages_.begin());
    for (uint32_t l = 0; l < local_count_; ++l) {
      const uint64_t i = global_index(l);
      if (i < g.first || i >= g.first + g.count) {
        continue;
      }
      const ClientState s = clients_[l].state();
      if (s == ClientState::kStopped || clients_[l].idle()) {
        continue;
      }
      outage_drops_.add();
      drop_reports(l);
      reset_link(l, true);
      clients_[l].reboot(*this, l, g.faults.outage_return(i, config_.seed).value_or(t));
    }
  }
}

std::pair<uint32_t, uint32_t> Worker::local_range(const GroupRuntime& g) const {
  const uint64_t w = layout_.workers;
  const auto first_local = [&](uint64_t i) { return i <= index_ ? 0 : (i - index_ + w - 1) / w; };
  return {static_cast<uint32_t>(first_local(g.first)),
          static_cast<uint32_t>(first_local(g.first + g.count))};
}

TimeUs Worker::reboots(TimeUs t) {
  TimeUs next = PhaseExecutor::kNever;
  for (size_t k = 0; k < groups_.size(); ++k) {
    const GroupRuntime& g = groups_[k];
    const FleetGroup& spec = *g.spec;
    if (spec.reboot_every == 0) {
      continue;
    }
    const auto [lo, hi] = local_range(g);
    if (hi <= lo) {
      continue;
    }
    // Each device reboots on average every reboot_every: for the worker's share of the group,
    // a Poisson process of rate (devices / reboot_every); an event on an unregistered device
    // is a device that was down anyway.
    const double per_us = static_cast<double>(hi - lo) / static_cast<double>(spec.reboot_every);
    const auto gap = [&] {
      return static_cast<TimeUs>(-std::log(1.0 - rng_.uniform()) / per_us) + 1;
    };
    if (reboot_next_[k] == 0) {
      reboot_next_[k] = t + gap();
    }
    while (reboot_next_[k] <= t) {
      const uint32_t l = lo + static_cast<uint32_t>(rng_.below(hi - lo));
      if (is_registered(l)) {
        request_stats_.reboots.add();
        drop_reports(l);
        reset_link(l, true);
        clients_[l].reboot(*this, l, t + spec.reboot_downtime);
      }
      reboot_next_[k] += gap();
    }
    next = std::min(next, reboot_next_[k]);
  }
  return next;
}

void Worker::director_tick() {
  if (stopping_) {
    return;
  }
  const TimeUs t = now();
  power_outages(t);
  TimeUs outage = outages_.empty() ? PhaseExecutor::kNever : outages_.front().first;
  outage = std::min(outage, reboots(t));
  while (phase_ < timeline_.phases().size()) {
    const PhaseSpec& spec = timeline_.phases()[phase_];
    if (!executor_) {
      executor_ = make_executor(spec, layout_.workers, index_);
      executor_->begin(*this, timeline_.start_of(phase_));
    }
    const TimeUs next = executor_->advance(*this, t);
    if (stopping_) {
      return;  // a stop phase took over
    }
    const TimeUs end = timeline_.end_of(phase_);
    if (t < end || phase_ + 1 == timeline_.phases().size()) {
      const TimeUs wake = std::min({next, t < end ? end : PhaseExecutor::kNever, outage});
      if (wake != PhaseExecutor::kNever) {
        schedule(director_timer_id_, wake);
      }
      return;
    }
    executor_.reset();
    phase_.store(phase_ + 1, std::memory_order_relaxed);
  }
  if (outage != PhaseExecutor::kNever) {
    schedule(director_timer_id_, outage);
  }
}

bool Worker::start_device(uint32_t local, TimeUs due) {
  if (!clients_[local].idle()) {
    return false;
  }
  clients_[local].start(*this, local, due);
  return true;
}

void Worker::retire_device(uint32_t local, TimeUs) {
  clients_[local].retire(*this, local, false);
}

void Worker::cycle_device(uint32_t local, TimeUs) {
  churned_.add();
  clients_[local].retire(*this, local, true);
}

bool Worker::is_idle(uint32_t local) const {
  return clients_[local].idle();
}

bool Worker::is_registered(uint32_t local) const {
  const ClientState s = clients_[local].state();
  return s == ClientState::kRegistered || s == ClientState::kUpdating;
}

void Worker::stop_all(double rate) {
  if (rate > 0) {
    stop_rate_ = rate;
  }
  begin_stop();
}

void Worker::request_stop() {
  loop_.post([this] { begin_stop(); });
}

void Worker::begin_stop() {
  if (stopping_) {
    return;
  }
  stopping_ = true;
  stop_started_ = now();
  outage_.stop(stop_started_);
  stop_deadline_ = stop_started_ + config_.stop_timeout;
  if (state_counts_[static_cast<size_t>(ClientState::kStopped)].value() == int64_t{local_count_}) {
    loop_.post([this] { finish_stop(); });
    return;
  }
  stop_sweep();
  transport_.flush();
}

void Worker::stop_sweep() {
  const TimeUs t = now();
  if (stop_cursor_ < local_count_) {
    // Paced so a large fleet's De-registers do not arrive as one burst.
    const double per_worker = stop_rate_ / layout_.workers;
    const TimeUs elapsed = t - stop_started_;
    const uint64_t allowed =
        per_worker <= 0
            ? local_count_
            : static_cast<uint64_t>(per_worker * static_cast<double>(elapsed) / 1e6) + 1;
    const uint32_t target = static_cast<uint32_t>(std::min<uint64_t>(allowed, local_count_));
    while (stop_cursor_ < target) {
      const uint32_t id = stop_cursor_++;
      clients_[id].stop(*this, id);
    }
  }
  if (t >= stop_deadline_) {
    // Out of time: whoever has not finished is dropped and counted.
    for (uint32_t id = 0; id < local_count_; ++id) {
      if (clients_[id].state() != ClientState::kStopped) {
        abandoned_.add();
        clients_[id].abandon(*this, id);
      }
    }
    loop_.post([this] { finish_stop(); });
    return;
  }
  schedule(stop_timer_id_, stop_cursor_ < local_count_ ? t + kTickUs : stop_deadline_);
}

void Worker::finish_stop() {
  if (finished_.load(std::memory_order_relaxed) || loop_.stopped()) {
    return;
  }
  transport_.close();
  loop_.stop();
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
  out->notifications_con += r.notifications_con.value();
  out->notification_timeouts += r.notification_timeouts.value();
  out->observations_cancelled += r.observations_cancelled.value();
  out->sends += r.sends.value();
  out->sends_ok += r.sends_ok.value();
  out->sends_failed += r.sends_failed.value();
  out->reboots += r.reboots.value();
  out->writes_applied += r.writes_applied.value();
  out->clients_with_data += static_cast<uint64_t>(clients_with_data_.value());
  out->client_data_bytes += static_cast<uint64_t>(client_data_bytes_.value());
  out->malformed += r.malformed.value();
  out->unknown_address += r.unknown_address.value();
  for (size_t i = 0; i < kCoapParseErrorCount; ++i) {
    out->malformed_by[i] += r.malformed_by[i].value();
  }
  out->bad_option += r.bad_option.value();
  out->pings += r.pings.value();
  out->resets += c.resets.value();
  const TransportStats& t = transport_.stats();
  // Cut by the receive buffer: longer than any CoAP message the fleet accepts.
  out->malformed += t.truncated_in.value();
  out->malformed_by[static_cast<size_t>(CoapParseError::kTooLarge)] += t.truncated_in.value();
  out->datagrams_in += t.datagrams_in.value();
  out->datagrams_out += t.datagrams_out.value();
  out->bytes_in += t.bytes_in.value();
  out->bytes_out += t.bytes_out.value();
  out->send_errors += t.send_errors.value();
  out->abandoned += abandoned_.value();
  out->dropped_arrivals += dropped_arrivals_.value();
  out->faults_dropped_up += faults_dropped_up_.value();
  out->faults_dropped_down += faults_dropped_down_.value();
  out->faults_delayed += faults_delayed_.value();
  out->faults_duplicated += faults_duplicated_.value();
  out->outage_drops += outage_drops_.value();
  out->nat_drops += nat_stale_drops_.value();
  out->sleep_drops += sleep_drops_.value();
  out->reports_deferred += reports_deferred_.value();
  out->fw_downloads += fw_downloads_.value();
  out->fw_blocks += fw_blocks_.value();
  out->fw_downloaded += fw_downloaded_.value();
  out->fw_download_failed += fw_download_failed_.value();
  out->fw_updated += fw_updated_.value();
  out->fw_update_failed += fw_update_failed_.value();
  out->churned += churned_.value();
  out->bootstrap_sent += c.bootstrap_sent.value();
  out->bootstrap_ok += c.bootstrap_ok.value();
  out->bootstrap_failed += c.bootstrap_failed.value();
  out->link_failed += c.link_failed.value();
  out->bootstrap_latency.merge(c.bootstrap_latency.snapshot());
  const DtlsStats& d = dtls_stats_;
  out->dtls_handshakes += d.handshakes.value();
  out->dtls_resumed += d.resumed.value();
  for (size_t k = 0; k < kDtlsFailureCount; ++k) {
    out->dtls_failed[k] += d.failed[k].value();
  }
  out->dtls_retransmits += d.retransmits.value();
  out->dtls_closes += d.closes.value();
  out->dtls_peer_closes += d.peer_closes.value();
  out->dtls_records_dropped += d.records_dropped.value();
  out->dtls_plain_dropped += d.plain_dropped.value();
  out->dtls_unsent += d.unsent.value();
  out->dtls_established += d.established.value();
  out->dtls_handshake_time.merge(d.handshake_time.snapshot());
  out->phase = std::min(out->phase, phase_.load(std::memory_order_relaxed));
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
  const std::array<uint64_t, kExchangeKindCount> sent = {
      c.register_sent.value(),     c.update_sent.value(),      c.deregister_sent.value(),
      r.notifications_con.value(), sends_confirmable_.value(), c.bootstrap_sent.value()};
  for (size_t k = 0; k < kExchangeKindCount; ++k) {
    ExchangeTally& x = out->exchanges[k];
    x.sent += sent[k];
    x.answered += exchange_ends_[k].answered.value();
    x.timed_out += exchange_ends_[k].timed_out.value();
    x.abandoned += exchange_ends_[k].abandoned.value();
  }
}

}  // namespace lwm2msim

#include "sim/client/virtual_client.h"

#include <algorithm>
#include <array>

namespace lwm2msim {
namespace {

constexpr uint8_t kTokenLength = 4;
// Segments of a registration location the client keeps: its Updates carry them as Uri-Path
// options next to the queries, within CoapMessage::kMaxOptions.
constexpr size_t kMaxLocationSegments = 16;

CoapToken token_of(uint32_t value) {
  return CoapToken::from_u64(value, kTokenLength);
}

}  // namespace

std::string_view to_string(ClientState s) {
  switch (s) {
    case ClientState::kIdle:
      return "idle";
    case ClientState::kRegistering:
      return "registering";
    case ClientState::kRegistered:
      return "registered";
    case ClientState::kUpdating:
      return "updating";
    case ClientState::kDeregistering:
      return "deregistering";
    case ClientState::kBackoff:
      return "backoff";
    case ClientState::kStopped:
      return "stopped";
    case ClientState::kConnecting:
      return "connecting";
    case ClientState::kBootstrapping:
      return "bootstrapping";
  }
  return "unknown";
}

std::string_view ClientConfig::endpoint_name(uint64_t index, std::span<char> buf) const {
  return endpoint_names ? std::string_view((*endpoint_names)[index - endpoint_base])
                        : endpoint_pattern.format(index, buf);
}

TimeUs ClientConfig::update_interval(uint32_t lifetime_seconds) const {
  const TimeUs lifetime = TimeUs{lifetime_seconds} * kUsPerSec;
  const TimeUs margin = update_margin != 0 ? update_margin : lifetime / 10;
  const TimeUs by_lifetime =
      lifetime > margin ? std::max<TimeUs>(lifetime - margin, kUsPerSec) : kUsPerSec;
  return update_every > 0 ? std::min(update_every, by_lifetime) : by_lifetime;
}

void VirtualClient::set_state(ClientEnv& env, uint32_t id, ClientState next) {
  if (next != state_) {
    env.on_state_change(id, state_, next);
    state_ = next;
  }
}

void VirtualClient::start(ClientEnv& env, uint32_t id, TimeUs due) {
  if (state_ != ClientState::kIdle) {
    return;
  }
  if ((flags_ & kSeeded) == 0) {
    // RFC 7252 4.4: message ids start at a random value.
    next_mid_ = static_cast<uint16_t>(env.rng().next());
    flags_ |= kSeeded;
  }
  flags_ |= kStartScheduled;
  env.schedule(id, due);
}

void VirtualClient::on_timer(ClientEnv& env, uint32_t id, TimeUs due) {
  switch (state_) {
    case ClientState::kIdle:
    case ClientState::kBackoff:
      flags_ &= static_cast<uint16_t>(~kStartScheduled);
      if ((flags_ & kStopRequested) != 0) {
        finish(env, id);
        return;
      }
      begin_exchange(env, id, first_exchange(env, id), due);
      return;
    case ClientState::kRegistered:
      begin_exchange(env, id, ClientState::kUpdating, due);
      return;
    case ClientState::kBootstrapping:
      if ((flags_ & kProvisioning) != 0) {
        // No Bootstrap-Finish in time.
        flags_ &= static_cast<uint16_t>(~kProvisioning);
        exchange_failed(env, id, false);
        return;
      }
      [[fallthrough]];
    case ClientState::kRegistering:
    case ClientState::kUpdating:
    case ClientState::kDeregistering:
      if ((flags_ & kAwaitingSeparate) != 0 || retransmits_ >= env.config(id).coap.max_retransmit) {
        env.exchange_ended(id, state_, ExchangeEnd::kTimedOut);
        exchange_failed(env, id, true);
        return;
      }
      ++retransmits_;
      timeout_ *= 2;
      env.stats().retransmissions.add();
      transmit(env, id);
      env.schedule(id, env.now() + timeout_);
      return;
    case ClientState::kConnecting:
    case ClientState::kStopped:
      return;
  }
}

ClientState VirtualClient::first_exchange(ClientEnv& env, uint32_t id) const {
  return env.config(id).bootstrap && (flags_ & kBootstrapped) == 0 ? ClientState::kBootstrapping
                                                                   : ClientState::kRegistering;
}

void VirtualClient::begin_exchange(ClientEnv& env, uint32_t id, ClientState next, TimeUs due) {
  const bool to_bootstrap = next == ClientState::kBootstrapping;
  if (!env.link_ready(id, to_bootstrap)) {
    // The handshake comes first; the exchange's timers start once the link is up.
    after_connect_ = next;
    due_at_ = due;
    set_state(env, id, ClientState::kConnecting);
    env.connect(id, to_bootstrap);
    return;
  }
  ClientStats& stats = env.stats();
  switch (next) {
    case ClientState::kBootstrapping:
      stats.bootstrap_sent.add();
      break;
    case ClientState::kRegistering:
      stats.register_sent.add();
      break;
    case ClientState::kUpdating:
      stats.update_sent.add();
      break;
    case ClientState::kDeregistering:
      stats.deregister_sent.add();
      break;
    default:
      break;
  }
  set_state(env, id, next);
  pending_mid_ = next_mid_++;
  token_ = static_cast<uint32_t>(env.rng().next());
  retransmits_ = 0;
  flags_ &= static_cast<uint16_t>(~kAwaitingSeparate);
  due_at_ = due;
  sent_at_ = env.send_time();
  timeout_ = static_cast<uint32_t>(env.config(id).coap.initial_timeout(env.rng()));
  transmit(env, id);
  env.schedule(id, sent_at_ + timeout_);
}

void VirtualClient::transmit(ClientEnv& env, uint32_t id) {
  const ClientConfig& cfg = env.config(id);
  std::array<uint8_t, kCoapMaxMessageSize> buf;
  std::span<const uint8_t> msg;
  const CoapToken token = token_of(token_);
  switch (state_) {
    case ClientState::kRegistering: {
      std::array<char, 64> name;
      RegistrationParams p;
      p.endpoint = cfg.endpoint_name(env.global_index(id), name);
      p.lifetime_s = env.lifetime(id);
      p.version = cfg.version;
      p.binding = cfg.binding;
      p.links = env.links(id);
      msg = build_register(buf, pending_mid_, token, p);
      break;
    }
    case ClientState::kUpdating:
      msg = build_update(buf, pending_mid_, token, location_,
                         (flags_ & kLifetimeChanged) != 0 ? env.lifetime(id) : 0,
                         (flags_ & kLinksChanged) != 0 ? env.links(id) : std::string_view{});
      break;
    case ClientState::kDeregistering:
      msg = build_deregister(buf, pending_mid_, token, location_);
      break;
    case ClientState::kBootstrapping: {
      std::array<char, 64> name;
      const std::string_view endpoint = cfg.endpoint_name(env.global_index(id), name);
      msg = build_bootstrap_request(buf, pending_mid_, token, endpoint,
                                    cfg.version == Lwm2mVersion::k1_0 ? 0 : cfg.bootstrap_format);
      break;
    }
    default:
      return;
  }
  if (!msg.empty()) {
    env.send(id, msg);
  }
}

void VirtualClient::on_response(ClientEnv& env, uint32_t id, const CoapMessage& m) {
  const bool pending = state_ == ClientState::kRegistering || state_ == ClientState::kUpdating ||
                       state_ == ClientState::kDeregistering ||
                       (state_ == ClientState::kBootstrapping && (flags_ & kProvisioning) == 0);
  std::array<uint8_t, 4> ack;
  switch (m.type()) {
    case CoapType::kAck:
    case CoapType::kRst:
      if (!pending || m.message_id() != pending_mid_ || (flags_ & kAwaitingSeparate) != 0) {
        env.stats().unexpected.add();
        return;
      }
      if (m.type() == CoapType::kRst) {
        env.exchange_ended(id, state_, ExchangeEnd::kAnswered);
        exchange_failed(env, id, false);
        return;
      }
      if (m.is_empty()) {
        // Separate response follows (RFC 7252 5.2.2): stop retransmitting, wait for it.
        flags_ |= kAwaitingSeparate;
        env.schedule(id, env.now() + env.config(id).separate_response_timeout);
        return;
      }
      if (m.token().size() != kTokenLength || CoapToken::from(m.token()).as_u64() != token_) {
        env.stats().unexpected.add();
        return;
      }
      exchange_done(env, id, m);
      return;
    case CoapType::kCon:
    case CoapType::kNon: {
      if (!m.is_response()) {
        env.stats().unexpected.add();
        return;
      }
      const bool matches = pending && m.token().size() == kTokenLength &&
                           CoapToken::from(m.token()).as_u64() == token_;
      if (m.type() == CoapType::kCon) {
        if (matches || m.message_id() == last_separate_mid_) {
          env.send(id, coap_write_empty(ack, CoapType::kAck, m.message_id()));
        } else {
          env.stats().resets.add();
          env.send(id, coap_write_empty(ack, CoapType::kRst, m.message_id()));
        }
      }
      if (!matches) {
        env.stats().unexpected.add();
        return;
      }
      last_separate_mid_ = m.message_id();
      env.stats().separate_responses.add();
      exchange_done(env, id, m);
      return;
    }
  }
}

bool VirtualClient::exchange_pending() const {
  return state_ == ClientState::kRegistering || state_ == ClientState::kUpdating ||
         state_ == ClientState::kDeregistering ||
         (state_ == ClientState::kBootstrapping && (flags_ & kProvisioning) == 0);
}

void VirtualClient::exchange_done(ClientEnv& env, uint32_t id, const CoapMessage& response) {
  env.exchange_ended(id, state_, ExchangeEnd::kAnswered);
  ClientStats& stats = env.stats();
  const TimeUs now = env.now();
  flags_ &= static_cast<uint16_t>(~kAwaitingSeparate);
  const uint8_t code = response.code();
  switch (state_) {
    case ClientState::kRegistering: {
      if (code != CoapCode::kCreated) {
        stats.register_failed.add();
        enter_backoff(env, id);
        return;
      }
      std::array<char, 256> path;
      bool ok = false;
      const std::string_view loc = response.join(CoapOption::kLocationPath, path, &ok);
      if (!ok || loc.empty() ||
          static_cast<size_t>(std::count(loc.begin(), loc.end(), '/')) >= kMaxLocationSegments) {
        // A 2.01 without a location (or one too long to address) cannot be updated or deleted:
        // treat as a failure.
        stats.register_failed.add();
        enter_backoff(env, id);
        return;
      }
      location_.assign(loc);
      // A Register carries everything an Update would have.
      flags_ &= static_cast<uint16_t>(~(kUpdateWanted | kLifetimeChanged | kLinksChanged));
      stats.register_ok.add();
      stats.register_latency.record(now - due_at_);
      stats.register_rtt.record(now - sent_at_);
      failures_ = 0;
      if ((flags_ & (kStopRequested | kRetire)) != 0) {
        begin_deregister(env, id, now);
        return;
      }
      enter_registered(env, id);
      return;
    }
    case ClientState::kUpdating:
      if (code == CoapCode::kChanged) {
        stats.update_ok.add();
        stats.update_latency.record(now - due_at_);
        stats.update_rtt.record(now - sent_at_);
        failures_ = 0;
        flags_ &= static_cast<uint16_t>(~(kLifetimeChanged | kLinksChanged));
        if ((flags_ & (kStopRequested | kRetire)) != 0) {
          begin_deregister(env, id, now);
          return;
        }
        enter_registered(env, id);
        return;
      }
      stats.update_failed.add();
      if (code == CoapCode::kNotFound) {
        // LwM2M TS 1.1 6.2.2: the registration is gone on the server; register again at once.
        stats.update_not_found.add();
        location_.clear();
        if ((flags_ & kStopRequested) != 0) {
          finish(env, id);
          return;
        }
        begin_exchange(env, id, ClientState::kRegistering, now);
        return;
      }
      enter_backoff(env, id);
      return;
    case ClientState::kDeregistering:
      if (code == CoapCode::kDeleted) {
        stats.deregister_ok.add();
        stats.deregister_latency.record(now - due_at_);
        stats.deregister_rtt.record(now - sent_at_);
      } else {
        stats.deregister_failed.add();
      }
      env.disconnect(id);
      finish(env, id);
      return;
    case ClientState::kBootstrapping:
      if (code != CoapCode::kChanged) {
        stats.bootstrap_failed.add();
        enter_backoff(env, id);
        return;
      }
      if ((flags_ & (kStopRequested | kRetire)) != 0) {
        finish(env, id);
        return;
      }
      // The bootstrap server provisions the client now; Bootstrap-Finish ends it.
      flags_ |= kProvisioning;
      env.schedule(id, now + env.config(id).bootstrap_timeout);
      return;
    default:
      return;
  }
}

void VirtualClient::on_bootstrap_finish(ClientEnv& env, uint32_t id) {
  if (!provisioning()) {
    return;
  }
  ClientStats& stats = env.stats();
  const TimeUs now = env.now();
  flags_ &= static_cast<uint16_t>(~kProvisioning);
  flags_ |= kBootstrapped;
  stats.bootstrap_ok.add();
  stats.bootstrap_latency.record(now - due_at_);
  failures_ = 0;
  env.cancel_timer(id);
  env.disconnect(id);
  if ((flags_ & (kStopRequested | kRetire)) != 0) {
    finish(env, id);
    return;
  }
  begin_exchange(env, id, ClientState::kRegistering, now);
}

void VirtualClient::on_link_up(ClientEnv& env, uint32_t id) {
  if (state_ != ClientState::kConnecting) {
    return;
  }
  const ClientState next = after_connect_;
  if ((flags_ & (kStopRequested | kRetire)) != 0 &&
      (next == ClientState::kRegistering || next == ClientState::kBootstrapping)) {
    // Stopping: nothing registered, so nothing to say to the server.
    env.disconnect(id);
    finish(env, id);
    return;
  }
  begin_exchange(env, id, next, due_at_);
}

void VirtualClient::on_link_failed(ClientEnv& env, uint32_t id) {
  if (state_ != ClientState::kConnecting) {
    return;
  }
  env.stats().link_failed.add();
  if ((flags_ & (kStopRequested | kRetire)) != 0 || after_connect_ == ClientState::kDeregistering) {
    finish(env, id);
    return;
  }
  enter_backoff(env, id);
}

void VirtualClient::exchange_failed(ClientEnv& env, uint32_t id, bool timed_out) {
  ClientStats& stats = env.stats();
  if (timed_out) {
    stats.timeouts.add();
    env.link_lost(id);
  }
  flags_ &= static_cast<uint16_t>(~kAwaitingSeparate);
  switch (state_) {
    case ClientState::kBootstrapping:
      stats.bootstrap_failed.add();
      break;
    case ClientState::kRegistering:
      stats.register_failed.add();
      break;
    case ClientState::kUpdating:
      stats.update_failed.add();
      break;
    case ClientState::kDeregistering:
      stats.deregister_failed.add();
      finish(env, id);
      return;
    default:
      return;
  }
  if ((flags_ & (kStopRequested | kRetire)) != 0) {
    finish(env, id);
    return;
  }
  enter_backoff(env, id);
}

void VirtualClient::enter_registered(ClientEnv& env, uint32_t id) {
  set_state(env, id, ClientState::kRegistered);
  if ((flags_ & kUpdateWanted) != 0) {
    flags_ &= static_cast<uint16_t>(~kUpdateWanted);
    begin_exchange(env, id, ClientState::kUpdating, env.now());
    return;
  }
  env.schedule(id, env.now() + env.config(id).update_interval(env.lifetime(id)));
}

void VirtualClient::request_update(ClientEnv& env, uint32_t id, bool lifetime_changed,
                                   bool links_changed) {
  if (lifetime_changed) {
    flags_ |= kLifetimeChanged;
  }
  if (links_changed) {
    flags_ |= kLinksChanged;
  }
  if ((flags_ & kStopRequested) != 0) {
    return;
  }
  switch (state_) {
    case ClientState::kRegistered:
      begin_exchange(env, id, ClientState::kUpdating, env.now());
      return;
    case ClientState::kUpdating:
      flags_ |= kUpdateWanted;
      return;
    default:
      // A Register (pending or after backoff) announces the current lifetime and links anyway.
      return;
  }
}

void VirtualClient::reboot(ClientEnv& env, uint32_t id, TimeUs due) {
  if (state_ == ClientState::kStopped || (flags_ & kStopRequested) != 0) {
    return;
  }
  if (exchange_pending()) {
    env.exchange_ended(id, state_, ExchangeEnd::kAbandoned);
  }
  flags_ &= static_cast<uint16_t>(
      ~(kAwaitingSeparate | kUpdateWanted | kLifetimeChanged | kLinksChanged | kProvisioning));
  location_.clear();
  failures_ = 0;
  set_state(env, id, ClientState::kIdle);
  flags_ |= kStartScheduled;
  env.schedule(id, due);
}

void VirtualClient::enter_backoff(ClientEnv& env, uint32_t id) {
  const ClientConfig& cfg = env.config(id);
  if (failures_ < 63) {
    ++failures_;
  }
  const int shift = std::min<int>(failures_ - 1, 30);
  const TimeUs cap = std::min<TimeUs>(cfg.backoff_max, cfg.backoff_base << shift);
  const TimeUs delay = cap / 2 + env.rng().below(cap / 2 + 1);
  env.stats().backoffs.add();
  flags_ &= static_cast<uint16_t>(~kProvisioning);
  location_.clear();
  set_state(env, id, ClientState::kBackoff);
  env.schedule(id, env.now() + delay);
}

void VirtualClient::begin_deregister(ClientEnv& env, uint32_t id, TimeUs due) {
  begin_exchange(env, id, ClientState::kDeregistering, due);
}

void VirtualClient::finish(ClientEnv& env, uint32_t id) {
  env.cancel_timer(id);
  location_.clear();
  location_.shrink_to_fit();
  if ((flags_ & kRetire) != 0 && (flags_ & kStopRequested) == 0) {
    const bool again = (flags_ & kCycle) != 0;
    flags_ &= static_cast<uint16_t>(~(kRetire | kCycle | kAwaitingSeparate | kUpdateWanted |
                                      kLifetimeChanged | kLinksChanged | kProvisioning));
    failures_ = 0;
    set_state(env, id, ClientState::kIdle);
    if (again) {
      flags_ |= kStartScheduled;
      env.schedule(id, env.now());
    }
    return;
  }
  set_state(env, id, ClientState::kStopped);
}

void VirtualClient::retire(ClientEnv& env, uint32_t id, bool again) {
  if (state_ == ClientState::kStopped || (flags_ & kStopRequested) != 0) {
    return;
  }
  flags_ |= kRetire;
  if (again) {
    flags_ |= kCycle;
  }
  switch (state_) {
    case ClientState::kIdle:
    case ClientState::kBackoff:
      flags_ &= static_cast<uint16_t>(~kStartScheduled);
      finish(env, id);
      return;
    case ClientState::kRegistered:
      begin_deregister(env, id, env.now());
      return;
    case ClientState::kBootstrapping:
      if ((flags_ & kProvisioning) != 0) {
        env.cancel_timer(id);
        finish(env, id);
      }
      return;
    default:
      // The pending exchange finishes first; its outcome leads to the De-register.
      return;
  }
}

void VirtualClient::stop(ClientEnv& env, uint32_t id) {
  flags_ |= kStopRequested;
  switch (state_) {
    case ClientState::kIdle:
    case ClientState::kBackoff:
      finish(env, id);
      return;
    case ClientState::kRegistered:
      begin_deregister(env, id, env.now());
      return;
    case ClientState::kBootstrapping:
      if ((flags_ & kProvisioning) != 0) {
        finish(env, id);
      }
      return;
    case ClientState::kRegistering:
    case ClientState::kUpdating:
    case ClientState::kDeregistering:
    case ClientState::kConnecting:
    case ClientState::kStopped:
      // Pending exchanges finish first; the stop flag turns their success into a De-register.
      return;
  }
}

void VirtualClient::abandon(ClientEnv& env, uint32_t id) {
  if (exchange_pending()) {
    env.exchange_ended(id, state_, ExchangeEnd::kAbandoned);
  }
  flags_ &= static_cast<uint16_t>(~kAwaitingSeparate);
  finish(env, id);
}

}  // namespace lwm2msim

// The worker's DTLS layer: each client's session with its bootstrap or LwM2M server sits between
// the client's CoAP messages and the link's faults and sockets.
#include <array>

#include "sim/fleet/worker.h"

namespace lwm2msim {

DtlsPsk PskPlan::psk_of(uint64_t index, std::string_view endpoint) const {
  DtlsPsk psk;
  const bool listed = identities && index >= first && index - first < identities->size();
  if (listed) {
    psk.identity = (*identities)[index - first];
  } else if (identity_pattern) {
    psk.identity = identity_pattern->format(index);
  } else {
    psk.identity = endpoint;
  }
  if (listed && keys && index - first < keys->size()) {
    psk.key = (*keys)[index - first];
  } else if (!seed.empty()) {
    psk.key = derive_psk(seed, psk.identity);
  } else {
    psk.key = key;
  }
  return psk;
}

bool Worker::secure(uint32_t client, bool bootstrap) const {
  if (secure_links_.empty()) {
    return false;
  }
  if (bootstrap) {
    return config_.bootstrap_secure;
  }
  if (!accounts_.empty() && config(client).bootstrap) {
    return accounts_[client].secure;
  }
  return config_.server_secure;
}

Endpoint4 Worker::server_of(uint32_t client) const {
  const ClientConfig& c = config(client);
  if (!c.bootstrap || accounts_.empty()) {
    return config_.client.server;
  }
  return clients_[client].bootstrapping() ? c.bootstrap_server : accounts_[client].server;
}

std::optional<DtlsPsk> Worker::psk_for(uint32_t client, bool bootstrap) const {
  if (!bootstrap && config(client).bootstrap) {
    // The account the bootstrap server wrote: /0/x/3 and /0/x/5.
    const std::optional<ProvisionedServer> account =
        model(client).provisioned_server(context(client));
    if (!account || account->security_mode != 0) {
      return std::nullopt;
    }
    return DtlsPsk{std::string(account->identity.begin(), account->identity.end()),
                   account->secret_key};
  }
  const PskPlan& plan = group(client).spec->psk;
  if (plan.empty()) {
    return std::nullopt;
  }
  std::array<char, 64> name;
  const uint64_t index = global_index(client);
  return plan.psk_of(index, config(client).endpoint_name(index, name));
}

bool Worker::link_ready(uint32_t client, bool bootstrap) {
  if (!secure(client, bootstrap)) {
    return true;
  }
  const SecureLink& l = secure_links_[client];
  if (l.bootstrap != bootstrap || l.session.state() != DtlsSession::State::kEstablished) {
    return false;
  }
  // A queue-mode device that slept (silent for over half its sleep) resumes its session on
  // waking: its NAT binding is gone.
  const TimeUs sleep = group(client).spec->queue_sleep;
  return !(sleep > 0 && now() - l.active > sleep / 2);
}

void Worker::connect(uint32_t client, bool bootstrap) {
  SecureLink& l = secure_links_[client];
  const bool was = l.session.state() == DtlsSession::State::kEstablished;
  const bool same_server = l.bootstrap == bootstrap;
  if (l.session.state() != DtlsSession::State::kIdle || !same_server) {
    l.session.reset(!same_server);
  }
  l.bootstrap = bootstrap;
  l.started = now();
  const std::optional<DtlsPsk> psk = psk_for(client, bootstrap);
  link_client_ = client;
  const DtlsEvents e = l.session.connect(*config_.dtls, psk ? &*psk : nullptr, same_server, now(),
                                         *dtls_scratch_, *this);
  link_client_ = UINT32_MAX;
  link_events(client, e, was);
}

void Worker::link_events(uint32_t client, const DtlsEvents& e, bool was_established) {
  SecureLink& l = secure_links_[client];
  dtls_stats_.retransmits.add(e.retransmits);
  dtls_stats_.records_dropped.add(e.records_dropped);
  const bool established = l.session.state() == DtlsSession::State::kEstablished;
  if (established != was_established) {
    dtls_stats_.established.add(established ? 1 : -1);
  }
  if (e.closed) {
    dtls_stats_.peer_closes.add();
  }
  VirtualClient& c = clients_[client];
  if (e.handshake_done) {
    dtls_stats_.handshakes.add();
    if (e.resumed) {
      dtls_stats_.resumed.add();
    }
    dtls_stats_.handshake_time.record(now() - l.started);
    c.on_link_up(*this, client);
    return;
  }
  if (e.failed) {
    dtls_stats_.failed[static_cast<size_t>(l.session.failure())].add();
    c.on_link_failed(*this, client);
    return;
  }
  if (c.state() == ClientState::kConnecting) {
    if (const TimeUs due = l.session.next_timer(); due > 0) {
      schedule(client, due);
    }
  }
}

void Worker::link_timer(uint32_t client) {
  SecureLink& l = secure_links_[client];
  const bool was = l.session.state() == DtlsSession::State::kEstablished;
  link_client_ = client;
  const DtlsEvents e = l.session.on_timer(now(), *dtls_scratch_, *this);
  link_client_ = UINT32_MAX;
  link_events(client, e, was);
}

void Worker::secure_receive(uint32_t client, std::span<const uint8_t> datagram) {
  SecureLink& l = secure_links_[client];
  const bool was = l.session.state() == DtlsSession::State::kEstablished;
  l.active = now();
  inbound_.clear();
  link_client_ = client;
  const DtlsEvents e = l.session.on_datagram(datagram, now(), *dtls_scratch_, *this);
  link_client_ = UINT32_MAX;
  // Handled after the session call: replies go back through the same session.
  std::vector<uint8_t> records;
  records.swap(inbound_);
  link_events(client, e, was);
  for (size_t at = 0; at + 2 <= records.size();) {
    const size_t length = size_t{records[at]} << 8 | records[at + 1];
    dispatch_coap(client, std::span<const uint8_t>(records).subspan(at + 2, length), true);
    at += 2 + length;
  }
  records.clear();
  inbound_.swap(records);
}

void Worker::send_datagram(std::span<const uint8_t> datagram) {
  if (link_client_ != UINT32_MAX) {
    link_send(link_client_, datagram);
  }
}

void Worker::deliver(std::span<const uint8_t> plaintext) {
  if (plaintext.size() > kCoapMaxMessageSize) {
    dtls_stats_.records_dropped.add();
    return;
  }
  inbound_.push_back(static_cast<uint8_t>(plaintext.size() >> 8));
  inbound_.push_back(static_cast<uint8_t>(plaintext.size()));
  inbound_.insert(inbound_.end(), plaintext.begin(), plaintext.end());
}

void Worker::link_lost(uint32_t client) {
  reset_link(client, false);
}

void Worker::reset_link(uint32_t client, bool forget) {
  if (secure_links_.empty()) {
    return;
  }
  SecureLink& l = secure_links_[client];
  if (l.session.state() == DtlsSession::State::kEstablished) {
    dtls_stats_.established.add(-1);
  }
  l.session.reset(forget);
}

void Worker::disconnect(uint32_t client) {
  if (secure_links_.empty()) {
    return;
  }
  SecureLink& l = secure_links_[client];
  if (l.session.state() != DtlsSession::State::kEstablished) {
    return;
  }
  link_client_ = client;
  l.session.close(*dtls_scratch_, *this);
  link_client_ = UINT32_MAX;
  dtls_stats_.closes.add();
  dtls_stats_.established.add(-1);
}

}  // namespace lwm2msim

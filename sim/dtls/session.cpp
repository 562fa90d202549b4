// DtlsSession: OpenSSL runs the handshake over the session's records; once the peer has proven it
// finished, the session derives the record keys, frees the SSL and protects records itself.
#include <openssl/crypto.h>
#include <openssl/err.h>

#include <algorithm>
#include <cstring>

#include "sim/dtls/dtls.h"
#include "sim/dtls/dtls_internal.h"

namespace lwm2msim {

using dtls_internal::AeadKind;
using dtls_internal::kContentAlert;
using dtls_internal::kContentAppData;
using dtls_internal::kContentCcs;
using dtls_internal::kContentHandshake;
using dtls_internal::kHandshakeClientHello;
using dtls_internal::parse_record;
using dtls_internal::RecordKeys;
using dtls_internal::RecordView;
using dtls_internal::SslPtr;

namespace {

// What an SSL costs while a session holds it (measured on OpenSSL 3.0: 69-71 KB).
constexpr size_t kSslHeapEstimate = 70 * 1024;

constexpr uint8_t kAlertWarning = 1;
constexpr uint8_t kAlertFatal = 2;
constexpr uint8_t kAlertCloseNotify = 0;
constexpr uint8_t kAlertBadRecordMac = 20;
constexpr uint8_t kHandshakeServerHello = 2;

}  // namespace

// The handshake: the SSL and what the session learns about it from OpenSSL's output and
// callbacks. Freed at the handover.
struct Handshake {
  SslPtr ssl;
  std::optional<DtlsPsk> psk;  // client: what the PSK callback hands to OpenSSL
  TimeUs start = 0;
  TimeUs done_at = 0;
  bool complete = false;
  bool keep_ssl = false;         // the suite is not one the record layer implements
  bool inbound_message = false;  // OpenSSL processed a handshake, CCS or alert message this feed
  bool server_hello_seen = false;
  bool bad_finished = false;
  int alert_read = -1;  // description of a fatal alert received / sent
  int alert_written = -1;
  uint16_t read_epoch = 0;
  bool wrote_any = false;
  uint16_t write_epoch = 0;  // highest epoch OpenSSL wrote, and the highest sequence in it
  uint64_t write_seq = 0;
  uint64_t epoch0_write_seq = 0;
  uint64_t read_seq = 0;  // highest authenticated sequence of read_epoch

  ~Handshake() {
    if (psk) {
      OPENSSL_cleanse(psk->key.data(), psk->key.size());
    }
  }
};

struct DtlsSession::Impl {
  const DtlsContext::Impl* ctx = nullptr;
  DtlsRole role = DtlsRole::kClient;
  State state = State::kIdle;
  DtlsFailure failure = DtlsFailure::kNone;
  TimeUs next_timer = 0;
  std::unique_ptr<Handshake> hs;
  std::optional<RecordKeys> keys;
  std::vector<uint8_t> resume;  // client: the last established session, DER
  std::vector<uint8_t> peer;    // server: the peer's address bytes, for cookies

  ~Impl() { forget_resume(); }
  void forget_resume() {
    OPENSSL_cleanse(resume.data(), resume.size());
    resume.clear();
    resume.shrink_to_fit();
  }
};

namespace {

using Impl = DtlsSession::Impl;

// One call into the session: where its output goes and what it reports.
struct Call {
  Impl& s;
  DtlsScratch::Impl& scratch;
  DtlsOutput& out;
  TimeUs now;
  DtlsEvents ev;
};

const DtlsConfig& config(const Impl& s) {
  return *s.ctx->config;
}

bool is_client_hello(const RecordView& rec) {
  return rec.type == kContentHandshake && rec.epoch == 0 && rec.fragment.size() >= 12 &&
         rec.fragment[0] == kHandshakeClientHello;
}

void track_written(Handshake& h, const RecordView& rec) {
  if (!h.wrote_any || rec.epoch > h.write_epoch) {
    h.write_epoch = rec.epoch;
    h.write_seq = rec.seq;
  } else if (rec.epoch == h.write_epoch) {
    h.write_seq = std::max(h.write_seq, rec.seq);
  }
  if (rec.epoch == 0) {
    h.epoch0_write_seq = h.wrote_any ? std::max(h.epoch0_write_seq, rec.seq) : rec.seq;
  }
  h.wrote_any = true;
}

// Cuts what OpenSSL wrote into datagrams of at most the MTU, whole records each. Returns whether
// anything was sent.
bool flush(Call& c) {
  std::vector<uint8_t>& buf = c.scratch.io.out;
  if (buf.empty()) {
    return false;
  }
  const size_t mtu = std::max<size_t>(config(c.s).mtu, dtls_internal::kRecordHeaderLen + 1);
  const std::span<const uint8_t> all(buf);
  size_t start = 0;
  size_t pos = 0;
  while (pos < all.size()) {
    const auto rec = parse_record(all.subspan(pos));
    const size_t len = rec ? rec->whole.size() : all.size() - pos;
    if (rec && c.s.hs != nullptr) {
      track_written(*c.s.hs, *rec);
    }
    if (pos > start && pos + len - start > mtu) {
      c.out.send_datagram(all.subspan(start, pos - start));
      start = pos;
    }
    pos += len;
  }
  c.out.send_datagram(all.subspan(start, pos - start));
  buf.clear();
  return true;
}

DtlsFailure from_alert(int desc, bool server_hello_seen) {
  switch (desc) {
    case SSL_AD_UNKNOWN_PSK_IDENTITY:
      return DtlsFailure::kUnknownPsk;
    case SSL_AD_BAD_RECORD_MAC:
    case SSL_AD_DECRYPT_ERROR:
      return DtlsFailure::kBadPsk;
    case SSL_AD_BAD_CERTIFICATE:
    case SSL_AD_UNSUPPORTED_CERTIFICATE:
    case SSL_AD_CERTIFICATE_REVOKED:
    case SSL_AD_CERTIFICATE_EXPIRED:
    case SSL_AD_CERTIFICATE_UNKNOWN:
    case SSL_AD_UNKNOWN_CA:
    case SSL_AD_ACCESS_DENIED:
    case SSL_AD_CERTIFICATE_REQUIRED:
      return DtlsFailure::kCertificate;
    case SSL_AD_INSUFFICIENT_SECURITY:
      return DtlsFailure::kNoCipher;
    case SSL_AD_HANDSHAKE_FAILURE:
      // Before the ServerHello the only thing to disagree on is the suite.
      return server_hello_seen ? DtlsFailure::kAlert : DtlsFailure::kNoCipher;
    default:
      return DtlsFailure::kAlert;
  }
}

std::optional<DtlsFailure> from_reason(int reason, bool server_hello_seen) {
  switch (reason) {
    case SSL_R_PSK_IDENTITY_NOT_FOUND:
      return DtlsFailure::kUnknownPsk;
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
    case SSL_R_NO_CERTIFICATES_RETURNED:
    case SSL_R_WRONG_CERTIFICATE_TYPE:
    case SSL_R_CA_MD_TOO_WEAK:
    case SSL_R_EE_KEY_TOO_SMALL:
    case SSL_R_BAD_SIGNATURE:
      return DtlsFailure::kCertificate;
    case SSL_R_NO_SHARED_CIPHER:
    case SSL_R_NO_CIPHERS_AVAILABLE:
    case SSL_R_NO_SHARED_SIGNATURE_ALGORITHMS:
      return DtlsFailure::kNoCipher;
    case SSL_R_DIGEST_CHECK_FAILED:
    case SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC:
      return DtlsFailure::kBadPsk;
    case SSL_R_READ_TIMEOUT_EXPIRED:
      return DtlsFailure::kTimeout;
    default:
      break;
  }
  if (reason >= SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256) {
    return from_alert(reason - SSL_AD_REASON_OFFSET, server_hello_seen);
  }
  return std::nullopt;
}

// Why OpenSSL gave up, from our own observations, its error queue and the alerts it saw.
DtlsFailure classify(const Handshake& h, int ssl_error) {
  std::optional<DtlsFailure> reason;
  while (const unsigned long e = ERR_get_error()) {
    if (!reason && ERR_GET_LIB(e) == ERR_LIB_SSL) {
      reason = from_reason(ERR_GET_REASON(e), h.server_hello_seen);
    }
  }
  if (h.bad_finished) {
    return DtlsFailure::kBadPsk;
  }
  if (reason) {
    return *reason;
  }
  if (h.alert_read >= 0) {
    return from_alert(h.alert_read, h.server_hello_seen);
  }
  if (h.alert_written >= 0) {
    return from_alert(h.alert_written, h.server_hello_seen);
  }
  return ssl_error == SSL_ERROR_SSL ? DtlsFailure::kProtocol : DtlsFailure::kInternal;
}

void compute_next_timer(Call& c) {
  Impl& s = c.s;
  if (s.hs == nullptr) {
    s.next_timer = 0;
    return;
  }
  const Handshake& h = *s.hs;
  const TimeUs limit = config(s).handshake_timeout;
  if (h.complete) {
    s.next_timer = h.keep_ssl ? 0 : h.done_at + limit;
    return;
  }
  TimeUs t = h.start + limit;
  timeval tv{};
  if (DTLSv1_get_timeout(h.ssl.get(), &tv) == 1) {
    const auto left = static_cast<TimeUs>(tv.tv_sec) * kUsPerSec + static_cast<TimeUs>(tv.tv_usec);
    t = std::min(t, c.now + left);
  }
  s.next_timer = std::max<TimeUs>(t, 1);
}

// The handshake ended without success. A server whose old keys still serve keeps them.
void fail(Call& c, DtlsFailure why) {
  flush(c);
  c.s.hs.reset();
  if (c.s.keys) {
    return;
  }
  c.s.state = DtlsSession::State::kFailed;
  c.s.failure = why;
  c.ev.failed = true;
}

void end_association(Call& c) {
  c.s.hs.reset();
  c.s.keys.reset();
  c.s.state = DtlsSession::State::kIdle;
  c.ev.closed = true;
}

void save_resumable(Impl& s, SSL* ssl) {
  const SSL_SESSION* session = SSL_get_session(ssl);
  if (session == nullptr || SSL_SESSION_is_resumable(session) != 1) {
    return;
  }
  // One encoding pass: OpenSSL allocates the DER, which is copied to an exact-size vector.
  unsigned char* der = nullptr;
  const int len = i2d_SSL_SESSION(const_cast<SSL_SESSION*>(session), &der);
  if (len <= 0 || der == nullptr) {
    return;
  }
  s.forget_resume();
  s.resume.assign(der, der + len);
  OPENSSL_clear_free(der, static_cast<size_t>(len));
}

void complete_handshake(Call& c) {
  Impl& s = c.s;
  Handshake& h = *s.hs;
  h.complete = true;
  h.done_at = c.now;
  if (h.psk) {
    OPENSSL_cleanse(h.psk->key.data(), h.psk->key.size());
    h.psk.reset();
  }
  h.keep_ssl = dtls_internal::aead_kind_of(SSL_get_current_cipher(h.ssl.get())) == AeadKind::kNone;
  // A server's new handshake replaces the association its old keys served.
  s.keys.reset();
  s.state = DtlsSession::State::kEstablished;
  s.failure = DtlsFailure::kNone;
  c.ev.handshake_done = true;
  c.ev.resumed = SSL_session_reused(h.ssl.get()) == 1;
  if (s.role == DtlsRole::kClient) {
    save_resumable(s, h.ssl.get());
  }
}

// Takes the record keys from OpenSSL and frees the SSL. The next write sequence follows the last
// record OpenSSL wrote; everything up to the last record it authenticated counts as received.
void handover(Call& c) {
  Impl& s = c.s;
  Handshake& h = *s.hs;
  if (h.keep_ssl || !h.wrote_any || h.write_epoch == 0 || h.write_epoch != h.read_epoch) {
    return;
  }
  RecordKeys keys;
  if (!dtls_internal::derive_record_keys(h.ssl.get(), s.role == DtlsRole::kServer, s.ctx->prf.get(),
                                         c.scratch, keys)) {
    h.keep_ssl = true;
    return;
  }
  keys.epoch = h.write_epoch;
  keys.write_seq = h.write_seq + 1;
  keys.window.top = h.read_seq;
  keys.window.bits = ~uint64_t{0};
  s.keys.emplace(keys);
  s.hs.reset();
}

// Runs the handshake, or reads application data once it is complete, with whatever input the
// BIO holds. Delivers at most one record's plaintext (after a possible handover).
void drive(Call& c, const RecordView* rec) {
  Impl& s = c.s;
  Handshake& h = *s.hs;
  SSL* ssl = h.ssl.get();
  dtls_internal::attach(ssl, c.scratch);
  c.scratch.call = {&s, s.peer};
  h.inbound_message = false;
  const bool was_complete = h.complete;
  if (!h.complete) {
    const int r = SSL_do_handshake(ssl);
    if (r == 1) {
      complete_handshake(c);
    } else {
      const int e = SSL_get_error(ssl, r);
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
        fail(c, classify(h, e));
        return;
      }
    }
  }
  int n = 0;
  if (h.complete) {
    n = SSL_read(ssl, c.scratch.plain.data(), static_cast<int>(c.scratch.plain.size()));
    if (n <= 0) {
      const int e = SSL_get_error(ssl, n);
      n = 0;
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
        // close_notify or a fatal alert: the association is over.
        flush(c);
        end_association(c);
        return;
      }
    }
  }
  // After completion OpenSSL writes only to repeat its last flight for a peer that lost it.
  if (flush(c) && was_complete) {
    ++c.ev.retransmits;
  }
  if (rec != nullptr && rec->epoch != 0 && rec->epoch == h.read_epoch) {
    if (h.inbound_message || n > 0) {
      h.read_seq = std::max(h.read_seq, rec->seq);
    } else {
      // OpenSSL drops a record of its current epoch silently when it does not authenticate.
      ++c.ev.records_dropped;
      if (!h.complete && rec->type == kContentHandshake) {
        // The peer's Finished: its key differs from ours. Tell it while our epoch is still 0.
        h.bad_finished = true;
        if (h.wrote_any && h.write_epoch == 0 && h.epoch0_write_seq < dtls_internal::kMaxSequence) {
          const uint64_t seq = h.epoch0_write_seq + 1;
          uint8_t alert[dtls_internal::kRecordHeaderLen + 2] = {
              kContentAlert,     0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, kAlertFatal,
              kAlertBadRecordMac};
          for (int i = 0; i < 6; ++i) {
            alert[5 + i] = static_cast<uint8_t>(seq >> (8 * (5 - i)));
          }
          c.out.send_datagram(alert);
        }
        fail(c, DtlsFailure::kBadPsk);
        return;
      }
    }
  }
  if (n > 0) {
    // The peer's first protected application record proves it has finished.
    handover(c);
    c.out.deliver(std::span(c.scratch.plain.data(), static_cast<size_t>(n)));
  }
}

void feed(Call& c, const RecordView& rec) {
  c.scratch.io.in = rec.whole;
  c.scratch.io.in_pending = true;
  drive(c, &rec);
  c.scratch.io.in_pending = false;
}

// A record for the keys the session holds itself.
void open_keyed(Call& c, const RecordView& rec) {
  RecordKeys& k = *c.s.keys;
  if (rec.epoch != k.epoch) {
    ++c.ev.records_dropped;
    return;
  }
  if (rec.type == kContentHandshake || rec.type == kContentCcs) {
    // A repeat of the peer's last flight; it has the answer already.
    return;
  }
  std::vector<uint8_t>& plain = c.scratch.opened;
  if (k.window.seen(rec.seq) || !dtls_internal::open_record(c.scratch, k, rec, plain)) {
    ++c.ev.records_dropped;
    return;
  }
  k.window.mark(rec.seq);
  if (rec.type == kContentAppData) {
    c.out.deliver(plain);
    return;
  }
  if (rec.type == kContentAlert && plain.size() >= 2) {
    if (plain[1] == kAlertCloseNotify || plain[0] == kAlertFatal) {
      end_association(c);
    }
    return;
  }
  ++c.ev.records_dropped;
}

// A ClientHello for a server session without a handshake. With cookies, a listener SSL answers
// it statelessly until it carries a valid cookie, then becomes the session's SSL.
void start_server_handshake(Call& c, const RecordView& rec) {
  Impl& s = c.s;
  DtlsContext::Impl& ctx = const_cast<DtlsContext::Impl&>(*s.ctx);
  SslPtr ssl;
  if (config(s).cookie_exchange) {
    ssl = ctx.take_listener();
    if (ssl == nullptr) {
      ++c.ev.records_dropped;
      return;
    }
    dtls_internal::attach(ssl.get(), c.scratch);
    c.scratch.call = {nullptr, s.peer};
    c.scratch.io.in = rec.whole;
    c.scratch.io.in_pending = true;
    const int r = DTLSv1_listen(ssl.get(), c.scratch.listen_addr.get());
    c.scratch.io.in_pending = false;
    flush(c);
    ERR_clear_error();
    if (r <= 0) {
      if (r < 0) {
        ++c.ev.records_dropped;
        ssl.reset();
      } else {
        ctx.give_back_listener(std::move(ssl));
      }
      return;
    }
  } else {
    ssl = dtls_internal::new_ssl(ctx, true);
    if (ssl == nullptr) {
      ++c.ev.records_dropped;
      return;
    }
  }
  s.hs = std::make_unique<Handshake>();
  s.hs->ssl = std::move(ssl);
  s.hs->start = c.now;
  if (!s.keys) {
    s.state = DtlsSession::State::kHandshaking;
    s.failure = DtlsFailure::kNone;
  }
  if (config(s).cookie_exchange) {
    // DTLSv1_listen kept the ClientHello inside the SSL.
    drive(c, nullptr);
  } else {
    feed(c, rec);
  }
}

void route(Call& c, const RecordView& rec) {
  Impl& s = c.s;
  if (s.hs != nullptr && s.keys) {
    // A new handshake on a server session: the old keys serve their epoch until it completes.
    if (rec.epoch == 0 || rec.type == kContentHandshake || s.hs->complete) {
      feed(c, rec);
    } else {
      open_keyed(c, rec);
    }
    return;
  }
  if (s.hs != nullptr) {
    feed(c, rec);
    return;
  }
  if (s.role == DtlsRole::kServer && s.ctx != nullptr && is_client_hello(rec)) {
    start_server_handshake(c, rec);
    return;
  }
  if (s.keys) {
    open_keyed(c, rec);
    return;
  }
  ++c.ev.records_dropped;
}

bool timed_out(const Impl& s, TimeUs now) {
  return s.hs != nullptr && !s.hs->complete &&
         now - s.hs->start >= s.ctx->config->handshake_timeout && now >= s.hs->start;
}

}  // namespace

namespace dtls_internal {

unsigned int session_psk_client(DtlsSession::Impl& session, char* identity,
                                unsigned int max_identity_len, unsigned char* psk,
                                unsigned int max_psk_len) {
  if (session.hs == nullptr || !session.hs->psk) {
    return 0;
  }
  const DtlsPsk& key = *session.hs->psk;
  if (key.identity.size() > max_identity_len || key.key.empty() || key.key.size() > max_psk_len) {
    return 0;
  }
  std::memcpy(identity, key.identity.data(), key.identity.size());
  identity[key.identity.size()] = '\0';
  std::memcpy(psk, key.key.data(), key.key.size());
  return static_cast<unsigned int>(key.key.size());
}

void session_info(DtlsSession::Impl& session, int where, int ret) {
  if (session.hs == nullptr || (ret >> 8) != kAlertFatal) {
    return;
  }
  if ((where & SSL_CB_READ) != 0) {
    session.hs->alert_read = ret & 0xff;
  } else if ((where & SSL_CB_WRITE) != 0) {
    session.hs->alert_written = ret & 0xff;
  }
}

void session_message(DtlsSession::Impl& session, int write_p, int content_type,
                     std::span<const uint8_t> message) {
  if (session.hs == nullptr || write_p != 0) {
    return;
  }
  Handshake& h = *session.hs;
  switch (content_type) {
    case SSL3_RT_CHANGE_CIPHER_SPEC:
      // Every handshake of a session starts in epoch 0; the peer's CCS moves reads to epoch 1.
      h.read_epoch = 1;
      h.inbound_message = true;
      break;
    case SSL3_RT_HANDSHAKE:
      h.inbound_message = true;
      if (!message.empty() && message[0] == kHandshakeServerHello) {
        h.server_hello_seen = true;
      }
      break;
    case SSL3_RT_ALERT:
      h.inbound_message = true;
      break;
    default:
      break;
  }
}

}  // namespace dtls_internal

DtlsSession::DtlsSession() = default;
DtlsSession::~DtlsSession() = default;
DtlsSession::DtlsSession(DtlsSession&&) noexcept = default;
DtlsSession& DtlsSession::operator=(DtlsSession&&) noexcept = default;

DtlsEvents DtlsSession::connect(const DtlsContext& ctx, const DtlsPsk* psk, bool resume, TimeUs now,
                                DtlsScratch& scratch, DtlsOutput& out) {
  if (impl_ == nullptr) {
    impl_ = std::make_unique<Impl>();
  }
  Impl& s = *impl_;
  Call c{s, scratch.impl(), out, now, {}};
  s.ctx = &ctx.impl();
  s.role = DtlsRole::kClient;
  s.hs.reset();
  s.keys.reset();
  s.failure = DtlsFailure::kNone;
  s.state = State::kHandshaking;
  ERR_clear_error();
  SslPtr ssl = dtls_internal::new_ssl(*s.ctx, false);
  if (ssl == nullptr) {
    ERR_clear_error();
    s.state = State::kFailed;
    s.failure = DtlsFailure::kInternal;
    c.ev.failed = true;
    return c.ev;
  }
  s.hs = std::make_unique<Handshake>();
  Handshake& h = *s.hs;
  h.start = now;
  if (psk != nullptr) {
    h.psk = *psk;
    if (!s.ctx->psk_ciphers.empty()) {
      SSL_set_cipher_list(ssl.get(), s.ctx->psk_ciphers.c_str());
    }
  }
  if (resume && !s.resume.empty()) {
    const unsigned char* p = s.resume.data();
    dtls_internal::SslSessionPtr session(
        d2i_SSL_SESSION(nullptr, &p, static_cast<long>(s.resume.size())));
    if (session != nullptr) {
      SSL_set_session(ssl.get(), session.get());
    }
  }
  h.ssl = std::move(ssl);
  drive(c, nullptr);
  compute_next_timer(c);
  ERR_clear_error();
  return c.ev;
}

DtlsEvents DtlsSession::accept(const DtlsContext& ctx, std::span<const uint8_t> peer,
                               std::span<const uint8_t> datagram, TimeUs now, DtlsScratch& scratch,
                               DtlsOutput& out) {
  const auto rec = parse_record(datagram);
  if (!rec || !is_client_hello(*rec)) {
    DtlsEvents ev;
    ev.records_dropped = 1;
    return ev;
  }
  if (impl_ != nullptr && (impl_->hs != nullptr || impl_->keys)) {
    return on_datagram(datagram, now, scratch, out);
  }
  // A session that only answers with a HelloVerifyRequest keeps nothing: work on a scratch Impl
  // and keep it only when a handshake starts.
  auto fresh = std::make_unique<Impl>();
  Impl& s = impl_ != nullptr ? *impl_ : *fresh;
  s.ctx = &ctx.impl();
  s.role = DtlsRole::kServer;
  s.peer.assign(peer.begin(), peer.end());
  Call c{s, scratch.impl(), out, now, {}};
  ERR_clear_error();
  start_server_handshake(c, *rec);
  if (s.hs == nullptr && s.state != State::kFailed) {
    s.peer.clear();
    s.peer.shrink_to_fit();
  }
  if (impl_ == nullptr && (s.hs != nullptr || s.state != State::kIdle)) {
    impl_ = std::move(fresh);
  }
  compute_next_timer(c);
  ERR_clear_error();
  return c.ev;
}

DtlsEvents DtlsSession::on_datagram(std::span<const uint8_t> datagram, TimeUs now,
                                    DtlsScratch& scratch, DtlsOutput& out) {
  DtlsEvents ev;
  if (impl_ == nullptr || impl_->ctx == nullptr) {
    ev.records_dropped = 1;
    return ev;
  }
  Impl& s = *impl_;
  Call c{s, scratch.impl(), out, now, {}};
  ERR_clear_error();
  if (timed_out(s, now)) {
    fail(c, DtlsFailure::kTimeout);
  }
  size_t pos = 0;
  while (pos < datagram.size()) {
    const auto rec = parse_record(datagram.subspan(pos));
    if (!rec) {
      ++c.ev.records_dropped;
      break;
    }
    pos += rec->whole.size();
    route(c, *rec);
  }
  compute_next_timer(c);
  ERR_clear_error();
  return c.ev;
}

bool DtlsSession::send(std::span<const uint8_t> plaintext, DtlsScratch& scratch, DtlsOutput& out) {
  if (impl_ == nullptr || impl_->state != State::kEstablished) {
    return false;
  }
  Impl& s = *impl_;
  DtlsScratch::Impl& sc = scratch.impl();
  if (s.keys) {
    sc.sealed.clear();
    if (!dtls_internal::seal_record(sc, *s.keys, kContentAppData, plaintext, sc.sealed)) {
      ERR_clear_error();
      return false;
    }
    out.send_datagram(sc.sealed);
    return true;
  }
  if (s.hs == nullptr || !s.hs->complete || plaintext.size() > dtls_internal::kMaxPlaintext) {
    return false;
  }
  Call c{s, sc, out, 0, {}};
  SSL* ssl = s.hs->ssl.get();
  dtls_internal::attach(ssl, sc);
  sc.call = {&s, s.peer};
  ERR_clear_error();
  static constexpr uint8_t kEmpty = 0;
  const int r = SSL_write(ssl, plaintext.empty() ? &kEmpty : plaintext.data(),
                          static_cast<int>(plaintext.size()));
  flush(c);
  ERR_clear_error();
  return r > 0 || plaintext.empty();
}

TimeUs DtlsSession::next_timer() const {
  return impl_ != nullptr ? impl_->next_timer : 0;
}

DtlsEvents DtlsSession::on_timer(TimeUs now, DtlsScratch& scratch, DtlsOutput& out) {
  if (impl_ == nullptr || impl_->hs == nullptr) {
    return {};
  }
  Impl& s = *impl_;
  Call c{s, scratch.impl(), out, now, {}};
  ERR_clear_error();
  Handshake& h = *s.hs;
  if (!h.complete) {
    if (timed_out(s, now)) {
      fail(c, DtlsFailure::kTimeout);
    } else {
      dtls_internal::attach(h.ssl.get(), c.scratch);
      c.scratch.call = {&s, s.peer};
      c.scratch.io.in_pending = false;
      ERR_clear_error();
      const int r = static_cast<int>(DTLSv1_handle_timeout(h.ssl.get()));
      if (flush(c) && r > 0) {
        ++c.ev.retransmits;
      }
      if (r < 0) {
        const DtlsFailure why = classify(h, SSL_ERROR_SSL);
        fail(c, why == DtlsFailure::kProtocol ? DtlsFailure::kTimeout : why);
      }
    }
  } else if (!h.keep_ssl && now >= h.done_at + config(s).handshake_timeout) {
    // Established but the peer stayed silent: its Finished was authenticated, so our last
    // flight either arrived or will be asked for in vain; free the SSL anyway.
    handover(c);
  }
  compute_next_timer(c);
  ERR_clear_error();
  return c.ev;
}

void DtlsSession::close(DtlsScratch& scratch, DtlsOutput& out) {
  if (impl_ == nullptr) {
    return;
  }
  Impl& s = *impl_;
  DtlsScratch::Impl& sc = scratch.impl();
  if (s.state == State::kEstablished) {
    if (s.keys) {
      const uint8_t alert[2] = {kAlertWarning, kAlertCloseNotify};
      sc.sealed.clear();
      if (dtls_internal::seal_record(sc, *s.keys, kContentAlert, alert, sc.sealed)) {
        out.send_datagram(sc.sealed);
      }
    } else if (s.hs != nullptr && s.hs->complete) {
      Call c{s, sc, out, 0, {}};
      dtls_internal::attach(s.hs->ssl.get(), sc);
      sc.call = {&s, s.peer};
      SSL_shutdown(s.hs->ssl.get());
      flush(c);
    }
  }
  ERR_clear_error();
  s.hs.reset();
  s.keys.reset();
  s.state = State::kIdle;
  s.next_timer = 0;
}

void DtlsSession::reset(bool forget) {
  if (impl_ == nullptr) {
    return;
  }
  Impl& s = *impl_;
  s.hs.reset();
  s.keys.reset();
  s.state = State::kIdle;
  s.failure = DtlsFailure::kNone;
  s.next_timer = 0;
  if (forget) {
    s.forget_resume();
  }
}

DtlsSession::State DtlsSession::state() const {
  return impl_ != nullptr ? impl_->state : State::kIdle;
}

DtlsFailure DtlsSession::failure() const {
  return impl_ != nullptr ? impl_->failure : DtlsFailure::kNone;
}

bool DtlsSession::resumable() const {
  return impl_ != nullptr && !impl_->resume.empty();
}

size_t DtlsSession::heap_bytes() const {
  if (impl_ == nullptr) {
    return 0;
  }
  const Impl& s = *impl_;
  size_t n = sizeof(Impl) + s.resume.capacity() + s.peer.capacity();
  if (s.hs != nullptr) {
    n += sizeof(Handshake) + kSslHeapEstimate;
    if (s.hs->psk) {
      n += s.hs->psk->identity.capacity() + s.hs->psk->key.capacity();
    }
  }
  return n;
}

}  // namespace lwm2msim

// The DTLS context (SSL_CTX and its callbacks), the per-thread scratch, the BIO that connects an
// SSL to a session's datagrams, and the small free functions of dtls.h.
#include "sim/dtls/dtls.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>

#include "sim/dtls/dtls_internal.h"

namespace lwm2msim {

using dtls_internal::AeadKind;
using dtls_internal::SslPtr;

namespace {

constexpr unsigned int kCookieLen = 32;
constexpr unsigned int kMaxRetransmitUs = 60 * 1000 * 1000;
constexpr std::string_view kSessionIdContext = "lwm2m-sim";

DtlsScratch::Impl* scratch_of(SSL* ssl) {
  return static_cast<DtlsScratch::Impl*>(SSL_get_app_data(ssl));
}

DtlsSession::Impl* session_of(SSL* ssl) {
  DtlsScratch::Impl* scratch = scratch_of(ssl);
  return scratch != nullptr ? scratch->call.session : nullptr;
}

const DtlsContext::Impl* context_of(SSL* ssl) {
  return static_cast<const DtlsContext::Impl*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
}

// The BIO under every SSL: reads hand OpenSSL the one record the session is feeding, writes
// collect in the thread's output buffer, which the session cuts into datagrams afterwards.
int bio_write(BIO* bio, const char* data, int len) {
  auto* scratch = static_cast<DtlsScratch::Impl*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (scratch == nullptr || len < 0) {
    return -1;
  }
  const auto* p = reinterpret_cast<const uint8_t*>(data);
  scratch->io.out.insert(scratch->io.out.end(), p, p + len);
  return len;
}

int bio_read(BIO* bio, char* data, int len) {
  auto* scratch = static_cast<DtlsScratch::Impl*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (scratch == nullptr || !scratch->io.in_pending || len < 0) {
    BIO_set_retry_read(bio);
    return -1;
  }
  // Datagram semantics: one read returns one datagram, cut to the reader's buffer.
  const size_t n = std::min(scratch->io.in.size(), static_cast<size_t>(len));
  std::memcpy(data, scratch->io.in.data(), n);
  scratch->io.in_pending = false;
  return static_cast<int>(n);
}

long bio_ctrl(BIO*, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    default:
      // No MTU discovery, no peer address, no pending bytes: the session owns all of that.
      return 0;
  }
}

int bio_create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

int bio_destroy(BIO*) {
  return 1;
}

unsigned int timer_cb(SSL* ssl, unsigned int previous_us) {
  const DtlsContext::Impl* ctx = context_of(ssl);
  if (previous_us == 0) {
    const TimeUs initial = ctx != nullptr ? ctx->config->retransmit_initial : kUsPerSec;
    return static_cast<unsigned int>(std::clamp<TimeUs>(initial, 1000, kMaxRetransmitUs));
  }
  return std::min(previous_us * 2, kMaxRetransmitUs);
}

unsigned int psk_client_cb(SSL* ssl, const char*, char* identity, unsigned int max_identity_len,
                           unsigned char* psk, unsigned int max_psk_len) {
  DtlsSession::Impl* session = session_of(ssl);
  if (session == nullptr) {
    return 0;
  }
  return dtls_internal::session_psk_client(*session, identity, max_identity_len, psk, max_psk_len);
}

unsigned int psk_server_cb(SSL* ssl, const char* identity, unsigned char* psk,
                           unsigned int max_psk_len) {
  const DtlsContext::Impl* ctx = context_of(ssl);
  if (ctx == nullptr || identity == nullptr || !ctx->config->psk_lookup) {
    return 0;
  }
  std::optional<std::vector<uint8_t>> key;
  try {
    key = ctx->config->psk_lookup(identity);
  } catch (...) {
    // An exception must not cross OpenSSL's C frames; treat the identity as unknown.
    return 0;
  }
  // Returning 0 makes OpenSSL answer with the unknown_psk_identity alert.
  unsigned int len = 0;
  if (key && !key->empty() && key->size() <= max_psk_len) {
    std::memcpy(psk, key->data(), key->size());
    len = static_cast<unsigned int>(key->size());
  }
  if (key) {
    OPENSSL_cleanse(key->data(), key->size());
  }
  return len;
}

void info_cb(const SSL* ssl, int where, int ret) {
  if ((where & SSL_CB_ALERT) == 0) {
    return;
  }
  DtlsSession::Impl* session = session_of(const_cast<SSL*>(ssl));
  if (session != nullptr) {
    dtls_internal::session_info(*session, where, ret);
  }
}

void msg_cb(int write_p, int, int content_type, const void* buf, size_t len, SSL* ssl, void*) {
  DtlsSession::Impl* session = session_of(ssl);
  if (session != nullptr) {
    dtls_internal::session_message(*session, write_p, content_type,
                                   std::span(static_cast<const uint8_t*>(buf), len));
  }
}

// Cookie = HMAC-SHA256(per-context secret, peer): stateless, and only the peer that receives the
// HelloVerifyRequest at its address can return it.
bool make_cookie(SSL* ssl, unsigned char* cookie, unsigned int* len) {
  const DtlsContext::Impl* ctx = context_of(ssl);
  DtlsScratch::Impl* scratch = scratch_of(ssl);
  if (ctx == nullptr || scratch == nullptr) {
    return false;
  }
  const std::span<const uint8_t> peer = scratch->call.peer;
  static constexpr uint8_t kNoPeer = 0;
  return HMAC(EVP_sha256(), ctx->cookie_secret.data(), static_cast<int>(ctx->cookie_secret.size()),
              peer.empty() ? &kNoPeer : peer.data(), peer.size(), cookie, len) != nullptr;
}

int cookie_generate_cb(SSL* ssl, unsigned char* cookie, unsigned int* len) {
  return make_cookie(ssl, cookie, len) && *len == kCookieLen ? 1 : 0;
}

int cookie_verify_cb(SSL* ssl, const unsigned char* cookie, unsigned int len) {
  unsigned char expected[EVP_MAX_MD_SIZE];
  unsigned int expected_len = 0;
  if (!make_cookie(ssl, expected, &expected_len) || len != expected_len) {
    return 0;
  }
  return CRYPTO_memcmp(cookie, expected, len) == 0 ? 1 : 0;
}

std::string openssl_error(const std::string& what) {
  std::string msg = what;
  const unsigned long e = ERR_get_error();
  if (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    msg += ": ";
    msg += buf;
  }
  ERR_clear_error();
  return msg;
}

// Whether this OpenSSL offers CCM_8 suites at its default security level. 3.0 rates them by key
// size (128 bits) and allows them; later releases rate the 64-bit tag and allow them only at
// level 0. Asking OpenSSL keeps the LwM2M mandatory suite working with either.
bool ccm8_allowed_by_default() {
  dtls_internal::SslCtxPtr probe_ctx(SSL_CTX_new(DTLS_client_method()));
  if (probe_ctx == nullptr ||
      SSL_CTX_set_min_proto_version(probe_ctx.get(), DTLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(probe_ctx.get(), "PSK-AES128-CCM8") != 1) {
    ERR_clear_error();
    return false;
  }
  SSL_CTX_set_psk_client_callback(probe_ctx.get(), psk_client_cb);
  SslPtr probe(SSL_new(probe_ctx.get()));
  bool found = false;
  if (probe != nullptr) {
    STACK_OF(SSL_CIPHER)* supported = SSL_get1_supported_ciphers(probe.get());
    found = supported != nullptr && sk_SSL_CIPHER_num(supported) > 0;
    sk_SSL_CIPHER_free(supported);
  }
  ERR_clear_error();
  return found;
}

}  // namespace

namespace dtls_internal {

SslPtr new_ssl(const DtlsContext::Impl& ctx, bool server) {
  SslPtr ssl(SSL_new(ctx.ctx.get()));
  if (ssl == nullptr) {
    return nullptr;
  }
  BIO* bio = BIO_new(ctx.bio_method.get());
  if (bio == nullptr) {
    return nullptr;
  }
  SSL_set_bio(ssl.get(), bio, bio);
  DTLS_set_link_mtu(ssl.get(), ctx.config->mtu);
  DTLS_set_timer_cb(ssl.get(), timer_cb);
  if (server) {
    SSL_set_accept_state(ssl.get());
  } else {
    SSL_set_connect_state(ssl.get());
  }
  return ssl;
}

void attach(SSL* ssl, DtlsScratch::Impl& scratch) {
  SSL_set_app_data(ssl, &scratch);
  BIO_set_data(SSL_get_rbio(ssl), &scratch);
}

}  // namespace dtls_internal

SslPtr DtlsContext::Impl::take_listener() {
  {
    std::lock_guard lock(listen_mutex);
    if (!listeners.empty()) {
      SslPtr ssl = std::move(listeners.back());
      listeners.pop_back();
      return ssl;
    }
  }
  return dtls_internal::new_ssl(*this, true);
}

void DtlsContext::Impl::give_back_listener(SslPtr ssl) {
  std::lock_guard lock(listen_mutex);
  listeners.push_back(std::move(ssl));
}

std::shared_ptr<DtlsContext> DtlsContext::create(const DtlsConfig& config, std::string* error) {
  auto impl = std::make_unique<Impl>();
  auto fail = [&](const std::string& what) -> std::shared_ptr<DtlsContext> {
    if (error != nullptr) {
      *error = openssl_error(what);
    } else {
      ERR_clear_error();
    }
    return nullptr;
  };
  const bool server = config.role == DtlsRole::kServer;
  impl->bio_method.reset(BIO_meth_new(BIO_TYPE_SOURCE_SINK, "lwm2m-sim dtls"));
  if (impl->bio_method == nullptr || BIO_meth_set_write(impl->bio_method.get(), bio_write) != 1 ||
      BIO_meth_set_read(impl->bio_method.get(), bio_read) != 1 ||
      BIO_meth_set_ctrl(impl->bio_method.get(), bio_ctrl) != 1 ||
      BIO_meth_set_create(impl->bio_method.get(), bio_create) != 1 ||
      BIO_meth_set_destroy(impl->bio_method.get(), bio_destroy) != 1) {
    return fail("cannot create the DTLS BIO method");
  }
  impl->prf.reset(EVP_KDF_fetch(nullptr, "TLS1-PRF", nullptr));
  if (impl->prf == nullptr) {
    return fail("OpenSSL has no TLS1-PRF");
  }
  impl->ctx.reset(SSL_CTX_new(DTLS_method()));
  SSL_CTX* ctx = impl->ctx.get();
  if (ctx == nullptr || SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION) != 1) {
    return fail("cannot create a DTLS 1.2 SSL_CTX");
  }
  SSL_CTX_set_app_data(ctx, impl.get());
  // The MTU is the configured one, never probed; the association never renegotiates.
  SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_RENEGOTIATION);

  const bool has_cert = !config.certificate_file.empty();
  if (has_cert) {
    if (SSL_CTX_use_certificate_chain_file(ctx, config.certificate_file.c_str()) != 1) {
      return fail("cannot load certificate " + config.certificate_file);
    }
    const std::string& key_file =
        config.private_key_file.empty() ? config.certificate_file : config.private_key_file;
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      return fail("cannot load private key " + key_file);
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
      return fail("private key does not match certificate " + config.certificate_file);
    }
  }
  if (!config.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, config.ca_file.c_str(), nullptr) != 1) {
      return fail("cannot load CA file " + config.ca_file);
    }
    SSL_CTX_set_verify(
        ctx, server ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_PEER, nullptr);
  }
  const bool uses_certs = has_cert || !config.ca_file.empty();
  const bool server_psk = server && static_cast<bool>(config.psk_lookup);
  std::string ciphers = config.ciphers;
  if (ciphers.empty()) {
    if (!uses_certs) {
      ciphers = "PSK-AES128-CCM8";
    } else if (server_psk) {
      ciphers = "ECDHE-ECDSA-AES128-CCM8:PSK-AES128-CCM8";
    } else {
      ciphers = "ECDHE-ECDSA-AES128-CCM8";
      if (!server) {
        impl->psk_ciphers = "PSK-AES128-CCM8";
      }
    }
  }
  if (ciphers.find("CCM8") != std::string::npos && !ccm8_allowed_by_default()) {
    SSL_CTX_set_security_level(ctx, 0);
  }
  if (SSL_CTX_set_cipher_list(ctx, ciphers.c_str()) != 1) {
    return fail("OpenSSL rejects the cipher list \"" + ciphers + "\"");
  }

  SSL_CTX_set_info_callback(ctx, info_cb);
  SSL_CTX_set_msg_callback(ctx, msg_cb);
  if (server) {
    if (config.psk_lookup) {
      SSL_CTX_set_psk_server_callback(ctx, psk_server_cb);
    }
    if (RAND_bytes(impl->cookie_secret.data(), static_cast<int>(impl->cookie_secret.size())) != 1) {
      return fail("no randomness for the cookie secret");
    }
    SSL_CTX_set_cookie_generate_cb(ctx, cookie_generate_cb);
    SSL_CTX_set_cookie_verify_cb(ctx, cookie_verify_cb);
    SSL_CTX_set_session_id_context(ctx,
                                   reinterpret_cast<const unsigned char*>(kSessionIdContext.data()),
                                   static_cast<unsigned int>(kSessionIdContext.size()));
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    SSL_CTX_sess_set_cache_size(ctx, config.session_cache);
  } else {
    SSL_CTX_set_psk_client_callback(ctx, psk_client_cb);
    // The session keeps its own resumable session as DER; OpenSSL's client cache is unused.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  }
  ERR_clear_error();

  std::shared_ptr<DtlsContext> context(new DtlsContext(config, std::move(impl)));
  context->impl_->config = &context->config_;
  return context;
}

DtlsContext::DtlsContext(DtlsConfig config, std::unique_ptr<Impl> impl)
    : config_(std::move(config)), impl_(std::move(impl)) {}

DtlsContext::~DtlsContext() {
  if (impl_ != nullptr) {
    // The listeners hold BIOs of this context's method: free them before the method goes.
    impl_->listeners.clear();
    OPENSSL_cleanse(impl_->cookie_secret.data(), impl_->cookie_secret.size());
  }
}

DtlsScratch::Impl::Impl()
    : plain(dtls_internal::kMaxPlaintext + 2048), listen_addr(BIO_ADDR_new()) {
  io.out.reserve(4096);
  sealed.reserve(2048);
  opened.reserve(2048);
}

EVP_CIPHER_CTX* DtlsScratch::Impl::cipher_ctx(AeadKind kind, bool encrypt) {
  const auto k = static_cast<size_t>(kind);
  dtls_internal::CipherCtxPtr& slot = cipher_ctxs[2 * k + (encrypt ? 1 : 0)];
  if (slot != nullptr) {
    return slot.get();
  }
  if (ciphers[k] == nullptr) {
    const char* name = dtls_internal::aead_cipher_name(kind);
    if (name == nullptr) {
      return nullptr;
    }
    ciphers[k].reset(EVP_CIPHER_fetch(nullptr, name, nullptr));
    if (ciphers[k] == nullptr) {
      ERR_clear_error();
      return nullptr;
    }
  }
  dtls_internal::CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  const int tag_len = static_cast<int>(dtls_internal::aead_params(kind).tag_len);
  bool ok = ctx != nullptr &&
            EVP_CipherInit_ex(ctx.get(), ciphers[k].get(), nullptr, nullptr, nullptr,
                              encrypt ? 1 : 0) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_IVLEN, 12, nullptr) == 1;
  if (ok && dtls_internal::is_ccm(kind)) {
    // CCM fixes the tag length before the key; decryption sets the tag itself per record.
    ok = EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, tag_len, nullptr) == 1;
  }
  if (!ok) {
    ERR_clear_error();
    return nullptr;
  }
  slot = std::move(ctx);
  return slot.get();
}

DtlsScratch::DtlsScratch() : impl_(std::make_unique<Impl>()) {}
DtlsScratch::~DtlsScratch() = default;

std::string_view to_string(DtlsFailure f) {
  switch (f) {
    case DtlsFailure::kNone:
      return "none";
    case DtlsFailure::kTimeout:
      return "timeout";
    case DtlsFailure::kUnknownPsk:
      return "unknown_psk";
    case DtlsFailure::kBadPsk:
      return "bad_psk";
    case DtlsFailure::kCertificate:
      return "certificate";
    case DtlsFailure::kNoCipher:
      return "no_cipher";
    case DtlsFailure::kAlert:
      return "alert";
    case DtlsFailure::kProtocol:
      return "protocol";
    case DtlsFailure::kInternal:
      return "internal";
  }
  return "unknown";
}

std::vector<uint8_t> derive_psk(std::string_view seed, std::string_view identity) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  static constexpr uint8_t kEmpty = 0;
  HMAC(EVP_sha256(), seed.empty() ? static_cast<const void*>(&kEmpty) : seed.data(),
       static_cast<int>(seed.size()),
       identity.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(identity.data()),
       identity.size(), mac, &len);
  std::vector<uint8_t> key(mac, mac + std::min<unsigned int>(len, 16));
  OPENSSL_cleanse(mac, sizeof(mac));
  ERR_clear_error();
  return key;
}

std::optional<std::vector<uint8_t>> parse_hex_key(std::string_view hex) {
  if (hex.size() % 2 != 0) {
    return std::nullopt;
  }
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
      return c - 'A' + 10;
    }
    return -1;
  };
  std::vector<uint8_t> out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]);
    const int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      return std::nullopt;
    }
    out.push_back(static_cast<uint8_t>((hi << 4) | lo));
  }
  return out;
}

bool looks_like_dtls(std::span<const uint8_t> datagram) {
  return !datagram.empty() && datagram[0] >= 20 && datagram[0] <= 63;
}

}  // namespace lwm2msim

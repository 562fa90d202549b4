// dtls internals shared by the context, the record layer and the session: OpenSSL handle owners,
// the per-context and per-thread state, and the DTLS 1.2 AEAD record protection used once a
// session has handed its keys over from OpenSSL.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/ssl.h>

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "sim/dtls/dtls.h"

namespace lwm2msim {
namespace dtls_internal {

struct SslFree {
  void operator()(SSL* p) const { SSL_free(p); }
};
struct SslCtxFree {
  void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
};
struct BioMethodFree {
  void operator()(BIO_METHOD* p) const { BIO_meth_free(p); }
};
struct BioAddrFree {
  void operator()(BIO_ADDR* p) const { BIO_ADDR_free(p); }
};
struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
};
struct CipherFree {
  void operator()(EVP_CIPHER* p) const { EVP_CIPHER_free(p); }
};
struct KdfFree {
  void operator()(EVP_KDF* p) const { EVP_KDF_free(p); }
};
struct KdfCtxFree {
  void operator()(EVP_KDF_CTX* p) const { EVP_KDF_CTX_free(p); }
};
struct SessionFree {
  void operator()(SSL_SESSION* p) const { SSL_SESSION_free(p); }
};
using SslPtr = std::unique_ptr<SSL, SslFree>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using BioMethodPtr = std::unique_ptr<BIO_METHOD, BioMethodFree>;
using BioAddrPtr = std::unique_ptr<BIO_ADDR, BioAddrFree>;
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;
using CipherPtr = std::unique_ptr<EVP_CIPHER, CipherFree>;
using KdfPtr = std::unique_ptr<EVP_KDF, KdfFree>;
using KdfCtxPtr = std::unique_ptr<EVP_KDF_CTX, KdfCtxFree>;
using SslSessionPtr = std::unique_ptr<SSL_SESSION, SessionFree>;

constexpr size_t kRecordHeaderLen = 13;
constexpr uint8_t kContentCcs = 20;
constexpr uint8_t kContentAlert = 21;
constexpr uint8_t kContentHandshake = 22;
constexpr uint8_t kContentAppData = 23;
constexpr uint8_t kHandshakeClientHello = 1;
constexpr uint8_t kHandshakeHelloVerifyRequest = 3;
constexpr uint16_t kDtls12Version = 0xFEFD;
constexpr uint64_t kMaxSequence = (uint64_t{1} << 48) - 1;
// The largest plaintext a record carries (RFC 6347 4.1 via RFC 5246 6.2.1).
constexpr size_t kMaxPlaintext = 16384;

// One record of a datagram, pointing into it.
struct RecordView {
  uint8_t type = 0;
  uint16_t version = 0;
  uint16_t epoch = 0;
  uint64_t seq = 0;
  std::span<const uint8_t> fragment;  // the record's body
  std::span<const uint8_t> whole;     // header and body
};

// The record at the start of `data`; nullopt when its header is cut short or its length runs
// past the end (the rest of the datagram is then unusable).
std::optional<RecordView> parse_record(std::span<const uint8_t> data);

enum class AeadKind : uint8_t {
  kNone,
  kAes128Ccm8,
  kAes256Ccm8,
  kAes128Ccm,
  kAes256Ccm,
  kAes128Gcm,
  kAes256Gcm,
  kChaCha20Poly1305,
};
constexpr size_t kAeadKindCount = 8;

struct AeadParams {
  size_t key_len = 0;
  size_t fixed_iv_len = 0;        // salt from the key block (4), or the whole IV (12, ChaCha20)
  size_t explicit_nonce_len = 0;  // sent before the ciphertext (8), none for ChaCha20
  size_t tag_len = 0;
};
AeadParams aead_params(AeadKind kind);
// The EVP name of the cipher behind `kind`; null for kNone.
const char* aead_cipher_name(AeadKind kind);
bool is_ccm(AeadKind kind);
// The record protection of a negotiated suite; kNone when it is not one this layer implements.
AeadKind aead_kind_of(const SSL_CIPHER* cipher);

// RFC 6347 4.1.2.6: the highest authenticated sequence number and a bitmap of the 64 before it.
struct ReplayWindow {
  uint64_t top = 0;
  uint64_t bits = 0;  // bit i: top - i was received

  bool seen(uint64_t seq) const;
  void mark(uint64_t seq);
};

// The keys of an established association, owned by the session once OpenSSL is gone.
struct RecordKeys {
  AeadKind kind = AeadKind::kNone;
  uint16_t epoch = 0;
  uint64_t write_seq = 0;  // next sequence number to write
  ReplayWindow window;
  std::array<uint8_t, 32> write_key{};
  std::array<uint8_t, 32> read_key{};
  std::array<uint8_t, 12> write_iv{};
  std::array<uint8_t, 12> read_iv{};

  ~RecordKeys();
};

}  // namespace dtls_internal

struct DtlsContext::Impl {
  // Declared before the SSL_CTX and the SSLs: their BIOs use it until they are freed.
  dtls_internal::BioMethodPtr bio_method;
  dtls_internal::SslCtxPtr ctx;
  dtls_internal::KdfPtr prf;
  std::array<uint8_t, 32> cookie_secret{};
  const DtlsConfig* config = nullptr;
  // Client with certificates configured: the suite list for a connect() with a PSK.
  std::string psk_ciphers;
  // Server with cookies: SSLs that run DTLSv1_listen, one per thread answering ClientHellos at
  // the same time. A listener whose ClientHello carried a valid cookie becomes that session's SSL.
  std::mutex listen_mutex;
  std::vector<dtls_internal::SslPtr> listeners;

  dtls_internal::SslPtr take_listener();
  void give_back_listener(dtls_internal::SslPtr ssl);
};

struct DtlsScratch::Impl {
  // What the session's BIO reads (one record at a time) and where OpenSSL's output collects.
  struct Io {
    std::span<const uint8_t> in;
    bool in_pending = false;
    std::vector<uint8_t> out;
  };
  // Who an OpenSSL callback is working for during the current call.
  struct Call {
    DtlsSession::Impl* session = nullptr;
    std::span<const uint8_t> peer;
  };

  Io io;
  Call call;
  std::vector<uint8_t> sealed;  // a record this thread protects
  std::vector<uint8_t> opened;  // the plaintext of a record this thread decrypted
  std::vector<uint8_t> plain;   // SSL_read's target
  std::array<dtls_internal::CipherPtr, dtls_internal::kAeadKindCount> ciphers;
  std::array<dtls_internal::CipherCtxPtr, 2 * dtls_internal::kAeadKindCount> cipher_ctxs;
  dtls_internal::BioAddrPtr listen_addr;

  Impl();
  // A cipher context set up for `kind` and direction; re-keyed per record. Null on failure.
  EVP_CIPHER_CTX* cipher_ctx(dtls_internal::AeadKind kind, bool encrypt);
};

namespace dtls_internal {

// Appends the protected record (header, explicit nonce, ciphertext, tag) of `plaintext` to
// `out` and advances keys.write_seq. False when the sequence numbers are exhausted or EVP fails.
bool seal_record(DtlsScratch::Impl& scratch, RecordKeys& keys, uint8_t type,
                 std::span<const uint8_t> plaintext, std::vector<uint8_t>& out);
// Decrypts and authenticates `rec` (of keys.epoch) into `out`. The replay window is untouched.
bool open_record(DtlsScratch::Impl& scratch, const RecordKeys& keys, const RecordView& rec,
                 std::vector<uint8_t>& out);

// Expands the master secret of `ssl`'s session into `keys` (RFC 5246 6.3). False when the suite
// is not AEAD or OpenSSL cannot derive.
bool derive_record_keys(SSL* ssl, bool is_server, EVP_KDF* prf, DtlsScratch::Impl& scratch,
                        RecordKeys& keys);

// An SSL of `ctx` set up for one session: BIO, MTU, retransmission timer, client or server.
SslPtr new_ssl(const DtlsContext::Impl& ctx, bool server);
// Points an SSL's BIO and callbacks at this thread's buffers before a call into OpenSSL.
void attach(SSL* ssl, DtlsScratch::Impl& scratch);

// What the SSL_CTX callbacks forward to the session they run for (session.cpp).
unsigned int session_psk_client(DtlsSession::Impl& session, char* identity,
                                unsigned int max_identity_len, unsigned char* psk,
                                unsigned int max_psk_len);
void session_info(DtlsSession::Impl& session, int where, int ret);
void session_message(DtlsSession::Impl& session, int write_p, int content_type,
                     std::span<const uint8_t> message);

}  // namespace dtls_internal
}  // namespace lwm2msim

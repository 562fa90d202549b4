// dtls: DTLS 1.2 (RFC 6347) sessions over any datagram transport. OpenSSL runs each handshake in
// memory; an established session keeps only its record keys, sequence numbers and replay window.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sim/util/time.h"

namespace lwm2msim {

enum class DtlsRole : uint8_t { kClient, kServer };

// Why a handshake failed, counted per reason.
enum class DtlsFailure : uint8_t {
  kNone,
  kTimeout,      // the handshake's retransmissions or its time bound ran out
  kUnknownPsk,   // the server has no key for the identity (or the alert that says so)
  kBadPsk,       // Finished did not verify: the two sides hold different keys
  kCertificate,  // a certificate did not verify, on either side
  kNoCipher,     // no cipher suite in common
  kAlert,        // another fatal alert from the peer
  kProtocol,     // a malformed or unexpected handshake message
  kInternal,     // OpenSSL could not allocate or configure a session
};
constexpr size_t kDtlsFailureCount = 9;
std::string_view to_string(DtlsFailure f);

// A pre-shared key. The key bytes are never printed or logged.
struct DtlsPsk {
  std::string identity;
  std::vector<uint8_t> key;
};

// The PSK of an identity derived from a seed: the first 16 bytes of HMAC-SHA256(seed, identity).
// Both ends of a test derive the same keys without a key file.
std::vector<uint8_t> derive_psk(std::string_view seed, std::string_view identity);
// "00ff..." (even length, hex digits) to bytes; nullopt when it is not hex.
std::optional<std::vector<uint8_t>> parse_hex_key(std::string_view hex);

// Settings of one side; immutable once a context is made from them.
struct DtlsConfig {
  DtlsRole role = DtlsRole::kClient;
  // OpenSSL cipher list. Empty: the LwM2M mandatory suites, TLS_PSK_WITH_AES_128_CCM_8 with a PSK
  // and TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 with certificates.
  std::string ciphers;
  // X.509 (PEM files): this side's certificate (chain) and private key, and the trust anchor the
  // peer's certificate must chain to. A server with a trust anchor requires client certificates.
  std::string certificate_file;
  std::string private_key_file;
  std::string ca_file;
  // Server with PSK: the key of a client's identity, or nullopt when the identity is unknown.
  // Called on the thread that runs the handshake; must be thread-safe.
  std::function<std::optional<std::vector<uint8_t>>(std::string_view identity)> psk_lookup;
  // Server: answer a ClientHello without a valid cookie with a HelloVerifyRequest (RFC 6347
  // 4.2.1) and keep no state for that peer until it returns the cookie.
  bool cookie_exchange = true;
  // Largest datagram a handshake flight is cut into.
  uint16_t mtu = 1280;
  // First handshake retransmission timeout, doubled on each retransmission (RFC 6347 4.2.4.1).
  TimeUs retransmit_initial = 1 * kUsPerSec;
  // A handshake not finished this long after it started fails with kTimeout.
  TimeUs handshake_timeout = 60 * kUsPerSec;
  // Server: sessions kept for resumption by session id (abbreviated handshake).
  uint32_t session_cache = 1u << 17;
};

// An SSL_CTX and what every session of one side shares. Thread-safe once created.
class DtlsContext {
 public:
  // Null with *error set when a file cannot be read, a key does not match its certificate, or
  // OpenSSL rejects the cipher list.
  static std::shared_ptr<DtlsContext> create(const DtlsConfig& config, std::string* error);
  ~DtlsContext();
  DtlsContext(const DtlsContext&) = delete;
  DtlsContext& operator=(const DtlsContext&) = delete;

  const DtlsConfig& config() const { return config_; }

  struct Impl;
  Impl& impl() const { return *impl_; }

 private:
  DtlsContext(DtlsConfig config, std::unique_ptr<Impl> impl);
  DtlsConfig config_;
  std::unique_ptr<Impl> impl_;
};

// Per-thread state every session of that thread borrows while it handles an event: reused
// OpenSSL cipher contexts and buffers. Not thread-safe; one per worker or server thread.
class DtlsScratch {
 public:
  DtlsScratch();
  ~DtlsScratch();
  DtlsScratch(const DtlsScratch&) = delete;
  DtlsScratch& operator=(const DtlsScratch&) = delete;

  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

// Where a session's output goes; implemented by its owner (a worker, a server thread, a test).
class DtlsOutput {
 public:
  virtual ~DtlsOutput() = default;
  // A datagram for the peer (handshake flight, protected record, alert).
  virtual void send_datagram(std::span<const uint8_t> datagram) = 0;
  // Application data the peer sent, decrypted and authenticated; one call per record.
  virtual void deliver(std::span<const uint8_t> plaintext) = 0;
};

// Per-session counters of one thread, summed by its owner. Single writer.
struct DtlsEvents {
  bool handshake_done = false;   // this call completed a handshake
  bool resumed = false;          // ... and it was an abbreviated one
  bool failed = false;           // this call ended the handshake with failure()
  bool closed = false;           // the peer sent close_notify or a fatal alert after the handshake
  uint32_t records_dropped = 0;  // records that failed to decrypt, were replayed or malformed
  uint32_t retransmits = 0;      // handshake flights sent again
};

// One DTLS association with one peer: the handshake, then record protection. Holds no socket and
// no timer: its owner feeds it datagrams and timer expiries and sends what it writes.
//
// While the handshake runs the session holds an OpenSSL SSL (about 70 KB). It keeps it until the
// first authenticated record from the peer proves the peer finished too (so a lost final flight
// can still be retransmitted), then derives the record keys (RFC 5246 6.3), frees the SSL and
// protects records itself; established and idle, it holds a few hundred bytes. Only AEAD suites
// (CCM, CCM_8, GCM, ChaCha20-Poly1305) are handed over; with another suite the SSL stays.
// A session refers to the context of its last connect() or accept(): the context must outlive it.
class DtlsSession {
 public:
  enum class State : uint8_t {
    kIdle,         // no handshake yet, or closed (a client may keep a session to resume)
    kHandshaking,  // flights in progress
    kEstablished,  // records flow
    kFailed,       // the handshake failed; failure() says why
  };

  DtlsSession();
  ~DtlsSession();
  DtlsSession(DtlsSession&&) noexcept;
  DtlsSession& operator=(DtlsSession&&) noexcept;

  // Client: starts a handshake and writes the ClientHello. With `psk` null the context's
  // certificates authenticate. Resumes the last established session (abbreviated handshake) when
  // one is kept and `resume` is set. `now` is the caller's monotonic clock, for timeouts.
  DtlsEvents connect(const DtlsContext& ctx, const DtlsPsk* psk, bool resume, TimeUs now,
                     DtlsScratch& scratch, DtlsOutput& out);

  // Server: a datagram from a peer with no established session. `peer` identifies the peer for
  // the cookie (e.g. its address and port as bytes). A ClientHello without a valid cookie is
  // answered with a HelloVerifyRequest and leaves the session kIdle (keep nothing for the peer);
  // one with a valid cookie starts the handshake. Anything else is dropped (records_dropped).
  DtlsEvents accept(const DtlsContext& ctx, std::span<const uint8_t> peer,
                    std::span<const uint8_t> datagram, TimeUs now, DtlsScratch& scratch,
                    DtlsOutput& out);

  // A datagram from the peer, any state. Handshake records advance the handshake; application
  // records are decrypted and delivered; a new ClientHello on an established server session
  // starts a new handshake (the old keys serve until it completes).
  DtlsEvents on_datagram(std::span<const uint8_t> datagram, TimeUs now, DtlsScratch& scratch,
                         DtlsOutput& out);

  // Protects one application datagram (a CoAP message) and sends it. False when not established.
  bool send(std::span<const uint8_t> plaintext, DtlsScratch& scratch, DtlsOutput& out);

  // When the handshake needs on_timer next (retransmission or its time bound); 0 when it does
  // not.
  TimeUs next_timer() const;
  DtlsEvents on_timer(TimeUs now, DtlsScratch& scratch, DtlsOutput& out);

  // Sends close_notify (when established) and ends kIdle; a client keeps what it needs to resume.
  void close(DtlsScratch& scratch, DtlsOutput& out);
  // Ends kIdle without a word to the peer (power loss); `forget` also drops the resumable session.
  void reset(bool forget);

  State state() const;
  DtlsFailure failure() const;
  // True when a session is kept for resumption.
  bool resumable() const;
  // Heap bytes this session holds now (its own allocations; an SSL counts as an estimate).
  size_t heap_bytes() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// What a datagram's first byte says it carries: DTLS (content types 20-63, RFC 7983) or CoAP
// (version 1 in the top two bits).
bool looks_like_dtls(std::span<const uint8_t> datagram);

}  // namespace lwm2msim

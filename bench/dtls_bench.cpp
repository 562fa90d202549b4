#include <benchmark/benchmark.h>
#include <malloc.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "sim/dtls/dtls.h"

namespace lwm2msim {
namespace {

constexpr std::string_view kSeed = "bench-seed";
constexpr std::string_view kIdentity = "sim-000001";
constexpr uint8_t kPsk[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

// --- The floor: bare OpenSSL, both ends over memory BIOs. ---

unsigned int floor_client_psk(SSL*, const char*, char* identity, unsigned int max_identity_len,
                              unsigned char* psk, unsigned int max_psk_len) {
  if (max_identity_len < kIdentity.size() || max_psk_len < sizeof(kPsk)) {
    return 0;
  }
  std::memcpy(identity, kIdentity.data(), kIdentity.size());
  identity[kIdentity.size()] = '\0';
  std::memcpy(psk, kPsk, sizeof(kPsk));
  return sizeof(kPsk);
}

unsigned int floor_server_psk(SSL*, const char*, unsigned char* psk, unsigned int max_psk_len) {
  if (max_psk_len < sizeof(kPsk)) {
    return 0;
  }
  std::memcpy(psk, kPsk, sizeof(kPsk));
  return sizeof(kPsk);
}

// The floor's cookie (as a server keeping no state would make it): HMAC-SHA256 over the peer.
constexpr uint8_t kCookieSecret[32] = {7};
constexpr std::string_view kFloorPeer = "127.0.0.1:40000";

int floor_make_cookie(SSL*, unsigned char* cookie, unsigned int* length) {
  return HMAC(EVP_sha256(), kCookieSecret, sizeof(kCookieSecret),
              reinterpret_cast<const unsigned char*>(kFloorPeer.data()), kFloorPeer.size(), cookie,
              length) != nullptr
             ? 1
             : 0;
}

int floor_check_cookie(SSL* ssl, const unsigned char* cookie, unsigned int length) {
  unsigned char expected[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  return floor_make_cookie(ssl, expected, &n) == 1 && n == length &&
                 CRYPTO_memcmp(expected, cookie, n) == 0
             ? 1
             : 0;
}

struct CtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};

std::unique_ptr<SSL_CTX, CtxFree> floor_ctx(bool server, bool cookies = false) {
  std::unique_ptr<SSL_CTX, CtxFree> ctx(SSL_CTX_new(DTLS_method()));
  SSL_CTX_set_min_proto_version(ctx.get(), DTLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx.get(), DTLS1_2_VERSION);
  SSL_CTX_set_cipher_list(ctx.get(), "PSK-AES128-CCM8");
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_QUERY_MTU);
  if (server) {
    SSL_CTX_set_psk_server_callback(ctx.get(), floor_server_psk);
    if (cookies) {
      SSL_CTX_set_options(ctx.get(), SSL_OP_COOKIE_EXCHANGE);
      SSL_CTX_set_cookie_generate_cb(ctx.get(), floor_make_cookie);
      SSL_CTX_set_cookie_verify_cb(ctx.get(), floor_check_cookie);
    }
  } else {
    SSL_CTX_set_psk_client_callback(ctx.get(), floor_client_psk);
  }
  return ctx;
}

std::unique_ptr<SSL, SslFree> floor_ssl(SSL_CTX* ctx, bool server) {
  std::unique_ptr<SSL, SslFree> ssl(SSL_new(ctx));
  BIO* rbio = BIO_new(BIO_s_mem());
  BIO* wbio = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(rbio, -1);
  BIO_set_mem_eof_return(wbio, -1);
  SSL_set_bio(ssl.get(), rbio, wbio);
  DTLS_set_link_mtu(ssl.get(), 1280);
  if (server) {
    SSL_set_accept_state(ssl.get());
  } else {
    SSL_set_connect_state(ssl.get());
  }
  return ssl;
}

// Moves everything `from` wrote into `to`'s read BIO.
void floor_move(SSL* from, SSL* to) {
  char buf[4096];
  BIO* w = SSL_get_wbio(from);
  BIO* r = SSL_get_rbio(to);
  int n = 0;
  while ((n = BIO_read(w, buf, sizeof(buf))) > 0) {
    BIO_write(r, buf, n);
  }
}

// Arg 1: with the cookie exchange (HelloVerifyRequest), the fair floor for the session's.
void BM_DtlsHandshakeFloor(benchmark::State& state) {
  auto cctx = floor_ctx(false);
  auto sctx = floor_ctx(true, state.range(0) != 0);
  for (auto _ : state) {
    auto c = floor_ssl(cctx.get(), false);
    auto s = floor_ssl(sctx.get(), true);
    bool c_done = false;
    bool s_done = false;
    for (int round = 0; round < 20 && !(c_done && s_done); ++round) {
      c_done = SSL_do_handshake(c.get()) == 1;
      floor_move(c.get(), s.get());
      s_done = SSL_do_handshake(s.get()) == 1;
      floor_move(s.get(), c.get());
    }
    if (!c_done || !s_done) {
      state.SkipWithError("floor handshake did not finish");
      break;
    }
    ERR_clear_error();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DtlsHandshakeFloor)->ArgName("cookies")->Arg(0)->Arg(1);

// --- Through DtlsSession. ---

class Pending : public DtlsOutput {
 public:
  void send_datagram(std::span<const uint8_t> d) override {
    queue.emplace_back(d.begin(), d.end());
    ++sent;
  }
  void deliver(std::span<const uint8_t>) override { ++delivered; }

  std::vector<std::vector<uint8_t>> queue;
  uint64_t sent = 0;
  uint64_t delivered = 0;
};

// Discards what it is given: the seal benchmark measures only the protection.
class Sink : public DtlsOutput {
 public:
  void send_datagram(std::span<const uint8_t> d) override { bytes += d.size(); }
  void deliver(std::span<const uint8_t> p) override { bytes += p.size(); }
  uint64_t bytes = 0;
};

struct Contexts {
  explicit Contexts(bool cookies) {
    DtlsConfig c;
    c.role = DtlsRole::kClient;
    DtlsConfig s;
    s.role = DtlsRole::kServer;
    s.cookie_exchange = cookies;
    // A table lookup, as a server with a key store would do; the floor copies a fixed key.
    s.psk_lookup = [key = derive_psk(kSeed, kIdentity)](std::string_view identity) {
      return identity == kIdentity ? std::optional<std::vector<uint8_t>>(key) : std::nullopt;
    };
    client = DtlsContext::create(c, nullptr);
    server = DtlsContext::create(s, nullptr);
    psk.identity = kIdentity;
    psk.key = derive_psk(kSeed, kIdentity);
  }
  std::shared_ptr<DtlsContext> client;
  std::shared_ptr<DtlsContext> server;
  DtlsPsk psk;
};

const std::vector<uint8_t> kPeer = {127, 0, 0, 1, 0x16, 0x34};
const std::vector<uint8_t> kPayload(100, 0x42);

// One full handshake between two fresh sessions, then one record each way so both hand over.
bool establish(const Contexts& ctx, DtlsSession& client, DtlsSession& server, DtlsScratch& scratch,
               Pending& c_out, Pending& s_out) {
  client.connect(*ctx.client, &ctx.psk, false, 1, scratch, c_out);
  for (int round = 0; round < 20; ++round) {
    for (auto& d : c_out.queue) {
      if (server.state() == DtlsSession::State::kIdle) {
        server.accept(*ctx.server, kPeer, d, 1, scratch, s_out);
      } else {
        server.on_datagram(d, 1, scratch, s_out);
      }
    }
    c_out.queue.clear();
    for (auto& d : s_out.queue) {
      client.on_datagram(d, 1, scratch, c_out);
    }
    s_out.queue.clear();
    if (c_out.queue.empty()) {
      break;
    }
  }
  if (client.state() != DtlsSession::State::kEstablished ||
      server.state() != DtlsSession::State::kEstablished) {
    return false;
  }
  client.send(kPayload, scratch, c_out);
  for (auto& d : c_out.queue) {
    server.on_datagram(d, 1, scratch, s_out);
  }
  c_out.queue.clear();
  server.send(kPayload, scratch, s_out);
  for (auto& d : s_out.queue) {
    client.on_datagram(d, 1, scratch, c_out);
  }
  s_out.queue.clear();
  return client.heap_bytes() < 4096 && server.heap_bytes() < 4096;
}

void BM_DtlsSessionHandshake(benchmark::State& state) {
  Contexts ctx(state.range(0) != 0);
  DtlsScratch scratch;
  Pending c_out;
  Pending s_out;
  for (auto _ : state) {
    DtlsSession client;
    DtlsSession server;
    if (!establish(ctx, client, server, scratch, c_out, s_out)) {
      state.SkipWithError("session handshake did not finish");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DtlsSessionHandshake)->ArgName("cookies")->Arg(0)->Arg(1);

struct EstablishedPair {
  EstablishedPair() : ctx(false) { ok = establish(ctx, client, server, scratch, c_out, s_out); }
  Contexts ctx;
  DtlsScratch scratch;
  Pending c_out;
  Pending s_out;
  DtlsSession client;
  DtlsSession server;
  bool ok = false;
};

void BM_DtlsRecordSeal(benchmark::State& state) {
  EstablishedPair p;
  Sink sink;
  for (auto _ : state) {
    if (!p.client.send(kPayload, p.scratch, sink)) {
      state.SkipWithError("send failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kPayload.size()));
}
BENCHMARK(BM_DtlsRecordSeal);

void BM_DtlsRecordOpen(benchmark::State& state) {
  EstablishedPair p;
  Sink sink;
  constexpr size_t kBatch = 1 << 16;
  size_t next = kBatch;
  for (auto _ : state) {
    if (next == kBatch) {
      // Fresh records, so the replay window never rejects one.
      state.PauseTiming();
      p.c_out.queue.clear();
      for (size_t i = 0; i < kBatch; ++i) {
        p.client.send(kPayload, p.scratch, p.c_out);
      }
      next = 0;
      state.ResumeTiming();
    }
    const DtlsEvents ev = p.server.on_datagram(p.c_out.queue[next++], 1, p.scratch, sink);
    if (ev.records_dropped != 0) {
      state.SkipWithError("record dropped");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kPayload.size()));
}
BENCHMARK(BM_DtlsRecordOpen);

size_t heap_in_use() {
  return mallinfo2().uordblks;
}

// Heap per established, idle, handed-over session: N pairs are set up, then the clients, the
// server sessions and the server context (its session cache) are freed in turn.
void BM_DtlsSessionMemory(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    auto ctx = std::make_unique<Contexts>(false);
    DtlsScratch scratch;
    Pending c_out;
    Pending s_out;
    std::vector<DtlsSession> clients(n);
    std::vector<DtlsSession> servers(n);
    c_out.queue.reserve(64);
    s_out.queue.reserve(64);
    // Warm up the scratch and the contexts so their one-time allocations are not counted.
    {
      DtlsSession c;
      DtlsSession s;
      establish(*ctx, c, s, scratch, c_out, s_out);
    }
    const size_t m0 = heap_in_use();
    size_t reported_client = 0;
    size_t reported_server = 0;
    for (size_t i = 0; i < n; ++i) {
      if (!establish(*ctx, clients[i], servers[i], scratch, c_out, s_out)) {
        state.SkipWithError("establish failed");
        return;
      }
      reported_client += clients[i].heap_bytes();
      reported_server += servers[i].heap_bytes();
    }
    const size_t m1 = heap_in_use();
    for (auto& c : clients) {
      c = DtlsSession();
    }
    const size_t m2 = heap_in_use();
    for (auto& s : servers) {
      s = DtlsSession();
    }
    const size_t m3 = heap_in_use();
    ctx->server.reset();
    const size_t m4 = heap_in_use();
    const double dn = static_cast<double>(n);
    state.counters["bytes_per_client_session"] = static_cast<double>(m1 - m2) / dn;
    state.counters["bytes_per_server_session"] = static_cast<double>(m2 - m3) / dn;
    state.counters["bytes_per_server_cache_entry"] = static_cast<double>(m3 - m4) / dn;
    state.counters["bytes_per_server_total"] = static_cast<double>(m2 - m4) / dn;
    state.counters["heap_bytes_client"] = static_cast<double>(reported_client) / dn;
    state.counters["heap_bytes_server"] = static_cast<double>(reported_server) / dn;
    state.counters["total_growth_per_pair"] = static_cast<double>(m1 - m0) / dn;
  }
}
BENCHMARK(BM_DtlsSessionMemory)->Arg(10000)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace lwm2msim

// Fuzzes a virtual client's handling of what answers its Register, Update, De-register and
// Bootstrap-Request: the client is driven (on an injected clock, no sockets) until it waits for
// the exchange the first byte picks, then gets the fuzzed messages, each with its message id and
// token either fixed up to match the pending request or left as they came. Nothing may crash,
// every datagram the client sends must parse, and the client must stop cleanly afterwards.
//
// Input: MODE, then chunks of FLAGS LEN MESSAGE[LEN].
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sim/client/virtual_client.h"
#include "sim/coap/coap.h"
#include "sim/lwm2m/lwm2m.h"
#include "tests/fuzz/fuzz_common.h"
#include "tests/support/manual_client_env.h"

namespace lwm2msim {
namespace {

using fuzz::check;

// Every datagram the client sends must parse; the ones kept are the requests.
class FuzzEnv final : public ManualClientEnv {
 public:
  explicit FuzzEnv(bool bootstrap) : ManualClientEnv("fuzz-%d", 60, 0, 7) {
    config_.bootstrap = bootstrap;
  }

  void send(uint32_t, std::span<const uint8_t> datagram) override {
    CoapMessage m;
    check(m.parse(datagram) == CoapParseError::kOk);
    if (!m.is_empty()) {
      last_request_.assign(datagram.begin(), datagram.end());
    }
  }
  void on_state_change(uint32_t, ClientState, ClientState to) override {
    check(static_cast<size_t>(to) < kClientStateCount);
  }

  // The pending request's message id and token (the last non-empty message sent).
  bool pending(uint16_t* mid, CoapToken* token) const {
    CoapMessage m;
    if (last_request_.empty() || m.parse(last_request_) != CoapParseError::kOk) {
      return false;
    }
    *mid = m.message_id();
    *token = m.token_value();
    return true;
  }

 private:
  std::vector<uint8_t> last_request_;
};

void respond_created(FuzzEnv& env, VirtualClient& c) {
  uint16_t mid = 0;
  CoapToken token;
  check(env.pending(&mid, &token));
  std::array<uint8_t, 64> buf{};
  CoapWriter w(buf);
  w.header(CoapType::kAck, CoapCode::kCreated, mid, token.view());
  w.option_path(CoapOption::kLocationPath, "rd/5");
  CoapMessage m;
  check(m.parse(w.finish()) == CoapParseError::kOk);
  c.on_response(env, 0, m);
  check(c.state() == ClientState::kRegistered);
}

// Brings the client to wait for the exchange `mode` names.
void drive(FuzzEnv& env, VirtualClient& c, uint8_t mode) {
  c.start(env, 0, 0);
  check(env.fire(c));
  // A bootstrapping client has no registration to update or delete yet.
  const int step = c.bootstrapping() ? ((mode & 1) != 0 ? 3 : 0) : mode % 4;
  switch (step) {
    case 0:  // Register (or Bootstrap-Request when the client bootstraps) sent
      return;
    case 1:  // Update sent
      respond_created(env, c);
      check(env.fire(c));
      check(c.state() == ClientState::kUpdating);
      return;
    case 2:  // De-register sent
      respond_created(env, c);
      c.stop(env, 0);
      check(c.state() == ClientState::kDeregistering);
      return;
    default:  // Register sent, then a retransmission
      check(env.fire(c));
      return;
  }
}

// The fuzzed message rebuilt with the pending exchange's message id and/or token.
bool deliver(FuzzEnv& env, VirtualClient& c, uint8_t flags, std::span<const uint8_t> bytes) {
  CoapMessage fuzzed;
  if (fuzzed.parse(bytes) != CoapParseError::kOk) {
    return false;
  }
  uint16_t mid = fuzzed.message_id();
  CoapToken token = fuzzed.token_value();
  uint16_t pending_mid = 0;
  CoapToken pending_token;
  if (env.pending(&pending_mid, &pending_token)) {
    if ((flags & 1) != 0) {
      mid = pending_mid;
    }
    if ((flags & 2) != 0) {
      token = pending_token;
    }
  }
  std::array<uint8_t, kCoapMaxMessageSize + kCoapMaxTokenLength> buf{};
  CoapWriter w(buf);
  w.header(fuzzed.type(), fuzzed.code(), mid, token.view());
  for (const CoapOptionView& o : fuzzed.options()) {
    w.option(o.number, o.value);
  }
  if (!fuzzed.payload().empty()) {
    w.payload(fuzzed.payload());
  }
  CoapMessage m;
  // An empty message with a fixed-up token is no longer valid; it goes out as it came.
  if (!w.ok() || m.parse(w.finish()) != CoapParseError::kOk) {
    m = fuzzed;
  }
  c.on_response(env, 0, m);
  return true;
}

void check_state(const VirtualClient& c) {
  const ClientState s = c.state();
  check(static_cast<size_t>(s) < kClientStateCount);
  if (s == ClientState::kRegistered || s == ClientState::kUpdating) {
    check(!c.location().empty());
  }
}

}  // namespace
}  // namespace lwm2msim

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lwm2msim;
  if (size < 1) {
    return 0;
  }
  const uint8_t mode = data[0];
  FuzzEnv env((mode & 4) != 0);
  VirtualClient c;
  drive(env, c, mode);

  std::span<const uint8_t> rest(data + 1, size - 1);
  for (int chunk = 0; chunk < 8 && rest.size() >= 2; ++chunk) {
    const uint8_t flags = rest[0];
    const size_t length = std::min<size_t>(rest[1], rest.size() - 2);
    deliver(env, c, flags, rest.subspan(2, length));
    rest = rest.subspan(2 + length);
    check_state(c);
    if ((flags & 4) != 0 && c.provisioning()) {
      c.on_bootstrap_finish(env, 0);
    }
    if ((flags & 8) != 0) {
      env.fire(c);
    }
    if ((flags & 16) != 0) {
      c.request_update(env, 0, (flags & 32) != 0, (flags & 64) != 0);
    }
    check_state(c);
  }

  // However it went, the client stops within a bounded number of timer firings.
  c.stop(env, 0);
  for (int i = 0; i < 64 && c.state() != ClientState::kStopped; ++i) {
    if (!env.fire(c)) {
      break;
    }
  }
  check(c.state() == ClientState::kStopped);
  return 0;
}

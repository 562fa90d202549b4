// A ClientEnv that drives one VirtualClient by hand, for the unit tests and the fuzzer: a manual
// clock, one timer slot, and every datagram and state change the client makes, in order.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sim/client/virtual_client.h"
#include "sim/lwm2m/lwm2m.h"

namespace lwm2msim {

class ManualClientEnv : public ClientEnv {
 public:
  struct Sent {
    TimeUs at;                   // clock time of the send
    std::vector<uint8_t> bytes;  // the datagram
  };

  // Client c is endpoint `pattern` at global index c + index_offset; its registration lists
  // /1/0 and /3/0.
  ManualClientEnv(std::string_view pattern, uint32_t lifetime_s, uint64_t index_offset,
                  uint64_t seed)
      : lifetime_(lifetime_s), rng_(seed), index_offset_(index_offset) {
    if (!EndpointPattern::parse(pattern, &config_.endpoint_pattern).empty()) {
      std::abort();  // a fixed pattern in the test itself
    }
    config_.lifetime_s = lifetime_s;
  }

  const ClientConfig& config(uint32_t) const override { return config_; }
  TimeUs now() const override { return clock_.now(); }
  Rng& rng() override { return rng_; }
  ClientStats& stats() override { return stats_; }
  uint64_t global_index(uint32_t client) const override { return client + index_offset_; }
  uint32_t lifetime(uint32_t) const override { return lifetime_; }
  std::string_view links(uint32_t) override { return links_; }
  void send(uint32_t, std::span<const uint8_t> d) override {
    sent_.push_back({clock_.now(), {d.begin(), d.end()}});
  }
  void schedule(uint32_t, TimeUs due) override { timer_ = due; }
  void cancel_timer(uint32_t) override { timer_.reset(); }
  void on_state_change(uint32_t, ClientState, ClientState to) override { states_.push_back(to); }

  // Advances the clock to the armed timer and fires it; false when none is armed.
  bool fire(VirtualClient& c) {
    if (!timer_) {
      return false;
    }
    const TimeUs due = *timer_;
    timer_.reset();
    clock_.set(std::max(clock_.now(), due));
    c.on_timer(*this, 0, due);
    return true;
  }

  // Public: the tests set them up and check them.
  ClientConfig config_;
  uint32_t lifetime_;
  std::string links_ = R"(</>;rt="oma.lwm2m",</1/0>,</3/0>)";
  ManualClock clock_;
  ClientStats stats_;
  std::vector<Sent> sent_;
  std::optional<TimeUs> timer_;
  std::vector<ClientState> states_;

 private:
  Rng rng_;
  uint64_t index_offset_;
};

}  // namespace lwm2msim

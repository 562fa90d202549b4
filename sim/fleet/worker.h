#pragma once

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <chrono>
#include <thread>
#include <unordered_map>
#include <vector>

#include "sim/coap/duplicate_cache.h"
#include "sim/fleet/fleet.h"
#include "sim/timer/timer_wheel.h"

namespace lwm2msim {

// How client i of the fleet maps to a worker, a socket and a source address. With W workers and
// S sockets (S a multiple of W), client i lives on worker i % W as local id i / W, and in
// multiplexed mode leaves through socket i % S from the (i / S)-th address of the plan.
struct ShardLayout {
  uint64_t clients = 0;
  uint32_t workers = 1;
  uint32_t sockets = 1;  // multiplexed sockets in the whole fleet
  bool socket_per_client = false;

  uint64_t local_count(uint32_t worker) const {
    return worker < clients ? (clients - worker + workers - 1) / workers : 0;
  }
};

class Worker final : public ClientEnv, public DatagramHandler {
 public:
  Worker(const FleetConfig& config, const ShardLayout& layout, uint32_t index);
  ~Worker() override;

  std::string prepare();
  void start(std::chrono::steady_clock::time_point epoch);
  // Thread-safe.
  void request_stop();
  bool finished() const { return finished_.load(std::memory_order_acquire); }
  void join();
  void collect(FleetSnapshot* out) const;

  // ClientEnv
  const ClientConfig& config() const override { return config_.client; }
  TimeUs now() const override;
  Rng& rng() override { return rng_; }
  ClientStats& stats() override { return client_stats_; }
  uint64_t global_index(uint32_t client) const override {
    return uint64_t{client} * layout_.workers + index_;
  }
  void send(uint32_t client, std::span<const uint8_t> datagram) override;
  void schedule(uint32_t client, TimeUs due) override;
  void cancel_timer(uint32_t client) override { wheel_.cancel(client); }
  void on_state_change(uint32_t client, ClientState from, ClientState to) override;

  // DatagramHandler
  void on_datagram(const ReceivedDatagram& datagram) override;
  void on_batch_end() override;

 private:
  struct Observation {
    uint32_t client = UINT32_MAX;  // UINT32_MAX: free slot
    uint32_t sequence = 0;
    uint16_t last_mid = 0;
    uint16_t format = 0;  // content format the server asked for
    CoapToken token;
    Lwm2mPath path;
  };

  void run();
  void on_wake();
  void arm();
  void fire(uint32_t id, uint64_t due_tick);
  void stop_sweep();
  void finish_stop();
  uint32_t client_of(const ReceivedDatagram& d) const;
  void handle_request(uint32_t client, const CoapMessage& request);
  void reply(uint32_t client, const CoapMessage& request, Lwm2mOperation op, uint8_t code,
             uint16_t format, std::span<const uint8_t> payload, const uint32_t* observe);
  uint32_t add_observation(uint32_t client, const CoapMessage& request, const Lwm2mPath& path,
                           uint16_t format);
  uint16_t default_format(const Lwm2mPath& path) const;
  // Encodes the Device object's values under `path`; returns 2.05 or the error code to answer.
  uint8_t encode_device(const Lwm2mPath& path, uint32_t client, TimeUs t, uint16_t format,
                        std::vector<uint8_t>* out) const;
  void cancel_observation(uint32_t client, std::span<const uint8_t> token);
  void notify(uint32_t slot);
  void drop_observations(uint32_t client);

  static uint64_t to_tick(TimeUs t) { return (t + kTickUs - 1) / kTickUs; }
  static constexpr TimeUs kTickUs = 1000;

  const FleetConfig& config_;
  ShardLayout layout_;
  uint32_t index_;
  uint32_t local_count_;
  uint32_t stop_timer_id_;
  uint32_t first_observation_id_;

  asio::io_context io_;
  asio::steady_timer wake_timer_;
  std::chrono::steady_clock::time_point epoch_;
  uint64_t armed_tick_ = UINT64_MAX;
  bool in_dispatch_ = false;

  UdpTransport transport_;
  TimerWheel wheel_;
  std::vector<VirtualClient> clients_;
  Rng rng_;
  DuplicateCache duplicates_;
  std::vector<Observation> observations_;
  std::vector<uint32_t> free_observations_;
  std::unordered_map<uint32_t, std::vector<uint32_t>> observations_by_client_;

  bool stopping_ = false;
  uint32_t stop_cursor_ = 0;
  TimeUs stop_deadline_ = 0;
  TimeUs stop_started_ = 0;

  std::thread thread_;
  std::atomic<bool> finished_{false};

  ClientStats client_stats_;
  RequestStats request_stats_;
  Histogram timer_lateness_;  // us between a timer's due time and its firing
  std::array<Gauge, kClientStateCount> state_counts_;
  Counter abandoned_;  // clients still registered when the stop bound ran out
};

}  // namespace lwm2msim

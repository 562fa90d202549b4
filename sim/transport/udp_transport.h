// transport: UDP sockets that each carry many local client addresses (IP_PKTINFO), or one
// address each; batched receive (recvmmsg) and send (sendmmsg), driven by one worker's io_context.
#pragma once

#include <array>
#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sim/stats/histogram.h"
#include "sim/util/address_plan.h"

namespace lwm2msim {

struct ReceivedDatagram {
  uint32_t socket = 0;  // index returned by UdpTransport::open
  Endpoint4 local;      // destination address of the datagram (the virtual client's address)
  Endpoint4 peer;       // source address
  std::span<const uint8_t> data;
};

class DatagramHandler {
 public:
  virtual ~DatagramHandler() = default;
  // Called for every datagram of a receive batch, then on_batch_end once.
  virtual void on_datagram(const ReceivedDatagram& datagram) = 0;
  virtual void on_batch_end() {}
};

struct TransportStats {
  Counter datagrams_in;   // datagrams received
  Counter datagrams_out;  // datagrams handed to the kernel
  Counter bytes_in;       // UDP payload bytes received
  Counter bytes_out;      // UDP payload bytes sent
  Counter send_errors;    // datagrams the kernel refused (buffer full, unreachable)
  Counter truncated_in;   // datagrams larger than the receive buffer, dropped
  Counter syscalls;       // recvmmsg + sendmmsg + epoll_wait calls
};

// Owns sockets and one epoll set; not thread-safe, used by the thread running its io_context.
class UdpTransport {
 public:
  static constexpr size_t kBatch = 64;
  static constexpr size_t kMaxDatagram = 1500;

  UdpTransport(asio::io_context& io, DatagramHandler& handler);
  ~UdpTransport();
  UdpTransport(const UdpTransport&) = delete;
  UdpTransport& operator=(const UdpTransport&) = delete;

  // Opens a socket bound to `bind` (ip 0 = any; port 0 = kernel's choice). With `multiplex` the
  // socket reports each datagram's destination address and may send from any local address.
  // `reuse_port` lets several sockets (one per thread) share a port. Returns the socket index, or
  // -1 with *error set.
  int open(const Endpoint4& bind, bool multiplex, bool reuse_port, std::string* error);
  // The address a socket is bound to (with the kernel-chosen port).
  Endpoint4 local_address(uint32_t socket) const;
  size_t socket_count() const { return sockets_.size(); }

  // Queues a datagram; sent at the end of the current handler batch or when the queue is full.
  // `from_ip` selects the source address on a multiplexed socket (0 = the kernel's choice).
  void send(uint32_t socket, uint32_t from_ip, const Endpoint4& to, std::span<const uint8_t> data);
  // Sends everything queued.
  void flush();

  // Starts watching for input; call once after opening sockets.
  void start();
  // Stops watching and closes every socket.
  void close();

  TransportStats& stats() { return stats_; }
  const TransportStats& stats() const { return stats_; }

 private:
  struct Socket {
    int fd = -1;
    Endpoint4 local;
    bool multiplex = false;
  };
  struct Outgoing {
    uint32_t socket = 0;
    uint32_t from_ip = 0;
    Endpoint4 to;
    uint16_t length = 0;
    std::array<uint8_t, kMaxDatagram> data;
  };

  void arm();
  void drain_ready();
  // Returns false when the socket has nothing more to read.
  bool receive_batch(uint32_t socket);
  void schedule_flush();

  asio::io_context& io_;
  DatagramHandler& handler_;
  std::vector<Socket> sockets_;
  int epoll_fd_ = -1;
  std::unique_ptr<asio::posix::stream_descriptor> watcher_;
  std::vector<Outgoing> queue_;
  size_t queued_ = 0;
  bool flush_scheduled_ = false;
  bool closed_ = false;
  // Receive buffers, reused for every batch.
  std::vector<std::array<uint8_t, kMaxDatagram>> rx_buffers_;
  TransportStats stats_;
};

}  // namespace lwm2msim

// transport: UDP sockets that each carry many local client addresses (IP_PKTINFO), or one
// address each; batched receive (recvmmsg) and send (sendmmsg), driven by one thread's EventLoop.
#pragma once

#include <array>
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
  int64_t arrival_ns = 0;  // CLOCK_MONOTONIC when the kernel received it (0: not recorded)
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

// Owns sockets and one epoll set; not thread-safe, used by the thread that runs its loop.
class UdpTransport {
 public:
  static constexpr size_t kBatch = 64;
  static constexpr size_t kMaxDatagram = 1500;

  explicit UdpTransport(DatagramHandler& handler);
  ~UdpTransport();
  UdpTransport(const UdpTransport&) = delete;
  UdpTransport& operator=(const UdpTransport&) = delete;

  // Opens a socket bound to `bind` (ip 0 = any; port 0 = kernel's choice). With `multiplex` the
  // socket reports each datagram's destination address and may send from any local address.
  // `reuse_port` lets several sockets (one per thread) share a port. With `timestamps` every
  // datagram carries the time the kernel received it (SO_TIMESTAMPNS), so a loop that reads input
  // late still measures when it arrived. Returns the socket index, or -1 with *error set.
  int open(const Endpoint4& bind, bool multiplex, bool reuse_port, std::string* error,
           bool timestamps = false);
  // The address a socket is bound to (with the kernel-chosen port).
  Endpoint4 local_address(uint32_t socket) const;
  size_t socket_count() const { return sockets_.size(); }

  // Queues a datagram; sent by the next flush (the owner's loop flushes once per turn) or when the
  // queue is full.
  // `from_ip` selects the source address on a multiplexed socket (0 = the kernel's choice).
  void send(uint32_t socket, uint32_t from_ip, const Endpoint4& to, std::span<const uint8_t> data);
  // Sends everything queued: one sendmmsg per socket.
  void flush();

  // Readable while some socket has input: what the owner's EventLoop waits on (-1 before open).
  int epoll_fd() const { return epoll_fd_; }
  // Reads what the sockets hold, in batches, handing each datagram to the handler; bounded, so a
  // flooded socket cannot starve the loop's timers.
  void drain_ready();
  // Sends what is queued and closes every socket.
  void close();

  TransportStats& stats() { return stats_; }
  const TransportStats& stats() const { return stats_; }

 private:
  struct Socket {
    int fd = -1;
    Endpoint4 local;
    bool multiplex = false;
    bool timestamps = false;
  };
  struct Outgoing {
    uint32_t socket = 0;
    uint32_t from_ip = 0;
    Endpoint4 to;
    uint16_t length = 0;
    std::array<uint8_t, kMaxDatagram> data;
  };

  // Returns false when the socket has nothing more to read.
  bool receive_batch(uint32_t socket);
  // Sends queue_[order[first..last)], which all leave through one socket.
  void send_run(std::span<const uint8_t> order);

  DatagramHandler& handler_;
  std::vector<Socket> sockets_;
  int epoll_fd_ = -1;
  std::vector<Outgoing> queue_;
  size_t queued_ = 0;
  bool closed_ = false;
  // Receive buffers, reused for every batch.
  std::vector<std::array<uint8_t, kMaxDatagram>> rx_buffers_;
  TransportStats stats_;
};

}  // namespace lwm2msim

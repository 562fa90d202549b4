#include "sim/transport/udp_transport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace lwm2msim {
namespace {

constexpr int kSocketBufferBytes = 8 * 1024 * 1024;

sockaddr_in to_sockaddr(const Endpoint4& ep) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(ep.ip);
  sa.sin_port = htons(ep.port);
  return sa;
}

void grow_buffer(int fd, int option, int force_option) {
  // Loopback bursts (a fleet registering or stopping at once) overflow the default 208 KiB.
  // The forcing variant needs CAP_NET_ADMIN; fall back to what rmem_max/wmem_max allow.
  if (setsockopt(fd, SOL_SOCKET, force_option, &kSocketBufferBytes, sizeof kSocketBufferBytes) !=
      0) {
    setsockopt(fd, SOL_SOCKET, option, &kSocketBufferBytes, sizeof kSocketBufferBytes);
  }
}

// A port on `ip` that no socket holds now, or 0. bind() to port 0 with SO_REUSEPORT may hand out
// a port that another reuse-port socket of the same user holds (the kernel lets them share it, and
// then splits the datagrams between them); without the option it picks a port nobody has.
uint16_t unused_port(uint32_t ip) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return 0;
  }
  sockaddr_in sa = to_sockaddr(Endpoint4{ip, 0});
  socklen_t len = sizeof sa;
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0) {
    port = ntohs(sa.sin_port);
  }
  ::close(fd);
  return port;
}

}  // namespace

UdpTransport::UdpTransport(DatagramHandler& handler)
    : handler_(handler), queue_(kBatch), rx_buffers_(kBatch) {}

UdpTransport::~UdpTransport() {
  close();
}

int UdpTransport::open(const Endpoint4& bind, bool multiplex, bool reuse_port, std::string* error,
                       bool timestamps) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::string("socket(): ") + std::strerror(errno) +
             (errno == EMFILE ? " (the open-files limit, ulimit -n, is reached)" : "");
    return -1;
  }
  const int one = 1;
  if (multiplex) {
    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
    // Lets the socket send from addresses it is not bound to (every 127/8 address is local anyway).
    setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof one);
  }
  if (reuse_port) {
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  }
  if (timestamps && setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) != 0) {
    timestamps = false;
  }
  grow_buffer(fd, SO_RCVBUF, SO_RCVBUFFORCE);
  grow_buffer(fd, SO_SNDBUF, SO_SNDBUFFORCE);
  Endpoint4 local = bind;
  if (reuse_port && local.port == 0) {
    local.port = unused_port(local.ip);
  }
  sockaddr_in sa = to_sockaddr(local);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    *error = "bind(" + local.to_string() + "): " + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  socklen_t len = sizeof sa;
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  if (epoll_fd_ < 0) {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) {
      *error = std::string("epoll_create1(): ") + std::strerror(errno);
      ::close(fd);
      return -1;
    }
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u32 = static_cast<uint32_t>(sockets_.size());
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    *error = std::string("epoll_ctl(): ") + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  sockets_.push_back(
      {fd, Endpoint4{ntohl(sa.sin_addr.s_addr), ntohs(sa.sin_port)}, multiplex, timestamps});
  return static_cast<int>(sockets_.size() - 1);
}

Endpoint4 UdpTransport::local_address(uint32_t socket) const {
  return sockets_[socket].local;
}

void UdpTransport::drain_ready() {
  std::array<epoll_event, 64> events;
  // Bounded: a socket flooded faster than we read must not starve timers on this loop.
  for (int round = 0; round < 8; ++round) {
    stats_.syscalls.add();
    const int n = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), 0);
    if (n <= 0) {
      break;
    }
    bool more = false;
    for (int i = 0; i < n; ++i) {
      more = receive_batch(events[static_cast<size_t>(i)].data.u32) || more;
    }
    flush();
    if (!more && n < static_cast<int>(events.size())) {
      break;
    }
  }
}

bool UdpTransport::receive_batch(uint32_t socket) {
  const Socket& s = sockets_[socket];
  std::array<mmsghdr, kBatch> msgs{};
  std::array<iovec, kBatch> iovs{};
  std::array<sockaddr_in, kBatch> peers{};
  std::array<std::array<uint8_t, CMSG_SPACE(sizeof(in_pktinfo)) + CMSG_SPACE(sizeof(timespec))>,
             kBatch>
      controls;
  for (size_t i = 0; i < kBatch; ++i) {
    iovs[i] = {rx_buffers_[i].data(), rx_buffers_[i].size()};
    msgs[i].msg_hdr.msg_name = &peers[i];
    msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
    msgs[i].msg_hdr.msg_iov = &iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    if (s.multiplex || s.timestamps) {
      msgs[i].msg_hdr.msg_control = controls[i].data();
      msgs[i].msg_hdr.msg_controllen = controls[i].size();
    }
  }
  stats_.syscalls.add();
  const int n = recvmmsg(s.fd, msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
  if (n <= 0) {
    return false;
  }
  // The kernel stamps with CLOCK_REALTIME; the loop thinks in CLOCK_MONOTONIC.
  int64_t realtime_to_monotonic = 0;
  if (s.timestamps) {
    timespec mono{};
    timespec real{};
    clock_gettime(CLOCK_MONOTONIC, &mono);
    clock_gettime(CLOCK_REALTIME, &real);
    realtime_to_monotonic =
        (mono.tv_sec - real.tv_sec) * 1'000'000'000LL + mono.tv_nsec - real.tv_nsec;
  }
  for (int i = 0; i < n; ++i) {
    const auto idx = static_cast<size_t>(i);
    const msghdr& h = msgs[idx].msg_hdr;
    if ((h.msg_flags & MSG_TRUNC) != 0) {
      stats_.truncated_in.add();
      continue;
    }
    ReceivedDatagram d;
    d.socket = socket;
    d.local = s.local;
    for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr;
         c = CMSG_NXTHDR(const_cast<msghdr*>(&h), c)) {
      if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
        in_pktinfo info;
        std::memcpy(&info, CMSG_DATA(c), sizeof info);
        d.local.ip = ntohl(info.ipi_addr.s_addr);
      } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
        timespec ts;
        std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
        d.arrival_ns = ts.tv_sec * 1'000'000'000LL + ts.tv_nsec + realtime_to_monotonic;
      }
    }
    d.peer = {ntohl(peers[idx].sin_addr.s_addr), ntohs(peers[idx].sin_port)};
    d.data = {rx_buffers_[idx].data(), msgs[idx].msg_len};
    stats_.datagrams_in.add();
    stats_.bytes_in.add(msgs[idx].msg_len);
    handler_.on_datagram(d);
  }
  handler_.on_batch_end();
  return n == static_cast<int>(kBatch);
}

void UdpTransport::send(uint32_t socket, uint32_t from_ip, const Endpoint4& to,
                        std::span<const uint8_t> data) {
  if (closed_ || data.size() > kMaxDatagram) {
    stats_.send_errors.add();
    return;
  }
  if (queued_ == queue_.size()) {
    flush();
  }
  Outgoing& o = queue_[queued_++];
  o.socket = socket;
  o.from_ip = from_ip;
  o.to = to;
  o.length = static_cast<uint16_t>(data.size());
  std::memcpy(o.data.data(), data.data(), data.size());
}

void UdpTransport::flush() {
  if (queued_ == 0) {
    return;
  }
  // Clients of one worker spread over its sockets: group the queue by socket (stable, so each
  // client's datagrams keep their order) and send each group with one sendmmsg.
  std::array<uint8_t, kBatch> order;
  for (size_t i = 0; i < queued_; ++i) {
    order[i] = static_cast<uint8_t>(i);
  }
  std::stable_sort(order.begin(), order.begin() + static_cast<ptrdiff_t>(queued_),
                   [this](uint8_t a, uint8_t b) { return queue_[a].socket < queue_[b].socket; });
  size_t start = 0;
  while (start < queued_) {
    size_t end = start + 1;
    while (end < queued_ && queue_[order[end]].socket == queue_[order[start]].socket) {
      ++end;
    }
    send_run(std::span<const uint8_t>(order.data() + start, end - start));
    start = end;
  }
  queued_ = 0;
}

void UdpTransport::send_run(std::span<const uint8_t> run) {
  const Socket& s = sockets_[queue_[run[0]].socket];
  const size_t count = run.size();
  std::array<mmsghdr, kBatch> msgs{};
  std::array<iovec, kBatch> iovs{};
  std::array<sockaddr_in, kBatch> dests{};
  std::array<std::array<uint8_t, CMSG_SPACE(sizeof(in_pktinfo))>, kBatch> controls{};
  for (size_t i = 0; i < count; ++i) {
    Outgoing& o = queue_[run[i]];
    dests[i] = to_sockaddr(o.to);
    iovs[i] = {o.data.data(), o.length};
    msghdr& h = msgs[i].msg_hdr;
    h.msg_name = &dests[i];
    h.msg_namelen = sizeof(sockaddr_in);
    h.msg_iov = &iovs[i];
    h.msg_iovlen = 1;
    if (s.multiplex && o.from_ip != 0) {
      h.msg_control = controls[i].data();
      h.msg_controllen = controls[i].size();
      cmsghdr* c = CMSG_FIRSTHDR(&h);
      c->cmsg_level = IPPROTO_IP;
      c->cmsg_type = IP_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
      in_pktinfo info{};
      info.ipi_spec_dst.s_addr = htonl(o.from_ip);
      std::memcpy(CMSG_DATA(c), &info, sizeof info);
    }
  }
  size_t sent = 0;
  while (sent < count) {
    stats_.syscalls.add();
    const int n = sendmmsg(s.fd, msgs.data() + sent, static_cast<unsigned>(count - sent), 0);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      // The datagram at the head failed (buffer full, unreachable); CoAP retransmission copes.
      stats_.send_errors.add();
      ++sent;
      continue;
    }
    for (int i = 0; i < n; ++i) {
      stats_.datagrams_out.add();
      stats_.bytes_out.add(iovs[sent + static_cast<size_t>(i)].iov_len);
    }
    sent += static_cast<size_t>(n);
  }
}

void UdpTransport::close() {
  if (closed_) {
    return;
  }
  flush();
  closed_ = true;
  for (Socket& s : sockets_) {
    ::close(s.fd);
  }
  sockets_.clear();
  if (epoll_fd_ >= 0) {
    ::close(epoll_fd_);
    epoll_fd_ = -1;
  }
}

}  // namespace lwm2msim

#include "sim/transport/event_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace lwm2msim {
namespace {

constexpr uint64_t kControlTag = 0;
constexpr uint64_t kInputTag = 1;

void add(int epoll, int fd, uint64_t tag) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = tag;
  if (epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &ev) != 0) {
    throw std::runtime_error(std::string("epoll_ctl(): ") + std::strerror(errno));
  }
}

}  // namespace

EventLoop::EventLoop()
    : all_(epoll_create1(EPOLL_CLOEXEC)),
      control_(epoll_create1(EPOLL_CLOEXEC)),
      event_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (all_ < 0 || control_ < 0 || event_fd_ < 0) {
    const std::string reason = std::strerror(errno);
    for (int fd : {all_, control_, event_fd_}) {
      if (fd >= 0) {
        ::close(fd);
      }
    }
    throw std::runtime_error("event loop: " + reason);
  }
  add(all_, event_fd_, kControlTag);
  add(control_, event_fd_, kControlTag);
}

EventLoop::~EventLoop() {
  for (int* fd : {&all_, &control_, &event_fd_}) {
    if (*fd >= 0) {
      ::close(*fd);
      *fd = -1;
    }
  }
}

void EventLoop::set_input(int fd) {
  if (fd >= 0 && input_fd_ < 0) {
    input_fd_ = fd;
    add(all_, fd, kInputTag);
  }
}

void EventLoop::post(std::function<void()> task) {
  std::lock_guard lock(mutex_);
  posted_.push_back(std::move(task));
  if (!signalled_) {
    signalled_ = true;
    const uint64_t one = 1;
    // Cannot fail short of a counter overflow, which one pending signal rules out.
    [[maybe_unused]] const ssize_t n = ::write(event_fd_, &one, sizeof one);
  }
}

void EventLoop::stop() {
  stopped_.store(true, std::memory_order_release);
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(event_fd_, &one, sizeof one);
}

bool EventLoop::wait(Clock::time_point deadline, bool watch_input) {
  if (stopped()) {
    return false;
  }
  timespec timeout{};
  timespec* limit = nullptr;
  if (deadline != Clock::time_point::max()) {
    const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - Clock::now());
    if (left.count() > 0) {
      timeout.tv_sec = static_cast<time_t>(left.count() / 1'000'000'000);
      timeout.tv_nsec = static_cast<long>(left.count() % 1'000'000'000);
    }
    limit = &timeout;
  }
  epoll_event events[2];
  const int n = epoll_pwait2(watch_input ? all_ : control_, events, 2, limit, nullptr);
  bool input = false;
  for (int i = 0; i < n; ++i) {
    input = input || events[i].data.u64 == kInputTag;
  }
  return input;
}

void EventLoop::run_posted() {
  {
    std::lock_guard lock(mutex_);
    if (!signalled_ && posted_.empty()) {
      return;
    }
    running_.swap(posted_);
    if (signalled_) {
      signalled_ = false;
      uint64_t count = 0;
      [[maybe_unused]] const ssize_t n = ::read(event_fd_, &count, sizeof count);
    }
  }
  for (auto& task : running_) {
    task();
  }
  running_.clear();
}

}  // namespace lwm2msim

#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <vector>

namespace lwm2msim {

// The loop one worker or server thread runs: it sleeps on epoll until input is ready, its deadline
// passes or a task is posted. Nothing is re-armed per wait (no timerfd, no epoll_ctl), so a wake-up
// costs one epoll_pwait2.
class EventLoop {
 public:
  using Clock = std::chrono::steady_clock;

  EventLoop();  // throws std::runtime_error when the kernel refuses an epoll set or an eventfd
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // The descriptor that is readable while input waits (a UdpTransport's epoll set); once, before
  // the first wait.
  void set_input(int fd);

  // Thread-safe: `task` runs on the loop's thread at its next turn (run_posted).
  void post(std::function<void()> task);
  // Thread-safe: every wait from now on returns at once.
  void stop();
  bool stopped() const { return stopped_.load(std::memory_order_acquire); }

  // Sleeps until `deadline` (Clock::time_point::max(): none), a post or stop(), and, with
  // `watch_input`, until input is ready. True when it saw input ready.
  bool wait(Clock::time_point deadline, bool watch_input);
  // Runs the tasks posted so far, in order.
  void run_posted();

 private:
  int all_ = -1;      // epoll set: the eventfd and the input
  int control_ = -1;  // epoll set: the eventfd alone, for waits that leave input for later
  int event_fd_ = -1;
  int input_fd_ = -1;
  std::atomic<bool> stopped_{false};
  std::mutex mutex_;
  std::vector<std::function<void()>> posted_;  // guarded by mutex_
  bool signalled_ = false;                     // guarded by mutex_: the eventfd holds a count
  std::vector<std::function<void()>> running_;
};

}  // namespace lwm2msim

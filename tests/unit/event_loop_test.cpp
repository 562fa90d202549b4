// The worker's event loop: deadlines, input readiness, tasks posted from other threads, stop.
#include "sim/transport/event_loop.h"

#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <thread>

namespace lwm2msim {
namespace {

using Clock = EventLoop::Clock;

// An eventfd standing in for a transport's epoll set: readable once written.
class FakeInput {
 public:
  FakeInput() : fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  ~FakeInput() { ::close(fd_); }
  int fd() const { return fd_; }
  void make_ready() {
    const uint64_t one = 1;
    ASSERT_EQ(::write(fd_, &one, sizeof one), static_cast<ssize_t>(sizeof one));
  }
  void consume() {
    uint64_t n = 0;
    ASSERT_EQ(::read(fd_, &n, sizeof n), static_cast<ssize_t>(sizeof n));
  }

 private:
  int fd_;
};

TEST(EventLoop, ReturnsAtTheDeadlineWithoutInput) {
  EventLoop loop;
  FakeInput input;
  loop.set_input(input.fd());
  const auto deadline = Clock::now() + std::chrono::milliseconds(2);
  EXPECT_FALSE(loop.wait(deadline, true));
  EXPECT_GE(Clock::now(), deadline);
}

TEST(EventLoop, ReportsReadyInputOnlyWhenWatchingIt) {
  EventLoop loop;
  FakeInput input;
  loop.set_input(input.fd());
  input.make_ready();
  EXPECT_TRUE(loop.wait(Clock::time_point::max(), true));
  // Not watched: the wait runs to its deadline and says nothing of the input.
  EXPECT_FALSE(loop.wait(Clock::now() + std::chrono::milliseconds(1), false));
  // Level-triggered: still ready until consumed.
  EXPECT_TRUE(loop.wait(Clock::now() + std::chrono::seconds(5), true));
  input.consume();
  EXPECT_FALSE(loop.wait(Clock::now(), true));
}

TEST(EventLoop, RunsTasksPostedFromAnotherThreadInOrder) {
  EventLoop loop;
  std::vector<int> ran;
  std::thread poster([&] {
    for (int i = 0; i < 100; ++i) {
      loop.post([&ran, i] { ran.push_back(i); });
    }
  });
  poster.join();
  // A post wakes a wait that has no deadline.
  loop.wait(Clock::time_point::max(), false);
  loop.run_posted();
  ASSERT_EQ(ran.size(), 100u);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(ran[static_cast<size_t>(i)], i);
  }
  // Nothing left: the next wait sleeps until its deadline.
  loop.run_posted();
  EXPECT_EQ(ran.size(), 100u);
}

TEST(EventLoop, TaskPostedByATaskRunsAtTheNextTurn) {
  EventLoop loop;
  int stage = 0;
  loop.post([&] {
    stage = 1;
    loop.post([&] { stage = 2; });
  });
  loop.run_posted();
  EXPECT_EQ(stage, 1);
  loop.wait(Clock::time_point::max(), false);
  loop.run_posted();
  EXPECT_EQ(stage, 2);
}

TEST(EventLoop, StopFromAnotherThreadEndsAWaitWithoutDeadline) {
  EventLoop loop;
  std::atomic<bool> returned{false};
  std::thread waiter([&] {
    while (!loop.stopped()) {
      loop.wait(Clock::time_point::max(), true);
    }
    returned = true;
  });
  loop.stop();
  waiter.join();
  EXPECT_TRUE(returned);
  EXPECT_FALSE(loop.wait(Clock::time_point::max(), true));
}

}  // namespace
}  // namespace lwm2msim

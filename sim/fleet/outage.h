// Server outages as the fleet sees them: periods in which exchanges with the server only time
// out, ending at the first answer. One tracker per worker (single writer); the fleet merges the
// workers' records into one view. Per client it keeps one bit: whether the client lost its
// registration to an outage and has not registered again.
#pragma once

#include <cstdint>
#include <mutex>
#include <vector>

#include "sim/util/time.h"

namespace lwm2msim {

// One worker's record of one outage.
struct OutageRecord {
  TimeUs start = 0;  // the first timeout after the last answer
  TimeUs end = 0;    // the first answer again (while open: not yet)
  bool open = true;
  uint64_t lost = 0;  // devices whose registration it cost (an Update timed out or got 4.04)
  // Devices it lost (or an earlier outage left it) that have not registered again yet.
  uint64_t waiting = 0;
  // Devices that were still waiting when they stopped, rebooted or the next outage began.
  uint64_t gone = 0;
  TimeUs recovered_at = 0;  // when the last lost device registered again (0: not all have)
};

// The fleet-wide view: worker records whose periods overlap are one outage.
struct OutageSummary {
  uint64_t count = 0;
  TimeUs total = 0;    // sum of the outages' durations (an open one up to now)
  TimeUs longest = 0;  // the longest one
  uint64_t devices_lost = 0;
  // Devices lost and not registered again: still waiting, or stopped or caught by a later
  // outage first.
  uint64_t unrecovered = 0;
  // Longest time from an outage's end until every device it cost was registered again, over the
  // outages whose devices all came back.
  TimeUs recovery = 0;
  TimeUs recovered_at = 0;  // when the last of those recoveries completed (run time)
  bool ongoing = false;
};

// Merges the workers' records (any order); `now` ends the open ones.
OutageSummary merge_outages(std::vector<OutageRecord> records, TimeUs now);

class OutageTracker {
 public:
  // `min_span`: timeouts only for this long (no answer between) make an outage, so a few
  // unlucky exchanges under packet loss do not. `window`: after an outage ends, devices that
  // learn they lost their registration (an Update's 4.04, a late timeout) within this long still
  // count against it.
  OutageTracker(uint32_t clients, TimeUs min_span, TimeUs window);

  // Exchanges with the server: any answer, or one that ran out of retransmissions.
  void answered(TimeUs t);
  void timed_out(TimeUs t);
  // A registered client lost its registration (its Update timed out or was refused).
  void registration_lost(uint32_t client, TimeUs t);
  // A client's Register succeeded.
  void registered(uint32_t client, TimeUs t);
  // A client stopped or went idle (reboot, retire) without registering again.
  void gone(uint32_t client);
  // The fleet stops: De-registers and abandoned exchanges say nothing about the server, so an
  // outage in progress ends here and no new one starts.
  void stop(TimeUs t);

  // A copy of the records; any thread.
  std::vector<OutageRecord> records() const;

 private:
  bool marked(uint32_t client) const { return (lost_bits_[client / 64] >> (client % 64)) & 1; }
  void mark(uint32_t client) { lost_bits_[client / 64] |= uint64_t{1} << (client % 64); }
  void unmark(uint32_t client) { lost_bits_[client / 64] &= ~(uint64_t{1} << (client % 64)); }
  // Devices lost before the streak of timeouts became an outage, if it does not.
  void forget_tentative();
  // The last record is the one marked devices count against (the writer reads it unlocked).
  OutageRecord* last() { return records_.empty() ? nullptr : &records_.back(); }

  TimeUs min_span_;
  TimeUs window_;
  std::vector<uint64_t> lost_bits_;
  bool streak_ = false;  // timeouts and no answer since the first of them
  TimeUs streak_start_ = 0;
  bool in_outage_ = false;
  bool stopped_ = false;
  std::vector<uint32_t> tentative_;  // lost during a streak that is not an outage yet

  mutable std::mutex mutex_;  // guards records_ (read by snapshots)
  std::vector<OutageRecord> records_;
};

}  // namespace lwm2msim

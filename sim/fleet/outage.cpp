#include "sim/fleet/outage.h"

#include <algorithm>

namespace lwm2msim {
namespace {

// Bounds on what a worker keeps: outages are rare, and the devices lost during the short streak
// before an outage is declared are few next to the fleet.
constexpr size_t kMaxRecords = 4096;
constexpr size_t kMaxTentative = size_t{1} << 20;

}  // namespace

OutageTracker::OutageTracker(uint32_t clients, TimeUs min_span, TimeUs window)
    : min_span_(min_span), window_(window), lost_bits_((uint64_t{clients} + 63) / 64, 0) {}

void OutageTracker::forget_tentative() {
  for (uint32_t c : tentative_) {
    unmark(c);
  }
  tentative_.clear();
}

void OutageTracker::stop(TimeUs t) {
  answered(t);
  stopped_ = true;
}

void OutageTracker::answered(TimeUs t) {
  if (stopped_) {
    return;
  }
  if (streak_ && !in_outage_) {
    forget_tentative();
  }
  streak_ = false;
  if (!in_outage_) {
    return;
  }
  in_outage_ = false;
  const std::lock_guard lock(mutex_);
  OutageRecord& r = records_.back();
  r.end = std::max(t, r.start);
  r.open = false;
  if (r.waiting == 0 && r.gone == 0) {
    r.recovered_at = r.end;
  }
}

void OutageTracker::timed_out(TimeUs t) {
  if (stopped_) {
    return;
  }
  if (!streak_) {
    streak_ = true;
    streak_start_ = t;
  }
  if (in_outage_ || t < streak_start_ + min_span_) {
    return;
  }
  in_outage_ = true;
  const std::lock_guard lock(mutex_);
  uint64_t carried = 0;
  if (OutageRecord* prev = last(); prev != nullptr && prev->waiting > 0) {
    // Devices the last outage left unregistered: they did not recover before this one.
    carried = prev->waiting;
    prev->gone += prev->waiting;
    prev->waiting = 0;
  }
  if (records_.size() >= kMaxRecords) {
    records_.erase(records_.begin());
  }
  OutageRecord& r = records_.emplace_back();
  r.start = streak_start_;
  r.lost = tentative_.size();
  r.waiting = tentative_.size() + carried;
  tentative_.clear();
}

void OutageTracker::registration_lost(uint32_t client, TimeUs t) {
  if (stopped_ || marked(client)) {
    return;
  }
  if (streak_ && !in_outage_) {
    if (tentative_.size() < kMaxTentative) {
      mark(client);
      tentative_.push_back(client);
    }
    return;
  }
  OutageRecord* r = last();
  if (r == nullptr || (!in_outage_ && t > r->end + window_)) {
    return;
  }
  mark(client);
  const std::lock_guard lock(mutex_);
  ++r->lost;
  ++r->waiting;
  r->recovered_at = 0;
}

void OutageTracker::registered(uint32_t client, TimeUs t) {
  if (!marked(client)) {
    return;
  }
  unmark(client);
  OutageRecord* r = last();
  if (r == nullptr || r->waiting == 0) {
    return;
  }
  const std::lock_guard lock(mutex_);
  --r->waiting;
  if (r->waiting == 0 && !in_outage_ && r->gone == 0) {
    r->recovered_at = std::max(t, r->end);
  }
}

void OutageTracker::gone(uint32_t client) {
  if (!marked(client)) {
    return;
  }
  unmark(client);
  if (const auto it = std::find(tentative_.begin(), tentative_.end(), client);
      it != tentative_.end()) {
    tentative_.erase(it);
    return;
  }
  OutageRecord* r = last();
  if (r == nullptr || r->waiting == 0) {
    return;
  }
  const std::lock_guard lock(mutex_);
  --r->waiting;
  ++r->gone;
  r->recovered_at = 0;
}

std::vector<OutageRecord> OutageTracker::records() const {
  const std::lock_guard lock(mutex_);
  return records_;
}

OutageSummary merge_outages(std::vector<OutageRecord> records, TimeUs now) {
  OutageSummary s;
  for (OutageRecord& r : records) {
    if (r.open) {
      r.end = std::max(now, r.start);
      s.ongoing = true;
    }
    s.devices_lost += r.lost;
    s.unrecovered += r.waiting + r.gone;
  }
  std::sort(records.begin(), records.end(),
            [](const OutageRecord& a, const OutageRecord& b) { return a.start < b.start; });
  for (size_t i = 0; i < records.size();) {
    // Workers see the same outage at slightly different times: overlapping records are one.
    TimeUs start = records[i].start;
    TimeUs end = records[i].end;
    bool recovered = true;
    TimeUs recovered_at = 0;
    size_t j = i;
    for (; j < records.size() && records[j].start <= end; ++j) {
      end = std::max(end, records[j].end);
      recovered = recovered && !records[j].open && records[j].recovered_at != 0;
      recovered_at = std::max(recovered_at, records[j].recovered_at);
    }
    ++s.count;
    s.total += end - start;
    s.longest = std::max(s.longest, end - start);
    if (recovered) {
      s.recovery = std::max(s.recovery, recovered_at > end ? recovered_at - end : 0);
      s.recovered_at = std::max(s.recovered_at, std::max(recovered_at, end));
    }
    i = j;
  }
  return s;
}

}  // namespace lwm2msim

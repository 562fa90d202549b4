#include "sim/fault/fault.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <utility>

namespace lwm2msim {
namespace {

// Salts keep the NAT phases and outage returns independent of every other stream of the run.
constexpr uint64_t kNatSalt = 0x6e61742d72656269ULL;
constexpr uint64_t kOutageSalt = 0x6f75746167652d72ULL;

TimeUs to_us(double x) {
  return x > 0 ? static_cast<TimeUs>(std::llround(x)) : 0;
}

double probability(double p) {
  return std::clamp(p, 0.0, 1.0);
}

}  // namespace

TimeUs sample(const Distribution& d, Rng& rng) {
  switch (d.kind) {
    case Distribution::Kind::kFixed:
      return d.a;
    case Distribution::Kind::kUniform:
      return d.b > d.a ? d.a + rng.below(d.b - d.a) : d.a;
    case Distribution::Kind::kNormal: {
      // Box-Muller; 1 - u lies in (0, 1], so the logarithm stays finite.
      const double u1 = 1.0 - rng.uniform();
      const double u2 = rng.uniform();
      const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
      return to_us(static_cast<double>(d.a) + static_cast<double>(d.b) * z);
    }
    case Distribution::Kind::kExponential:
      return to_us(-static_cast<double>(d.a) * std::log(1.0 - rng.uniform()));
  }
  return d.a;
}

LinkFaults::LinkFaults() : segments_(1) {}

LinkFaults::LinkFaults(std::vector<FaultSpec> specs) : specs_(std::move(specs)) {
  // The set of active specs only changes at window boundaries, so the combined effects are
  // computed once per interval between them and decide() only looks its interval up.
  std::vector<TimeUs> bounds{0};
  for (const FaultSpec& f : specs_) {
    bounds.push_back(f.window.start);
    if (f.window.end != 0) {
      bounds.push_back(f.window.end);
    }
  }
  std::sort(bounds.begin(), bounds.end());
  bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());

  segments_.reserve(bounds.size());
  for (const TimeUs start : bounds) {
    Segment s;
    s.start = start;
    s.latency_begin = static_cast<uint32_t>(latencies_.size());
    double keep_up = 1;
    double keep_down = 1;
    double no_duplicate = 1;
    double no_reorder = 1;
    for (const FaultSpec& f : specs_) {
      if (!f.window.contains(start)) {
        continue;
      }
      keep_up *= 1 - probability(f.loss_up);
      keep_down *= 1 - probability(f.loss_down);
      no_duplicate *= 1 - probability(f.duplicate);
      if (f.reorder > 0) {
        no_reorder *= 1 - probability(f.reorder);
        s.reorder_delay = std::max(s.reorder_delay, f.reorder_delay);
      }
      if (f.latency) {
        latencies_.push_back(*f.latency);
        ++s.latency_count;
      }
    }
    s.loss[static_cast<size_t>(Direction::kUp)] = 1 - keep_up;
    s.loss[static_cast<size_t>(Direction::kDown)] = 1 - keep_down;
    s.duplicate = 1 - no_duplicate;
    s.reorder = 1 - no_reorder;
    s.effects =
        s.loss[0] > 0 || s.loss[1] > 0 || s.duplicate > 0 || s.reorder > 0 || s.latency_count > 0;
    segments_.push_back(s);
  }

  for (size_t i = 0; i < specs_.size(); ++i) {
    const FaultSpec& f = specs_[i];
    if (f.nat_rebind_every > 0) {
      nat_.push_back({f.window, f.nat_rebind_every, kNatSalt + i});
    }
    if (f.power_outage_at &&
        (outage_ == SIZE_MAX || *f.power_outage_at < *specs_[outage_].power_outage_at)) {
      outage_ = i;
    }
  }
}

const LinkFaults::Segment& LinkFaults::segment_at(TimeUs now) const {
  if (segments_.size() == 1) {
    return segments_.front();
  }
  const auto it = std::upper_bound(segments_.begin(), segments_.end(), now,
                                   [](TimeUs t, const Segment& s) { return t < s.start; });
  return *(it - 1);
}

TimeUs LinkFaults::next_change(TimeUs now) const {
  const auto it = std::upper_bound(segments_.begin(), segments_.end(), now,
                                   [](TimeUs t, const Segment& s) { return t < s.start; });
  return it == segments_.end() ? kNever : it->start;
}

TimeUs LinkFaults::latency(const Segment& s, Rng& rng) const {
  TimeUs total = 0;
  for (uint32_t i = 0; i < s.latency_count; ++i) {
    total += sample(latencies_[s.latency_begin + i], rng);
  }
  return total;
}

Verdict LinkFaults::decide(Direction direction, TimeUs now, Rng& rng) const {
  Verdict v;
  const Segment& s = segment_at(now);
  if (!s.effects) {
    return v;
  }
  const double loss = s.loss[static_cast<size_t>(direction)];
  if (loss > 0 && rng.uniform() < loss) {
    v.copies = 0;
    return v;
  }
  v.delay = latency(s, rng);
  if (s.reorder > 0 && rng.uniform() < s.reorder) {
    v.delay += s.reorder_delay;
  }
  if (s.duplicate > 0 && rng.uniform() < s.duplicate) {
    v.copies = 2;
    v.duplicate_delay = latency(s, rng);
  }
  return v;
}

uint32_t LinkFaults::nat_epoch(uint64_t client_index, TimeUs now) const {
  uint64_t total = 0;
  for (const NatRebind& n : nat_) {
    const TimeUs first = n.window.start + mix_seed(n.salt, client_index) % n.every;
    // Rebinds happen at first + k * every while the window lasts.
    const TimeUs last = n.window.end == 0 ? now : std::min(now, n.window.end - 1);
    if (last < first) {
      continue;
    }
    total += (last - first) / n.every + 1;
  }
  return static_cast<uint32_t>(total);
}

std::optional<TimeUs> LinkFaults::outage_at() const {
  if (outage_ == SIZE_MAX) {
    return std::nullopt;
  }
  return specs_[outage_].power_outage_at;
}

std::optional<TimeUs> LinkFaults::outage_return(uint64_t client_index, uint64_t seed) const {
  if (outage_ == SIZE_MAX) {
    return std::nullopt;
  }
  const FaultSpec& f = specs_[outage_];
  if (f.power_outage_window == 0) {
    return *f.power_outage_at;
  }
  Rng rng(mix_seed(seed ^ kOutageSalt, client_index));
  return *f.power_outage_at + rng.below(f.power_outage_window);
}

}  // namespace lwm2msim

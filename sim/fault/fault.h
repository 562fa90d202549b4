// fault: network fault injection for the simulated links: loss, latency, duplication, reordering,
// NAT rebinding and power outages, decided per datagram from the worker's seeded Rng.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "sim/util/rng.h"
#include "sim/util/time.h"

namespace lwm2msim {

// A random delay or duration: fixed, uniform, normal (clamped at 0) or exponential.
struct Distribution {
  enum class Kind : uint8_t { kFixed, kUniform, kNormal, kExponential };
  Kind kind = Kind::kFixed;
  TimeUs a = 0;  // fixed: the value; uniform: min; normal: mean; exponential: mean
  TimeUs b = 0;  // uniform: max; normal: standard deviation
};

// When a fault or behaviour applies, relative to the start of the run; end 0: until the end.
struct Window {
  TimeUs start = 0;
  TimeUs end = 0;
  bool contains(TimeUs t) const { return t >= start && (end == 0 || t < end); }
};

// One fault's effects on the links of the devices it applies to.
struct FaultSpec {
  Window window;
  double loss_up = 0;                   // fraction of client-to-server datagrams dropped
  double loss_down = 0;                 // fraction of server-to-client datagrams dropped
  std::optional<Distribution> latency;  // extra delay of each datagram, both directions
  double duplicate = 0;                 // fraction of datagrams sent twice
  double reorder = 0;                   // fraction of datagrams held back by reorder_delay
  TimeUs reorder_delay = 0;
  TimeUs nat_rebind_every = 0;  // 0: never; else each client's source port changes this often
  // Every device drops at `power_outage_at` and comes back uniformly within the window after it.
  std::optional<TimeUs> power_outage_at;
  TimeUs power_outage_window = 0;
};

// Draws one value of `d`; uniform is [a, b), normal is clamped at 0.
TimeUs sample(const Distribution& d, Rng& rng);

enum class Direction : uint8_t { kUp, kDown };  // up: client to server

// What happens to one datagram.
struct Verdict {
  uint8_t copies = 1;          // 0: dropped; 1: sent; 2: sent twice
  TimeUs delay = 0;            // latency, plus the reorder hold-back when chosen
  TimeUs duplicate_delay = 0;  // the second copy's own latency
};

// The faults that apply to one group of devices. Immutable once built, so workers may share one.
// Several specs active at once combine: losses, duplication and reordering compound as
// independent events (1 - prod(1 - p)), latencies add, and the hold-back is the longest active
// reorder_delay.
class LinkFaults {
 public:
  static constexpr TimeUs kNever = UINT64_MAX;

  LinkFaults();
  explicit LinkFaults(std::vector<FaultSpec> specs);

  // False without specs: the caller can skip every other call.
  bool any() const { return !specs_.empty(); }
  // True when a spec rebinds the NAT (the client's source port changes over time).
  bool rebinds() const { return !nat_.empty(); }
  // True when a spec with loss, latency, duplication or reordering applies at `now`.
  bool active(TimeUs now) const { return segment_at(now).effects; }
  // The first window start or end after `now`, or kNever.
  TimeUs next_change(TimeUs now) const;

  // Draws the fate of one datagram sent at `now`. Draws nothing while no spec is active.
  Verdict decide(Direction direction, TimeUs now, Rng& rng) const;

  // How many source-port rebinds client `client_index` has gone through by `now`: rebinds fall
  // every nat_rebind_every inside the spec's window, shifted by a phase in [0, every) derived
  // from the index so that a fleet does not rebind in step. Sums over specs; 0 without any.
  uint32_t nat_epoch(uint64_t client_index, TimeUs now) const;

  // The earliest power outage of the specs, if any.
  std::optional<TimeUs> outage_at() const;
  // When client `client_index` comes back from that outage: at + uniform in [0, window),
  // the same for the same seed and index.
  std::optional<TimeUs> outage_return(uint64_t client_index, uint64_t seed) const;

  std::span<const FaultSpec> specs() const { return specs_; }

 private:
  // The specs' combined effects between two consecutive window boundaries.
  struct Segment {
    TimeUs start = 0;
    double loss[2] = {0, 0};  // by Direction
    double duplicate = 0;
    double reorder = 0;
    TimeUs reorder_delay = 0;
    uint32_t latency_begin = 0;  // into latencies_
    uint32_t latency_count = 0;
    bool effects = false;
  };
  struct NatRebind {
    Window window;
    TimeUs every = 0;
    uint64_t salt = 0;
  };

  const Segment& segment_at(TimeUs now) const;
  TimeUs latency(const Segment& s, Rng& rng) const;

  std::vector<FaultSpec> specs_;
  std::vector<Segment> segments_;  // sorted by start; the first starts at 0
  std::vector<Distribution> latencies_;
  std::vector<NatRebind> nat_;
  size_t outage_ = SIZE_MAX;  // index of the spec with the earliest power outage
};

}  // namespace lwm2msim

#include <algorithm>
#include <cmath>

#include "sim/cli/cli.h"
#include "sim/scenario/scenario.h"

namespace lwm2msim {
namespace {

std::string where(const ScenarioPlan& plan, int line, std::string_view field) {
  return plan.source + ":" + std::to_string(line) + ": " + std::string(field);
}

uint64_t scaled(uint64_t n, double scale) {
  return static_cast<uint64_t>(std::llround(static_cast<double>(n) * scale));
}

TimeUs scaled_time(TimeUs t, double time_scale) {
  return static_cast<TimeUs>(std::llround(static_cast<double>(t) * time_scale));
}

// Windows and outage times follow the timeline's scale; latencies are the network's and do not.
FaultSpec to_spec(const FaultPlan& f, double time_scale) {
  FaultSpec s;
  s.window = {scaled_time(f.window.start, time_scale), scaled_time(f.window.end, time_scale)};
  s.loss_up = f.loss_up;
  s.loss_down = f.loss_down;
  s.latency = f.latency;
  s.duplicate = f.duplicate;
  s.reorder = f.reorder;
  s.reorder_delay = f.reorder_delay;
  s.nat_rebind_every = scaled_time(f.nat_rebind_every, time_scale);
  if (f.power_outage_at) {
    s.power_outage_at = scaled_time(*f.power_outage_at, time_scale);
    s.power_outage_window = scaled_time(f.power_outage_window, time_scale);
  }
  return s;
}

}  // namespace

std::string scenario_run_options(const ScenarioPlan& plan, double scale, double time_scale,
                                 RunOptions* ro) {
  std::string errors;
  const auto unsupported = [&](int line, std::string_view field, std::string_view why) {
    errors += (errors.empty() ? "" : "\n") + where(plan, line, field) + ": " + std::string(why);
  };
  ro->server_uri = plan.server_uri;
  // What the scenario says about security wins over the command line's.
  const DtlsPlan& d = plan.dtls;
  if (!d.psk_id.empty() || !d.psk_seed.empty() || !d.psk_key.empty() || !d.certificate.empty() ||
      !d.ca.empty() || !d.ciphers.empty()) {
    ro->security.dtls = d;
  }
  ro->security.builtin_dtls = ro->security.builtin_dtls || plan.builtin.dtls;
  if (!plan.bootstrap_uri.empty()) {
    ro->security.bootstrap_uri = plan.bootstrap_uri;
  }
  ro->fleet.seed = plan.seed;
  ro->server.seed = plan.seed;
  ro->server.threads = plan.builtin.threads;
  ro->server.read_rate = plan.builtin.read_rate * scale;
  if (!plan.builtin.read_paths.empty()) {
    ro->server.read_paths = plan.builtin.read_paths;
  }
  ro->server.observe_fraction = plan.builtin.observe_fraction;
  if (plan.builtin.observe_path.depth() > 0) {
    ro->server.observe_path = plan.builtin.observe_path;
  }
  ro->server.exercise_fraction = plan.builtin.exercise_fraction;
  ro->server.exercise_rate = plan.builtin.exercise_rate * scale;
  ro->server.observe_attributes = plan.builtin.observe_attributes;
  ro->server.firmware_fraction = plan.builtin.firmware_fraction;
  ro->server.firmware_rate = plan.builtin.firmware_rate * scale;
  ro->server.firmware_size = static_cast<uint32_t>(plan.builtin.firmware_size);
  ro->server.firmware_version = plan.builtin.firmware_version;
  // The built-in server knows its devices: it waits for the shortest awake window of the
  // scenario's queue-mode groups after each message, as a server configured for them would.
  for (const GroupPlan& g : plan.groups) {
    if (g.queue_mode.sleep > 0) {
      ro->server.queue_awake =
          std::min(ro->server.queue_awake, scaled_time(g.queue_mode.awake, time_scale));
    }
  }

  // Weighted groups arrive with their share of `devices` already in `count`.
  std::vector<std::pair<std::string, std::pair<uint64_t, uint64_t>>> ranges;
  uint64_t first = 0;
  ro->fleet.groups.clear();
  for (size_t i = 0; i < plan.groups.size(); ++i) {
    const GroupPlan& g = plan.groups[i];
    FleetGroup fg;
    fg.name = g.name;
    fg.count = std::max<uint64_t>(1, scaled(g.count, scale));
    fg.profile = g.profile;
    if (std::string e = EndpointPattern::parse(
            g.endpoint_pattern.empty() ? g.name + "-%06d" : g.endpoint_pattern,
            &fg.client.endpoint_pattern);
        !e.empty()) {
      unsupported(g.line, "groups." + std::to_string(i) + ".endpoint", e);
    }
    if (!g.identities_path.empty()) {
      if (fg.count > g.endpoints.size()) {
        unsupported(g.line, "groups." + std::to_string(i) + ".identities",
                    g.identities_path + " has " + std::to_string(g.endpoints.size()) +
                        " identities for " + std::to_string(fg.count) + " devices at scale " +
                        std::to_string(scale));
      }
      const auto used =
          static_cast<std::ptrdiff_t>(std::min<uint64_t>(fg.count, g.endpoints.size()));
      fg.client.endpoint_names = std::make_shared<const std::vector<std::string>>(
          g.endpoints.begin(), g.endpoints.begin() + used);
      if (!g.psk_identities.empty()) {
        fg.psk.first = first;
        fg.psk.identities = std::make_shared<const std::vector<std::string>>(
            g.psk_identities.begin(), g.psk_identities.begin() + used);
        fg.psk.keys = std::make_shared<const std::vector<std::vector<uint8_t>>>(
            g.psk_keys.begin(), g.psk_keys.begin() + used);
      }
    }
    fg.client.lifetime_s = g.lifetime_s;
    fg.client.version = g.version;
    fg.client.binding = g.binding;
    fg.queue_sleep = scaled_time(g.queue_mode.sleep, time_scale);
    fg.queue_awake = scaled_time(g.queue_mode.awake, time_scale);
    fg.firmware_update_time = scaled_time(g.firmware.update_time, time_scale);
    fg.firmware_failure = g.firmware.failure;
    if (g.report.period > 0 && !g.report.via_send) {
      fg.notify_every = scaled_time(g.report.period, time_scale);
    } else if (g.report.period > 0) {
      if (g.report.paths.empty() && g.profile && g.profile->send().paths.empty()) {
        unsupported(g.line, "groups." + std::to_string(i) + ".behaviours.report",
                    "neither the behaviour nor the profile names paths to send");
      }
      fg.send_period = scaled_time(g.report.period, time_scale);
      fg.send_jitter = scaled_time(g.report.jitter, time_scale);
      fg.send_paths = g.report.paths;
    }
    fg.client.update_every = scaled_time(g.update_every, time_scale);
    fg.reboot_every = scaled_time(g.reboot.every, time_scale);
    fg.reboot_downtime = scaled_time(g.reboot.downtime, time_scale);
    for (const FaultPlan& f : g.faults) {
      fg.faults.push_back(to_spec(f, time_scale));
    }
    for (const FaultPlan& f : plan.faults) {
      if (f.server_outage_at) {
        continue;  // the server's, below
      }
      if (f.groups.empty() ||
          std::find(f.groups.begin(), f.groups.end(), g.name) != f.groups.end()) {
        fg.faults.push_back(to_spec(f, time_scale));
      }
    }
    ranges.push_back({g.name, {first, fg.count}});
    first += fg.count;
    ro->fleet.groups.push_back(std::move(fg));
  }
  ro->fleet.clients = first;
  for (const FaultPlan& f : plan.faults) {
    if (f.server_outage_at) {
      ro->server.outages.push_back({scaled_time(*f.server_outage_at, time_scale),
                                    scaled_time(f.server_outage_duration, time_scale),
                                    f.server_outage_forget});
    }
  }

  const auto devices_of = [&](const std::vector<std::string>& names) {
    std::vector<std::pair<uint64_t, uint64_t>> out;
    for (const auto& [name, range] : ranges) {
      if (names.empty() || std::find(names.begin(), names.end(), name) != names.end()) {
        out.push_back(range);
      }
    }
    return out;
  };
  ro->fleet.phases.clear();
  TimeUs total = 0;
  for (const PhasePlan& p : plan.phases) {
    PhaseSpec s;
    s.duration = scaled_time(p.duration, time_scale);
    s.devices = devices_of(p.groups);
    uint64_t phase_devices = 0;
    for (const auto& [f, n] : s.devices) {
      phase_devices += n;
    }
    s.from = std::min(scaled(p.from, scale), phase_devices);
    s.to = std::min(scaled(p.to, scale), phase_devices);
    s.rate = p.rate * scale;
    s.churn_per_minute = p.churn_per_minute;
    switch (p.kind) {
      case PhaseKind::kRamp:
        s.type = PhaseType::kRamp;
        break;
      case PhaseKind::kHold:
        s.type = PhaseType::kHold;
        break;
      case PhaseKind::kArrivalRate:
        s.type = PhaseType::kArrivalRate;
        break;
      case PhaseKind::kChurn:
        s.type = PhaseType::kChurn;
        break;
      case PhaseKind::kStop:
        s.type = PhaseType::kStop;
        break;
    }
    total += s.duration;
    ro->fleet.phases.push_back(std::move(s));
  }
  ro->duration = total;
  ro->thresholds = plan.thresholds;
  return errors;
}

}  // namespace lwm2msim

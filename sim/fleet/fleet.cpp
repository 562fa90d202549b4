#include "sim/fleet/fleet.h"

#include <sys/resource.h>

#include <algorithm>
#include <thread>

#include "sim/fleet/worker.h"

namespace lwm2msim {
namespace {

// Port generations a rebinding client cycles through: enough that a datagram delayed past two
// rebinds does not find its client on a reused port.
constexpr uint32_t kNatPorts = 4;

ShardLayout make_layout(const FleetConfig& c) {
  ShardLayout l;
  l.clients = c.clients;
  uint32_t threads = c.threads != 0 ? c.threads : std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<uint32_t>(std::clamp<uint64_t>(c.clients, 1, threads));
  l.workers = threads;
  l.socket_per_client = c.socket_per_client;
  if (!c.socket_per_client) {
    const uint64_t ips = std::max<uint64_t>(1, c.local_addrs.ip_count());
    const uint64_t needed = (c.clients + ips - 1) / ips;
    l.sockets = static_cast<uint32_t>(((needed + threads - 1) / threads) * threads);
    const bool rebinds = std::any_of(c.groups.begin(), c.groups.end(), [](const FleetGroup& g) {
      return std::any_of(g.faults.begin(), g.faults.end(),
                         [](const FaultSpec& f) { return f.nat_rebind_every > 0; });
    });
    l.nat_ports = rebinds ? kNatPorts : 1;
  } else {
    l.sockets = 0;
  }
  return l;
}

// Raises the soft open-files limit to the hard one and checks that `needed` descriptors fit.
std::string ensure_open_files(uint64_t needed) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) {
    return {};
  }
  if (lim.rlim_cur < lim.rlim_max && lim.rlim_cur < needed) {
    rlimit raised = lim;
    raised.rlim_cur = std::min<rlim_t>(lim.rlim_max, std::max<rlim_t>(needed, lim.rlim_cur));
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      lim = raised;
    }
  }
  if (lim.rlim_cur != RLIM_INFINITY && needed > lim.rlim_cur) {
    return "the fleet needs " + std::to_string(needed) + " open files but the open-files limit " +
           "(ulimit -n) is " + std::to_string(lim.rlim_cur) + " (hard limit " +
           std::to_string(lim.rlim_max) +
           "); drop --socket-per-client so many clients share one socket, or use fewer clients";
  }
  return {};
}

std::string port_range(const AddressPlan& plan) {
  return std::to_string(plan.port_first()) + "-" +
         std::to_string(plan.port_first() + plan.port_count() - 1);
}

}  // namespace

std::string_view to_string(ExchangeKind kind) {
  switch (kind) {
    case ExchangeKind::kRegister:
      return "register";
    case ExchangeKind::kUpdate:
      return "update";
    case ExchangeKind::kDeregister:
      return "deregister";
    case ExchangeKind::kNotification:
      return "notification";
    case ExchangeKind::kSend:
      return "send";
    case ExchangeKind::kBootstrapRequest:
      return "bootstrap_request";
  }
  return "unknown";
}

size_t response_code_slot(uint8_t code) {
  for (size_t i = 0; i < kResponseCodes.size(); ++i) {
    if (kResponseCodes[i] == code) {
      return i;
    }
  }
  return kResponseCodes.size();
}

Fleet::Fleet(FleetConfig config) : config_(std::move(config)) {
  if (!config_.profile) {
    config_.profile = builtin_profile(ObjectRegistry::builtin());
  }
  if (config_.groups.empty()) {
    FleetGroup g;
    g.name = "default";
    g.count = config_.clients;
    g.client = config_.client;
    g.profile = config_.profile;
    g.psk = config_.psk;
    config_.groups.push_back(std::move(g));
  }
  uint64_t first = 0;
  for (FleetGroup& g : config_.groups) {
    g.first = first;
    first += g.count;
    if (!g.profile) {
      g.profile = config_.profile;
    }
    // Transmission, backoff and the server are the fleet's.
    const ClientConfig own = g.client;
    g.client = config_.client;
    g.client.endpoint_pattern = own.endpoint_pattern;
    g.client.endpoint_names = own.endpoint_names;
    g.client.endpoint_base = g.first;
    g.client.lifetime_s = own.lifetime_s;
    g.client.update_margin = own.update_margin;
    g.client.update_every = own.update_every;
    g.client.version = own.version;
    g.client.binding = own.binding;
    if (g.queue_sleep > 0) {
      // The device wakes with an Update, so that is its Update period.
      g.client.update_every = g.queue_sleep + g.queue_awake;
      if (g.client.binding.find('Q') == std::string::npos) {
        g.client.binding += 'Q';
      }
    }
  }
  config_.clients = first;
  if (config_.phases.empty()) {
    PhaseSpec ramp;
    ramp.type = PhaseType::kRamp;
    ramp.to = config_.clients;
    ramp.duration =
        config_.rate > 0
            ? static_cast<TimeUs>(static_cast<double>(config_.clients) / config_.rate * 1e6)
            : 0;
    ramp.devices = {{0, config_.clients}};
    config_.phases.push_back(std::move(ramp));
  }
}

Fleet::~Fleet() {
  for (auto& w : workers_) {
    w->request_stop();
  }
  join();
}

size_t Fleet::client_size() {
  return sizeof(VirtualClient);
}

std::string Fleet::check() const {
  if (config_.clients == 0) {
    return "the fleet has no clients (--clients must be at least 1)";
  }
  if (config_.local_addrs.ip_count() == 0) {
    return "no local addresses (--local-addrs)";
  }
  if (config_.clients > UINT32_MAX) {
    return "at most 4294967295 clients per process";
  }
  for (const FleetGroup& g : config_.groups) {
    if (g.client.endpoint_names && g.client.endpoint_names->size() < g.count) {
      return "group " + g.name + ": " + std::to_string(g.client.endpoint_names->size()) +
             " endpoint names for " + std::to_string(g.count) + " devices";
    }
  }
  const ShardLayout layout = make_layout(config_);
  const AddressPlan& plan = config_.local_addrs;
  if (layout.socket_per_client) {
    for (const FleetGroup& g : config_.groups) {
      for (const FaultSpec& f : g.faults) {
        if (f.nat_rebind_every > 0) {
          return "group " + g.name +
                 ": NAT rebinding moves clients between shared sockets; it does not work with "
                 "--socket-per-client";
        }
      }
    }
    if (plan.port_first() != 0 && config_.clients > plan.capacity()) {
      return "--local-addrs gives " + std::to_string(plan.capacity()) + " addresses (" +
             std::to_string(plan.ip_count()) + " IPs x ports " + port_range(plan) +
             ") but --socket-per-client needs one for each of the " +
             std::to_string(config_.clients) + " clients";
    }
  } else {
    const uint64_t ports = uint64_t{layout.sockets} * layout.nat_ports;
    if (plan.port_first() != 0 && ports > plan.port_count()) {
      return "--local-addrs gives " + std::to_string(plan.ip_count()) + " IPs x " +
             std::to_string(plan.port_count()) + " ports (" + port_range(plan) + "), but " +
             std::to_string(config_.clients) + " clients on " + std::to_string(layout.workers) +
             " threads need " + std::to_string(ports) + " ports" +
             (layout.nat_ports > 1 ? " (NAT rebinding uses " + std::to_string(layout.nat_ports) +
                                         " ports per socket)"
                                   : "");
    }
  }
  return {};
}

std::string Fleet::prepare() {
  if (std::string e = check(); !e.empty()) {
    return e;
  }
  const ShardLayout layout = make_layout(config_);
  const uint64_t fds =
      layout.socket_per_client ? config_.clients : uint64_t{layout.sockets} * layout.nat_ports;
  // Each worker adds an epoll descriptor and Asio's own (eventfd, epoll, timerfd).
  if (std::string e = ensure_open_files(fds + 4ull * layout.workers + 32); !e.empty()) {
    return e;
  }
  workers_.clear();
  for (uint32_t w = 0; w < layout.workers; ++w) {
    workers_.push_back(std::make_unique<Worker>(config_, layout, w));
    if (std::string e = workers_.back()->prepare(); !e.empty()) {
      workers_.clear();
      return e;
    }
  }
  return {};
}

void Fleet::start() {
  epoch_ = std::chrono::steady_clock::now();
  for (auto& w : workers_) {
    w->start(epoch_);
  }
}

void Fleet::stop() {
  for (auto& w : workers_) {
    w->request_stop();
  }
}

bool Fleet::stopped() const {
  return std::all_of(workers_.begin(), workers_.end(), [](const auto& w) { return w->finished(); });
}

void Fleet::join() {
  for (auto& w : workers_) {
    w->join();
  }
}

FleetSnapshot Fleet::snapshot() const {
  FleetSnapshot s;
  s.phase = workers_.empty() ? 0 : UINT32_MAX;
  std::vector<OutageRecord> outages;
  for (const auto& w : workers_) {
    w->collect(&s);
    const std::vector<OutageRecord> r = w->outage_records();
    outages.insert(outages.end(), r.begin(), r.end());
  }
  const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - epoch_);
  s.outages =
      merge_outages(std::move(outages), static_cast<TimeUs>(std::max<int64_t>(0, now.count())));
  return s;
}

}  // namespace lwm2msim

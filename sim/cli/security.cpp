// coaps and bootstrap for a run: the fleet's DTLS context and PSKs, and the in-process servers'
// side of them.
#include <algorithm>
#include <unordered_map>

#include "sim/cli/cli.h"
#include "sim/lwm2m/lwm2m.h"

namespace lwm2msim {
namespace {

using PskLookup = std::function<std::optional<std::vector<uint8_t>>(std::string_view)>;

// The key the in-process server expects for an identity: the devices' identities files first,
// then the plan's seed or fixed key.
PskLookup plan_lookup(const DtlsPlan& plan, const FleetConfig& fleet) {
  auto table = std::make_shared<std::unordered_map<std::string, std::vector<uint8_t>>>();
  for (const FleetGroup& g : fleet.groups) {
    if (g.psk.identities && g.psk.keys) {
      for (size_t i = 0; i < g.psk.identities->size() && i < g.psk.keys->size(); ++i) {
        table->emplace((*g.psk.identities)[i], (*g.psk.keys)[i]);
      }
    }
  }
  return [table, seed = plan.psk_seed,
          key = plan.psk_key](std::string_view identity) -> std::optional<std::vector<uint8_t>> {
    if (const auto it = table->find(std::string(identity)); it != table->end()) {
      return it->second;
    }
    if (!seed.empty()) {
      return derive_psk(seed, identity);
    }
    if (!key.empty()) {
      return key;
    }
    return std::nullopt;
  };
}

// What the built-in bootstrap server provisions keys from; both in-process servers know it.
std::string provisioning_seed(uint64_t run_seed) {
  return "lwm2m-sim-provisioning-" + std::to_string(run_seed);
}

std::string server_context(const DtlsPlan& plan, PskLookup lookup,
                           std::shared_ptr<const DtlsContext>* out) {
  DtlsConfig c;
  c.role = DtlsRole::kServer;
  c.ciphers = plan.ciphers;
  c.psk_lookup = std::move(lookup);
  std::string error;
  *out = DtlsContext::create(c, &error);
  return *out ? std::string() : "the built-in server's DTLS: " + error;
}

bool secure_uri(std::string_view uri) {
  return uri.starts_with("coaps://");
}

}  // namespace

std::string prepare_security(const RunSecurity& security, bool builtin_server, FleetConfig* fleet,
                             ServerConfig* server, ServerConfig* bootstrap) {
  const DtlsPlan& plan = security.dtls;
  const bool builtin_bootstrap = security.bootstrap_uri == "builtin";
  const bool server_secure = builtin_server ? security.builtin_dtls : secure_uri(fleet->server_uri);
  const bool bootstrap_secure =
      builtin_bootstrap ? security.builtin_dtls : secure_uri(security.bootstrap_uri);
  const bool with_bootstrap = !security.bootstrap_uri.empty();

  // Every group's PSKs: identities files stay; the plan gives the rest.
  const auto fill = [&plan](PskPlan* p) -> std::string {
    if (!plan.psk_id.empty()) {
      EndpointPattern pattern;
      if (std::string e = EndpointPattern::parse(plan.psk_id, &pattern); !e.empty()) {
        return "psk id: " + e;
      }
      p->identity_pattern = pattern;
    }
    p->seed = plan.psk_seed;
    p->key = plan.psk_key;
    return {};
  };
  if (std::string e = fill(&fleet->psk); !e.empty()) {
    return e;
  }
  for (FleetGroup& g : fleet->groups) {
    fill(&g.psk);
  }
  const bool has_psk =
      !fleet->psk.empty() || std::any_of(fleet->groups.begin(), fleet->groups.end(),
                                         [](const FleetGroup& g) { return !g.psk.empty(); });
  const bool has_certificate = !plan.certificate.empty() || !plan.ca.empty();
  // Devices authenticate themselves only where they connect with their own credentials: to the
  // LwM2M server without a bootstrap, or to the bootstrap server.
  const bool own_credentials = with_bootstrap ? bootstrap_secure : server_secure;
  if (own_credentials && !has_psk && !has_certificate) {
    return "a coaps:// server needs credentials: --psk-id with --psk-seed or --psk-key, or "
           "--cert, --key and --ca";
  }

  fleet->server_secure = server_secure;
  fleet->bootstrap_secure = bootstrap_secure;
  if (server_secure || bootstrap_secure || with_bootstrap) {
    DtlsConfig c;
    c.role = DtlsRole::kClient;
    c.ciphers = plan.ciphers;
    c.certificate_file = plan.certificate;
    c.private_key_file = plan.private_key;
    c.ca_file = plan.ca;
    std::string error;
    fleet->dtls = DtlsContext::create(c, &error);
    if (!fleet->dtls) {
      return "DTLS: " + error;
    }
  }

  if (with_bootstrap) {
    fleet->client.bootstrap = true;
    for (FleetGroup& g : fleet->groups) {
      g.client.bootstrap = true;
    }
    fleet->bootstrap_uri = security.bootstrap_uri;
    if (!builtin_bootstrap) {
      ResourceUri uri;
      if (!parse_resource_uri(security.bootstrap_uri, &uri) || uri.endpoint.port == 0) {
        return "'" + security.bootstrap_uri + "' is not a coap(s)://HOST:PORT bootstrap URI";
      }
      fleet->client.bootstrap_server = uri.endpoint;
    }
  }

  if (builtin_server && server_secure) {
    // After a built-in bootstrap the devices hold the keys it provisioned; else their own.
    PskLookup lookup =
        builtin_bootstrap
            ? PskLookup([seed = provisioning_seed(fleet->seed)](
                            std::string_view identity) -> std::optional<std::vector<uint8_t>> {
                return derive_psk(seed, identity);
              })
            : plan_lookup(plan, *fleet);
    if (std::string e = server_context(plan, std::move(lookup), &server->dtls); !e.empty()) {
      return e;
    }
  }
  if (builtin_bootstrap) {
    *bootstrap = *server;
    bootstrap->dtls = nullptr;
    bootstrap->listen = Endpoint4{server->listen.ip, 0};
    bootstrap->bootstrap = true;
    bootstrap->read_rate = 0;
    bootstrap->observe_fraction = 0;
    bootstrap->exercise_fraction = 0;
    bootstrap->firmware_fraction = 0;
    bootstrap->outages.clear();
    // The caller completes the URI (coap:// or coaps://) once the LwM2M server listens.
    bootstrap->bootstrap_config.server_uri = server_secure ? "coaps://" : "coap://";
    bootstrap->bootstrap_config.psk_seed = provisioning_seed(fleet->seed);
    bootstrap->bootstrap_config.lifetime = fleet->client.lifetime_s;
    if (bootstrap_secure) {
      if (std::string e = server_context(plan, plan_lookup(plan, *fleet), &bootstrap->dtls);
          !e.empty()) {
        return e;
      }
    }
  }
  return {};
}

}  // namespace lwm2msim

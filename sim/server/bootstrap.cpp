#include "sim/server/bootstrap.h"

#include <array>

#include "sim/dtls/dtls.h"
#include "sim/server/exercise.h"

namespace lwm2msim {
namespace {

const Lwm2mPath kSecurityInstance{0, kProvisionedSecurityInstance};
const Lwm2mPath kServerInstance{1, kProvisionedServerInstance};

Lwm2mPath resource_of(const Lwm2mPath& instance, uint32_t resource) {
  Lwm2mPath p = instance;
  p.resource = resource;
  return p;
}

struct BootstrapStepInfo {
  std::string_view name;
  uint8_t expected;
};

constexpr std::array<BootstrapStepInfo, kBootstrapStepCount> kBootstrapSteps{{
    {"discover", CoapCode::kContent},
    {"delete_server", CoapCode::kDeleted},
    {"delete_security", CoapCode::kDeleted},
    {"write_security", CoapCode::kChanged},
    {"write_server", CoapCode::kChanged},
    {"read", CoapCode::kContent},
    {"finish", CoapCode::kChanged},
}};

std::vector<uint8_t> tlv_of(const ObjectRegistry& registry, const Lwm2mPath& base,
                            const std::vector<Record>& records) {
  std::vector<uint8_t> out;
  if (!encode(CoapContentFormat::kLwm2mTlv, registry_context(registry, base), records, &out).ok()) {
    out.clear();
  }
  return out;
}

}  // namespace

std::string_view to_string(BootstrapStep step) {
  return kBootstrapSteps[static_cast<size_t>(step)].name;
}

bool bootstrap_secure(const BootstrapConfig& config) {
  return config.server_uri.starts_with("coaps://");
}

std::vector<Record> bootstrap_security_records(const BootstrapConfig& config,
                                               std::string_view endpoint) {
  const bool secure = bootstrap_secure(config);
  std::vector<Record> r;
  r.push_back({resource_of(kSecurityInstance, 0), config.server_uri});
  r.push_back({resource_of(kSecurityInstance, 1), false});
  r.push_back({resource_of(kSecurityInstance, 2), secure ? kSecurityModePsk : kSecurityModeNoSec});
  if (secure) {
    r.push_back({resource_of(kSecurityInstance, 3),
                 Opaque{std::vector<uint8_t>(endpoint.begin(), endpoint.end())}});
    r.push_back({resource_of(kSecurityInstance, 5), Opaque{derive_psk(config.psk_seed, endpoint)}});
  }
  r.push_back({resource_of(kSecurityInstance, 10), int64_t{kProvisionedShortServerId}});
  return r;
}

std::vector<Record> bootstrap_server_records(const BootstrapConfig& config) {
  std::vector<Record> r;
  r.push_back({resource_of(kServerInstance, 0), int64_t{kProvisionedShortServerId}});
  r.push_back({resource_of(kServerInstance, 1), int64_t{config.lifetime}});
  r.push_back({resource_of(kServerInstance, 6), false});
  r.push_back({resource_of(kServerInstance, 7), config.binding});
  return r;
}

std::span<const uint8_t> build_bootstrap_step(BootstrapStep step, const BootstrapConfig& config,
                                              std::string_view endpoint,
                                              const ObjectRegistry& registry, uint16_t message_id,
                                              const CoapToken& token, std::span<uint8_t> out) {
  uint8_t method = CoapCode::kGet;
  std::string path;  // empty: no Uri-Path (the root)
  int32_t accept = -1;
  std::vector<uint8_t> payload;
  switch (step) {
    case BootstrapStep::kDiscover:
      accept = CoapContentFormat::kLinkFormat;
      break;
    case BootstrapStep::kDeleteServer:
      method = CoapCode::kDelete;
      path = "1";
      break;
    case BootstrapStep::kDeleteSecurity:
      method = CoapCode::kDelete;
      path = "0";
      break;
    case BootstrapStep::kWriteSecurity:
      method = CoapCode::kPut;
      path = kSecurityInstance.to_string().substr(1);
      payload = tlv_of(registry, kSecurityInstance, bootstrap_security_records(config, endpoint));
      if (payload.empty()) {
        return {};
      }
      break;
    case BootstrapStep::kWriteServer:
      method = CoapCode::kPut;
      path = kServerInstance.to_string().substr(1);
      payload = tlv_of(registry, kServerInstance, bootstrap_server_records(config));
      if (payload.empty()) {
        return {};
      }
      break;
    case BootstrapStep::kRead:
      path = kServerInstance.to_string().substr(1);
      accept = CoapContentFormat::kLwm2mTlv;
      break;
    case BootstrapStep::kFinish:
      method = CoapCode::kPost;
      path = "bs";
      break;
  }
  CoapWriter w(out);
  w.header(CoapType::kCon, method, message_id, token.view());
  if (!path.empty()) {
    w.option_path(CoapOption::kUriPath, path);
  }
  if (!payload.empty()) {
    w.option_uint(CoapOption::kContentFormat, CoapContentFormat::kLwm2mTlv);
  }
  if (accept >= 0) {
    w.option_uint(CoapOption::kAccept, static_cast<uint32_t>(accept));
  }
  w.payload(std::span<const uint8_t>(payload));
  return w.finish();
}

BootstrapVerdict check_bootstrap_response(BootstrapStep step, const CoapMessage& response,
                                          std::string* problem) {
  const uint8_t code = response.code();
  if (code == kBootstrapSteps[static_cast<size_t>(step)].expected) {
    return BootstrapVerdict::kOk;
  }
  *problem = "got " + coap_code_text(code);
  // LwM2M 1.0 has no Bootstrap-Read: a 1.0 client refuses it as a method or path it lacks.
  if (step == BootstrapStep::kRead &&
      (code == CoapCode::kMethodNotAllowed || code == CoapCode::kBadRequest ||
       code == CoapCode::kNotFound)) {
    return BootstrapVerdict::kUnsupported;
  }
  return BootstrapVerdict::kFailed;
}

std::string_view bootstrap_request_endpoint(const CoapMessage& request) {
  for (const CoapOptionView& o : request.options()) {
    if (o.number == CoapOption::kUriQuery && o.as_string().starts_with("ep=")) {
      return o.as_string().substr(3);
    }
  }
  return {};
}

}  // namespace lwm2msim

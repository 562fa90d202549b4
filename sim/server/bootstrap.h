// bootstrap: the server half of client-initiated bootstrap (LwM2M TS 1.1 section 6.1): after a
// Bootstrap-Request (POST /bs?ep=NAME) the bootstrap server discovers what the client holds,
// deletes its server accounts, writes one LwM2M server account (Security /0/1, Server /1/0),
// reads it back and finishes, one CON at a time. Pure pieces only: the server thread runs the
// flow.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sim/coap/coap.h"
#include "sim/model/object_definition.h"
#include "sim/util/time.h"

namespace lwm2msim {

// What the bootstrap server provisions.
struct BootstrapConfig {
  // The LwM2M server written to /0/1/0: coap://HOST:PORT (NoSec) or coaps://HOST:PORT (PSK).
  std::string server_uri;
  // With a coaps:// server_uri: the PSK provisioned for endpoint EP is derive_psk(psk_seed, EP),
  // its identity EP.
  std::string psk_seed;
  uint32_t lifetime = 300;  // /1/0/1, seconds
  std::string binding = "U";
  // A step not answered this long after its request first went out fails (0: only when its CoAP
  // retransmissions run out, or 30 s after an empty ACK without the separate answer).
  TimeUs step_timeout = 0;
};

// In flow order.
enum class BootstrapStep : uint8_t {
  kDiscover,        // GET / Accept link format -> 2.05
  kDeleteServer,    // DELETE /1 -> 2.02
  kDeleteSecurity,  // DELETE /0 -> 2.02 (the client keeps its bootstrap-server instance)
  kWriteSecurity,   // PUT /0/1 TLV {URI, not bootstrap, mode, identity, key, SSID 1} -> 2.04
  kWriteServer,     // PUT /1/0 TLV {SSID 1, lifetime, notification storing false, binding} -> 2.04
  kRead,            // GET /1/0 Accept TLV -> 2.05 (LwM2M 1.1+; 4.00/4.04/4.05 from 1.0 clients)
  kFinish,          // POST /bs -> 2.04
};
constexpr size_t kBootstrapStepCount = 7;

// The step's name in stats keys and log lines: "write_security".
std::string_view to_string(BootstrapStep step);

// Security Mode (/0/x/2) values.
constexpr int64_t kSecurityModePsk = 0;
constexpr int64_t kSecurityModeNoSec = 3;
constexpr uint16_t kProvisionedSecurityInstance = 1;
constexpr uint16_t kProvisionedServerInstance = 0;
constexpr uint16_t kProvisionedShortServerId = 1;

// Whether the provisioned server is reached over DTLS (its URI is coaps://).
bool bootstrap_secure(const BootstrapConfig& config);

// The records of the Security instance written for `endpoint` (/0/1/...), and of the Server
// instance (/1/0/...).
std::vector<Record> bootstrap_security_records(const BootstrapConfig& config,
                                               std::string_view endpoint);
std::vector<Record> bootstrap_server_records(const BootstrapConfig& config);

// Builds the CON request of `step` for `endpoint` into out; empty span when it does not fit.
std::span<const uint8_t> build_bootstrap_step(BootstrapStep step, const BootstrapConfig& config,
                                              std::string_view endpoint,
                                              const ObjectRegistry& registry, uint16_t message_id,
                                              const CoapToken& token, std::span<uint8_t> out);

enum class BootstrapVerdict : uint8_t {
  kOk,           // the answer the step expects
  kUnsupported,  // a Bootstrap-Read refused by a 1.0 client: go on
  kFailed,       // anything else: the flow ends
};
// Checks an answer; *problem says what came instead ("got 4.04") when it is not kOk.
BootstrapVerdict check_bootstrap_response(BootstrapStep step, const CoapMessage& response,
                                          std::string* problem);

// The endpoint name of a Bootstrap-Request (its ep= query); empty when it has none.
std::string_view bootstrap_request_endpoint(const CoapMessage& request);

}  // namespace lwm2msim

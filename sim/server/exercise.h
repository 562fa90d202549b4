// exercise: the server's walk through every LwM2M server-to-client operation (reads in each
// content format, writes, execute, create/delete, composites, observations, and requests a client
// must refuse), one CON at a time, each answer checked against the code the TS requires. Pure
// pieces only: the server thread runs the walk.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sim/coap/coap.h"
#include "sim/format/format.h"
#include "sim/lwm2m/lwm2m.h"
#include "sim/model/object_definition.h"

namespace lwm2msim {

// In walk order.
enum class ExerciseStep : uint8_t {
  kDiscover,           // GET /3/0 Accept link format -> 2.05
  kReadTlv,            // GET /3/0 Accept 11542 -> 2.05
  kReadSenmlJson,      // GET /3/0 Accept 110 -> 2.05
  kReadSenmlCbor,      // GET /3/0 Accept 112 -> 2.05
  kReadLwm2mCbor,      // GET /3/0 Accept 11544 -> 2.05
  kReadOmaJson,        // GET /3/0 Accept 11543 -> 2.05
  kReadText,           // GET /3/0/0 -> 2.05 plain text
  kWriteAttributes,    // PUT /3/0/13?pmin=1&pmax=2 -> 2.04
  kObserve,            // GET /3/0/13 Observe 0 -> 2.05 with Observe
  kWriteReplace,       // PUT /1/0/1 text lifetime -> 2.04
  kWritePartial,       // POST /1/0 TLV {1: lifetime} -> 2.04
  kExecute,            // POST /1/0/8 (Registration Update Trigger) -> 2.04
  kCreate,             // POST /O TLV instance I -> 2.01
  kReadCreated,        // GET /O/I Accept 11542 -> 2.05
  kDelete,             // DELETE /O/I -> 2.02
  kReadComposite,      // FETCH SenML CBOR [/3/0/0, /1/0/1] -> 2.05 (1.1+)
  kWriteComposite,     // iPATCH SenML CBOR {/1/0/1: lifetime} -> 2.04 (1.1+)
  kObserveComposite,   // FETCH Observe 0 SenML CBOR [/3/0/13] -> 2.05 with Observe (1.1+)
  kReadUnknownObject,  // GET /9999/0 -> 4.04
  kReadExecutable,     // GET /3/0/4 -> 4.05
  kBadAttributes,      // PUT /3/0/13?pmin=10&pmax=5 -> 4.00
  kUnsupportedAccept,  // GET /3/0/0 Accept 9999 -> 4.06
  kUnsupportedFormat,  // PUT /1/0/1 Content-Format 9999 -> 4.15
  kWriteReadOnly,      // PUT /3/0/0 text "x" -> 4.05
};
constexpr size_t kExerciseStepCount = 24;

// The step's name in stats keys and log lines: "read_tlv".
std::string_view to_string(ExerciseStep step);
// The code a conforming client answers with.
uint8_t expected_code(ExerciseStep step);
// "2.05"
std::string coap_code_text(uint8_t code);

// What a walk knows about its client, from the Register.
struct ExerciseTarget {
  uint32_t lifetime_s = 0;
  Lwm2mVersion version = Lwm2mVersion::k1_0;
  bool can_create = false;  // create_object/create_instance are set
  uint16_t create_object = 0;
  uint16_t create_instance = 0;
};

// Create/Read-created/Delete need a creatable object; composites need LwM2M 1.1 or later.
bool exercise_step_applies(ExerciseStep step, const ExerciseTarget& target);

// Picks the object Create targets from a Register's link payload: the lowest announced object the
// registry defines as multiple-instance, other than Security, Server, Access Control and OSCORE
// (0, 1, 2, 21), which hold credentials and server accounts. The new instance id is one past the
// highest announced instance. False when no announced object qualifies.
bool pick_create_target(std::string_view links, const ObjectRegistry& registry, uint16_t* object,
                        uint16_t* instance);

// The zero of a type: 0, 0.0, false, "", empty opaque, time 0, objlnk 0:0.
Value default_value(ResourceType type);
// One record per mandatory, single-instance, non-executable resource of `def`, holding its
// default value, under /def.id/instance.
std::vector<Record> create_records(const ObjectDefinition& def, uint16_t instance);
// The TLV of one object instance holding create_records() (an empty instance when there are
// none).
std::vector<uint8_t> create_payload(const ObjectDefinition& def, uint16_t instance);
// The records of a Read-Composite or Observe-Composite request: paths without values.
std::vector<Record> composite_paths(std::span<const Lwm2mPath> paths);

// Codec context whose type and multiplicity lookups come from `registry`.
CodecContext registry_context(const ObjectRegistry& registry, const Lwm2mPath& base);

// Builds the CON request of `step` into out; empty span when it does not fit or the target lacks
// what the step needs.
std::span<const uint8_t> build_exercise_request(ExerciseStep step, const ExerciseTarget& target,
                                                const ObjectRegistry& registry, uint16_t message_id,
                                                const CoapToken& token, std::span<uint8_t> out);

// Checks an answer: empty when it is what the step expects, else what came instead
// ("got 4.04", "got 2.05 without Observe", "got 2.05 with a bad payload: ...").
std::string check_exercise_response(ExerciseStep step, const ExerciseTarget& target,
                                    const CoapMessage& response, const ObjectRegistry& registry);

// Decodes the payload of a Send (POST /dp, SenML JSON or CBOR). Its code is 4.15 for other
// content formats and 4.00 for payloads that do not decode.
CodecResult decode_send(const CoapMessage& request, const ObjectRegistry& registry,
                        std::vector<Record>* out);

}  // namespace lwm2msim

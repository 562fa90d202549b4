#include "sim/server/exercise.h"

#include <algorithm>
#include <cstdio>
#include <map>

namespace lwm2msim {
namespace {

constexpr uint16_t kUnsupportedFormat = 9999;  // no registered content format has this number
constexpr uint16_t kUnknownObject = 9999;

const Lwm2mPath kDevice{3, 0};
const Lwm2mPath kManufacturer{3, 0, 0};
const Lwm2mPath kReboot{3, 0, 4};
const Lwm2mPath kCurrentTime{3, 0, 13};
const Lwm2mPath kServer{1, 0};
const Lwm2mPath kLifetime{1, 0, 1};
const Lwm2mPath kUpdateTrigger{1, 0, 8};
const Lwm2mPath kRoot{};

struct ExerciseStepInfo {
  std::string_view name;
  uint8_t expected;
};

constexpr std::array<ExerciseStepInfo, kExerciseStepCount> kExerciseSteps{{
    {"discover", CoapCode::kContent},
    {"read_tlv", CoapCode::kContent},
    {"read_senml_json", CoapCode::kContent},
    {"read_senml_cbor", CoapCode::kContent},
    {"read_lwm2m_cbor", CoapCode::kContent},
    {"read_oma_json", CoapCode::kContent},
    {"read_text", CoapCode::kContent},
    {"write_attributes", CoapCode::kChanged},
    {"observe", CoapCode::kContent},
    {"write_replace", CoapCode::kChanged},
    {"write_partial", CoapCode::kChanged},
    {"execute", CoapCode::kChanged},
    {"create", CoapCode::kCreated},
    {"read_created", CoapCode::kContent},
    {"delete", CoapCode::kDeleted},
    {"read_composite", CoapCode::kContent},
    {"write_composite", CoapCode::kChanged},
    {"observe_composite", CoapCode::kContent},
    {"read_unknown_object", CoapCode::kNotFound},
    {"read_executable", CoapCode::kMethodNotAllowed},
    {"bad_attributes", CoapCode::kBadRequest},
    {"unsupported_accept", CoapCode::kNotAcceptable},
    {"unsupported_format", CoapCode::kUnsupportedContentFormat},
    {"write_read_only", CoapCode::kMethodNotAllowed},
}};

// A request before it is written: what differs between steps.
struct Request {
  uint8_t method = CoapCode::kGet;
  Lwm2mPath path;  // depth 0: no Uri-Path (composites)
  bool observe = false;
  int32_t content_format = -1;  // -1: no Content-Format
  std::string_view query;       // Uri-Query options joined with '&'
  int32_t accept = -1;          // -1: no Accept
  std::vector<uint8_t> payload;
  bool ok = true;  // false when the payload could not be encoded
};

// The registry's type for a resource, so numbers go out as the model declares them.
Value number_value(ResourceType type, uint64_t v) {
  switch (type) {
    case ResourceType::kUnsignedInteger:
      return v;
    case ResourceType::kFloat:
      return static_cast<double>(v);
    default:
      return static_cast<int64_t>(v);
  }
}

ResourceType type_in(const ObjectRegistry& registry, const Lwm2mPath& path) {
  const ObjectDefinition* def = registry.find(static_cast<uint16_t>(path.object));
  const ResourceDefinition* res =
      def == nullptr ? nullptr : def->resource(static_cast<uint16_t>(path.resource));
  return res == nullptr ? ResourceType::kNone : res->type;
}

void encode_into(uint16_t format, const CodecContext& ctx, std::span<const Record> records,
                 Request* r) {
  r->ok = encode(format, ctx, records, &r->payload).ok();
}

Request request_of(ExerciseStep step, const ExerciseTarget& t, const ObjectRegistry& registry) {
  Request r;
  switch (step) {
    case ExerciseStep::kDiscover:
      r.path = kDevice;
      r.accept = CoapContentFormat::kLinkFormat;
      break;
    case ExerciseStep::kReadTlv:
      r.path = kDevice;
      r.accept = CoapContentFormat::kLwm2mTlv;
      break;
    case ExerciseStep::kReadSenmlJson:
      r.path = kDevice;
      r.accept = CoapContentFormat::kSenmlJson;
      break;
    case ExerciseStep::kReadSenmlCbor:
      r.path = kDevice;
      r.accept = CoapContentFormat::kSenmlCbor;
      break;
    case ExerciseStep::kReadLwm2mCbor:
      r.path = kDevice;
      r.accept = CoapContentFormat::kLwm2mCbor;
      break;
    case ExerciseStep::kReadOmaJson:
      r.path = kDevice;
      r.accept = CoapContentFormat::kLwm2mJson;
      break;
    case ExerciseStep::kReadText:
      r.path = kManufacturer;
      break;
    case ExerciseStep::kWriteAttributes:
      r.method = CoapCode::kPut;
      r.path = kCurrentTime;
      r.query = "pmin=1&pmax=2";
      break;
    case ExerciseStep::kObserve:
      r.path = kCurrentTime;
      r.observe = true;
      break;
    case ExerciseStep::kWriteReplace: {
      r.method = CoapCode::kPut;
      r.path = kLifetime;
      r.content_format = CoapContentFormat::kTextPlain;
      const std::string text = std::to_string(t.lifetime_s);
      r.payload.assign(text.begin(), text.end());
      break;
    }
    case ExerciseStep::kWritePartial: {
      r.method = CoapCode::kPost;
      r.path = kServer;
      r.content_format = CoapContentFormat::kLwm2mTlv;
      const Record lifetime{kLifetime, number_value(type_in(registry, kLifetime), t.lifetime_s)};
      encode_into(CoapContentFormat::kLwm2mTlv, registry_context(registry, kServer), {&lifetime, 1},
                  &r);
      break;
    }
    case ExerciseStep::kExecute:
      r.method = CoapCode::kPost;
      r.path = kUpdateTrigger;
      break;
    case ExerciseStep::kCreate: {
      r.method = CoapCode::kPost;
      r.path = Lwm2mPath{t.create_object};
      r.content_format = CoapContentFormat::kLwm2mTlv;
      const ObjectDefinition* def = registry.find(t.create_object);
      if (def != nullptr) {
        r.payload = create_payload(*def, t.create_instance);
      }
      r.ok = !r.payload.empty();
      break;
    }
    case ExerciseStep::kReadCreated:
      r.path = Lwm2mPath{t.create_object, t.create_instance};
      r.accept = CoapContentFormat::kLwm2mTlv;
      break;
    case ExerciseStep::kDelete:
      r.method = CoapCode::kDelete;
      r.path = Lwm2mPath{t.create_object, t.create_instance};
      break;
    case ExerciseStep::kReadComposite:
    case ExerciseStep::kObserveComposite: {
      r.method = CoapCode::kFetch;
      r.observe = step == ExerciseStep::kObserveComposite;
      r.content_format = CoapContentFormat::kSenmlCbor;
      r.accept = CoapContentFormat::kSenmlCbor;
      const std::array<Lwm2mPath, 2> both{kManufacturer, kLifetime};
      const std::vector<Record> records =
          composite_paths(r.observe ? std::span<const Lwm2mPath>(&kCurrentTime, 1)
                                    : std::span<const Lwm2mPath>(both));
      encode_into(CoapContentFormat::kSenmlCbor, registry_context(registry, kRoot), records, &r);
      break;
    }
    case ExerciseStep::kWriteComposite: {
      r.method = CoapCode::kIPatch;
      r.content_format = CoapContentFormat::kSenmlCbor;
      const Record lifetime{kLifetime, number_value(type_in(registry, kLifetime), t.lifetime_s)};
      encode_into(CoapContentFormat::kSenmlCbor, registry_context(registry, kRoot), {&lifetime, 1},
                  &r);
      break;
    }
    case ExerciseStep::kReadUnknownObject:
      r.path = Lwm2mPath{kUnknownObject, 0};
      break;
    case ExerciseStep::kReadExecutable:
      r.path = kReboot;
      break;
    case ExerciseStep::kBadAttributes:
      r.method = CoapCode::kPut;
      r.path = kCurrentTime;
      r.query = "pmin=10&pmax=5";
      break;
    case ExerciseStep::kUnsupportedAccept:
      r.path = kManufacturer;
      r.accept = kUnsupportedFormat;
      break;
    case ExerciseStep::kUnsupportedFormat:
      r.method = CoapCode::kPut;
      r.path = kLifetime;
      r.content_format = kUnsupportedFormat;
      r.payload = {'1'};
      break;
    case ExerciseStep::kWriteReadOnly:
      r.method = CoapCode::kPut;
      r.path = kManufacturer;
      r.content_format = CoapContentFormat::kTextPlain;
      r.payload = {'x'};
      break;
  }
  return r;
}

// The path a step's answer is relative to, for decoding it.
Lwm2mPath answer_base(ExerciseStep step, const ExerciseTarget& t) {
  switch (step) {
    case ExerciseStep::kReadText:
      return kManufacturer;
    case ExerciseStep::kReadCreated:
      return Lwm2mPath{t.create_object, t.create_instance};
    case ExerciseStep::kReadComposite:
      return kRoot;
    default:
      return kDevice;
  }
}

// The Content-Format a successful answer must carry, or -1 when the step does not read data.
int32_t answer_format(ExerciseStep step) {
  switch (step) {
    case ExerciseStep::kDiscover:
      return CoapContentFormat::kLinkFormat;
    case ExerciseStep::kReadTlv:
    case ExerciseStep::kReadCreated:
      return CoapContentFormat::kLwm2mTlv;
    case ExerciseStep::kReadSenmlJson:
      return CoapContentFormat::kSenmlJson;
    case ExerciseStep::kReadSenmlCbor:
    case ExerciseStep::kReadComposite:
      return CoapContentFormat::kSenmlCbor;
    case ExerciseStep::kReadLwm2mCbor:
      return CoapContentFormat::kLwm2mCbor;
    case ExerciseStep::kReadOmaJson:
      return CoapContentFormat::kLwm2mJson;
    case ExerciseStep::kReadText:
      return CoapContentFormat::kTextPlain;
    default:
      return -1;
  }
}

std::string got(uint8_t code) {
  return "got " + coap_code_text(code);
}

}  // namespace

std::string_view to_string(ExerciseStep step) {
  return kExerciseSteps[static_cast<size_t>(step)].name;
}

uint8_t expected_code(ExerciseStep step) {
  return kExerciseSteps[static_cast<size_t>(step)].expected;
}

std::string coap_code_text(uint8_t code) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%d.%02d", coap_code_class(code), coap_code_detail(code));
  return buf;
}

bool exercise_step_applies(ExerciseStep step, const ExerciseTarget& target) {
  switch (step) {
    case ExerciseStep::kCreate:
    case ExerciseStep::kReadCreated:
    case ExerciseStep::kDelete:
      return target.can_create;
    case ExerciseStep::kReadComposite:
    case ExerciseStep::kWriteComposite:
    case ExerciseStep::kObserveComposite:
      return target.version != Lwm2mVersion::k1_0;
    default:
      return true;
  }
}

bool pick_create_target(std::string_view links, const ObjectRegistry& registry, uint16_t* object,
                        uint16_t* instance) {
  std::vector<Link> parsed;
  std::string error;
  if (!decode_links(links, &parsed, &error)) {
    return false;
  }
  // Object id -> highest announced instance + 1 (0 when only the object is announced).
  std::map<uint16_t, uint32_t> next;
  for (const Link& link : parsed) {
    Lwm2mPath p;
    if (!parse_lwm2m_path(link.target, &p) || p.depth() == 0) {
      continue;
    }
    uint32_t& n = next[static_cast<uint16_t>(p.object)];
    if (p.depth() >= 2) {
      n = std::max(n, p.instance + 1);
    }
  }
  for (const auto& [id, n] : next) {
    const ObjectDefinition* def = registry.find(id);
    const bool reserved = id == 0 || id == 1 || id == 2 || id == 21;
    if (def != nullptr && def->multiple && !reserved && n < Lwm2mPath::kAbsent && n <= 65534) {
      *object = id;
      *instance = static_cast<uint16_t>(n);
      return true;
    }
  }
  return false;
}

Value default_value(ResourceType type) {
  switch (type) {
    case ResourceType::kString:
      return std::string();
    case ResourceType::kInteger:
      return int64_t{0};
    case ResourceType::kUnsignedInteger:
      return uint64_t{0};
    case ResourceType::kFloat:
      return 0.0;
    case ResourceType::kBoolean:
      return false;
    case ResourceType::kOpaque:
      return Opaque{};
    case ResourceType::kTime:
      return TimeValue{0};
    case ResourceType::kObjlnk:
      return Objlnk{0, 0};
    case ResourceType::kCoreLink:
      return CoreLink{};
    case ResourceType::kNone:
      break;
  }
  return std::monostate{};
}

std::vector<Record> create_records(const ObjectDefinition& def, uint16_t instance) {
  std::vector<Record> records;
  for (const ResourceDefinition& r : def.resources) {
    if (r.mandatory && !r.multiple && !r.operations.execute && r.type != ResourceType::kNone) {
      records.push_back({Lwm2mPath{def.id, instance, r.id}, default_value(r.type)});
    }
  }
  return records;
}

std::vector<uint8_t> create_payload(const ObjectDefinition& def, uint16_t instance) {
  const std::vector<Record> records = create_records(def, instance);
  std::vector<uint8_t> out;
  if (records.empty()) {
    // The TLV encoder writes nothing for no records, but Create needs the instance id: an object
    // instance entry (type bits 00) of length 0, with an 8- or 16-bit id.
    if (instance <= 0xff) {
      out = {0x00, static_cast<uint8_t>(instance)};
    } else {
      out = {0x20, static_cast<uint8_t>(instance >> 8), static_cast<uint8_t>(instance)};
    }
    return out;
  }
  CodecContext ctx;
  ctx.base = Lwm2mPath{def.id};
  ctx.type_of = [&def](const Lwm2mPath& p) {
    const ResourceDefinition* r = def.resource(static_cast<uint16_t>(p.resource));
    return r == nullptr ? ResourceType::kNone : r->type;
  };
  ctx.is_multiple = [&def](const Lwm2mPath& p) {
    const ResourceDefinition* r = def.resource(static_cast<uint16_t>(p.resource));
    return r != nullptr && r->multiple;
  };
  if (!encode(CoapContentFormat::kLwm2mTlv, ctx, records, &out).ok()) {
    out.clear();
  }
  return out;
}

std::vector<Record> composite_paths(std::span<const Lwm2mPath> paths) {
  std::vector<Record> records;
  records.reserve(paths.size());
  for (const Lwm2mPath& p : paths) {
    records.push_back({p, std::monostate{}});
  }
  return records;
}

CodecContext registry_context(const ObjectRegistry& registry, const Lwm2mPath& base) {
  CodecContext ctx;
  ctx.base = base;
  ctx.type_of = [&registry](const Lwm2mPath& p) {
    return p.depth() >= 3 ? type_in(registry, p) : ResourceType::kNone;
  };
  ctx.is_multiple = [&registry](const Lwm2mPath& p) {
    if (p.depth() < 3) {
      return false;
    }
    const ObjectDefinition* def = registry.find(static_cast<uint16_t>(p.object));
    const ResourceDefinition* r =
        def == nullptr ? nullptr : def->resource(static_cast<uint16_t>(p.resource));
    return r != nullptr && r->multiple;
  };
  return ctx;
}

std::span<const uint8_t> build_exercise_request(ExerciseStep step, const ExerciseTarget& target,
                                                const ObjectRegistry& registry, uint16_t message_id,
                                                const CoapToken& token, std::span<uint8_t> out) {
  if (!exercise_step_applies(step, target)) {
    return {};
  }
  const Request r = request_of(step, target, registry);
  if (!r.ok) {
    return {};
  }
  CoapWriter w(out);
  w.header(CoapType::kCon, r.method, message_id, token.view());
  if (r.observe) {
    w.option_uint(CoapOption::kObserve, 0);
  }
  if (r.path.depth() > 0) {
    w.option_path(CoapOption::kUriPath, r.path.to_string().substr(1));
  }
  if (r.content_format >= 0) {
    w.option_uint(CoapOption::kContentFormat, static_cast<uint32_t>(r.content_format));
  }
  if (!r.query.empty()) {
    w.option_path(CoapOption::kUriQuery, r.query, '&');
  }
  if (r.accept >= 0) {
    w.option_uint(CoapOption::kAccept, static_cast<uint32_t>(r.accept));
  }
  w.payload(std::span<const uint8_t>(r.payload));
  return w.finish();
}

std::string check_exercise_response(ExerciseStep step, const ExerciseTarget& target,
                                    const CoapMessage& response, const ObjectRegistry& registry) {
  if (response.code() != expected_code(step)) {
    return got(response.code());
  }
  if ((step == ExerciseStep::kObserve || step == ExerciseStep::kObserveComposite) &&
      response.find(CoapOption::kObserve) == nullptr) {
    return got(response.code()) + " without Observe";
  }
  const int32_t format = answer_format(step);
  if (format < 0) {
    return {};
  }
  const CoapOptionView* cf = response.find(CoapOption::kContentFormat);
  if (cf == nullptr) {
    return got(response.code()) + " without Content-Format";
  }
  if (cf->as_uint() != static_cast<uint32_t>(format)) {
    return got(response.code()) + " with Content-Format " + std::to_string(cf->as_uint());
  }
  const std::span<const uint8_t> payload = response.payload();
  if (step == ExerciseStep::kDiscover) {
    std::vector<Link> links;
    std::string error;
    if (!decode_links({reinterpret_cast<const char*>(payload.data()), payload.size()}, &links,
                      &error)) {
      return got(response.code()) + " with a bad payload: " + error;
    }
    for (const Link& l : links) {
      if (l.target == "/3/0/0") {
        return {};
      }
    }
    return got(response.code()) + " without </3/0/0>";
  }
  std::vector<Record> records;
  const CodecResult r =
      decode(static_cast<uint16_t>(format), registry_context(registry, answer_base(step, target)),
             payload, &records);
  if (!r.ok()) {
    return got(response.code()) + " with a bad payload: " + r.reason;
  }
  if (records.empty()) {
    return got(response.code()) + " with no values";
  }
  return {};
}

CodecResult decode_send(const CoapMessage& request, const ObjectRegistry& registry,
                        std::vector<Record>* out) {
  const CoapOptionView* cf = request.find(CoapOption::kContentFormat);
  const uint32_t format = cf == nullptr ? UINT32_MAX : cf->as_uint();
  if (format != CoapContentFormat::kSenmlJson && format != CoapContentFormat::kSenmlCbor) {
    return CodecResult::error(CoapCode::kUnsupportedContentFormat,
                              "Send takes SenML JSON or SenML CBOR");
  }
  CodecResult r = decode(static_cast<uint16_t>(format), registry_context(registry, kRoot),
                         request.payload(), out);
  if (!r.ok()) {
    r.code = CoapCode::kBadRequest;
  }
  return r;
}

}  // namespace lwm2msim

// Fuzzes a device's handling of requests from its server, the way a fleet worker dispatches
// them (sim/fleet/worker.cpp handle_request and the bootstrap interface) but without sockets:
// the CoAP request is parsed, classified by its Uri-Path, code and options, its payload decoded
// by its Content-Format and the operation run on the DataModel of a shipped profile, with the
// client's changes kept across the requests of one input. Answers must be valid CoAP codes and
// whatever a read returns must encode, and the registration links after a change must parse.
//
// Input: SETUP, then chunks of LEN MESSAGE[LEN]. SETUP picks the profile (bits 0-2), the LwM2M
// version (bits 3-4) and whether the client is being bootstrapped (bit 5).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sim/coap/coap.h"
#include "sim/dm/data_model.h"
#include "sim/format/format.h"
#include "sim/lwm2m/lwm2m.h"
#include "sim/model/object_definition.h"
#include "sim/profile/profile.h"
#include "tests/fuzz/fuzz_common.h"

namespace lwm2msim {
namespace {

using fuzz::check;

// The built-in profile and every shipped one, loaded once.
const std::vector<std::unique_ptr<const DataModel>>& models() {
  static const std::vector<std::unique_ptr<const DataModel>> all = [] {
    std::vector<std::unique_ptr<const DataModel>> out;
    out.push_back(std::make_unique<DataModel>(builtin_profile(fuzz::registry()), 1, 1700000000));
    for (const char* name :
         {"temperature-sensor", "energy-meter", "street-light", "asset-tracker", "gateway"}) {
      auto profile = std::make_shared<Profile>();
      const std::string file = std::string(LWM2MSIM_PROFILES_DIR) + "/" + name + ".yaml";
      check(load_profile(file, fuzz::registry(), profile.get()).empty());
      out.push_back(std::make_unique<DataModel>(std::move(profile), 1, 1700000000));
    }
    return out;
  }();
  return all;
}

bool valid_code(uint8_t code) {
  const uint8_t cls = coap_code_class(code);
  return cls == 2 || cls == 4 || cls == 5;
}

bool is_composite_format(uint16_t format, Lwm2mVersion version) {
  return format == CoapContentFormat::kSenmlJson || format == CoapContentFormat::kSenmlCbor ||
         (version == Lwm2mVersion::k1_2 && format == CoapContentFormat::kLwm2mCbor);
}

struct Device {
  const DataModel* model = nullptr;
  Lwm2mVersion version = Lwm2mVersion::k1_1;
  bool bootstrap = false;
  ClientData data;
  TimeUs t = 0;

  ClientContext context() const {
    ClientContext ctx;
    ctx.index = 3;
    ctx.t = t;
    ctx.data = &data;
    ctx.lifetime_s = 300;
    ctx.server_uri = bootstrap ? "coap://127.0.0.1:5783" : "coap://127.0.0.1:5683";
    ctx.bootstrap_account = bootstrap;
    return ctx;
  }

  uint16_t default_format(const Lwm2mPath& path) const {
    if (path.depth() == 4 || (path.depth() == 3 && !model->is_multiple(path))) {
      return model->type_of(path) == ResourceType::kOpaque ? CoapContentFormat::kOctetStream
                                                           : CoapContentFormat::kTextPlain;
    }
    return version == Lwm2mVersion::k1_2 ? CoapContentFormat::kLwm2mCbor
                                         : CoapContentFormat::kLwm2mTlv;
  }

  uint8_t encode_records(const Lwm2mPath& base, uint16_t format, std::span<const Record> records) {
    if (!is_supported_format(format) || format == CoapContentFormat::kLinkFormat) {
      return CoapCode::kNotAcceptable;
    }
    std::vector<uint8_t> out;
    const CodecResult r = encode(format, model->codec_context(base), records, &out);
    if (!r.ok()) {
      check(valid_code(r.code));
      return CoapCode::kNotAcceptable;
    }
    // What a device answers, its server must be able to read back.
    std::vector<Record> back;
    check(decode(format, model->codec_context(base), out, &back).ok());
    return CoapCode::kContent;
  }

  // Decodes a request payload at `base`: 0 or the code to answer.
  uint8_t decode_payload(const CoapMessage& request, const Lwm2mPath& base, bool composite,
                         std::vector<Record>* records) const {
    const CoapOptionView* cf = request.find(CoapOption::kContentFormat);
    const uint16_t format =
        cf != nullptr ? static_cast<uint16_t>(cf->as_uint()) : CoapContentFormat::kTextPlain;
    if (!is_supported_format(format) || format == CoapContentFormat::kLinkFormat ||
        (composite && !is_composite_format(format, version))) {
      return CoapCode::kUnsupportedContentFormat;
    }
    return decode(format, model->codec_context(base), request.payload(), records).ok()
               ? 0
               : CoapCode::kBadRequest;
  }

  uint8_t handle(const CoapMessage& request) {
    if (request.first_unknown_critical() != 0) {
      return CoapCode::kBadOption;
    }
    Lwm2mPath path;
    if (!lwm2m_path_from_request(request, &path)) {
      return CoapCode::kNotFound;
    }
    return bootstrap ? handle_bootstrap(request, path) : handle_lwm2m(request, path);
  }

  uint8_t handle_lwm2m(const CoapMessage& request, const Lwm2mPath& path) {
    const ClientContext ctx = context();
    const CoapOptionView* accept = request.find(CoapOption::kAccept);
    std::vector<Record> records;
    switch (classify_request(request, path)) {
      case Lwm2mOperation::kRead:
      case Lwm2mOperation::kObserve:
      case Lwm2mOperation::kCancelObserve: {
        const uint16_t format =
            accept != nullptr ? static_cast<uint16_t>(accept->as_uint()) : default_format(path);
        uint8_t code = model->read(path, ctx, &records);
        if (code == CoapCode::kContent) {
          static_cast<void>(records_digest(records));
          code = encode_records(path, format, records);
          const NotificationAttributes attrs = model->effective_attributes(path, ctx);
          check(!attrs.has(Attr::kPmax) || !attrs.has(Attr::kPmin) || attrs.pmin() <= attrs.pmax());
          static_cast<void>(model->number_at(path, ctx));
          static_cast<void>(model->is_constant(path, ctx));
        }
        return code;
      }
      case Lwm2mOperation::kDiscover: {
        std::string links;
        const uint8_t code = model->discover(path, ctx, &links);
        if (code == CoapCode::kContent) {
          std::vector<Link> parsed;
          std::string error;
          check(decode_links(links, &parsed, &error));
        }
        return code;
      }
      case Lwm2mOperation::kReadComposite:
      case Lwm2mOperation::kObserveComposite: {
        if (version == Lwm2mVersion::k1_0 || path.depth() != 0) {
          return CoapCode::kMethodNotAllowed;
        }
        std::vector<Record> listed;
        if (const uint8_t code = decode_payload(request, path, true, &listed); code != 0) {
          return code;
        }
        const CoapOptionView* cf = request.find(CoapOption::kContentFormat);
        const uint16_t in_format = static_cast<uint16_t>(cf->as_uint());
        const uint16_t format =
            accept != nullptr ? static_cast<uint16_t>(accept->as_uint()) : in_format;
        std::vector<Lwm2mPath> paths;
        for (const Record& r : listed) {
          paths.push_back(r.path);
        }
        uint8_t code = model->read_composite(paths, ctx, &records);
        if (code == CoapCode::kContent) {
          code = is_composite_format(format, version) ? encode_records(path, format, records)
                                                      : CoapCode::kNotAcceptable;
        }
        return code;
      }
      case Lwm2mOperation::kWrite:
      case Lwm2mOperation::kWritePartial: {
        if (path.depth() < 2) {
          return CoapCode::kMethodNotAllowed;
        }
        if (!model->exists(path, ctx)) {
          return CoapCode::kNotFound;
        }
        if (const uint8_t code = decode_payload(request, path, false, &records); code != 0) {
          return code;
        }
        const WriteMode mode = classify_request(request, path) == Lwm2mOperation::kWrite
                                   ? WriteMode::kReplace
                                   : WriteMode::kPartialUpdate;
        return model->write(path, records, mode, ctx, &data);
      }
      case Lwm2mOperation::kWriteComposite: {
        if (version == Lwm2mVersion::k1_0 || path.depth() != 0) {
          return CoapCode::kMethodNotAllowed;
        }
        if (const uint8_t code = decode_payload(request, path, true, &records); code != 0) {
          return code;
        }
        return model->write_composite(records, ctx, &data);
      }
      case Lwm2mOperation::kWriteAttributes: {
        std::vector<std::string_view> queries;
        for (const CoapOptionView& o : request.options()) {
          if (o.number == CoapOption::kUriQuery) {
            queries.push_back(o.as_string());
          }
        }
        return model->write_attributes(path, queries, version, ctx, &data);
      }
      case Lwm2mOperation::kExecute: {
        const auto body = request.payload();
        ExecuteEffect effect = ExecuteEffect::kNone;
        const uint8_t code = model->execute(
            path, {reinterpret_cast<const char*>(body.data()), body.size()}, ctx, &effect);
        if (code == CoapCode::kChanged && effect == ExecuteEffect::kFactoryReset) {
          data = ClientData{};
        }
        return code;
      }
      case Lwm2mOperation::kCreate: {
        if (!model->exists(path, ctx)) {
          return CoapCode::kNotFound;
        }
        if (const uint8_t code = decode_payload(request, path, false, &records); code != 0) {
          return code;
        }
        uint16_t instance = 0;
        const uint8_t code = model->create(path, records, ctx, &data, &instance);
        if (code == CoapCode::kCreated) {
          Lwm2mPath created = path;
          created.instance = instance;
          check(model->exists(created, context()));
        }
        return code;
      }
      case Lwm2mOperation::kDelete:
        return model->remove(path, ctx, &data);
      case Lwm2mOperation::kUnknown:
        return CoapCode::kMethodNotAllowed;
    }
    return CoapCode::kMethodNotAllowed;
  }

  uint8_t handle_bootstrap(const CoapMessage& request, const Lwm2mPath& path) {
    const ClientContext ctx = context();
    const CoapOptionView* accept = request.find(CoapOption::kAccept);
    switch (request.code()) {
      case CoapCode::kGet: {
        if (accept != nullptr && accept->as_uint() == CoapContentFormat::kLinkFormat) {
          std::string links;
          const uint8_t code = model->bootstrap_discover(path, version, ctx, &links);
          if (code == CoapCode::kContent) {
            std::vector<Link> parsed;
            std::string error;
            check(decode_links(links, &parsed, &error));
          }
          return code;
        }
        std::vector<Record> records;
        const uint16_t format = accept != nullptr ? static_cast<uint16_t>(accept->as_uint())
                                                  : CoapContentFormat::kLwm2mTlv;
        uint8_t code = model->bootstrap_read(path, ctx, &records);
        if (code == CoapCode::kContent) {
          code = encode_records(path, format, records);
        }
        return code;
      }
      case CoapCode::kPut: {
        std::vector<Record> records;
        if (path.depth() == 0) {
          return CoapCode::kBadRequest;
        }
        if (const uint8_t code = decode_payload(request, path, false, &records); code != 0) {
          return code;
        }
        return model->bootstrap_write(path, records, ctx, &data);
      }
      case CoapCode::kDelete:
        return model->bootstrap_delete(path, ctx, &data);
      case CoapCode::kPost: {
        // Bootstrap-Finish: the account the writes left, if any.
        const std::optional<ProvisionedServer> account = model->provisioned_server(ctx);
        ResourceUri uri;
        if (account) {
          static_cast<void>(parse_resource_uri(account->uri, &uri));
        }
        return account ? CoapCode::kChanged : CoapCode::kNotAcceptable;
      }
      default:
        return CoapCode::kMethodNotAllowed;
    }
  }
};

}  // namespace
}  // namespace lwm2msim

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lwm2msim;
  if (size < 1) {
    return 0;
  }
  const auto& all = models();
  Device device;
  device.model = all[(data[0] & 7) % all.size()].get();
  constexpr Lwm2mVersion kVersions[] = {Lwm2mVersion::k1_0, Lwm2mVersion::k1_1, Lwm2mVersion::k1_2,
                                        Lwm2mVersion::k1_1};
  device.version = kVersions[(data[0] >> 3) & 3];
  device.bootstrap = (data[0] & 32) != 0;

  std::span<const uint8_t> rest(data + 1, size - 1);
  for (int chunk = 0; chunk < 16 && !rest.empty(); ++chunk) {
    const size_t length = std::min<size_t>(rest[0], rest.size() - 1);
    const std::span<const uint8_t> bytes = rest.subspan(1, length);
    rest = rest.subspan(1 + length);
    device.t += 1000000;
    CoapMessage request;
    if (request.parse(bytes) != CoapParseError::kOk || !request.is_request()) {
      continue;
    }
    const uint8_t code = device.handle(request);
    check(valid_code(code));
    // Whatever the server changed, the client can still announce itself.
    std::vector<Link> links;
    std::string error;
    check(decode_links(device.model->registration_links(device.context()), &links, &error));
    static_cast<void>(device.data.heap_bytes());
  }
  return 0;
}

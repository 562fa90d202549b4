// The client side of the bootstrap interface (LwM2M TS 1.1 6.1): while a client waits for
// Bootstrap-Finish, its bootstrap server discovers, deletes, writes and reads /0 and /1.
#include <array>

#include "sim/fleet/worker.h"

namespace lwm2msim {

void Worker::handle_bootstrap_request(uint32_t client, const CoapMessage& request) {
  std::array<char, 64> uri_path;
  bool joined = false;
  const std::string_view target = request.join(CoapOption::kUriPath, uri_path, &joined);
  if (request.code() == CoapCode::kPost && joined && target == "bs") {
    // Bootstrap-Finish: 2.04 when the writes left an LwM2M server account to register with,
    // 4.06 when they did not (TS 1.1 5.2.7.6).
    const std::optional<ProvisionedServer> account =
        model(client).provisioned_server(context(client));
    ResourceUri uri;
    const bool usable = account && parse_resource_uri(account->uri, &uri) &&
                        (uri.scheme == "coap" || (uri.scheme == "coaps" && config_.dtls));
    if (!usable) {
      reply(client, request, Lwm2mOperation::kExecute, CoapCode::kNotAcceptable, 0, {}, nullptr);
      return;
    }
    accounts_[client].server = uri.endpoint;
    accounts_[client].secure = uri.scheme == "coaps";
    reply(client, request, Lwm2mOperation::kExecute, CoapCode::kChanged, 0, {}, nullptr);
    clients_[client].on_bootstrap_finish(*this, client);
    return;
  }
  Lwm2mPath path;
  if (!lwm2m_path_from_request(request, &path)) {
    reply(client, request, Lwm2mOperation::kUnknown, CoapCode::kNotFound, 0, {}, nullptr);
    return;
  }
  const ClientContext ctx = context(client);
  const CoapOptionView* accept = request.find(CoapOption::kAccept);
  const int64_t bytes_before = data_bytes(client);
  switch (request.code()) {
    case CoapCode::kGet: {
      if (accept != nullptr && accept->as_uint() == CoapContentFormat::kLinkFormat) {
        std::string links;
        const uint8_t code =
            model(client).bootstrap_discover(path, config(client).version, ctx, &links);
        reply(client, request, Lwm2mOperation::kDiscover, code, CoapContentFormat::kLinkFormat,
              {reinterpret_cast<const uint8_t*>(links.data()), links.size()}, nullptr);
        return;
      }
      if (config(client).version == Lwm2mVersion::k1_0) {
        // Bootstrap-Read came with 1.1.
        reply(client, request, Lwm2mOperation::kRead, CoapCode::kMethodNotAllowed, 0, {}, nullptr);
        return;
      }
      std::vector<Record> records;
      std::vector<uint8_t> payload;
      const uint16_t format = accept != nullptr ? static_cast<uint16_t>(accept->as_uint())
                                                : CoapContentFormat::kLwm2mTlv;
      uint8_t code = model(client).bootstrap_read(path, ctx, &records);
      if (code == CoapCode::kContent) {
        code = encode_records(client, path, format, records, &payload);
      }
      reply(client, request, Lwm2mOperation::kRead, code, format,
            code == CoapCode::kContent ? std::span<const uint8_t>(payload)
                                       : std::span<const uint8_t>(),
            nullptr);
      return;
    }
    case CoapCode::kPut: {
      const CoapOptionView* cf = request.find(CoapOption::kContentFormat);
      const uint16_t format =
          cf != nullptr ? static_cast<uint16_t>(cf->as_uint()) : CoapContentFormat::kTextPlain;
      std::vector<Record> records;
      uint8_t code = CoapCode::kChanged;
      if (!is_supported_format(format) || format == CoapContentFormat::kLinkFormat) {
        code = CoapCode::kUnsupportedContentFormat;
      } else if (path.depth() == 0 ||
                 !decode(format, model(client).codec_context(path), request.payload(), &records)
                      .ok()) {
        code = CoapCode::kBadRequest;
      } else {
        code = model(client).bootstrap_write(path, records, ctx, &data_.get(client));
      }
      if (code == CoapCode::kChanged) {
        request_stats_.writes_applied.add();
      }
      reply(client, request, Lwm2mOperation::kWrite, code, 0, {}, nullptr);
      break;
    }
    case CoapCode::kDelete: {
      const uint8_t code = model(client).bootstrap_delete(path, ctx, &data_.get(client));
      if (code == CoapCode::kDeleted) {
        request_stats_.writes_applied.add();
      }
      reply(client, request, Lwm2mOperation::kDelete, code, 0, {}, nullptr);
      break;
    }
    default:
      reply(client, request, Lwm2mOperation::kUnknown, CoapCode::kMethodNotAllowed, 0, {}, nullptr);
      return;
  }
  data_.compact(client);
  clients_with_data_.set(static_cast<int64_t>(data_.size()));
  client_data_bytes_.add(data_bytes(client) - bytes_before);
}

}  // namespace lwm2msim

#include "sim/format/format.h"

#include "sim/coap/coap.h"

namespace lwm2msim {

std::string_view to_string(ResourceType t) {
  switch (t) {
    case ResourceType::kNone:
      return "none";
    case ResourceType::kString:
      return "string";
    case ResourceType::kInteger:
      return "integer";
    case ResourceType::kUnsignedInteger:
      return "unsigned integer";
    case ResourceType::kFloat:
      return "float";
    case ResourceType::kBoolean:
      return "boolean";
    case ResourceType::kOpaque:
      return "opaque";
    case ResourceType::kTime:
      return "time";
    case ResourceType::kObjlnk:
      return "objlnk";
    case ResourceType::kCoreLink:
      return "corelnk";
  }
  return "none";
}

ResourceType type_of(const Value& v) {
  switch (v.index()) {
    case 1:
      return ResourceType::kString;
    case 2:
      return ResourceType::kInteger;
    case 3:
      return ResourceType::kUnsignedInteger;
    case 4:
      return ResourceType::kFloat;
    case 5:
      return ResourceType::kBoolean;
    case 6:
      return ResourceType::kOpaque;
    case 7:
      return ResourceType::kTime;
    case 8:
      return ResourceType::kObjlnk;
    case 9:
      return ResourceType::kCoreLink;
    default:
      return ResourceType::kNone;
  }
}

bool is_supported_format(uint16_t f) {
  switch (f) {
    case CoapContentFormat::kTextPlain:
    case CoapContentFormat::kOctetStream:
    case CoapContentFormat::kLwm2mTlv:
    case CoapContentFormat::kLwm2mJson:
    case CoapContentFormat::kSenmlJson:
    case CoapContentFormat::kSenmlCbor:
    case CoapContentFormat::kLwm2mCbor:
      return true;
    default:
      return false;
  }
}

CodecResult encode(uint16_t f, const CodecContext& ctx, std::span<const Record> records,
                   std::vector<uint8_t>* out) {
  switch (f) {
    case CoapContentFormat::kTextPlain:
      return encode_text(ctx, records, out);
    case CoapContentFormat::kOctetStream:
      return encode_opaque(ctx, records, out);
    case CoapContentFormat::kLwm2mTlv:
      return encode_tlv(ctx, records, out);
    case CoapContentFormat::kLwm2mJson:
      return encode_oma_json(ctx, records, out);
    case CoapContentFormat::kSenmlJson:
      return encode_senml_json(ctx, records, out);
    case CoapContentFormat::kSenmlCbor:
      return encode_senml_cbor(ctx, records, out);
    case CoapContentFormat::kLwm2mCbor:
      return encode_lwm2m_cbor(ctx, records, out);
    default:
      return CodecResult::error(CoapCode::kNotAcceptable,
                                "content format " + std::to_string(f) + " is not supported");
  }
}

CodecResult decode(uint16_t f, const CodecContext& ctx, std::span<const uint8_t> payload,
                   std::vector<Record>* out) {
  switch (f) {
    case CoapContentFormat::kTextPlain:
      return decode_text(ctx, payload, out);
    case CoapContentFormat::kOctetStream:
      return decode_opaque(ctx, payload, out);
    case CoapContentFormat::kLwm2mTlv:
      return decode_tlv(ctx, payload, out);
    case CoapContentFormat::kLwm2mJson:
      return decode_oma_json(ctx, payload, out);
    case CoapContentFormat::kSenmlJson:
      return decode_senml_json(ctx, payload, out);
    case CoapContentFormat::kSenmlCbor:
      return decode_senml_cbor(ctx, payload, out);
    case CoapContentFormat::kLwm2mCbor:
      return decode_lwm2m_cbor(ctx, payload, out);
    default:
      return CodecResult::error(CoapCode::kUnsupportedContentFormat,
                                "content format " + std::to_string(f) + " is not supported");
  }
}

}  // namespace lwm2msim

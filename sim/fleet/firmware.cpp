// The client half of a firmware update (LwM2M object 5) in pull mode: a Package URI written by
// the server starts a block-wise CoAP download (RFC 7959 Block2) from that URI; Execute Update
// installs the package for the group's update time, then the device reboots into it.
#include <algorithm>
#include <array>

#include "sim/fleet/worker.h"

namespace lwm2msim {
namespace {

// 1024-byte blocks: the largest that fits a datagram with room for the header and options.
constexpr uint32_t kBlockSzx = 6;

std::string_view last_segment(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

}  // namespace

Worker::Report* Worker::find_report_kind(uint32_t client, ReportKind kind) {
  for (uint32_t slot = report_head_[client]; slot != UINT32_MAX; slot = reports_[slot].next) {
    if (reports_[slot].kind == kind) {
      return &reports_[slot];
    }
  }
  return nullptr;
}

void Worker::set_firmware_state(uint32_t client, uint32_t instance, int64_t state, int64_t result,
                                bool notify) {
  const int64_t bytes_before = data_bytes(client);
  const ClientContext ctx = context(client);
  ClientData* data = &data_.get(client);
  model(client).set_value({5, instance, 3}, state, ctx, data);
  model(client).set_value({5, instance, 5}, result, ctx, data);
  clients_with_data_.set(static_cast<int64_t>(data_.size()));
  client_data_bytes_.add(data_bytes(client) - bytes_before);
  if (notify) {
    refresh_observations(client);
  }
}

void Worker::firmware_uri_written(uint32_t client, const Lwm2mPath& path) {
  const Lwm2mPath uri_path{path.object, path.instance, 1};
  std::vector<Record> records;
  if (model(client).read(uri_path, context(client), &records) != CoapCode::kContent ||
      records.size() != 1) {
    return;
  }
  const auto* uri = std::get_if<std::string>(&records.front().value);
  if (uri == nullptr) {
    return;
  }
  if (Report* old = find_report_kind(client, ReportKind::kDownload)) {
    free_report(static_cast<uint32_t>(old - reports_.data()));
  }
  // TS E.6: an empty Package URI resets the state machine.
  if (uri->empty()) {
    set_firmware_state(client, path.instance, firmware::kIdle, firmware::kResultInitial);
    return;
  }
  ResourceUri parsed;
  if (!parse_resource_uri(*uri, &parsed) || parsed.path.empty()) {
    fw_download_failed_.add();
    set_firmware_state(client, path.instance, firmware::kIdle, firmware::kResultInvalidUri);
    return;
  }
  // coaps only from the LwM2M server itself, over the session the client already has with it.
  const bool over_session =
      parsed.scheme == "coaps" && parsed.endpoint == server_of(client) && secure(client, false);
  if (parsed.scheme != "coap" && !over_session) {
    fw_download_failed_.add();
    set_firmware_state(client, path.instance, firmware::kIdle,
                       firmware::kResultUnsupportedProtocol);
    return;
  }
  const uint32_t slot = alloc_report(client);
  Report& r = reports_[slot];
  r.kind = ReportKind::kDownload;
  r.peer = parsed.endpoint;
  r.path = uri_path;
  r.format = kBlockSzx;
  fw_downloads_.add();
  {
    const int64_t bytes_before = data_bytes(client);
    model(client).set_value({path.object, path.instance, 7}, std::string(last_segment(parsed.path)),
                            context(client), &data_.get(client));
    client_data_bytes_.add(data_bytes(client) - bytes_before);
  }
  set_firmware_state(client, path.instance, firmware::kDownloading, firmware::kResultInitial);
  request_block(slot);
}

void Worker::request_block(uint32_t slot) {
  Report& r = reports_[slot];
  std::vector<Record> records;
  std::string uri;
  if (model(r.client).read(r.path, context(r.client), &records) == CoapCode::kContent &&
      records.size() == 1) {
    if (const auto* s = std::get_if<std::string>(&records.front().value)) {
      uri = *s;
    }
  }
  ResourceUri parsed;
  if (!parse_resource_uri(uri, &parsed)) {
    firmware_failed(slot, firmware::kResultInvalidUri);
    return;
  }
  r.mid = clients_[r.client].take_message_id();
  r.token = CoapToken::from_u64(rng_.next(), 4);
  std::array<uint8_t, kCoapMaxMessageSize> buf;
  CoapWriter w(buf);
  w.header(CoapType::kCon, CoapCode::kGet, r.mid, r.token.view())
      .option_path(CoapOption::kUriPath, parsed.path)
      .option_uint(CoapOption::kBlock2, (r.sequence << 4) | r.format);
  if (!w.ok()) {
    firmware_failed(slot, firmware::kResultInvalidUri);
    return;
  }
  transmit_report(slot, w.finish(), true);
}

void Worker::on_download_response(uint32_t slot, const CoapMessage& m) {
  Report& r = reports_[slot];
  if (m.type() == CoapType::kRst) {
    firmware_failed(slot, firmware::kResultConnectionLost);
    return;
  }
  if (m.type() == CoapType::kCon) {
    std::array<uint8_t, 4> ack;
    send_to(r.client, r.peer, coap_write_empty(ack, CoapType::kAck, m.message_id()));
  }
  r.awaiting_ack = false;
  r.inflight.clear();
  if (m.is_empty()) {
    // Empty ACK: the block comes in a separate response.
    schedule_report(slot, now() + config_.client.separate_response_timeout);
    return;
  }
  if (m.code() != CoapCode::kContent) {
    firmware_failed(slot, m.code() == CoapCode::kNotFound ? firmware::kResultInvalidUri
                                                          : firmware::kResultConnectionLost);
    return;
  }
  const CoapOptionView* block = m.find(CoapOption::kBlock2);
  const uint32_t value = block != nullptr ? block->as_uint() : 0;
  const uint32_t num = value >> 4;
  const bool more = (value & 0x8) != 0;
  if (num != r.sequence || (value & 7) == 7) {
    // RFC 7959 2.4: a block other than the one asked for cannot be placed.
    firmware_failed(slot, firmware::kResultIntegrity);
    return;
  }
  if (const CoapOptionView* size = m.find(CoapOption::kSize2)) {
    r.total = size->as_uint();
  }
  fw_blocks_.add();
  r.count += static_cast<uint32_t>(m.payload().size());
  if (more) {
    // Later blocks use the size the server chose (RFC 7959 2.4).
    r.format = static_cast<uint16_t>(value & 7);
    const uint32_t block_size = 16u << r.format;
    r.sequence = r.count / block_size;
    request_block(slot);
    return;
  }
  if (r.total != 0 && r.count != r.total) {
    firmware_failed(slot, firmware::kResultIntegrity);
    return;
  }
  fw_downloaded_.add();
  const uint32_t client = r.client;
  const uint32_t instance = r.path.instance;
  free_report(slot);
  set_firmware_state(client, instance, firmware::kDownloaded, firmware::kResultInitial);
}

void Worker::firmware_failed(uint32_t slot, int64_t result) {
  const Report& r = reports_[slot];
  const uint32_t client = r.client;
  const uint32_t instance = r.path.instance;
  if (r.kind == ReportKind::kDownload) {
    fw_download_failed_.add();
  } else {
    fw_update_failed_.add();
  }
  free_report(slot);
  set_firmware_state(client, instance, firmware::kIdle, result);
}

void Worker::firmware_execute(uint32_t client, const Lwm2mPath& path, ExecuteEffect effect) {
  const ClientContext ctx = context(client);
  ClientData* data = &data_.get(client);
  // The caller answers, accounts the data and tells observers once the answer is out.
  if (effect == ExecuteEffect::kFirmwareCancel) {
    if (Report* r = find_report_kind(client, ReportKind::kDownload)) {
      free_report(static_cast<uint32_t>(r - reports_.data()));
    }
    model(client).set_value({5, path.instance, 3}, firmware::kIdle, ctx, data);
    model(client).set_value({5, path.instance, 5}, firmware::kResultCancelled, ctx, data);
    return;
  }
  model(client).set_value({5, path.instance, 3}, firmware::kUpdating, ctx, data);
  const uint32_t slot = alloc_report(client);
  Report& r = reports_[slot];
  r.kind = ReportKind::kFirmwareApply;
  r.path = {5, path.instance, 2};
  const FleetGroup& g = *group(client).spec;
  // Installations differ in length: up to a fifth either way.
  const TimeUs spread = g.firmware_update_time / 5;
  const TimeUs duration = g.firmware_update_time - spread + rng_.below(2 * spread + 1);
  schedule_report(slot, ctx.t + duration);
}

void Worker::firmware_apply(uint32_t slot) {
  const uint32_t client = reports_[slot].client;
  const uint32_t instance = reports_[slot].path.instance;
  free_report(slot);
  const FleetGroup& g = *group(client).spec;
  const bool ok = rng_.uniform() >= g.firmware_failure;
  const int64_t bytes_before = data_bytes(client);
  const ClientContext ctx = context(client);
  ClientData* data = &data_.get(client);
  if (ok) {
    // The device now runs the package: its version is what it downloaded.
    std::vector<Record> version;
    if (model(client).read({5, instance, 7}, ctx, &version) == CoapCode::kContent &&
        version.size() == 1) {
      model(client).set_value({3, 0, 3}, version.front().value, ctx, data);
    }
    fw_updated_.add();
  } else {
    fw_update_failed_.add();
  }
  model(client).set_value({5, instance, 3}, firmware::kIdle, ctx, data);
  model(client).set_value({5, instance, 5}, ok ? firmware::kResultSuccess : firmware::kResultFailed,
                          ctx, data);
  clients_with_data_.set(static_cast<int64_t>(data_.size()));
  client_data_bytes_.add(data_bytes(client) - bytes_before);
  // Installing ends in a restart: no De-register, a fresh Register with the new version.
  request_stats_.reboots.add();
  drop_reports(client);
  reset_link(client, true);
  clients_[client].reboot(*this, client, now() + config_.reboot_delay);
}

}  // namespace lwm2msim

// dm: LwM2M <NOTIFICATION> class attributes (TS 1.1 section 5.1.2, TS 1.2 section 7.3.2): the
// values Write-Attributes sets, their inheritance across levels, and their Discover rendering.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "sim/format/format.h"
#include "sim/lwm2m/lwm2m.h"

namespace lwm2msim {

// 1.2 also defines hqmax (Maximum Historical Queue). It is rejected as an unknown attribute: it
// only means something with a per-observation history of stored notifications, which this engine
// does not keep, and answering 2.04 to a setting that is then ignored would mislead the server.
enum class Attr : uint8_t {
  kPmin,
  kPmax,
  kGt,
  kLt,
  kSt,
  kEpmin,  // 1.1
  kEpmax,  // 1.1
  kEdge,   // 1.2, Boolean resources: notify on a false->true (1) or true->false (0) transition
  kCon,    // 1.2: 1 = notifications are Confirmable, 0 = Non-confirmable
};
inline constexpr int kAttrCount = 9;
// The CoRE link parameter name: "pmin", "gt", ...
std::string_view to_string(Attr a);
// False for anything that is not one of the names above.
bool parse_attr_name(std::string_view name, Attr* out);

// The attributes set at one level (or in force for an observation). Unset attributes read as 0.
struct NotificationAttributes {
  bool has(Attr a) const { return (mask_ & bit(a)) != 0; }
  bool empty() const { return mask_ == 0; }
  void unset(Attr a);

  // Periods in seconds.
  uint32_t pmin() const { return pmin_; }
  uint32_t pmax() const { return pmax_; }
  uint32_t epmin() const { return epmin_; }
  uint32_t epmax() const { return epmax_; }
  double gt() const { return gt_; }
  double lt() const { return lt_; }
  double st() const { return st_; }
  bool edge() const { return edge_; }
  bool con() const { return con_; }

  void set_pmin(uint32_t s) {
    pmin_ = s;
    mask_ |= bit(Attr::kPmin);
  }
  void set_pmax(uint32_t s) {
    pmax_ = s;
    mask_ |= bit(Attr::kPmax);
  }
  void set_epmin(uint32_t s) {
    epmin_ = s;
    mask_ |= bit(Attr::kEpmin);
  }
  void set_epmax(uint32_t s) {
    epmax_ = s;
    mask_ |= bit(Attr::kEpmax);
  }
  void set_gt(double v) {
    gt_ = v;
    mask_ |= bit(Attr::kGt);
  }
  void set_lt(double v) {
    lt_ = v;
    mask_ |= bit(Attr::kLt);
  }
  void set_st(double v) {
    st_ = v;
    mask_ |= bit(Attr::kSt);
  }
  void set_edge(bool rising) {
    edge_ = rising;
    mask_ |= bit(Attr::kEdge);
  }
  void set_con(bool confirmable) {
    con_ = confirmable;
    mask_ |= bit(Attr::kCon);
  }

  // Copies attribute `a` from `other` (set or unset).
  void copy_from(const NotificationAttributes& other, Attr a);

  // Equal when the same attributes are set to the same values.
  friend bool operator==(const NotificationAttributes&, const NotificationAttributes&) = default;

 private:
  static constexpr uint16_t bit(Attr a) { return static_cast<uint16_t>(1u << static_cast<int>(a)); }

  // unset() zeroes the value too, so the defaulted == compares only what is set.
  double gt_ = 0;
  double lt_ = 0;
  double st_ = 0;
  uint32_t pmin_ = 0;
  uint32_t pmax_ = 0;
  uint32_t epmin_ = 0;
  uint32_t epmax_ = 0;
  uint16_t mask_ = 0;
  bool edge_ = false;
  bool con_ = false;
};

// What a Write-Attributes request targets.
struct AttributeTarget {
  int depth = 0;  // Lwm2mPath::depth(): 1 object, 2 instance, 3 resource, 4 resource instance
  // The resource's data type at depth 3 and 4 (kNone above): gt/lt/st need Integer, Unsigned
  // Integer or Float; edge needs Boolean.
  ResourceType type = ResourceType::kNone;
  Lwm2mVersion version = Lwm2mVersion::k1_1;
};

// Applies a Write-Attributes request's Uri-Query values ("pmin=10", "gt=-3.5"; a bare name unsets
// that attribute) to *attrs. Returns 0, or CoapCode::kBadRequest leaving *attrs unchanged, for: an
// unknown or repeated name; an attribute the version or the target does not allow; a malformed
// value (periods are decimal integers; gt/lt/st finite decimals; edge/con 0 or 1); st <= 0; and a
// result with pmin > pmax, epmin > epmax, lt >= gt, or lt + 2*st >= gt (TS 1.1 section 5.1.2).
uint8_t apply_write_attributes(std::span<const std::string_view> queries,
                               const AttributeTarget& target, NotificationAttributes* attrs);

// The attributes in force for an observation: levels ordered object, instance, resource,
// resource instance (nullptr for a level without attributes; the span ends at the observed
// level). An inner level's attribute overrides the outer ones; gt, lt, st and edge are taken
// only from the resource level and below, where the TS attaches them. pmin and pmax fall back to
// the Server object's Default Minimum/Maximum Period (/1/x/2, /1/x/3), so pmin is always set.
NotificationAttributes effective_attributes(
    std::span<const NotificationAttributes* const> levels_outer_to_inner, uint32_t default_pmin,
    std::optional<uint32_t> default_pmax);

// Appends the set attributes as link-format parameters for Discover, in Attr order:
// ";pmin=10;pmax=60;gt=25.5". Numbers use the shortest decimal that reads back the same.
void append_link_params(const NotificationAttributes& attrs, std::string* out);

}  // namespace lwm2msim

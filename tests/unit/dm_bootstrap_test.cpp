// The Bootstrap interface of the data model (LwM2M TS 1.1 5.2.7): Bootstrap-Write, -Delete,
// -Discover and -Read, and the server account a bootstrap leaves behind.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/coap/coap.h"
#include "sim/dm/data_model.h"
#include "sim/format/format.h"
#include "sim/model/object_definition.h"
#include "sim/profile/profile.h"

#ifndef LWM2MSIM_PROFILES_DIR
#error "LWM2MSIM_PROFILES_DIR must name the repository's profiles/ (see tests/CMakeLists.txt)"
#endif

namespace lwm2msim {
namespace {

constexpr std::string_view kBootstrapUri = "coap://bs.example:5683";
constexpr uint32_t kNo = Lwm2mPath::kAbsent;

const ObjectRegistry& registry() {
  static const ObjectRegistry r = ObjectRegistry::builtin();
  return r;
}

// Security, Server and Device from the defaults, an Access Control instance and one temperature
// sensor (an object whose version is not 1.0).
constexpr std::string_view kSmallYaml = R"(name: bs-small
objects:
  2:
    0: {0: 3303, 1: 0, 2: {1: 15}, 3: 1}
  3303:
    0:
      5700: 21.5
      5701: Cel
)";

std::shared_ptr<const Profile> small_profile() {
  auto p = std::make_shared<Profile>();
  EXPECT_EQ(load_profile_text(kSmallYaml, "bs-small.yaml", ".", registry(), p.get()), "");
  return p;
}

std::shared_ptr<const Profile> shipped_profile(const std::string& name) {
  auto p = std::make_shared<Profile>();
  EXPECT_EQ(load_profile(std::string(LWM2MSIM_PROFILES_DIR) + "/" + name, registry(), p.get()), "");
  return p;
}

Lwm2mPath path(uint32_t o = kNo, uint32_t i = kNo, uint32_t r = kNo, uint32_t ri = kNo) {
  return {o, i, r, ri};
}

Opaque bytes(std::string_view text) {
  return Opaque{{text.begin(), text.end()}};
}

// The Security instance of a DM server at /0/1 and its Server instance at /1/0.
std::vector<Record> security_account(uint16_t instance) {
  return {
      {path(0, instance, 0), std::string("coaps://dm.example:5684")},
      {path(0, instance, 1), false},
      {path(0, instance, 2), int64_t{0}},
      {path(0, instance, 3), bytes("sim-000042")},
      {path(0, instance, 5), Opaque{{0x00, 0x01, 0xfe, 0xff, 0x7f}}},
      {path(0, instance, 10), int64_t{101}},
  };
}
std::vector<Record> server_account(uint16_t instance) {
  return {
      {path(1, instance, 0), int64_t{101}},
      {path(1, instance, 1), int64_t{600}},
      {path(1, instance, 6), true},
      {path(1, instance, 7), std::string("UQ")},
  };
}

class BootstrapTest : public ::testing::Test {
 protected:
  explicit BootstrapTest(std::shared_ptr<const Profile> profile = small_profile())
      : model_(std::move(profile), 1, 0) {}

  ClientContext ctx(bool bootstrap = true) {
    ClientContext c;
    c.index = 42;
    c.data = data_.empty() ? nullptr : &data_;
    c.lifetime_s = 300;
    c.server_uri = kBootstrapUri;
    c.bootstrap_account = bootstrap;
    return c;
  }
  uint8_t write(const Lwm2mPath& p, const std::vector<Record>& records) {
    return model_.bootstrap_write(p, records, ctx(), &data_);
  }
  uint8_t remove(const Lwm2mPath& p) { return model_.bootstrap_delete(p, ctx(), &data_); }
  std::string discover(const Lwm2mPath& p = {}, Lwm2mVersion v = Lwm2mVersion::k1_1) {
    std::string out;
    EXPECT_EQ(model_.bootstrap_discover(p, v, ctx(), &out), CoapCode::kContent) << p.to_string();
    return out;
  }
  bool exists(const Lwm2mPath& p) { return model_.exists(p, ctx()); }
  Value value(const Lwm2mPath& p) {
    std::vector<Record> out;
    EXPECT_EQ(model_.bootstrap_read(path(p.object, p.instance), ctx(), &out), CoapCode::kContent);
    const auto it =
        std::find_if(out.begin(), out.end(), [&](const Record& r) { return r.path == p; });
    return it == out.end() ? Value{} : it->value;
  }

  DataModel model_;
  ClientData data_;
};

class BuiltinBootstrapTest : public BootstrapTest {
 protected:
  BuiltinBootstrapTest() : BootstrapTest(builtin_profile(registry())) {}
};

TEST_F(BuiltinBootstrapTest, DeleteRootKeepsBootstrapAccountAndDevice) {
  ASSERT_TRUE(exists(path(1, 0)));
  ASSERT_TRUE(exists(path(4, 0)));
  EXPECT_EQ(remove(path()), CoapCode::kDeleted);
  EXPECT_TRUE(exists(path(0, 0)));
  EXPECT_TRUE(exists(path(3, 0)));
  EXPECT_FALSE(exists(path(1, 0)));
  EXPECT_FALSE(exists(path(4, 0)));
  EXPECT_FALSE(exists(path(3303, 0)));
  // The objects stay supported: a bootstrap server can write them again.
  EXPECT_TRUE(exists(path(1)));
  EXPECT_EQ(model_.registration_instances(ctx()), std::vector<Lwm2mPath>{path(3, 0)});
  EXPECT_EQ(model_.provisioned_server(ctx()), std::nullopt);
  // Deleting again, or an object, finds nothing more to delete.
  EXPECT_EQ(remove(path()), CoapCode::kDeleted);
  EXPECT_EQ(remove(path(0)), CoapCode::kDeleted);
  EXPECT_TRUE(exists(path(0, 0)));
}

TEST_F(BuiltinBootstrapTest, WithoutBootstrapAccountDeleteRootKeepsOnlyDevice) {
  EXPECT_EQ(model_.bootstrap_delete(path(), ctx(false), &data_), CoapCode::kDeleted);
  EXPECT_FALSE(model_.exists(path(0, 0), ctx(false)));
  EXPECT_TRUE(model_.exists(path(3, 0), ctx(false)));
}

TEST_F(BuiltinBootstrapTest, DeleteTargetsAndRefusals) {
  EXPECT_EQ(remove(path(3, 0, 9)), CoapCode::kBadRequest);
  EXPECT_EQ(remove(path(1, 0, 1)), CoapCode::kBadRequest);
  EXPECT_EQ(remove(path(0, 0, 5)), CoapCode::kBadRequest);
  // The bootstrap account and Device are not deletable by name.
  EXPECT_EQ(remove(path(0, 0)), CoapCode::kBadRequest);
  EXPECT_EQ(remove(path(3, 0)), CoapCode::kBadRequest);
  // An object target passes over them.
  EXPECT_EQ(remove(path(3)), CoapCode::kDeleted);
  EXPECT_TRUE(exists(path(3, 0)));
  EXPECT_EQ(remove(path(1, 0)), CoapCode::kDeleted);
  EXPECT_FALSE(exists(path(1, 0)));
  EXPECT_EQ(remove(path(1, 0)), CoapCode::kDeleted);
  EXPECT_EQ(remove(path(4)), CoapCode::kDeleted);
  EXPECT_FALSE(exists(path(4, 0)));
  EXPECT_TRUE(exists(path(3303, 0)));
}

TEST_F(BuiltinBootstrapTest, WriteAccountsThenProvisionedServer) {
  ASSERT_EQ(remove(path()), CoapCode::kDeleted);
  EXPECT_EQ(write(path(0, 1), security_account(1)), CoapCode::kChanged);
  EXPECT_EQ(write(path(1, 0), server_account(0)), CoapCode::kChanged);
  const std::pair<uint16_t, uint16_t> security{0, 1};
  const std::pair<uint16_t, uint16_t> server{1, 0};
  EXPECT_TRUE(std::binary_search(data_.created.begin(), data_.created.end(), security));
  EXPECT_TRUE(std::binary_search(data_.created.begin(), data_.created.end(), server));
  EXPECT_TRUE(exists(path(0, 1, 5)));
  // A recreated profile instance has only what was written.
  EXPECT_FALSE(exists(path(1, 0, 2)));

  const std::optional<ProvisionedServer> s = model_.provisioned_server(ctx());
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->uri, "coaps://dm.example:5684");
  EXPECT_EQ(s->security_mode, 0);
  EXPECT_EQ(s->identity, bytes("sim-000042").bytes);
  EXPECT_EQ(s->secret_key, (std::vector<uint8_t>{0x00, 0x01, 0xfe, 0xff, 0x7f}));
  EXPECT_EQ(s->short_server_id, 101);
  EXPECT_EQ(s->lifetime_s, 600u);
  EXPECT_EQ(s->binding, "UQ");

  // The Register announces the new Server instance, never Security.
  EXPECT_EQ(model_.registration_instances(ctx()), (std::vector<Lwm2mPath>{path(1, 0), path(3, 0)}));
  const std::string links = model_.registration_links(ctx());
  EXPECT_EQ(links.find("</0"), std::string::npos) << links;
  EXPECT_NE(links.find("</1/0>"), std::string::npos) << links;

  EXPECT_EQ(discover(),
            "</>;lwm2m=1.1,</0/0>;uri=\"coap://bs.example:5683\","
            "</0/1>;ssid=101;uri=\"coaps://dm.example:5684\",</1/0>;ssid=101,</3/0>,"
            "</4>,</3303>;ver=1.1");
}

TEST_F(BuiltinBootstrapTest, ProvisionedServerNeedsNoMatchingServerInstance) {
  ASSERT_EQ(remove(path()), CoapCode::kDeleted);
  ASSERT_EQ(write(path(0, 3), security_account(3)), CoapCode::kChanged);
  const std::optional<ProvisionedServer> s = model_.provisioned_server(ctx());
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->short_server_id, 101);
  EXPECT_EQ(s->lifetime_s, 0u);
  EXPECT_EQ(s->binding, "");
}

TEST_F(BuiltinBootstrapTest, WithoutBootstrapAccountTheProfileAccountIsTheServer) {
  const std::optional<ProvisionedServer> s = model_.provisioned_server(ctx(false));
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->uri, kBootstrapUri);
  EXPECT_EQ(s->security_mode, 3);
  EXPECT_TRUE(s->identity.empty());
  EXPECT_EQ(s->short_server_id, 1);
  EXPECT_EQ(s->lifetime_s, 300u);
  EXPECT_EQ(s->binding, "U");
}

TEST_F(BuiltinBootstrapTest, OpaqueValuesKeepTheirBytesThroughTlvAndSenml) {
  for (const uint16_t format : {CoapContentFormat::kLwm2mTlv, CoapContentFormat::kSenmlJson,
                                CoapContentFormat::kSenmlCbor}) {
    data_ = {};
    const Lwm2mPath base = path(0, 1);
    std::vector<uint8_t> payload;
    ASSERT_TRUE(encode(format, model_.codec_context(base), security_account(1), &payload).ok())
        << format;
    std::vector<Record> decoded;
    ASSERT_TRUE(decode(format, model_.codec_context(base), payload, &decoded).ok()) << format;
    ASSERT_EQ(write(base, decoded), CoapCode::kChanged) << format;
    const std::optional<ProvisionedServer> s = model_.provisioned_server(ctx());
    ASSERT_TRUE(s.has_value()) << format;
    EXPECT_EQ(s->identity, bytes("sim-000042").bytes) << format;
    EXPECT_EQ(s->secret_key, (std::vector<uint8_t>{0x00, 0x01, 0xfe, 0xff, 0x7f})) << format;
    EXPECT_EQ(s->uri, "coaps://dm.example:5684") << format;
  }
}

TEST_F(BuiltinBootstrapTest, WriteUpdatesAnExistingInstance) {
  EXPECT_EQ(write(path(1, 0), {{path(1, 0, 1), int64_t{900}}}), CoapCode::kChanged);
  EXPECT_EQ(value(path(1, 0, 1)), Value{int64_t{900}});
  EXPECT_EQ(value(path(1, 0, 7)), Value{std::string("U")});
  // A resource target; the bootstrap account's own URI can be rewritten as well.
  EXPECT_EQ(write(path(0, 0, 0), {{path(0, 0, 0), std::string("coap://bs2.example")}}),
            CoapCode::kChanged);
  EXPECT_EQ(discover(path(0)), "</>;lwm2m=1.1,</0/0>;uri=\"coap://bs2.example\"");
  // A multiple resource's instances are replaced as a whole.
  EXPECT_EQ(write(path(3, 0, 6), {{path(3, 0, 6, 4), int64_t{5}}}), CoapCode::kChanged);
  std::vector<Record> out;
  ASSERT_EQ(model_.read(path(3, 0, 6), ctx(), &out), CoapCode::kContent);
  EXPECT_EQ(out, (std::vector<Record>{{path(3, 0, 6, 4), int64_t{5}}}));
}

TEST_F(BuiltinBootstrapTest, WriteRefusals) {
  // Wrong type, out of range, outside the target, undefined, executable.
  EXPECT_EQ(write(path(1, 0), {{path(1, 0, 1), std::string("600")}}), CoapCode::kBadRequest);
  EXPECT_EQ(write(path(0, 1), {{path(0, 1, 3), std::string("id")}}), CoapCode::kBadRequest);
  EXPECT_EQ(write(path(0, 1), {{path(0, 1, 2), int64_t{9}}}), CoapCode::kBadRequest);
  EXPECT_EQ(write(path(0, 1), {{path(1, 1, 0), int64_t{101}}}), CoapCode::kBadRequest);
  EXPECT_EQ(write(path(0, 1), {{path(0, 1, 99), int64_t{1}}}), CoapCode::kBadRequest);
  EXPECT_EQ(write(path(1, 0, 8), {}), CoapCode::kBadRequest);
  EXPECT_EQ(write(path(1, 0, 1), {}), CoapCode::kBadRequest);
  // Only objects, instances and resources are targets.
  EXPECT_EQ(write(path(), server_account(0)), CoapCode::kBadRequest);
  EXPECT_EQ(write(path(3, 0, 6, 0), {{path(3, 0, 6, 0), int64_t{1}}}), CoapCode::kBadRequest);
  // Device has one instance.
  EXPECT_EQ(write(path(3, 1), {{path(3, 1, 0), std::string("x")}}), CoapCode::kBadRequest);
  // Firmware Update is not in the built-in profile.
  EXPECT_EQ(write(path(5, 0), {{path(5, 0, 1), std::string("coap://x")}}), CoapCode::kNotFound);
  // All or nothing: a bad record anywhere leaves the client untouched.
  std::vector<Record> mixed = security_account(1);
  const std::vector<Record> wrong_type = {{path(0, 2, 10), std::string("101")}};
  mixed.insert(mixed.end(), wrong_type.begin(), wrong_type.end());
  EXPECT_EQ(write(path(0), mixed), CoapCode::kBadRequest);
  EXPECT_TRUE(data_.empty());
}

TEST_F(BuiltinBootstrapTest, ObjectWriteCreatesSeveralInstances) {
  std::vector<Record> records = security_account(1);
  for (Record r : security_account(2)) {
    if (r.path.resource == 0) {
      r.value = std::string("coap://dm2.example");
    } else if (r.path.resource == 10) {
      r.value = int64_t{102};
    }
    records.push_back(std::move(r));
  }
  ASSERT_EQ(write(path(0), records), CoapCode::kChanged);
  EXPECT_EQ(discover(path(0)),
            "</>;lwm2m=1.1,</0/0>;uri=\"coap://bs.example:5683\","
            "</0/1>;ssid=101;uri=\"coaps://dm.example:5684\","
            "</0/2>;ssid=102;uri=\"coap://dm2.example\"");
}

TEST_F(BuiltinBootstrapTest, DmServerCannotReadSecurity) {
  ASSERT_EQ(write(path(0, 1), security_account(1)), CoapCode::kChanged);
  std::vector<Record> out;
  EXPECT_EQ(model_.read(path(0, 1, 5), ctx(), &out), CoapCode::kMethodNotAllowed);
  EXPECT_EQ(model_.read(path(0, 1, 3), ctx(), &out), CoapCode::kMethodNotAllowed);
  const Lwm2mPath composite[] = {path(0, 1, 5)};
  EXPECT_EQ(model_.read_composite(composite, ctx(), &out), CoapCode::kMethodNotAllowed);
  // Object and instance reads carry no Security value.
  model_.read(path(0), ctx(), &out);
  model_.read(path(0, 1), ctx(), &out);
  EXPECT_TRUE(out.empty());
  // Nor can a DM server write or delete it.
  EXPECT_EQ(model_.write(path(0, 1, 5), {{{path(0, 1, 5), Opaque{}}}}, WriteMode::kReplace, ctx(),
                         &data_),
            CoapCode::kMethodNotAllowed);
  EXPECT_EQ(model_.remove(path(0, 1), ctx(), &data_), CoapCode::kUnauthorized);
  // Bootstrap-Read does not reach it either.
  EXPECT_EQ(model_.bootstrap_read(path(0), ctx(), &out), CoapCode::kUnauthorized);
  EXPECT_EQ(model_.bootstrap_read(path(0, 1), ctx(), &out), CoapCode::kUnauthorized);
  EXPECT_TRUE(out.empty());
}

TEST_F(BootstrapTest, DiscoverExactPayload) {
  EXPECT_EQ(discover(),
            "</>;lwm2m=1.1,</0/0>;uri=\"coap://bs.example:5683\",</1/0>;ssid=1,"
            "</2/0>,</3/0>,</3303>;ver=1.1,</3303/0>");
  EXPECT_EQ(discover({}, Lwm2mVersion::k1_0),
            "</>;lwm2m=1.0,</0/0>;uri=\"coap://bs.example:5683\",</1/0>;ssid=1,"
            "</2/0>,</3/0>,</3303>;ver=1.1,</3303/0>");
  EXPECT_EQ(discover({}, Lwm2mVersion::k1_2),
            "</>;lwm2m=1.2,</0/0>;uri=\"coap://bs.example:5683\",</1/0>;ssid=1,"
            "</2/0>,</3/0>,</3303>;ver=1.1,</3303/0>");
  EXPECT_EQ(discover(path(1)), "</>;lwm2m=1.1,</1/0>;ssid=1");
  EXPECT_EQ(discover(path(3303)), "</>;lwm2m=1.1,</3303>;ver=1.1,</3303/0>");
  // Without a bootstrap account, /0/0 is a server account with its ssid.
  std::string plain;
  EXPECT_EQ(model_.bootstrap_discover(path(0), Lwm2mVersion::k1_1, ctx(false), &plain),
            CoapCode::kContent);
  EXPECT_EQ(plain, "</>;lwm2m=1.1,</0/0>;ssid=1;uri=\"coap://bs.example:5683\"");
  // After Bootstrap-Delete "/", emptied objects are listed without instances.
  ASSERT_EQ(remove(path()), CoapCode::kDeleted);
  EXPECT_EQ(discover(),
            "</>;lwm2m=1.1,</0/0>;uri=\"coap://bs.example:5683\",</1>,</2>,</3/0>,"
            "</3303>;ver=1.1");
}

TEST_F(BootstrapTest, DiscoverQuotesAServerUriThatNeedsIt) {
  // A bootstrap server may write any string as /0/x/0; the Discover must stay link format.
  std::vector<Record> account = security_account(1);
  account[0].value = std::string("coap://a\"b\\c,</9>;d\x01\x7f");
  ASSERT_EQ(write(path(0, 1), account), CoapCode::kChanged);
  const std::string out = discover(path(0));
  EXPECT_EQ(out,
            "</>;lwm2m=1.1,</0/0>;uri=\"coap://bs.example:5683\","
            "</0/1>;ssid=101;uri=\"coap://a\\\"b\\\\c,</9>;d%01%7F\"");
  std::vector<Link> links;
  std::string error;
  ASSERT_TRUE(decode_links(out, &links, &error)) << error;
  ASSERT_EQ(links.size(), 3u);
  EXPECT_EQ(links[2].target, "/0/1");
}

TEST_F(BootstrapTest, DiscoverRefusals) {
  std::string out;
  EXPECT_EQ(model_.bootstrap_discover(path(3, 0, 0), Lwm2mVersion::k1_1, ctx(), &out),
            CoapCode::kBadRequest);
  EXPECT_EQ(model_.bootstrap_discover(path(3, 0), Lwm2mVersion::k1_1, ctx(), &out),
            CoapCode::kBadRequest);
  EXPECT_EQ(model_.bootstrap_discover(path(5), Lwm2mVersion::k1_1, ctx(), &out),
            CoapCode::kNotFound);
  EXPECT_EQ(model_.bootstrap_discover(path(60000), Lwm2mVersion::k1_1, ctx(), &out),
            CoapCode::kNotFound);
  EXPECT_EQ(out, "");
}

TEST_F(BootstrapTest, ReadServerAndAccessControlOnly) {
  std::vector<Record> out;
  EXPECT_EQ(model_.bootstrap_read(path(1, 0), ctx(), &out), CoapCode::kContent);
  EXPECT_EQ(out, (std::vector<Record>{{path(1, 0, 0), int64_t{1}},
                                      {path(1, 0, 1), int64_t{300}},
                                      {path(1, 0, 6), true},
                                      {path(1, 0, 7), std::string("U")}}));
  out.clear();
  EXPECT_EQ(model_.bootstrap_read(path(1), ctx(), &out), CoapCode::kContent);
  EXPECT_EQ(out.size(), 4u);
  out.clear();
  EXPECT_EQ(model_.bootstrap_read(path(2, 0), ctx(), &out), CoapCode::kContent);
  EXPECT_FALSE(out.empty());
  out.clear();
  EXPECT_EQ(model_.bootstrap_read(path(3, 0), ctx(), &out), CoapCode::kUnauthorized);
  EXPECT_EQ(model_.bootstrap_read(path(3303), ctx(), &out), CoapCode::kUnauthorized);
  EXPECT_EQ(model_.bootstrap_read(path(0), ctx(), &out), CoapCode::kUnauthorized);
  EXPECT_EQ(model_.bootstrap_read(path(1, 7), ctx(), &out), CoapCode::kNotFound);
  EXPECT_EQ(model_.bootstrap_read(path(1, 0, 1), ctx(), &out), CoapCode::kBadRequest);
  EXPECT_EQ(model_.bootstrap_read(path(), ctx(), &out), CoapCode::kBadRequest);
  EXPECT_TRUE(out.empty());
  ASSERT_EQ(remove(path(1, 0)), CoapCode::kDeleted);
  EXPECT_EQ(model_.bootstrap_read(path(1, 0), ctx(), &out), CoapCode::kNotFound);
  EXPECT_EQ(model_.bootstrap_read(path(1), ctx(), &out), CoapCode::kContent);
  EXPECT_TRUE(out.empty());
}

// Every shipped profile goes through a full bootstrap: delete everything, provision a server.
TEST(ShippedProfileBootstrapTest, FullSequence) {
  for (const char* name : {"temperature-sensor.yaml", "street-light.yaml", "gateway.yaml"}) {
    SCOPED_TRACE(name);
    const DataModel model(shipped_profile(name), 7, 0);
    ClientData data;
    ClientContext c;
    c.index = 5;
    c.server_uri = kBootstrapUri;
    c.bootstrap_account = true;
    EXPECT_EQ(model.provisioned_server(c), std::nullopt);

    std::string before;
    ASSERT_EQ(model.bootstrap_discover({}, Lwm2mVersion::k1_1, c, &before), CoapCode::kContent);
    EXPECT_TRUE(before.starts_with("</>;lwm2m=1.1,</0/0>;uri=\"coap://bs.example:5683\","))
        << before;
    for (const Lwm2mPath& p : model.registration_instances(c)) {
      EXPECT_NE(before.find("<" + p.to_string() + ">"), std::string::npos) << p.to_string();
    }

    ASSERT_EQ(model.bootstrap_delete({}, c, &data), CoapCode::kDeleted);
    c.data = &data;
    ASSERT_EQ(model.bootstrap_write(path(0, 1), security_account(1), c, &data), CoapCode::kChanged);
    ASSERT_EQ(model.bootstrap_write(path(1, 0), server_account(0), c, &data), CoapCode::kChanged);
    EXPECT_EQ(model.registration_instances(c), (std::vector<Lwm2mPath>{path(1, 0), path(3, 0)}));
    const std::optional<ProvisionedServer> s = model.provisioned_server(c);
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->uri, "coaps://dm.example:5684");
    EXPECT_EQ(s->lifetime_s, 600u);
    // The Device object kept its profile values.
    std::vector<Record> out;
    EXPECT_EQ(model.read(path(3, 0, 0), c, &out), CoapCode::kContent);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_NE(std::get<std::string>(out[0].value), "");
  }
}

}  // namespace
}  // namespace lwm2msim

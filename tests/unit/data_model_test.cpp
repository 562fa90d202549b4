#include "sim/dm/data_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sim/coap/coap.h"
#include "sim/model/object_definition.h"

namespace lwm2msim {
namespace {

// A device with a multiple resource, a writable one, executables, a multi-instance object with a
// time-varying value and a Server object with default periods.
constexpr std::string_view kYaml = R"(name: dm-test
registration:
  content_formats: [110, 112]
objects:
  1:
    0: {1: 300, 2: 5, 3: 120}
  2:
    0: {0: 3303, 1: 0, 2: {1: 15, 3: 1}, 3: 1}
  3:
    0:
      5:
      6: [1, 5]
      9: 80
  3303:
    count: 2
    resources:
      5700: {generator: sine, mean: 20, amplitude: 5, period: 1h, interval: 1s}
      5701: Cel
      5750: room
)";

std::shared_ptr<const Profile> test_profile() {
  static const ObjectRegistry registry = ObjectRegistry::builtin();
  auto p = std::make_shared<Profile>();
  const std::string errors = load_profile_text(kYaml, "dm.yaml", ".", registry, p.get());
  EXPECT_EQ(errors, "");
  return p;
}

class DataModelTest : public ::testing::Test {
 protected:
  DataModelTest() : model_(test_profile(), 1, 0) {}

  ClientContext ctx(TimeUs t = 0) {
    ClientContext c;
    c.index = 3;
    c.t = t;
    c.data = data_.empty() ? nullptr : &data_;
    c.lifetime_s = 300;
    c.server_uri = "coap://127.0.0.1:5683";
    return c;
  }
  std::vector<Record> read(const Lwm2mPath& p, uint8_t expect = CoapCode::kContent) {
    std::vector<Record> out;
    EXPECT_EQ(model_.read(p, ctx(), &out), expect) << p.to_string();
    return out;
  }
  uint8_t write(const Lwm2mPath& p, std::vector<Record> records,
                WriteMode mode = WriteMode::kReplace) {
    return model_.write(p, records, mode, ctx(), &data_);
  }
  uint8_t create(const Lwm2mPath& p, std::vector<Record> records, uint16_t* id) {
    return model_.create(p, records, ctx(), &data_, id);
  }
  uint8_t write_attributes(const Lwm2mPath& p, std::vector<std::string_view> q) {
    return model_.write_attributes(p, q, Lwm2mVersion::k1_1, ctx(), &data_);
  }

  DataModel model_;
  ClientData data_;
};

TEST_F(DataModelTest, ReadsEveryLevelAndAnswersTheTsCodes) {
  EXPECT_EQ(read({3303}).size(), 6u);  // two instances, three resources each
  EXPECT_EQ(read({3303, 1}).size(), 3u);
  const auto multiple = read({3, 0, 6});
  ASSERT_EQ(multiple.size(), 2u);
  EXPECT_EQ(multiple[1].path, (Lwm2mPath{3, 0, 6, 1}));
  EXPECT_EQ(multiple[1].value, Value{int64_t{5}});
  EXPECT_EQ(read({3, 0, 6, 1}).size(), 1u);
  read({3, 0, 6, 7}, CoapCode::kNotFound);
  read({3303, 2}, CoapCode::kNotFound);
  read({9999}, CoapCode::kNotFound);
  read({3, 0, 4}, CoapCode::kMethodNotAllowed);  // Reboot is executable
  read({3, 0, 3000}, CoapCode::kNotFound);
  // An instance read leaves executables out; the run's values replace placeholders.
  for (const Record& r : read({3, 0})) {
    EXPECT_NE(r.path.resource, 4u);
  }
  EXPECT_EQ(read({1, 0, 1})[0].value, Value{int64_t{300}});
  // Security resources are for bootstrap servers only: no operation is allowed on them.
  read({0, 0, 0}, CoapCode::kMethodNotAllowed);
  EXPECT_TRUE(data_.empty());  // reads never create client data
}

TEST_F(DataModelTest, WriteReplacesAndPartialUpdateMerges) {
  EXPECT_EQ(write({3303, 0, 5750}, {{{3303, 0, 5750}, std::string("kitchen")}}),
            CoapCode::kChanged);
  EXPECT_EQ(read({3303, 0, 5750})[0].value, Value{std::string("kitchen")});
  EXPECT_EQ(read({3303, 1, 5750})[0].value, Value{std::string("room")});  // other instance
  EXPECT_EQ(write({1, 0}, {{{1, 0, 1}, int64_t{60}}}), CoapCode::kChanged);
  EXPECT_EQ(read({1, 0, 1})[0].value, Value{int64_t{60}});
  EXPECT_EQ(read({1, 0, 7})[0].value, Value{std::string("U")});  // untouched
}

TEST_F(DataModelTest, WriteErrorsFollowTheTs) {
  EXPECT_EQ(write({3303}, {}), CoapCode::kMethodNotAllowed);  // object level
  EXPECT_EQ(write({3303, 5, 5750}, {{{3303, 5, 5750}, std::string("x")}}), CoapCode::kNotFound);
  EXPECT_EQ(write({3303, 0, 5700}, {{{3303, 0, 5700}, 1.0}}), CoapCode::kMethodNotAllowed);
  EXPECT_EQ(write({3303, 0, 5750}, {{{3303, 0, 5750}, int64_t{1}}}), CoapCode::kBadRequest);
  EXPECT_EQ(write({3303, 0, 5750}, {{{3303, 1, 5750}, std::string("x")}}), CoapCode::kBadRequest);
  EXPECT_EQ(write({3303, 0}, {{{3303, 0, 4242}, std::string("x")}}), CoapCode::kNotFound);
  EXPECT_EQ(write({3, 0, 4}, {}), CoapCode::kMethodNotAllowed);
  EXPECT_TRUE(data_.empty());  // a refused write changes nothing
}

TEST_F(DataModelTest, MultipleResourceReplaceAndPartialUpdate) {
  const auto acl = [&] {
    std::vector<std::pair<uint32_t, int64_t>> out;
    for (const Record& r : read({2, 0, 2})) {
      out.emplace_back(r.path.resource_instance, std::get<int64_t>(r.value));
    }
    return out;
  };
  using Acl = std::vector<std::pair<uint32_t, int64_t>>;
  EXPECT_EQ(acl(), (Acl{{1, 15}, {3, 1}}));
  // Partial update (POST on the instance) adds and changes instances, keeps the rest.
  EXPECT_EQ(write({2, 0}, {{{2, 0, 2, 3}, int64_t{7}}, {{2, 0, 2, 9}, int64_t{2}}},
                  WriteMode::kPartialUpdate),
            CoapCode::kChanged);
  EXPECT_EQ(acl(), (Acl{{1, 15}, {3, 7}, {9, 2}}));
  // Write of one resource instance (1.1) changes just it.
  EXPECT_EQ(write({2, 0, 2, 1}, {{{2, 0, 2, 1}, int64_t{0}}}), CoapCode::kChanged);
  EXPECT_EQ(acl(), (Acl{{1, 0}, {3, 7}, {9, 2}}));
  // Replace of the resource drops the instances the payload does not name.
  EXPECT_EQ(write({2, 0, 2}, {{{2, 0, 2, 4}, int64_t{1}}}), CoapCode::kChanged);
  EXPECT_EQ(acl(), (Acl{{4, 1}}));
  // A multiple resource takes instances, not a single value.
  EXPECT_EQ(write({2, 0, 2}, {{{2, 0, 2}, int64_t{1}}}), CoapCode::kBadRequest);
  // Connectivity Monitoring is not in this profile: Create refuses it.
  uint16_t id = 0;
  EXPECT_EQ(model_.create({4}, {}, ctx(), &data_, &id), CoapCode::kNotFound);
}

TEST_F(DataModelTest, ExecuteReportsItsEffect) {
  ExecuteEffect effect = ExecuteEffect::kNone;
  EXPECT_EQ(model_.execute({3, 0, 4}, "", ctx(), &effect), CoapCode::kChanged);
  EXPECT_EQ(effect, ExecuteEffect::kReboot);
  EXPECT_EQ(model_.execute({3, 0, 5}, "", ctx(), &effect), CoapCode::kChanged);
  EXPECT_EQ(effect, ExecuteEffect::kFactoryReset);
  // Factory Reset is optional: a profile that does not list it does not have it.
  const DataModel plain(builtin_profile(ObjectRegistry::builtin()), 1, 0);
  EXPECT_EQ(plain.execute({3, 0, 5}, "", ctx(), &effect), CoapCode::kNotFound);
  EXPECT_EQ(model_.execute({1, 0, 8}, "", ctx(), &effect), CoapCode::kChanged);
  EXPECT_EQ(effect, ExecuteEffect::kRegistrationUpdate);
  EXPECT_EQ(model_.execute({1, 0, 8}, "0='a',1", ctx(), &effect), CoapCode::kChanged);
  EXPECT_EQ(model_.execute({1, 0, 8}, "0=a", ctx(), &effect), CoapCode::kBadRequest);
  EXPECT_EQ(model_.execute({3, 0, 9}, "", ctx(), &effect), CoapCode::kMethodNotAllowed);
  EXPECT_EQ(model_.execute({3, 0, 1234}, "", ctx(), &effect), CoapCode::kNotFound);
  EXPECT_EQ(model_.execute({3, 0}, "", ctx(), &effect), CoapCode::kMethodNotAllowed);
}

TEST_F(DataModelTest, CreateAndDeleteChangeTheInstancesAndTheRegistration) {
  const std::string before = model_.registration_links(ctx());
  EXPECT_EQ(before,
            "</>;rt=\"oma.lwm2m\";ct=\"110 112\",</1/0>,</2/0>,</3/0>,</3303>;ver=1.1,</3303/0>,"
            "</3303/1>");
  uint16_t id = 0;
  EXPECT_EQ(create({3303}, {{{3303, 7, 5700}, 1.5}, {{3303, 7, 5701}, std::string("K")}}, &id),
            CoapCode::kCreated);
  EXPECT_EQ(id, 7);
  EXPECT_EQ(read({3303, 7}).size(), 2u);
  EXPECT_EQ(read({3303, 7, 5700})[0].value, Value{1.5});
  // Without an id in the payload the client takes the lowest free one.
  EXPECT_EQ(model_.create({3303}, {}, ctx(), &data_, &id), CoapCode::kCreated);
  EXPECT_EQ(id, 2);
  EXPECT_EQ(create({3303}, {{{3303, 7, 5700}, 1.0}}, &id),
            CoapCode::kBadRequest);                                              // exists
  EXPECT_EQ(model_.create({3}, {}, ctx(), &data_, &id), CoapCode::kBadRequest);  // single
  EXPECT_EQ(model_.registration_links(ctx()),
            "</>;rt=\"oma.lwm2m\";ct=\"110 112\",</1/0>,</2/0>,</3/0>,</3303>;ver=1.1,</3303/0>,"
            "</3303/1>,</3303/2>,</3303/7>");

  EXPECT_EQ(model_.remove({3303, 0}, ctx(), &data_), CoapCode::kDeleted);
  read({3303, 0}, CoapCode::kNotFound);
  EXPECT_EQ(model_.remove({3303, 0}, ctx(), &data_), CoapCode::kNotFound);
  EXPECT_EQ(model_.remove({3303, 7}, ctx(), &data_), CoapCode::kDeleted);
  EXPECT_EQ(model_.remove({3, 0}, ctx(), &data_), CoapCode::kMethodNotAllowed);
  EXPECT_EQ(model_.remove({0, 0}, ctx(), &data_), CoapCode::kUnauthorized);
  EXPECT_EQ(model_.remove({3303}, ctx(), &data_), CoapCode::kMethodNotAllowed);
  // A deleted profile instance can be created again, empty.
  EXPECT_EQ(create({3303}, {{{3303, 0, 5750}, std::string("new")}}, &id), CoapCode::kCreated);
  EXPECT_EQ(read({3303, 0}).size(), 1u);
}

// An Update is one datagram too: a Create that would take the links past it gets 5.00, and a
// Delete makes room again.
TEST(DataModelCreate, StopsWhereTheRegistrationLinksWouldOverflow) {
  const ObjectRegistry registry = ObjectRegistry::builtin();
  auto profile = std::make_shared<Profile>();
  ASSERT_EQ(load_profile_text("name: full\nobjects:\n  3303:\n    count: 80\n    resources: "
                              "{5700: 1}\n",
                              "full.yaml", ".", registry, profile.get()),
            "");
  const DataModel model(profile, 1, 0);
  ClientData data;
  ClientContext ctx;
  ctx.data = &data;
  uint16_t id = 0;
  uint8_t code = CoapCode::kCreated;
  int created = 0;
  for (; created < 100 && code == CoapCode::kCreated; ++created) {
    code = model.create({3303}, {}, ctx, &data, &id);
  }
  EXPECT_EQ(code, CoapCode::kInternalServerError);
  EXPECT_GT(created, 1);
  const size_t size = model.registration_links(ctx).size();
  EXPECT_LE(size, kMaxRegistrationLinks);
  EXPECT_GT(size + 12, kMaxRegistrationLinks);
  EXPECT_EQ(model.remove({3303, 0}, ctx, &data), CoapCode::kDeleted);
  EXPECT_EQ(model.create({3303}, {}, ctx, &data, &id), CoapCode::kCreated);
  EXPECT_EQ(id, 0);
}

TEST_F(DataModelTest, DiscoverListsLevelsWithAttributes) {
  EXPECT_EQ(write_attributes({3303, 0, 5700}, {"pmin=10", "gt=25.5"}), CoapCode::kChanged);
  EXPECT_EQ(write_attributes({3303, 0}, {"pmax=60"}), CoapCode::kChanged);
  std::string links;
  EXPECT_EQ(model_.discover({3303, 0}, ctx(), &links), CoapCode::kContent);
  EXPECT_EQ(links,
            "</3303/0>;pmax=60,</3303/0/5700>;pmin=10;gt=25.5,</3303/0/5701>,</3303/0/5750>");
  links.clear();
  EXPECT_EQ(model_.discover({3, 0, 6}, ctx(), &links), CoapCode::kContent);
  EXPECT_EQ(links, "</3/0/6>;dim=2");
  links.clear();
  EXPECT_EQ(model_.discover({3303}, ctx(), &links), CoapCode::kContent);
  EXPECT_TRUE(links.starts_with("</3303>;ver=1.1,</3303/0>;pmax=60,")) << links;
  EXPECT_EQ(model_.discover({42}, ctx(), &links), CoapCode::kNotFound);
  EXPECT_EQ(model_.discover({3, 0, 6, 0}, ctx(), &links), CoapCode::kMethodNotAllowed);
}

TEST_F(DataModelTest, AttributesInheritAndFallBackToTheServerDefaults) {
  // /1/0/2 = 5 and /1/0/3 = 120 are the defaults.
  NotificationAttributes a = model_.effective_attributes({3303, 0, 5700}, ctx());
  EXPECT_EQ(a.pmin(), 5u);
  EXPECT_EQ(a.pmax(), 120u);
  EXPECT_EQ(write_attributes({3303}, {"pmin=30"}), CoapCode::kChanged);
  EXPECT_EQ(write_attributes({3303, 0, 5700}, {"pmax=90", "st=0.5"}), CoapCode::kChanged);
  a = model_.effective_attributes({3303, 0, 5700}, ctx());
  EXPECT_EQ(a.pmin(), 30u);
  EXPECT_EQ(a.pmax(), 90u);
  EXPECT_DOUBLE_EQ(a.st(), 0.5);
  EXPECT_FALSE(model_.effective_attributes({3303, 1, 5700}, ctx()).has(Attr::kSt));
  // Errors: a missing target, gt on a string, pmin above pmax.
  EXPECT_EQ(write_attributes({3303, 9}, {"pmin=1"}), CoapCode::kNotFound);
  EXPECT_EQ(write_attributes({3303, 0, 5750}, {"gt=1"}), CoapCode::kBadRequest);
  EXPECT_EQ(write_attributes({3303, 0, 5700}, {"pmin=100"}), CoapCode::kBadRequest);
  // Unsetting everything removes the entry.
  EXPECT_EQ(write_attributes({3303}, {"pmin"}), CoapCode::kChanged);
  EXPECT_EQ(write_attributes({3303, 0, 5700}, {"pmax", "st"}), CoapCode::kChanged);
  EXPECT_TRUE(data_.attributes.empty());
}

TEST_F(DataModelTest, CompositeReadAndWrite) {
  std::vector<Record> out;
  const std::vector<Lwm2mPath> paths{{3, 0, 9}, {3303, 1, 5701}, {4242, 0, 1}};
  EXPECT_EQ(model_.read_composite(paths, ctx(), &out), CoapCode::kContent);
  ASSERT_EQ(out.size(), 2u);  // the missing path is left out
  EXPECT_EQ(out[0].value, Value{int64_t{80}});
  out.clear();
  const std::vector<Lwm2mPath> none{{4242, 0, 1}};
  EXPECT_EQ(model_.read_composite(none, ctx(), &out), CoapCode::kNotFound);

  const std::vector<Record> writes{{{1, 0, 1}, int64_t{90}},
                                   {{3303, 1, 5750}, std::string("hall")}};
  EXPECT_EQ(model_.write_composite(writes, ctx(), &data_), CoapCode::kChanged);
  EXPECT_EQ(read({1, 0, 1})[0].value, Value{int64_t{90}});
  // All or nothing: one read-only target refuses the whole request.
  const std::vector<Record> bad{{{1, 0, 1}, int64_t{10}}, {{3, 0, 9}, int64_t{1}}};
  EXPECT_EQ(model_.write_composite(bad, ctx(), &data_), CoapCode::kMethodNotAllowed);
  EXPECT_EQ(read({1, 0, 1})[0].value, Value{int64_t{90}});
}

TEST_F(DataModelTest, ConstancyAndNumbersForTheNotificationEngine) {
  EXPECT_TRUE(model_.is_constant({3303, 0, 5750}, ctx()));
  EXPECT_FALSE(model_.is_constant({3303, 0, 5700}, ctx()));
  EXPECT_FALSE(model_.is_constant({3303, 0}, ctx()));
  EXPECT_DOUBLE_EQ(model_.number_at({3, 0, 9}, ctx()), 80.0);
  EXPECT_TRUE(std::isnan(model_.number_at({3, 0, 6}, ctx())));  // multiple
  // The digest follows the values.
  const auto at = [&](TimeUs t) {
    std::vector<Record> r;
    model_.read({3303, 0, 5700}, ctx(t), &r);
    return records_digest(r);
  };
  EXPECT_EQ(at(0), at(0));
  EXPECT_NE(at(0), at(600 * kUsPerSec));
}

TEST_F(DataModelTest, ProfileLifetimeAndHeapBytes) {
  EXPECT_EQ(model_.profile_lifetime(), 300u);
  EXPECT_EQ(data_.heap_bytes(), 0u);
  EXPECT_EQ(write({3303, 0, 5750}, {{{3303, 0, 5750}, std::string("a long application type")}}),
            CoapCode::kChanged);
  EXPECT_GT(data_.heap_bytes(), sizeof(Record));
}

}  // namespace
}  // namespace lwm2msim

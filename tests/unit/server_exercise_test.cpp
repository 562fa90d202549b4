#include <gtest/gtest.h>

#include <array>
#include <set>
#include <string>
#include <vector>

#include "sim/server/exercise.h"
#include "sim/server/server.h"

namespace lwm2msim {
namespace {

const ObjectRegistry& registry() {
  static const ObjectRegistry r = ObjectRegistry::builtin();
  return r;
}

ExerciseTarget target_11() {
  ExerciseTarget t;
  t.lifetime_s = 300;
  t.version = Lwm2mVersion::k1_1;
  t.can_create = true;
  t.create_object = 3303;
  t.create_instance = 1;
  return t;
}

// A built request, parsed back; keeps the bytes the message views.
struct Built {
  std::array<uint8_t, kCoapMaxMessageSize> buf{};
  std::span<const uint8_t> bytes;
  CoapMessage m;
};

void build(ExerciseStep step, const ExerciseTarget& t, Built* b) {
  const CoapToken token = CoapToken::from_u64(0x0102030405060708, 8);
  b->bytes = build_exercise_request(step, t, registry(), 0x1234, token, b->buf);
  ASSERT_FALSE(b->bytes.empty()) << to_string(step);
  ASSERT_EQ(b->m.parse(b->bytes), CoapParseError::kOk);
  EXPECT_EQ(b->m.type(), CoapType::kCon);
  EXPECT_EQ(b->m.message_id(), 0x1234);
  EXPECT_EQ(b->m.token_value(), token);
}

std::string uri_path(const CoapMessage& m) {
  std::array<char, 64> buf;
  return std::string(m.join(CoapOption::kUriPath, buf));
}

std::vector<std::string> queries(const CoapMessage& m) {
  std::vector<std::string> q;
  for (const CoapOptionView& o : m.options()) {
    if (o.number == CoapOption::kUriQuery) {
      q.emplace_back(o.as_string());
    }
  }
  return q;
}

int32_t option_or(const CoapMessage& m, uint16_t number, int32_t absent) {
  const CoapOptionView* o = m.find(number);
  return o == nullptr ? absent : static_cast<int32_t>(o->as_uint());
}

std::vector<Record> decode_payload(uint16_t format, const Lwm2mPath& base,
                                   std::span<const uint8_t> payload) {
  std::vector<Record> records;
  const CodecResult r = decode(format, registry_context(registry(), base), payload, &records);
  EXPECT_TRUE(r.ok()) << r.reason;
  return records;
}

TEST(ExerciseSteps, NamesAreUniqueAndCodesFollowTheTs) {
  std::set<std::string_view> names;
  for (size_t i = 0; i < kExerciseStepCount; ++i) {
    names.insert(to_string(static_cast<ExerciseStep>(i)));
  }
  EXPECT_EQ(names.size(), kExerciseStepCount);
  EXPECT_EQ(to_string(ExerciseStep::kDiscover), "discover");
  EXPECT_EQ(to_string(ExerciseStep::kReadLwm2mCbor), "read_lwm2m_cbor");
  EXPECT_EQ(to_string(ExerciseStep::kWriteReadOnly), "write_read_only");
  EXPECT_EQ(expected_code(ExerciseStep::kCreate), CoapCode::kCreated);
  EXPECT_EQ(expected_code(ExerciseStep::kDelete), CoapCode::kDeleted);
  EXPECT_EQ(expected_code(ExerciseStep::kExecute), CoapCode::kChanged);
  EXPECT_EQ(expected_code(ExerciseStep::kReadUnknownObject), CoapCode::kNotFound);
  EXPECT_EQ(expected_code(ExerciseStep::kReadExecutable), CoapCode::kMethodNotAllowed);
  EXPECT_EQ(expected_code(ExerciseStep::kBadAttributes), CoapCode::kBadRequest);
  EXPECT_EQ(expected_code(ExerciseStep::kUnsupportedAccept), CoapCode::kNotAcceptable);
  EXPECT_EQ(expected_code(ExerciseStep::kUnsupportedFormat), CoapCode::kUnsupportedContentFormat);
  EXPECT_EQ(expected_code(ExerciseStep::kWriteReadOnly), CoapCode::kMethodNotAllowed);
  EXPECT_EQ(coap_code_text(CoapCode::kContent), "2.05");
  EXPECT_EQ(coap_code_text(CoapCode::kUnsupportedContentFormat), "4.15");
}

TEST(ExerciseSteps, CreateNeedsAnObjectAndCompositesNeedLwm2m11) {
  ExerciseTarget t = target_11();
  for (size_t i = 0; i < kExerciseStepCount; ++i) {
    EXPECT_TRUE(exercise_step_applies(static_cast<ExerciseStep>(i), t)) << i;
  }
  t.can_create = false;
  t.version = Lwm2mVersion::k1_0;
  std::set<ExerciseStep> skipped;
  for (size_t i = 0; i < kExerciseStepCount; ++i) {
    if (!exercise_step_applies(static_cast<ExerciseStep>(i), t)) {
      skipped.insert(static_cast<ExerciseStep>(i));
    }
  }
  EXPECT_EQ(skipped, (std::set<ExerciseStep>{ExerciseStep::kCreate, ExerciseStep::kReadCreated,
                                             ExerciseStep::kDelete, ExerciseStep::kReadComposite,
                                             ExerciseStep::kWriteComposite,
                                             ExerciseStep::kObserveComposite}));
  t.version = Lwm2mVersion::k1_2;
  EXPECT_TRUE(exercise_step_applies(ExerciseStep::kObserveComposite, t));
  Built b;
  EXPECT_TRUE(
      build_exercise_request(ExerciseStep::kCreate, t, registry(), 1, CoapToken{}, b.buf).empty());
}

TEST(ExerciseCreate, PicksTheLowestCreatableObjectOnePastItsHighestInstance) {
  uint16_t object = 0;
  uint16_t instance = 0;
  EXPECT_TRUE(pick_create_target("</>;rt=\"oma.lwm2m\",</1/0>,</3/0>,</3304/0>,</3303/0>,</3303/4>",
                                 registry(), &object, &instance));
  EXPECT_EQ(object, 3303);
  EXPECT_EQ(instance, 5);
  EXPECT_TRUE(pick_create_target("</1/0>,</3/0>,</3303>", registry(), &object, &instance));
  EXPECT_EQ(object, 3303);
  EXPECT_EQ(instance, 0);
  // Security, Server and Access Control are multiple-instance but not the server's to create;
  // Device is single-instance; 9999 is unknown to the registry.
  EXPECT_FALSE(pick_create_target("</>;rt=\"oma.lwm2m\",</0/0>,</1/0>,</2/0>,</3/0>,</9999/0>",
                                  registry(), &object, &instance));
  EXPECT_FALSE(pick_create_target("</3303/65534>", registry(), &object, &instance));
  EXPECT_FALSE(pick_create_target("not a link", registry(), &object, &instance));
}

TEST(ExerciseCreate, DefaultsAreTheZeroOfEachType) {
  EXPECT_EQ(default_value(ResourceType::kString), Value(std::string()));
  EXPECT_EQ(default_value(ResourceType::kInteger), Value(int64_t{0}));
  EXPECT_EQ(default_value(ResourceType::kUnsignedInteger), Value(uint64_t{0}));
  EXPECT_EQ(default_value(ResourceType::kFloat), Value(0.0));
  EXPECT_EQ(default_value(ResourceType::kBoolean), Value(false));
  EXPECT_EQ(default_value(ResourceType::kOpaque), Value(Opaque{}));
  EXPECT_EQ(default_value(ResourceType::kTime), Value(TimeValue{0}));
  EXPECT_EQ(default_value(ResourceType::kObjlnk), Value(Objlnk{0, 0}));
  EXPECT_EQ(default_value(ResourceType::kCoreLink), Value(CoreLink{}));
  EXPECT_EQ(default_value(ResourceType::kNone), Value());
}

TEST(ExerciseCreate, RecordsHoldEveryMandatorySingleValueResource) {
  ObjectDefinition def;
  def.id = 4242;
  def.multiple = true;
  auto add = [&def](uint16_t id, bool mandatory, bool multiple, bool execute, ResourceType type) {
    ResourceDefinition r;
    r.id = id;
    r.mandatory = mandatory;
    r.multiple = multiple;
    r.operations = {.read = !execute, .write = false, .execute = execute};
    r.type = type;
    def.resources.push_back(r);
  };
  add(0, true, false, false, ResourceType::kString);
  add(1, false, false, false, ResourceType::kInteger);  // optional
  add(2, true, true, false, ResourceType::kInteger);    // multiple
  add(3, true, false, true, ResourceType::kNone);       // executable
  add(4, true, false, false, ResourceType::kObjlnk);
  add(5, true, false, false, ResourceType::kUnsignedInteger);
  const std::vector<Record> records = create_records(def, 7);
  EXPECT_EQ(records, (std::vector<Record>{{{4242, 7, 0}, std::string()},
                                          {{4242, 7, 4}, Objlnk{0, 0}},
                                          {{4242, 7, 5}, uint64_t{0}}}));
  EXPECT_EQ(create_records(*registry().find(3303), 1),
            (std::vector<Record>{{{3303, 1, 5700}, 0.0}}));
}

TEST(ExerciseCreate, PayloadIsOneTlvObjectInstance) {
  const std::vector<uint8_t> payload = create_payload(*registry().find(3303), 2);
  ASSERT_FALSE(payload.empty());
  EXPECT_EQ(payload[0] >> 6, 0);  // object instance entry
  EXPECT_EQ(decode_payload(CoapContentFormat::kLwm2mTlv, Lwm2mPath{3303}, payload),
            create_records(*registry().find(3303), 2));

  // Nothing mandatory: still an (empty) instance, so the client learns the id.
  ObjectDefinition empty;
  empty.id = 4243;
  empty.multiple = true;
  EXPECT_EQ(create_payload(empty, 9), (std::vector<uint8_t>{0x00, 0x09}));
  EXPECT_EQ(create_payload(empty, 300), (std::vector<uint8_t>{0x20, 0x01, 0x2c}));
}

TEST(ExerciseRequests, EachStepIsTheOperationItNames) {
  const std::array<Lwm2mOperation, kExerciseStepCount> expected{
      Lwm2mOperation::kDiscover,
      Lwm2mOperation::kRead,
      Lwm2mOperation::kRead,
      Lwm2mOperation::kRead,
      Lwm2mOperation::kRead,
      Lwm2mOperation::kRead,
      Lwm2mOperation::kRead,
      Lwm2mOperation::kWriteAttributes,
      Lwm2mOperation::kObserve,
      Lwm2mOperation::kWrite,
      Lwm2mOperation::kWritePartial,
      Lwm2mOperation::kExecute,
      Lwm2mOperation::kCreate,
      Lwm2mOperation::kRead,
      Lwm2mOperation::kDelete,
      Lwm2mOperation::kReadComposite,
      Lwm2mOperation::kWriteComposite,
      Lwm2mOperation::kObserveComposite,
      Lwm2mOperation::kRead,
      Lwm2mOperation::kRead,
      Lwm2mOperation::kWriteAttributes,
      Lwm2mOperation::kRead,
      Lwm2mOperation::kWrite,
      Lwm2mOperation::kWrite,
  };
  for (size_t i = 0; i < kExerciseStepCount; ++i) {
    const auto step = static_cast<ExerciseStep>(i);
    Built b;
    build(step, target_11(), &b);
    Lwm2mPath path;
    ASSERT_TRUE(lwm2m_path_from_request(b.m, &path)) << to_string(step);
    EXPECT_EQ(classify_request(b.m, path), expected[i]) << to_string(step);
  }
}

TEST(ExerciseRequests, ReadsAskForEachContentFormat) {
  const std::array<std::pair<ExerciseStep, int32_t>, 6> reads{{
      {ExerciseStep::kDiscover, CoapContentFormat::kLinkFormat},
      {ExerciseStep::kReadTlv, CoapContentFormat::kLwm2mTlv},
      {ExerciseStep::kReadSenmlJson, CoapContentFormat::kSenmlJson},
      {ExerciseStep::kReadSenmlCbor, CoapContentFormat::kSenmlCbor},
      {ExerciseStep::kReadLwm2mCbor, CoapContentFormat::kLwm2mCbor},
      {ExerciseStep::kReadOmaJson, CoapContentFormat::kLwm2mJson},
  }};
  for (const auto& [step, accept] : reads) {
    Built b;
    build(step, target_11(), &b);
    EXPECT_EQ(b.m.code(), CoapCode::kGet);
    EXPECT_EQ(uri_path(b.m), "3/0");
    EXPECT_EQ(option_or(b.m, CoapOption::kAccept, -1), accept) << to_string(step);
    EXPECT_TRUE(b.m.payload().empty());
  }
  Built text;
  build(ExerciseStep::kReadText, target_11(), &text);
  EXPECT_EQ(uri_path(text.m), "3/0/0");
  EXPECT_EQ(text.m.find(CoapOption::kAccept), nullptr);
}

TEST(ExerciseRequests, WritesCarryTheRegisteredLifetime) {
  Built replace;
  build(ExerciseStep::kWriteReplace, target_11(), &replace);
  EXPECT_EQ(uri_path(replace.m), "1/0/1");
  EXPECT_EQ(option_or(replace.m, CoapOption::kContentFormat, -1), 0);
  EXPECT_EQ(std::string(replace.m.payload().begin(), replace.m.payload().end()), "300");

  Built partial;
  build(ExerciseStep::kWritePartial, target_11(), &partial);
  EXPECT_EQ(partial.m.code(), CoapCode::kPost);
  EXPECT_EQ(uri_path(partial.m), "1/0");
  EXPECT_EQ(option_or(partial.m, CoapOption::kContentFormat, -1), CoapContentFormat::kLwm2mTlv);
  EXPECT_EQ(decode_payload(CoapContentFormat::kLwm2mTlv, Lwm2mPath{1, 0}, partial.m.payload()),
            (std::vector<Record>{{{1, 0, 1}, int64_t{300}}}));

  Built composite;
  build(ExerciseStep::kWriteComposite, target_11(), &composite);
  EXPECT_EQ(composite.m.code(), CoapCode::kIPatch);
  EXPECT_EQ(composite.m.find(CoapOption::kUriPath), nullptr);
  EXPECT_EQ(option_or(composite.m, CoapOption::kContentFormat, -1), CoapContentFormat::kSenmlCbor);
  EXPECT_EQ(decode_payload(CoapContentFormat::kSenmlCbor, Lwm2mPath{}, composite.m.payload()),
            (std::vector<Record>{{{1, 0, 1}, int64_t{300}}}));

  Built attributes;
  build(ExerciseStep::kWriteAttributes, target_11(), &attributes);
  EXPECT_EQ(uri_path(attributes.m), "3/0/13");
  EXPECT_EQ(queries(attributes.m), (std::vector<std::string>{"pmin=1", "pmax=2"}));
  EXPECT_TRUE(attributes.m.payload().empty());
  Built bad;
  build(ExerciseStep::kBadAttributes, target_11(), &bad);
  EXPECT_EQ(queries(bad.m), (std::vector<std::string>{"pmin=10", "pmax=5"}));
}

TEST(ExerciseRequests, CompositesNameTheirPathsWithoutValues) {
  Built read;
  build(ExerciseStep::kReadComposite, target_11(), &read);
  EXPECT_EQ(read.m.code(), CoapCode::kFetch);
  EXPECT_EQ(read.m.find(CoapOption::kUriPath), nullptr);
  EXPECT_EQ(read.m.find(CoapOption::kObserve), nullptr);
  EXPECT_EQ(option_or(read.m, CoapOption::kContentFormat, -1), CoapContentFormat::kSenmlCbor);
  EXPECT_EQ(option_or(read.m, CoapOption::kAccept, -1), CoapContentFormat::kSenmlCbor);
  EXPECT_EQ(decode_payload(CoapContentFormat::kSenmlCbor, Lwm2mPath{}, read.m.payload()),
            (std::vector<Record>{{{3, 0, 0}, std::monostate{}}, {{1, 0, 1}, std::monostate{}}}));

  Built observe;
  build(ExerciseStep::kObserveComposite, target_11(), &observe);
  EXPECT_EQ(observe.m.code(), CoapCode::kFetch);
  EXPECT_EQ(option_or(observe.m, CoapOption::kObserve, -1), 0);
  EXPECT_EQ(decode_payload(CoapContentFormat::kSenmlCbor, Lwm2mPath{}, observe.m.payload()),
            (std::vector<Record>{{{3, 0, 13}, std::monostate{}}}));
}

TEST(ExerciseRequests, CreateReadAndDeleteTheNewInstance) {
  Built create;
  build(ExerciseStep::kCreate, target_11(), &create);
  EXPECT_EQ(create.m.code(), CoapCode::kPost);
  EXPECT_EQ(uri_path(create.m), "3303");
  EXPECT_EQ(option_or(create.m, CoapOption::kContentFormat, -1), CoapContentFormat::kLwm2mTlv);
  EXPECT_EQ(decode_payload(CoapContentFormat::kLwm2mTlv, Lwm2mPath{3303}, create.m.payload()),
            (std::vector<Record>{{{3303, 1, 5700}, 0.0}}));
  Built read;
  build(ExerciseStep::kReadCreated, target_11(), &read);
  EXPECT_EQ(uri_path(read.m), "3303/1");
  EXPECT_EQ(option_or(read.m, CoapOption::kAccept, -1), CoapContentFormat::kLwm2mTlv);
  Built del;
  build(ExerciseStep::kDelete, target_11(), &del);
  EXPECT_EQ(del.m.code(), CoapCode::kDelete);
  EXPECT_EQ(uri_path(del.m), "3303/1");
}

TEST(ExerciseRequests, NegativeProbes) {
  Built unknown;
  build(ExerciseStep::kReadUnknownObject, target_11(), &unknown);
  EXPECT_EQ(uri_path(unknown.m), "9999/0");
  Built executable;
  build(ExerciseStep::kReadExecutable, target_11(), &executable);
  EXPECT_EQ(uri_path(executable.m), "3/0/4");
  Built accept;
  build(ExerciseStep::kUnsupportedAccept, target_11(), &accept);
  EXPECT_EQ(option_or(accept.m, CoapOption::kAccept, -1), 9999);
  Built format;
  build(ExerciseStep::kUnsupportedFormat, target_11(), &format);
  EXPECT_EQ(uri_path(format.m), "1/0/1");
  EXPECT_EQ(option_or(format.m, CoapOption::kContentFormat, -1), 9999);
  EXPECT_EQ(std::string(format.m.payload().begin(), format.m.payload().end()), "1");
  Built read_only;
  build(ExerciseStep::kWriteReadOnly, target_11(), &read_only);
  EXPECT_EQ(uri_path(read_only.m), "3/0/0");
  EXPECT_EQ(std::string(read_only.m.payload().begin(), read_only.m.payload().end()), "x");
}

// Builds an answer message; `format` < 0 leaves Content-Format out.
struct Answer {
  std::array<uint8_t, kCoapMaxMessageSize> buf{};
  CoapMessage m;
  Answer(uint8_t code, int32_t format, std::span<const uint8_t> payload, bool observe = false) {
    CoapWriter w(buf);
    w.header(CoapType::kAck, code, 1, {});
    if (observe) {
      w.option_uint(CoapOption::kObserve, 5);
    }
    if (format >= 0) {
      w.option_uint(CoapOption::kContentFormat, static_cast<uint32_t>(format));
    }
    w.payload(payload);
    EXPECT_EQ(m.parse(w.finish()), CoapParseError::kOk);
  }
  Answer(uint8_t code, int32_t format, std::string_view payload, bool observe = false)
      : Answer(code, format,
               std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(payload.data()),
                                        payload.size()),
               observe) {}
};

std::string check(ExerciseStep step, const Answer& a) {
  return check_exercise_response(step, target_11(), a.m, registry());
}

TEST(ExerciseAnswers, CodesMustMatchExactly) {
  EXPECT_EQ(check(ExerciseStep::kReadUnknownObject, Answer(CoapCode::kNotFound, -1, "")), "");
  EXPECT_EQ(check(ExerciseStep::kReadUnknownObject, Answer(CoapCode::kNotImplemented, -1, "")),
            "got 5.01");
  EXPECT_EQ(check(ExerciseStep::kWriteReplace, Answer(CoapCode::kChanged, -1, "")), "");
  EXPECT_EQ(check(ExerciseStep::kCreate, Answer(CoapCode::kChanged, -1, "")), "got 2.04");
  EXPECT_EQ(check(ExerciseStep::kObserve, Answer(CoapCode::kContent, 0, "1700000000", true)), "");
  EXPECT_EQ(check(ExerciseStep::kObserve, Answer(CoapCode::kContent, 0, "1700000000")),
            "got 2.05 without Observe");
}

TEST(ExerciseAnswers, DiscoverMustListTheManufacturer) {
  EXPECT_EQ(check(ExerciseStep::kDiscover, Answer(CoapCode::kContent, 40, "</3/0>,</3/0/0>")), "");
  EXPECT_EQ(check(ExerciseStep::kDiscover, Answer(CoapCode::kContent, 40, "</3/0>,</3/0/1>")),
            "got 2.05 without </3/0/0>");
  EXPECT_EQ(check(ExerciseStep::kDiscover, Answer(CoapCode::kContent, 0, "</3/0/0>")),
            "got 2.05 with Content-Format 0");
}

TEST(ExerciseAnswers, ReadsMustDecodeInTheAskedFormat) {
  const std::vector<Record> device{{{3, 0, 0}, std::string("Acme")}, {{3, 0, 9}, int64_t{80}}};
  for (const auto& [step, format] : std::array<std::pair<ExerciseStep, uint16_t>, 5>{{
           {ExerciseStep::kReadTlv, CoapContentFormat::kLwm2mTlv},
           {ExerciseStep::kReadSenmlJson, CoapContentFormat::kSenmlJson},
           {ExerciseStep::kReadSenmlCbor, CoapContentFormat::kSenmlCbor},
           {ExerciseStep::kReadLwm2mCbor, CoapContentFormat::kLwm2mCbor},
           {ExerciseStep::kReadOmaJson, CoapContentFormat::kLwm2mJson},
       }}) {
    std::vector<uint8_t> payload;
    ASSERT_TRUE(
        encode(format, registry_context(registry(), Lwm2mPath{3, 0}), device, &payload).ok());
    EXPECT_EQ(check(step, Answer(CoapCode::kContent, format, payload)), "") << to_string(step);
    EXPECT_EQ(check(step, Answer(CoapCode::kContent, CoapContentFormat::kTextPlain, "Acme")),
              "got 2.05 with Content-Format 0");
  }
  EXPECT_NE(check(ExerciseStep::kReadSenmlJson, Answer(CoapCode::kContent, 110, "[{\"n\":")), "");
  EXPECT_EQ(check(ExerciseStep::kReadTlv, Answer(CoapCode::kContent, -1, "")),
            "got 2.05 without Content-Format");
  EXPECT_EQ(check(ExerciseStep::kReadText, Answer(CoapCode::kContent, 0, "Acme")), "");
}

TEST(ExerciseAnswers, ReadCompositeMustBeSenmlCbor) {
  const std::vector<Record> records{{{3, 0, 0}, std::string("Acme")}, {{1, 0, 1}, int64_t{300}}};
  std::vector<uint8_t> payload;
  ASSERT_TRUE(encode(CoapContentFormat::kSenmlCbor, registry_context(registry(), Lwm2mPath{}),
                     records, &payload)
                  .ok());
  EXPECT_EQ(check(ExerciseStep::kReadComposite, Answer(CoapCode::kContent, 112, payload)), "");
  EXPECT_EQ(check(ExerciseStep::kReadComposite, Answer(CoapCode::kContent, 110, "[]")),
            "got 2.05 with Content-Format 110");
}

// A Send request with the given content format.
struct SendRequest {
  std::array<uint8_t, 256> buf{};
  CoapMessage m;
  SendRequest(int32_t format, std::string_view payload) {
    CoapWriter w(buf);
    w.header(CoapType::kNon, CoapCode::kPost, 9, {}).option_path(CoapOption::kUriPath, "dp");
    if (format >= 0) {
      w.option_uint(CoapOption::kContentFormat, static_cast<uint32_t>(format));
    }
    w.payload(payload);
    EXPECT_EQ(m.parse(w.finish()), CoapParseError::kOk);
  }
};

TEST(ExerciseSend, DecodesSenmlAndRefusesTheRest) {
  std::vector<Record> records;
  EXPECT_TRUE(decode_send(SendRequest(110, R"([{"n":"/3/0/9","v":80},{"n":"/3/0/0","vs":"A"}])").m,
                          registry(), &records)
                  .ok());
  EXPECT_EQ(records,
            (std::vector<Record>{{{3, 0, 9}, int64_t{80}}, {{3, 0, 0}, std::string("A")}}));
  records.clear();
  EXPECT_EQ(decode_send(SendRequest(110, "[{").m, registry(), &records).code,
            CoapCode::kBadRequest);
  EXPECT_EQ(decode_send(SendRequest(112, "\xff").m, registry(), &records).code,
            CoapCode::kBadRequest);
  EXPECT_EQ(decode_send(SendRequest(0, "80").m, registry(), &records).code,
            CoapCode::kUnsupportedContentFormat);
  EXPECT_EQ(decode_send(SendRequest(-1, "[]").m, registry(), &records).code,
            CoapCode::kUnsupportedContentFormat);
}

TEST(ServerStatsText, ListsEveryCounterAndTheStepsOnceAWalkStarted) {
  ServerSnapshot s;
  const std::string idle = "\n" + s.to_text();
  for (const char* key :
       {"registered=", "bad_requests=", "reads_skipped=", "observes_error=",
        "unknown_notifications=", "retransmissions=", "datagrams_in=", "datagrams_out=",
        "exercise_started=", "exercise_completed=", "exercise_skipped=", "observations_cancelled=",
        "sends=", "send_records=", "sends_bad="}) {
    EXPECT_NE(idle.find(std::string("\n") + key), std::string::npos) << key;
  }
  EXPECT_EQ(idle.find("exercise_discover_ok"), std::string::npos);
  s.exercise_started = 1;
  s.exercise_ok[static_cast<size_t>(ExerciseStep::kDiscover)] = 1;
  s.exercise_unexpected[static_cast<size_t>(ExerciseStep::kWriteReadOnly)] = 3;
  const std::string walking = "\n" + s.to_text();
  EXPECT_NE(walking.find("\nexercise_discover_ok=1\n"), std::string::npos);
  EXPECT_NE(walking.find("\nexercise_discover_unexpected=0\n"), std::string::npos);
  EXPECT_NE(walking.find("\nexercise_write_read_only_unexpected=3\n"), std::string::npos);
}

}  // namespace
}  // namespace lwm2msim

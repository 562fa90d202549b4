#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "sim/coap/coap.h"
#include "sim/dm/data_model.h"
#include "sim/model/object_definition.h"
#include "sim/profile/profile.h"

#ifndef LWM2MSIM_REGISTRY_DIR
#error "LWM2MSIM_REGISTRY_DIR must name the OMA registry checkout (see tests/CMakeLists.txt)"
#endif

namespace lwm2msim {
namespace {

namespace fs = std::filesystem;

const fs::path kRegistry = LWM2MSIM_REGISTRY_DIR;

// The published registry as checked out for CI: top-level *.xml files, of which all but the DDF
// index, the SenML units list and the reusable-resource catalogue define one object each.
constexpr size_t kRegistryXmlFiles = 330;
constexpr size_t kRegistryObjects = 327;
constexpr size_t kVersionHistoryFiles = 424;

std::string registry_missing() {
  return "OMA registry not found at " + kRegistry.string() +
         "; it must be checked out as shared/lwm2m-registry beside the repository";
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream buf;
  buf << in.rdbuf();
  return std::move(buf).str();
}

void write_file(const fs::path& p, std::string_view text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

std::vector<fs::path> xml_files(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().extension() == ".xml") {
      out.push_back(e.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    out.push_back(line);
  }
  return out;
}

// The object files are named after their id ("3303.xml", "3303-1_1.xml").
uint16_t id_from_file_name(const fs::path& p) {
  return static_cast<uint16_t>(std::stoul(p.stem().string()));
}

// One object with the given <Item> elements, each on its own lines; the first Item starts on
// line 11.
std::string ddf(std::string_view items, std::string_view object_id = "<ObjectID>42</ObjectID>",
                std::string_view object_type = "MODefinition") {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";       // line 1
  out += "<LWM2M>\n";                                                     // 2
  out += "  <Object ObjectType=\"" + std::string(object_type) + "\">\n";  // 3
  out += "    <Name>Test Object</Name>\n";                                // 4
  out += "    " + std::string(object_id) + "\n";                          // 5
  out += "    <ObjectURN>urn:oma:lwm2m:x:42</ObjectURN>\n";               // 6
  out += "    <MultipleInstances>Multiple</MultipleInstances>\n";         // 7
  out += "    <Mandatory>Optional</Mandatory>\n";                         // 8
  out += "    <Resources>\n";                                             // 9
  out += "\n";                                                            // 10
  out += items;
  out += "    </Resources>\n";
  out += "  </Object>\n";
  out += "</LWM2M>\n";
  return out;
}

std::string item(int id, std::string_view type = "Integer", std::string_view ops = "R",
                 std::string_view range = "") {
  std::string out = "      <Item ID=\"" + std::to_string(id) + "\">\n";
  out += "        <Name>Resource " + std::to_string(id) + "</Name>\n";
  out += "        <Operations>" + std::string(ops) + "</Operations>\n";
  out += "        <MultipleInstances>Single</MultipleInstances>\n";
  out += "        <Mandatory>Mandatory</Mandatory>\n";
  out += "        <Type>" + std::string(type) + "</Type>\n";
  out += "        <RangeEnumeration>" + std::string(range) + "</RangeEnumeration>\n";
  out += "        <Units></Units>\n";
  out += "      </Item>\n";
  return out;
}
constexpr int kItemLines = 9;

ObjectDefinition parse_one(const std::string& xml) {
  std::vector<ObjectDefinition> defs;
  EXPECT_EQ(parse_ddf(xml, "t.xml", &defs), "");
  EXPECT_EQ(defs.size(), 1u);
  return defs.empty() ? ObjectDefinition{} : defs.front();
}

std::string parse_error(const std::string& xml) {
  std::vector<ObjectDefinition> defs;
  std::string err = parse_ddf(xml, "snippet.xml", &defs);
  EXPECT_TRUE(defs.empty()) << "nothing is appended on error";
  return err;
}

// --- The OMA registry ---------------------------------------------------------------------

TEST(DdfRegistry, EveryRegistryFileParses) {
  ASSERT_TRUE(fs::is_directory(kRegistry)) << registry_missing();
  const std::vector<fs::path> files = xml_files(kRegistry);
  EXPECT_EQ(files.size(), kRegistryXmlFiles);
  size_t object_files = 0;
  std::set<uint16_t> ids;
  std::vector<std::string> skipped;
  for (const fs::path& file : files) {
    const std::string xml = read_file(file);
    ASSERT_FALSE(xml.empty()) << file;
    std::vector<ObjectDefinition> defs;
    const std::string err = parse_ddf(xml, file.string(), &defs);
    if (err.ends_with("expected <LWM2M>")) {
      skipped.push_back(file.filename().string());
      continue;
    }
    ASSERT_EQ(err, "") << file;
    if (defs.empty()) {
      skipped.push_back(file.filename().string());
      continue;
    }
    ASSERT_EQ(defs.size(), 1u) << file;
    EXPECT_EQ(defs[0].id, id_from_file_name(file)) << file;
    EXPECT_FALSE(defs[0].resources.empty()) << file;
    EXPECT_FALSE(defs[0].name.empty()) << file;
    EXPECT_TRUE(ids.insert(defs[0].id).second) << file;
    ++object_files;
  }
  EXPECT_EQ(object_files, kRegistryObjects);
  // Only the files that are not object definitions are left out.
  EXPECT_EQ(skipped, (std::vector<std::string>{"Common.xml", "DDF.xml", "LWM2M_senml_units.xml"}));
}

TEST(DdfRegistry, EveryVersionHistoryFileParses) {
  ASSERT_TRUE(fs::is_directory(kRegistry)) << registry_missing();
  const std::vector<fs::path> files = xml_files(kRegistry / "version_history");
  EXPECT_EQ(files.size(), kVersionHistoryFiles);
  for (const fs::path& file : files) {
    std::vector<ObjectDefinition> defs;
    ASSERT_EQ(parse_ddf(read_file(file), file.string(), &defs), "") << file;
    ASSERT_EQ(defs.size(), 1u) << file;
    EXPECT_EQ(defs[0].id, id_from_file_name(file)) << file;
  }
}

TEST(DdfRegistry, LoadDirectoryLoadsEveryObject) {
  ASSERT_TRUE(fs::is_directory(kRegistry)) << registry_missing();
  ObjectRegistry registry;
  EXPECT_EQ(registry.load_directory(kRegistry.string()), "");
  EXPECT_EQ(registry.size(), kRegistryObjects);
  const std::vector<uint16_t> ids = registry.ids();
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  for (uint16_t id : ids) {
    const ObjectDefinition* def = registry.find(id);
    ASSERT_NE(def, nullptr);
    EXPECT_EQ(def->id, id);
    EXPECT_TRUE(std::is_sorted(def->resources.begin(), def->resources.end(),
                               [](const auto& a, const auto& b) { return a.id < b.id; }))
        << id;
    for (const ResourceDefinition& r : def->resources) {
      EXPECT_EQ(def->resource(r.id), &r);
      if (r.min || r.max) {
        ASSERT_TRUE(r.min && r.max) << id << "/" << r.id;
        EXPECT_LE(*r.min, *r.max) << id << "/" << r.id;
      }
    }
  }
}

// A profile may use any object of the registry once its files are loaded (--models DIR).
TEST(DdfRegistry, ProfilesUseRegistryObjectsOnceLoaded) {
  ASSERT_TRUE(fs::is_directory(kRegistry)) << registry_missing();
  constexpr std::string_view kYaml = R"(name: button
objects:
  3347:
    0: {5500: true, 5501: 3}
)";
  Profile profile;
  const std::string without =
      load_profile_text(kYaml, "b.yaml", ".", ObjectRegistry::builtin(), &profile);
  EXPECT_NE(without.find("b.yaml:3:3: objects.3347: object 3347 is not in the registry"),
            std::string::npos)
      << without;
  ObjectRegistry registry = ObjectRegistry::builtin();
  ASSERT_EQ(registry.load_directory(kRegistry.string()), "");
  auto loaded = std::make_shared<Profile>();
  ASSERT_EQ(load_profile_text(kYaml, "b.yaml", ".", registry, loaded.get()), "");
  const DataModel model(loaded, 1, 0);
  std::vector<Record> records;
  ClientContext ctx;
  EXPECT_EQ(model.read({3347, 0, 5501}, ctx, &records), CoapCode::kContent);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].value, Value{int64_t{3}});
  EXPECT_NE(model.registration_links(ctx).find("</3347/0>"), std::string::npos);
}

TEST(DdfRegistry, ContentIsSane) {
  ASSERT_TRUE(fs::is_directory(kRegistry)) << registry_missing();
  ObjectRegistry registry;
  ASSERT_EQ(registry.load_directory(kRegistry.string()), "");

  const ObjectDefinition* temperature = registry.find(3303);
  ASSERT_NE(temperature, nullptr);
  EXPECT_EQ(temperature->name, "Temperature");
  EXPECT_EQ(temperature->urn, "urn:oma:lwm2m:ext:3303:1.1");
  EXPECT_EQ(temperature->object_version, "1.1");
  EXPECT_TRUE(temperature->multiple);
  EXPECT_FALSE(temperature->mandatory);
  const ResourceDefinition* value = temperature->resource(5700);
  ASSERT_NE(value, nullptr);
  EXPECT_EQ(value->name, "Sensor Value");
  EXPECT_EQ(value->type, ResourceType::kFloat);
  EXPECT_EQ(value->operations, (ResourceOperations{.read = true}));
  EXPECT_FALSE(value->multiple);
  EXPECT_TRUE(value->mandatory);
  EXPECT_EQ(temperature->resource(5701)->type, ResourceType::kString);
  EXPECT_EQ(temperature->resource(5700 + 1000), nullptr);

  const ObjectDefinition* device = registry.find(3);
  ASSERT_NE(device, nullptr);
  EXPECT_FALSE(device->multiple);
  EXPECT_TRUE(device->mandatory);
  EXPECT_EQ(device->resource(4)->name, "Reboot");
  EXPECT_EQ(device->resource(4)->operations, (ResourceOperations{.execute = true}));
  EXPECT_EQ(device->resource(4)->type, ResourceType::kNone);
  EXPECT_TRUE(device->resource(11)->multiple);
  EXPECT_EQ(device->resource(9)->min, 0.0);
  EXPECT_EQ(device->resource(9)->max, 100.0);
  EXPECT_EQ(device->resource(9)->units, "/100");
  EXPECT_EQ(device->resource(13)->type, ResourceType::kTime);

  // Security resources are not accessible to management servers: empty <Operations>.
  const ObjectDefinition* security = registry.find(0);
  ASSERT_NE(security, nullptr);
  EXPECT_EQ(security->resource(0)->operations, ResourceOperations{});
  EXPECT_EQ(security->resource(0)->name, "LWM2M Server URI");  // "LWM2M  Server URI" in the file
  EXPECT_EQ(security->resource(0)->range_text, "0..255");
  EXPECT_FALSE(security->resource(0)->min) << "a string's range is a length";
  EXPECT_EQ(security->resource(10)->min, 1.0);
  EXPECT_EQ(security->resource(10)->max, 65534.0);

  EXPECT_EQ(registry.find(5)->resource(0)->operations, (ResourceOperations{.write = true}));
  EXPECT_EQ(registry.find(5)->resource(0)->type, ResourceType::kOpaque);
  EXPECT_EQ(registry.find(5)->resource(4), nullptr);
  EXPECT_EQ(registry.find(1)->resource(1)->operations,
            (ResourceOperations{.read = true, .write = true}));
  EXPECT_EQ(registry.find(3)->resource(22)->type, ResourceType::kObjlnk);
  EXPECT_EQ(registry.find(3)->resource(16)->type, ResourceType::kString);

  // Range spellings found in real files.
  EXPECT_EQ(registry.find(27)->resource(5)->range_text, "1...15");
  EXPECT_EQ(registry.find(27)->resource(5)->min, 1.0);
  EXPECT_EQ(registry.find(27)->resource(5)->max, 15.0);
  EXPECT_EQ(registry.find(10254)->resource(0)->range_text, "0; 3.8..20.5");
  EXPECT_FALSE(registry.find(10254)->resource(0)->min);

  // A reading resource whose <Type> was left empty in the published file.
  EXPECT_EQ(registry.find(10482)->resource(5)->type, ResourceType::kNone);
  EXPECT_TRUE(registry.find(10482)->resource(5)->operations.read);

  size_t resources = 0;
  size_t executables = 0;
  for (uint16_t id : registry.ids()) {
    for (const ResourceDefinition& r : registry.find(id)->resources) {
      ++resources;
      executables += r.operations.execute ? 1 : 0;
    }
  }
  EXPECT_EQ(resources, 3464u);
  EXPECT_EQ(executables, 273u);
}

// --- Built-in definitions against the registry ----------------------------------------------

TEST(BuiltinObjects, HasTheShippedObjects) {
  const ObjectRegistry builtin = ObjectRegistry::builtin();
  EXPECT_EQ(builtin.ids(), (std::vector<uint16_t>{0, 1, 2, 3, 4, 5, 6, 7, 3300, 3303, 3304, 3311,
                                                  3323, 3331, 3342}));
  EXPECT_EQ(builtin.find(3303)->resource(5700)->type, ResourceType::kFloat);
  EXPECT_EQ(builtin.find(8), nullptr);
}

TEST(BuiltinObjects, AgreeWithRegistry) {
  ASSERT_TRUE(fs::is_directory(kRegistry)) << registry_missing();
  const ObjectRegistry builtin = ObjectRegistry::builtin();
  for (uint16_t id : builtin.ids()) {
    SCOPED_TRACE("object " + std::to_string(id));
    const fs::path file = kRegistry / (std::to_string(id) + ".xml");
    std::vector<ObjectDefinition> defs;
    ASSERT_EQ(parse_ddf(read_file(file), file.string(), &defs), "");
    ASSERT_EQ(defs.size(), 1u);
    const ObjectDefinition& want = defs[0];
    const ObjectDefinition& got = *builtin.find(id);
    EXPECT_EQ(got.id, want.id);
    EXPECT_EQ(got.name, want.name);
    EXPECT_EQ(got.urn, want.urn);
    EXPECT_EQ(got.object_version, want.object_version);
    EXPECT_EQ(got.lwm2m_version, want.lwm2m_version);
    EXPECT_EQ(got.multiple, want.multiple);
    EXPECT_EQ(got.mandatory, want.mandatory);
    ASSERT_EQ(got.resources.size(), want.resources.size());
    for (size_t i = 0; i < want.resources.size(); ++i) {
      const ResourceDefinition& w = want.resources[i];
      const ResourceDefinition& g = got.resources[i];
      SCOPED_TRACE("resource " + std::to_string(w.id));
      EXPECT_EQ(g.id, w.id);
      EXPECT_EQ(g.name, w.name);
      EXPECT_EQ(g.type, w.type);
      EXPECT_EQ(g.operations, w.operations);
      EXPECT_EQ(g.multiple, w.multiple);
      EXPECT_EQ(g.mandatory, w.mandatory);
      EXPECT_EQ(g.range_text, w.range_text);
      EXPECT_EQ(g.min, w.min);
      EXPECT_EQ(g.max, w.max);
      EXPECT_EQ(g.units, w.units);
    }
  }
}

// --- Error reporting --------------------------------------------------------------------------

TEST(DdfErrors, MalformedXmlNamesSourceAndLine) {
  const std::string err = parse_error("<LWM2M>\n<Object>\n<Name>x</Nam>\n</Object>\n</LWM2M>\n");
  EXPECT_TRUE(err.starts_with("snippet.xml:3: malformed XML")) << err;
}

TEST(DdfErrors, EmptyAndForeignDocuments) {
  EXPECT_TRUE(parse_error("").starts_with("snippet.xml:1: malformed XML")) << parse_error("");
  EXPECT_EQ(parse_error("<?xml version=\"1.0\"?>\n<units/>\n"),
            "snippet.xml:2: root element is <units>, expected <LWM2M>");
  EXPECT_EQ(parse_error("<LWM2M>\n</LWM2M>\n"), "snippet.xml:1: no <Object> element");
}

TEST(DdfErrors, MissingObjectId) {
  EXPECT_EQ(parse_error(ddf(item(1), "<!-- no id -->")), "snippet.xml:3: missing <ObjectID>");
}

TEST(DdfErrors, InvalidObjectId) {
  EXPECT_EQ(parse_error(ddf(item(1), "<ObjectID>abc</ObjectID>")),
            "snippet.xml:5: invalid ObjectID 'abc'");
  EXPECT_EQ(parse_error(ddf(item(1), "<ObjectID>65536</ObjectID>")),
            "snippet.xml:5: invalid ObjectID '65536'");
  EXPECT_EQ(parse_error(ddf(item(1), "<ObjectID></ObjectID>")),
            "snippet.xml:5: invalid ObjectID ''");
  EXPECT_EQ(parse_error(ddf(item(1), "<ObjectID>-1</ObjectID>")),
            "snippet.xml:5: invalid ObjectID '-1'");
}

TEST(DdfErrors, UnknownType) {
  const std::string err = parse_error(ddf(item(0) + item(1, "Double")));
  // Second item starts at line 11 + 9; <Type> is its sixth line.
  EXPECT_EQ(err, "snippet.xml:" + std::to_string(11 + kItemLines + 5) +
                     ": unknown Type 'Double' in resource 1");
}

TEST(DdfErrors, UnknownOperations) {
  EXPECT_EQ(parse_error(ddf(item(7, "Integer", "RWX"))),
            "snippet.xml:13: unknown Operations 'RWX' in resource 7, expected R, W, RW, E or "
            "empty");
}

TEST(DdfErrors, DuplicateItemId) {
  const std::string err = parse_error(ddf(item(1) + item(2) + item(1)));
  EXPECT_EQ(err, "snippet.xml:" + std::to_string(11 + 2 * kItemLines) +
                     ": duplicate resource ID 1 (first defined at line 11)");
}

TEST(DdfErrors, InvalidOrMissingItemId) {
  std::string bad = item(1);
  bad.replace(bad.find("ID=\"1\""), 6, "ID=\"x1\"");
  EXPECT_EQ(parse_error(ddf(bad)), "snippet.xml:11: invalid Item ID 'x1'");
  bad = item(1);
  bad.replace(bad.find(" ID=\"1\""), 7, "");
  EXPECT_EQ(parse_error(ddf(bad)), "snippet.xml:11: <Item> without ID attribute");
  bad = item(1);
  bad.replace(bad.find("ID=\"1\""), 6, "ID=\"70000\"");
  EXPECT_EQ(parse_error(ddf(bad)), "snippet.xml:11: invalid Item ID '70000'");
}

TEST(DdfErrors, BadFlags) {
  std::string bad = item(1);
  bad.replace(bad.find("Single"), 6, "Many");
  EXPECT_EQ(parse_error(ddf(bad)),
            "snippet.xml:14: invalid <MultipleInstances> 'Many', expected Multiple or Single");
  bad = item(1);
  const size_t at = bad.find("        <MultipleInstances>");
  bad.erase(at, bad.find('\n', at) + 1 - at);
  EXPECT_EQ(parse_error(ddf(bad)), "snippet.xml:11: missing <MultipleInstances>");
  std::string doc = ddf(item(1));
  doc.replace(doc.find("<Mandatory>Optional"), 19, "<Mandatory>Sometimes");
  EXPECT_EQ(parse_error(doc),
            "snippet.xml:8: invalid <Mandatory> 'Sometimes', expected Mandatory or Optional");
}

TEST(DdfErrors, MissingOperationsOrResources) {
  std::string bad = item(1);
  const size_t at = bad.find("        <Operations>");
  bad.erase(at, bad.find('\n', at) + 1 - at);
  EXPECT_EQ(parse_error(ddf(bad)), "snippet.xml:11: missing <Operations> in resource 1");
  EXPECT_EQ(parse_error("<LWM2M>\n<Object ObjectType=\"MODefinition\">\n<ObjectID>9</ObjectID>\n"
                        "<MultipleInstances>Single</MultipleInstances>\n"
                        "<Mandatory>Optional</Mandatory>\n</Object>\n</LWM2M>\n"),
            "snippet.xml:2: missing <Resources>");
}

TEST(DdfErrors, DuplicateObjectInOneDocument) {
  std::string doc = ddf(item(1));
  const size_t start = doc.find("  <Object");
  const size_t end = doc.find("</LWM2M>");
  doc.insert(end, doc.substr(start, end - start));
  EXPECT_EQ(parse_error(doc), "snippet.xml:22: duplicate ObjectID 42 (first defined at line 3)");
}

TEST(DdfErrors, LinesCountWithCrLf) {
  std::string doc = ddf(item(0) + item(1, "Double"));
  std::string crlf;
  for (char c : doc) {
    if (c == '\n') {
      crlf += '\r';
    }
    crlf += c;
  }
  EXPECT_EQ(parse_error(crlf), "snippet.xml:" + std::to_string(11 + kItemLines + 5) +
                                   ": unknown Type 'Double' in resource 1");
}

// --- Tolerance ------------------------------------------------------------------------------

TEST(DdfTolerance, WhitespaceCommentsAndCdata) {
  const std::string xml =
      "\xEF\xBB\xBF<?xml version=\"1.0\"?>\n"
      "<LWM2M>\n"
      "  <Object ObjectType=\" MODefinition \">\n"
      "    <Name>\n      Wrapped\n      Name  </Name>\n"
      "    <ObjectID>\n 77 \n</ObjectID>\n"
      "    <MultipleInstances> Single </MultipleInstances>\n"
      "    <Mandatory>mandatory</Mandatory>\n"
      "    <Resources>\n"
      "      <Item ID=\" 3 \">\n"
      "        <Name><!-- c --><![CDATA[Cdata]]> name</Name>\n"
      "        <Operations> RW </Operations>\n"
      "        <MultipleInstances>Multiple</MultipleInstances>\n"
      "        <Mandatory>Optional</Mandatory>\n"
      "        <Type> Unsigned Integer </Type>\n"
      "        <RangeEnumeration>\n  0 .. 8\n  </RangeEnumeration>\n"
      "        <Units> s </Units>\n"
      "      </Item>\n"
      "      <Item ID=\"1\">\n"
      "        <Name>Run</Name>\n"
      "        <Operations>E</Operations>\n"
      "        <MultipleInstances>Single</MultipleInstances>\n"
      "        <Mandatory>Optional</Mandatory>\n"
      "      </Item>\n"
      "    </Resources>\n"
      "  </Object>\n"
      "</LWM2M>\n";
  const ObjectDefinition def = parse_one(xml);
  EXPECT_EQ(def.id, 77);
  EXPECT_EQ(def.name, "Wrapped Name");
  EXPECT_FALSE(def.multiple);
  EXPECT_TRUE(def.mandatory);
  EXPECT_EQ(def.urn, "");
  EXPECT_EQ(def.object_version, "");
  ASSERT_EQ(def.resources.size(), 2u);
  // Sorted by id whatever the document order.
  EXPECT_EQ(def.resources[0].id, 1);
  EXPECT_EQ(def.resources[0].type, ResourceType::kNone);
  EXPECT_EQ(def.resources[0].operations, (ResourceOperations{.execute = true}));
  EXPECT_EQ(def.resources[0].range_text, "");
  EXPECT_EQ(def.resources[0].units, "");
  const ResourceDefinition* r = def.resource(3);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->name, "Cdata name");
  EXPECT_EQ(r->operations, (ResourceOperations{.read = true, .write = true}));
  EXPECT_TRUE(r->multiple);
  EXPECT_FALSE(r->mandatory);
  EXPECT_EQ(r->type, ResourceType::kUnsignedInteger);
  EXPECT_EQ(r->range_text, "0 .. 8");
  EXPECT_EQ(r->min, 0.0);
  EXPECT_EQ(r->max, 8.0);
  EXPECT_EQ(r->units, "s");
  EXPECT_EQ(def.resource(2), nullptr);
  EXPECT_EQ(def.resource(4), nullptr);
}

TEST(DdfTolerance, RangeSpellings) {
  struct Case {
    std::string_view type;
    std::string_view text;
    bool numeric;
    double lo;
    double hi;
  };
  const Case cases[] = {
      {"Integer", "0..100", true, 0, 100},
      {"Integer", "-40..85", true, -40, 85},
      {"Integer", "1..65534", true, 1, 65534},
      {"Integer", "0-100", true, 0, 100},
      {"Integer", "-40-85", true, -40, 85},
      {"Integer", "0 .. 8", true, 0, 8},
      {"Integer", "1...15", true, 1, 15},
      {"Float", "0.000001..1.0", true, 0.000001, 1.0},
      {"Float", "-100.0..100.0", true, -100, 100},
      {"Integer", "-30..-120", true, -120, -30},
      {"Unsigned Integer", "0..18446744073709551615", true, 0, 18446744073709551615.0},
      {"Integer", "0;1;2", false, 0, 0},
      {"Integer", "0..3, 99", false, 0, 0},
      {"Integer", "255", false, 0, 0},
      {"Integer", "8-Bits", false, 0, 0},
      {"Float", "ON;OFF", false, 0, 0},
      {"Integer", "0: RELEASED\n1: PRESSED", false, 0, 0},
      {"String", "0..255", false, 0, 0},
      {"Opaque", "0..64 bytes", false, 0, 0},
      {"Integer", "..5", false, 0, 0},
      {"Integer", "5..", false, 0, 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.text));
    const ObjectDefinition def = parse_one(ddf(item(1, c.type, "R", c.text)));
    ASSERT_EQ(def.resources.size(), 1u);
    const ResourceDefinition& r = def.resources[0];
    EXPECT_EQ(r.range_text, c.text);
    EXPECT_EQ(r.min.has_value(), c.numeric);
    EXPECT_EQ(r.max.has_value(), c.numeric);
    if (c.numeric) {
      EXPECT_EQ(*r.min, c.lo);
      EXPECT_EQ(*r.max, c.hi);
    }
  }
}

TEST(DdfTolerance, NonDefinitionObjectsAreSkipped) {
  std::vector<ObjectDefinition> defs;
  EXPECT_EQ(parse_ddf(ddf(item(1), "", "CommonResources"), "c.xml", &defs), "");
  EXPECT_TRUE(defs.empty());
}

TEST(DdfTolerance, AppendsToOutput) {
  std::vector<ObjectDefinition> defs(1);
  ASSERT_EQ(parse_ddf(ddf(item(1)), "a.xml", &defs), "");
  ASSERT_EQ(parse_ddf(ddf(item(1), "<ObjectID>43</ObjectID>"), "b.xml", &defs), "");
  ASSERT_EQ(defs.size(), 3u);
  EXPECT_EQ(defs[1].id, 42);
  EXPECT_EQ(defs[2].id, 43);
}

TEST(ResourceTypeNames, ParsesDdfNames) {
  const std::pair<std::string_view, ResourceType> good[] = {
      {"", ResourceType::kNone},
      {"String", ResourceType::kString},
      {"Integer", ResourceType::kInteger},
      {"Unsigned Integer", ResourceType::kUnsignedInteger},
      {"Float", ResourceType::kFloat},
      {"Boolean", ResourceType::kBoolean},
      {"Opaque", ResourceType::kOpaque},
      {"Time", ResourceType::kTime},
      {"Objlnk", ResourceType::kObjlnk},
      {"Corelnk", ResourceType::kCoreLink},
      {"CoreLnk", ResourceType::kCoreLink},
      {"unsigned integer", ResourceType::kUnsignedInteger},
  };
  for (const auto& [text, want] : good) {
    ResourceType got = ResourceType::kBoolean;
    EXPECT_TRUE(parse_resource_type(text, &got)) << text;
    EXPECT_EQ(got, want) << text;
  }
  for (std::string_view bad : {"Double", "Int", "Objlink", "UnsignedInteger", "String "}) {
    ResourceType got = ResourceType::kFloat;
    EXPECT_FALSE(parse_resource_type(bad, &got)) << bad;
    EXPECT_EQ(got, ResourceType::kFloat) << bad;
  }
}

// --- ObjectRegistry ---------------------------------------------------------------------------

TEST(ObjectRegistryTest, AddReplacesAndSortsResources) {
  ObjectRegistry registry;
  EXPECT_EQ(registry.size(), 0u);
  EXPECT_EQ(registry.find(5), nullptr);
  ObjectDefinition def;
  def.id = 5;
  def.name = "first";
  def.resources.resize(3);
  def.resources[0].id = 9;
  def.resources[1].id = 2;
  def.resources[2].id = 4;
  registry.add(def);
  ASSERT_NE(registry.find(5), nullptr);
  EXPECT_EQ(registry.find(5)->resource(2)->id, 2);
  EXPECT_EQ(registry.find(5)->resource(9)->id, 9);
  EXPECT_EQ(registry.find(5)->resource(3), nullptr);
  def.name = "second";
  registry.add(def);
  EXPECT_EQ(registry.size(), 1u);
  EXPECT_EQ(registry.find(5)->name, "second");
  def.id = 1;
  registry.add(def);
  EXPECT_EQ(registry.ids(), (std::vector<uint16_t>{1, 5}));
}

class LoadDirectory : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("lwm2msim_ddf_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(std::string_view name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

TEST_F(LoadDirectory, ReportsEveryBadFileAndLoadsTheGoodOnes) {
  write_file(dir_ / "a_good.xml", ddf(item(1, "Float")));
  // The unclosed <Object> opened on line 2 is where tinyxml2 reports the mismatch.
  write_file(dir_ / "b_malformed.xml", "<LWM2M>\n<Object>\n</LWM2M>\n");
  write_file(dir_ / "c_bad_type.xml", ddf(item(1, "Double"), "<ObjectID>43</ObjectID>"));
  write_file(dir_ / "notes.txt", "not xml at all <");
  write_file(dir_ / "index.xml", "<DDFList><Item/></DDFList>\n");

  ObjectRegistry registry = ObjectRegistry::builtin();
  const size_t builtin = registry.size();
  const std::string errors = registry.load_directory(dir_.string());
  const std::vector<std::string> lines = lines_of(errors);
  ASSERT_EQ(lines.size(), 2u) << errors;
  EXPECT_TRUE(lines[0].starts_with(path("b_malformed.xml") + ":2: malformed XML")) << lines[0];
  EXPECT_EQ(lines[1], path("c_bad_type.xml") + ":16: unknown Type 'Double' in resource 1");
  EXPECT_EQ(registry.size(), builtin + 1);
  ASSERT_NE(registry.find(42), nullptr);
  EXPECT_EQ(registry.find(42)->resource(1)->type, ResourceType::kFloat);
  EXPECT_EQ(registry.find(43), nullptr);
}

TEST_F(LoadDirectory, ReplacesBuiltinDefinitions) {
  write_file(dir_ / "3303.xml", ddf(item(5700, "Integer"), "<ObjectID>3303</ObjectID>"));
  ObjectRegistry registry = ObjectRegistry::builtin();
  const size_t builtin = registry.size();
  EXPECT_EQ(registry.load_directory(dir_.string()), "");
  EXPECT_EQ(registry.size(), builtin);
  EXPECT_EQ(registry.find(3303)->name, "Test Object");
  EXPECT_EQ(registry.find(3303)->resource(5700)->type, ResourceType::kInteger);
  EXPECT_EQ(registry.find(3303)->resource(5701), nullptr);
}

TEST_F(LoadDirectory, SameObjectInTwoFilesIsAnError) {
  write_file(dir_ / "1.xml", ddf(item(1, "Integer")));
  write_file(dir_ / "2.xml", ddf(item(1, "Float")));
  ObjectRegistry registry;
  EXPECT_EQ(registry.load_directory(dir_.string()),
            path("2.xml") + ":5: object 42 is also defined in " + path("1.xml"));
  ASSERT_EQ(registry.size(), 1u);
  EXPECT_EQ(registry.find(42)->resource(1)->type, ResourceType::kInteger);
}

TEST_F(LoadDirectory, EmptyAndMissingDirectories) {
  ObjectRegistry registry;
  EXPECT_EQ(registry.load_directory(dir_.string()), "");
  EXPECT_EQ(registry.size(), 0u);
  const std::string missing = path("nope");
  const std::string err = registry.load_directory(missing);
  EXPECT_TRUE(err.starts_with(missing + ":0: not a readable directory")) << err;
}

}  // namespace
}  // namespace lwm2msim

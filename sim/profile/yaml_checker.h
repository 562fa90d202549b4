// profile: checked reading of YAML files, shared by the profile and scenario loaders: keys with
// their places, typed reads, and every problem kept as FILE:LINE:COLUMN: FIELD: reason.
#pragma once

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace lwm2msim::yaml {

struct KeyValue {
  std::string name;
  YAML::Node key;
  YAML::Node value;
  // Where a problem with the value is: a missing value ("count:") has no place of its own, and
  // yaml-cpp gives it the next token's, so the key's is used.
  YAML::Mark mark() const { return value.IsNull() ? key.Mark() : value.Mark(); }
};

// "objects.3303" + "0" -> "objects.3303.0".
std::string join(const std::string& field, std::string_view name);
// The shortest text that reads back as v.
std::string fmt(double v);
// What a node is, for "expected ..., got X" messages.
std::string describe(const YAML::Node& node);
// "a, b, c", for lists of allowed values.
std::string comma_list(const std::vector<std::string>& items);
// A finite decimal, with an optional leading '+'.
bool parse_double(std::string_view s, double* out);

// Collects a file's problems while a loader walks it; every read reports its own.
class Checker {
 public:
  // key_rule says what map keys must be, for the error on anything else ("plain names").
  Checker(std::string source, std::string key_rule)
      : source_(std::move(source)), key_rule_(std::move(key_rule)) {}

  const std::string& source() const { return source_; }
  // Parses the whole document; a syntax error is recorded (field "yaml") and false returned.
  bool parse(std::string_view text, YAML::Node* root);
  void error(const YAML::Mark& mark, const std::string& field, const std::string& reason);
  // Every problem, sorted by place, each once, one per line; empty when there was none.
  std::string report();

  // The pairs of a map; duplicate and non-scalar keys are reported and left out.
  std::vector<KeyValue> entries(const YAML::Node& map, const std::string& field);
  // Reports every key not in `allowed`.
  void allow(const std::vector<KeyValue>& kvs, const std::string& field,
             std::initializer_list<std::string_view> allowed);
  void allow(const std::vector<KeyValue>& kvs, const std::string& field,
             const std::vector<std::string>& allowed);
  static const KeyValue* find(const std::vector<KeyValue>& kvs, std::string_view name);

  bool read_string(const KeyValue& kv, const std::string& field, std::string* out);
  bool read_number(const KeyValue& kv, const std::string& field, double* out);
  bool read_non_negative(const KeyValue& kv, const std::string& field, double* out);

 private:
  struct Error {
    int line = 0;
    int column = 0;
    std::string text;
  };
  std::string source_;
  std::string key_rule_;
  std::vector<Error> errors_;
};

}  // namespace lwm2msim::yaml

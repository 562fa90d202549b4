#include "sim/dm/execute_args.h"

namespace lwm2msim {
namespace {

bool is_arg_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  // Printable ASCII without space, '"', '\'' and '\\'.
  return u == 0x21 || (u >= 0x23 && u <= 0x26) || (u >= 0x28 && u <= 0x5b) ||
         (u >= 0x5d && u <= 0x7e);
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Appends the arguments to *out; false at the first departure from the grammar.
bool parse_into(std::string_view payload, std::vector<ExecuteArg>* out) {
  uint16_t seen = 0;
  size_t i = 0;
  while (i < payload.size()) {
    if (!is_digit(payload[i])) {
      return false;
    }
    ExecuteArg arg;
    arg.digit = static_cast<uint8_t>(payload[i] - '0');
    const auto bit = static_cast<uint16_t>(1u << arg.digit);
    if ((seen & bit) != 0) {
      return false;
    }
    seen |= bit;
    ++i;
    if (i < payload.size() && payload[i] == '=') {
      ++i;
      if (i == payload.size() || payload[i] != '\'') {
        return false;
      }
      const size_t start = ++i;
      while (i < payload.size() && is_arg_char(payload[i])) {
        ++i;
      }
      if (i == payload.size() || payload[i] != '\'') {
        return false;
      }
      arg.value = payload.substr(start, i - start);
      arg.has_value = true;
      ++i;
    }
    out->push_back(arg);
    if (i == payload.size()) {
      return true;
    }
    // A separator must be followed by another argument: "0," is malformed.
    if (payload[i] != ',' || i + 1 == payload.size()) {
      return false;
    }
    ++i;
  }
  return true;
}

}  // namespace

bool parse_execute_args(std::string_view payload, std::vector<ExecuteArg>* out) {
  out->clear();
  if (!parse_into(payload, out)) {
    out->clear();
    return false;
  }
  return true;
}

const ExecuteArg* find_execute_arg(std::span<const ExecuteArg> args, uint8_t digit) {
  for (const ExecuteArg& a : args) {
    if (a.digit == digit) {
      return &a;
    }
  }
  return nullptr;
}

}  // namespace lwm2msim

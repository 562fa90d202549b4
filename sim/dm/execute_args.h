// dm: Execute operation arguments (LwM2M TS 1.1 sections 5.4.5 and 6.3.5): the plain-text argument
// list a server may send as an Execute payload, e.g. "0='ab',1='cd'" or "5".
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace lwm2msim {

struct ExecuteArg {
  uint8_t digit = 0;       // 0-9
  std::string_view value;  // without the quotes; a view into the payload
  bool has_value = false;  // "3=''" has an empty value, "3" none
};

// Parses the TS grammar
//   arglist = arg *( "," arg )
//   arg     = DIGIT / DIGIT "=" "'" *CHAR "'"
//   CHAR    = "!" / %x23-26 / %x28-5B / %x5D-7E
// into *out (replaced). An empty payload is no arguments. False, with *out cleared, on anything
// else, including white space anywhere (OMA's answer in OMA_LwM2M_for_Developers issue 487, though
// one TS example shows a space) and a digit given twice (arguments are keyed by digit, issue 536).
bool parse_execute_args(std::string_view payload, std::vector<ExecuteArg>* out);

// The argument with `digit`, or nullptr.
const ExecuteArg* find_execute_arg(std::span<const ExecuteArg> args, uint8_t digit);

}  // namespace lwm2msim

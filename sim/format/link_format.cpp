// CoRE link format (RFC 6690 section 2) as LwM2M uses it: `<target>` followed by `;name` or
// `;name=value` parameters, links separated by commas. Parameter values keep their wire form
// (quotes included), so decoding and encoding round-trip exactly.
#include <string>

#include "sim/format/format.h"

namespace lwm2msim {
namespace {

bool is_alpha_digit(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// parmname (RFC 5987 section 3.2.1, as RFC 6690 uses it).
bool is_parmname_char(char c) {
  return is_alpha_digit(c) || std::string_view("!#$&+-.^_`|~").find(c) != std::string_view::npos;
}

// ptokenchar (RFC 6690 section 2).
bool is_ptoken_char(char c) {
  return is_alpha_digit(c) ||
         std::string_view("!#$%&'()*+-./:<=>?@[]^_`{|}~").find(c) != std::string_view::npos;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

class LinkParser {
 public:
  explicit LinkParser(std::string_view text) : text_(text) {}

  bool parse(std::vector<Link>* out, std::string* error) {
    skip_space();
    if (at_end()) {
      return true;
    }
    while (true) {
      Link link;
      if (!link_value(&link)) {
        *error = error_;
        return false;
      }
      out->push_back(std::move(link));
      skip_space();
      if (at_end()) {
        return true;
      }
      if (text_[pos_] != ',') {
        *error = fail("expected ',' or ';'");
        return false;
      }
      ++pos_;
      skip_space();
    }
  }

 private:
  bool at_end() const { return pos_ >= text_.size(); }

  // Whitespace is not in RFC 6690's grammar, but payloads split across lines are common.
  void skip_space() {
    while (!at_end() && is_space(text_[pos_])) {
      ++pos_;
    }
  }

  std::string fail(std::string_view what) {
    error_ = "offset " + std::to_string(pos_) + ": " + std::string(what);
    return error_;
  }

  bool link_value(Link* link) {
    if (at_end() || text_[pos_] != '<') {
      fail("expected '<'");
      return false;
    }
    const size_t open = pos_++;
    while (!at_end() && text_[pos_] != '>') {
      const auto c = static_cast<unsigned char>(text_[pos_]);
      if (c <= 0x20 || c == 0x7f || c == '<' || c == '"') {
        fail("invalid character in link target");
        return false;
      }
      ++pos_;
    }
    if (at_end()) {
      pos_ = open;
      fail("unterminated link target");
      return false;
    }
    link->target.assign(text_.substr(open + 1, pos_ - open - 1));
    ++pos_;
    while (!at_end() && text_[pos_] == ';') {
      ++pos_;
      if (!param(link)) {
        return false;
      }
    }
    return true;
  }

  bool param(Link* link) {
    const size_t name_start = pos_;
    while (!at_end() && is_parmname_char(text_[pos_])) {
      ++pos_;
    }
    if (pos_ == name_start) {
      fail("expected a parameter name");
      return false;
    }
    std::string name(text_.substr(name_start, pos_ - name_start));
    std::string value;
    if (!at_end() && text_[pos_] == '=') {
      ++pos_;
      const size_t value_start = pos_;
      if (!at_end() && text_[pos_] == '"') {
        if (!quoted_string()) {
          return false;
        }
      } else {
        while (!at_end() && is_ptoken_char(text_[pos_])) {
          ++pos_;
        }
        if (pos_ == value_start) {
          fail("expected a parameter value");
          return false;
        }
      }
      value.assign(text_.substr(value_start, pos_ - value_start));
    }
    link->params.emplace_back(std::move(name), std::move(value));
    return true;
  }

  // RFC 7230 quoted-string: commas and semicolons inside do not split.
  bool quoted_string() {
    const size_t open = pos_++;
    while (!at_end()) {
      const char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c == '\\') {
        if (pos_ + 1 >= text_.size()) {
          break;
        }
        ++pos_;
      } else if (static_cast<unsigned char>(c) < 0x20 && c != '\t') {
        fail("control character in quoted string");
        return false;
      }
      ++pos_;
    }
    pos_ = open;
    fail("unterminated quoted string");
    return false;
  }

  std::string_view text_;
  size_t pos_ = 0;
  std::string error_;
};

}  // namespace

std::string encode_links(std::span<const Link> links) {
  std::string s;
  for (const Link& link : links) {
    if (!s.empty()) {
      s += ',';
    }
    s += '<';
    s += link.target;
    s += '>';
    for (const auto& [name, value] : link.params) {
      s += ';';
      s += name;
      if (!value.empty()) {
        s += '=';
        s += value;
      }
    }
  }
  return s;
}

bool decode_links(std::string_view text, std::vector<Link>* out, std::string* error) {
  std::vector<Link> links;
  if (!LinkParser(text).parse(&links, error)) {
    return false;
  }
  out->insert(out->end(), std::make_move_iterator(links.begin()),
              std::make_move_iterator(links.end()));
  return true;
}

}  // namespace lwm2msim

#include "image/reference.h"

#include <cctype>

namespace crid::image {

namespace {

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

Error bad(std::string_view text, std::string_view why) {
  return make_error(ErrorKind::kInvalidArgument, "invalid image reference \"{}\": {}", text, why);
}

// One path component: lowercase alphanumerics joined by ".", "_", "__" or
// runs of "-" (distribution's path-component grammar).
bool valid_path_component(std::string_view c) {
  if (c.empty() || !is_lower_alnum(c.front()) || !is_lower_alnum(c.back())) return false;
  for (size_t i = 0; i < c.size();) {
    if (is_lower_alnum(c[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < c.size() && !is_lower_alnum(c[j])) ++j;
    std::string_view sep = c.substr(i, j - i);
    bool dashes = sep.find_first_not_of('-') == std::string_view::npos;
    if (!(sep == "." || sep == "_" || sep == "__" || dashes)) return false;
    i = j;
  }
  return true;
}

// host[:port]: labels of alphanumerics and '-', or a bracketed IPv6 literal.
bool valid_host(std::string_view h) {
  if (h.empty()) return false;
  std::string_view host = h, port;
  if (h.front() == '[') {
    size_t close = h.find(']');
    if (close == std::string_view::npos) return false;
    for (char c : h.substr(1, close - 1))
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':') return false;
    if (close + 1 < h.size()) {
      if (h[close + 1] != ':') return false;
      port = h.substr(close + 2);
      if (port.empty()) return false;
    }
  } else {
    size_t colon = h.rfind(':');
    if (colon != std::string_view::npos) {
      host = h.substr(0, colon);
      port = h.substr(colon + 1);
      if (port.empty()) return false;
    }
    if (host.empty()) return false;
    size_t start = 0;
    while (start <= host.size()) {
      size_t dot = host.find('.', start);
      std::string_view label = host.substr(start, dot == std::string_view::npos ? host.npos : dot - start);
      if (label.empty() || label.front() == '-' || label.back() == '-') return false;
      for (char c : label)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
  }
  if (port.size() > 5) return false;
  for (char c : port)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

bool valid_tag(std::string_view t) {
  if (t.empty() || t.size() > kMaxTagLength) return false;
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  if (!word(t.front())) return false;
  for (char c : t)
    if (!word(c) && c != '.' && c != '-') return false;
  return true;
}

bool has_upper(std::string_view s) {
  for (char c : s)
    if (c >= 'A' && c <= 'Z') return true;
  return false;
}

}  // namespace

bool valid_sha256_digest(std::string_view s) {
  if (s.size() != 71 || s.substr(0, 7) != "sha256:") return false;
  for (char c : s.substr(7))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string Reference::str() const {
  std::string s = name();
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

Result<ParsedReference> parse_reference(std::string_view text) {
  if (text.empty()) return bad(text, "empty");
  if (text.size() > kMaxNameLength + 1 + kMaxTagLength + 1 + 71 + 8)
    return bad(text.substr(0, 64), "too long");
  for (char c : text)
    if (std::isspace(static_cast<unsigned char>(c)) || !std::isprint(static_cast<unsigned char>(c)))
      return bad(text, "contains whitespace or control characters");

  ParsedReference out;
  std::string_view rest = text;

  size_t at = rest.find('@');
  if (at != std::string_view::npos) {
    std::string_view digest = rest.substr(at + 1);
    if (digest.substr(0, 7) != "sha256:")
      return bad(text, "only sha256 digests are supported");
    if (!valid_sha256_digest(digest)) return bad(text, "digest must be sha256: and 64 lowercase hex digits");
    out.ref.digest = std::string(digest);
    rest = rest.substr(0, at);
  }

  // A tag is after the last ':' that follows the last '/' (a ':' before a
  // '/' is a registry port).
  size_t slash = rest.rfind('/');
  size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    std::string_view tag = rest.substr(colon + 1);
    if (!valid_tag(tag)) return bad(text, "tag must be 1-128 of [A-Za-z0-9_.-], not starting with '.' or '-'");
    out.ref.tag = std::string(tag);
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return bad(text, "missing repository name");

  size_t first_slash = rest.find('/');
  std::string_view first = rest.substr(0, first_slash);
  if (first_slash != std::string_view::npos &&
      (first.find_first_of(".:") != std::string_view::npos || first == "localhost" ||
       first.front() == '[')) {
    if (!valid_host(first)) return bad(text, fmt::format("invalid registry host \"{}\"", first));
    out.ref.registry = std::string(first);
    out.qualified = true;
    rest = rest.substr(first_slash + 1);
  }
  if (out.ref.registry == "index.docker.io") out.ref.registry = "docker.io";

  if (rest.size() > kMaxNameLength) return bad(text, "repository name longer than 255 characters");
  if (has_upper(rest)) return bad(text, "repository name must be lowercase");
  size_t start = 0;
  for (;;) {
    size_t next = rest.find('/', start);
    std::string_view comp = rest.substr(start, next == std::string_view::npos ? rest.npos : next - start);
    if (!valid_path_component(comp))
      return bad(text, fmt::format("invalid repository path component \"{}\"", comp));
    if (next == std::string_view::npos) break;
    start = next + 1;
  }
  out.ref.repository = std::string(rest);
  if (out.qualified && out.ref.registry == "docker.io" &&
      out.ref.repository.find('/') == std::string::npos)
    out.ref.repository = "library/" + out.ref.repository;
  if (out.qualified && out.ref.name().size() > kMaxNameLength)
    return bad(text, "name longer than 255 characters");
  if (out.ref.tag.empty() && out.ref.digest.empty()) out.ref.tag = "latest";
  return out;
}

Result<std::vector<Reference>> resolve_reference(std::string_view text,
                                                 const std::vector<std::string>& search_registries) {
  CRID_ASSIGN(ParsedReference parsed, parse_reference(text));
  if (parsed.qualified) return std::vector<Reference>{parsed.ref};
  if (search_registries.empty())
    return bad(text, "the name has no registry and no unqualified_search_registries are configured");
  std::vector<Reference> out;
  for (const auto& reg : search_registries) {
    Reference r = parsed.ref;
    r.registry = reg == "index.docker.io" ? "docker.io" : reg;
    if (r.registry == "docker.io" && r.repository.find('/') == std::string::npos)
      r.repository = "library/" + r.repository;
    if (r.name().size() > kMaxNameLength) return bad(text, "name longer than 255 characters");
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace crid::image

#include "network/cni_result.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

namespace crid::network {

namespace {

using json = nlohmann::json;

Error bad(std::string_view what) {
  return make_error(ErrorKind::kInvalidArgument, "CNI result: {}", what);
}

// A string field or "" when absent; a present field of another type fails.
Result<std::string> opt_string(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::string();
  if (!it->is_string()) return bad(fmt::format("\"{}\" is not a string", key));
  return it->get<std::string>();
}

Result<std::vector<std::string>> opt_strings(const json& obj, const char* key) {
  std::vector<std::string> out;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return out;
  if (!it->is_array()) return bad(fmt::format("\"{}\" is not an array", key));
  for (auto& v : *it) {
    if (!v.is_string()) return bad(fmt::format("\"{}\" holds a non-string", key));
    out.push_back(v.get<std::string>());
  }
  return out;
}

Result<const json*> opt_array(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return static_cast<const json*>(nullptr);
  if (!it->is_array()) return bad(fmt::format("\"{}\" is not an array", key));
  return &*it;
}

bool valid_ip(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

bool valid_cidr(const std::string& s) {
  auto slash = s.find('/');
  if (slash == std::string::npos) return false;
  std::string addr = s.substr(0, slash);
  std::string_view len = std::string_view(s).substr(slash + 1);
  int n = -1;
  auto [p, ec] = std::from_chars(len.data(), len.data() + len.size(), n);
  if (ec != std::errc() || p != len.data() + len.size() || len.empty()) return false;
  int max = addr.find(':') != std::string::npos ? 128 : 32;
  return n >= 0 && n <= max && valid_ip(addr);
}

}  // namespace

std::string CniIp::ip() const { return address.substr(0, address.find('/')); }

std::vector<std::string> CniResult::pod_ips() const {
  std::vector<std::string> v4, v6;
  for (auto& ip : ips) {
    bool in_pod = ip.interface < 0 || ip.interface >= static_cast<int>(interfaces.size()) ||
                  !interfaces[ip.interface].sandbox.empty();
    if (!in_pod) continue;
    (ip.ipv6() ? v6 : v4).push_back(ip.ip());
  }
  v4.insert(v4.end(), v6.begin(), v6.end());
  return v4;
}

Result<CniResult> parse_cni_result(std::string_view text) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return bad("not a JSON object");
  CniResult r;
  CRID_ASSIGN(r.cni_version, opt_string(doc, "cniVersion"));

  CRID_ASSIGN(const json* ifaces, opt_array(doc, "interfaces"));
  if (ifaces) {
    for (auto& i : *ifaces) {
      if (!i.is_object()) return bad("an interface is not an object");
      CniInterface iface;
      CRID_ASSIGN(iface.name, opt_string(i, "name"));
      CRID_ASSIGN(iface.mac, opt_string(i, "mac"));
      CRID_ASSIGN(iface.sandbox, opt_string(i, "sandbox"));
      if (iface.name.empty()) return bad("an interface has no name");
      r.interfaces.push_back(std::move(iface));
    }
  }

  CRID_ASSIGN(const json* ips, opt_array(doc, "ips"));
  if (ips) {
    for (auto& i : *ips) {
      if (!i.is_object()) return bad("an IP entry is not an object");
      CniIp ip;
      CRID_ASSIGN(ip.address, opt_string(i, "address"));
      CRID_ASSIGN(ip.gateway, opt_string(i, "gateway"));
      if (!valid_cidr(ip.address))
        return bad(fmt::format("IP address \"{}\" is not in CIDR form", ip.address));
      if (!ip.gateway.empty() && !valid_ip(ip.gateway))
        return bad(fmt::format("gateway \"{}\" is not an IP address", ip.gateway));
      if (auto it = i.find("interface"); it != i.end() && !it->is_null()) {
        if (!it->is_number_integer()) return bad("IP \"interface\" is not an integer");
        auto idx = it->get<int64_t>();
        if (idx < 0 || idx >= static_cast<int64_t>(r.interfaces.size()))
          return bad(fmt::format("IP {} names interface {} of {}", ip.address, idx,
                                 r.interfaces.size()));
        ip.interface = static_cast<int>(idx);
      }
      r.ips.push_back(std::move(ip));
    }
  }

  CRID_ASSIGN(const json* routes, opt_array(doc, "routes"));
  if (routes) {
    for (auto& i : *routes) {
      if (!i.is_object()) return bad("a route is not an object");
      CniRoute route;
      CRID_ASSIGN(route.dst, opt_string(i, "dst"));
      CRID_ASSIGN(route.gw, opt_string(i, "gw"));
      if (!valid_cidr(route.dst))
        return bad(fmt::format("route destination \"{}\" is not in CIDR form", route.dst));
      r.routes.push_back(std::move(route));
    }
  }

  if (auto it = doc.find("dns"); it != doc.end() && !it->is_null()) {
    if (!it->is_object()) return bad("\"dns\" is not an object");
    CRID_ASSIGN(r.dns.nameservers, opt_strings(*it, "nameservers"));
    CRID_ASSIGN(r.dns.domain, opt_string(*it, "domain"));
    CRID_ASSIGN(r.dns.search, opt_strings(*it, "search"));
    CRID_ASSIGN(r.dns.options, opt_strings(*it, "options"));
  }
  return r;
}

std::optional<CniErrorReport> parse_cni_error(std::string_view text) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  auto msg = doc.find("msg");
  if (msg == doc.end() || !msg->is_string()) return std::nullopt;
  CniErrorReport e;
  e.msg = msg->get<std::string>();
  if (auto it = doc.find("code"); it != doc.end() && it->is_number_integer()) {
    auto c = it->get<int64_t>();
    e.code = c >= INT32_MIN && c <= INT32_MAX ? static_cast<int>(c) : -1;
  }
  if (auto it = doc.find("details"); it != doc.end() && it->is_string())
    e.details = it->get<std::string>();
  return e;
}

bool cni_version_at_least(std::string_view version, int major, int minor) {
  int parts[2] = {0, 0};
  const char* p = version.data();
  const char* end = version.data() + version.size();
  for (int i = 0; i < 2 && p < end; i++) {
    auto [next, ec] = std::from_chars(p, end, parts[i]);
    if (ec != std::errc()) return false;
    p = next;
    if (p < end && *p == '.') p++;
  }
  return parts[0] > major || (parts[0] == major && parts[1] >= minor);
}

}  // namespace crid::network

// CNI plugin output: the result of ADD (spec 0.3.0 .. 1.0.0 share one shape,
// 0.3.x adds a per-IP "version") and the error object a failing plugin
// prints. Pure parsers: no I/O, tested on literal strings and fuzzed.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/result.h"

namespace crid::network {

struct CniInterface {
  std::string name;
  std::string mac;
  std::string sandbox;  // netns path when the interface is inside the pod
};

struct CniIp {
  std::string address;  // CIDR form, "10.85.0.4/16"
  std::string gateway;
  int interface = -1;   // index into interfaces, -1 when absent
  bool ipv6() const { return address.find(':') != std::string::npos; }
  // The address without its prefix length: "10.85.0.4".
  std::string ip() const;
};

struct CniRoute {
  std::string dst;
  std::string gw;
};

struct CniDns {
  std::vector<std::string> nameservers;
  std::string domain;
  std::vector<std::string> search;
  std::vector<std::string> options;
};

struct CniResult {
  std::string cni_version;
  std::vector<CniInterface> interfaces;
  std::vector<CniIp> ips;
  std::vector<CniRoute> routes;
  CniDns dns;

  // Pod IPs for the CRI: addresses on interfaces inside the sandbox (or with
  // no interface named), IPv4 first as the kubelet expects the primary
  // address to be the first family.
  std::vector<std::string> pod_ips() const;
};

// Parses a result document. Rejects what is not a JSON object, wrong types
// of the known fields and malformed addresses; unknown fields are ignored
// (the spec allows plugins to add them).
Result<CniResult> parse_cni_result(std::string_view text);

// The error a plugin reports on stdout when it fails (spec: "code", "msg",
// "details"). std::nullopt when the output is not such an object.
struct CniErrorReport {
  int code = 0;
  std::string msg;
  std::string details;
};
std::optional<CniErrorReport> parse_cni_error(std::string_view text);

// True for versions that know CHECK and pass prevResult to DEL (>= 0.4.0).
bool cni_version_at_least(std::string_view version, int major, int minor);

}  // namespace crid::network

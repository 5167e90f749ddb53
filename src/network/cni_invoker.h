// CniInvoker: attaches a pod's network namespace to the node's CNI network
// and detaches it, speaking the CNI spec (1.0.0, and 0.3.x / 0.4.0 lists)
// to the plugin binaries directly.
//
// ADD runs each plugin of the list in order, feeding each the previous
// plugin's result as prevResult; the final result is cached under
// <cache_dir>/<pod id>.json together with the exact network config and pod
// arguments used, so DEL after a daemon restart (or after the conf dir
// changed) replays the same list in reverse with the same inputs. A failed
// ADD is undone by a DEL of the whole list, so no veth or IPAM allocation
// outlives it. The conf dir is re-read on every ADD: a network that appears
// or changes is picked up without a watch thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config_holder.h"
#include "network/cni_config.h"
#include "network/cni_result.h"
#include "util/result.h"

namespace crid::network {

struct PortMapping {
  std::string protocol = "tcp";  // tcp, udp, sctp (lowercase, as CNI wants)
  int container_port = 0;
  int host_port = 0;
  std::string host_ip;
  bool operator==(const PortMapping&) const = default;
};

// What the plugins need to know about one pod.
struct PodNetworkSpec {
  std::string pod_id;
  std::string netns;  // path of the pinned network namespace
  std::string pod_name;
  std::string pod_namespace;
  std::string pod_uid;
  std::vector<PortMapping> port_mappings;  // runtimeConfig "portMappings"
  nlohmann::json bandwidth;                // runtimeConfig "bandwidth" (null: none)
  nlohmann::json dns;                      // runtimeConfig "dns" (null: none)
  std::vector<std::string> ips;            // runtimeConfig "ips" (requested addresses)
  std::string pod_cidr;                    // runtimeConfig "ipRanges" (node pod CIDR)
};

struct CniAttachment {
  std::string network_name;
  std::string cni_version;
  CniResult result;
  nlohmann::json raw_result;  // the final plugin's result, as printed
};

class CniInvoker {
 public:
  CniInvoker(const ConfigHolder& config, std::string cache_dir);

  // ADD on the first network of the conf dir. On failure every plugin of the
  // list gets DEL and the cache entry is gone again.
  Result<CniAttachment> add(const PodNetworkSpec& pod);

  // DEL in reverse order from the cached config and result; removes the cache
  // entry once every plugin succeeded. No cache entry: nothing attached, OK.
  Status del(const std::string& pod_id);

  // CHECK (networks of version >= 0.4.0) against the cached result;
  // FailedPrecondition when the pod has no cached attachment.
  Status check(const std::string& pod_id);

  // The cache entry of a pod ({"network": ..., "pod": ..., "result": ...}),
  // std::nullopt when there is none.
  std::optional<nlohmann::json> cached(const std::string& pod_id) const;

  std::string cache_path(const std::string& pod_id) const;

 private:
  const ConfigHolder& config_;
  std::string cache_dir_;
};

// The stdin document for one plugin invocation (exposed for unit tests):
// the plugin's own config plus "name", "cniVersion", "prevResult" (if not
// null) and "runtimeConfig" holding just the capabilities it declares.
nlohmann::json plugin_stdin(const CniNetwork& net, const nlohmann::json& plugin,
                            const PodNetworkSpec& pod, const nlohmann::json& prev_result);

// Plugin types of `net` (including IPAM plugins named in "ipam") that are
// not installed in any of `bin_dirs`. Status reports them in NetworkReady.
std::vector<std::string> missing_plugins(const CniNetwork& net,
                                         const std::vector<std::string>& bin_dirs);

// CNI_ARGS for the kubelet's conventions.
std::string cni_args(const PodNetworkSpec& pod);

nlohmann::json to_json(const PodNetworkSpec& pod);
PodNetworkSpec pod_spec_from_json(const nlohmann::json& j);
nlohmann::json to_json(const CniNetwork& net);
Result<CniNetwork> network_from_json(const nlohmann::json& j);

}  // namespace crid::network

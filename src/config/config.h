// crid's configuration: embedded defaults, then /etc/crid/crid.conf, then
// drop-ins from /etc/crid/crid.conf.d/*.conf in lexical order, then
// command-line flags. Every knob is one entry of a schema (options.cc), which
// drives loading, flags, validation and `crid config` alike.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "util/result.h"

namespace crid {

using Duration = std::chrono::milliseconds;

// A RuntimeClass handler: which OCI runtime binary runs the containers of
// pods that name it.
struct RuntimeHandler {
  std::string runtime_path;         // runc, crun, or a VM runtime's shim
  std::string runtime_type = "oci";  // "oci" (runc-compatible) or "vm"
  std::string runtime_root;         // --root passed to the runtime
  bool operator==(const RuntimeHandler&) const = default;
};

// Per-registry settings, keyed by host[:port] as written in image names.
struct RegistrySettings {
  std::vector<std::string> mirrors;  // "http://127.0.0.1:5000", tried in order
  bool insecure = false;             // plain http / unverified TLS
  bool operator==(const RegistrySettings&) const = default;
};

struct Config {
  // top level
  std::string root = "/var/lib/crid";
  std::string runroot = "/run/crid";
  std::string listen = "/run/crid/crid.sock";
  std::string log_level = "info";

  // [runtime]
  std::string default_handler = "runc";
  std::map<std::string, RuntimeHandler> handlers;
  std::string conmon_path = "/usr/bin/conmon";
  std::string cgroup_driver = "cgroupfs";
  std::string default_cgroup_parent = "/crid";
  int64_t pids_limit = 0;
  int64_t log_size_max = -1;
  int64_t shm_size = 64 << 20;
  bool restrict_oom_score_adj = false;
  std::string seccomp_profile_root = "/var/lib/kubelet/seccomp";
  std::string pause_image;
  Duration stop_grace_default{std::chrono::seconds(10)};
  // GetContainerEvents: events a subscriber may leave unread before it is
  // dropped.
  int64_t event_queue_length = 1000;
  // Stream* list RPCs: objects per streamed message.
  int64_t list_stream_batch = 500;

  // [image]
  std::vector<std::string> unqualified_search_registries{"docker.io"};
  std::map<std::string, RegistrySettings> registries;
  std::string certs_dir = "/etc/crid/certs.d";
  std::string auth_file;
  std::vector<std::string> pinned_images;
  int64_t max_concurrent_downloads = 3;
  Duration pull_progress_timeout{std::chrono::seconds(60)};
  int64_t max_manifest_bytes = 4 << 20;

  // [network]
  std::string cni_conf_dir = "/etc/cni/net.d";
  std::vector<std::string> cni_bin_dirs{"/usr/lib/cni", "/opt/cni/bin"};
  Duration cni_plugin_timeout{std::chrono::seconds(60)};

  // [stream]
  std::string stream_address = "127.0.0.1";
  int64_t stream_port = 0;
  std::string stream_tls_cert;
  std::string stream_tls_key;
  Duration stream_idle_timeout{std::chrono::minutes(15)};
  int64_t max_streams = 64;

  // [metrics]
  std::string metrics_address;

  // Where each key's value came from ("default", a file path, "--flag").
  std::map<std::string, std::string> origin;
};

// Embedded defaults, including the runc and crun handlers and, when the
// daemon lacks CAP_SYS_RESOURCE, restrict_oom_score_adj = true.
Config default_config();

// Applies one TOML document on top of `cfg`. Unknown keys and values of the
// wrong type fail with "<source>: <key>: <reason>".
Status apply_toml(Config& cfg, std::string_view toml_text, const std::string& source);

// Applies a file; a missing file is an error only when `required`.
Status apply_file(Config& cfg, const std::string& path, bool required);

// Applies every *.conf in `dir` in lexical order (a missing dir is fine).
Status apply_drop_ins(Config& cfg, const std::string& dir);

// Applies "key=value" from a flag, value in flag syntax (lists comma-separated).
Status apply_flag(Config& cfg, const std::string& key, const std::string& value);

// Checks cross-field rules after all layers are applied.
Status validate(const Config& cfg);

// The complete effective config as commented TOML that apply_toml accepts.
std::string render(const Config& cfg);

// The effective config as JSON (for verbose Status and `crid status --json`).
std::string render_json(const Config& cfg);

// Keys a flag can set: every scalar and list option of the schema.
struct FlagInfo {
  std::string key;   // "cni_conf_dir"
  std::string flag;  // "--cni-conf-dir"
  std::string help;
};
std::vector<FlagInfo> flag_options();

Result<Duration> parse_duration(std::string_view text);
std::string format_duration(Duration d);

}  // namespace crid

#include "config/config.h"

#include <linux/capability.h>
#include <sys/prctl.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <sstream>
#include <variant>

#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "util/fs.h"
#include "util/log.h"
#include "util/printable.h"

namespace crid {

namespace {

using Member = std::variant<std::string Config::*, int64_t Config::*, bool Config::*,
                            std::vector<std::string> Config::*, Duration Config::*>;

struct Option {
  const char* section;  // "" for top level
  const char* key;
  Member member;
  const char* help;
};

// The schema. Keys are unique across sections so that flags can be named
// after them alone.
const std::vector<Option>& options() {
  static const std::vector<Option> opts = {
      {"", "root", &Config::root, "Persistent state: metadata, images, layers."},
      {"", "runroot", &Config::runroot, "Volatile state: sockets, bundles, pod files."},
      {"", "listen", &Config::listen, "Unix socket the CRI gRPC server listens on."},
      {"", "log_level", &Config::log_level,
       "trace, debug, info, warn, error, fatal or off. Reloaded on SIGHUP."},

      {"runtime", "default_handler", &Config::default_handler,
       "Runtime handler used when a pod names none."},
      {"runtime", "conmon_path", &Config::conmon_path, "The conmon container monitor."},
      {"runtime", "cgroup_driver", &Config::cgroup_driver,
       "cgroupfs, or systemd (needs systemd as PID 1)."},
      {"runtime", "default_cgroup_parent", &Config::default_cgroup_parent,
       "Cgroup parent for pods whose request gives none."},
      {"runtime", "pids_limit", &Config::pids_limit,
       "Maximum processes per container; 0 means no limit."},
      {"runtime", "log_size_max", &Config::log_size_max,
       "Maximum bytes of a container log before conmon stops writing; -1 means no limit."},
      {"runtime", "shm_size", &Config::shm_size, "Size in bytes of each pod's /dev/shm."},
      {"runtime", "restrict_oom_score_adj", &Config::restrict_oom_score_adj,
       "Clamp container oom_score_adj to the daemon's own (on by default where "
       "CAP_SYS_RESOURCE is missing)."},
      {"runtime", "seccomp_profile_root", &Config::seccomp_profile_root,
       "Directory relative Localhost seccomp profile paths resolve beneath (absolute "
       "paths are used as given)."},
      {"runtime", "pause_image", &Config::pause_image,
       "Image whose entrypoint is PID 1 of pods with a shared PID namespace; empty "
       "means crid's built-in pause."},
      {"runtime", "stop_grace_default", &Config::stop_grace_default,
       "Grace period when a stop request gives none."},
      {"runtime", "event_queue_length", &Config::event_queue_length,
       "Container events a GetContainerEvents subscriber may leave unread before it is dropped."},
      {"runtime", "list_stream_batch", &Config::list_stream_batch,
       "Objects per message of the Stream* list RPCs (StreamContainers ...)."},

      {"image", "unqualified_search_registries", &Config::unqualified_search_registries,
       "Registries tried, in order, for image names without a registry host."},
      {"image", "certs_dir", &Config::certs_dir,
       "Per-registry TLS material: <certs_dir>/<host[:port]>/*.crt."},
      {"image", "auth_file", &Config::auth_file,
       "Docker-style credentials file (config.json auths); empty for none."},
      {"image", "pinned_images", &Config::pinned_images,
       "Images never garbage-collected, reported as pinned."},
      {"image", "max_concurrent_downloads", &Config::max_concurrent_downloads,
       "Layers of one image downloaded in parallel."},
      {"image", "pull_progress_timeout", &Config::pull_progress_timeout,
       "A pull that makes no progress for this long is aborted."},
      {"image", "max_manifest_bytes", &Config::max_manifest_bytes,
       "Largest manifest, index or image config accepted."},

      {"network", "cni_conf_dir", &Config::cni_conf_dir,
       "CNI network configurations; the first in lexical order is used."},
      {"network", "cni_bin_dirs", &Config::cni_bin_dirs, "Where CNI plugin binaries are."},
      {"network", "cni_plugin_timeout", &Config::cni_plugin_timeout,
       "Time limit for one CNI plugin invocation."},

      {"stream", "stream_address", &Config::stream_address,
       "Address of the exec/attach/port-forward streaming server."},
      {"stream", "stream_port", &Config::stream_port, "Its port; 0 picks a free one."},
      {"stream", "stream_tls_cert", &Config::stream_tls_cert,
       "TLS certificate for the streaming server; empty serves plain HTTP."},
      {"stream", "stream_tls_key", &Config::stream_tls_key, "TLS key matching stream_tls_cert."},
      {"stream", "stream_idle_timeout", &Config::stream_idle_timeout,
       "A stream with no traffic for this long is closed."},
      {"stream", "max_streams", &Config::max_streams, "Concurrent streaming sessions allowed."},

      {"metrics", "metrics_address", &Config::metrics_address,
       "Prometheus endpoint, host:port or unix:///path; empty disables it."},
  };
  return opts;
}

const Option* find_option(std::string_view section, std::string_view key) {
  for (auto& o : options())
    if (section == o.section && key == o.key) return &o;
  return nullptr;
}

Error bad(const std::string& source, const std::string& key, const std::string& why) {
  return Error(ErrorKind::kInvalidArgument, fmt::format("{}: {}: {}", source, key, why));
}

const char* type_name(const Member& m) {
  switch (m.index()) {
    case 0: return "a string";
    case 1: return "an integer";
    case 2: return "a boolean";
    case 3: return "an array of strings";
    default: return "a duration string such as \"30s\" or \"5m\"";
  }
}

Result<std::vector<std::string>> string_array(const toml::node& node, const std::string& source,
                                              const std::string& key) {
  auto* arr = node.as_array();
  if (!arr) return bad(source, key, "must be an array of strings");
  std::vector<std::string> out;
  for (auto& el : *arr) {
    auto s = el.value<std::string>();
    if (!s) return bad(source, key, "must be an array of strings");
    out.push_back(*s);
  }
  return out;
}

Status set_option(Config& cfg, const Option& opt, const toml::node& node,
                  const std::string& source, const std::string& key) {
  std::string why = fmt::format("must be {}", type_name(opt.member));
  return std::visit(
      [&](auto member) -> Status {
        using T = std::remove_cvref_t<decltype(cfg.*member)>;
        if constexpr (std::is_same_v<T, std::string>) {
          auto v = node.value_exact<std::string>();
          if (!v) return bad(source, key, why);
          cfg.*member = *v;
        } else if constexpr (std::is_same_v<T, int64_t>) {
          auto v = node.value_exact<int64_t>();
          if (!v) return bad(source, key, why);
          cfg.*member = *v;
        } else if constexpr (std::is_same_v<T, bool>) {
          auto v = node.value_exact<bool>();
          if (!v) return bad(source, key, why);
          cfg.*member = *v;
        } else if constexpr (std::is_same_v<T, Duration>) {
          auto v = node.value_exact<std::string>();
          if (!v) return bad(source, key, why);
          auto d = parse_duration(*v);
          if (!d) return bad(source, key, d.error().message());
          cfg.*member = *d;
        } else {
          CRID_ASSIGN(auto list, string_array(node, source, key));
          cfg.*member = std::move(list);
        }
        cfg.origin[key] = source;
        return Ok();
      },
      opt.member);
}

Status apply_handlers(Config& cfg, const toml::table& tbl, const std::string& source) {
  for (auto& [name_key, node] : tbl) {
    std::string name(name_key.str());
    std::string where = "runtime.handlers." + name;
    auto* h = node.as_table();
    if (!h) return bad(source, where, "must be a table");
    RuntimeHandler handler = cfg.handlers.count(name) ? cfg.handlers[name] : RuntimeHandler{};
    for (auto& [k, v] : *h) {
      std::string key(k.str());
      std::string* field = key == "runtime_path"   ? &handler.runtime_path
                           : key == "runtime_type" ? &handler.runtime_type
                           : key == "runtime_root" ? &handler.runtime_root
                                                   : nullptr;
      if (!field) return bad(source, where + "." + key, "unknown key");
      auto s = v.value_exact<std::string>();
      if (!s) return bad(source, where + "." + key, "must be a string");
      *field = *s;
    }
    cfg.handlers[name] = handler;
    cfg.origin[where] = source;
  }
  return Ok();
}

Status apply_registries(Config& cfg, const toml::table& tbl, const std::string& source) {
  for (auto& [host_key, node] : tbl) {
    std::string host(host_key.str());
    std::string where = "image.registries.\"" + host + "\"";
    auto* r = node.as_table();
    if (!r) return bad(source, where, "must be a table");
    RegistrySettings reg = cfg.registries.count(host) ? cfg.registries[host] : RegistrySettings{};
    for (auto& [k, v] : *r) {
      std::string key(k.str());
      if (key == "mirrors") {
        CRID_ASSIGN(reg.mirrors, string_array(v, source, where + ".mirrors"));
      } else if (key == "insecure") {
        auto b = v.value_exact<bool>();
        if (!b) return bad(source, where + ".insecure", "must be a boolean");
        reg.insecure = *b;
      } else {
        return bad(source, where + "." + key, "unknown key");
      }
    }
    cfg.registries[host] = reg;
    cfg.origin[where] = source;
  }
  return Ok();
}

Status apply_table(Config& cfg, const toml::table& tbl, const std::string& section,
                   const std::string& source) {
  for (auto& [k, node] : tbl) {
    std::string key(k.str());
    std::string where = section.empty() ? key : section + "." + key;
    if (section == "runtime" && key == "handlers") {
      if (!node.is_table()) return bad(source, where, "must be a table of handlers");
      CRID_TRY(apply_handlers(cfg, *node.as_table(), source));
      continue;
    }
    if (section == "image" && key == "registries") {
      if (!node.is_table()) return bad(source, where, "must be a table of registries");
      CRID_TRY(apply_registries(cfg, *node.as_table(), source));
      continue;
    }
    if (section.empty() && node.is_table()) {
      bool known = key == "runtime" || key == "image" || key == "network" || key == "stream" ||
                   key == "metrics";
      if (!known) return bad(source, key, "unknown section");
      CRID_TRY(apply_table(cfg, *node.as_table(), key, source));
      continue;
    }
    const Option* opt = find_option(section, key);
    if (!opt) return bad(source, where, "unknown key");
    CRID_TRY(set_option(cfg, *opt, node, source, key));
  }
  return Ok();
}

bool has_cap_sys_resource() {
  return ::prctl(PR_CAPBSET_READ, CAP_SYS_RESOURCE, 0, 0, 0) == 1;
}

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)  // TOML: escape DEL too
          out += fmt::format("\\u{:04x}", c);
        else
          out += c;
    }
  }
  return out + "\"";
}

std::string render_list(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); i++) out += (i ? ", " : "") + quote(v[i]);
  return out + "]";
}

std::string render_value(const Config& cfg, const Member& m) {
  return std::visit(
      [&](auto member) -> std::string {
        using T = std::remove_cvref_t<decltype(cfg.*member)>;
        const T& v = cfg.*member;
        if constexpr (std::is_same_v<T, std::string>) return quote(v);
        else if constexpr (std::is_same_v<T, int64_t>) return std::to_string(v);
        else if constexpr (std::is_same_v<T, bool>) return v ? "true" : "false";
        else if constexpr (std::is_same_v<T, Duration>) return quote(format_duration(v));
        else return render_list(v);
      },
      m);
}

std::string flag_name(const char* key) {
  std::string f = std::string("--") + key;
  std::replace(f.begin(), f.end(), '_', '-');
  return f;
}

Status check_absolute(const Config& cfg, const std::string& key, const std::string& path,
                      bool allow_empty = false) {
  if (path.empty() && allow_empty) return Ok();
  if (path.empty() || path[0] != '/') {
    auto it = cfg.origin.find(key);
    std::string src = it == cfg.origin.end() ? "default" : it->second;
    return bad(src, key, fmt::format("{} must be an absolute path", printable(path)));
  }
  return Ok();
}

}  // namespace

Result<Duration> parse_duration(std::string_view text) {
  // Go-style: "90s", "5m", "1h30m", "250ms", "1.5h"; a bare "0" is zero.
  if (text == "0") return Duration(0);
  if (text.empty()) return make_error(ErrorKind::kInvalidArgument, "empty duration");
  auto invalid = [&](std::string_view why) {
    return make_error(ErrorKind::kInvalidArgument, "invalid duration {}: {}", printable(text),
                      why);
  };
  // Ten years: far beyond any sensible timeout, and far enough below what
  // the clocks' int64 nanoseconds hold that deadlines computed from it
  // cannot overflow (found by fuzzing config_toml).
  constexpr double kMaxMs = 10.0 * 365 * 24 * 3600e3;
  double total_ms = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && (isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
      i++;
    if (start == i) return invalid("want e.g. \"30s\", \"5m\", \"1h30m\"");
    double num = 0;
    auto [end, ec] = std::from_chars(text.data() + start, text.data() + i, num);
    if (ec != std::errc() || end != text.data() + i) return invalid("bad number");
    size_t ustart = i;
    while (i < text.size() && isalpha(static_cast<unsigned char>(text[i]))) i++;
    std::string_view unit = text.substr(ustart, i - ustart);
    double mult = unit == "ms" ? 1 : unit == "s" ? 1e3 : unit == "m" ? 60e3 : unit == "h" ? 3600e3 : -1;
    if (mult < 0) return invalid("unit must be ms, s, m or h");
    total_ms += num * mult;
    if (!(total_ms <= kMaxMs)) return invalid("longer than ten years");
  }
  return Duration(static_cast<int64_t>(total_ms));
}

std::string format_duration(Duration d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  if (ms % 1000 != 0) return fmt::format("{}ms", ms);
  int64_t s = ms / 1000;
  std::string out;
  if (s >= 3600) out += fmt::format("{}h", s / 3600), s %= 3600;
  if (s >= 60) out += fmt::format("{}m", s / 60), s %= 60;
  if (s > 0) out += fmt::format("{}s", s);
  return out;
}

Config default_config() {
  Config cfg;
  // Runtime roots stay empty here: load_config() puts them under the final
  // runroot, so a runroot set by a file or flag moves them too.
  cfg.handlers["runc"] = {"/usr/sbin/runc", "oci", ""};
  cfg.handlers["crun"] = {"/usr/bin/crun", "oci", ""};
  cfg.restrict_oom_score_adj = !has_cap_sys_resource();
  for (auto& o : options()) cfg.origin[o.key] = "default";
  return cfg;
}

Status apply_toml(Config& cfg, std::string_view toml_text, const std::string& source) {
  toml::table tbl;
  try {
    tbl = toml::parse(toml_text, source);
  } catch (const toml::parse_error& e) {
    return make_error(ErrorKind::kInvalidArgument, "{}:{}:{}: {}", source,
                      e.source().begin.line, e.source().begin.column, e.description());
  }
  return apply_table(cfg, tbl, "", source);
}

Status apply_file(Config& cfg, const std::string& path, bool required) {
  auto text = fs::read_file(path, 1 << 20);
  if (!text) {
    if (!required && text.error().sys_errno() == ENOENT) return Ok();
    return text.error().wrap("reading config");
  }
  return apply_toml(cfg, *text, path);
}

Status apply_drop_ins(Config& cfg, const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return Ok();
  std::vector<std::string> files;
  for (auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.path().extension() == ".conf") files.push_back(e.path().string());
  if (ec) return make_error(ErrorKind::kInvalidArgument, "listing {}: {}", dir, ec.message());
  std::sort(files.begin(), files.end());
  for (auto& f : files) CRID_TRY(apply_file(cfg, f, true));
  return Ok();
}

Status apply_flag(Config& cfg, const std::string& key, const std::string& value) {
  const Option* opt = nullptr;
  for (auto& o : options())
    if (key == o.key) opt = &o;
  if (!opt) return make_error(ErrorKind::kInvalidArgument, "unknown option {}", key);
  std::string source = flag_name(opt->key);
  // Re-express the flag's text as a TOML value and reuse the file path.
  std::string literal;
  switch (opt->member.index()) {
    case 0:
    case 4: literal = quote(value); break;
    case 3: {
      std::vector<std::string> items;
      std::stringstream ss(value);
      for (std::string item; std::getline(ss, item, ',');)
        if (!item.empty()) items.push_back(item);
      literal = render_list(items);
      break;
    }
    default: literal = value;
  }
  toml::table tbl;
  try {
    tbl = toml::parse("v = " + literal);
  } catch (const toml::parse_error&) {
    return bad(source, key, fmt::format("{} is not {}", printable(value), type_name(opt->member)));
  }
  return set_option(cfg, *opt, *tbl.get("v"), source, key);
}

Status validate(const Config& cfg) {
  auto where = [&](const std::string& key) {
    auto it = cfg.origin.find(key);
    return it == cfg.origin.end() ? std::string("default") : it->second;
  };
  CRID_TRY(check_absolute(cfg, "root", cfg.root));
  CRID_TRY(check_absolute(cfg, "runroot", cfg.runroot));
  CRID_TRY(check_absolute(cfg, "listen", cfg.listen));
  CRID_TRY(check_absolute(cfg, "conmon_path", cfg.conmon_path));
  CRID_TRY(check_absolute(cfg, "cni_conf_dir", cfg.cni_conf_dir));
  CRID_TRY(check_absolute(cfg, "certs_dir", cfg.certs_dir));
  CRID_TRY(check_absolute(cfg, "seccomp_profile_root", cfg.seccomp_profile_root));
  CRID_TRY(check_absolute(cfg, "auth_file", cfg.auth_file, true));
  for (auto& d : cfg.cni_bin_dirs) CRID_TRY(check_absolute(cfg, "cni_bin_dirs", d));
  if (auto lvl = log::parse_level(cfg.log_level); !lvl)
    return bad(where("log_level"), "log_level", lvl.error().message());
  if (cfg.cgroup_driver != "cgroupfs" && cfg.cgroup_driver != "systemd")
    return bad(where("cgroup_driver"), "cgroup_driver",
               fmt::format("{} is not cgroupfs or systemd", printable(cfg.cgroup_driver)));
  if (cfg.default_cgroup_parent.empty() || cfg.default_cgroup_parent[0] != '/')
    return bad(where("default_cgroup_parent"), "default_cgroup_parent",
               "must be an absolute cgroup path such as \"/crid\"");
  if (!cfg.handlers.count(cfg.default_handler))
    return bad(where("default_handler"), "default_handler",
               fmt::format("no runtime handler named {} is configured", printable(cfg.default_handler)));
  for (auto& [name, h] : cfg.handlers) {
    std::string key = "runtime.handlers." + name;
    if (h.runtime_type != "oci" && h.runtime_type != "vm")
      return bad(where(key), key + ".runtime_type",
                 fmt::format("{} is not oci or vm", printable(h.runtime_type)));
    if (h.runtime_path.empty() || h.runtime_path[0] != '/')
      return bad(where(key), key + ".runtime_path", "must be an absolute path");
  }
  for (auto& [host, r] : cfg.registries)
    for (auto& m : r.mirrors)
      if (m.rfind("http://", 0) != 0 && m.rfind("https://", 0) != 0)
        return bad(where("image.registries.\"" + host + "\""),
                   "image.registries.\"" + host + "\".mirrors",
                   fmt::format("{} must start with http:// or https://", printable(m)));
  if (cfg.stream_port < 0 || cfg.stream_port > 65535)
    return bad(where("stream_port"), "stream_port", "must be between 0 and 65535");
  if (cfg.stream_tls_cert.empty() != cfg.stream_tls_key.empty())
    return bad(where("stream_tls_cert"), "stream_tls_cert",
               "stream_tls_cert and stream_tls_key must be set together");
  if (cfg.max_concurrent_downloads < 1)
    return bad(where("max_concurrent_downloads"), "max_concurrent_downloads", "must be at least 1");
  if (cfg.max_streams < 1) return bad(where("max_streams"), "max_streams", "must be at least 1");
  if (cfg.event_queue_length < 1)
    return bad(where("event_queue_length"), "event_queue_length", "must be at least 1");
  if (cfg.list_stream_batch < 1 || cfg.list_stream_batch > 100000)
    return bad(where("list_stream_batch"), "list_stream_batch", "must be between 1 and 100000");
  if (cfg.shm_size < 4096) return bad(where("shm_size"), "shm_size", "must be at least 4096");
  if (cfg.pids_limit < 0) return bad(where("pids_limit"), "pids_limit", "must not be negative");
  if (cfg.max_manifest_bytes < 1024)
    return bad(where("max_manifest_bytes"), "max_manifest_bytes", "must be at least 1024");
  if (cfg.pull_progress_timeout.count() <= 0)
    return bad(where("pull_progress_timeout"), "pull_progress_timeout", "must be positive");
  return Ok();
}

std::string render(const Config& cfg) {
  std::string out =
      "# crid configuration: the effective values, as `crid config` prints them.\n"
      "# Files: /etc/crid/crid.conf, then /etc/crid/crid.conf.d/*.conf in lexical order;\n"
      "# command-line flags override both.\n";
  // Sub-tables follow the last key of their section: TOML forbids going
  // back to a table once another has been opened.
  for (std::string section : {"", "runtime", "image", "network", "stream", "metrics"}) {
    if (!section.empty()) out += fmt::format("\n[{}]\n", section);
    for (auto& o : options())
      if (section == o.section)
        out += fmt::format("\n# {}\n{} = {}\n", o.help, o.key, render_value(cfg, o.member));
    if (section == "runtime")
      for (auto& [name, h] : cfg.handlers)
        out += fmt::format(
            "\n# Runtime handler {} (a RuntimeClass handler name).\n"
            "[runtime.handlers.{}]\nruntime_path = {}\nruntime_type = {}\nruntime_root = {}\n",
            quote(name), quote(name), quote(h.runtime_path), quote(h.runtime_type),
            quote(h.runtime_root));
    if (section == "image")
      for (auto& [host, r] : cfg.registries)
        out += fmt::format(
            "\n# Registry {}: mirrors tried in order, then the registry itself.\n"
            "[image.registries.{}]\nmirrors = {}\ninsecure = {}\n",
            quote(host), quote(host), render_list(r.mirrors), r.insecure ? "true" : "false");
  }
  return out;
}

std::string render_json(const Config& cfg) {
  nlohmann::json j = nlohmann::json::object();
  for (auto& o : options()) {
    auto& slot = std::string(o.section).empty() ? j : j[o.section];
    std::visit(
        [&](auto member) {
          using T = std::remove_cvref_t<decltype(cfg.*member)>;
          if constexpr (std::is_same_v<T, Duration>)
            slot[o.key] = format_duration(cfg.*member);
          else
            slot[o.key] = cfg.*member;
        },
        o.member);
  }
  for (auto& [name, h] : cfg.handlers)
    j["runtime"]["handlers"][name] = {{"runtime_path", h.runtime_path},
                                      {"runtime_type", h.runtime_type},
                                      {"runtime_root", h.runtime_root}};
  for (auto& [host, r] : cfg.registries)
    j["image"]["registries"][host] = {{"mirrors", r.mirrors}, {"insecure", r.insecure}};
  return j.dump();
}

std::vector<FlagInfo> flag_options() {
  std::vector<FlagInfo> out;
  for (auto& o : options()) out.push_back({o.key, flag_name(o.key), o.help});
  return out;
}

}  // namespace crid

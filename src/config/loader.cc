#include "config/loader.h"

#include <fmt/ranges.h>

namespace crid {

Result<Config> load_config(const ConfigSources& sources) {
  Config cfg = default_config();
  CRID_TRY(apply_file(cfg, sources.file, sources.file_required));
  CRID_TRY(apply_drop_ins(cfg, sources.drop_in_dir));
  for (auto& [key, value] : sources.flags) CRID_TRY(apply_flag(cfg, key, value));
  // Handlers without an explicit root get one under the final runroot.
  for (auto& [name, h] : cfg.handlers)
    if (h.runtime_root.empty()) h.runtime_root = cfg.runroot + "/runtimes/" + name;
  CRID_TRY(validate(cfg));
  return cfg;
}

namespace {
std::string show(const std::vector<std::string>& v) { return fmt::format("{}", v); }
std::string show(const std::string& s) { return s; }
std::string show(int64_t v) { return std::to_string(v); }
std::string show(Duration d) { return format_duration(d); }
}  // namespace

// Settings that only affect future work can change under a running daemon;
// paths and sockets cannot.
#define CRID_RELOADABLE(X)          \
  X(log_level)                      \
  X(unqualified_search_registries)  \
  X(pinned_images)                  \
  X(auth_file)                      \
  X(certs_dir)                      \
  X(max_concurrent_downloads)       \
  X(pull_progress_timeout)

std::vector<std::string> reloadable_changes(const Config& before, const Config& after) {
  std::vector<std::string> out;
#define X(f) \
  if (before.f != after.f) out.push_back(fmt::format(#f ": {} -> {}", show(before.f), show(after.f)));
  CRID_RELOADABLE(X)
#undef X
  if (before.registries != after.registries) out.push_back("registries: changed");
  return out;
}

void apply_reloadable(Config& live, const Config& next) {
#define X(f) live.f = next.f;
  CRID_RELOADABLE(X)
#undef X
  live.registries = next.registries;
}

}  // namespace crid

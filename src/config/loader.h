// Assembles the effective config from its layers, as the daemon and the
// `crid config` command both need it.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "config/config.h"

namespace crid {

struct ConfigSources {
  std::string file = "/etc/crid/crid.conf";
  bool file_required = false;  // true when the user named the file
  std::string drop_in_dir = "/etc/crid/crid.conf.d";
  std::vector<std::pair<std::string, std::string>> flags;  // key, value
};

// defaults -> file -> drop-ins -> flags -> validate.
Result<Config> load_config(const ConfigSources& sources);

// Names the reloadable settings that differ ("log_level: info -> debug").
std::vector<std::string> reloadable_changes(const Config& before, const Config& after);

// Copies the reloadable settings from `next` into `live`.
void apply_reloadable(Config& live, const Config& next);

}  // namespace crid

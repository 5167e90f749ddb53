// CNI network configurations: a .conflist (a named list of plugins) or a
// single-plugin .conf/.json, loaded from the conf dir in lexical order.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/result.h"

namespace crid::network {

struct CniNetwork {
  std::string file;         // where it came from
  std::string name;         // "name" of the list
  std::string cni_version;  // "cniVersion" of the list
  std::vector<nlohmann::json> plugins;  // each with at least "type"
};

// Parses one config file's content. A .conf/.json holds one plugin and is
// lifted into a one-plugin list. Pure: no I/O.
Result<CniNetwork> parse_cni_network(std::string_view text, const std::string& file);

// The first valid network in `dir` (files ending .conflist, .conf, .json,
// in lexical order); invalid files are skipped and reported in `skipped`.
// std::nullopt when there is none.
std::optional<CniNetwork> load_default_network(const std::string& dir,
                                               std::vector<std::string>* skipped = nullptr);

}  // namespace crid::network

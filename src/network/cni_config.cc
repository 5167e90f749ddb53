#include "network/cni_config.h"

#include <algorithm>
#include <filesystem>

#include "util/fs.h"

namespace crid::network {

Result<CniNetwork> parse_cni_network(std::string_view text, const std::string& file) {
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object())
    return make_error(ErrorKind::kInvalidArgument, "CNI config {}: not a JSON object", file);
  CniNetwork net;
  net.file = file;
  auto str = [&](const nlohmann::json& j, const char* key) -> std::string {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  net.name = str(doc, "name");
  net.cni_version = str(doc, "cniVersion");
  if (net.name.empty())
    return make_error(ErrorKind::kInvalidArgument, "CNI config {}: missing \"name\"", file);
  if (auto it = doc.find("plugins"); it != doc.end()) {
    if (!it->is_array() || it->empty())
      return make_error(ErrorKind::kInvalidArgument,
                        "CNI config {}: \"plugins\" must be a non-empty array", file);
    for (auto& p : *it) net.plugins.push_back(p);
  } else {
    net.plugins.push_back(doc);  // single-plugin form
  }
  for (size_t i = 0; i < net.plugins.size(); i++)
    if (!net.plugins[i].is_object() || str(net.plugins[i], "type").empty())
      return make_error(ErrorKind::kInvalidArgument,
                        "CNI config {}: plugin {} has no \"type\"", file, i);
  if (net.cni_version.empty())
    return make_error(ErrorKind::kInvalidArgument, "CNI config {}: missing \"cniVersion\"", file);
  return net;
}

std::optional<CniNetwork> load_default_network(const std::string& dir,
                                               std::vector<std::string>* skipped) {
  std::error_code ec;
  std::vector<std::string> files;
  for (auto it = std::filesystem::directory_iterator(dir, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    auto ext = it->path().extension();
    if (ext == ".conflist" || ext == ".conf" || ext == ".json") files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  for (auto& f : files) {
    auto text = fs::read_file(f, 1 << 20);
    if (!text) {
      if (skipped) skipped->push_back(text.error().message());
      continue;
    }
    auto net = parse_cni_network(*text, f);
    if (net) return std::move(net).value();
    if (skipped) skipped->push_back(net.error().message());
  }
  return std::nullopt;
}

}  // namespace crid::network

#include "image/digest.h"
#include "image/manifest.h"

#include <sys/utsname.h>

#include <nlohmann/json.hpp>

#include "image/reference.h"

namespace crid::image {

namespace {

using nlohmann::json;

Error bad(std::string_view what) {
  return make_error(ErrorKind::kInvalidArgument, "invalid manifest: {}", what);
}

bool is_layer_type(std::string_view t) {
  static const std::string_view kTypes[] = {
      "application/vnd.docker.image.rootfs.diff.tar.gzip",
      "application/vnd.oci.image.layer.v1.tar",
      "application/vnd.oci.image.layer.v1.tar+gzip",
      "application/vnd.oci.image.layer.v1.tar+zstd",
      "application/vnd.oci.image.layer.nondistributable.v1.tar",
      "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
      "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
  };
  for (auto k : kTypes)
    if (t == k) return true;
  return false;
}

Result<Descriptor> parse_descriptor(const json& j, std::string_view where) {
  if (!j.is_object()) return bad(fmt::format("{} is not an object", where));
  Descriptor d;
  if (j.contains("mediaType")) {
    if (!j["mediaType"].is_string()) return bad(fmt::format("{}.mediaType is not a string", where));
    d.media_type = j["mediaType"].get<std::string>();
  }
  if (!j.contains("digest") || !j["digest"].is_string())
    return bad(fmt::format("{} has no digest", where));
  d.digest = j["digest"].get<std::string>();
  if (!is_sha256_digest(d.digest))
    return bad(fmt::format("{} digest \"{}\" is not sha256:<64 hex>", where, d.digest));
  if (!j.contains("size") || !j["size"].is_number_integer())
    return bad(fmt::format("{} has no integer size", where));
  d.size = j["size"].get<int64_t>();
  if (d.size < 0) return bad(fmt::format("{} has a negative size", where));
  if (j.contains("urls") && j["urls"].is_array())
    for (auto& u : j["urls"])
      if (u.is_string()) d.urls.push_back(u.get<std::string>());
  return d;
}

Status parse_image_manifest(const json& j, ParsedManifest& out) {
  if (!j.contains("config")) return bad("image manifest has no config");
  CRID_ASSIGN(out.config, parse_descriptor(j["config"], "config"));
  if (out.config.media_type.empty()) out.config.media_type = std::string(media::kOciConfig);
  if (out.config.media_type != media::kDockerConfig && out.config.media_type != media::kOciConfig)
    return bad(fmt::format("config media type \"{}\" is not a container image config (not an image?)",
                           out.config.media_type));
  if (!j.contains("layers") || !j["layers"].is_array()) return bad("image manifest has no layers array");
  if (j["layers"].size() > kMaxLayers)
    return bad(fmt::format("image manifest lists {} layers, more than the {} allowed", j["layers"].size(),
                           kMaxLayers));
  size_t i = 0;
  for (auto& l : j["layers"]) {
    CRID_ASSIGN(Descriptor d, parse_descriptor(l, fmt::format("layers[{}]", i)));
    if (!is_layer_type(d.media_type))
      return bad(fmt::format("layers[{}] has unsupported media type \"{}\"", i, d.media_type));
    out.layers.push_back(std::move(d));
    ++i;
  }
  return Ok();
}

Status parse_index(const json& j, ParsedManifest& out) {
  if (!j.contains("manifests") || !j["manifests"].is_array()) return bad("index has no manifests array");
  size_t i = 0;
  for (auto& m : j["manifests"]) {
    IndexEntry e;
    CRID_ASSIGN(e.descriptor, parse_descriptor(m, fmt::format("manifests[{}]", i)));
    if (m.contains("platform") && m["platform"].is_object()) {
      auto& p = m["platform"];
      auto str = [&](const char* k) {
        return p.contains(k) && p[k].is_string() ? p[k].get<std::string>() : std::string();
      };
      e.platform = {str("os"), str("architecture"), str("variant")};
    }
    out.manifests.push_back(std::move(e));
    ++i;
  }
  return Ok();
}

std::string_view strip_params(std::string_view ct) {
  size_t semi = ct.find(';');
  if (semi != std::string_view::npos) ct = ct.substr(0, semi);
  while (!ct.empty() && ct.back() == ' ') ct.remove_suffix(1);
  return ct;
}

}  // namespace

std::string manifest_accept_header() {
  return fmt::format("{}, {}, {}, {}", media::kOciIndex, media::kOciManifest, media::kDockerManifestList,
                     media::kDockerManifest);
}

Result<ParsedManifest> parse_manifest(std::string_view body, std::string_view content_type,
                                      int64_t max_bytes) {
  if (static_cast<int64_t>(body.size()) > max_bytes)
    return bad(fmt::format("{} bytes exceeds the limit of {} (max_manifest_bytes)", body.size(), max_bytes));
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  if (j.contains("schemaVersion") && j["schemaVersion"] == 1)
    return make_error(ErrorKind::kInvalidArgument,
                      "schema1 manifests are not supported (push the image again with a current client)");
  std::string_view ct = strip_params(content_type);
  if (ct.find("vnd.docker.distribution.manifest.v1") != std::string_view::npos)
    return make_error(ErrorKind::kInvalidArgument, "schema1 manifests are not supported");

  std::string doc_type = j.contains("mediaType") && j["mediaType"].is_string()
                             ? j["mediaType"].get<std::string>()
                             : std::string();
  // The Content-Type wins when it names one of our types; generic ones
  // (application/json, octet-stream) defer to the document.
  std::string type;
  for (auto known : {media::kDockerManifest, media::kDockerManifestList, media::kOciManifest,
                     media::kOciIndex})
    if (ct == known) type = std::string(known);
  if (type.empty()) type = doc_type;
  if (type.empty()) {
    // OCI allows omitting mediaType: the shape decides.
    if (j.contains("manifests")) type = std::string(media::kOciIndex);
    else if (j.contains("config") && j.contains("layers")) type = std::string(media::kOciManifest);
    else return bad("no mediaType and neither an index nor an image manifest");
  }
  if (!doc_type.empty() && doc_type != type)
    return bad(fmt::format("served as \"{}\" but the document says \"{}\"", type, doc_type));

  ParsedManifest out;
  out.media_type = type;
  if (type == media::kDockerManifest || type == media::kOciManifest) {
    if (!j.contains("schemaVersion") || j["schemaVersion"] != 2) return bad("schemaVersion must be 2");
    CRID_TRY(parse_image_manifest(j, out));
  } else if (type == media::kDockerManifestList || type == media::kOciIndex) {
    if (!j.contains("schemaVersion") || j["schemaVersion"] != 2) return bad("schemaVersion must be 2");
    out.is_index = true;
    CRID_TRY(parse_index(j, out));
  } else {
    return bad(fmt::format("unsupported media type \"{}\"", type));
  }
  return out;
}

Platform platform_from_machine(std::string_view m) {
  Platform p{"linux", std::string(m), ""};
  if (m == "x86_64" || m == "amd64") p.architecture = "amd64";
  else if (m == "aarch64" || m == "arm64") p = {"linux", "arm64", "v8"};
  else if (m == "i386" || m == "i486" || m == "i586" || m == "i686") p.architecture = "386";
  else if (m == "armv7l" || m == "armv7") p = {"linux", "arm", "v7"};
  else if (m == "armv6l") p = {"linux", "arm", "v6"};
  else if (m == "armv5tel" || m == "armv5l") p = {"linux", "arm", "v5"};
  else if (m == "ppc64le") p.architecture = "ppc64le";
  else if (m == "s390x") p.architecture = "s390x";
  else if (m == "riscv64") p.architecture = "riscv64";
  else if (m == "mips64") p.architecture = "mips64";
  else if (m == "loongarch64") p.architecture = "loong64";
  return p;
}

Platform host_platform() {
  struct utsname u {};
  ::uname(&u);
  return platform_from_machine(u.machine);
}

std::string format_platform(const Platform& p) {
  std::string s = p.os + "/" + p.architecture;
  if (!p.variant.empty()) s += "/" + p.variant;
  return s;
}

Result<Descriptor> select_platform(const ParsedManifest& index, const Platform& want) {
  const IndexEntry* fallback = nullptr;
  std::string offered;
  for (const auto& e : index.manifests) {
    if (!offered.empty()) offered += ", ";
    offered += e.platform.os.empty() ? "(no platform)" : format_platform(e.platform);
    if (e.platform.os != want.os || e.platform.architecture != want.architecture) continue;
    if (e.descriptor.media_type != media::kDockerManifest && e.descriptor.media_type != media::kOciManifest &&
        !e.descriptor.media_type.empty())
      continue;
    if (e.platform.variant == want.variant) return e.descriptor;
    // arm64 images often omit the (only) variant v8.
    bool default_variant = e.platform.variant.empty() || (want.variant.empty() && e.platform.variant == "v8");
    if (default_variant && !fallback) fallback = &e;
  }
  if (fallback) return fallback->descriptor;
  return make_error(ErrorKind::kNotFound, "no manifest for platform {} in the index (offered: {})",
                    format_platform(want), offered.empty() ? "none" : offered);
}

}  // namespace crid::image

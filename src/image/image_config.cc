// parse_image_config(): the fields of an OCI / Docker image config that
// container creation needs, with type errors that name the field.
#include <nlohmann/json.hpp>

#include "image/digest.h"
#include "image/image_store.h"
#include "image/layer_unpack.h"
#include "util/printable.h"

namespace crid::image {

namespace {

using nlohmann::json;

Error type_error(const std::string& path, const char* want, const json& got) {
  return make_error(ErrorKind::kInvalidArgument, "image config: {} must be {}, got {}", path, want,
                    got.type_name());
}

// Absent and null both mean "not set", as in Go's encoding/json.
const json* field(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

Status get_string(const json& obj, const char* key, const std::string& path, std::string& out) {
  const json* v = field(obj, key);
  if (!v) return Ok();
  if (!v->is_string()) return type_error(path, "a string", *v);
  out = v->get<std::string>();
  return Ok();
}

Status get_string_array(const json& obj, const char* key, const std::string& path,
                        std::vector<std::string>& out) {
  const json* v = field(obj, key);
  if (!v) return Ok();
  if (!v->is_array()) return type_error(path, "an array of strings", *v);
  out.clear();
  for (size_t i = 0; i < v->size(); ++i) {
    const json& item = (*v)[i];
    if (!item.is_string()) return type_error(fmt::format("{}[{}]", path, i), "a string", item);
    out.push_back(item.get<std::string>());
  }
  return Ok();
}

}  // namespace

Result<ImageConfig> parse_image_config(std::string_view text) {
  json doc = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded())
    return make_error(ErrorKind::kInvalidArgument, "image config is not valid JSON");
  if (!doc.is_object()) return type_error("the document", "an object", doc);

  ImageConfig c;
  CRID_TRY(get_string(doc, "os", "os", c.os));
  CRID_TRY(get_string(doc, "architecture", "architecture", c.architecture));

  if (const json* cfg = field(doc, "config")) {
    if (!cfg->is_object()) return type_error("config", "an object", *cfg);
    CRID_TRY(get_string(*cfg, "User", "config.User", c.user));
    CRID_TRY(get_string_array(*cfg, "Env", "config.Env", c.env));
    CRID_TRY(get_string_array(*cfg, "Entrypoint", "config.Entrypoint", c.entrypoint));
    CRID_TRY(get_string_array(*cfg, "Cmd", "config.Cmd", c.cmd));
    CRID_TRY(get_string(*cfg, "WorkingDir", "config.WorkingDir", c.working_dir));
    CRID_TRY(get_string(*cfg, "StopSignal", "config.StopSignal", c.stop_signal));
    if (const json* vols = field(*cfg, "Volumes")) {
      // A set encoded as an object whose values are empty objects.
      if (!vols->is_object()) return type_error("config.Volumes", "an object", *vols);
      for (const auto& [path, _] : vols->items()) c.volumes.push_back(path);
    }
    if (const json* labels = field(*cfg, "Labels")) {
      if (!labels->is_object()) return type_error("config.Labels", "an object", *labels);
      for (const auto& [k, v] : labels->items()) {
        if (!v.is_string()) return type_error("config.Labels." + k, "a string", v);
        c.labels[k] = v.get<std::string>();
      }
    }
  }

  if (const json* rootfs = field(doc, "rootfs")) {
    if (!rootfs->is_object()) return type_error("rootfs", "an object", *rootfs);
    std::string type;
    CRID_TRY(get_string(*rootfs, "type", "rootfs.type", type));
    if (!type.empty() && type != "layers")
      return make_error(ErrorKind::kInvalidArgument,
                        "image config: rootfs.type is {}, only \"layers\" is defined", printable(type));
    CRID_TRY(get_string_array(*rootfs, "diff_ids", "rootfs.diff_ids", c.diff_ids));
    for (size_t i = 0; i < c.diff_ids.size(); ++i)
      if (!is_sha256_digest(c.diff_ids[i]))
        return make_error(ErrorKind::kInvalidArgument,
                          "image config: rootfs.diff_ids[{}] {} is not a sha256 digest", i,
                          printable(c.diff_ids[i]));
  }
  return c;
}

}  // namespace crid::image

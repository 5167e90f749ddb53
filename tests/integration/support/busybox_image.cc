#include "support/busybox_image.h"

#include <unistd.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "support/test_images.h"

namespace crid::testing {

using json = nlohmann::json;

namespace {

// Users for run_as_username tests: "app" is in its own group and a
// supplementary one.
TestLayer accounts_layer(const std::string& working_dir) {
  TestLayer l;
  l.compression = Compression::kGzip;
  l.entries = {
      {LayerEntry::kDir, "etc", "", "", 0755},
      {LayerEntry::kFile, "etc/passwd",
       "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n", "", 0644},
      {LayerEntry::kFile, "etc/group", "root:x:0:\napp:x:1000:\nextra:x:2000:app\n", "", 0644},
      {LayerEntry::kDir, "mnt", "", "", 0755},
      {LayerEntry::kDir, "proc", "", "", 0755},
      {LayerEntry::kDir, "sys", "", "", 0755},
      {LayerEntry::kDir, "dev", "", "", 0755},
  };
  if (!working_dir.empty())
    l.entries.push_back({LayerEntry::kDir, working_dir.substr(1), "", "", 0755});
  return l;
}

// Every applet the tests use, as links to /bin/busybox.
TestLayer applets_layer() {
  TestLayer l;
  l.compression = Compression::kGzip;
  for (const char* a : {"echo", "env", "id", "pwd", "sleep", "touch", "mount", "unshare", "head", "tail",
                        "printf", "grep", "dd", "true", "false", "mkdir", "rm", "hostname", "tr", "wc", "ps"})
    l.entries.push_back({LayerEntry::kSymlink, std::string("bin/") + a, "", "busybox"});
  return l;
}

}  // namespace

std::string push_busybox_image(const std::string& dir, const LocalRegistry& registry, const std::string& repo,
                               const ImageConfigSpec& spec) {
  OciLayout layout(dir);
  std::vector<TestLayer> layers{busybox_layer(Compression::kGzip), applets_layer(),
                                accounts_layer(spec.working_dir)};
  json manifest = {{"schemaVersion", 2}, {"mediaType", "application/vnd.oci.image.manifest.v1+json"}};
  manifest["layers"] = json::array();
  std::vector<std::string> diff_ids;
  for (const auto& l : layers) {
    BuiltLayer b = build_layer(l);
    std::string d = layout.add_blob(b.blob);
    diff_ids.push_back(b.diff_id);
    manifest["layers"].push_back({{"mediaType", "application/vnd.oci.image.layer.v1.tar+gzip"},
                                  {"digest", d},
                                  {"size", b.blob.size()}});
  }
  json cfg = {{"Env", spec.env}, {"Cmd", spec.cmd}};
  if (!spec.entrypoint.empty()) cfg["Entrypoint"] = spec.entrypoint;
  if (!spec.working_dir.empty()) cfg["WorkingDir"] = spec.working_dir;
  if (!spec.user.empty()) cfg["User"] = spec.user;
  if (!spec.stop_signal.empty()) cfg["StopSignal"] = spec.stop_signal;
  if (!spec.volumes.empty()) {
    cfg["Volumes"] = json::object();
    for (const auto& v : spec.volumes) cfg["Volumes"][v] = json::object();
  }
  json config = {{"architecture", host_architecture()},
                 {"os", "linux"},
                 {"config", cfg},
                 {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}};
  std::string config_json = config.dump();
  std::string config_digest = layout.add_blob(config_json);
  manifest["config"] = {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                        {"digest", config_digest},
                        {"size", config_json.size()}};
  std::string body = manifest.dump();
  std::string manifest_digest = layout.add_blob(body);
  json index = {{"schemaVersion", 2},
                {"manifests",
                 {{{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                   {"digest", manifest_digest},
                   {"size", body.size()},
                   {"annotations", {{"org.opencontainers.image.ref.name", "latest"}}}}}}};
  std::ofstream(dir + "/index.json", std::ios::trunc) << index.dump();
  return skopeo_push(dir, "latest", registry.host() + "/" + repo + ":latest");
}

ServedImage::ServedImage(const std::string& repo, const ImageConfigSpec& spec) : repo_(repo) {
  if (::geteuid() != 0) return;
  if (!registry_.start(&error_)) return;
  error_ = push_busybox_image(dir_.file("layout"), registry_, repo_, spec);
}

std::string insecure_registry_conf(const LocalRegistry& registry) {
  return "[image]\n[image.registries.\"" + registry.host() + "\"]\ninsecure = true\n";
}

std::string pull_image(CridProcess& crid, const std::string& ref) {
  v1::PullImageRequest req;
  req.mutable_image()->set_image(ref);
  v1::PullImageResponse resp;
  auto st = crid.images().PullImage(call_context().get(), req, &resp);
  return st.ok() ? "" : "pulling " + ref + ": " + st.error_message();
}

}  // namespace crid::testing

#include "oci/devices.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <filesystem>
#include <system_error>

namespace crid::oci {
namespace {

std::optional<DeviceNode> node_from_stat(const struct stat& st, const std::string& path) {
  char type;
  if (S_ISCHR(st.st_mode)) type = 'c';
  else if (S_ISBLK(st.st_mode)) type = 'b';
  else return std::nullopt;
  DeviceNode n;
  n.path = path;
  n.type = type;
  n.major = major(st.st_rdev);
  n.minor = minor(st.st_rdev);
  n.file_mode = st.st_mode & 07777;
  n.uid = st.st_uid;
  n.gid = st.st_gid;
  return n;
}

}  // namespace

Result<DeviceNode> resolve_device(const std::string& host_path,
                                  const std::string& container_path) {
  struct stat st{};
  if (stat(host_path.c_str(), &st) != 0) return sys_error("device {}", host_path);
  auto node = node_from_stat(st, container_path.empty() ? host_path : container_path);
  if (!node)
    return make_error(ErrorKind::kInvalidArgument, "device {} is not a character or block device",
                      host_path);
  return *node;
}

Result<std::vector<DeviceNode>> resolve_request_devices(const std::vector<Device>& devices) {
  std::vector<DeviceNode> out;
  out.reserve(devices.size());
  for (const auto& d : devices) {
    CRID_ASSIGN(auto node, resolve_device(d.host_path, d.container_path));
    out.push_back(std::move(node));
  }
  return out;
}

Result<std::vector<DeviceNode>> list_host_devices(const std::string& dev_root) {
  namespace stdfs = std::filesystem;
  std::vector<DeviceNode> out;
  std::error_code ec;
  stdfs::recursive_directory_iterator it(dev_root, stdfs::directory_options::skip_permission_denied,
                                         ec);
  if (ec) return make_error(ErrorKind::kInternal, "listing {}: {}", dev_root, ec.message());
  for (; it != stdfs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return make_error(ErrorKind::kInternal, "listing {}: {}", dev_root, ec.message());
    std::string rel = stdfs::relative(it->path(), dev_root, ec).string();
    if (rel == "pts" || rel == "shm" || rel == "mqueue") {
      it.disable_recursion_pending();
      continue;
    }
    if (rel == "console") continue;
    struct stat st{};
    if (lstat(it->path().c_str(), &st) != 0) continue;  // vanished meanwhile
    if (auto node = node_from_stat(st, "/dev/" + rel)) out.push_back(std::move(*node));
  }
  return out;
}

}  // namespace crid::oci

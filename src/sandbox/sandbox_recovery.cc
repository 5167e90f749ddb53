// Start-up recovery of pod sandboxes: a daemon killed in the middle of
// RunPodSandbox leaves a pod dir (and maybe pins, shm, a CNI attachment)
// with no row; a reboot leaves READY rows whose namespaces (or pause) are
// gone.
#include <filesystem>
#include <set>

#include <spdlog/spdlog.h>

#include "sandbox/sandbox_manager.h"
#include "util/fs.h"
#include "util/log.h"

namespace crid::sandbox {

void SandboxManager::recover() {
  auto rows = store_->list();
  if (!rows) {
    spdlog::error("[recover] cannot list pods: {}", rows.error().message());
    return;
  }
  std::set<std::string> known;
  for (auto& pod : *rows) {
    known.insert(pod.id);
    std::string t = fmt::format("[recover pod={}]", log::short_id(pod.id));
    bool pins_gone = (!pod.ns.net.empty() && !fs::exists(pod.ns.net)) ||
                     (!pod.ns.ipc.empty() && !fs::exists(pod.ns.ipc));
    bool pause_gone = !pod.infra.empty() && !pause_alive(pod.infra);
    if (pod.state == PodState::kReady && (pins_gone || pause_gone)) {
      spdlog::warn("{} {} gone (reboot?): marking NOTREADY", t,
                   pins_gone ? "namespaces are" : "the pause of its PID namespace is");
      pod.state = PodState::kNotReady;
    }
    if (pod.state != PodState::kNotReady) continue;
    // A NOTREADY pod holds nothing: finish a stop that was cut short, or
    // release what a reboot left (host-local IPs live on disk, for one).
    bool holds = !pod.infra.empty() || !pod.ns.net.empty() || !pod.ns.ipc.empty() ||
                 !pod.ns.uts.empty() || fs::exists(config_.get()->root + "/cni-cache/" + pod.id + ".json") ||
                 fs::exists(PodFilePaths{pod_dir(pod.id)}.shm());
    if (!holds) continue;
    spdlog::info("{} finishing the teardown of a stopped pod", t);
    if (auto st = teardown_locked(pod, t); !st) spdlog::error("{} {}", t, st.error().message());
    if (auto st = store_->update(pod); !st) spdlog::error("{} {}", t, st.error().message());
  }

  // Half-created pods: tear down whatever the interrupted Run made.
  std::error_code ec;
  std::string pods_dir = config_.get()->runroot + "/pods";
  for (auto it = std::filesystem::directory_iterator(pods_dir, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    std::string id = it->path().filename();
    if (known.count(id)) continue;
    spdlog::warn("[recover pod={}] leftover of an interrupted RunPodSandbox: cleaning up",
                 log::short_id(id));
    PodFilePaths paths{it->path()};
    std::string ns = paths.dir + "/ns";
    if (auto st = kill_pause(read_infra_file(paths.infra_pid()), "[recover]"); !st)
      spdlog::error("[recover] {}", st.error().message());
    // Killed between starting the pause and writing infra.pid: find it by
    // the namespaces it joined.
    if (auto st = kill_pauses_in({ns + "/net", ns + "/ipc", ""}, "[recover]"); !st)
      spdlog::error("[recover] {}", st.error().message());
    if (auto st = cni_->del(id); !st) spdlog::error("[recover] {}", st.error().message());
    (void)unmount_pod_shm(paths);
    (void)remove_pod_namespaces({ns + "/net", ns + "/ipc", ns + "/uts"});
    if (auto st = fs::remove_all(paths.dir); !st)
      spdlog::error("[recover] {}", st.error().message());
  }
  // CNI attachments whose pod dir vanished (runroot wiped by a reboot).
  for (auto it = std::filesystem::directory_iterator(config_.get()->root + "/cni-cache", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename();
    // An atomic write cut short leaves its temporary file.
    if (name.find(".json.tmp.") != std::string::npos) {
      std::error_code rm_ec;
      std::filesystem::remove(it->path(), rm_ec);
      continue;
    }
    std::string id = it->path().stem();
    if (known.count(id) || it->path().extension() != ".json") continue;
    if (auto st = cni_->del(id); !st) spdlog::error("[recover] {}", st.error().message());
  }
}

}  // namespace crid::sandbox

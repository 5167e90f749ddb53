// Start-up recovery of pod sandboxes: a daemon killed in the middle of
// RunPodSandbox leaves a pod dir (and maybe pins, shm, a CNI attachment)
// with no row; a reboot leaves READY rows whose namespaces (or pause) are
// gone.
// The operations journal goes first: it names exactly what an interrupted
// RunPodSandbox made; the directory and CNI-cache sweeps stay behind it.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include <spdlog/spdlog.h>

#include "sandbox/sandbox_manager.h"
#include "util/fs.h"
#include "util/log.h"

namespace crid::sandbox {

void SandboxManager::undo_unfinished_runs() {
  auto ops = journal_->pending(kRunOperation);
  if (!ops) {
    spdlog::error("[recover] reading the operations journal: {}", ops.error().message());
    return;
  }
  for (const auto& op : *ops) {
    std::string t = fmt::format("[recover pod={}]", log::short_id(op.id));
    auto row = store_->get(op.id);
    if (row && *row) {
      // Cannot happen (row and journal end commit together); keep the pod.
      (void)journal_->forget(kRunOperation, op.id);
      continue;
    }
    spdlog::warn("{} undoing an interrupted RunPodSandbox of {} (steps begun: {})", t,
                 op.detail.value("name", std::string("?")), fmt::join(op.steps, ", "));
    PodFilePaths paths{pod_dir(op.id)};
    std::string ns = paths.dir + "/ns";
    bool clean = true;
    auto report = [&](const Status& st) {
      if (st) return;
      clean = false;
      spdlog::error("{} {}", t, st.error().message());
    };
    if (op.noted("pause-starting")) {
      InfraProcess recorded;
      recorded.pid = op.detail.value("pause_pid", 0);
      recorded.start_time = op.detail.value("pause_start", uint64_t{0});
      report(kill_pause(recorded, t));
      // Killed before its pid was noted: the pause carries the pod id.
      report(kill_pauses_of_pod(op.id, t));
    }
    if (op.noted("cni-add")) report(cni_->del(op.id));
    if (op.noted("shm")) report(unmount_pod_shm(paths));
    if (op.noted("namespaces")) report(remove_pod_namespaces({ns + "/net", ns + "/ipc", ns + "/uts"}));
    report(fs::remove_all(paths.dir));
    // Only if still empty: another pod of the same directory may use it.
    if (auto dir = op.detail.value("log_dir", std::string()); !dir.empty()) ::rmdir(dir.c_str());
    // A step that could not be undone stays in the journal for the next start.
    if (clean) report(journal_->forget(kRunOperation, op.id));
  }
}

void SandboxManager::recover() {
  undo_unfinished_runs();
  auto rows = store_->list();
  if (!rows) {
    spdlog::error("[recover] cannot list pods: {}", rows.error().message());
    return;
  }
  std::set<std::string> known;
  for (auto& pod : *rows) {
    known.insert(pod.id);
    std::string t = fmt::format("[recover pod={}]", log::short_id(pod.id));
    // A pin file that holds no namespace is what a reboot leaves of it on a
    // runroot on disk. It goes now: CNI plugins skip a netns path that does
    // not exist on DEL, but refuse one that is not a namespace.
    bool pins_gone = false;
    for (const auto* pin : {&pod.ns.net, &pod.ns.ipc, &pod.ns.uts}) {
      if (pin->empty() || namespace_pin_holds(*pin)) continue;
      pins_gone = true;
      if (::unlink(pin->c_str()) != 0 && errno != ENOENT)
        spdlog::warn("{} removing the dead namespace pin {}: {}", t, *pin, std::strerror(errno));
    }
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
    // its label, or the namespaces it joined (a pause of an older daemon).
    if (auto st = kill_pauses_of_pod(id, "[recover]"); !st)
      spdlog::error("[recover] {}", st.error().message());
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
  // Retry answers: of pods still here, kept; of pods gone meanwhile, dropped.
  auto answers = answers_->load(kPodKind);
  if (!answers) {
    spdlog::error("[recover] reading the retry answers: {}", answers.error().message());
    return;
  }
  std::lock_guard lock(names_mu_);
  for (auto& [key, id] : *answers) {
    if (known.count(id)) {
      unclaimed_[key] = id;
    } else if (auto st = answers_->remove(kPodKind, key); !st) {
      spdlog::error("[recover] {}", st.error().message());
    }
  }
}

}  // namespace crid::sandbox

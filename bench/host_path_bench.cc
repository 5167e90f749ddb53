// What the safe host-path handling adds to a CreateContainer: resolving a
// kubelet-like host path component by component, and staging it (clone +
// attach) and unstaging it (detach + rmdir) for a container with four bind
// mounts. Staging needs root; without it that benchmark reports an error.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <benchmark/benchmark.h>

#include "container/host_path_resolver.h"
#include "container/host_path_stage.h"
#include "util/ids.h"

namespace {

using namespace crid::container;
namespace fsys = std::filesystem;

// A tree like /var/lib/kubelet/pods/<uid>/volumes/kubernetes.io~empty-dir/<n>
// under a temp dir, with four volumes (two dirs, a file, a dir via a link).
struct Tree {
  fsys::path root;
  std::vector<std::string> mounts;
  Tree() {
    root = fsys::canonical(fsys::temp_directory_path()) / ("crid-hp-bench-" + crid::random_hex(6));
    fsys::path vols = root / "var/lib/kubelet/pods/0b1c2d3e/volumes/kubernetes.io~empty-dir";
    fsys::create_directories(vols / "cache");
    fsys::create_directories(vols / "data");
    std::ofstream(root / "var/lib/kubelet/pods/0b1c2d3e/etc-hosts") << "127.0.0.1 localhost\n";
    fsys::create_symlink(vols / "data", root / "var/lib/kubelet/pods/0b1c2d3e/data-link");
    mounts = {(vols / "cache").string(), (vols / "data").string(),
              (root / "var/lib/kubelet/pods/0b1c2d3e/etc-hosts").string(),
              (root / "var/lib/kubelet/pods/0b1c2d3e/data-link").string()};
  }
  ~Tree() { fsys::remove_all(root); }
};

HostPathPolicy policy_with_rows(size_t rows) {
  HostPathPolicy p;
  p.trusted_owner = ::geteuid();
  for (size_t i = 0; i < rows; ++i) p.container_writable.push_back({1, static_cast<ino_t>(i * 7)});
  std::sort(p.container_writable.begin(), p.container_writable.end());
  return p;
}

void BM_ResolveFourHostPaths(benchmark::State& state) {
  Tree t;
  HostPathPolicy policy = policy_with_rows(static_cast<size_t>(state.range(0)));
  for (auto _ : state)
    for (const auto& m : t.mounts) {
      auto r = resolve_host_path(m, policy);
      if (!r) state.SkipWithError(r.error().message().c_str());
      benchmark::DoNotOptimize(r);
    }
}
BENCHMARK(BM_ResolveFourHostPaths)->Arg(0)->Arg(1000);

void BM_StageAndUnstageFourHostPaths(benchmark::State& state) {
  if (::geteuid() != 0) {
    state.SkipWithError("staging mounts needs root");
    return;
  }
  Tree t;
  std::string stages = (t.root / "stages").string();
  HostPathPolicy policy = policy_with_rows(0);
  for (auto _ : state) {
    for (size_t i = 0; i < t.mounts.size(); ++i) {
      auto r = resolve_host_path(t.mounts[i], policy);
      auto at = stage_host_path(*r, stages, i);
      if (!at) state.SkipWithError(at.error().message().c_str());
    }
    auto s = unstage_host_paths(stages);
    if (!s) state.SkipWithError(s.error().message().c_str());
  }
}
BENCHMARK(BM_StageAndUnstageFourHostPaths);

}  // namespace

// Unpacks arbitrary bytes as a layer and aborts if anything is created
// outside the layer dir: the unpacker's one hard promise.
//
// "Outside" has to include the whole filesystem (an escape through an
// absolute symlink lands anywhere), so where it can, the target first moves
// into a private mount namespace and chroots into a fresh tmpfs holding
// only the layer dir: then every path the unpacker could reach is visible
// and checked after each input. The working directory stays outside the
// chroot on purpose, so libFuzzer still reads and writes its corpus and
// crash files through relative paths (scripts/fuzz runs from a work dir).
// Without the privileges for that (or with CRID_FUZZ_NO_CHROOT set), it
// falls back to a temp dir and checks the levels above the layer dir only.
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "image/layer_unpack.h"
#include "util/fs.h"
#include "util/unique_fd.h"

namespace {

namespace stdfs = std::filesystem;

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "layer_unpack_fuzz: %s\n", why.c_str());
  std::abort();
}

// The directory everything must stay within: "/" of the chroot, or the
// parent of a temp sandbox. Only `layer` may exist in it.
std::string g_root;

bool enter_private_root() {
  // Inside the chroot ASan finds no symbolizer: reproduce a crash with
  // CRID_FUZZ_NO_CHROOT=1 for readable stack traces.
  if (std::getenv("CRID_FUZZ_NO_CHROOT")) return false;
  if (::unshare(CLONE_NEWNS) != 0) return false;
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return false;
  // Any existing dir will do as the mount point: the tmpfs hides it only in
  // this private namespace, and nothing is left on the host afterwards.
  const char* mnt = "/mnt";
  if (::mount("tmpfs", mnt, "tmpfs", MS_NOSUID, "size=256m,mode=0755") != 0) return false;
  // LeakSanitizer reads /proc/self/maps at exit: give it a read-only /proc
  // (read-only, so an escaping layer could not write sysctls either).
  if (::mkdir("/mnt/proc", 0555) != 0 ||
      ::mount("proc", "/mnt/proc", "proc", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
    return false;
  if (::chroot(mnt) != 0) return false;
  // Deliberately no chdir("/"): see the comment at the top.
  return true;
}

// Fallback: the layer dir sits three levels below a temp dir, and each level
// must hold only the next, which catches ".." escapes (not absolute ones).
constexpr const char* kLevels[] = {"a", "b", "c"};
std::string g_top;

void setup_once() {
  spdlog::set_level(spdlog::level::off);
  if (enter_private_root()) {
    g_root = "/";
    std::fprintf(stderr, "layer_unpack_fuzz: checking the whole filesystem (chroot in a tmpfs)\n");
    return;
  }
  char tmpl[] = "/tmp/crid-fuzz-layer-XXXXXX";
  if (!::mkdtemp(tmpl)) fail("mkdtemp");
  g_top = tmpl;
  g_root = g_top;
  for (const char* level : kLevels) {
    g_root += std::string("/") + level;
    if (::mkdir(g_root.c_str(), 0755) != 0) fail("mkdir " + g_root);
  }
  std::fprintf(stderr, "layer_unpack_fuzz: no private mount namespace (not root?); checking %s\n",
               g_top.c_str());
}

std::string layer_dir() { return g_root == "/" ? "/layer" : g_root + "/layer"; }

void expect_only(const std::string& dir, const std::string& child) {
  for (auto& e : stdfs::directory_iterator(dir))
    if (e.path().filename() != child) fail("entry outside the layer: " + e.path().string());
}

void check_nothing_outside() {
  if (g_root == "/") {
    for (auto& e : stdfs::directory_iterator("/")) {
      auto name = e.path().filename();
      if (name != "layer" && name != "proc") fail("entry outside the layer: " + e.path().string());
    }
    return;
  }
  expect_only(g_root, "layer");
  if (g_top.empty()) return;
  std::string dir = g_top;
  for (const char* level : kLevels) {
    expect_only(dir, level);
    dir += std::string("/") + level;
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Before libFuzzer starts its threads: unshare(CLONE_NEWNS) needs a
  // single-threaded process.
  setup_once();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool use_fallback = false;  // alternate the two path-resolution strategies
  use_fallback = !use_fallback;
  crid::image::force_openat2_fallback_for_testing(use_fallback);

  const std::string layer = layer_dir();
  if (::mkdir(layer.c_str(), 0755) != 0) fail("mkdir " + layer);

  crid::UniqueFd fd(::memfd_create("layer", MFD_CLOEXEC));
  if (!fd.valid()) fail("memfd_create");
  size_t off = 0;
  while (off < size) {
    ssize_t n = ::write(fd.get(), data + off, size - off);
    if (n <= 0) fail("write");
    off += static_cast<size_t>(n);
  }
  ::lseek(fd.get(), 0, SEEK_SET);

  crid::image::UnpackOptions opts;
  opts.layer_digest = "sha256:fuzz";
  (void)crid::image::unpack_layer(fd.get(), layer, opts);

  check_nothing_outside();
  if (!crid::fs::remove_all(layer)) fail("cleaning up " + layer);
  return 0;
}

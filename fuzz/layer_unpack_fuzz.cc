// Unpacks arbitrary bytes as a layer into a fresh sandbox and aborts if
// anything appears outside the layer dir: the unpacker's one hard promise.
#include <spdlog/spdlog.h>
#include <sys/mman.h>
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

void fail(const std::string& why) {
  std::fprintf(stderr, "layer_unpack_fuzz: %s\n", why.c_str());
  std::abort();
}

void check_sandbox(const std::string& sandbox) {
  for (auto& e : std::filesystem::directory_iterator(sandbox)) {
    std::string name = e.path().filename();
    if (name != "layer" && name != "outside") fail("entry outside the layer: " + e.path().string());
  }
  if (!std::filesystem::is_empty(sandbox + "/outside")) fail("the sentinel dir was written to");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool quiet = [] {
    spdlog::set_level(spdlog::level::off);
    return true;
  }();
  (void)quiet;
  static bool use_fallback = false;  // alternate the two path-resolution strategies
  use_fallback = !use_fallback;
  crid::image::force_openat2_fallback_for_testing(use_fallback);

  char tmpl[] = "/tmp/crid-fuzz-layer-XXXXXX";
  if (!::mkdtemp(tmpl)) fail("mkdtemp");
  std::string sandbox = tmpl;
  if (::mkdir((sandbox + "/layer").c_str(), 0755) != 0 ||
      ::mkdir((sandbox + "/outside").c_str(), 0755) != 0)
    fail("mkdir");

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
  (void)crid::image::unpack_layer(fd.get(), sandbox + "/layer", opts);

  check_sandbox(sandbox);
  if (!crid::fs::remove_all(sandbox)) fail("cleaning up " + sandbox);
  return 0;
}

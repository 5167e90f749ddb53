#include "util/self_exe.h"

#include <unistd.h>

namespace crid {

namespace {
std::string g_self_exe;
}  // namespace

void remember_self_exe() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) g_self_exe.assign(buf, static_cast<size_t>(n));
}

const std::string& self_exe() {
  if (g_self_exe.empty()) remember_self_exe();
  return g_self_exe;
}

}  // namespace crid

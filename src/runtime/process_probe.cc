#include "runtime/process_probe.h"

#include <dirent.h>
#include <signal.h>

#include <cstdlib>
#include <map>
#include <thread>

#include "util/fs.h"

namespace crid::runtime {

namespace {

// State letter and parent pid from /proc/<pid>/stat; the command name in
// parentheses may itself hold spaces or parentheses, so parse after the
// last ')'.
bool read_stat(pid_t pid, char* state, pid_t* ppid) {
  auto text = fs::read_file("/proc/" + std::to_string(pid) + "/stat", 4096);
  if (!text) return false;
  size_t close = text->rfind(')');
  if (close == std::string::npos || close + 4 > text->size()) return false;
  *state = (*text)[close + 2];
  *ppid = static_cast<pid_t>(std::strtol(text->c_str() + close + 4, nullptr, 10));
  return true;
}

}  // namespace

bool process_alive(pid_t pid, const std::string& cmdline_must_contain) {
  if (pid <= 0) return false;
  char state = 0;
  pid_t ppid = 0;
  if (!read_stat(pid, &state, &ppid) || state == 'Z' || state == 'X') return false;
  if (cmdline_must_contain.empty()) return true;
  auto cmdline = fs::read_file("/proc/" + std::to_string(pid) + "/cmdline", 1 << 16);
  if (!cmdline) return false;
  for (auto& c : *cmdline)
    if (c == '\0') c = ' ';
  return cmdline->find(cmdline_must_contain) != std::string::npos;
}

bool wait_process_gone(pid_t pid, std::chrono::milliseconds timeout,
                       const std::string& cmdline_must_contain) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (process_alive(pid, cmdline_must_contain)) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

std::vector<pid_t> process_tree(pid_t root) {
  std::multimap<pid_t, pid_t> children;
  if (DIR* d = ::opendir("/proc")) {
    while (auto* e = ::readdir(d)) {
      pid_t pid = static_cast<pid_t>(std::strtol(e->d_name, nullptr, 10));
      char state;
      pid_t ppid;
      if (pid > 0 && read_stat(pid, &state, &ppid)) children.emplace(ppid, pid);
    }
    ::closedir(d);
  }
  std::vector<pid_t> out{root};
  for (size_t i = 0; i < out.size(); i++) {
    auto [b, e] = children.equal_range(out[i]);
    for (auto it = b; it != e; ++it) out.push_back(it->second);
  }
  return out;
}

void kill_process_tree(pid_t pid) {
  if (pid <= 0) return;
  // Stop first so nothing forks while the tree is being collected.
  ::kill(pid, SIGSTOP);
  for (pid_t p : process_tree(pid)) ::kill(p, SIGKILL);
}

}  // namespace crid::runtime

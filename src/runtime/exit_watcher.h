// ExitWatcher: learns about container exits from the monitors' exit
// directory. conmon writes "<exit-dir>/<container id>" (the exit code as
// text) when a container's main process ends, atomically (temp file +
// rename), so one inotify watch on the directory sees every exit without a
// thread per container.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "runtime/oci_runtime.h"
#include "util/result.h"
#include "util/unique_fd.h"

namespace crid::runtime {

struct ExitEvent {
  std::string id;
  int code = -1;
  WallTime finished_at;     // the exit file's modification time
  bool oom_killed = false;  // from the OomCheck, if one is set
};

// Reads "<dir>/<id>": nullopt when absent, an error when unreadable.
Result<std::optional<ExitEvent>> read_exit_file(const std::string& dir, const std::string& id);

class ExitWatcher {
 public:
  using Callback = std::function<void(const ExitEvent&)>;
  // Whether container `id` hit its memory limit. conmon drops its "oom"
  // marker before it writes the exit file, so asking on delivery is
  // race-free; where the marker lives is the runtime's business.
  using OomCheck = std::function<bool(const std::string& id)>;

  ExitWatcher() = default;
  ~ExitWatcher();
  ExitWatcher(const ExitWatcher&) = delete;
  ExitWatcher& operator=(const ExitWatcher&) = delete;

  // Creates `dir` if needed and starts watching it. With `replay_existing`,
  // exit files already there (exits while the daemon was down) are
  // delivered first. The callback runs on the watcher's thread.
  Status start(const std::string& dir, Callback cb, bool replay_existing = true);
  // Set before start().
  void set_oom_check(OomCheck check) { oom_check_ = std::move(check); }
  // Stops the thread; no callback runs after it returns.
  void stop();

 private:
  void run();
  void deliver(const std::string& name);

  std::string dir_;
  Callback cb_;
  OomCheck oom_check_;
  UniqueFd inotify_;
  UniqueFd wake_;  // eventfd that ends run()
  std::thread thread_;
};

}  // namespace crid::runtime

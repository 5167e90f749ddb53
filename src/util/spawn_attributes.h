// posix_spawn attributes and file actions as owned objects, with the one
// signal setup every child of the daemon needs: the daemon blocks signals
// in its threads (only its signal loop takes them), and a child must not
// start with that mask or with a handler's disposition.
#pragma once

#include <spawn.h>

namespace crid {

class SpawnAttributes {
 public:
  enum class Group {
    kDaemons,  // stays in the daemon's process group
    kOwn,      // its own group: a terminal's ^C to the daemon must not reach it
  };
  explicit SpawnAttributes(Group group);
  ~SpawnAttributes() { posix_spawnattr_destroy(&attr_); }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;

  const posix_spawnattr_t* get() const { return &attr_; }

 private:
  posix_spawnattr_t attr_;
};

class SpawnFileActions {
 public:
  SpawnFileActions() { posix_spawn_file_actions_init(&fa_); }
  ~SpawnFileActions() { posix_spawn_file_actions_destroy(&fa_); }
  SpawnFileActions(const SpawnFileActions&) = delete;
  SpawnFileActions& operator=(const SpawnFileActions&) = delete;

  posix_spawn_file_actions_t* get() { return &fa_; }

 private:
  posix_spawn_file_actions_t fa_;
};

}  // namespace crid

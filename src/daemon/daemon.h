// The daemon's process lifecycle: claim the root, open the CRI socket,
// serve until SIGTERM/SIGINT, reload on SIGHUP, and leave nothing behind.
#pragma once

#include "config/loader.h"
#include "util/result.h"

namespace crid {

// Blocks the signals the daemon handles in every thread; call first in main,
// before any thread exists.
void block_daemon_signals();

// Runs the daemon until a termination signal. `sources` is kept to re-read
// the config on SIGHUP.
Status run_daemon(const ConfigSources& sources, Config cfg);

}  // namespace crid

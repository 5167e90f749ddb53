// The path of the running crid binary, for the hidden subcommands it runs
// as helper processes (`crid pause`, `crid exec-reaper`).
#pragma once

#include <string>

namespace crid {

// Records /proc/self/exe; call once at start-up, before anything can
// replace the binary on disk.
void remember_self_exe();
// The recorded path (recorded now if it was not yet); "" if unreadable.
const std::string& self_exe();

}  // namespace crid

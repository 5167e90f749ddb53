// The small text protocols between crid and conmon, as pure functions:
// the sync pipe's JSON result, the ctl fifo's control lines, and the
// runtime's error text that conmon relays.
#pragma once

#include <string>
#include <string_view>

#include "util/result.h"

namespace crid::runtime {

// One result line from conmon's sync pipe: {"data": N} or, from older
// conmons or without --api-version, {"pid": N}; N <= 0 means the runtime
// failed and "message" holds its stderr.
struct SyncMessage {
  int data = -1;
  std::string message;
};
Result<SyncMessage> parse_sync_message(std::string_view line);

// ctl fifo lines: "<type> <height> <width>\n".
enum class CtlMessage { kResize = 1, kReopenLog = 2 };
std::string ctl_line(CtlMessage type, int height, int width);

// runc logs errors in logrus text form (time="…" level=error msg="…");
// returns just the message, unescaped. Other text (crun's plain messages)
// comes back trimmed but otherwise unchanged.
std::string runtime_message(std::string text);

}  // namespace crid::runtime

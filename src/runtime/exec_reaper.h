// `crid exec-reaper`: the parent of a detached `<runtime> exec`, so that
// crid can take the exec's terminal over a console socket and still learn
// its exit code.
//
// Why: runc sends the container's pty master over --console-socket only
// with --detach; in the foreground it relays the terminal itself, through a
// pty of ours, and so puts two line disciplines in the path: it clears
// ONLCR on the container's pty only after the exec'd process may already
// have written (runc commits 24c05b7 and its revert dac0c1e), and it keeps
// OPOST on ours ("\n" became "\r\r\n" now and then). With --detach the
// process outlives runc, and is reparented to the nearest child subreaper:
// this helper (one per exec, like conmon for a container), which then waits
// for it and exits with its status.
#pragma once

namespace crid::runtime {

// The hidden subcommand's name (argv[1]).
inline constexpr const char* kExecReaperCommand = "exec-reaper";

// The body of the subcommand, `crid exec-reaper <dir> <pid-file> <runtime>
// <args...>`: runs the runtime in <dir> (so it can be given a short
// relative console socket path: a unix socket's name is limited to 108
// bytes, and runc does not work around that); <pid-file> is where the
// runtime writes the exec'd pid. Exits with the exec'd process's
// status (128+signal if killed), or the runtime's if it failed; 125 if the
// reaper itself failed (its reason on stderr).
int run_exec_reaper_command(int argc, char** argv);

}  // namespace crid::runtime

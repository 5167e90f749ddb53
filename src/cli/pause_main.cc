// crid-pause: the pause process of a pod (sandbox/pause.h), as a program of
// its own that links only libc, so starting one costs a pod ~1 ms instead
// of crid's ~15 ms of loading shared libraries. crid starts it with the
// command line `<crid> pause <pod id>`, the same as `crid pause`, which
// stays the fallback when crid-pause is not installed beside crid.
#include "sandbox/pause_process.h"

int main() { return crid::sandbox::run_pause_command(); }

// The crid binary: the daemon, plus small troubleshooting subcommands.
// Everything else lives in libcrid.
#include <cstdio>
#include <map>
#include <string_view>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "cli/status_command.h"
#include "config/loader.h"
#include "daemon/daemon.h"
#include "runtime/exec_reaper.h"
#include "sandbox/pause.h"
#include "util/log.h"

int main(int argc, char** argv) {
  // Hidden: the init of a pod's shared PID namespace (sandbox/pause.h).
  // `crid pause [<pod id>]`: the id only labels the process (see pause.h).
  if ((argc == 2 || argc == 3) && std::string_view(argv[1]) == "pause")
    return crid::sandbox::run_pause_command();
  // Hidden: the parent of a detached tty exec (runtime/exec_reaper.h).
  if (argc > 1 && std::string_view(argv[1]) == crid::runtime::kExecReaperCommand)
    return crid::runtime::run_exec_reaper_command(argc, argv);
  crid::sandbox::remember_self_exe();
  // Before any thread exists, so every thread inherits the mask and only the
  // daemon's signal loop sees SIGTERM/SIGINT/SIGHUP.
  crid::block_daemon_signals();

  CLI::App app{"crid: a lightweight Kubernetes container runtime (CRI v1).\n"
               "Without a subcommand it runs the daemon."};
  app.option_defaults()->always_capture_default();
  crid::ConfigSources sources;
  std::string config_file;
  app.add_option("--config", config_file, "Config file (default /etc/crid/crid.conf)");
  app.add_option("--config-dir", sources.drop_in_dir, "Directory of *.conf drop-ins");
  std::map<std::string, std::string> values;
  std::map<std::string, CLI::Option*> given;
  for (auto& f : crid::flag_options())
    given[f.key] = app.add_option(f.flag, values[f.key], f.help);

  auto* version_cmd = app.add_subcommand("version", "Print crid's version");
  auto* config_cmd =
      app.add_subcommand("config", "Print the effective config as TOML crid accepts back");
  auto* status_cmd = app.add_subcommand("status", "Ask the running crid for its status");
  bool json = false;
  status_cmd->add_flag("--json", json, "Machine-readable output");
  for (auto* sub : {version_cmd, config_cmd, status_cmd}) sub->fallthrough();
  app.require_subcommand(0, 1);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "crid: {}\n", e.what());
    return 1;
  }

  if (*version_cmd) {
    fmt::print("crid version {}\nCRI API v1\n", CRID_VERSION);
    return 0;
  }

  if (!config_file.empty()) {
    sources.file = config_file;
    sources.file_required = true;
  }
  for (auto& [key, opt] : given)
    if (opt->count() > 0) sources.flags.emplace_back(key, values[key]);
  auto cfg = crid::load_config(sources);
  if (!cfg) {
    fmt::print(stderr, "crid: invalid configuration: {}\n", cfg.error().message());
    return 1;
  }

  if (*config_cmd) {
    fmt::print("{}", crid::render(*cfg));
    return 0;
  }
  if (*status_cmd) return crid::cli::run_status_command(cfg->listen, json);

  crid::log::init(*crid::log::parse_level(cfg->log_level));
  auto st = crid::run_daemon(sources, *cfg);
  if (!st) {
    fmt::print(stderr, "crid: {}\n", st.error().message());
    return 1;
  }
  return 0;
}

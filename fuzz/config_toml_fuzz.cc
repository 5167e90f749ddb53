// Fuzzes TOML config loading (crid.conf and its drop-ins are root-owned, but
// a bad file must fail with an error, never crash the daemon at start), and
// checks what `crid config` promises: the rendered effective config is TOML
// that loads back to the same config.
#include <spdlog/spdlog.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config/config.h"

namespace {

[[noreturn]] void fail(const std::string& why, const std::string& text) {
  std::fprintf(stderr, "config_toml_fuzz: %s\n--- rendered ---\n%s\n", why.c_str(), text.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool quiet = [] {
    spdlog::set_level(spdlog::level::off);
    return true;
  }();
  (void)quiet;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  crid::Config cfg = crid::default_config();
  if (!crid::apply_toml(cfg, text, "fuzz.conf")) return 0;
  (void)crid::validate(cfg);
  (void)crid::render_json(cfg);

  std::string rendered = crid::render(cfg);
  crid::Config again = crid::default_config();
  if (auto st = crid::apply_toml(again, rendered, "rendered"); !st)
    fail("the rendered config does not load: " + st.error().message(), rendered);
  if (crid::render(again) != rendered) fail("the rendered config does not round-trip", rendered);
  return 0;
}

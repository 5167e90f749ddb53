// Fuzzes the CRI log parser: any input must parse or fail cleanly, and a
// record that parses must survive format -> parse unchanged.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "runtime/log_format.h"

using namespace crid::runtime;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)parse_log(input);
  auto rec = parse_log_line(input);
  if (!rec || rec->text.find('\n') != std::string::npos) return 0;
  // The writer covers years 0000-9999 only; an offset can push a parsed
  // time just outside.
  std::chrono::year_month_day ymd{std::chrono::floor<std::chrono::days>(rec->time)};
  if (ymd.year() < std::chrono::year{0} || ymd.year() > std::chrono::year{9999}) return 0;
  std::string line = format_log_record(*rec);
  auto again = parse_log_line(std::string_view(line).substr(0, line.size() - 1));
  if (!again || !(*again == *rec)) std::abort();
  return 0;
}

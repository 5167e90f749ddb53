#include "container/signals.h"

#include <signal.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <tuple>
#include <string>
#include <utility>

namespace crid::container {

namespace {

constexpr std::pair<const char*, int> kSignals[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},     {"QUIT", SIGQUIT},   {"ILL", SIGILL},
    {"TRAP", SIGTRAP}, {"ABRT", SIGABRT},   {"IOT", SIGIOT},     {"BUS", SIGBUS},
    {"FPE", SIGFPE},   {"KILL", SIGKILL},   {"USR1", SIGUSR1},   {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2}, {"PIPE", SIGPIPE},   {"ALRM", SIGALRM},   {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CLD", SIGCHLD},  {"CONT", SIGCONT},
    {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},   {"TTOU", SIGTTOU},
    {"URG", SIGURG},   {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ},   {"VTALRM", SIGVTALRM},
    {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},       {"POLL", SIGPOLL},
    {"PWR", SIGPWR},   {"SYS", SIGSYS},
};

std::optional<int> parse_int(std::string_view s) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

Result<int> parse_signal(std::string_view text) {
  std::string s(text);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  auto bad = [&] { return make_error(ErrorKind::kInvalidArgument, "unknown signal \"{}\"", text); };
  if (auto n = parse_int(s)) {
    if (*n <= 0 || *n > SIGRTMAX) return bad();
    return *n;
  }
  if (s.rfind("SIG", 0) == 0) s = s.substr(3);
  for (const auto& [name, num] : kSignals)
    if (s == name) return num;
  // RTMIN+n, RTMAX-n
  for (auto [prefix, base, sign] : {std::tuple{"RTMIN", SIGRTMIN, 1}, std::tuple{"RTMAX", SIGRTMAX, -1}}) {
    std::string_view p(prefix);
    if (s.rfind(p, 0) != 0) continue;
    std::string_view rest = std::string_view(s).substr(p.size());
    if (rest.empty()) return base;
    if ((sign > 0 && rest[0] != '+') || (sign < 0 && rest[0] != '-')) return bad();
    auto n = parse_int(rest.substr(1));
    if (!n || *n < 0) return bad();
    int v = base + sign * *n;
    if (v < SIGRTMIN || v > SIGRTMAX) return bad();
    return v;
  }
  return bad();
}

}  // namespace crid::container

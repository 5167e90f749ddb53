#include "stream/websocket_remote_command.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <optional>
#include <system_error>
#include <thread>

#include "stream/websocket_resize.h"
#include "stream/websocket_stdio.h"
#include "util/log.h"

namespace crid::stream::ws {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kOutputChunk = 32 * 1024;
// Stop reading the client while this much of its stdin waits for a
// process that does not read it.
constexpr size_t kMaxPendingStdin = 1 << 20;
// After the process exited, how long a grandchild that kept its stdout
// open may hold up the exit status.
constexpr std::chrono::milliseconds kDrainGrace{2000};
// How long to wait for the client's reply to our close frame.
constexpr std::chrono::milliseconds kCloseWait{1000};

int ms_until(Clock::time_point t) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(t - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(std::min<long long>(left, 60'000));
}

class RemoteCommandSession {
 public:
  explicit RemoteCommandSession(const RemoteCommandContext& ctx) : ctx_(ctx) {}

  // Runs `call` (the backend's exec or attach, given the StdioFds) on its
  // own thread and pumps the session until it returned.
  void run(const StdioWanted& wanted, std::function<CommandOutcome(StdioFds)> call);

 private:
  void loop();
  void on_message(const Message& m);
  void on_output(UniqueFd& fd, uint8_t channel);
  void flush_stdin();
  void write_resize(const TerminalSize& size);
  void send_channel(uint8_t channel, std::string_view data);
  // The client went away (closed, vanished, broke the protocol or idled
  // out): stop the backend and stop talking to the client.
  void client_gone(std::string_view why);
  void finish();

  const RemoteCommandContext& ctx_;
  SessionEnds ends_;
  UniqueFd done_r_;
  CommandOutcome outcome_;
  ResizeDecoder resize_;
  std::string stdin_pending_;
  bool stdin_close_requested_ = false;
  bool backend_done_ = false;
  bool gone_ = false;
  Clock::time_point last_activity_ = Clock::now();
  std::optional<Clock::time_point> drain_until_;
  size_t bytes_out_ = 0;
};

void RemoteCommandSession::run(const StdioWanted& wanted,
                               std::function<CommandOutcome(StdioFds)> call) {
  auto pipes = make_stdio_pipes(wanted);
  int done[2];
  if (!pipes || ::pipe2(done, O_CLOEXEC) != 0) {
    Error e = pipes ? sys_error("creating the session's done pipe") : pipes.error();
    spdlog::error("[{}] {}", ctx_.tag, e.message());
    outcome_ = {CommandOutcome::Kind::kError, 0, e.message()};
    finish();
    return;
  }
  ends_ = std::move(pipes->session);
  done_r_.reset(done[0]);
  UniqueFd done_w(done[1]);

  // Like kubelet: an empty message on the lowest channel the client reads
  // tells it the streams are up.
  send_channel(wanted.stdout ? channel::kStdout
               : (wanted.stderr && !wanted.tty) ? channel::kStderr
                                                : channel::kError,
               "");

  std::thread worker;
  try {
    worker = std::thread([this, &call, io = std::move(pipes->backend),
                          done_w = std::move(done_w)]() mutable {
      outcome_ = call(std::move(io));
      done_w.reset();  // wakes the loop
    });
  } catch (const std::system_error& e) {
    spdlog::error("[{}] starting the session thread: {}", ctx_.tag, e.what());
    outcome_ = {CommandOutcome::Kind::kError, 0, fmt::format("starting the session: {}", e.what())};
    finish();
    return;
  }
  loop();
  worker.join();
  finish();
}

void RemoteCommandSession::loop() {
  while (true) {
    bool outputs_open = ends_.stdout_r.valid() || ends_.stderr_r.valid();
    if (backend_done_ &&
        (gone_ || !outputs_open || (drain_until_ && Clock::now() >= *drain_until_))) {
      return;
    }

    enum Slot { kDone, kClient, kStdout, kStderr, kStdin, kSlots };
    pollfd fds[kSlots] = {};
    for (auto& p : fds) p.fd = -1;
    if (!backend_done_) fds[kDone] = {done_r_.get(), POLLIN, 0};
    bool read_client = !gone_ && stdin_pending_.size() < kMaxPendingStdin;
    if (read_client) fds[kClient] = {ctx_.conn.fd(), POLLIN, 0};
    if (ends_.stdout_r.valid()) fds[kStdout] = {ends_.stdout_r.get(), POLLIN, 0};
    if (ends_.stderr_r.valid()) fds[kStderr] = {ends_.stderr_r.get(), POLLIN, 0};
    if (ends_.stdin_w.valid() && !stdin_pending_.empty()) {
      fds[kStdin] = {ends_.stdin_w.get(), POLLOUT, 0};
    }

    int timeout = -1;
    if (!gone_) timeout = ms_until(last_activity_ + ctx_.limits.idle_timeout);
    if (drain_until_) timeout = timeout < 0 ? ms_until(*drain_until_)
                                            : std::min(timeout, ms_until(*drain_until_));
    if (read_client && ctx_.conn.has_pending()) timeout = 0;

    int n = ::poll(fds, kSlots, timeout);
    if (n < 0 && errno != EINTR) {
      spdlog::error("[{}] poll: {}", ctx_.tag, std::strerror(errno));
      client_gone("internal error");
      continue;
    }

    if (fds[kDone].revents) {
      backend_done_ = true;
      done_r_.reset();
      drain_until_ = Clock::now() + kDrainGrace;
      ends_.stdin_w.reset();  // nobody reads it any more
      stdin_pending_.clear();
    }
    if (read_client && (fds[kClient].revents || ctx_.conn.has_pending())) {
      auto got = ctx_.conn.receive();
      if (!got) {
        spdlog::warn("[{}] {}", ctx_.tag, got.error().message());
        ctx_.conn.fail(got.error());
        client_gone("protocol error");
      } else {
        last_activity_ = Clock::now();
        for (const Message& m : got->messages) on_message(m);
        if (got->ended) client_gone("client closed the connection");
      }
    }
    if (fds[kStdin].revents) flush_stdin();
    if (fds[kStdout].revents) on_output(ends_.stdout_r, channel::kStdout);
    if (fds[kStderr].revents) on_output(ends_.stderr_r, channel::kStderr);

    if (!gone_ && Clock::now() - last_activity_ >= ctx_.limits.idle_timeout) {
      spdlog::info("[{}] idle for {} ms, closing", ctx_.tag, ctx_.limits.idle_timeout.count());
      (void)ctx_.conn.close(close_code::kPolicyViolation, "idle timeout");
      client_gone("idle timeout");
    }
  }
}

void RemoteCommandSession::on_message(const Message& m) {
  if (gone_) return;
  if (m.opcode == Opcode::kClose) {
    client_gone("client sent close");
    return;
  }
  auto decoded = decode_channel_message(ctx_.protocol.codec, m);
  if (!decoded) {
    // kubelet drops such a message and goes on; so does crid.
    spdlog::warn("[{}] {}", ctx_.tag, decoded.error().message());
    return;
  }
  if (!*decoded) return;
  ChannelMessage& cm = **decoded;
  switch (cm.channel) {
    case channel::kStdin:
      if (ends_.stdin_w.valid() && !stdin_close_requested_) {
        stdin_pending_.append(cm.data);
        flush_stdin();
      }
      break;
    case channel::kResize: {
      if (!ends_.resize_w.valid()) break;
      auto decoded_sizes = resize_.feed(cm.data);
      for (const Error& e : decoded_sizes.errors) spdlog::warn("[{}] {}", ctx_.tag, e.message());
      for (const TerminalSize& size : decoded_sizes.sizes) write_resize(size);
      break;
    }
    case channel::kCloseSignal:
      if (!ctx_.protocol.close_signal) break;
      if (cm.data.size() == 1 && static_cast<uint8_t>(cm.data[0]) == channel::kStdin) {
        stdin_close_requested_ = true;
        flush_stdin();
      }
      break;
    default:
      break;  // channels the client does not write to
  }
}

void RemoteCommandSession::flush_stdin() {
  if (!ends_.stdin_w.valid()) return;
  while (!stdin_pending_.empty()) {
    ssize_t n = ::write(ends_.stdin_w.get(), stdin_pending_.data(), stdin_pending_.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      // EPIPE: the process closed its stdin; what the client sends is lost.
      stdin_pending_.clear();
      ends_.stdin_w.reset();
      return;
    }
    stdin_pending_.erase(0, static_cast<size_t>(n));
  }
  if (stdin_close_requested_) ends_.stdin_w.reset();
}

void RemoteCommandSession::write_resize(const TerminalSize& size) {
  ssize_t n = ::write(ends_.resize_w.get(), &size, sizeof(size));
  if (n == static_cast<ssize_t>(sizeof(size))) return;
  if (n < 0 && errno == EAGAIN) {
    spdlog::warn("[{}] resize to {}x{} dropped: the backend is not reading resize events",
                 ctx_.tag, size.width, size.height);
    return;
  }
  ends_.resize_w.reset();
}

void RemoteCommandSession::on_output(UniqueFd& fd, uint8_t channel) {
  char buf[kOutputChunk];
  ssize_t n = ::read(fd.get(), buf, sizeof(buf));
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    fd.reset();
    return;
  }
  bytes_out_ += static_cast<size_t>(n);
  send_channel(channel, std::string_view(buf, static_cast<size_t>(n)));
  last_activity_ = Clock::now();
}

void RemoteCommandSession::send_channel(uint8_t channel, std::string_view data) {
  if (gone_) return;
  Status s = ctx_.conn.send(encode_channel_message(ctx_.protocol.codec, channel, data));
  if (!s) {
    spdlog::info("[{}] sending to the client: {}", ctx_.tag, s.error().message());
    client_gone("client unreachable");
  }
}

void RemoteCommandSession::client_gone(std::string_view why) {
  if (gone_) return;
  gone_ = true;
  if (!backend_done_) spdlog::info("[{}] {}: stopping", ctx_.tag, why);
  ends_.cancel_w.reset();  // io.cancel reads end of file from now on
  ends_.stdin_w.reset();
  ends_.stdout_r.reset();
  ends_.stderr_r.reset();
  ends_.resize_w.reset();
  stdin_pending_.clear();
}

void RemoteCommandSession::finish() {
  std::string how = outcome_.kind == CommandOutcome::Kind::kSuccess ? "success"
                    : outcome_.kind == CommandOutcome::Kind::kExitCode
                        ? fmt::format("exit code {}", outcome_.exit_code)
                        : outcome_.message;
  spdlog::info("[{}] ended: {}; {} bytes of output{}", ctx_.tag, how, bytes_out_,
               gone_ ? "; client gone" : "");
  if (gone_) return;
  std::string status =
      ctx_.protocol.status_json ? status_json(outcome_) : status_text(outcome_);
  if (!status.empty()) send_channel(channel::kError, status);
  if (gone_) return;
  (void)ctx_.conn.close(close_code::kNormal, "");
  ctx_.conn.await_close(kCloseWait);
}

}  // namespace

void run_exec(const RemoteCommandContext& ctx, const ExecRequest& req) {
  RemoteCommandSession session(ctx);
  session.run({req.stdin, req.stdout, req.stderr, req.tty}, [&](StdioFds io) {
    auto code = ctx.backend.exec(req, std::move(io));
    if (!code) {
      return CommandOutcome{CommandOutcome::Kind::kError, 0,
                            "error executing command in container: " + code.error().message()};
    }
    if (*code == 0) return CommandOutcome{};
    return CommandOutcome{CommandOutcome::Kind::kExitCode, *code, ""};
  });
}

void run_attach(const RemoteCommandContext& ctx, const AttachRequest& req) {
  RemoteCommandSession session(ctx);
  session.run({req.stdin, req.stdout, req.stderr, req.tty}, [&](StdioFds io) {
    Status s = ctx.backend.attach(req, std::move(io));
    if (!s) {
      return CommandOutcome{CommandOutcome::Kind::kError, 0,
                            "error attaching to container: " + s.error().message()};
    }
    return CommandOutcome{};
  });
}

}  // namespace crid::stream::ws

#include "stream/spdy_channels.h"
#include "util/printable.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <thread>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace crid::stream::spdy {

namespace {

bool resizes(const std::string& protocol) {
  return protocol == "v4.channel.k8s.io" || protocol == "v3.channel.k8s.io";
}

std::string describe(const ChannelHandler::Request& r) {
  if (auto* e = std::get_if<ExecRequest>(&r)) return "Exec ctr=" + e->container_id;
  return "Attach ctr=" + std::get<AttachRequest>(r).container_id;
}

}  // namespace

std::string channel_status(const std::string& protocol, int exit_code, const std::string& error) {
  bool v4 = protocol == "v4.channel.k8s.io";
  nlohmann::ordered_json st;
  st["metadata"] = nlohmann::json::object();
  if (!error.empty()) {
    if (!v4) return error;
    st["status"] = "Failure";
    st["message"] = "Internal error occurred: " + error;
    st["reason"] = "InternalError";
    st["details"] = {{"causes", nlohmann::json::array({{{"message", error}}})}};
    st["code"] = 500;
    return st.dump();
  }
  if (exit_code == 0) {
    if (!v4) return "";
    st["status"] = "Success";
    return st.dump();
  }
  std::string msg = fmt::format("command terminated with non-zero exit code: exit status {}", exit_code);
  if (!v4) return msg;
  st["status"] = "Failure";
  st["message"] = msg;
  st["reason"] = "NonZeroExitCode";
  st["details"] = {
      {"causes", nlohmann::json::array({{{"reason", "ExitCode"}, {"message", std::to_string(exit_code)}}})}};
  return st.dump();
}

bool take_resize_events(std::string* buffer, std::vector<TerminalSize>* out) {
  // The client writes one JSON object per event (json.Encoder: a newline
  // after each); objects hold no nested braces, so '}' ends one.
  for (;;) {
    size_t start = buffer->find_first_not_of(" \t\r\n");
    if (start == std::string::npos) {
      buffer->clear();
      return true;
    }
    if ((*buffer)[start] != '{') return false;
    size_t end = buffer->find('}', start);
    if (end == std::string::npos) return buffer->size() - start < 4096;
    auto j = nlohmann::json::parse(buffer->begin() + static_cast<long>(start),
                                   buffer->begin() + static_cast<long>(end) + 1, nullptr, false);
    buffer->erase(0, end + 1);
    if (j.is_discarded() || !j.is_object()) return false;
    auto dim = [&](const char* k) -> int64_t {
      auto it = j.find(k);
      return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : -1;
    };
    int64_t w = dim("Width"), h = dim("Height");
    if (w < 0 || h < 0 || w > 65535 || h > 65535) return false;
    out->push_back(TerminalSize{static_cast<uint16_t>(w), static_cast<uint16_t>(h)});
  }
}

ChannelHandler::ChannelHandler(Connection& conn, std::string protocol, Request req,
                               StreamBackend& backend,
                               std::chrono::milliseconds stream_creation_timeout,
                               std::chrono::milliseconds output_grace)
    : conn_(conn),
      protocol_(std::move(protocol)),
      req_(std::move(req)),
      backend_(backend),
      creation_timeout_(stream_creation_timeout),
      output_grace_(output_grace) {
  std::visit(
      [&](auto& r) {
        tty_ = r.tty;
        stdin_ = r.stdin;
        stdout_ = r.stdout;
        stderr_ = r.stderr && !r.tty;
      },
      req_);
}

bool ChannelHandler::want(const std::string& type) const {
  if (type == "error") return true;
  if (type == "stdin") return stdin_;
  if (type == "stdout") return stdout_;
  if (type == "stderr") return stderr_;
  if (type == "resize") return tty_ && resizes(protocol_);
  return false;
}

bool ChannelHandler::accept(const Stream& s) {
  std::string type = s.header("streamType").value_or("");
  std::lock_guard lock(mu_);
  StreamPtr* slot = type == "error"    ? &error_
                    : type == "stdin"  ? &in_
                    : type == "stdout" ? &out_
                    : type == "stderr" ? &err_
                    : type == "resize" ? &resize_
                                       : nullptr;
  if (!slot || *slot || !want(type)) {
    spdlog::warn("[{}] refusing SPDY stream {} of type {}", describe(req_), s.id, printable(type));
    return false;
  }
  return true;
}

void ChannelHandler::opened(const StreamPtr& s) {
  std::string type = s->header("streamType").value_or("");
  std::lock_guard lock(mu_);
  if (type == "error") error_ = s;
  if (type == "stdin") in_ = s;
  if (type == "stdout") out_ = s;
  if (type == "stderr") err_ = s;
  if (type == "resize") resize_ = s;
  cv_.notify_all();
}

void ChannelHandler::connection_closed() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    cv_.notify_all();
  }
  cancel_.fire();
  conn_.wake();
}

bool ChannelHandler::wait_for_streams() {
  std::unique_lock lock(mu_);
  auto complete = [&] {
    return error_ && (!stdin_ || in_) && (!stdout_ || out_) && (!stderr_ || err_) &&
           (!(tty_ && resizes(protocol_)) || resize_);
  };
  bool ok = cv_.wait_for(lock, creation_timeout_, [&] { return complete() || closed_; });
  return ok && complete();
}

void ChannelHandler::run() {
  if (!wait_for_streams()) {
    if (!cancel_.fired())
      spdlog::warn("[{}] client did not open its streams in time", describe(req_));
    conn_.abort();
    return;
  }
  serve();
  conn_.finish(std::chrono::seconds(5));
}

void ChannelHandler::serve() {
  StdioFds io;
  UniqueFd in_w, out_r, err_r, resize_w;
  auto fail = [&](const Error& e) {
    spdlog::error("[{}] {}", describe(req_), e.message());
    (void)conn_.write(*error_, channel_status(protocol_, -1, e.message()));
    (void)conn_.close_stream(*error_);
  };
  Status st = Ok();
  if (stdin_ && st) st = make_pipe(&io.in, &in_w);
  if (stdout_ && st) st = make_pipe(&out_r, &io.out);
  if (stderr_ && st) st = make_pipe(&err_r, &io.err);
  if (tty_ && st) st = make_pipe(&io.resize, &resize_w);
  if (st) {
    io.cancel.reset(::dup(cancel_.fd()));
    if (!io.cancel.valid()) st = sys_error("dup of the cancel eventfd");
  }
  if (!st) return fail(st.error());
  if (in_w.valid()) ::fcntl(in_w.get(), F_SETFL, O_NONBLOCK);
  if (resize_w.valid()) ::fcntl(resize_w.get(), F_SETFL, O_NONBLOCK);

  // Output pumps end at EOF (the backend closed its ends) or on `drain`.
  StopSignal drain;
  StopSignal input_stop;
  std::vector<std::thread> outputs, inputs;
  std::mutex done_mu;
  std::condition_variable done_cv;
  int outputs_left = 0;
  auto output = [&](StreamPtr s, UniqueFd& fd) {
    ++outputs_left;
    outputs.emplace_back([&, s, raw = fd.get()] {
      (void)pump_fd_to_stream(conn_, *s, raw, drain);
      std::lock_guard lock(done_mu);
      --outputs_left;
      done_cv.notify_all();
    });
  };
  if (out_) output(out_, out_r);
  if (err_) output(err_, err_r);
  if (in_) {
    inputs.emplace_back([&, fd = std::move(in_w)]() mutable {
      (void)pump_stream_to_fd(conn_, *in_, fd.get(), input_stop);
      fd.reset();  // EOF for the process's stdin
    });
  }
  if (resize_) {
    inputs.emplace_back([&] {
      std::string buf;
      while (auto chunk = conn_.next_chunk(*resize_, input_stop.flag())) {
        buf += *chunk;
        std::vector<TerminalSize> sizes;
        if (!take_resize_events(&buf, &sizes)) {
          spdlog::warn("[{}] malformed resize event; ignoring the resize stream", describe(req_));
          conn_.abandon(*resize_);
          break;
        }
        for (auto& sz : sizes)
          (void)write_fd_all(resize_w.get(), std::string_view(reinterpret_cast<const char*>(&sz),
                                                              sizeof(sz)),
                             input_stop);
      }
    });
  }

  int exit_code = 0;
  std::string error;
  if (auto* e = std::get_if<ExecRequest>(&req_)) {
    auto r = backend_.exec(*e, std::move(io));
    if (r)
      exit_code = *r;
    else
      error = r.error().message();
  } else {
    Status a = backend_.attach(std::get<AttachRequest>(req_), std::move(io));
    if (!a) error = a.error().message();
  }

  // The backend has closed its ends: output still in the pipes goes out,
  // but a grandchild holding them open gets only a short grace.
  {
    std::unique_lock lock(done_mu);
    done_cv.wait_for(lock, output_grace_, [&] { return outputs_left == 0; });
  }
  drain.fire();
  for (auto& t : outputs) t.join();
  if (out_) (void)conn_.close_stream(*out_);
  if (err_) (void)conn_.close_stream(*err_);

  if (!cancel_.fired()) {
    if (!error.empty()) spdlog::info("[{}] {}", describe(req_), error);
    std::string status = channel_status(protocol_, exit_code, error);
    if (!status.empty()) (void)conn_.write(*error_, status);
  }
  (void)conn_.close_stream(*error_);

  input_stop.fire();
  conn_.wake();
  for (auto& t : inputs) t.join();
  if (in_) {
    conn_.abandon(*in_);
    (void)conn_.close_stream(*in_);
  }
  if (resize_) {
    conn_.abandon(*resize_);
    (void)conn_.close_stream(*resize_);
  }
}

}  // namespace crid::stream::spdy

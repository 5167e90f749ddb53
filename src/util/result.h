// Result<T>: a value or an Error carrying what failed, in words a node
// operator can act on, plus the errno and a kind that the gRPC edge maps to
// a status code.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace crid {

// What kind of failure: decides the gRPC code at the edge, nothing else.
enum class ErrorKind {
  kInternal,
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kFailedPrecondition,
  kUnavailable,
  kDeadlineExceeded,
  kResourceExhausted,
  kUnimplemented,
  kPermissionDenied,
  kUnauthenticated,
  kCancelled,
};

class Error {
 public:
  Error(ErrorKind kind, std::string message, int sys_errno = 0)
      : kind_(kind), errno_(sys_errno), message_(std::move(message)) {}

  ErrorKind kind() const { return kind_; }
  int sys_errno() const { return errno_; }
  const std::string& message() const { return message_; }

  // Prefixes what the caller was doing: "pulling busybox: " + inner.
  Error wrap(std::string_view context) const {
    return Error(kind_, fmt::format("{}: {}", context, message_), errno_);
  }

 private:
  ErrorKind kind_;
  int errno_;
  std::string message_;
};

template <typename... Args>
Error make_error(ErrorKind kind, fmt::format_string<Args...> f, Args&&... args) {
  return Error(kind, fmt::format(f, std::forward<Args>(args)...));
}

// An Error from the current errno: "open /x: No such file or directory".
template <typename... Args>
Error sys_error(fmt::format_string<Args...> f, Args&&... args) {
  int e = errno;
  ErrorKind kind = e == ENOENT ? ErrorKind::kNotFound : ErrorKind::kInternal;
  return Error(kind,
               fmt::format("{}: {}", fmt::format(f, std::forward<Args>(args)...),
                           std::strerror(e)),
               e);
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_{ErrorKind::kInternal, ""};
  bool ok_ = true;
};

using Status = Result<void>;

inline Status Ok() { return Status(); }

}  // namespace crid

// Early return on failure, optionally adding context.
#define CRID_TRY(expr)                         \
  do {                                         \
    auto crid_try_r_ = (expr);                 \
    if (!crid_try_r_) return crid_try_r_.error(); \
  } while (0)

#define CRID_TRY_CTX(expr, ...)                                      \
  do {                                                               \
    auto crid_try_r_ = (expr);                                       \
    if (!crid_try_r_)                                                \
      return crid_try_r_.error().wrap(fmt::format(__VA_ARGS__));     \
  } while (0)

#define CRID_CONCAT_INNER_(a, b) a##b
#define CRID_CONCAT_(a, b) CRID_CONCAT_INNER_(a, b)

// `CRID_ASSIGN(auto x, make_x());` declares x from a Result or returns its error.
#define CRID_ASSIGN(lhs, expr) CRID_ASSIGN_IMPL_(CRID_CONCAT_(crid_r_, __LINE__), lhs, expr)
#define CRID_ASSIGN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                      \
  if (!tmp) return tmp.error();           \
  lhs = std::move(tmp).value()

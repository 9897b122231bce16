#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace imagefactory {

// The one table of error classes. The QMF agent turns the code into the exception's
// error_code and the command line turns it into the exit status, so both report a failure the
// same way.
enum class ErrorCode {
    UserInput = 1,     // the caller's value is malformed or not allowed
    NotFound = 2,      // a named record, file, object or method does not exist
    InvalidState = 3,  // the request is valid but not in the object's current state
    ToolFailure = 4,   // an external program or remote service failed
    Unavailable = 5,   // a needed service (broker, mirror) cannot be reached right now
    Aborted = 6,       // work stopped because someone asked for it
    Internal = 7,      // a bug or an unexpected system error
};

std::string_view errorCodeName(ErrorCode code);

// Process exit status for a command-line failure of this class (always non-zero).
int exitStatusFor(ErrorCode code);

struct Error {
    ErrorCode code = ErrorCode::Internal;
    std::string message;
};

inline Error userError(std::string message) {
    return {ErrorCode::UserInput, std::move(message)};
}
inline Error notFound(std::string message) {
    return {ErrorCode::NotFound, std::move(message)};
}
inline Error invalidState(std::string message) {
    return {ErrorCode::InvalidState, std::move(message)};
}
inline Error toolFailure(std::string message) {
    return {ErrorCode::ToolFailure, std::move(message)};
}
inline Error internalError(std::string message) {
    return {ErrorCode::Internal, std::move(message)};
}

// A value or the Error that kept it from being produced. Expected failures travel as Result
// values; exceptions are reserved for programming errors and library borders.
template <typename T>
class [[nodiscard]] Result {
  public:
    Result(T value) : state_(std::move(value)) {}
    Result(Error error) : state_(std::move(error)) {}

    bool ok() const { return std::holds_alternative<T>(state_); }
    explicit operator bool() const { return ok(); }

    T& value() & { return std::get<T>(state_); }
    const T& value() const& { return std::get<T>(state_); }
    T&& value() && { return std::get<T>(std::move(state_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const Error& error() const { return std::get<Error>(state_); }

  private:
    std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
  public:
    Result() = default;
    Result(Error error) : error_(std::move(error)) {}

    bool ok() const { return !error_.has_value(); }
    explicit operator bool() const { return ok(); }
    const Error& error() const { return *error_; }

  private:
    std::optional<Error> error_;
};

using Status = Result<void>;

inline Status okStatus() {
    return {};
}

}  // namespace imagefactory

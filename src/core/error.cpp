#include "core/error.hpp"

namespace imagefactory {

std::string_view errorCodeName(ErrorCode code) {
    switch (code) {
        case ErrorCode::UserInput:
            return "invalid input";
        case ErrorCode::NotFound:
            return "not found";
        case ErrorCode::InvalidState:
            return "invalid state";
        case ErrorCode::ToolFailure:
            return "tool failure";
        case ErrorCode::Unavailable:
            return "unavailable";
        case ErrorCode::Aborted:
            return "aborted";
        case ErrorCode::Internal:
            return "internal error";
    }
    return "internal error";
}

int exitStatusFor(ErrorCode code) {
    // 1 stays free for "a job failed"; errors of the call itself start at 2.
    return 1 + static_cast<int>(code);
}

}  // namespace imagefactory

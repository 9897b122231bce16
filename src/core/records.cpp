#include "core/records.hpp"

#include <chrono>

namespace imagefactory {

TimestampMs nowMs() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string_view recordKindName(RecordKind kind) {
    switch (kind) {
        case RecordKind::Template:
            return "template";
        case RecordKind::Image:
            return "image";
        case RecordKind::Build:
            return "build";
        case RecordKind::TargetImage:
            return "target_image";
        case RecordKind::ProviderImage:
            return "provider_image";
    }
    return "image";
}

}  // namespace imagefactory

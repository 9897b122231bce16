#include "qmf/protocol.hpp"

#include <chrono>
#include <limits>

namespace imagefactory::qmf {

QmfErrorCode qmfErrorCodeFor(ErrorCode code) {
    switch (code) {
        case ErrorCode::UserInput:
            return QmfErrorCode::InvalidParameter;
        case ErrorCode::NotFound:
            return QmfErrorCode::UnknownObject;
        default:
            return QmfErrorCode::Exception;
    }
}

Map ObjectAddress::toMap() const {
    Map map{{"_agent_name", agent_name}, {"_object_name", object_name}};
    if (agent_epoch != 0) {
        map["_agent_epoch"] = agent_epoch;
    }
    return map;
}

Result<ObjectAddress> ObjectAddress::fromMap(const Map& map) {
    ObjectAddress address;
    auto agent_name = textField(map, "_agent_name");
    auto object_name = textField(map, "_object_name");
    if (!object_name) {
        return userError("object address has no text _object_name");
    }
    address.agent_name = agent_name.value_or("");
    address.object_name = *object_name;

    auto epoch = map.find("_agent_epoch");
    if (epoch != map.end() && !epoch->second.isNull()) {
        auto number = epoch->second.integer();
        if (!number || *number < 0 || *number > std::numeric_limits<uint32_t>::max()) {
            return userError("object address has an invalid _agent_epoch");
        }
        address.agent_epoch = static_cast<uint32_t>(*number);
    }
    return address;
}

Map SchemaId::toMap() const {
    Map map{{"_package_name", package_name}, {"_class_name", class_name}};
    if (!type.empty()) {
        map["_type"] = type;
    }
    if (hash) {
        map["_hash"] = *hash;
    }
    return map;
}

Result<SchemaId> SchemaId::fromMap(const Map& map) {
    SchemaId id;
    auto class_name = textField(map, "_class_name");
    if (!class_name) {
        return userError("schema id has no text _class_name");
    }
    id.class_name = *class_name;
    id.package_name = textField(map, "_package_name").value_or("");
    id.type = textField(map, "_type").value_or("");

    auto hash = map.find("_hash");
    if (hash != map.end() && !hash->second.isNull()) {
        if (const auto* uuid = hash->second.get<Uuid>()) {
            id.hash = *uuid;
        } else if (auto text = hash->second.text(); text && parseUuid(*text)) {
            id.hash = parseUuid(*text);
        } else if (text && text->size() == 16) {
            Uuid raw;
            for (size_t i = 0; i < 16; ++i) {
                raw.bytes[i] = static_cast<uint8_t>((*text)[i]);
            }
            id.hash = raw;
        } else {
            return userError("schema id has an invalid _hash");
        }
    }
    return id;
}

std::string opcodeOf(const Message& message) {
    return textField(message.properties, std::string(kOpcodeKey)).value_or("");
}

bool hasQmf2AppId(const Message& message) {
    for (auto key : {kAppIdKey, kAppIdKeyShort}) {
        if (textField(message.properties, std::string(key)) == kAppId) {
            return true;
        }
    }
    return false;
}

std::string correlationText(const Message& message) {
    if (!message.correlation_id) {
        return {};
    }
    if (auto text = message.correlation_id->text()) {
        return *text;
    }
    if (auto number = message.correlation_id->integer()) {
        return std::to_string(*number);
    }
    if (const auto* big = message.correlation_id->get<uint64_t>()) {
        return std::to_string(*big);
    }
    return {};
}

std::pair<std::string, std::string> splitReplyTo(std::string_view reply_to) {
    auto slash = reply_to.find('/');
    if (slash == std::string_view::npos) {
        return {std::string(reply_to), {}};
    }
    return {std::string(reply_to.substr(0, slash)), std::string(reply_to.substr(slash + 1))};
}

std::string keyify(std::string_view name) {
    std::string key(name);
    for (char& c : key) {
        if (c == '.') {
            c = '_';
        }
    }
    return key;
}

std::string uuidText(const Uuid& uuid) {
    static const char* digits = "0123456789abcdef";
    std::string text;
    text.reserve(36);
    for (size_t i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            text.push_back('-');
        }
        text.push_back(digits[uuid.bytes[i] >> 4]);
        text.push_back(digits[uuid.bytes[i] & 0x0f]);
    }
    return text;
}

namespace {

int hexDigit(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

}  // namespace

std::optional<Uuid> parseUuid(std::string_view text) {
    if (text.size() != 36) {
        return std::nullopt;
    }
    Uuid uuid;
    size_t byte = 0;
    for (size_t i = 0; i < 36;) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (text[i] != '-') {
                return std::nullopt;
            }
            ++i;
            continue;
        }
        int high = hexDigit(text[i]);
        int low = hexDigit(text[i + 1]);
        if (high < 0 || low < 0) {
            return std::nullopt;
        }
        uuid.bytes[byte++] = static_cast<uint8_t>(high << 4 | low);
        i += 2;
    }
    return uuid;
}

uint64_t nowNanoseconds() {
    auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch).count());
}

}  // namespace imagefactory::qmf

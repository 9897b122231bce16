#include "qmf/value_json.hpp"

#include <limits>
#include <set>

#include "qmf/protocol.hpp"

namespace imagefactory::qmf {

using nlohmann::json;

namespace {

const std::set<std::string> kTags = {"binary", "int", "uint", "ulong", "long", "uuid", "map"};

bool isTagged(const json& object) {
    return object.is_object() && object.size() == 1 && kTags.contains(object.begin().key());
}

Result<Value> taggedFromJson(const std::string& tag, const json& inner) {
    if (tag == "binary") {
        if (!inner.is_string()) {
            return userError("{\"binary\": ...} needs a string");
        }
        return Value(Binary{inner.get<std::string>()});
    }
    if (tag == "uuid") {
        auto uuid = inner.is_string() ? parseUuid(inner.get<std::string>()) : std::nullopt;
        if (!uuid) {
            return userError("{\"uuid\": ...} needs canonical UUID text");
        }
        return Value(*uuid);
    }
    if (tag == "map") {
        if (!inner.is_object()) {
            return userError("{\"map\": ...} needs an object");
        }
        Map map;
        for (const auto& [key, item] : inner.items()) {
            auto value = valueFromJson(item);
            if (!value) {
                return value.error();
            }
            map[key] = std::move(*value);
        }
        return Value(std::move(map));
    }
    if (tag == "ulong") {
        if (!inner.is_number_unsigned()) {
            return userError("{\"ulong\": ...} needs a non-negative integer");
        }
        return Value(inner.get<uint64_t>());
    }
    if (!inner.is_number_integer()) {
        return userError("{\"" + tag + "\": ...} needs an integer");
    }
    int64_t number = inner.get<int64_t>();
    if (tag == "long") {
        return Value(number);
    }
    if (tag == "int") {
        if (number < std::numeric_limits<int32_t>::min() ||
            number > std::numeric_limits<int32_t>::max()) {
            return userError("{\"int\": ...} out of range");
        }
        return Value(static_cast<int32_t>(number));
    }
    if (number < 0 || number > std::numeric_limits<uint32_t>::max()) {
        return userError("{\"uint\": ...} out of range");
    }
    return Value(static_cast<uint32_t>(number));
}

}  // namespace

json toJson(const Value& value) {
    switch (value.type()) {
        case Value::Type::Null:
            return nullptr;
        case Value::Type::Bool:
            return *value.get<bool>();
        case Value::Type::Int32:
            return json{{"int", *value.get<int32_t>()}};
        case Value::Type::Int64:
            return *value.get<int64_t>();
        case Value::Type::UInt32:
            return json{{"uint", *value.get<uint32_t>()}};
        case Value::Type::UInt64:
            return json{{"ulong", *value.get<uint64_t>()}};
        case Value::Type::Double:
            return *value.get<double>();
        case Value::Type::String:
            return *value.get<std::string>();
        case Value::Type::Binary:
            return json{{"binary", value.get<Binary>()->bytes}};
        case Value::Type::Uuid:
            return json{{"uuid", uuidText(*value.get<Uuid>())}};
        case Value::Type::List: {
            json array = json::array();
            for (const Value& item : *value.list()) {
                array.push_back(toJson(item));
            }
            return array;
        }
        case Value::Type::Map: {
            json object = json::object();
            for (const auto& [key, item] : *value.map()) {
                object[key] = toJson(item);
            }
            if (isTagged(object)) {
                return json{{"map", object}};
            }
            return object;
        }
    }
    return nullptr;
}

Result<Value> valueFromJson(const json& input) {
    if (input.is_null()) {
        return Value();
    }
    if (input.is_boolean()) {
        return Value(input.get<bool>());
    }
    if (input.is_number_unsigned() &&
        input.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return userError("plain integer too large; tag it as {\"ulong\": ...}");
    }
    if (input.is_number_integer()) {
        return Value(input.get<int64_t>());
    }
    if (input.is_number_float()) {
        return Value(input.get<double>());
    }
    if (input.is_string()) {
        return Value(input.get<std::string>());
    }
    if (input.is_array()) {
        List list;
        for (const auto& item : input) {
            auto value = valueFromJson(item);
            if (!value) {
                return value.error();
            }
            list.push_back(std::move(*value));
        }
        return Value(std::move(list));
    }
    if (isTagged(input)) {
        return taggedFromJson(input.begin().key(), input.begin().value());
    }
    return taggedFromJson("map", input);
}

json toJson(const Message& message) {
    json out = json::object();
    auto set_text = [&out](const char* key, const std::string& text) {
        if (!text.empty()) {
            out[key] = text;
        }
    };
    set_text("to", message.to);
    set_text("node", message.node);
    set_text("subject", message.subject);
    set_text("reply_to", message.reply_to);
    if (message.correlation_id) {
        out["correlation_id"] = toJson(*message.correlation_id);
    }
    set_text("content_type", message.content_type);
    out["properties"] = toJson(Value(message.properties));
    out["body"] = toJson(message.body);
    if (message.data) {
        out["data"] = toJson(Value(Binary{*message.data}));
    }
    if (message.ttl_ms != 0) {
        out["ttl_ms"] = message.ttl_ms;
    }
    return out;
}

Result<Message> messageFromJson(const json& input) {
    if (!input.is_object()) {
        return userError("a message must be a JSON object");
    }
    Message message;
    for (const auto& [key, item] : input.items()) {
        std::string* text_field = nullptr;
        if (key == "to") {
            text_field = &message.to;
        } else if (key == "node") {
            text_field = &message.node;
        } else if (key == "subject") {
            text_field = &message.subject;
        } else if (key == "reply_to") {
            text_field = &message.reply_to;
        } else if (key == "content_type") {
            text_field = &message.content_type;
        }
        if (text_field != nullptr) {
            if (!item.is_string()) {
                return userError("message field '" + key + "' must be a string");
            }
            *text_field = item.get<std::string>();
            continue;
        }
        if (key == "ttl_ms") {
            if (!item.is_number_unsigned()) {
                return userError("message field 'ttl_ms' must be a non-negative integer");
            }
            message.ttl_ms = item.get<uint64_t>();
            continue;
        }
        auto value = valueFromJson(item);
        if (!value) {
            return Error{value.error().code,
                         "message field '" + key + "': " + value.error().message};
        }
        if (key == "correlation_id") {
            message.correlation_id = std::move(*value);
        } else if (key == "properties") {
            if (value->map() == nullptr) {
                return userError("message field 'properties' must be an object");
            }
            message.properties = std::move(*value->map());
        } else if (key == "body") {
            message.body = std::move(*value);
        } else if (key == "data") {
            auto bytes = value->text();
            if (!bytes) {
                return userError("message field 'data' must be text or binary");
            }
            message.data = std::move(*bytes);
        } else {
            return userError("unknown message field '" + key + "'");
        }
    }
    return message;
}

}  // namespace imagefactory::qmf

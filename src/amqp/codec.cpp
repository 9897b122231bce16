#include "amqp/codec.hpp"

#include <algorithm>
#include <proton/binary.hpp>
#include <proton/codec/decoder.hpp>
#include <proton/codec/encoder.hpp>
#include <proton/decimal.hpp>
#include <proton/error.hpp>
#include <proton/message_id.hpp>
#include <proton/null.hpp>
#include <proton/symbol.hpp>
#include <proton/timestamp.hpp>
#include <proton/uuid.hpp>
#include <string>

namespace imagefactory::amqp {
namespace {

using proton::codec::decoder;
using proton::codec::encoder;
using proton::codec::finish;
using proton::codec::start;

std::string utf8FromCodePoint(uint32_t code_point) {
    std::string out;
    if (code_point > 0x10FFFF || (code_point >= 0xD800 && code_point <= 0xDFFF)) {
        code_point = 0xFFFD;  // not a Unicode scalar value: use the replacement character
    }
    if (code_point < 0x80) {
        out += static_cast<char>(code_point);
    } else if (code_point < 0x800) {
        out += static_cast<char>(0xC0 | (code_point >> 6));
        out += static_cast<char>(0x80 | (code_point & 0x3F));
    } else if (code_point < 0x10000) {
        out += static_cast<char>(0xE0 | (code_point >> 12));
        out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code_point & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (code_point >> 18));
        out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code_point & 0x3F));
    }
    return out;
}

template <typename Bytes>
qmf::Binary binaryOf(const Bytes& bytes) {
    return qmf::Binary{std::string(bytes.begin(), bytes.end())};
}

Result<qmf::Value> decodeOne(decoder& in, int depth);

// Reads size values of a list or array; the caller has entered the container.
Result<qmf::Value> decodeSequence(decoder& in, size_t size, int depth) {
    qmf::List items;
    items.reserve(std::min<size_t>(size, 4096));
    for (size_t i = 0; i < size; ++i) {
        auto item = decodeOne(in, depth + 1);
        if (!item) {
            return item.error();
        }
        items.push_back(std::move(item.value()));
    }
    in >> finish();
    return qmf::Value(std::move(items));
}

std::optional<std::string> keyText(const qmf::Value& key) {
    if (auto text = key.text()) {
        return text;
    }
    if (const auto* number = key.get<int64_t>()) {
        return std::to_string(*number);
    }
    if (const auto* number = key.get<uint64_t>()) {
        return std::to_string(*number);
    }
    return std::nullopt;
}

Result<qmf::Value> decodeMap(decoder& in, size_t entries, int depth) {
    qmf::Map map;
    for (size_t i = 0; i < entries; ++i) {
        auto key = decodeOne(in, depth + 1);
        if (!key) {
            return key.error();
        }
        auto value = decodeOne(in, depth + 1);
        if (!value) {
            return value.error();
        }
        if (auto text = keyText(key.value())) {
            map.emplace(std::move(*text), std::move(value.value()));
        }
    }
    in >> finish();
    return qmf::Value(std::move(map));
}

Result<qmf::Value> decodeContainer(decoder& in, int depth) {
    start header;
    in >> header;
    switch (header.type) {
        case proton::LIST:
            return decodeSequence(in, header.size, depth);
        case proton::MAP:
            return decodeMap(in, header.size / 2, depth);
        case proton::ARRAY:
            if (header.is_described) {
                // The descriptor of an array applies to every element and is dropped like the
                // descriptor of a single described value.
                auto descriptor = decodeOne(in, depth + 1);
                if (!descriptor) {
                    return descriptor.error();
                }
            }
            return decodeSequence(in, header.size, depth);
        case proton::DESCRIBED: {
            auto descriptor = decodeOne(in, depth + 1);
            if (!descriptor) {
                return descriptor.error();
            }
            auto described = decodeOne(in, depth + 1);
            if (!described) {
                return described.error();
            }
            in >> finish();
            return described;
        }
        default:
            return internalError("unexpected AMQP container type " +
                                 proton::type_name(header.type));
    }
}

template <typename T>
T read(decoder& in) {
    T value{};
    in >> value;
    return value;
}

Result<qmf::Value> decodeOne(decoder& in, int depth) {
    if (depth > kMaxDepth) {
        return userError("AMQP value nested deeper than " + std::to_string(kMaxDepth) + " levels");
    }
    if (!in.more()) {
        return userError("AMQP container has fewer values than its declared size");
    }
    switch (in.next_type()) {
        case proton::NULL_TYPE:
            // Proton 0.37 leaves the decoder on a null after `>> null`, so the next value would
            // be read as null too. Reading it as a generic value moves past it.
            read<proton::value>(in);
            return qmf::Value();
        case proton::BOOLEAN:
            return qmf::Value(read<bool>(in));
        case proton::UBYTE:
            return qmf::Value(uint64_t{read<uint8_t>(in)});
        case proton::USHORT:
            return qmf::Value(uint64_t{read<uint16_t>(in)});
        case proton::UINT:
            return qmf::Value(uint64_t{read<uint32_t>(in)});
        case proton::ULONG:
            return qmf::Value(read<uint64_t>(in));
        case proton::BYTE:
            return qmf::Value(int64_t{read<int8_t>(in)});
        case proton::SHORT:
            return qmf::Value(int64_t{read<int16_t>(in)});
        case proton::INT:
            return qmf::Value(int64_t{read<int32_t>(in)});
        case proton::LONG:
            return qmf::Value(read<int64_t>(in));
        case proton::CHAR:
            return qmf::Value(utf8FromCodePoint(static_cast<uint32_t>(read<wchar_t>(in))));
        case proton::TIMESTAMP:
            return qmf::Value(int64_t{read<proton::timestamp>(in).milliseconds()});
        case proton::FLOAT:
            return qmf::Value(double{read<float>(in)});
        case proton::DOUBLE:
            return qmf::Value(read<double>(in));
        case proton::DECIMAL32:
            return qmf::Value(binaryOf(read<proton::decimal32>(in)));
        case proton::DECIMAL64:
            return qmf::Value(binaryOf(read<proton::decimal64>(in)));
        case proton::DECIMAL128:
            return qmf::Value(binaryOf(read<proton::decimal128>(in)));
        case proton::UUID: {
            auto uuid = read<proton::uuid>(in);
            qmf::Uuid out;
            std::copy(uuid.begin(), uuid.end(), out.bytes.begin());
            return qmf::Value(out);
        }
        case proton::BINARY:
            return qmf::Value(binaryOf(read<proton::binary>(in)));
        case proton::STRING:
            return qmf::Value(read<std::string>(in));
        case proton::SYMBOL:
            return qmf::Value(std::string(read<proton::symbol>(in)));
        case proton::DESCRIBED:
        case proton::ARRAY:
        case proton::LIST:
        case proton::MAP:
            return decodeContainer(in, depth);
    }
    return userError("unknown AMQP type code " + std::to_string(in.next_type()));
}

void encodeInto(encoder& out, const qmf::Value& value) {
    using Type = qmf::Value::Type;
    switch (value.type()) {
        case Type::Null:
            out << proton::null();
            break;
        case Type::Bool:
            out << *value.get<bool>();
            break;
        case Type::Int32:
            out << *value.get<int32_t>();
            break;
        case Type::Int64:
            out << *value.get<int64_t>();
            break;
        case Type::UInt32:
            out << *value.get<uint32_t>();
            break;
        case Type::UInt64:
            out << *value.get<uint64_t>();
            break;
        case Type::Double:
            out << *value.get<double>();
            break;
        case Type::String:
            out << *value.get<std::string>();
            break;
        case Type::Binary:
            out << proton::binary(value.get<qmf::Binary>()->bytes);
            break;
        case Type::Uuid: {
            const auto& bytes = value.get<qmf::Uuid>()->bytes;
            out << proton::uuid::copy(reinterpret_cast<const char*>(bytes.data()));
            break;
        }
        case Type::List:
            out << start::list();
            for (const auto& item : *value.list()) {
                encodeInto(out, item);
            }
            out << finish();
            break;
        case Type::Map:
            out << start::map();
            for (const auto& [key, item] : *value.map()) {
                out << key;
                encodeInto(out, item);
            }
            out << finish();
            break;
    }
}

std::optional<qmf::Value> correlationIdOf(const proton::message_id& id) {
    switch (id.type()) {
        case proton::ULONG:
            return qmf::Value(proton::get<uint64_t>(id));
        case proton::STRING:
            return qmf::Value(proton::get<std::string>(id));
        case proton::BINARY:
            return qmf::Value(binaryOf(proton::get<proton::binary>(id)));
        case proton::UUID: {
            auto uuid = proton::get<proton::uuid>(id);
            qmf::Uuid out;
            std::copy(uuid.begin(), uuid.end(), out.bytes.begin());
            return qmf::Value(out);
        }
        default:
            return std::nullopt;
    }
}

std::optional<proton::message_id> messageIdOf(const qmf::Value& value) {
    using Type = qmf::Value::Type;
    switch (value.type()) {
        case Type::String:
            return proton::message_id(*value.get<std::string>());
        case Type::Binary:
            return proton::message_id(proton::binary(value.get<qmf::Binary>()->bytes));
        case Type::UInt64:
            return proton::message_id(*value.get<uint64_t>());
        case Type::Uuid:
            return proton::message_id(proton::uuid::copy(
                reinterpret_cast<const char*>(value.get<qmf::Uuid>()->bytes.data())));
        case Type::Int32:
        case Type::Int64:
        case Type::UInt32:
            if (auto number = value.integer(); number && *number >= 0) {
                return proton::message_id(static_cast<uint64_t>(*number));
            }
            return std::nullopt;
        default:
            return std::nullopt;
    }
}

}  // namespace

Result<qmf::Value> fromProtonValue(const proton::value& value) {
    if (value.empty()) {
        return qmf::Value();
    }
    try {
        decoder in(value);
        in.rewind();
        return decodeOne(in, 0);
    } catch (const proton::error& e) {
        return userError(std::string("malformed AMQP value: ") + e.what());
    }
}

proton::value toProtonValue(const qmf::Value& value) {
    proton::value out;
    encoder writer(out);
    encodeInto(writer, value);
    return out;
}

Result<qmf::Message> fromProtonMessage(const proton::message& message) {
    try {
        qmf::Message out;
        out.to = message.to();
        out.subject = message.subject();
        out.reply_to = message.reply_to();
        out.correlation_id = correlationIdOf(message.correlation_id());
        out.content_type = message.content_type();
        out.ttl_ms = static_cast<uint64_t>(std::max<int64_t>(0, message.ttl().milliseconds()));

        auto properties = fromProtonValue(message.properties().value());
        if (!properties) {
            return Error{ErrorCode::UserInput,
                         "invalid application properties: " + properties.error().message};
        }
        if (const auto* map = properties->map()) {
            out.properties = *map;
        }

        const proton::value& body = message.body();
        if (message.inferred() && !body.empty() && body.type() == proton::BINARY) {
            out.data = std::string(proton::get<proton::binary>(body));
            return out;
        }
        auto decoded = fromProtonValue(body);
        if (!decoded) {
            return Error{ErrorCode::UserInput, "invalid body: " + decoded.error().message};
        }
        out.body = std::move(decoded.value());
        return out;
    } catch (const proton::error& e) {
        return userError(std::string("malformed AMQP message: ") + e.what());
    }
}

proton::message toProtonMessage(const qmf::Message& message) {
    proton::message out;
    if (!message.to.empty()) {
        out.to(message.to);
    }
    if (!message.subject.empty()) {
        out.subject(message.subject);
    }
    if (!message.reply_to.empty()) {
        out.reply_to(message.reply_to);
    }
    if (message.correlation_id) {
        if (auto id = messageIdOf(*message.correlation_id)) {
            out.correlation_id(*id);
        }
    }
    if (!message.content_type.empty()) {
        out.content_type(message.content_type);
    }
    if (message.ttl_ms > 0) {
        out.ttl(proton::duration(static_cast<proton::duration::numeric_type>(message.ttl_ms)));
    }
    if (!message.properties.empty()) {
        out.properties().value(toProtonValue(qmf::Value(message.properties)));
    }
    if (message.data) {
        out.body(proton::binary(*message.data));
        out.inferred(true);
    } else {
        out.body(toProtonValue(message.body));
        out.inferred(false);
    }
    return out;
}

}  // namespace imagefactory::amqp

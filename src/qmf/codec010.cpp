#include "qmf/codec010.hpp"

#include <cstdint>
#include <cstring>
#include <limits>

namespace imagefactory::qmf::codec010 {

namespace {

enum Code : uint8_t {
    kInt8 = 0x01,
    kUInt8 = 0x02,
    kBoolean = 0x08,
    kInt16 = 0x11,
    kUInt16 = 0x12,
    kInt32 = 0x21,
    kUInt32 = 0x22,
    kFloat = 0x23,
    kInt64 = 0x31,
    kUInt64 = 0x32,
    kDouble = 0x33,
    kDatetime = 0x38,
    kBin128 = 0x40,
    kUuid = 0x48,
    kVbin8 = 0x80,
    kStr8Latin = 0x84,
    kStr8Utf8 = 0x85,
    kStr8Utf16 = 0x86,
    kVbin16 = 0x90,
    kStr16Latin = 0x94,
    kStr16Utf8 = 0x95,
    kStr16Utf16 = 0x96,
    kVbin32 = 0xa0,
    kMap = 0xa8,
    kList = 0xa9,
    kArray = 0xaa,
    kVoid = 0xf0,
};

// ---- encoding ----

void putUInt(std::string& out, uint64_t value, int bytes) {
    for (int shift = (bytes - 1) * 8; shift >= 0; shift -= 8) {
        out.push_back(static_cast<char>((value >> shift) & 0xff));
    }
}

void patchUInt32(std::string& out, size_t at, uint32_t value) {
    for (int i = 0; i < 4; ++i) {
        out[at + i] = static_cast<char>((value >> (24 - 8 * i)) & 0xff);
    }
}

Status appendValue(const Value& value, std::string& out, size_t depth);

// Writes size and count around entries that write_entries appends.
template <typename WriteEntries>
Status appendSized(size_t count, std::string& out, WriteEntries write_entries) {
    size_t size_at = out.size();
    putUInt(out, 0, 4);
    putUInt(out, count, 4);
    if (auto status = write_entries(); !status) {
        return status;
    }
    size_t size = out.size() - size_at - 4;
    if (size > std::numeric_limits<uint32_t>::max() ||
        count > std::numeric_limits<uint32_t>::max()) {
        return userError("0-10 map or list is larger than 4 GiB");
    }
    patchUInt32(out, size_at, static_cast<uint32_t>(size));
    return okStatus();
}

Status appendMapBody(const Map& map, std::string& out, size_t depth) {
    return appendSized(map.size(), out, [&]() -> Status {
        for (const auto& [key, value] : map) {
            if (key.size() > 255) {
                return userError("0-10 map key longer than 255 bytes: '" + key.substr(0, 40) +
                                 "...'");
            }
            putUInt(out, key.size(), 1);
            out += key;
            if (auto status = appendValue(value, out, depth + 1); !status) {
                return status;
            }
        }
        return okStatus();
    });
}

Status appendListBody(const List& list, std::string& out, size_t depth) {
    return appendSized(list.size(), out, [&]() -> Status {
        for (const Value& value : list) {
            if (auto status = appendValue(value, out, depth + 1); !status) {
                return status;
            }
        }
        return okStatus();
    });
}

void appendBytes(uint8_t short_code, const std::string& bytes, std::string& out) {
    if (bytes.size() <= 0xffff) {
        out.push_back(static_cast<char>(short_code));
        putUInt(out, bytes.size(), 2);
    } else {
        out.push_back(static_cast<char>(kVbin32));
        putUInt(out, bytes.size(), 4);
    }
    out += bytes;
}

Status appendValue(const Value& value, std::string& out, size_t depth) {
    if (depth > kMaxNesting) {
        return userError("0-10 encoding nests deeper than " + std::to_string(kMaxNesting));
    }
    switch (value.type()) {
        case Value::Type::Null:
            out.push_back(static_cast<char>(kVoid));
            return okStatus();
        case Value::Type::Bool:
            out.push_back(static_cast<char>(kBoolean));
            out.push_back(*value.get<bool>() ? 1 : 0);
            return okStatus();
        case Value::Type::Int32:
            out.push_back(static_cast<char>(kInt32));
            putUInt(out, static_cast<uint32_t>(*value.get<int32_t>()), 4);
            return okStatus();
        case Value::Type::Int64:
            out.push_back(static_cast<char>(kInt64));
            putUInt(out, static_cast<uint64_t>(*value.get<int64_t>()), 8);
            return okStatus();
        case Value::Type::UInt32:
            out.push_back(static_cast<char>(kUInt32));
            putUInt(out, *value.get<uint32_t>(), 4);
            return okStatus();
        case Value::Type::UInt64:
            out.push_back(static_cast<char>(kUInt64));
            putUInt(out, *value.get<uint64_t>(), 8);
            return okStatus();
        case Value::Type::Double: {
            uint64_t bits = 0;
            double number = *value.get<double>();
            std::memcpy(&bits, &number, sizeof bits);
            out.push_back(static_cast<char>(kDouble));
            putUInt(out, bits, 8);
            return okStatus();
        }
        case Value::Type::String:
            appendBytes(kStr16Utf8, *value.get<std::string>(), out);
            return okStatus();
        case Value::Type::Binary:
            appendBytes(kVbin16, value.get<Binary>()->bytes, out);
            return okStatus();
        case Value::Type::Uuid:
            out.push_back(static_cast<char>(kUuid));
            out.append(reinterpret_cast<const char*>(value.get<Uuid>()->bytes.data()), 16);
            return okStatus();
        case Value::Type::List:
            out.push_back(static_cast<char>(kList));
            return appendListBody(*value.list(), out, depth);
        case Value::Type::Map:
            out.push_back(static_cast<char>(kMap));
            return appendMapBody(*value.map(), out, depth);
    }
    return internalError("unknown value type");
}

// ---- decoding ----

// Appends the UTF-8 form of one Unicode code point.
void appendUtf8(uint32_t code_point, std::string& out) {
    if (code_point < 0x80) {
        out.push_back(static_cast<char>(code_point));
    } else if (code_point < 0x800) {
        out.push_back(static_cast<char>(0xc0 | (code_point >> 6)));
        out.push_back(static_cast<char>(0x80 | (code_point & 0x3f)));
    } else if (code_point < 0x10000) {
        out.push_back(static_cast<char>(0xe0 | (code_point >> 12)));
        out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | (code_point & 0x3f)));
    } else {
        out.push_back(static_cast<char>(0xf0 | (code_point >> 18)));
        out.push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | (code_point & 0x3f)));
    }
}

// ISO-8859-15 is Latin-1 except for eight code points.
uint32_t latin9CodePoint(uint8_t byte) {
    switch (byte) {
        case 0xa4:
            return 0x20ac;
        case 0xa6:
            return 0x0160;
        case 0xa8:
            return 0x0161;
        case 0xb4:
            return 0x017d;
        case 0xb8:
            return 0x017e;
        case 0xbc:
            return 0x0152;
        case 0xbd:
            return 0x0153;
        case 0xbe:
            return 0x0178;
        default:
            return byte;
    }
}

bool isValidUtf8(std::string_view text) {
    size_t i = 0;
    while (i < text.size()) {
        auto byte = static_cast<uint8_t>(text[i]);
        size_t extra = 0;
        uint32_t code_point = 0;
        if (byte < 0x80) {
            ++i;
            continue;
        } else if ((byte & 0xe0) == 0xc0) {
            extra = 1;
            code_point = byte & 0x1f;
        } else if ((byte & 0xf0) == 0xe0) {
            extra = 2;
            code_point = byte & 0x0f;
        } else if ((byte & 0xf8) == 0xf0) {
            extra = 3;
            code_point = byte & 0x07;
        } else {
            return false;
        }
        if (i + extra >= text.size()) {
            return false;
        }
        for (size_t k = 1; k <= extra; ++k) {
            auto next = static_cast<uint8_t>(text[i + k]);
            if ((next & 0xc0) != 0x80) {
                return false;
            }
            code_point = (code_point << 6) | (next & 0x3f);
        }
        static constexpr uint32_t kMinimum[] = {0, 0x80, 0x800, 0x10000};
        if (code_point < kMinimum[extra] || code_point > 0x10ffff ||
            (code_point >= 0xd800 && code_point <= 0xdfff)) {
            return false;
        }
        i += extra + 1;
    }
    return true;
}

class Reader {
  public:
    explicit Reader(std::string_view bytes) : bytes_(bytes), limit_(bytes.size()) {}

    size_t offset() const { return offset_; }
    void setOffset(size_t offset) { offset_ = offset; }
    size_t limit() const { return limit_; }
    void setLimit(size_t limit) { limit_ = limit; }
    size_t remaining() const { return limit_ - offset_; }

    Result<uint64_t> readUInt(int bytes) {
        if (remaining() < static_cast<size_t>(bytes)) {
            return truncated(bytes);
        }
        uint64_t value = 0;
        for (int i = 0; i < bytes; ++i) {
            value = (value << 8) | static_cast<uint8_t>(bytes_[offset_++]);
        }
        return value;
    }

    Result<std::string_view> readBytes(size_t count) {
        if (remaining() < count) {
            return truncated(count);
        }
        auto view = bytes_.substr(offset_, count);
        offset_ += count;
        return view;
    }

    Error error(const std::string& what) const {
        return userError("invalid 0-10 encoding at byte " + std::to_string(offset_) + ": " + what);
    }

  private:
    Error truncated(size_t needed) const {
        return error("truncated (needs " + std::to_string(needed) + " bytes, " +
                     std::to_string(remaining()) + " left)");
    }

    std::string_view bytes_;
    size_t offset_ = 0;
    size_t limit_;
};

Result<Value> readValue(Reader& reader, uint8_t code, size_t depth);

Result<Value> readText(Reader& reader, uint8_t code, int length_bytes) {
    auto length = reader.readUInt(length_bytes);
    if (!length) {
        return length.error();
    }
    auto bytes = reader.readBytes(*length);
    if (!bytes) {
        return bytes.error();
    }
    uint8_t encoding = code & 0x0f;
    if (encoding == 0x0) {
        return Value(Binary{std::string(*bytes)});
    }
    if (encoding == 0x5) {
        // Text tagged UTF-8 that is not valid UTF-8 is kept as binary, so no byte is lost.
        if (!isValidUtf8(*bytes)) {
            return Value(Binary{std::string(*bytes)});
        }
        return Value(std::string(*bytes));
    }
    std::string text;
    if (encoding == 0x4) {
        for (char c : *bytes) {
            appendUtf8(latin9CodePoint(static_cast<uint8_t>(c)), text);
        }
        return Value(std::move(text));
    }
    // UTF-16, big-endian like every other 0-10 integer.
    if (bytes->size() % 2 != 0) {
        return reader.error("UTF-16 string with an odd byte count");
    }
    for (size_t i = 0; i < bytes->size(); i += 2) {
        uint32_t unit =
            (static_cast<uint8_t>((*bytes)[i]) << 8) | static_cast<uint8_t>((*bytes)[i + 1]);
        if (unit >= 0xd800 && unit <= 0xdbff) {
            if (i + 3 >= bytes->size()) {
                return reader.error("UTF-16 string ends inside a surrogate pair");
            }
            uint32_t low = (static_cast<uint8_t>((*bytes)[i + 2]) << 8) |
                           static_cast<uint8_t>((*bytes)[i + 3]);
            if (low < 0xdc00 || low > 0xdfff) {
                return reader.error("UTF-16 string with an unpaired surrogate");
            }
            unit = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
            i += 2;
        } else if (unit >= 0xdc00 && unit <= 0xdfff) {
            return reader.error("UTF-16 string with an unpaired surrogate");
        }
        appendUtf8(unit, text);
    }
    return Value(std::move(text));
}

// Reads the size and count of a map, list or array and limits the reader to its bytes.
// min_entry_bytes bounds the count, so a huge count in a short buffer fails at once.
Result<uint32_t> enterSized(Reader& reader, size_t header_bytes, size_t min_entry_bytes,
                            size_t& saved_limit) {
    auto size = reader.readUInt(4);
    if (!size) {
        return size.error();
    }
    if (*size > reader.remaining()) {
        return reader.error("size " + std::to_string(*size) + " exceeds the " +
                            std::to_string(reader.remaining()) + " bytes left");
    }
    if (*size < header_bytes) {
        return reader.error("size " + std::to_string(*size) + " is too small");
    }
    saved_limit = reader.limit();
    reader.setLimit(reader.offset() + *size);
    auto count_offset = reader.offset();
    // Arrays put their element type code before the count.
    reader.setOffset(count_offset + header_bytes - 4);
    auto count = reader.readUInt(4);
    if (!count) {
        return count.error();
    }
    if (min_entry_bytes > 0 && *count > reader.remaining() / min_entry_bytes) {
        return reader.error("count " + std::to_string(*count) + " cannot fit in " +
                            std::to_string(reader.remaining()) + " bytes");
    }
    reader.setOffset(count_offset);
    return static_cast<uint32_t>(*count);
}

Result<Map> readMapBody(Reader& reader, size_t depth) {
    size_t saved_limit = 0;
    auto count = enterSized(reader, 4, 2, saved_limit);
    if (!count) {
        return count.error();
    }
    reader.setOffset(reader.offset() + 4);
    Map map;
    for (uint32_t i = 0; i < *count; ++i) {
        auto key_length = reader.readUInt(1);
        if (!key_length) {
            return key_length.error();
        }
        auto key = reader.readBytes(*key_length);
        if (!key) {
            return key.error();
        }
        auto code = reader.readUInt(1);
        if (!code) {
            return code.error();
        }
        auto value = readValue(reader, static_cast<uint8_t>(*code), depth + 1);
        if (!value) {
            return value.error();
        }
        map[std::string(*key)] = std::move(*value);
    }
    // Bytes left inside the declared size are skipped, as qpid's decoder does.
    reader.setOffset(reader.limit());
    reader.setLimit(saved_limit);
    return map;
}

Result<List> readListBody(Reader& reader, size_t depth) {
    size_t saved_limit = 0;
    auto count = enterSized(reader, 4, 1, saved_limit);
    if (!count) {
        return count.error();
    }
    reader.setOffset(reader.offset() + 4);
    List list;
    for (uint32_t i = 0; i < *count; ++i) {
        auto code = reader.readUInt(1);
        if (!code) {
            return code.error();
        }
        auto value = readValue(reader, static_cast<uint8_t>(*code), depth + 1);
        if (!value) {
            return value.error();
        }
        list.push_back(std::move(*value));
    }
    reader.setOffset(reader.limit());
    reader.setLimit(saved_limit);
    return list;
}

// An array contains one type code and then count values of that type; it decodes to a list.
Result<List> readArrayBody(Reader& reader, size_t depth) {
    size_t saved_limit = 0;
    auto count = enterSized(reader, 5, 0, saved_limit);
    if (!count) {
        return count.error();
    }
    auto code = reader.readUInt(1);
    if (!code) {
        return code.error();
    }
    reader.setOffset(reader.offset() + 4);
    // A void element takes no bytes, so only other types bound the count by the size.
    if (*code != kVoid && *count > reader.remaining()) {
        return reader.error("array count " + std::to_string(*count) + " cannot fit in " +
                            std::to_string(reader.remaining()) + " bytes");
    }
    if (*code == kVoid && *count > 65536) {
        return reader.error("array of " + std::to_string(*count) + " void values");
    }
    List list;
    for (uint32_t i = 0; i < *count; ++i) {
        auto value = readValue(reader, static_cast<uint8_t>(*code), depth + 1);
        if (!value) {
            return value.error();
        }
        list.push_back(std::move(*value));
    }
    reader.setOffset(reader.limit());
    reader.setLimit(saved_limit);
    return list;
}

Result<Value> readFixed(Reader& reader, uint8_t code) {
    auto widen_signed = [&](int bytes) -> Result<Value> {
        auto raw = reader.readUInt(bytes);
        if (!raw) {
            return raw.error();
        }
        int shift = 64 - 8 * bytes;
        // Sign-extend through the top bits.
        auto value = static_cast<int64_t>(*raw << shift) >> shift;
        return Value(value);
    };
    auto widen_unsigned = [&](int bytes) -> Result<Value> {
        auto raw = reader.readUInt(bytes);
        if (!raw) {
            return raw.error();
        }
        return Value(*raw);
    };

    switch (code) {
        case kInt8:
            return widen_signed(1);
        case kInt16:
            return widen_signed(2);
        case kInt32:
            return widen_signed(4);
        case kInt64:
            return widen_signed(8);
        case kUInt8:
            return widen_unsigned(1);
        case kUInt16:
            return widen_unsigned(2);
        case kUInt32:
            return widen_unsigned(4);
        case kUInt64:
        case kDatetime:
            return widen_unsigned(8);
        case kBoolean: {
            auto raw = reader.readUInt(1);
            if (!raw) {
                return raw.error();
            }
            return Value(*raw != 0);
        }
        case kFloat: {
            auto raw = reader.readUInt(4);
            if (!raw) {
                return raw.error();
            }
            float number = 0;
            auto bits = static_cast<uint32_t>(*raw);
            std::memcpy(&number, &bits, sizeof number);
            return Value(static_cast<double>(number));
        }
        case kDouble: {
            auto raw = reader.readUInt(8);
            if (!raw) {
                return raw.error();
            }
            double number = 0;
            std::memcpy(&number, &*raw, sizeof number);
            return Value(number);
        }
        case kUuid: {
            auto bytes = reader.readBytes(16);
            if (!bytes) {
                return bytes.error();
            }
            Uuid uuid;
            std::memcpy(uuid.bytes.data(), bytes->data(), 16);
            return Value(uuid);
        }
        case kBin128: {
            auto bytes = reader.readBytes(16);
            if (!bytes) {
                return bytes.error();
            }
            return Value(Binary{std::string(*bytes)});
        }
        default:
            return reader.error("unknown type code " + std::to_string(code));
    }
}

Result<Value> readValue(Reader& reader, uint8_t code, size_t depth) {
    if (depth > kMaxNesting) {
        return reader.error("nesting deeper than " + std::to_string(kMaxNesting));
    }
    switch (code) {
        case kVoid:
            return Value();
        case kVbin8:
        case kStr8Latin:
        case kStr8Utf8:
        case kStr8Utf16:
            return readText(reader, code, 1);
        case kVbin16:
        case kStr16Latin:
        case kStr16Utf8:
        case kStr16Utf16:
            return readText(reader, code, 2);
        case kVbin32:
            return readText(reader, code, 4);
        case kMap: {
            auto map = readMapBody(reader, depth);
            if (!map) {
                return map.error();
            }
            return Value(std::move(*map));
        }
        case kList: {
            auto list = readListBody(reader, depth);
            if (!list) {
                return list.error();
            }
            return Value(std::move(*list));
        }
        case kArray: {
            auto list = readArrayBody(reader, depth);
            if (!list) {
                return list.error();
            }
            return Value(std::move(*list));
        }
        default:
            return readFixed(reader, code);
    }
}

}  // namespace

Status appendMap(const Map& map, std::string& out) {
    return appendMapBody(map, out, 0);
}

Result<std::string> encodeMap(const Map& map) {
    std::string out;
    if (auto status = appendMapBody(map, out, 0); !status) {
        return status.error();
    }
    return out;
}

Result<std::string> encodeList(const List& list) {
    std::string out;
    if (auto status = appendListBody(list, out, 0); !status) {
        return status.error();
    }
    return out;
}

Result<Map> readMap(std::string_view bytes, size_t& offset) {
    Reader reader(bytes);
    if (offset > bytes.size()) {
        return userError("0-10 map offset beyond the buffer");
    }
    reader.setOffset(offset);
    auto map = readMapBody(reader, 0);
    if (!map) {
        return map.error();
    }
    offset = reader.offset();
    return map;
}

Result<Map> decodeMap(std::string_view bytes) {
    size_t offset = 0;
    auto map = readMap(bytes, offset);
    if (!map) {
        return map.error();
    }
    if (offset != bytes.size()) {
        return userError("invalid 0-10 map: " + std::to_string(bytes.size() - offset) +
                         " bytes after its end");
    }
    return map;
}

Result<List> decodeList(std::string_view bytes) {
    Reader reader(bytes);
    auto list = readListBody(reader, 0);
    if (!list) {
        return list.error();
    }
    if (reader.offset() != bytes.size()) {
        return userError("invalid 0-10 list: " + std::to_string(bytes.size() - reader.offset()) +
                         " bytes after its end");
    }
    return list;
}

}  // namespace imagefactory::qmf::codec010
